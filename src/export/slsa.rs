//! SLSA Provenance v1, one statement per training run: the run is the
//! build, its outputs are the subjects, and its configs, dataset files and
//! upstream manifests, code commit and base model are the resolved
//! dependencies, each with its digest.
//!
//! The builder is not attested: the manifest records what the release
//! engineer signed about the run, and `builder.id` says exactly that
//! (manifests/SPEC.md section 15.4).

use super::Evidence;
use super::intoto::STATEMENT_TYPE;
use crate::trace::{FileRef, TrainingView};
use serde_json::{Value, json};

/// SLSA Provenance v1.
pub const PREDICATE_TYPE: &str = "https://slsa.dev/provenance/v1";
/// What the build is: a training run as a modelseal manifest records it.
pub const BUILD_TYPE: &str = "https://modelseal.dev/slsa/training-run/v1";
/// Who ran it, as far as this provenance can say: the signed manifest.
pub const BUILDER_ID: &str = "https://modelseal.dev/slsa/builder/signed-manifest/v1";

/// One statement per training run, in manifest order.
pub fn statements(evidence: &Evidence) -> Vec<Value> {
    evidence
        .report
        .lineage
        .trainings
        .iter()
        .map(|t| statement(evidence, t))
        .collect()
}

fn file_dependency(f: &FileRef, role: &str) -> Option<Value> {
    let digest = f.sha256?;
    Some(json!({
        "name": f.path,
        "digest": {"sha256": digest.to_hex()},
        "annotations": {"role": role},
    }))
}

fn statement(evidence: &Evidence, t: &TrainingView) -> Value {
    let lineage = &evidence.report.lineage;
    let subject: Vec<Value> = t
        .outputs
        .iter()
        .filter_map(|f| {
            let digest = f.sha256?;
            Some(json!({"name": f.path, "digest": {"sha256": digest.to_hex()}}))
        })
        .collect();
    let mut deps: Vec<Value> = t
        .configs
        .iter()
        .filter_map(|f| file_dependency(f, "config"))
        .collect();
    for id in &t.datasets {
        let Some(d) = lineage.datasets.iter().find(|d| &d.id == id) else {
            continue;
        };
        deps.extend(
            d.files
                .iter()
                .filter_map(|f| file_dependency(f, &format!("dataset {id}"))),
        );
        if let Some(m) = d
            .manifest
            .as_ref()
            .and_then(|m| file_dependency(m, &format!("dataset {id} manifest")))
        {
            deps.push(m);
        }
        if let (Some(digest), Some(uri)) = (&d.sha256, &d.uri) {
            deps.push(json!({"uri": uri, "digest": {"sha256": digest.to_hex()}, "annotations": {"role": format!("dataset {id}")}}));
        }
    }
    if let Some(code) = &t.code {
        deps.push(json!({
            "uri": format!("git+{}@{}", code.uri, code.commit),
            "digest": {"gitCommit": code.commit.as_str()},
            "annotations": {"role": "code"},
        }));
    }
    if let Some(base) = &t.base_model {
        let mut dep = json!({"name": base.name, "annotations": {"role": "base model", "digest_of": "its signed provenance.toml"}});
        if let Some(digest) = &base.sha256 {
            dep["digest"] = json!({"sha256": digest.to_hex()});
        }
        deps.push(dep);
    }
    json!({
        "_type": STATEMENT_TYPE,
        "subject": subject,
        "predicateType": PREDICATE_TYPE,
        "predicate": {
            "buildDefinition": {
                "buildType": BUILD_TYPE,
                "externalParameters": {
                    "training": t.id,
                    "model": evidence.manifest.name,
                    "version": evidence.manifest.version,
                },
                "internalParameters": {
                    "manifest_sha256": evidence.manifest_sha256.to_hex(),
                    "verified": evidence.verified,
                    "verification": evidence.statement(),
                },
                "resolvedDependencies": deps,
            },
            "runDetails": {
                "builder": {"id": BUILDER_ID},
                "metadata": {"invocationId": format!("{}@{}#{}", evidence.manifest.name, evidence.manifest.version, t.id)},
            },
        },
    })
}
