//! Traceability: the lineage graph behind the weights (level 2, traced) and
//! the chain of upstream signed manifests (level 3, chained).
//!
//! Lineage entries are claims the signer made. Level 2 checks that they are
//! complete and that every reference resolves to something the manifest pins;
//! level 3 checks that every base model and dataset has its own manifest,
//! pinned here by digest and signed by keys the same policy trusts, all the
//! way up the chain.

use crate::digest::Sha256Digest;
use crate::manifest::{self, Kind, Manifest, Role};
use crate::problem::{Problem, ProblemKind};
use crate::signature::SignatureFile;
use crate::source;
use crate::timestamp::Timestamp;
use crate::trust::TrustPolicy;
use crate::verify::{SignatureOutcome, check_signatures};
use crate::walk;
use crate::{MANIFEST_FILE, SIGNATURE_FILE};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// How many upstream links level 3 follows before giving up.
pub const MAX_CHAIN_DEPTH: usize = 64;

/// Level 2: every weights file traces to a complete training run, and every
/// reference resolves. Returns the problems found.
pub fn check_lineage(manifest: &Manifest) -> Vec<Problem> {
    let roles: HashMap<&str, Role> = manifest
        .files
        .iter()
        .map(|f| (f.path.as_str(), f.role))
        .collect();
    let datasets: HashMap<&str, &manifest::Dataset> = manifest
        .datasets
        .iter()
        .map(|d| (d.id.as_str(), d))
        .collect();
    let mut problems = Vec::new();
    let mut dangling = |referenced: &str, message: String| {
        problems.push(Problem::new(
            ProblemKind::DanglingReference,
            referenced,
            message,
        ));
    };
    let role_check = |path: &str, want: Role| -> Option<String> {
        match roles.get(path) {
            None => Some("is not a [[file]] of the manifest".to_string()),
            Some(role) if *role != want => {
                Some(format!("is a [[file]] with role '{role}', not '{want}'"))
            }
            Some(_) => None,
        }
    };

    for t in &manifest.trainings {
        let at = format!("training '{}' (line {})", t.id, t.line);
        for path in &t.outputs {
            if let Some(why) = role_check(path, Role::Weights) {
                dangling(path, format!("{at} lists output '{path}', which {why}"));
            }
        }
        for path in &t.configs {
            if let Some(why) = role_check(path, Role::Config) {
                dangling(path, format!("{at} lists config '{path}', which {why}"));
            }
        }
        for id in &t.datasets {
            if !datasets.contains_key(id.as_str()) {
                dangling(
                    MANIFEST_FILE,
                    format!("{at} names dataset '{id}', which no [[dataset]] defines"),
                );
            }
        }
        if let Some(path) = t.base_model.as_ref().and_then(|b| b.manifest.as_ref())
            && !roles.contains_key(path.as_str())
        {
            dangling(
                path,
                format!(
                    "{at} names base model manifest '{path}', which is not a [[file]] of the manifest"
                ),
            );
        }
    }
    for d in &manifest.datasets {
        let at = format!("dataset '{}' (line {})", d.id, d.line);
        for path in &d.files {
            if let Some(why) = role_check(path, Role::Data) {
                dangling(path, format!("{at} lists file '{path}', which {why}"));
            }
        }
        if let Some(path) = &d.manifest
            && !roles.contains_key(path.as_str())
        {
            dangling(
                path,
                format!("{at} names manifest '{path}', which is not a [[file]] of the manifest"),
            );
        }
    }

    for file in manifest.files.iter().filter(|f| f.role == Role::Weights) {
        let runs: Vec<_> = manifest
            .trainings
            .iter()
            .filter(|t| t.outputs.contains(&file.path))
            .collect();
        if runs.is_empty() {
            problems.push(Problem::new(
                ProblemKind::UntracedWeights,
                &file.path,
                "no [[training]] lists it in outputs (record the run with `modelseal trace training`)",
            ));
            continue;
        }
        let gaps: Vec<String> = runs
            .iter()
            .map(|t| (t, training_gaps(t, &roles, &datasets)))
            .filter(|(_, gaps)| !gaps.is_empty())
            .map(|(t, gaps)| format!("training '{}' {}", t.id, gaps.join(", ")))
            .collect();
        if gaps.len() == runs.len() {
            problems.push(Problem::new(
                ProblemKind::UntracedWeights,
                &file.path,
                format!("its lineage is incomplete: {}", gaps.join("; ")),
            ));
        }
    }
    problems
}

/// What a training run lacks to trace its outputs.
fn training_gaps(
    t: &manifest::Training,
    roles: &HashMap<&str, Role>,
    datasets: &HashMap<&str, &manifest::Dataset>,
) -> Vec<String> {
    let mut gaps = Vec::new();
    if !t
        .configs
        .iter()
        .any(|c| roles.get(c.as_str()) == Some(&Role::Config))
    {
        gaps.push("names no config file that the manifest lists with role 'config'".into());
    }
    let usable = t.datasets.iter().any(|id| {
        datasets
            .get(id.as_str())
            .is_some_and(|d| !d.files.is_empty() || d.sha256.is_some())
    });
    if !usable {
        gaps.push("names no dataset with `files` or `sha256`".into());
    }
    if t.code.is_none() {
        gaps.push("names no code commit".into());
    }
    gaps
}

/// One upstream manifest met while checking the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UpstreamOutcome {
    /// Its path in the model directory.
    pub path: String,
    /// `base_model` or `dataset`.
    pub role: &'static str,
    /// The name it carries (its own manifest's `name` when readable).
    pub name: String,
    /// SHA-256 of its bytes, when it could be read.
    pub sha256: Option<Sha256Digest>,
    /// Its signatures under the policy.
    pub signatures: Vec<SignatureOutcome>,
    /// Whether it, and everything above it, is chained.
    pub chained: bool,
    /// The manifest that referenced it (`provenance.toml` for this model's own).
    pub referenced_by: String,
}

/// What level 3 found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChainReport {
    /// Every problem that breaks level 3.
    pub problems: Vec<Problem>,
    /// Every upstream manifest checked, each after the ones it refers to.
    pub upstreams: Vec<UpstreamOutcome>,
}

/// Everything level 3 needs from the verify run.
pub struct ChainContext<'a> {
    /// The model directory.
    pub dir: &'a Path,
    /// The model's own manifest: its listing pins every upstream file.
    pub root: &'a Manifest,
    /// The trust policy upstream manifests must meet.
    pub policy: &'a TrustPolicy,
    /// The time for key expiry.
    pub now: Timestamp,
}

/// An upstream reference found in some manifest.
struct Reference<'a> {
    role: &'static str,
    label: String,
    manifest: Option<&'a str>,
    /// A base model's expected manifest digest, and its expected name.
    sha256: Option<Sha256Digest>,
    name: Option<&'a str>,
    expect_kind: Kind,
}

fn references(m: &Manifest) -> Vec<Reference<'_>> {
    let mut refs = Vec::new();
    for t in &m.trainings {
        if let Some(b) = &t.base_model {
            refs.push(Reference {
                role: "base_model",
                label: format!("base model '{}' of training '{}'", b.name, t.id),
                manifest: b.manifest.as_deref(),
                sha256: b.sha256,
                name: Some(b.name.as_str()),
                expect_kind: Kind::Model,
            });
        }
    }
    for d in &m.datasets {
        refs.push(Reference {
            role: "dataset",
            label: format!("dataset '{}'", d.id),
            manifest: d.manifest.as_deref(),
            sha256: None,
            name: None,
            expect_kind: Kind::Dataset,
        });
    }
    refs
}

/// Level 3: follows every base model and dataset to its signed manifest,
/// recursively, detecting cycles. Manifest paths found in upstream manifests
/// resolve against this model directory, where they must be listed files.
pub fn check_chain(ctx: &ChainContext<'_>) -> ChainReport {
    let mut report = ChainReport::default();
    let mut done: BTreeMap<String, Checked> = BTreeMap::new();
    let mut stack = vec![MANIFEST_FILE.to_string()];
    chain_from(
        ctx,
        ctx.root,
        MANIFEST_FILE,
        &mut stack,
        &mut done,
        &mut report,
    );
    report
}

fn chain_from(
    ctx: &ChainContext<'_>,
    manifest: &Manifest,
    origin: &str,
    stack: &mut Vec<String>,
    done: &mut BTreeMap<String, Checked>,
    report: &mut ChainReport,
) -> bool {
    let mut all_chained = true;
    for reference in references(manifest) {
        let in_origin = if origin == MANIFEST_FILE {
            String::new()
        } else {
            format!(" (in upstream manifest {origin})")
        };
        let Some(path) = reference.manifest else {
            report.problems.push(Problem::new(
                ProblemKind::UpstreamUnsigned,
                origin,
                format!(
                    "{}{in_origin} names no manifest: add its signed provenance.toml under upstream/ and record it (`manifest = \"upstream/NAME.provenance.toml\"`)",
                    reference.label
                ),
            ));
            all_chained = false;
            continue;
        };
        // Each link is a stack frame: a hostile chain of thousands of
        // manifests must end in a problem, not a stack overflow.
        if stack.len() > MAX_CHAIN_DEPTH {
            report.problems.push(Problem::new(
                ProblemKind::DanglingReference,
                path,
                format!("the lineage chain is deeper than {MAX_CHAIN_DEPTH} upstream manifests; it was not followed further"),
            ));
            all_chained = false;
            continue;
        }
        if stack.iter().any(|p| p == path) {
            let mut cycle = stack.clone();
            cycle.push(path.to_string());
            report.problems.push(Problem::new(
                ProblemKind::DanglingReference,
                path,
                format!("lineage cycle: {}", cycle.join(" -> ")),
            ));
            all_chained = false;
            continue;
        }
        let chained = match done.get(path).cloned() {
            // Met before: its signatures and chain stand, but this reference's
            // own expectations (digest, name, kind) are checked again.
            Some(checked) => {
                let digest_ok = checked
                    .digest
                    .is_some_and(|d| check_expectations(&reference, path, d, origin, report));
                let identity_ok = match &checked.identity {
                    Some((kind, name)) => check_identity(&reference, path, *kind, name, report),
                    None => false,
                };
                digest_ok && identity_ok && checked.chained
            }
            None => {
                let checked = check_upstream(ctx, &reference, path, origin, stack, done, report);
                let chained = checked.chained;
                done.insert(path.to_string(), checked);
                chained
            }
        };
        all_chained &= chained;
    }
    all_chained
}

/// An upstream manifest already followed.
#[derive(Clone)]
struct Checked {
    chained: bool,
    /// Its digest, when it could be read.
    digest: Option<Sha256Digest>,
    /// Its kind and name, when it parsed.
    identity: Option<(Kind, String)>,
}

/// Checks that an upstream manifest is what the reference expects: a model
/// for a base model (with its name), a dataset for a dataset.
fn check_identity(
    reference: &Reference<'_>,
    path: &str,
    kind: Kind,
    name: &str,
    report: &mut ChainReport,
) -> bool {
    let mut ok = true;
    if kind != reference.expect_kind {
        report.problems.push(Problem::new(
            ProblemKind::UpstreamMismatch,
            path,
            format!(
                "{} names a manifest of kind '{kind}', expected '{}'",
                reference.label, reference.expect_kind
            ),
        ));
        ok = false;
    }
    if let Some(expected) = reference.name
        && expected != name
    {
        report.problems.push(Problem::new(
            ProblemKind::UpstreamMismatch,
            path,
            format!(
                "{} names a manifest of '{name}', not '{expected}'",
                reference.label
            ),
        ));
        ok = false;
    }
    ok
}

/// Reads an upstream manifest's bytes, pinned by the model's own listing.
fn read_pinned(ctx: &ChainContext<'_>, path: &str) -> Result<(Vec<u8>, Sha256Digest), String> {
    walk::check_path(path).map_err(|r| format!("its path {r}"))?;
    let entry = ctx.root.file(path).ok_or_else(|| {
        "it is not a [[file]] of this model's manifest, so nothing pins its bytes".to_string()
    })?;
    let bytes = source::read_bounded(&ctx.dir.join(path), manifest::MAX_MANIFEST_BYTES, false)
        .map_err(|e| e.to_string())?;
    // Read again after level 0 hashed it: compare with the pinned digest here too.
    if Sha256Digest::of(&bytes) != entry.sha256 {
        return Err("its bytes are not the ones this model's manifest lists".into());
    }
    Ok((bytes, entry.sha256))
}

/// Checks the base model's recorded digest and name against what is there.
fn check_expectations(
    reference: &Reference<'_>,
    path: &str,
    actual: Sha256Digest,
    origin: &str,
    report: &mut ChainReport,
) -> bool {
    match reference.sha256 {
        Some(expected) if expected != actual => {
            report.problems.push(Problem::new(
                ProblemKind::UpstreamMismatch,
                path,
                format!(
                    "{} (in {origin}) records sha256 {expected}, but {path} has {actual}",
                    reference.label
                ),
            ));
            false
        }
        _ => true,
    }
}

fn check_upstream(
    ctx: &ChainContext<'_>,
    reference: &Reference<'_>,
    path: &str,
    origin: &str,
    stack: &mut Vec<String>,
    done: &mut BTreeMap<String, Checked>,
    report: &mut ChainReport,
) -> Checked {
    let mut outcome = UpstreamOutcome {
        path: path.to_string(),
        role: reference.role,
        name: reference.name.unwrap_or_default().to_string(),
        sha256: None,
        signatures: Vec::new(),
        chained: false,
        referenced_by: origin.to_string(),
    };
    let (bytes, digest) = match read_pinned(ctx, path) {
        Ok(read) => read,
        Err(why) => {
            report.problems.push(Problem::new(
                ProblemKind::DanglingReference,
                path,
                format!("{} names manifest '{path}', but {why}", reference.label),
            ));
            report.upstreams.push(outcome);
            return Checked {
                chained: false,
                digest: None,
                identity: None,
            };
        }
    };
    outcome.sha256 = Some(digest);
    let mut ok = check_expectations(reference, path, digest, origin, report);

    let parsed = match Manifest::parse(Path::new(path), &bytes) {
        Ok(m) => m,
        Err(e) => {
            report.problems.push(Problem::new(
                ProblemKind::UpstreamMismatch,
                path,
                format!(
                    "{} names a manifest that is not valid: {e}",
                    reference.label
                ),
            ));
            report.upstreams.push(outcome);
            return Checked {
                chained: false,
                digest: Some(digest),
                identity: None,
            };
        }
    };
    outcome.name = parsed.name.clone();
    ok &= check_identity(reference, path, parsed.kind, &parsed.name, report);

    let sig_path = signature_path_for(path);
    let signatures = match SignatureFile::load(&ctx.dir.join(&sig_path)) {
        Ok(s) => s,
        Err(e) => {
            report.problems.push(Problem::new(
                ProblemKind::UpstreamUnsigned,
                path,
                format!("its signatures in {sig_path} cannot be read: {e}"),
            ));
            SignatureFile::default()
        }
    };
    let (outcomes, sig_problems) =
        check_signatures(&signatures, &sig_path, &bytes, ctx.policy, ctx.now);
    outcome.signatures = outcomes;
    if !sig_problems.is_empty() {
        let why: Vec<String> = sig_problems.iter().map(|p| p.message.clone()).collect();
        report.problems.push(Problem::new(
            ProblemKind::UpstreamUnsigned,
            path,
            format!(
                "{}: its signatures in {sig_path} do not meet the trust policy: {}",
                reference.label,
                why.join("; ")
            ),
        ));
        ok = false;
    }

    stack.push(path.to_string());
    let above = chain_from(ctx, &parsed, path, stack, done, report);
    stack.pop();
    outcome.chained = ok && above;
    let chained = outcome.chained;
    report.upstreams.push(outcome);
    Checked {
        chained,
        digest: Some(digest),
        identity: Some((parsed.kind, parsed.name)),
    }
}

/// Where an upstream manifest's signatures live: `NAME.toml` -> `NAME.sig`.
pub fn signature_path_for(manifest_path: &str) -> String {
    match manifest_path.strip_suffix(".toml") {
        Some(stem) => format!("{stem}.sig"),
        None if manifest_path == MANIFEST_FILE => SIGNATURE_FILE.to_string(),
        None => format!("{manifest_path}.sig"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_path_replaces_the_toml_suffix() {
        assert_eq!(
            signature_path_for("upstream/base.provenance.toml"),
            "upstream/base.provenance.sig"
        );
        assert_eq!(signature_path_for("upstream/base"), "upstream/base.sig");
    }
}

/// A file named in the lineage, with its pinned digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileRef {
    /// Path in the model directory.
    pub path: String,
    /// Its digest as the manifest lists it (`None` when not listed).
    pub sha256: Option<Sha256Digest>,
}

/// A training run as the report shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrainingView {
    /// Run id.
    pub id: String,
    /// Weights it produced.
    pub outputs: Vec<FileRef>,
    /// Configs it ran with.
    pub configs: Vec<FileRef>,
    /// Dataset ids.
    pub datasets: Vec<String>,
    /// The code commit.
    pub code: Option<manifest::CodeRef>,
    /// The base model.
    pub base_model: Option<manifest::BaseModel>,
}

/// A dataset as the report shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DatasetView {
    /// Dataset id.
    pub id: String,
    /// Human name.
    pub name: Option<String>,
    /// Where it is published.
    pub uri: Option<String>,
    /// Its licence.
    pub license: Option<String>,
    /// Digest as published.
    pub sha256: Option<Sha256Digest>,
    /// Files holding it here.
    pub files: Vec<FileRef>,
    /// Its own manifest here.
    pub manifest: Option<FileRef>,
}

/// The lineage that verification looked at: what the auditor files.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Lineage {
    /// Whether level 2's conditions hold (`None` when not evaluated).
    pub traced: Option<bool>,
    /// Whether level 3's conditions hold (`None` when not evaluated).
    pub chained: Option<bool>,
    /// Training runs.
    pub trainings: Vec<TrainingView>,
    /// Datasets.
    pub datasets: Vec<DatasetView>,
    /// Upstream manifests followed at level 3.
    pub upstreams: Vec<UpstreamOutcome>,
}

impl Lineage {
    /// The lineage recorded in `m`, with each named file's listed digest.
    pub fn of(m: &Manifest) -> Lineage {
        let file = |path: &String| FileRef {
            path: path.clone(),
            sha256: m.file(path).map(|f| f.sha256),
        };
        Lineage {
            traced: None,
            chained: None,
            trainings: m
                .trainings
                .iter()
                .map(|t| TrainingView {
                    id: t.id.clone(),
                    outputs: t.outputs.iter().map(file).collect(),
                    configs: t.configs.iter().map(file).collect(),
                    datasets: t.datasets.clone(),
                    code: t.code.clone(),
                    base_model: t.base_model.clone(),
                })
                .collect(),
            datasets: m
                .datasets
                .iter()
                .map(|d| DatasetView {
                    id: d.id.clone(),
                    name: d.name.clone(),
                    uri: d.uri.clone(),
                    license: d.license.clone(),
                    sha256: d.sha256,
                    files: d.files.iter().map(file).collect(),
                    manifest: d.manifest.as_ref().map(file),
                })
                .collect(),
            upstreams: Vec::new(),
        }
    }
}
