//! in-toto Statement v1: every file with its digest as the subject, and the
//! signed manifest with its lineage and the verification as the predicate.
//! With a release key, the statement is wrapped in a DSSE envelope and
//! signed (Ed25519 over the DSSE pre-authentication encoding).

use super::Evidence;
use crate::keys;
use crate::signature::pae;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signer, SigningKey};
use serde_json::{Value, json};

/// The statement type of in-toto Statement v1.
pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
/// The DSSE payload type of an in-toto statement.
pub const PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";
/// This predicate: a modelseal manifest, its lineage and its verification
/// (manifests/SPEC.md section 15.3).
pub const PREDICATE_TYPE: &str = "https://modelseal.dev/attestation/manifest/v1";

/// The statement.
pub fn statement(evidence: &Evidence) -> Value {
    let subject: Vec<Value> = evidence
        .files
        .iter()
        .map(|f| json!({"name": f.path, "digest": {"sha256": f.sha256.to_hex()}}))
        .collect();
    let verification: Value =
        serde_json::from_str(&crate::report::to_json(&evidence.report)).unwrap_or(Value::Null);
    let m = &evidence.manifest;
    json!({
        "_type": STATEMENT_TYPE,
        "subject": subject,
        "predicateType": PREDICATE_TYPE,
        "predicate": {
            "manifest": {
                "sha256": evidence.manifest_sha256.to_hex(),
                "kind": m.kind,
                "name": m.name,
                "version": m.version,
                "license": m.license,
                "files": evidence.files.len(),
                "datasets": m.datasets,
                "trainings": m.trainings,
            },
            "verified": evidence.verified,
            "statement": evidence.statement(),
            "verification": verification,
            "exported": evidence.created.to_string(),
        },
    })
}

/// `statement` as the DSSE envelope, signed with `key`.
pub fn envelope(statement: &Value, key: &SigningKey) -> Value {
    let payload = statement.to_string().into_bytes();
    let signature = key.sign(&pae(PAYLOAD_TYPE, &payload));
    json!({
        "payloadType": PAYLOAD_TYPE,
        "payload": STANDARD.encode(&payload),
        "signatures": [{
            "keyid": keys::keyid(&key.verifying_key()),
            "sig": STANDARD.encode(signature.to_bytes()),
        }],
    })
}
