//! CycloneDX 1.6 ML-BOM: the model as a `machine-learning-model` component
//! with a model card, every file as a `file` component with its SHA-256,
//! datasets as `data` components, the base model under pedigree/ancestors,
//! and the verification (level, signers) in properties.

use super::{Evidence, TOOL, TOOL_VERSION, uuid_of};
use crate::digest::Sha256Digest;
use crate::trace::DatasetView;
use serde_json::{Value, json};

/// The document, as JSON.
pub fn document(evidence: &Evidence) -> Value {
    let m = &evidence.manifest;
    let mut components = vec![model_component(evidence)];
    components.extend(
        evidence
            .report
            .lineage
            .datasets
            .iter()
            .map(dataset_component),
    );
    components.extend(evidence.files.iter().map(|f| {
        json!({
            "type": "file",
            "bom-ref": file_ref(&f.path),
            "name": f.path,
            "hashes": [sha256(&f.sha256)],
            "properties": [
                {"name": "modelseal:role", "value": f.role.to_string()},
                {"name": "modelseal:size", "value": f.size.to_string()},
            ],
        })
    }));
    json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": format!("urn:uuid:{}", uuid_of(&serial_seed(evidence))),
        "version": 1,
        "metadata": {
            "timestamp": evidence.created.to_string(),
            "tools": {"components": [{"type": "application", "name": TOOL, "version": TOOL_VERSION}]},
            "component": {"type": "machine-learning-model", "bom-ref": MODEL_REF, "name": m.name, "version": m.version},
            "properties": verification_properties(evidence),
        },
        "components": components,
        "dependencies": dependencies(evidence),
    })
}

const MODEL_REF: &str = "model";

fn file_ref(path: &str) -> String {
    format!("file:{path}")
}

fn dataset_ref(id: &str) -> String {
    format!("dataset:{id}")
}

fn sha256(digest: &Sha256Digest) -> Value {
    json!({"alg": "SHA-256", "content": digest.to_hex()})
}

/// One export of one verification has one serial number.
fn serial_seed(evidence: &Evidence) -> Sha256Digest {
    let text = format!(
        "cyclonedx {} {}",
        evidence.manifest_sha256, evidence.created
    );
    Sha256Digest::of(text.as_bytes())
}

fn licenses(license: Option<&str>) -> Value {
    // The manifest's licence is free text (Hub style, `apache-2.0`); it is
    // given as a name, not claimed to be an SPDX identifier.
    match license {
        Some(name) => json!([{"license": {"name": name}}]),
        None => json!([]),
    }
}

/// The verification as properties: verified or not, the levels, the
/// manifest digest the signatures cover, and each valid signer.
pub(super) fn verification_properties(evidence: &Evidence) -> Vec<Value> {
    let mut props = vec![
        json!({"name": "modelseal:verified", "value": evidence.verified.to_string()}),
        json!({"name": "modelseal:verification", "value": evidence.statement()}),
        json!({"name": "modelseal:level:required", "value": evidence.report.required.to_string()}),
        json!({"name": "modelseal:level:reached", "value": evidence.report.reached.map_or("none".into(), |r| r.to_string())}),
        json!({"name": "modelseal:manifest:sha256", "value": evidence.manifest_sha256.to_hex()}),
    ];
    for (name, keyid) in evidence.valid_signers() {
        props.push(json!({"name": "modelseal:signer", "value": format!("{name} (keyid {keyid})")}));
    }
    props
}

fn model_component(evidence: &Evidence) -> Value {
    let m = &evidence.manifest;
    let lineage = &evidence.report.lineage;
    let datasets: Vec<Value> = lineage
        .datasets
        .iter()
        .map(|d| json!({"ref": dataset_ref(&d.id)}))
        .collect();
    let mut component = json!({
        "type": "machine-learning-model",
        "bom-ref": MODEL_REF,
        "name": m.name,
        "version": m.version,
        "licenses": licenses(m.license.as_deref()),
        "hashes": [sha256(&evidence.manifest_sha256)],
        "modelCard": {
            "modelParameters": {"datasets": datasets},
            "properties": training_properties(evidence),
        },
        "properties": verification_properties(evidence),
    });
    // One ancestor per base model, however many runs started from it.
    let mut seen = std::collections::HashSet::new();
    let ancestors: Vec<Value> = lineage
        .trainings
        .iter()
        .filter_map(|t| t.base_model.as_ref())
        .filter(|base| seen.insert(base.name.clone()))
        .map(|base| {
            let mut ancestor = json!({
                "type": "machine-learning-model",
                "bom-ref": format!("base:{}", base.name),
                "name": base.name,
                "description": "base model; its hash is the SHA-256 of its signed provenance.toml",
            });
            if let Some(digest) = &base.sha256 {
                ancestor["hashes"] = json!([sha256(digest)]);
            }
            ancestor
        })
        .collect();
    if !ancestors.is_empty() {
        component["pedigree"] = json!({"ancestors": ancestors});
    }
    let code: Vec<Value> = lineage
        .trainings
        .iter()
        .filter_map(|t| t.code.as_ref().map(|c| (t, c)))
        .map(|(t, code)| {
            json!({
                "type": "vcs",
                "url": code.uri,
                "comment": format!("code of training run '{}' at commit {}", t.id, code.commit),
                "hashes": [{"alg": "SHA-1", "content": code.commit.as_str()}],
            })
        })
        .collect();
    if !code.is_empty() {
        component["externalReferences"] = json!(code);
    }
    component
}

/// What each training run recorded, with digests, as model-card properties.
fn training_properties(evidence: &Evidence) -> Vec<Value> {
    let mut props = Vec::new();
    for t in &evidence.report.lineage.trainings {
        let files = |refs: &[crate::trace::FileRef]| {
            refs.iter()
                .map(|f| match &f.sha256 {
                    Some(d) => format!("{} sha256:{d}", f.path),
                    None => f.path.clone(),
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut add = |key: &str, value: String| {
            props.push(
                json!({"name": format!("modelseal:training:{}:{key}", t.id), "value": value}),
            );
        };
        add("outputs", files(&t.outputs));
        add("configs", files(&t.configs));
        add("datasets", t.datasets.join(", "));
        if let Some(code) = &t.code {
            add("code", format!("{} commit {}", code.uri, code.commit));
        }
        if let Some(base) = &t.base_model {
            let digest = base
                .sha256
                .as_ref()
                .map_or(String::new(), |d| format!(" sha256:{d}"));
            add("base_model", format!("{}{digest}", base.name));
        }
    }
    props
}

fn dataset_component(d: &DatasetView) -> Value {
    let mut contents = json!({});
    if let Some(uri) = &d.uri {
        contents["url"] = json!(uri);
    }
    let mut data = json!({"type": "dataset", "name": d.name.as_deref().unwrap_or(&d.id)});
    if contents != json!({}) {
        data["contents"] = contents;
    }
    let mut component = json!({
        "type": "data",
        "bom-ref": dataset_ref(&d.id),
        "name": d.name.as_deref().unwrap_or(&d.id),
        "licenses": licenses(d.license.as_deref()),
        "data": [data],
        "properties": [{"name": "modelseal:dataset:id", "value": d.id}],
    });
    let digest = d.sha256.or(d.manifest.as_ref().and_then(|m| m.sha256));
    if let Some(digest) = digest {
        component["hashes"] = json!([sha256(&digest)]);
    }
    if let Some(manifest) = &d.manifest
        && let Some(props) = component["properties"].as_array_mut()
    {
        props.push(json!({"name": "modelseal:dataset:manifest", "value": manifest.path}));
    }
    component
}

/// The model depends on every file and dataset; a dataset on its files.
fn dependencies(evidence: &Evidence) -> Value {
    let lineage = &evidence.report.lineage;
    let mut model: Vec<String> = evidence.files.iter().map(|f| file_ref(&f.path)).collect();
    model.extend(lineage.datasets.iter().map(|d| dataset_ref(&d.id)));
    let mut out = vec![json!({"ref": MODEL_REF, "dependsOn": model})];
    for d in &lineage.datasets {
        let files: Vec<String> = d
            .files
            .iter()
            .filter(|f| evidence.digest_of(&f.path).is_some())
            .map(|f| file_ref(&f.path))
            .collect();
        out.push(json!({"ref": dataset_ref(&d.id), "dependsOn": files}));
    }
    json!(out)
}
