//! Writing an OMS bundle for a model directory, as `model_signing verify
//! key` and `verify certificate` accept it: files serialization by default,
//! shards on request, signed with an ECDSA key.
//!
//! The signed `ignore_paths` name the bundle itself, our `provenance.toml`
//! and `provenance.sig`, and git's files, so a directory can carry both
//! formats and each verifier accepts it as it is.

use super::bundle::IN_TOTO_PAYLOAD_TYPE;
use super::statement::{Method, PREDICATE_TYPE, STATEMENT_TYPE};
use super::{DEFAULT_IGNORED, literal_matcher};
use crate::digest::Sha256Digest;
use crate::ecdsa_key::EcSigningKey;
use crate::hashing::{self, HashRequest, Progress, Want};
use crate::model_dir::ModelDir;
use crate::signature::pae;
use crate::stamp::ReadFault;
use crate::walk::{self, EntryKind, WalkError};
use crate::{MANIFEST_FILE, SIGNATURE_FILE};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::json;
use sha2::{Digest as _, Sha256};
use std::path::Path;

/// How to write the bundle.
#[derive(Debug, Clone)]
pub struct WriteOptions<'a> {
    /// Files or shards serialization.
    pub method: Method,
    /// The bundle's path relative to the model, when it is written inside it
    /// (then it is among the signed ignore paths).
    pub bundle_name: Option<&'a str>,
    /// More paths to leave out, relative to the model.
    pub ignore_paths: &'a [String],
    /// The certificate chain (DER, leaf first) for the certificate method;
    /// empty for the key method.
    pub certificates: &'a [Vec<u8>],
    /// Hashing threads.
    pub jobs: usize,
}

/// A bundle, ready to be written.
#[derive(Debug, Clone)]
pub struct WrittenBundle {
    /// The bundle's JSON text.
    pub json: String,
    /// Files signed.
    pub files: usize,
    /// Their bytes.
    pub bytes: u64,
    /// The subject's digest.
    pub root_digest: Sha256Digest,
}

/// Why a bundle cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The directory cannot be walked.
    #[error(transparent)]
    Walk(#[from] WalkError),
    /// A name in the directory cannot be signed as it is.
    #[error("{path}: {why}")]
    Unsignable {
        /// The path in the model.
        path: String,
        /// Why, and the fix.
        why: String,
    },
    /// Nothing would be signed.
    #[error("{0}: no file to sign; an empty model proves nothing")]
    Empty(String),
}

/// Hashes the model at `dir` and builds a bundle signed with `key`.
pub fn write(
    dir: &Path,
    key: &EcSigningKey,
    options: &WriteOptions<'_>,
    progress: &dyn Progress,
) -> Result<WrittenBundle, WriteError> {
    let requests = plan(dir, options)?;
    if requests.is_empty() {
        return Err(WriteError::Empty(dir.display().to_string()));
    }
    let results = hashing::hash_files(dir, &requests, options.jobs, progress);
    let mut resources = Vec::new();
    for (request, result) in requests.iter().zip(results) {
        let digests = result.map_err(|fault| WriteError::Unsignable {
            path: request.path.clone(),
            why: match fault {
                ReadFault::Changed(why) => format!(
                    "changed while it was read ({why}); sign again when nothing writes to it"
                ),
                ReadFault::Unreadable(why) => format!("cannot be read: {why}"),
            },
        })?;
        resources.extend(resources_of(request, options.method, &digests));
    }
    let root_digest = root_of(&resources);
    let statement = statement_json(&model_name(dir), &root_digest, options, &resources);
    let payload = statement.to_string().into_bytes();
    let signature = key.sign_der(&pae(IN_TOTO_PAYLOAD_TYPE, &payload));
    let bundle = bundle_json(key, options.certificates, &payload, &signature);
    Ok(WrittenBundle {
        json: bundle.to_string(),
        files: requests.len(),
        bytes: requests.iter().map(|r| r.stamp.size).sum(),
        root_digest,
    })
}

/// The files to sign, in path-component order (model_signing's order).
fn plan(dir: &Path, options: &WriteOptions<'_>) -> Result<Vec<HashRequest>, WriteError> {
    let listing = walk::list_except(&ModelDir::new(dir), &[])?;
    if let Some(problem) = listing.problems.first() {
        return Err(WriteError::Unsignable {
            path: problem.path.clone(),
            why: problem.message.clone(),
        });
    }
    let ignore_paths = ignore_paths(options);
    let names: Vec<&str> = ignore_paths.iter().map(String::as_str).collect();
    let ignore = literal_matcher(&names, false)?;
    let mut planned = Vec::new();
    for entry in &listing.entries {
        if walk::is_ignored(&ignore, &entry.path) {
            continue;
        }
        let unsignable = |why: &str| WriteError::Unsignable {
            path: entry.path.clone(),
            why: why.to_string(),
        };
        if let Some(reason) = entry.unsafe_reason {
            return Err(unsignable(&format!("a name that {reason}; rename it")));
        }
        let stamp = match &entry.kind {
            EntryKind::File(stamp) => *stamp,
            EntryKind::Symlink => {
                return Err(unsignable(
                    "a symbolic link; links are never followed (replace it with the file, or pass --ignore-path)",
                ));
            }
            EntryKind::Special(what) => {
                return Err(unsignable(&format!("a {what}; it was not opened")));
            }
        };
        // Shards mode lists no shard for an empty file; model_signing does the same.
        if matches!(options.method, Method::Shards(_)) && stamp.size == 0 {
            continue;
        }
        let (want, shard_size) = match options.method {
            Method::Files => (Want::Whole, u64::MAX),
            Method::Shards(size) => (Want::Shards, size),
        };
        planned.push(HashRequest {
            path: entry.path.clone(),
            stamp,
            shard_size,
            want,
            source: entry.blob.clone(),
        });
    }
    planned.sort_by(|a, b| a.path.split('/').cmp(b.path.split('/')));
    Ok(planned)
}

/// The signed ignore paths: git's files, the bundle, our own two files and
/// the caller's, sorted and without repeats.
fn ignore_paths(options: &WriteOptions<'_>) -> Vec<String> {
    let mut paths: Vec<String> = DEFAULT_IGNORED
        .iter()
        .chain(&[MANIFEST_FILE, SIGNATURE_FILE])
        .map(|p| p.to_string())
        .chain(options.bundle_name.map(str::to_string))
        .chain(options.ignore_paths.iter().cloned())
        .collect();
    paths.sort();
    paths.dedup();
    paths
}

/// One signed resource: its name and digest.
struct Resource {
    name: String,
    digest: Sha256Digest,
}

fn resources_of(
    request: &HashRequest,
    method: Method,
    digests: &hashing::FileDigests,
) -> Vec<Resource> {
    let size = request.stamp.size;
    match (method, digests.whole) {
        (Method::Files, Some(whole)) => vec![Resource {
            name: request.path.clone(),
            digest: whole,
        }],
        // One shard: its digest is the whole file's.
        (Method::Shards(_), Some(whole)) => vec![Resource {
            name: format!("{}:0:{size}", request.path),
            digest: whole,
        }],
        (Method::Shards(shard_size), None) => digests
            .shards
            .iter()
            .enumerate()
            .map(|(i, digest)| {
                let start = i as u64 * shard_size;
                let end = (start + shard_size).min(size);
                Resource {
                    name: format!("{}:{start}:{end}", request.path),
                    digest: *digest,
                }
            })
            .collect(),
        (Method::Files, None) => Vec::new(),
    }
}

fn root_of(resources: &[Resource]) -> Sha256Digest {
    let mut hasher = Sha256::new();
    for resource in resources {
        hasher.update(resource.digest.0);
    }
    Sha256Digest(hasher.finalize().into())
}

/// The subject's name: the directory's own name, as model_signing writes it.
fn model_name(dir: &Path) -> String {
    std::fs::canonicalize(dir)
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "model".to_string())
}

fn statement_json(
    name: &str,
    root: &Sha256Digest,
    options: &WriteOptions<'_>,
    resources: &[Resource],
) -> serde_json::Value {
    let mut serialization = json!({
        "method": match options.method { Method::Files => "files", Method::Shards(_) => "shards" },
        "hash_type": "sha256",
        "allow_symlinks": false,
        "ignore_paths": ignore_paths(options),
    });
    if let Method::Shards(size) = options.method {
        serialization["shard_size"] = json!(size);
    }
    let resources: Vec<serde_json::Value> = resources
        .iter()
        .map(|r| json!({"name": r.name, "algorithm": "sha256", "digest": r.digest.to_hex()}))
        .collect();
    json!({
        "_type": STATEMENT_TYPE,
        "subject": [{"name": name, "digest": {"sha256": root.to_hex()}}],
        "predicateType": PREDICATE_TYPE,
        "predicate": {"serialization": serialization, "resources": resources},
    })
}

fn bundle_json(
    key: &EcSigningKey,
    certificates: &[Vec<u8>],
    payload: &[u8],
    signature: &[u8],
) -> serde_json::Value {
    let material = if certificates.is_empty() {
        // model_signing names the key by the SHA-256 of its PEM text.
        let hint = Sha256Digest::of(key.public_key().to_pem().as_bytes()).to_hex();
        json!({"publicKey": {"hint": hint}, "tlogEntries": []})
    } else {
        let chain: Vec<serde_json::Value> = certificates
            .iter()
            .map(|der| json!({"rawBytes": STANDARD.encode(der)}))
            .collect();
        json!({"x509CertificateChain": {"certificates": chain}, "tlogEntries": []})
    };
    json!({
        "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
        "verificationMaterial": material,
        "dsseEnvelope": {
            "payload": STANDARD.encode(payload),
            "payloadType": IN_TOTO_PAYLOAD_TYPE,
            "signatures": [{"sig": STANDARD.encode(signature), "keyid": ""}],
        },
    })
}
