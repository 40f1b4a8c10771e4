//! Verification: the bytes, the signatures and (from level 2) the lineage,
//! gathered into one [`Report`] that lists every problem found.

use crate::digest::Sha256Digest;
use crate::hashing::Progress;
use crate::intact::FileTotals;
use crate::manifest::{Kind, Manifest};
use crate::model_dir::ModelDir;
use crate::partition::Partition;
use crate::problem::{Problem, ProblemKind};
use crate::signature::SignatureFile;
use crate::source::SourceError;
use crate::staging::{CopyError, Staging};
use crate::stream::{ManifestCheck, StreamError, check_manifest};
use crate::timestamp::Timestamp;
use crate::trace::{self, ChainContext, Lineage};
use crate::trust::{SignatureCheck, SignatureOutcome, TrustPolicy, check_signatures};
use crate::walk::WalkError;
use crate::{MANIFEST_FILE, SIGNATURE_FILE};
use serde::Serialize;
use std::collections::HashSet;
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
    /// Check only this slice of the files (`--partition I/N`).
    pub partition: Option<Partition>,
}

impl VerifyOptions {
    /// What a slice must agree on with the other slices of one verification:
    /// the level and the policy (keys, thresholds, anchors, pins), hashed.
    pub fn policy_digest(&self) -> Sha256Digest {
        let text = format!(
            "level={} lfs_pointers={} policy={:?}",
            self.required_level, self.lfs_pointers, self.policy
        );
        Sha256Digest::of(text.as_bytes())
    }
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
    /// The large form's listing is malformed.
    #[error(transparent)]
    Listing(SourceError),
    /// A level above 0 was asked for without keys to check signatures against.
    #[error(
        "level {0} needs a trust policy: pass --key PUBLIC.pub or --trust trust.toml (or --level 0 to check only the bytes)"
    )]
    NoPolicy(u8),
    /// The directory holds no `provenance.toml`.
    #[error(
        "{} holds no {MANIFEST_FILE}{}",
        dir.display(),
        match above {
            Some(above) => format!("; the nearest one above is in {} (verify that directory)", above.display()),
            None => format!("; make one with `modelseal init {}`", dir.display()),
        }
    )]
    NoManifest {
        /// The directory given.
        dir: std::path::PathBuf,
        /// The nearest directory above it that holds a manifest.
        above: Option<std::path::PathBuf>,
    },
    /// The level is not 0 to 3.
    #[error("level {0} does not exist; levels are 0 (intact) to 3 (chained)")]
    BadLevel(u8),
    /// The copy for `--copy-to` could not be written.
    #[error(transparent)]
    Copy(#[from] CopyError),
    /// The run was cancelled (Ctrl-C) before it finished: no verdict.
    #[error("cancelled before verification finished: no verdict was reached")]
    Cancelled,
}

/// What was verified: our manifest, or an OMS bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignedFormat {
    /// `provenance.toml` and `provenance.sig`.
    Manifest,
    /// An OpenSSF Model Signing v1.0 bundle.
    Oms {
        /// The OMS method: `key`, `certificate` or `sigstore`.
        method: &'static str,
        /// The serialization: `files` or `shards`.
        serialization: &'static str,
        /// The bundle, relative to the model when inside it.
        bundle: String,
        /// The subject's digest over all resources.
        root_digest: crate::digest::Sha256Digest,
    },
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

/// Everything verification found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// The model.
    pub model: ModelSummary,
    /// What was verified.
    pub format: SignedFormat,
    /// The level that had to hold.
    pub required: u8,
    /// The highest level that holds, or `None` when not even level 0 does
    /// (or when no content was read because the signatures did not hold).
    pub reached: Option<u8>,
    /// Files read and bytes hashed.
    pub files: FileTotals,
    /// One outcome per signature entry (empty at level 0).
    pub signatures: Vec<SignatureOutcome>,
    /// Every problem found, files first, in path order.
    pub problems: Vec<Problem>,
    /// The lineage recorded, and what levels 2 and 3 found of it.
    pub lineage: Lineage,
    /// The OMS bundle beside the manifest (`model.sig`), verified too.
    pub bundle: Option<Box<Report>>,
    /// For one slice of a partitioned verification: which, and what it checked.
    pub slice: Option<Slice>,
    /// With `verify --inspect`: every content problem inspection found,
    /// judged by the policy's `[content]` (SPEC 18.6, 18.7); `None` when it
    /// did not run.
    pub content: Option<Vec<crate::inspect::files::ContentFinding>>,
}

/// One slice of a partitioned verification, as its report records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slice {
    /// Which slice of how many.
    pub partition: Partition,
    /// The SHA-256 of the `provenance.toml` it checked.
    pub manifest_sha256: Sha256Digest,
    /// [`VerifyOptions::policy_digest`] of the run.
    pub policy_sha256: Sha256Digest,
}

impl From<StreamError> for VerifyError {
    fn from(err: StreamError) -> Self {
        match err {
            StreamError::Walk(e) => VerifyError::Walk(e),
            StreamError::Listing(e) => VerifyError::Listing(e),
        }
    }
}

impl Report {
    /// Whether the required level holds with no problem, for the bundle
    /// beside the manifest as well.
    pub fn ok(&self) -> bool {
        self.holds() && self.bundle.as_ref().is_none_or(|b| b.ok()) && self.content_failures() == 0
    }

    /// How many content problems the policy fails (warnings and allowed
    /// files fail nothing).
    pub fn content_failures(&self) -> usize {
        self.content.as_ref().map_or(0, |c| {
            c.iter()
                .filter(|f| f.action == crate::inspect::policy::Action::Fail)
                .count()
        })
    }

    /// Whether this report's own required level holds with no problem.
    pub fn holds(&self) -> bool {
        self.problems.is_empty() && self.reached.is_some_and(|r| r >= self.required)
    }

    /// Every problem, the bundle's after the manifest's.
    pub fn all_problems(&self) -> impl Iterator<Item = &Problem> {
        self.problems
            .iter()
            .chain(self.bundle.iter().flat_map(|b| b.problems.iter()))
    }
}

/// Verifies the model directory `dir` against its manifest and signatures.
///
/// The signatures are checked first, since they are cheap: when they do not
/// meet the policy, the listed sizes are an attacker's, so only what
/// metadata shows is checked and no content is read (`files.unread`).
pub fn verify(
    dir: &Path,
    options: &VerifyOptions,
    progress: &dyn Progress,
) -> Result<Report, VerifyError> {
    verify_manifest(dir, options, progress, None).map(|(report, ..)| report)
}

/// [`verify`], also handing back the manifest it read and the SHA-256 of
/// its exact bytes: what an export of the verified release is made from.
pub fn verify_with_manifest(
    dir: &Path,
    options: &VerifyOptions,
    progress: &dyn Progress,
) -> Result<(Report, Manifest, Sha256Digest), VerifyError> {
    verify_manifest(dir, options, progress, None)
}

/// [`verify_with_manifest`], also writing into `copy` every byte it
/// verifies: the manifest and signatures as read, and each listed file as
/// hashed. The large form's listing is the caller's to copy
/// ([`Staging::copy_pinned`]), since the check streams it.
pub fn verify_copying(
    dir: &Path,
    options: &VerifyOptions,
    progress: &dyn Progress,
    copy: &Staging,
) -> Result<(Report, Manifest, Sha256Digest), VerifyError> {
    verify_manifest(dir, options, progress, Some(copy))
}

/// [`verify`], also handing back the manifest it read and its digest.
fn verify_manifest(
    dir: &Path,
    options: &VerifyOptions,
    progress: &dyn Progress,
    copy: Option<&Staging>,
) -> Result<(Report, Manifest, Sha256Digest), VerifyError> {
    if options.required_level > MAX_LEVEL {
        return Err(VerifyError::BadLevel(options.required_level));
    }
    if options.required_level >= 1 && options.policy.is_none() {
        return Err(VerifyError::NoPolicy(options.required_level));
    }
    let model = ModelDir::new(dir);
    let manifest_bytes = read_manifest(&model)?;
    if let Some(copy) = copy {
        copy.write_file(MANIFEST_FILE, &manifest_bytes)?;
    }
    // The signatures need only the bytes: they are checked while the
    // manifest parses (a large one takes a tenth of a second to parse, and
    // Ed25519 hashes all of it with SHA-512).
    let (parsed, signed, manifest_sha256) = std::thread::scope(|scope| {
        let signed = scope.spawn(|| check_signed(&model, options, &manifest_bytes, copy));
        let digest = scope.spawn(|| Sha256Digest::of(&manifest_bytes));
        let parsed = Manifest::parse(&model.manifest_path(), &manifest_bytes);
        (parsed, joined(signed.join()), joined(digest.join()))
    });
    let mut manifest = parsed.map_err(VerifyError::Manifest)?;
    let mut signed = signed?;
    if let (Some(check), Some(policy)) = (signed.as_mut(), &options.policy) {
        crate::trust::apply_pins(check, &manifest, policy);
    }
    let read_contents = signed.as_ref().is_none_or(|s| s.threshold_met);
    let how = ManifestCheck {
        jobs: options.jobs,
        lfs_pointers: options.lfs_pointers,
        read_contents,
        partition: options.partition,
        copy,
    };
    let (mut problems, files) = check_manifest(&model, &mut manifest, how, progress)?;
    if progress.cancelled() {
        return Err(VerifyError::Cancelled);
    }
    // Level 0 is not reached on metadata alone: a verdict never holds vacuously.
    let mut reached = (problems.is_empty() && files.unread == 0).then_some(0);
    let mut lineage = Lineage::of(&manifest);
    let mut outcomes = Vec::new();
    if let (Some(signed), Some(policy)) = (signed, &options.policy) {
        if signed.problems.is_empty() && reached == Some(0) {
            reached = Some(1);
        }
        problems.extend(signed.problems);
        outcomes = signed.outcomes;
        // Levels 2 and 3 are evaluated once the signatures hold, so that
        // `reached` tells the truth; their problems are listed only when
        // required. Unsigned lineage is never followed: it is attacker text.
        // A partitioned run checks lineage in its first slice only.
        let lineage_here = options.partition.is_none_or(|p| p.index == 0);
        if signed.threshold_met && lineage_here {
            let lineage_problems = evaluate_lineage(
                &model,
                &manifest,
                policy,
                options,
                &mut lineage,
                &mut reached,
            );
            problems.extend(lineage_problems);
        }
    }
    let report = Report {
        model: ModelSummary {
            name: manifest.name.clone(),
            version: manifest.version.clone(),
            kind: manifest.kind,
        },
        format: SignedFormat::Manifest,
        required: options.required_level,
        reached,
        files,
        signatures: outcomes,
        problems,
        lineage,
        bundle: None,
        content: None,
        slice: options.partition.map(|partition| Slice {
            partition,
            manifest_sha256,
            policy_sha256: options.policy_digest(),
        }),
    };
    Ok((report, manifest, manifest_sha256))
}

/// The signature check, when the level asks for one. With `--copy-to`,
/// `provenance.sig` is copied whatever the level, from the bytes parsed.
fn check_signed(
    model: &ModelDir,
    options: &VerifyOptions,
    manifest_bytes: &[u8],
    copy: Option<&Staging>,
) -> Result<Option<SignatureCheck>, VerifyError> {
    let wanted = match (&options.policy, options.required_level) {
        (Some(policy), 1..) => Some(policy),
        _ => None,
    };
    let signature_bytes = match (wanted, copy) {
        (None, None) => None,
        _ => load_signatures(model)?,
    };
    if let (Some(copy), Some(bytes)) = (copy, &signature_bytes) {
        copy.write_file(SIGNATURE_FILE, bytes)?;
    }
    let Some(policy) = wanted else {
        return Ok(None);
    };
    let signatures = match &signature_bytes {
        Some(bytes) => SignatureFile::parse(&model.signatures_path(), bytes)
            .map_err(VerifyError::Signatures)?,
        None => SignatureFile::default(),
    };
    Ok(Some(check_signatures(
        &signatures,
        SIGNATURE_FILE,
        manifest_bytes,
        policy,
        options.now,
    )))
}

/// The bytes of `provenance.sig`, read once (parsed, and copied with
/// `--copy-to`, from the same bytes); `None` when there is none.
fn load_signatures(model: &ModelDir) -> Result<Option<Vec<u8>>, VerifyError> {
    let path = model.signatures_path();
    if let Err(e) = std::fs::symlink_metadata(&path)
        && e.kind() == std::io::ErrorKind::NotFound
    {
        return Ok(None);
    }
    crate::source::read_bounded(&path, crate::signature::MAX_SIGNATURE_FILE_BYTES, false)
        .map(Some)
        .map_err(VerifyError::Signatures)
}

/// Reads the manifest, or says where one is.
/// A scoped thread's result; its panic, carried on.
fn joined<T>(result: std::thread::Result<T>) -> T {
    result.unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

fn read_manifest(model: &ModelDir) -> Result<Vec<u8>, VerifyError> {
    let dir = model.root();
    if !dir.is_dir() {
        return Err(WalkError::NotADirectory(dir.to_path_buf()).into());
    }
    if std::fs::symlink_metadata(dir.join(MANIFEST_FILE)).is_err() {
        return Err(VerifyError::NoManifest {
            dir: dir.to_path_buf(),
            above: manifest_above(dir),
        });
    }
    crate::source::read_bounded(
        &model.manifest_path(),
        crate::manifest::MAX_MANIFEST_BYTES,
        false,
    )
    .map_err(VerifyError::Manifest)
}

/// The nearest directory above `dir` that holds a manifest, if any.
fn manifest_above(dir: &Path) -> Option<std::path::PathBuf> {
    let absolute = std::path::absolute(dir).ok()?;
    absolute
        .ancestors()
        .skip(1)
        .find(|d| d.join(MANIFEST_FILE).is_file())
        .map(Path::to_path_buf)
}

/// Levels 2 and 3: records what they found in `lineage`, raises `reached`
/// from 1 as far as they hold, and returns the problems of the levels
/// required.
fn evaluate_lineage(
    model: &ModelDir,
    manifest: &Manifest,
    policy: &TrustPolicy,
    options: &VerifyOptions,
    lineage: &mut Lineage,
    reached: &mut Option<u8>,
) -> Vec<Problem> {
    let trace_problems = trace::check_lineage(manifest);
    let chain = trace::check_chain(&ChainContext {
        model,
        root: manifest,
        policy,
        now: options.now,
    });
    let traced = trace_problems.is_empty();
    let chained = traced && chain.problems.is_empty();
    lineage.traced = Some(traced);
    lineage.mark_traced(&trace_problems);
    lineage.chained = Some(chained);
    lineage.upstreams = chain.upstreams;
    if *reached == Some(1) && traced {
        *reached = Some(if chained { 3 } else { 2 });
    }
    // A reference level 2 already calls dangling is not reported twice;
    // every other problem of the chain is, even where several share a path.
    let at_level_2: HashSet<(ProblemKind, &str)> = trace_problems
        .iter()
        .map(|p| (p.kind, p.path.as_str()))
        .collect();
    let chain_problems: Vec<Problem> = chain
        .problems
        .into_iter()
        .filter(|p| !at_level_2.contains(&(p.kind, p.path.as_str())))
        .collect();
    let mut problems = Vec::new();
    if options.required_level >= 2 {
        problems.extend(trace_problems);
    }
    if options.required_level >= 3 {
        problems.extend(chain_problems);
    }
    problems
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
        partition: None,
    };
    let (mut report, manifest, _) = verify_manifest(dir, &options, progress, None)?;
    if !with_policy {
        let trace_problems = trace::check_lineage(&manifest);
        report.lineage.traced = Some(trace_problems.is_empty());
        report.lineage.mark_traced(&trace_problems);
        report.problems.extend(trace_problems);
    }
    Ok(report)
}
