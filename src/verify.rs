//! Verification: the bytes, the signatures and (from level 2) the lineage,
//! gathered into one [`Report`] that lists every problem found.

use crate::cache::DigestCache;
use crate::digest::{self, FileDigests, HashRequest, Progress, ReadFault, Sha256Digest, Want};
use crate::manifest::{Kind, Manifest};
use crate::problem::{Problem, ProblemKind};
use crate::signature::{SignatureFile, short_keyid};
use crate::source::SourceError;
use crate::timestamp::Timestamp;
use crate::trace::{self, ChainContext, Lineage};
use crate::trust::{KeyStanding, TrustPolicy};
use crate::walk::{self, EntryKind, WalkError};
use crate::{MANIFEST_FILE, SIGNATURE_FILE};
use serde::Serialize;
use std::collections::{BTreeSet, HashMap};
use std::path::Path;

/// The highest level format 1 defines.
pub const MAX_LEVEL: u8 = 3;

/// The names of the levels, by number.
pub const LEVEL_NAMES: [&str; 4] = ["intact", "signed", "traced", "chained"];

/// What to verify, and how.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// The level that must hold (0 to 3).
    pub required_level: u8,
    /// The trust policy; needed from level 1 up.
    pub policy: Option<TrustPolicy>,
    /// Hashing threads.
    pub jobs: usize,
    /// The time against which key expiry is judged.
    pub now: Timestamp,
    /// Accept Git LFS pointers that match the signed digests.
    pub lfs_pointers: bool,
}

/// Errors that stop verification before a report can be made (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The manifest is missing, unreadable or malformed.
    #[error(transparent)]
    Manifest(SourceError),
    /// `provenance.sig` is unreadable or malformed.
    #[error(transparent)]
    Signatures(SourceError),
    /// The directory cannot be walked.
    #[error(transparent)]
    Walk(#[from] WalkError),
    /// A level above 0 was asked for without keys to check signatures against.
    #[error(
        "level {0} needs a trust policy: pass --key PUBLIC.pub or --trust trust.toml (or --level 0 to check only the bytes)"
    )]
    NoPolicy(u8),
    /// The level is not 0 to 3.
    #[error("level {0} does not exist; levels are 0 (intact) to 3 (chained)")]
    BadLevel(u8),
}

/// The model the report is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ModelSummary {
    /// Manifest `name`.
    pub name: String,
    /// Manifest `version`.
    pub version: String,
    /// Manifest `kind`.
    pub kind: Kind,
}

/// The status of one signature entry, as the JSON report names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SignatureStatus {
    /// Verifies, and the key is trusted.
    Valid,
    /// Does not verify.
    Invalid,
    /// Verifies; the key is not in the policy.
    Untrusted,
    /// Verifies; the key expired in the policy.
    Expired,
    /// Verifies; the key is revoked in the policy.
    Revoked,
}

/// One signature entry's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SignatureOutcome {
    /// The entry's key id, as written.
    pub keyid: String,
    /// The entry's signer, as written (not signed).
    pub signer: Option<String>,
    /// The outcome.
    pub status: SignatureStatus,
}

/// Totals of the file check.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FileTotals {
    /// Files whose bytes were checked.
    pub checked: u64,
    /// The sum of their sizes.
    pub bytes: u64,
    /// Of those, files the stat cache answered for (`check` only).
    pub from_cache: u64,
    /// Git LFS pointers accepted in place of their content (`--lfs-pointers`).
    pub lfs_pointers: u64,
}

/// Everything verification found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// The model.
    pub model: ModelSummary,
    /// The level that had to hold.
    pub required: u8,
    /// The highest level that holds, or `None` when not even level 0 does.
    pub reached: Option<u8>,
    /// Files read and bytes hashed.
    pub files: FileTotals,
    /// One outcome per signature entry (empty at level 0).
    pub signatures: Vec<SignatureOutcome>,
    /// Every problem found, files first, in path order.
    pub problems: Vec<Problem>,
    /// The lineage recorded, and what levels 2 and 3 found of it.
    pub lineage: Lineage,
}

impl Report {
    /// Whether the required level holds with no problem.
    pub fn ok(&self) -> bool {
        self.problems.is_empty() && self.reached.is_some_and(|r| r >= self.required)
    }
}

/// Verifies the model directory `dir` against its manifest and signatures.
pub fn verify(
    dir: &Path,
    options: &VerifyOptions,
    progress: &dyn Progress,
) -> Result<Report, VerifyError> {
    verify_manifest(dir, options, progress).map(|(report, _)| report)
}

/// [`verify`], also handing back the manifest it read.
fn verify_manifest(
    dir: &Path,
    options: &VerifyOptions,
    progress: &dyn Progress,
) -> Result<(Report, Manifest), VerifyError> {
    if options.required_level > MAX_LEVEL {
        return Err(VerifyError::BadLevel(options.required_level));
    }
    if options.required_level >= 1 && options.policy.is_none() {
        return Err(VerifyError::NoPolicy(options.required_level));
    }
    // The walk needs nothing from the manifest, so it runs while the manifest is parsed.
    let (loaded, listing) = std::thread::scope(|scope| {
        let walker = scope.spawn(|| walk::list(dir));
        let loaded = Manifest::load(&walk::special_file_path(dir, MANIFEST_FILE));
        let listing = walker
            .join()
            .unwrap_or_else(|_| Err(WalkError::NotADirectory(dir.to_path_buf())));
        (loaded, listing)
    });
    let (manifest, manifest_bytes) = loaded.map_err(VerifyError::Manifest)?;
    let listing = listing?;
    let signatures = if options.required_level >= 1 {
        Some(
            SignatureFile::load(&walk::special_file_path(dir, SIGNATURE_FILE))
                .map_err(VerifyError::Signatures)?,
        )
    } else {
        None
    };

    let mut file_options = FileCheckOptions {
        jobs: options.jobs,
        lfs_pointers: options.lfs_pointers,
        cache: None,
    };
    let (mut problems, files) =
        compare_listing(dir, &manifest, listing, &mut file_options, progress)?;
    let mut reached = problems.is_empty().then_some(0);

    let mut outcomes = Vec::new();
    let mut lineage = Lineage::of(&manifest);
    if let (Some(signatures), Some(policy)) = (signatures, &options.policy) {
        let (sig_outcomes, mut sig_problems) = check_signatures(
            &signatures,
            SIGNATURE_FILE,
            &manifest_bytes,
            policy,
            options.now,
        );
        for why in policy.rollback(&manifest.name, &manifest.version, manifest.created) {
            sig_problems.push(Problem::new(
                ProblemKind::Rollback,
                MANIFEST_FILE,
                format!(
                    "{why}: a replayed older release is refused (see the trust policy's [[pin]])"
                ),
            ));
        }
        outcomes = sig_outcomes;
        if sig_problems.is_empty() && reached == Some(0) {
            reached = Some(1);
        }
        problems.extend(sig_problems);

        // Levels 2 and 3 are always evaluated once signatures are, so that
        // `reached` tells the truth; their problems are listed only when required.
        let trace_problems = trace::check_lineage(&manifest);
        let chain = trace::check_chain(&ChainContext {
            dir,
            root: &manifest,
            policy,
            now: options.now,
        });
        let traced = trace_problems.is_empty();
        let chained = traced && chain.problems.is_empty();
        lineage.traced = Some(traced);
        lineage.chained = Some(chained);
        lineage.upstreams = chain.upstreams;
        if reached == Some(1) && traced {
            reached = Some(if chained { 3 } else { 2 });
        }
        if options.required_level >= 2 {
            problems.extend(trace_problems);
        }
        if options.required_level >= 3 {
            // A reference level 2 already called dangling is not reported twice.
            for problem in chain.problems {
                let seen = problems
                    .iter()
                    .any(|p| p.kind == problem.kind && p.path == problem.path);
                if !seen {
                    problems.push(problem);
                }
            }
        }
    }

    let report = Report {
        model: ModelSummary {
            name: manifest.name.clone(),
            version: manifest.version.clone(),
            kind: manifest.kind,
        },
        required: options.required_level,
        reached,
        files,
        signatures: outcomes,
        problems,
        lineage,
    };
    Ok((report, manifest))
}

/// The lineage view of `dir`: a full verify at level 3 when a policy is
/// given, else level 0 with the lineage checked for completeness (level 2's
/// conditions without signatures).
pub fn lineage(
    dir: &Path,
    policy: Option<TrustPolicy>,
    jobs: usize,
    now: Timestamp,
    progress: &dyn Progress,
) -> Result<Report, VerifyError> {
    let with_policy = policy.is_some();
    let options = VerifyOptions {
        required_level: if with_policy { MAX_LEVEL } else { 0 },
        policy,
        jobs,
        now,
        lfs_pointers: false,
    };
    let (mut report, manifest) = verify_manifest(dir, &options, progress)?;
    if !with_policy {
        let trace_problems = trace::check_lineage(&manifest);
        report.lineage.traced = Some(trace_problems.is_empty());
        report.problems.extend(trace_problems);
    }
    Ok(report)
}

/// Level 0: compares the directory with the manifest, hashing every listed
/// file that is present with the right size. Returns every problem found.
pub fn check_files(
    dir: &Path,
    manifest: &Manifest,
    jobs: usize,
    progress: &dyn Progress,
) -> Result<(Vec<Problem>, FileTotals), WalkError> {
    let listing = walk::list(dir)?;
    let mut options = FileCheckOptions {
        jobs,
        lfs_pointers: false,
        cache: None,
    };
    compare_listing(dir, manifest, listing, &mut options, progress)
}

/// How level 0 reads files.
pub struct FileCheckOptions<'a> {
    /// Hashing threads.
    pub jobs: usize,
    /// Accept a Git LFS pointer whose oid and size match the manifest in
    /// place of the content.
    pub lfs_pointers: bool,
    /// A stat cache to answer for unchanged files (`check` only, never `verify`).
    pub cache: Option<&'a mut DigestCache>,
}

/// Level 0 on a listing already made.
pub fn compare_listing(
    dir: &Path,
    manifest: &Manifest,
    mut listing: walk::Listing,
    options: &mut FileCheckOptions<'_>,
    progress: &dyn Progress,
) -> Result<(Vec<Problem>, FileTotals), WalkError> {
    let matcher = walk::ignore_matcher(dir, &manifest.ignore)?;
    listing.apply_ignore(&matcher);
    let mut problems = listing.problems;

    // Manifest side: unsafe and colliding paths are reported and never touched.
    let mut listed: HashMap<&str, &crate::manifest::FileEntry> = HashMap::new();
    let mut safe_paths = Vec::new();
    for entry in &manifest.files {
        if let Err(reason) = walk::check_path(&entry.path) {
            problems.push(Problem::new(
                ProblemKind::UnsafePath,
                &entry.path,
                format!(
                    "the manifest lists a path that {reason} (line {}); it was not opened",
                    entry.line
                ),
            ));
            continue;
        }
        safe_paths.push(entry.path.as_str());
    }
    let manifest_duplicates = walk::duplicate_paths(safe_paths.iter().copied());
    let duplicate_set: BTreeSet<String> =
        manifest_duplicates.iter().map(|p| p.path.clone()).collect();
    problems.extend(manifest_duplicates);
    for entry in &manifest.files {
        if walk::check_path(&entry.path).is_ok() {
            listed.entry(entry.path.as_str()).or_insert(entry);
        }
    }

    // Directory side.
    let mut on_disk: HashMap<&str, &walk::Entry> = HashMap::new();
    for entry in &listing.entries {
        on_disk.insert(entry.path.as_str(), entry);
    }
    // Listed names first, so a collision is reported on the newcomer.
    let mut visible: Vec<&str> = listing
        .entries
        .iter()
        .filter(|e| {
            e.unsafe_reason.is_none() && (!e.ignored || listed.contains_key(e.path.as_str()))
        })
        .map(|e| e.path.as_str())
        .collect();
    visible.sort_by_key(|p| !listed.contains_key(p));
    for problem in walk::duplicate_paths(visible) {
        if !duplicate_set.contains(&problem.path) {
            problems.push(problem);
        }
    }

    let mut requests = Vec::new();
    let mut expected = Vec::new();
    let mut totals = FileTotals::default();
    for entry in &manifest.files {
        if listed
            .get(entry.path.as_str())
            .is_none_or(|e| !std::ptr::eq(*e, entry))
        {
            continue; // unsafe, or a later duplicate
        }
        let path = entry.path.as_str();
        let found = on_disk.get(path);
        match found.map(|e| &e.kind) {
            None => problems.push(Problem::new(
                ProblemKind::MissingFile,
                path,
                "listed in the manifest but not in the directory",
            )),
            Some(EntryKind::Symlink) => problems.push(Problem::new(
                ProblemKind::Symlink,
                path,
                "listed file is a symbolic link; links are never followed",
            )),
            Some(EntryKind::Special(what)) => problems.push(Problem::new(
                ProblemKind::SpecialFile,
                path,
                format!("listed file is a {what}; it was not opened"),
            )),
            Some(EntryKind::File(stamp)) => {
                let blob = found.and_then(|e| e.blob.clone());
                if stamp.size != entry.size {
                    let read_from = blob.clone().unwrap_or_else(|| dir.join(path));
                    match lfs_pointer_problem(entry, &read_from, options.lfs_pointers) {
                        Some(None) => {
                            totals.lfs_pointers += 1;
                        }
                        Some(Some(problem)) => problems.push(problem),
                        None => problems.push(Problem::new(
                            ProblemKind::SizeMismatch,
                            path,
                            format!(
                                "size is {} bytes; the manifest says {}",
                                stamp.size, entry.size
                            ),
                        )),
                    }
                    continue;
                }
                if let Some(problem) = blob_name_problem(entry, blob.as_deref()) {
                    problems.push(problem);
                }
                requests.push(HashRequest {
                    path: path.to_string(),
                    stamp: *stamp,
                    shard_size: manifest.hashing.shard_size,
                    want: if entry.shards.is_empty() {
                        Want::Whole
                    } else {
                        Want::Shards
                    },
                    source: blob,
                });
                expected.push(entry);
            }
        }
    }
    for entry in &listing.entries {
        if listed.contains_key(entry.path.as_str()) || entry.ignored {
            continue;
        }
        let path = entry.path.as_str();
        let problem = if let Some(reason) = entry.unsafe_reason {
            Problem::new(
                ProblemKind::UnsafePath,
                path,
                format!("a file name that {reason}; it was not opened"),
            )
        } else {
            match &entry.kind {
                EntryKind::Symlink => Problem::new(
                    ProblemKind::Symlink,
                    path,
                    "a symbolic link; links are never followed (replace it with the file, or add it to ignore)",
                ),
                EntryKind::Special(what) => Problem::new(
                    ProblemKind::SpecialFile,
                    path,
                    format!("a {what}; it was not opened"),
                ),
                EntryKind::File(_) => Problem::new(
                    ProblemKind::UnexpectedFile,
                    path,
                    "not listed in the manifest (run `modelseal update` if it belongs, or add it to ignore)",
                ),
            }
        };
        problems.push(problem);
    }

    // The stat cache (check only) answers for files it has seen unchanged.
    let cached: Vec<Option<FileDigests>> = requests
        .iter()
        .map(|r| options.cache.as_deref_mut().and_then(|c| c.lookup(r)))
        .collect();
    let to_hash: Vec<HashRequest> = requests
        .iter()
        .zip(&cached)
        .filter(|(_, c)| c.is_none())
        .map(|(r, _)| r.clone())
        .collect();
    let mut hashed = digest::hash_files(dir, &to_hash, options.jobs, progress).into_iter();
    for ((request, entry), cached) in requests.iter().zip(&expected).zip(cached) {
        let result = match cached {
            Some(digests) => {
                totals.from_cache += 1;
                Ok(digests)
            }
            None => {
                let result = hashed
                    .next()
                    .unwrap_or_else(|| Err(ReadFault::Unreadable("not hashed".into())));
                if let (Some(cache), Ok(digests)) = (options.cache.as_deref_mut(), &result) {
                    cache.record(request, digests);
                }
                result
            }
        };
        totals.checked += 1;
        totals.bytes += request.stamp.size;
        if let Some(problem) = compare_digests(entry, request, result) {
            problems.push(problem);
        }
    }
    problems.sort_by(|a, b| a.path.cmp(&b.path).then(a.kind.cmp(&b.kind)));
    Ok((problems, totals))
}

/// A listed file whose size is wrong may be a Git LFS pointer: `None` when it
/// is not one; `Some(None)` when it is one that matches the signed digest and
/// pointers are accepted; else the problem that names it plainly.
fn lfs_pointer_problem(
    entry: &crate::manifest::FileEntry,
    read_from: &Path,
    accept: bool,
) -> Option<Option<Problem>> {
    let pointer = crate::lfs::read(read_from)?;
    let path = entry.path.as_str();
    if pointer.oid == entry.sha256 && pointer.size == entry.size {
        if accept {
            return Some(None);
        }
        return Some(Some(Problem::new(
            ProblemKind::SizeMismatch,
            path,
            "is a Git LFS pointer, not the content (run `git lfs pull`); the pointer's oid and size \
             match the signed digest, so pass --lfs-pointers to accept a pointer-only checkout",
        )));
    }
    Some(Some(Problem::new(
        ProblemKind::HashMismatch,
        path,
        format!(
            "is a Git LFS pointer to other content: oid sha256:{} ({} bytes), but the manifest says {} ({} bytes)",
            pointer.oid, pointer.size, entry.sha256, entry.size
        ),
    )))
}

/// In a Hub cache, an LFS blob is named by its SHA-256: a name that is not the
/// signed digest means the cache is corrupt or was tampered with.
fn blob_name_problem(entry: &crate::manifest::FileEntry, blob: Option<&Path>) -> Option<Problem> {
    let name = blob?.file_name()?.to_str()?;
    let named: Sha256Digest = name.parse().ok()?;
    (named != entry.sha256).then(|| {
        Problem::new(
            ProblemKind::HashMismatch,
            &entry.path,
            format!(
                "the Hub cache stores it as blob {name}, which is not the signed sha256 {}",
                entry.sha256
            ),
        )
    })
}

fn compare_digests(
    entry: &crate::manifest::FileEntry,
    request: &HashRequest,
    result: Result<FileDigests, ReadFault>,
) -> Option<Problem> {
    let path = entry.path.as_str();
    let digests = match result {
        Ok(d) => d,
        Err(ReadFault::Changed(why)) => {
            return Some(Problem::new(
                ProblemKind::ChangedDuringRead,
                path,
                format!(
                    "changed while it was read ({why}); verify again when nothing writes to the directory"
                ),
            ));
        }
        Err(ReadFault::Unreadable(why)) => {
            return Some(Problem::new(
                ProblemKind::UnreadableFile,
                path,
                format!("cannot be read: {why}"),
            ));
        }
    };
    if request.want == Want::Shards {
        let bad: Vec<String> = entry
            .shards
            .iter()
            .zip(&digests.shards)
            .enumerate()
            .filter(|(_, (want, got))| want != got)
            .map(|(i, _)| i.to_string())
            .collect();
        if bad.is_empty() && digests.shards.len() == entry.shards.len() {
            return None;
        }
        return Some(Problem::new(
            ProblemKind::HashMismatch,
            path,
            format!(
                "content differs from the manifest in shard(s) {} of {} (shard_size {} bytes)",
                bad.join(", "),
                entry.shards.len(),
                request.shard_size
            ),
        ));
    }
    if digests.whole == Some(entry.sha256) {
        return None;
    }
    Some(Problem::new(
        ProblemKind::HashMismatch,
        path,
        format!(
            "sha256 is {}; the manifest says {}",
            digests.whole.map(|d| d.to_hex()).unwrap_or_default(),
            entry.sha256
        ),
    ))
}

/// Level 1: checks each signature entry over the manifest bytes and counts
/// distinct trusted keys against the threshold.
pub fn check_signatures(
    signatures: &SignatureFile,
    sig_path: &str,
    manifest_bytes: &[u8],
    policy: &TrustPolicy,
    now: Timestamp,
) -> (Vec<SignatureOutcome>, Vec<Problem>) {
    let mut outcomes = Vec::new();
    let mut problems = Vec::new();
    let mut counted: BTreeSet<String> = BTreeSet::new();
    let mut not_counted = Vec::new();
    for (index, entry) in signatures.signatures.iter().enumerate() {
        let label = entry.label();
        let status = match entry.check(manifest_bytes) {
            Err(fault) => {
                problems.push(Problem::new(
                    ProblemKind::BadSignature,
                    sig_path,
                    format!(
                        "signature {} by {label}: {fault}; re-sign with `modelseal sign`",
                        index + 1
                    ),
                ));
                not_counted.push(format!("{label} does not verify"));
                SignatureStatus::Invalid
            }
            Ok(_) => match policy.standing(&entry.keyid, now).0 {
                KeyStanding::Trusted => {
                    if !counted.insert(entry.keyid.clone()) {
                        not_counted.push(format!("{label} signed more than once (counted once)"));
                    }
                    SignatureStatus::Valid
                }
                KeyStanding::Untrusted => {
                    not_counted.push(format!("{label} is not in the trust policy"));
                    SignatureStatus::Untrusted
                }
                KeyStanding::Expired(at) => {
                    not_counted.push(format!("{label} expired at {at}"));
                    SignatureStatus::Expired
                }
                KeyStanding::Revoked => {
                    not_counted.push(format!("{label} is revoked"));
                    SignatureStatus::Revoked
                }
            },
        };
        outcomes.push(SignatureOutcome {
            keyid: entry.keyid.clone(),
            signer: entry.signer.clone(),
            status,
        });
    }
    if counted.len() < policy.threshold {
        let mut message = format!(
            "{} valid signature(s) from trusted keys; the policy requires {}",
            counted.len(),
            policy.threshold
        );
        if signatures.signatures.is_empty() {
            message.push_str(&format!(
                "; {sig_path} has no signatures (sign with `modelseal sign`)"
            ));
        } else if !not_counted.is_empty() {
            message.push_str(&format!("; not counted: {}", not_counted.join("; ")));
        }
        let trusted: Vec<String> = policy
            .keys
            .iter()
            .map(|k| format!("{} ({})", k.name, short_keyid(&k.keyid)))
            .collect();
        message.push_str(&format!("; trusted keys: {}", trusted.join(", ")));
        problems.push(Problem::new(
            ProblemKind::ThresholdNotMet,
            SIGNATURE_FILE,
            message,
        ));
    }
    (outcomes, problems)
}
