//! The gate before deployment: a model directory verified in whichever form
//! it is signed (our manifest, an OMS bundle, or both), and, for
//! `verify --copy-to`, exactly the verified bytes published at a
//! destination ([`crate::staging`]).

use crate::hashing::Progress;
use crate::inspect::policy::ContentPolicy;
use crate::oms::OmsVerifyError;
use crate::oms::verify::OmsOptions;
use crate::staging::{CopyError, Publish, Staging};
use crate::verify::{Report, VerifyError, VerifyOptions};
use crate::{BUNDLE_FILE, LISTING_FILE, MANIFEST_FILE};
use std::path::{Path, PathBuf};

/// What to verify, and how: the manifest's options, and the OMS ones.
#[derive(Debug, Clone)]
pub struct GateOptions<'a> {
    /// Level, policy, threads, time, LFS pointers, partition.
    pub verify: VerifyOptions,
    /// Verify against this OMS bundle (else `model.sig`, when there is no manifest).
    pub bundle: Option<&'a Path>,
    /// With an OMS bundle: more paths to ignore.
    pub ignore_paths: &'a [String],
    /// With an OMS bundle: let files it does not sign pass.
    pub ignore_unsigned_files: bool,
    /// Inspect the files for content unsafe to load (`--inspect`, SPEC 18.6):
    /// what the policy fails fails the report, whatever level holds. A
    /// trust policy with `[content] inspect = true` turns it on too.
    pub inspect: bool,
}

impl GateOptions<'_> {
    /// Whether content is inspected: `--inspect`, or the policy says so.
    pub fn inspects(&self) -> bool {
        self.inspect || self.content_policy().inspect
    }

    /// The policy's `[content]`, or the default (every problem fails).
    fn content_policy(&self) -> &ContentPolicy {
        static DEFAULT: ContentPolicy = ContentPolicy {
            inspect: false,
            warn: std::collections::BTreeSet::new(),
            allow: Vec::new(),
        };
        self.verify.policy.as_ref().map_or(&DEFAULT, |p| &p.content)
    }
}

/// Errors that stop the gate before a verdict (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum GateError {
    /// The manifest side.
    #[error(transparent)]
    Verify(#[from] VerifyError),
    /// The OMS side.
    #[error(transparent)]
    Oms(#[from] OmsVerifyError),
    /// The copy.
    #[error(transparent)]
    Copy(#[from] CopyError),
    /// Options that cannot go together.
    #[error("{0}")]
    Usage(String),
}

impl GateError {
    /// Whether the run was cancelled (Ctrl-C), rather than failed.
    pub fn cancelled(&self) -> bool {
        matches!(
            self,
            GateError::Verify(VerifyError::Cancelled) | GateError::Oms(OmsVerifyError::Cancelled)
        )
    }
}

/// The form a directory is signed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignedForm {
    /// `provenance.toml` alone.
    Manifest,
    /// An OMS bundle alone (given, or `model.sig` with no manifest).
    Bundle,
    /// A manifest with a `model.sig` beside it: both are checked.
    Both,
}

/// The form `dir` is verified in; `bundle` is a bundle given explicitly.
pub fn signed_form(dir: &Path, bundle: Option<&Path>) -> SignedForm {
    let has = |name: &str| std::fs::symlink_metadata(dir.join(name)).is_ok();
    if bundle.is_some() || (dir.is_dir() && !has(MANIFEST_FILE) && has(BUNDLE_FILE)) {
        SignedForm::Bundle
    } else if has(BUNDLE_FILE) {
        SignedForm::Both
    } else {
        SignedForm::Manifest
    }
}

/// Verifies `dir` in the form it is signed in; beside a manifest, an OMS
/// bundle is checked too and its report joins the manifest's.
pub fn verify_dir(
    dir: &Path,
    options: &GateOptions<'_>,
    progress: &dyn Progress,
) -> Result<Report, GateError> {
    let form = signed_form(dir, options.bundle);
    if options.verify.partition.is_some() && form != SignedForm::Manifest {
        return Err(GateError::Usage(format!(
            "--partition splits the files of a provenance.toml; {} holds an OMS bundle, which is verified whole: verify without --partition",
            dir.display()
        )));
    }
    if options.inspects() && options.verify.partition.is_some() {
        return Err(GateError::Usage(
            "content inspection (--inspect, or `[content] inspect = true` in the trust policy) looks at the whole model, not one slice: verify without --partition, or inspect with `modelseal inspect`".into(),
        ));
    }
    let mut report = run(dir, options, form, progress, None)?;
    if options.inspects() {
        inspect_into(&mut report, dir, options.content_policy())?;
    }
    Ok(report)
}

/// Adds what content inspection finds under `dir` to the report.
fn inspect_into(report: &mut Report, dir: &Path, policy: &ContentPolicy) -> Result<(), GateError> {
    let found = crate::inspect::files::content_findings(dir, policy).map_err(VerifyError::Walk)?;
    report.content = Some(found);
    Ok(())
}

/// The outcome of [`verify_and_copy`].
#[derive(Debug)]
pub struct Copied {
    /// The verification report.
    pub report: Report,
    /// Where the copy was published: `Some(dest)` exactly when the report holds.
    pub published: Option<PathBuf>,
}

/// Verifies `dir` and, in the same read, copies what it verifies into a
/// staging directory beside `dest`; publishes it at `dest` only when every
/// check holds. On any failure nothing is at `dest` (or, with [`Publish::replace`],
/// the old `dest` is untouched) and the staging directory is removed.
pub fn verify_and_copy(
    dir: &Path,
    options: &GateOptions<'_>,
    dest: &Path,
    how: Publish,
    progress: &dyn Progress,
) -> Result<Copied, GateError> {
    refuse_partial_copies(dir, options)?;
    let staging = Staging::begin(dest, how)?;
    staging.check_source(dir)?;
    let form = signed_form(dir, options.bundle);
    let result = run(dir, options, form, progress, Some(&staging));
    // A failed write stops the readers: its error is the one to report.
    if let Some(error) = staging.take_failure() {
        return Err(error.into());
    }
    let mut report = result?;
    if options.inspects() {
        // The copy holds exactly the bytes hashed: inspect those, before
        // publishing; when the copy is incomplete, the source.
        let inspected = if report.ok() { staging.root() } else { dir };
        inspect_into(&mut report, inspected, options.content_policy())?;
    }
    if !report.ok() {
        return Ok(Copied {
            report,
            published: None,
        });
    }
    let published = staging.publish(report.files.checked)?;
    Ok(Copied {
        report,
        published: Some(published),
    })
}

/// A copy must hold every verified byte: no slice, no LFS pointer stand-ins,
/// and a directory, not a single file.
fn refuse_partial_copies(dir: &Path, options: &GateOptions<'_>) -> Result<(), GateError> {
    let why = if options.verify.partition.is_some() {
        "--copy-to copies the whole model; it cannot be used with --partition"
    } else if options.verify.lfs_pointers {
        "--copy-to copies the verified content; with --lfs-pointers the copy would hold pointers, not the content"
    } else if !dir.is_dir() {
        "--copy-to copies a model directory; give the directory, not one file"
    } else {
        return Ok(());
    };
    Err(GateError::Usage(why.into()))
}

fn run(
    dir: &Path,
    options: &GateOptions<'_>,
    form: SignedForm,
    progress: &dyn Progress,
    copy: Option<&Staging>,
) -> Result<Report, GateError> {
    let verify = &options.verify;
    let oms = OmsOptions {
        bundle: options.bundle,
        // A bundle records no lineage: beside a manifest, it is held to level 1.
        required_level: match form {
            SignedForm::Bundle => verify.required_level,
            _ => verify.required_level.min(1),
        },
        policy: verify.policy.as_ref(),
        jobs: verify.jobs,
        now: verify.now,
        ignore_paths: options.ignore_paths,
        ignore_unsigned_files: options.ignore_unsigned_files,
        copy,
        copy_files: form == SignedForm::Bundle,
    };
    if form == SignedForm::Bundle {
        return Ok(crate::oms::verify::verify(dir, &oms, progress)?);
    }
    let (mut report, manifest, _) = match copy {
        Some(copy) => crate::verify::verify_copying(dir, verify, progress, copy)?,
        None => crate::verify::verify_with_manifest(dir, verify, progress)?,
    };
    if let (Some(copy), Some(pin)) = (copy, &manifest.listing)
        && report.holds()
    {
        let model = crate::model_dir::ModelDir::new(dir);
        copy.copy_pinned(&model.listing_path(), LISTING_FILE, &pin.sha256)?;
    }
    if form == SignedForm::Both {
        report.bundle = Some(Box::new(crate::oms::verify::verify(dir, &oms, progress)?));
    }
    Ok(report)
}
