//! SPDX 3.0.1 JSON-LD with the AI and Dataset profiles: the model is an
//! `ai_AIPackage`, each dataset a `dataset_DatasetPackage` it is
//! `trainedOn`, every file a `software_File` with its SHA-256 that the model
//! `contains`, licences as declared-licence relationships, and the base
//! model an ancestor.

use super::{Evidence, TOOL, TOOL_VERSION, uuid_of};
use crate::digest::Sha256Digest;
use crate::manifest::Role;
use crate::trace::DatasetView;
use serde_json::{Value, json};

/// The JSON-LD context every SPDX 3.0.1 document names.
pub const CONTEXT: &str = "https://spdx.org/rdf/3.0.1/spdx-context.jsonld";

/// The document, as JSON-LD.
pub fn document(evidence: &Evidence) -> Value {
    let ids = Ids::new(evidence);
    let mut graph = Graph::default();
    graph.push(json!({
        "type": "CreationInfo",
        "@id": "_:creationinfo",
        "specVersion": "3.0.1",
        "created": evidence.created.to_string(),
        "createdBy": [ids.agent()],
        "createdUsing": [ids.tool()],
        "comment": evidence.statement(),
    }));
    graph.element(
        json!({"type": "Tool", "spdxId": ids.tool(), "name": format!("{TOOL} {TOOL_VERSION}")}),
    );
    graph.element(json!({"type": "SoftwareAgent", "spdxId": ids.agent(), "name": TOOL}));
    let model = model_package(evidence, &ids);
    let model_id = ids.model();
    graph.element(model);
    let mut file_ids = Vec::new();
    for f in &evidence.files {
        let id = ids.file(&f.path);
        graph.element(json!({
            "type": "software_File",
            "spdxId": id,
            "name": f.path,
            "verifiedUsing": [hash(&f.sha256)],
            "software_primaryPurpose": purpose(f.role),
            "comment": format!("role {}, {} bytes", f.role, f.size),
        }));
        file_ids.push(id);
    }
    graph.relationship(&ids, &model_id, "contains", file_ids);
    let mut trained_on = Vec::new();
    for d in &evidence.report.lineage.datasets {
        let id = ids.dataset(&d.id);
        graph.element(dataset_package(d, &id));
        let files: Vec<String> = d
            .files
            .iter()
            .filter(|f| evidence.digest_of(&f.path).is_some())
            .map(|f| ids.file(&f.path))
            .collect();
        graph.relationship(&ids, &id, "hasDataFile", files);
        if let Some(license) = &d.license {
            graph.license(&ids, &id, license);
        }
        trained_on.push(id);
    }
    graph.relationship(&ids, &model_id, "trainedOn", trained_on);
    if let Some(license) = &evidence.manifest.license {
        graph.license(&ids, &model_id, license);
    }
    let mut bases = std::collections::HashSet::new();
    for t in &evidence.report.lineage.trainings {
        // One element per base model, however many runs started from it.
        if let Some(base) = t
            .base_model
            .as_ref()
            .filter(|b| bases.insert(b.name.clone()))
        {
            let id = ids.named("base", &base.name);
            let mut package = json!({
                "type": "ai_AIPackage",
                "spdxId": id,
                "name": base.name,
                "software_primaryPurpose": "model",
                "comment": "base model; its hash is the SHA-256 of its signed provenance.toml",
            });
            if let Some(digest) = &base.sha256 {
                package["verifiedUsing"] = json!([hash(digest)]);
            }
            graph.element(package);
            graph.relationship(&ids, &id, "ancestorOf", vec![model_id.clone()]);
        }
    }
    let elements = graph.ids.clone();
    let sbom = ids.named("sbom", "");
    graph.element(json!({
        "type": "software_Sbom",
        "spdxId": sbom,
        "software_sbomType": ["build"],
        "rootElement": [model_id],
        "element": elements,
    }));
    let mut all = graph.ids.clone();
    all.retain(|id| *id != ids.document());
    graph.element(json!({
        "type": "SpdxDocument",
        "spdxId": ids.document(),
        "name": format!("{} {}", evidence.manifest.name, evidence.manifest.version),
        "profileConformance": ["core", "software", "ai", "dataset", "simpleLicensing"],
        "rootElement": [sbom],
        "element": all,
    }));
    json!({"@context": CONTEXT, "@graph": graph.nodes})
}

/// Element identifiers: IRIs under one namespace per export.
struct Ids {
    base: String,
}

impl Ids {
    fn new(evidence: &Evidence) -> Ids {
        let seed = format!("spdx {} {}", evidence.manifest_sha256, evidence.created);
        let uuid = uuid_of(&Sha256Digest::of(seed.as_bytes()));
        Ids {
            base: format!("urn:uuid:{uuid}#"),
        }
    }
    fn named(&self, kind: &str, name: &str) -> String {
        // Percent-encode what an IRI fragment cannot hold as it is.
        let mut out = format!("{}{kind}", self.base);
        if !name.is_empty() {
            out.push('-');
            for b in name.bytes() {
                if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
                    out.push(char::from(b));
                } else {
                    out.push_str(&format!("%{b:02X}"));
                }
            }
        }
        out
    }
    fn document(&self) -> String {
        self.named("document", "")
    }
    fn tool(&self) -> String {
        self.named("tool", TOOL)
    }
    fn agent(&self) -> String {
        self.named("agent", TOOL)
    }
    fn model(&self) -> String {
        self.named("model", "")
    }
    fn file(&self, path: &str) -> String {
        self.named("file", path)
    }
    fn dataset(&self, id: &str) -> String {
        self.named("dataset", id)
    }
}

/// The graph being built, and the ids of its elements.
#[derive(Default)]
struct Graph {
    nodes: Vec<Value>,
    ids: Vec<String>,
    relationships: usize,
    licenses: usize,
}

impl Graph {
    fn push(&mut self, node: Value) {
        self.nodes.push(node);
    }
    /// An element: its creation info is the document's.
    fn element(&mut self, mut node: Value) {
        node["creationInfo"] = json!("_:creationinfo");
        if let Some(id) = node["spdxId"].as_str() {
            self.ids.push(id.to_string());
        }
        self.nodes.push(node);
    }
    fn relationship(&mut self, ids: &Ids, from: &str, kind: &str, to: Vec<String>) {
        if to.is_empty() {
            return;
        }
        self.relationships += 1;
        let id = ids.named("relationship", &self.relationships.to_string());
        self.element(json!({
            "type": "Relationship",
            "spdxId": id,
            "from": from,
            "relationshipType": kind,
            "to": to,
        }));
    }
    fn license(&mut self, ids: &Ids, of: &str, license: &str) {
        self.licenses += 1;
        let id = ids.named("license", &self.licenses.to_string());
        self.element(json!({
            "type": "simplelicensing_LicenseExpression",
            "spdxId": id,
            "simplelicensing_licenseExpression": license,
        }));
        self.relationship(ids, of, "hasDeclaredLicense", vec![id]);
    }
}

fn hash(digest: &Sha256Digest) -> Value {
    json!({"type": "Hash", "algorithm": "sha256", "hashValue": digest.to_hex()})
}

fn purpose(role: Role) -> &'static str {
    match role {
        Role::Weights => "model",
        Role::Config => "configuration",
        Role::Tokenizer => "data",
        Role::Data => "data",
        Role::Code => "source",
        Role::Docs => "documentation",
        Role::Other => "other",
    }
}

fn model_package(evidence: &Evidence, ids: &Ids) -> Value {
    let m = &evidence.manifest;
    json!({
        "type": "ai_AIPackage",
        "spdxId": ids.model(),
        "name": m.name,
        "software_packageVersion": m.version,
        "software_primaryPurpose": "model",
        "verifiedUsing": [hash(&evidence.manifest_sha256)],
        "comment": format!(
            "{}; the hash is the SHA-256 of the signed provenance.toml",
            evidence.statement()
        ),
    })
}

fn dataset_package(d: &DatasetView, id: &str) -> Value {
    let mut package = json!({
        "type": "dataset_DatasetPackage",
        "spdxId": id,
        "name": d.name.as_deref().unwrap_or(&d.id),
        "software_primaryPurpose": "data",
        "dataset_datasetType": ["other"],
        "comment": format!("dataset '{}' of the manifest", d.id),
    });
    if let Some(uri) = &d.uri {
        package["software_downloadLocation"] = json!(uri);
    }
    let digest = d.sha256.or(d.manifest.as_ref().and_then(|m| m.sha256));
    if let Some(digest) = digest {
        package["verifiedUsing"] = json!([hash(&digest)]);
    }
    package
}
