//! `check`: the pre-commit hook. Finds every manifest at or above the given
//! paths (up to the git root) or below them, and checks that each is true to
//! its files (level 0) and that each of its signatures still verifies over it.
//! Unchanged files are answered from the stat cache ([`crate::cache`]).

use crate::cache::DigestCache;
use crate::hashing::Progress;
use crate::intact::{FileCheckOptions, FileTotals, compare_listing};
use crate::manifest::Manifest;
use crate::model_dir::ModelDir;
use crate::problem::{Problem, ProblemKind};
use crate::signature::SignatureFile;
use crate::stream::{ManifestCheck, check_manifest};
use crate::timestamp::Timestamp;
use crate::trust::TrustPolicy;
use crate::trust::check_release;
use crate::verify::VerifyError;
use crate::walk;
use crate::{MANIFEST_FILE, SIGNATURE_FILE};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// How to check.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    /// With a policy, level 1 is required (threshold of trusted signatures).
    pub policy: Option<TrustPolicy>,
    /// Hashing threads.
    pub jobs: usize,
    /// Where the stat cache lives; `None` disables it.
    pub cache_dir: Option<PathBuf>,
    /// Accept Git LFS pointers that match the signed digests.
    pub lfs_pointers: bool,
    /// The time for key expiry.
    pub now: Timestamp,
}

/// What checking one manifest found.
#[derive(Debug, Clone)]
pub struct CheckOutcome {
    /// The model directory.
    pub dir: PathBuf,
    /// Every problem found.
    pub problems: Vec<Problem>,
    /// Signature entries in its `provenance.sig`.
    pub signatures: usize,
    /// Things to say that do not fail the check (an unsigned manifest).
    pub warnings: Vec<String>,
    /// Files checked, and how many the cache answered for.
    pub totals: FileTotals,
}

/// The model directories whose manifests the hook must check for `paths`
/// (pre-commit passes staged file names): every `provenance.toml` at or
/// above each path up to the git root, and every one below a directory path.
pub fn find_manifests(paths: &[PathBuf]) -> Vec<PathBuf> {
    let default = [PathBuf::from(".")];
    let paths = if paths.is_empty() {
        &default[..]
    } else {
        paths
    };
    let mut found = BTreeSet::new();
    for path in paths {
        let start = if path.is_dir() {
            path.clone()
        } else {
            match path.parent() {
                Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
                _ => PathBuf::from("."),
            }
        };
        let Ok(start) = std::fs::canonicalize(&start) else {
            continue; // a deleted directory: nothing left to check there
        };
        let git_root = start.ancestors().find(|a| a.join(".git").exists());
        for dir in start.ancestors() {
            if dir.join(MANIFEST_FILE).exists() {
                found.insert(dir.to_path_buf());
            }
            if git_root.is_none_or(|root| dir == root) {
                break;
            }
        }
        if path.is_dir() {
            let walker = walkdir::WalkDir::new(&start)
                .follow_links(false)
                .into_iter()
                .filter_entry(|e| e.file_name() != ".git");
            for entry in walker.flatten() {
                if entry.file_type().is_file()
                    && entry.file_name() == MANIFEST_FILE
                    && let Some(parent) = entry.path().parent()
                {
                    found.insert(parent.to_path_buf());
                }
            }
        }
    }
    let cwd = std::env::current_dir().ok();
    found
        .into_iter()
        .map(|dir| match &cwd {
            Some(cwd) if dir == *cwd => PathBuf::from("."),
            Some(cwd) => dir.strip_prefix(cwd).map(Path::to_path_buf).unwrap_or(dir),
            None => dir,
        })
        .collect()
}

/// Level 0 of a manifest in the TOML form, answering unchanged files from
/// the stat cache (the manifest caps the entries, so the cache is bounded too).
fn check_with_cache(
    model: &ModelDir,
    manifest: &Manifest,
    options: &CheckOptions,
    progress: &dyn Progress,
    warnings: &mut Vec<String>,
) -> Result<(Vec<Problem>, FileTotals), VerifyError> {
    let dir = model.root();
    let listing = walk::list(model)?;
    let mut cache = options
        .cache_dir
        .as_ref()
        .map(|cache_dir| DigestCache::open(cache_dir, dir));
    let mut file_options = FileCheckOptions {
        jobs: options.jobs,
        lfs_pointers: options.lfs_pointers,
        cache: cache.as_mut(),
        read_contents: true,
        copy: None,
    };
    let outcome = compare_listing(dir, manifest, listing, &mut file_options, progress)?;
    if let Some(cache) = &cache
        && let Err(e) = cache.save()
    {
        warnings.push(format!(
            "the stat cache could not be saved ({e}); the next check hashes again"
        ));
    }
    Ok(outcome)
}

/// Level 0 of a manifest in the large form (`provenance.files`), or of more
/// than [`crate::listing::AUTO_THRESHOLD`] files, streamed as `verify` does,
/// in bounded memory. The stat cache is not used: a map of millions of
/// stamps would be the unbounded memory the large form avoids.
fn check_large_form(
    model: &ModelDir,
    manifest: &mut Manifest,
    options: &CheckOptions,
    progress: &dyn Progress,
) -> Result<(Vec<Problem>, FileTotals), VerifyError> {
    let how = ManifestCheck {
        jobs: options.jobs,
        lfs_pointers: options.lfs_pointers,
        read_contents: true,
        partition: None,
        copy: None,
    };
    Ok(check_manifest(model, manifest, how, progress)?)
}

/// Checks one model directory.
pub fn check_dir(
    dir: &Path,
    options: &CheckOptions,
    progress: &dyn Progress,
) -> Result<CheckOutcome, VerifyError> {
    let model = ModelDir::new(dir);
    let (mut manifest, manifest_bytes) =
        Manifest::load(&model.manifest_path()).map_err(VerifyError::Manifest)?;
    let signatures =
        SignatureFile::load(&model.signatures_path()).map_err(VerifyError::Signatures)?;
    let mut warnings = Vec::new();
    // Above the large form's threshold the stat cache would be a map of
    // every file: such manifests stream, as verify does, in bounded memory.
    let streamed =
        manifest.listing.is_some() || manifest.files.len() > crate::listing::AUTO_THRESHOLD;
    let (mut problems, totals) = if streamed {
        check_large_form(&model, &mut manifest, options, progress)?
    } else {
        check_with_cache(&model, &manifest, options, progress, &mut warnings)?
    };

    match &options.policy {
        Some(policy) => {
            problems.extend(
                check_release(&signatures, &manifest, &manifest_bytes, policy, options.now)
                    .problems,
            );
        }
        None => {
            for (i, entry) in signatures.signatures.iter().enumerate() {
                if let Err(fault) = entry.check(&manifest_bytes) {
                    problems.push(Problem::new(
                        ProblemKind::BadSignature,
                        SIGNATURE_FILE,
                        format!("signature {} by {}: {fault}", i + 1, entry.label()),
                    ));
                }
            }
            if signatures.signatures.is_empty() {
                warnings.push(format!(
                    "unsigned: sign it with `modelseal sign {} --key KEY.key`",
                    dir.display()
                ));
            }
        }
    }
    Ok(CheckOutcome {
        dir: dir.to_path_buf(),
        problems,
        signatures: signatures.signatures.len(),
        warnings,
        totals,
    })
}
