//! Evidence for certification: a verified release written as the documents
//! auditors and compliance tools take in. CycloneDX 1.6 ML-BOM, SPDX 3.0.1
//! (AI and Dataset profiles), an in-toto Statement v1, and SLSA Provenance
//! v1 per training run.
//!
//! An export verifies first ([`collect`]) and writes only what verified, at
//! the level reached, which every document records. Every digest in an
//! export is one the signed manifest (or its pinned listing) holds.

pub mod cyclonedx;
pub mod intoto;
pub mod slsa;
pub mod spdx;

use crate::digest::Sha256Digest;
use crate::hashing::Progress;
use crate::listing::{Opened, open_pinned};
use crate::manifest::{Manifest, Role};
use crate::model_dir::ModelDir;
use crate::problem::Problem;
use crate::timestamp::Timestamp;
use crate::verify::{Report, VerifyError, VerifyOptions};
use std::path::Path;

/// The name and version exports give as the tool that made them.
pub const TOOL: &str = "modelseal";
/// This build's version.
pub const TOOL_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Why nothing was exported.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Verification stopped before a report (exit 2).
    #[error(transparent)]
    Verify(#[from] VerifyError),
    /// The release did not verify, and `--unverified` was not given.
    #[error(
        "{dir} did not verify (level {required} required, {reached}; {count} problem(s), first: {first}); nothing was exported. Fix it, or pass --unverified to export anyway (the document then says it is unverified)"
    )]
    NotVerified {
        /// The model directory.
        dir: String,
        /// The level required.
        required: u8,
        /// What was reached, in words.
        reached: String,
        /// How many problems.
        count: usize,
        /// The first problem, in words.
        first: String,
    },
    /// The pinned listing changed after verify read it.
    #[error("{0}")]
    Listing(String),
}

/// One file of the release, as the signed manifest lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportedFile {
    /// Path in the model directory.
    pub path: String,
    /// Its role.
    pub role: Role,
    /// Its size in bytes.
    pub size: u64,
    /// Its SHA-256.
    pub sha256: Sha256Digest,
}

/// A verified release: what every export is made from.
#[derive(Debug, Clone)]
pub struct Evidence {
    /// What verify found.
    pub report: Report,
    /// The manifest verify read.
    pub manifest: Manifest,
    /// The SHA-256 of its exact bytes (what the signatures cover).
    pub manifest_sha256: Sha256Digest,
    /// Every listed file, in listing order.
    pub files: Vec<ExportedFile>,
    /// Whether the required level held with no problem.
    pub verified: bool,
    /// When the export was made.
    pub created: Timestamp,
}

impl Evidence {
    /// The highest level reached, in words: `3 (chained)`, or `none`.
    pub fn reached_name(&self) -> String {
        self.report
            .reached
            .map_or("none".into(), crate::report::level_name)
    }

    /// The digest of a listed file, if it is listed.
    pub fn digest_of(&self, path: &str) -> Option<Sha256Digest> {
        self.files.iter().find(|f| f.path == path).map(|f| f.sha256)
    }

    /// The line that says what was verified, for documents' comments.
    pub fn statement(&self) -> String {
        let reached = self.reached_name();
        if self.verified {
            format!(
                "verified by {TOOL} {TOOL_VERSION}: level {} required, level {reached} reached",
                crate::report::level_name(self.report.required)
            )
        } else {
            format!(
                "UNVERIFIED: exported with --unverified; {TOOL} {TOOL_VERSION} found {} problem(s), level {reached} reached of {} required",
                self.report.problems.len(),
                self.report.required
            )
        }
    }

    /// Signers whose signatures were valid: (policy name, keyid).
    pub fn valid_signers(&self) -> Vec<(String, String)> {
        self.report
            .signatures
            .iter()
            .filter(|s| s.status == crate::trust::SignatureStatus::Valid)
            .map(|s| {
                let name = s
                    .key_name
                    .clone()
                    .unwrap_or_else(|| "(not in the policy)".into());
                (name, s.keyid.clone())
            })
            .collect()
    }
}

/// Verifies `dir` and gathers what the exports need. Without
/// `allow_unverified`, a release that does not verify is refused.
pub fn collect(
    dir: &Path,
    options: &VerifyOptions,
    allow_unverified: bool,
    progress: &dyn Progress,
) -> Result<Evidence, ExportError> {
    let (report, manifest, manifest_sha256) =
        crate::verify::verify_with_manifest(dir, options, progress)?;
    let verified = report.ok();
    if !verified && !allow_unverified {
        return Err(not_verified(dir, &report));
    }
    let files = listed_files(&ModelDir::new(dir), &manifest)?;
    Ok(Evidence {
        report,
        manifest,
        manifest_sha256,
        files,
        verified,
        created: Timestamp::now(),
    })
}

fn not_verified(dir: &Path, report: &Report) -> ExportError {
    let first = report.problems.first().map_or("none".to_string(), describe);
    ExportError::NotVerified {
        dir: dir.display().to_string(),
        required: report.required,
        reached: report.reached.map_or("no level reached".into(), |r| {
            format!("level {} reached", crate::report::level_name(r))
        }),
        count: report.problems.len(),
        first,
    }
}

fn describe(problem: &Problem) -> String {
    format!(
        "{} {}",
        problem.kind.as_str(),
        crate::escape::field(&problem.path)
    )
}

/// Every file the manifest lists: its `[[file]]` entries, or, in the large
/// form, its pinned listing (read again and checked against the pin).
fn listed_files(model: &ModelDir, manifest: &Manifest) -> Result<Vec<ExportedFile>, ExportError> {
    let Some(pin) = &manifest.listing else {
        return Ok(manifest
            .files
            .iter()
            .map(|f| ExportedFile {
                path: f.path.clone(),
                role: f.role,
                size: f.size,
                sha256: f.sha256,
            })
            .collect());
    };
    let refused = |why: String| ExportError::Listing(format!("the pinned listing: {why}"));
    let listing = match open_pinned(model, pin, manifest.hashing.shard_size, true) {
        Ok(Opened::Ready(listing)) => listing,
        Ok(Opened::Refused(problem)) => return Err(refused(problem.message)),
        Err(e) => return Err(refused(e.to_string())),
    };
    let mut files = Vec::new();
    for entry in *listing {
        let entry = entry.map_err(|e| refused(e.to_string()))?;
        files.push(ExportedFile {
            path: entry.path,
            role: entry.role,
            size: entry.size,
            sha256: entry.sha256,
        });
    }
    Ok(files)
}

/// A deterministic RFC 4122 UUID (version 8, vendor-specific) from a digest:
/// one export of one verification names itself the same way each time.
pub fn uuid_of(digest: &Sha256Digest) -> String {
    let mut b = [0u8; 16];
    b.copy_from_slice(&digest.0[..16]);
    b[6] = (b[6] & 0x0f) | 0x80;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}
