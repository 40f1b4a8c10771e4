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
use crate::model_dir::ModelDir;
use crate::paths;
use crate::problem::{Problem, ProblemKind};
use crate::signature::{MAX_SIGNATURE_FILE_BYTES, SignatureFile};
use crate::source;
use crate::timestamp::Timestamp;
use crate::trust::TrustPolicy;
use crate::trust::{SignatureOutcome, check_signatures};
use crate::{MANIFEST_FILE, SIGNATURE_FILE};
use serde::Serialize;
use std::collections::HashMap;
use std::path::Path;

/// How many upstream links level 3 follows before giving up.
pub const MAX_CHAIN_DEPTH: usize = 64;

/// Level 2: every weights file traces to a complete training run, and every
/// reference resolves. Returns the problems found.
pub fn check_lineage(manifest: &Manifest) -> Vec<Problem> {
    let roles: HashMap<&str, Role> = manifest
        .index_of(manifest.lineage_names())
        .into_iter()
        .map(|(path, f)| (path, f.role))
        .collect();
    let datasets: HashMap<&str, &manifest::Dataset> = manifest
        .datasets
        .iter()
        .map(|d| (d.id.as_str(), d))
        .collect();
    let mut problems = dangling_references(manifest, &roles, &datasets);
    problems.extend(untraced_weights(manifest, &roles, &datasets));
    problems
}

/// Level 2's references: every path a run or dataset names is a listed file
/// of the right role, every dataset id a run names is defined.
fn dangling_references(
    manifest: &Manifest,
    roles: &HashMap<&str, Role>,
    datasets: &HashMap<&str, &manifest::Dataset>,
) -> Vec<Problem> {
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
    problems
}

/// Level 2's weights: each is an output of a complete run, and a model
/// lists at least one.
fn untraced_weights(
    manifest: &Manifest,
    roles: &HashMap<&str, Role>,
    datasets: &HashMap<&str, &manifest::Dataset>,
) -> Vec<Problem> {
    let mut problems = Vec::new();
    // The runs that list each output, by index into `trainings`.
    let mut runs_by_output: HashMap<&str, Vec<usize>> = HashMap::new();
    for (index, t) in manifest.trainings.iter().enumerate() {
        for output in &t.outputs {
            let runs = runs_by_output.entry(output.as_str()).or_default();
            // A run that lists an output twice still counts once.
            if runs.last() != Some(&index) {
                runs.push(index);
            }
        }
    }
    // What each run lacks, worked out once per run however many outputs it has.
    let gaps_of: Vec<Vec<String>> = manifest
        .trainings
        .iter()
        .map(|t| training_gaps(t, roles, datasets))
        .collect();
    let mut weights = 0usize;
    for file in manifest.files.iter().filter(|f| f.role == Role::Weights) {
        weights += 1;
        let runs = runs_by_output
            .get(file.path.as_str())
            .map_or(&[][..], Vec::as_slice);
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
            .filter(|&&i| !gaps_of[i].is_empty())
            .map(|&i| {
                let t = &manifest.trainings[i];
                format!("training '{}' {}", t.id, gaps_of[i].join(", "))
            })
            .collect();
        if gaps.len() == runs.len() {
            problems.push(Problem::new(
                ProblemKind::UntracedWeights,
                &file.path,
                format!("its lineage is incomplete: {}", gaps.join("; ")),
            ));
        }
    }
    // A model with nothing marked as weights has nothing traced: level 2
    // must not hold for it by default.
    if manifest.kind == Kind::Model && weights == 0 {
        problems.push(Problem::new(
            ProblemKind::UntracedWeights,
            MANIFEST_FILE,
            "the manifest lists no file with role 'weights', so no lineage is traced (set role = \"weights\" on the weights files)",
        ));
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
    if t.datasets.is_empty() {
        gaps.push("names no dataset".into());
    }
    // Every dataset a run names must be pinned: one pinned dataset among
    // twenty does not trace the other nineteen.
    let unpinned: Vec<&str> = t
        .datasets
        .iter()
        .filter(|id| {
            datasets
                .get(id.as_str())
                .is_some_and(|d| d.files.is_empty() && d.sha256.is_none())
        })
        .map(String::as_str)
        .collect();
    if !unpinned.is_empty() {
        gaps.push(format!(
            "names {} dataset(s) with neither `files` nor `sha256`: {}",
            unpinned.len(),
            abbreviated(&unpinned, 10)
        ));
    }
    if t.code.is_none() {
        gaps.push("names no code commit".into());
    }
    gaps
}

/// Up to `most` items joined with ", ", then how many more there are.
fn abbreviated(items: &[&str], most: usize) -> String {
    let mut text = items
        .iter()
        .take(most)
        .map(|i| format!("'{i}'"))
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > most {
        text.push_str(&format!(" and {} more", items.len() - most));
    }
    text
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
    /// The model directory: upstream files are read through it.
    pub model: &'a ModelDir,
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

/// The most bytes of upstream manifests and their signature files that one
/// level 3 check reads, in all: a chain that names one large manifest through
/// many paths cannot multiply what is read and parsed.
pub const MAX_UPSTREAM_BYTES: u64 = 4 * manifest::MAX_MANIFEST_BYTES;

/// Level 3: follows every base model and dataset to its signed manifest,
/// recursively, detecting cycles. Manifest paths found in upstream manifests
/// resolve against this model directory, where they must be listed files.
/// Each distinct manifest (by digest) is read and parsed once.
pub fn check_chain(ctx: &ChainContext<'_>) -> ChainReport {
    let mut walk = ChainWalk {
        ctx,
        listed: std::cell::OnceCell::new(),
        done: HashMap::new(),
        by_digest: HashMap::new(),
        stack: vec![MANIFEST_FILE.to_string()],
        budget: MAX_UPSTREAM_BYTES,
        over_budget: false,
        report: ChainReport::default(),
    };
    walk.chain_from(ctx.root, MANIFEST_FILE);
    walk.report
}

/// The state of one level 3 walk.
struct ChainWalk<'a> {
    ctx: &'a ChainContext<'a>,
    /// The root manifest's files: every upstream file must be one. Indexed
    /// when the first upstream file is looked up, so a model with no
    /// upstream manifest never indexes its files.
    listed: std::cell::OnceCell<HashMap<&'a str, &'a manifest::FileEntry>>,
    /// Upstream paths already followed.
    done: HashMap<String, Checked>,
    /// Upstream manifests already parsed, by digest; `None` while its own
    /// chain is being followed (meeting it then is a cycle).
    by_digest: HashMap<Sha256Digest, Option<Parsed>>,
    /// The paths being followed, root first.
    stack: Vec<String>,
    /// Bytes left to read under [`MAX_UPSTREAM_BYTES`].
    budget: u64,
    /// Whether the budget ran out (reported once).
    over_budget: bool,
    report: ChainReport,
}

/// One distinct upstream manifest, parsed.
#[derive(Clone)]
struct Parsed {
    bytes: std::sync::Arc<Vec<u8>>,
    /// Its kind and name, or why it does not parse.
    identity: Result<(Kind, String), String>,
    /// Whether everything it refers to is chained.
    above: bool,
}

impl<'a> ChainWalk<'a> {
    fn chain_from(&mut self, manifest: &Manifest, origin: &str) -> bool {
        let mut all_chained = true;
        let mut unsigned = Vec::new();
        for reference in references(manifest) {
            let Some(path) = reference.manifest else {
                unsigned.push(reference.label);
                all_chained = false;
                continue;
            };
            all_chained &= self.follow(&reference, path, origin);
        }
        if !unsigned.is_empty() {
            self.report_unsigned(origin, &unsigned);
        }
        all_chained
    }

    /// References without a manifest: one problem each in this model's own
    /// manifest; one for all of them in an upstream manifest, so that a
    /// hostile upstream cannot multiply the problems kept.
    fn report_unsigned(&mut self, origin: &str, labels: &[String]) {
        let fix = "add its signed provenance.toml under upstream/ and record it (`manifest = \"upstream/NAME.provenance.toml\"`)";
        if origin == MANIFEST_FILE {
            for label in labels {
                self.report.problems.push(Problem::new(
                    ProblemKind::UpstreamUnsigned,
                    origin,
                    format!("{label} names no manifest: {fix}"),
                ));
            }
        } else {
            let names: Vec<&str> = labels.iter().map(String::as_str).collect();
            self.report.problems.push(Problem::new(
                ProblemKind::UpstreamUnsigned,
                origin,
                format!(
                    "in upstream manifest {origin}, {} reference(s) name no manifest: {}",
                    labels.len(),
                    abbreviated(&names, 10)
                ),
            ));
        }
    }

    fn follow(&mut self, reference: &Reference<'_>, path: &str, origin: &str) -> bool {
        // Each link is a stack frame: a hostile chain of thousands of
        // manifests must end in a problem, not a stack overflow.
        if self.stack.len() > MAX_CHAIN_DEPTH {
            self.problem(
                ProblemKind::DanglingReference,
                path,
                format!("the lineage chain is deeper than {MAX_CHAIN_DEPTH} upstream manifests; it was not followed further"),
            );
            return false;
        }
        if self.stack.iter().any(|p| p == path) {
            let mut cycle = self.stack.clone();
            cycle.push(path.to_string());
            self.problem(
                ProblemKind::DanglingReference,
                path,
                format!("lineage cycle: {}", cycle.join(" -> ")),
            );
            return false;
        }
        match self.done.get(path).cloned() {
            // Met before: its signatures and chain stand, but this reference's
            // own expectations (digest, name, kind) are checked again, and a
            // failing one is shown as its own upstream entry.
            Some(checked) => {
                let mut ok = checked.chained;
                ok &= checked.digest.is_some_and(|d| {
                    check_expectations(reference, path, d, origin, &mut self.report)
                });
                ok &= match &checked.identity {
                    Some((kind, name)) => {
                        check_identity(reference, path, *kind, name, &mut self.report)
                    }
                    None => false,
                };
                if !ok || origin != checked.referenced_by {
                    self.report.upstreams.push(UpstreamOutcome {
                        path: path.to_string(),
                        role: reference.role,
                        name: checked.identity.map(|(_, n)| n).unwrap_or_default(),
                        sha256: checked.digest,
                        signatures: checked.signatures,
                        chained: ok,
                        referenced_by: origin.to_string(),
                    });
                }
                ok
            }
            None => {
                let checked = self.check_upstream(reference, path, origin);
                let chained = checked.chained;
                self.done.insert(path.to_string(), checked);
                chained
            }
        }
    }

    fn problem(&mut self, kind: ProblemKind, path: &str, message: String) {
        self.report.problems.push(Problem::new(kind, path, message));
    }

    /// Takes `size` bytes from the read budget, or reports (once) that the
    /// chain is too large to follow.
    fn spend(&mut self, size: u64, path: &str) -> bool {
        if size <= self.budget {
            self.budget -= size;
            return true;
        }
        if !self.over_budget {
            self.over_budget = true;
            self.problem(
                ProblemKind::DanglingReference,
                path,
                format!(
                    "the upstream manifests and signatures of this lineage exceed {} MiB in all; {path} and what follows were not read",
                    MAX_UPSTREAM_BYTES >> 20
                ),
            );
        }
        false
    }

    /// The listed entry of an upstream file: the root listing pins its bytes.
    fn pinned(&self, path: &str) -> Result<&'a manifest::FileEntry, String> {
        paths::check_path(path).map_err(|r| format!("its path {r}"))?;
        let listed = self.listed.get_or_init(|| self.ctx.root.file_index());
        listed.get(path).copied().ok_or_else(|| {
            "it is not a [[file]] of this model's manifest, so nothing pins its bytes".to_string()
        })
    }

    /// Reads a pinned upstream file (within the budget), checking its bytes
    /// against the digest the root manifest lists: read again after level 0
    /// hashed it, so compared here too.
    fn read_pinned(&mut self, path: &str, limit: u64) -> Result<Vec<u8>, String> {
        let entry = self.pinned(path)?;
        if entry.size > limit {
            return Err(format!(
                "it is {} bytes, more than the {limit} accepted",
                entry.size
            ));
        }
        if !self.spend(entry.size, path) {
            return Err("the lineage's read budget is spent".into());
        }
        let full = self
            .ctx
            .model
            .path_to_read(path)
            .map_err(|r| format!("its path {r}"))?;
        let bytes = source::read_bounded(&full, limit, false).map_err(|e| e.to_string())?;
        if Sha256Digest::of(&bytes) != entry.sha256 {
            return Err("its bytes are not the ones this model's manifest lists".into());
        }
        Ok(bytes)
    }

    /// Parses an upstream manifest and follows its own chain, once per digest.
    fn parse_once(&mut self, path: &str, digest: Sha256Digest) -> Result<Parsed, String> {
        match self.by_digest.get(&digest) {
            Some(Some(parsed)) => return Ok(parsed.clone()),
            Some(None) => {
                return Err(format!(
                    "its content is a manifest already being followed (lineage cycle through {})",
                    self.stack.join(" -> ")
                ));
            }
            None => {}
        }
        let bytes = std::sync::Arc::new(self.read_pinned(path, manifest::MAX_MANIFEST_BYTES)?);
        self.by_digest.insert(digest, None);
        let (identity, above) = match Manifest::parse(Path::new(path), &bytes) {
            Ok(parsed) => {
                self.stack.push(path.to_string());
                let above = self.chain_from(&parsed, path);
                self.stack.pop();
                (Ok((parsed.kind, parsed.name)), above)
            }
            Err(e) => (Err(e.to_string()), false),
        };
        let parsed = Parsed {
            bytes,
            identity,
            above,
        };
        self.by_digest.insert(digest, Some(parsed.clone()));
        Ok(parsed)
    }

    fn check_upstream(&mut self, reference: &Reference<'_>, path: &str, origin: &str) -> Checked {
        let mut outcome = UpstreamOutcome {
            path: path.to_string(),
            role: reference.role,
            name: reference.name.unwrap_or_default().to_string(),
            sha256: None,
            signatures: Vec::new(),
            chained: false,
            referenced_by: origin.to_string(),
        };
        let parsed = self
            .pinned(path)
            .map(|e| e.sha256)
            .and_then(|digest| self.parse_once(path, digest).map(|p| (digest, p)));
        let (digest, parsed) = match parsed {
            Ok(found) => found,
            Err(why) => {
                self.problem(
                    ProblemKind::DanglingReference,
                    path,
                    format!("{} names manifest '{path}', but {why}", reference.label),
                );
                self.report.upstreams.push(outcome.clone());
                return Checked {
                    chained: false,
                    digest: None,
                    identity: None,
                    signatures: Vec::new(),
                    referenced_by: origin.to_string(),
                };
            }
        };
        outcome.sha256 = Some(digest);
        let mut ok = check_expectations(reference, path, digest, origin, &mut self.report);
        let identity = match &parsed.identity {
            Ok((kind, name)) => {
                outcome.name = name.clone();
                ok &= check_identity(reference, path, *kind, name, &mut self.report);
                Some((*kind, name.clone()))
            }
            Err(e) => {
                self.problem(
                    ProblemKind::UpstreamMismatch,
                    path,
                    format!(
                        "{} names a manifest that is not valid: {e}",
                        reference.label
                    ),
                );
                ok = false;
                None
            }
        };
        if identity.is_some() {
            let (signatures, signed) = self.upstream_signatures(reference, path, &parsed.bytes);
            outcome.signatures = signatures;
            ok &= signed;
        }
        outcome.chained = ok && parsed.above;
        self.report.upstreams.push(outcome.clone());
        Checked {
            chained: outcome.chained,
            digest: Some(digest),
            identity,
            signatures: outcome.signatures,
            referenced_by: origin.to_string(),
        }
    }

    /// The signatures beside an upstream manifest, under the same policy.
    fn upstream_signatures(
        &mut self,
        reference: &Reference<'_>,
        path: &str,
        bytes: &[u8],
    ) -> (Vec<SignatureOutcome>, bool) {
        let sig_path = signature_path_for(path);
        let signatures = match self.read_signatures(&sig_path) {
            Ok(s) => s,
            Err(e) => {
                self.problem(
                    ProblemKind::UpstreamUnsigned,
                    path,
                    format!(
                        "{}: its signatures in {sig_path} cannot be read: {e}",
                        reference.label
                    ),
                );
                return (Vec::new(), false);
            }
        };
        let checked =
            check_signatures(&signatures, &sig_path, bytes, self.ctx.policy, self.ctx.now);
        if checked.problems.is_empty() {
            return (checked.outcomes, true);
        }
        let why: Vec<String> = checked.problems.iter().map(|p| p.message.clone()).collect();
        self.problem(
            ProblemKind::UpstreamUnsigned,
            path,
            format!(
                "{}: its signatures in {sig_path} do not meet the trust policy: {}",
                reference.label,
                why.join("; ")
            ),
        );
        (checked.outcomes, false)
    }

    /// Reads an upstream `.sig` within the budget. It need not be listed (a
    /// signature file is not part of what it signs), so its size is checked
    /// on disk.
    fn read_signatures(&mut self, sig_path: &str) -> Result<SignatureFile, String> {
        let full = self
            .ctx
            .model
            .path_to_read(sig_path)
            .map_err(|r| format!("its path {r}"))?;
        let size = std::fs::symlink_metadata(&full)
            .map(|m| m.len())
            .map_err(|e| e.to_string())?;
        if !self.spend(size.min(MAX_SIGNATURE_FILE_BYTES), sig_path) {
            return Err("the lineage's read budget is spent".into());
        }
        SignatureFile::load(&full).map_err(|e| e.to_string())
    }
}

/// An upstream manifest already followed.
#[derive(Clone)]
struct Checked {
    chained: bool,
    /// Its digest, when it could be read.
    digest: Option<Sha256Digest>,
    /// Its kind and name, when it parsed.
    identity: Option<(Kind, String)>,
    /// Its signatures under the policy.
    signatures: Vec<SignatureOutcome>,
    /// The manifest whose reference first reached it.
    referenced_by: String,
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

/// Checks the base model's recorded digest against what is there.
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
    /// Every weights file, and whether level 2 traced it: what was and was
    /// not traced.
    pub weights: Vec<WeightsView>,
}

/// A weights file as level 2 judged it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WeightsView {
    /// Path in the model directory.
    pub path: String,
    /// Its listed digest.
    pub sha256: Sha256Digest,
    /// Whether a complete training run produced it (`None` when level 2
    /// was not evaluated).
    pub traced: Option<bool>,
}

impl Lineage {
    /// Records level 2's verdict on each weights file from its problems.
    pub fn mark_traced(&mut self, level_2_problems: &[Problem]) {
        let untraced: std::collections::HashSet<&str> = level_2_problems
            .iter()
            .filter(|p| p.kind == ProblemKind::UntracedWeights)
            .map(|p| p.path.as_str())
            .collect();
        for w in &mut self.weights {
            w.traced = Some(!untraced.contains(w.path.as_str()));
        }
    }

    /// The lineage recorded in `m`, with each named file's listed digest.
    pub fn of(m: &Manifest) -> Lineage {
        let index = m.index_of(m.lineage_names());
        let file = |path: &String| FileRef {
            path: path.clone(),
            sha256: index.get(path.as_str()).map(|f| f.sha256),
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
            weights: m
                .files
                .iter()
                .filter(|f| f.role == Role::Weights)
                .map(|f| WeightsView {
                    path: f.path.clone(),
                    sha256: f.sha256,
                    traced: None,
                })
                .collect(),
        }
    }
}
