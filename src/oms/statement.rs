//! The signed payload of an OMS bundle: an in-toto Statement v1 whose
//! predicate (`https://model_signing/signature/v1.0`) lists every file, or
//! every shard of every file, with its SHA-256.
//!
//! The subject's digest is the SHA-256 of the resources' raw digests in
//! payload order. model_signing does not order them by code points, so the
//! order is taken as written and never re-sorted.

use super::OmsError;
use crate::digest::Sha256Digest;
use serde::Deserialize;
use sha2::{Digest as _, Sha256};
use std::collections::BTreeMap;

/// The in-toto statement type OMS uses.
pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
/// The OMS v1.0 predicate type.
pub const PREDICATE_TYPE: &str = "https://model_signing/signature/v1.0";
/// Most `ignore_paths` a statement may sign: each becomes a glob, and a
/// hostile bundle is read before its signature is known to hold.
pub const MAX_IGNORE_PATHS: usize = 4096;
/// The predicate of model_signing 0.2, before OMS v1.0.
const LEGACY_PREDICATE_TYPE: &str = "https://model_signing/Digests/v0.1";

/// How the signer cut the model into resources.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// One resource per file.
    Files,
    /// One resource per slice of `shard_size` bytes of each non-empty file.
    Shards(u64),
}

/// One signed file, with the digests its bytes must have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedFile {
    /// Its path, as signed.
    pub path: String,
    /// Its size, where the method records one (shards: the last end).
    pub size: Option<u64>,
    /// The digests its bytes must have.
    pub content: SignedContent,
    /// The number (from 1) of its first resource in the payload.
    pub resource: usize,
}

/// The digests of one signed file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignedContent {
    /// The whole file's digest (files mode, or a file of one shard).
    Whole(Sha256Digest),
    /// Each shard's digest, in order (a file of several shards).
    Shards(Vec<Sha256Digest>),
}

/// What an OMS statement signs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedModel {
    /// The subject's name: the model directory's name when signed.
    pub name: String,
    /// The subject's digest (the root digest).
    pub root_digest: Sha256Digest,
    /// The SHA-256 of the resources' digests in payload order: the root
    /// digest, when the statement is consistent. Compared once the
    /// signature is known to hold, so a tampered payload is a bad
    /// signature, not a malformed file.
    pub resources_digest: Sha256Digest,
    /// The serialization method.
    pub method: Method,
    /// The signed `ignore_paths`, relative to the model.
    pub ignore_paths: Vec<String>,
    /// Whether the signer allowed symbolic links (modelseal never follows one).
    pub allow_symlinks: bool,
    /// The files, in payload order.
    pub files: Vec<SignedFile>,
}

/// The statement, its predicate read as `P`: first skipped, to check the
/// types before the predicate's shape, then as OMS v1.0's.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StatementDoc<P> {
    #[serde(rename = "_type")]
    statement_type: String,
    subject: Vec<SubjectDoc>,
    predicate_type: String,
    predicate: Option<P>,
}

#[derive(Deserialize)]
struct SubjectDoc {
    name: String,
    digest: DigestDoc,
}

#[derive(Deserialize)]
struct DigestDoc {
    sha256: String,
}

#[derive(Deserialize)]
struct PredicateDoc {
    serialization: SerializationDoc,
    resources: Vec<ResourceDoc>,
}

#[derive(Deserialize)]
struct SerializationDoc {
    method: String,
    hash_type: String,
    allow_symlinks: bool,
    #[serde(default)]
    ignore_paths: Vec<String>,
    shard_size: Option<serde_json::Number>,
}

#[derive(Deserialize)]
struct ResourceDoc {
    name: String,
    algorithm: String,
    digest: String,
}

fn malformed(what: impl Into<String>) -> OmsError {
    OmsError::Statement { what: what.into() }
}

/// Parses and checks the statement: its types, its one subject, and that
/// the resources hash to the subject's digest.
pub fn parse(payload: &[u8]) -> Result<SignedModel, OmsError> {
    let doc: StatementDoc<serde::de::IgnoredAny> = serde_json::from_slice(payload)
        .map_err(|e| malformed(format!("is not an in-toto statement: {e}")))?;
    if doc.statement_type != STATEMENT_TYPE {
        return Err(malformed(format!(
            "has _type '{}'; expected {STATEMENT_TYPE}",
            crate::escape::field(&doc.statement_type)
        )));
    }
    if doc.predicate_type == LEGACY_PREDICATE_TYPE {
        return Err(malformed(format!(
            "uses the pre-1.0 predicate {LEGACY_PREDICATE_TYPE} (model_signing 0.2), which records \
             no serialization and no ignore paths; re-sign with model_signing 1.0 or later"
        )));
    }
    if doc.predicate_type != PREDICATE_TYPE {
        return Err(malformed(format!(
            "has predicateType '{}'; expected {PREDICATE_TYPE}",
            crate::escape::field(&doc.predicate_type)
        )));
    }
    let [subject] = <[SubjectDoc; 1]>::try_from(doc.subject)
        .map_err(|s| malformed(format!("has {} subjects; OMS signs exactly one", s.len())))?;
    let root_digest: Sha256Digest = subject
        .digest
        .sha256
        .parse()
        .map_err(|_| malformed("has a subject sha256 that is not 64 lowercase hex digits"))?;
    if doc.predicate.is_none() {
        return Err(malformed("has no predicate"));
    }
    let full: StatementDoc<PredicateDoc> = serde_json::from_slice(payload)
        .map_err(|e| malformed(format!("has a predicate that is not OMS v1.0: {e}")))?;
    let predicate = full
        .predicate
        .ok_or_else(|| malformed("has no predicate"))?;
    let method = parse_method(&predicate.serialization)?;
    if predicate.serialization.ignore_paths.len() > MAX_IGNORE_PATHS {
        return Err(malformed(format!(
            "signs {} ignore_paths; at most {MAX_IGNORE_PATHS} are accepted",
            predicate.serialization.ignore_paths.len()
        )));
    }
    let (resources, resources_digest) = parse_resources(&predicate.resources)?;
    let files = match method {
        Method::Files => files_of(&resources)?,
        Method::Shards(size) => sharded_files_of(&resources, size)?,
    };
    Ok(SignedModel {
        name: subject.name,
        root_digest,
        resources_digest,
        method,
        ignore_paths: predicate.serialization.ignore_paths,
        allow_symlinks: predicate.serialization.allow_symlinks,
        files,
    })
}

fn parse_method(doc: &SerializationDoc) -> Result<Method, OmsError> {
    if doc.hash_type != "sha256" {
        return Err(malformed(format!(
            "has hash_type '{}'; modelseal checks sha256 only",
            crate::escape::field(&doc.hash_type)
        )));
    }
    match doc.method.as_str() {
        "files" => Ok(Method::Files),
        "shards" => {
            let size = doc
                .shard_size
                .as_ref()
                .and_then(shard_size_of)
                .ok_or_else(|| {
                    malformed("has shards serialization without a positive whole shard_size")
                })?;
            Ok(Method::Shards(size))
        }
        other => Err(malformed(format!(
            "has serialization method '{}'; OMS v1.0 defines files and shards",
            crate::escape::field(other)
        ))),
    }
}

/// model_signing writes the shard size as a float (`1000000000.0`): accept
/// any number that is a positive whole value.
fn shard_size_of(number: &serde_json::Number) -> Option<u64> {
    if let Some(n) = number.as_u64() {
        return (n > 0).then_some(n);
    }
    let f = number.as_f64()?;
    // 2^53: above it a float no longer names one whole number.
    (f >= 1.0 && f.fract() == 0.0 && f <= 9_007_199_254_740_992.0).then_some(f as u64)
}

/// One resource, its digest parsed.
struct Resource<'a> {
    name: &'a str,
    algorithm: &'a str,
    digest: Sha256Digest,
}

/// The resources with their digests parsed, and the SHA-256 of those
/// digests in payload order (which the subject's digest must be).
fn parse_resources(
    resources: &[ResourceDoc],
) -> Result<(Vec<Resource<'_>>, Sha256Digest), OmsError> {
    let mut hasher = Sha256::new();
    let mut parsed = Vec::with_capacity(resources.len());
    for (index, resource) in resources.iter().enumerate() {
        let digest: Sha256Digest = resource.digest.parse().map_err(|_| {
            malformed(format!(
                "has resource {} ('{}') whose digest is not 64 lowercase hex digits",
                index + 1,
                crate::escape::field(&resource.name)
            ))
        })?;
        hasher.update(digest.0);
        parsed.push(Resource {
            name: &resource.name,
            algorithm: &resource.algorithm,
            digest,
        });
    }
    Ok((parsed, Sha256Digest(hasher.finalize().into())))
}

impl SignedModel {
    /// An error unless the resources hash to the subject's digest.
    pub fn check_root_digest(&self) -> Result<(), OmsError> {
        if self.resources_digest == self.root_digest {
            return Ok(());
        }
        Err(malformed(format!(
            "is inconsistent: its resources hash to {}, but its subject's digest is {}",
            self.resources_digest, self.root_digest
        )))
    }
}

fn files_of(resources: &[Resource<'_>]) -> Result<Vec<SignedFile>, OmsError> {
    resources
        .iter()
        .enumerate()
        .map(|(index, resource)| {
            if resource.algorithm != "sha256" {
                return Err(malformed(format!(
                    "has resource {} with algorithm '{}' in files mode; expected sha256",
                    index + 1,
                    crate::escape::field(resource.algorithm)
                )));
            }
            Ok(SignedFile {
                path: resource.name.to_string(),
                size: None,
                content: SignedContent::Whole(resource.digest),
                resource: index + 1,
            })
        })
        .collect()
}

/// One shard resource: `path:start:end`, the end exclusive.
struct Shard {
    start: u64,
    end: u64,
    digest: Sha256Digest,
    resource: usize,
}

fn sharded_files_of(
    resources: &[Resource<'_>],
    shard_size: u64,
) -> Result<Vec<SignedFile>, OmsError> {
    let sharded_name = format!("sha256-sharded-{shard_size}");
    // Files keep the order of their first shard in the payload.
    let mut order: Vec<String> = Vec::new();
    let mut by_path: BTreeMap<String, Vec<Shard>> = BTreeMap::new();
    for (index, resource) in resources.iter().enumerate() {
        let number = index + 1;
        if resource.algorithm != sharded_name && resource.algorithm != "sha256" {
            return Err(malformed(format!(
                "has resource {number} with algorithm '{}'; expected {sharded_name}",
                crate::escape::field(resource.algorithm)
            )));
        }
        let (path, start, end) = split_shard_name(resource.name).ok_or_else(|| {
            malformed(format!(
                "has resource {number} named '{}', which is not a shard name PATH:START:END",
                crate::escape::field(resource.name)
            ))
        })?;
        let shards = by_path.entry(path.to_string()).or_insert_with(|| {
            order.push(path.to_string());
            Vec::new()
        });
        shards.push(Shard {
            start,
            end,
            digest: resource.digest,
            resource: number,
        });
    }
    order
        .into_iter()
        .map(|path| {
            let shards = by_path.remove(&path).unwrap_or_default();
            assemble_file(path, shards, shard_size)
        })
        .collect()
}

fn split_shard_name(name: &str) -> Option<(&str, u64, u64)> {
    let mut parts = name.rsplitn(3, ':');
    let end = parts.next()?.parse().ok()?;
    let start = parts.next()?.parse().ok()?;
    let path = parts.next()?;
    (start < end).then_some((path, start, end))
}

/// A file's shards must be the slices a signer cuts: contiguous from 0,
/// each `shard_size` long but the last. Anything else cannot be re-hashed.
fn assemble_file(
    path: String,
    mut shards: Vec<Shard>,
    shard_size: u64,
) -> Result<SignedFile, OmsError> {
    shards.sort_by_key(|s| s.start);
    let resource = shards.iter().map(|s| s.resource).min().unwrap_or(0);
    let mut expected_start = 0;
    for (i, shard) in shards.iter().enumerate() {
        let last = i + 1 == shards.len();
        let len = shard.end - shard.start;
        if shard.start != expected_start || len > shard_size || (!last && len != shard_size) {
            return Err(malformed(format!(
                "has shards of '{}' that are not the contiguous {shard_size}-byte slices a signer cuts \
                 (resource {})",
                crate::escape::field(&path),
                shard.resource
            )));
        }
        expected_start = shard.end;
    }
    let size = Some(expected_start);
    let content = match shards.as_slice() {
        [one] => SignedContent::Whole(one.digest),
        _ => SignedContent::Shards(shards.iter().map(|s| s.digest).collect()),
    };
    Ok(SignedFile {
        path,
        size,
        content,
        resource,
    })
}
