//! Rendering a verification [`Report`] for people (text) and machines (JSON).

use crate::escape;
use crate::problem::{Problem, ProblemKind};
use crate::trace::Lineage;
use crate::trust::{SignatureOutcome, SignatureStatus};
use crate::verify::{LEVEL_NAMES, ModelSummary, Report, SignedFormat};
use serde::Serialize;
use std::fmt::Write as _;

#[derive(Serialize)]
struct JsonReport<'a> {
    ok: bool,
    /// `modelseal` (a provenance.toml) or `oms` (an OpenSSF Model Signing bundle).
    format: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    oms: Option<JsonOms<'a>>,
    model: &'a ModelSummary,
    level: JsonLevel,
    files: JsonFiles,
    signatures: &'a [SignatureOutcome],
    problems: &'a [Problem],
    lineage: &'a Lineage,
    /// The OMS bundle beside the manifest, as a report of its own.
    #[serde(skip_serializing_if = "Option::is_none")]
    bundle: Option<Box<JsonReport<'a>>>,
    /// One slice of a partitioned verification (`--partition`).
    #[serde(skip_serializing_if = "Option::is_none")]
    partition: Option<JsonPartition>,
    /// Every content problem `--inspect` found, with what the policy made
    /// of it; absent without inspection.
    #[serde(skip_serializing_if = "Option::is_none")]
    content: Option<&'a [crate::inspect::files::ContentFinding]>,
}

#[derive(Serialize)]
struct JsonPartition {
    index: u32,
    count: u32,
    manifest_sha256: String,
    policy_sha256: String,
}

#[derive(Serialize)]
struct JsonOms<'a> {
    method: &'static str,
    serialization: &'static str,
    bundle: &'a str,
    root_digest: String,
}

#[derive(Serialize)]
struct JsonLevel {
    required: u8,
    reached: Option<u8>,
}

#[derive(Serialize)]
struct JsonFiles {
    checked: u64,
    bytes: u64,
    /// Git LFS pointers accepted in place of content (`--lfs-pointers`).
    lfs_pointers: u64,
    /// Listed files whose contents were not read: the signatures did not hold.
    unread: u64,
}

/// The report as the contract's JSON object (one line).
pub fn to_json(report: &Report) -> String {
    serde_json::to_string(&json_report(report)).unwrap_or_else(|e| error_json(&e.to_string()))
}

fn json_report(report: &Report) -> JsonReport<'_> {
    let (format, oms) = match &report.format {
        SignedFormat::Manifest => ("modelseal", None),
        SignedFormat::Oms {
            method,
            serialization,
            bundle,
            root_digest,
        } => (
            "oms",
            Some(JsonOms {
                method,
                serialization,
                bundle,
                root_digest: root_digest.to_hex(),
            }),
        ),
    };
    JsonReport {
        ok: report.ok(),
        format,
        oms,
        model: &report.model,
        level: JsonLevel {
            required: report.required,
            reached: report.reached,
        },
        files: JsonFiles {
            checked: report.files.checked,
            bytes: report.files.bytes,
            lfs_pointers: report.files.lfs_pointers,
            unread: report.files.unread,
        },
        signatures: &report.signatures,
        problems: &report.problems,
        lineage: &report.lineage,
        bundle: report.bundle.as_deref().map(|b| Box::new(json_report(b))),
        partition: report.slice.as_ref().map(|slice| JsonPartition {
            index: slice.partition.index,
            count: slice.partition.count,
            manifest_sha256: slice.manifest_sha256.to_hex(),
            policy_sha256: slice.policy_sha256.to_hex(),
        }),
        content: report.content.as_deref(),
    }
}

/// The JSON object for an error that stopped the command (exit 2).
pub fn error_json(message: &str) -> String {
    serde_json::json!({ "ok": false, "error": message }).to_string()
}

/// A level with its name: `1 (signed)`.
pub fn level_name(level: u8) -> String {
    match LEVEL_NAMES.get(usize::from(level)) {
        Some(name) => format!("{level} ({name})"),
        None => level.to_string(),
    }
}

/// Bytes for people: `1.5 GiB`.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// ANSI colour for text output, or none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Style {
    /// Whether to colour.
    pub color: bool,
}

impl Style {
    fn paint(self, style: anstyle::Style, text: &str) -> String {
        if self.color {
            format!("{style}{text}{style:#}")
        } else {
            text.to_string()
        }
    }
    /// Green.
    pub fn good(self, text: &str) -> String {
        self.paint(anstyle::AnsiColor::Green.on_default(), text)
    }
    /// Bold red.
    pub fn bad(self, text: &str) -> String {
        self.paint(anstyle::AnsiColor::Red.on_default().bold(), text)
    }
    /// Yellow.
    pub fn note(self, text: &str) -> String {
        self.paint(anstyle::AnsiColor::Yellow.on_default(), text)
    }
}

/// The report as text for a terminal or a log, without colour.
pub fn to_text(report: &Report) -> String {
    to_text_styled(report, Style::default(), false)
}

/// The report as text; `quiet` keeps only the problems and the verdict.
pub fn to_text_styled(report: &Report, style: Style, quiet: bool) -> String {
    let mut out = String::new();
    if quiet {
        for p in report.all_problems() {
            let kind = style.note(&format!("{:<20}", p.kind.as_str()));
            let _ = writeln!(out, "{kind} {}", problem_text(p));
        }
        for c in report.content.iter().flatten() {
            let kind = style.note(&format!("{:<20}", content_kind(c)));
            let _ = writeln!(out, "{kind} {}", content_text(c));
        }
        if !report.ok() {
            let _ = writeln!(out, "{}", style.bad("FAILED"));
        }
        return out;
    }
    write_header(&mut out, report);
    write_files(&mut out, report, style);
    write_signatures(&mut out, report);
    write_lineage(&mut out, report);
    write_problems(&mut out, report, style);
    write_content(&mut out, report, style);
    write_verdict(&mut out, report, style);
    if let Some(bundle) = &report.bundle {
        out.push('\n');
        out.push_str(&to_text_styled(bundle, style, quiet));
    }
    out
}

fn write_header(out: &mut String, report: &Report) {
    let m = &report.model;
    match &report.format {
        SignedFormat::Manifest => {
            let _ = writeln!(
                out,
                "{} {} ({})",
                escape::field(&m.name),
                escape::field(&m.version),
                m.kind
            );
        }
        SignedFormat::Oms {
            method,
            serialization,
            bundle,
            ..
        } => {
            let _ = writeln!(
                out,
                "{} (OMS bundle {}: {method} method, {serialization} serialization)",
                escape::field(&m.name),
                escape::field(bundle)
            );
        }
    }
}

fn write_files(out: &mut String, report: &Report, style: Style) {
    let _ = writeln!(
        out,
        "  files:      {} checked, {}",
        report.files.checked,
        human_bytes(report.files.bytes)
    );
    if report.files.unread > 0 {
        let _ = writeln!(
            out,
            "  {}  {} listed file(s) not read: the signatures do not hold, so the listed sizes are unproven; only names, types and sizes were compared",
            style.note("note:"),
            report.files.unread
        );
    }
    if report.files.lfs_pointers > 0 {
        let _ = writeln!(
            out,
            "  {}  {} Git LFS pointer(s) accepted in place of content: the pointers match the signed digests, the content is not here",
            style.note("note:"),
            report.files.lfs_pointers
        );
    }
}

fn write_signatures(out: &mut String, report: &Report) {
    if report.required == 0 {
        let _ = writeln!(out, "  signatures: not checked at level 0");
    } else if report.signatures.is_empty() {
        let _ = writeln!(out, "  signatures: none");
    }
    for sig in &report.signatures {
        let status = match sig.status {
            SignatureStatus::Valid => "valid",
            SignatureStatus::Invalid => "INVALID",
            SignatureStatus::Untrusted => "untrusted",
            SignatureStatus::Expired => "expired",
            SignatureStatus::Revoked => "revoked",
        };
        let _ = writeln!(
            out,
            "  signature:  {status:<9} {} (keyid {})",
            signer_text(sig),
            crate::signature::short_keyid(&sig.keyid)
        );
    }
}

fn write_lineage(out: &mut String, report: &Report) {
    let has_lineage = !report.lineage.trainings.is_empty() || !report.lineage.datasets.is_empty();
    if let (Some(traced), Some(chained)) = (report.lineage.traced, report.lineage.chained)
        && (has_lineage || report.required >= 2)
    {
        let mark = |b: bool| if b { "yes" } else { "no" };
        let weights = &report.lineage.weights;
        let _ = writeln!(
            out,
            "  lineage:    traced {}, chained {} ({} of {} weights file(s) traced; {} training run(s), {} dataset(s), {} upstream manifest(s))",
            mark(traced),
            mark(chained),
            weights.iter().filter(|w| w.traced == Some(true)).count(),
            weights.len(),
            report.lineage.trainings.len(),
            report.lineage.datasets.len(),
            report.lineage.upstreams.len()
        );
    }
}

fn write_problems(out: &mut String, report: &Report, style: Style) {
    if !report.problems.is_empty() {
        let _ = writeln!(out, "\n{} problem(s):", report.problems.len());
        for p in &report.problems {
            let kind = style.note(&format!("{:<20}", p.kind.as_str()));
            let _ = writeln!(out, "  {kind} {}", problem_text(p));
        }
        out.push('\n');
    }
}

fn write_verdict(out: &mut String, report: &Report, style: Style) {
    let reached = report
        .reached
        .map_or_else(|| no_level(report).to_string(), level_name);
    let unsafe_content = report.content_failures();
    if report.holds() && unsafe_content > 0 {
        let _ = writeln!(
            out,
            "{} level {reached} holds, but {unsafe_content} content problem(s): unsafe to load",
            style.bad("FAILED:")
        );
    } else if report.holds() {
        let _ = writeln!(out, "{} level {reached} holds", style.good("OK:"));
    } else {
        let _ = writeln!(
            out,
            "{} level {} required; reached {}",
            style.bad("FAILED:"),
            level_name(report.required),
            reached
        );
    }
}

/// What `--inspect` found: nothing, or each content problem by path, the
/// failing ones first, then warnings, then the reviewed files allowed.
fn write_content(out: &mut String, report: &Report, style: Style) {
    use crate::inspect::policy::Action;
    let Some(content) = &report.content else {
        return;
    };
    if content.is_empty() {
        let _ = writeln!(out, "  content:    inspected, nothing unsafe to load found");
        return;
    }
    let failing = report.content_failures();
    let passed = content.len() - failing;
    if passed == 0 {
        let _ = writeln!(out, "  content:    {failing} problem(s), unsafe to load:");
    } else {
        let _ = writeln!(
            out,
            "  content:    {failing} problem(s) unsafe to load; {passed} only warned about or allowed by the policy:"
        );
    }
    for action in [Action::Fail, Action::Warn, Action::Allowed] {
        for c in content.iter().filter(|c| c.action == action) {
            let label = format!("{:<22}", content_kind(c));
            let (kind, note) = match action {
                Action::Fail => (style.bad(&label), String::new()),
                Action::Warn => (style.note(&label), " (warning only, by policy)".into()),
                Action::Allowed => (
                    style.note(&label),
                    format!(
                        " (allowed: {})",
                        escape::field(c.allowed_by.as_deref().unwrap_or("reviewed"))
                    ),
                ),
            };
            let _ = writeln!(out, "    {kind} {}{note}", content_text(c));
        }
    }
}

fn content_kind(c: &crate::inspect::files::ContentFinding) -> String {
    c.kind.as_str().to_string()
}

fn content_text(c: &crate::inspect::files::ContentFinding) -> String {
    format!("{}: {}", escape::field(&c.path), escape::field(&c.message))
}

/// Why no level holds: level 0 failed, or was never checked because the
/// signatures did not hold and no content was read.
fn no_level(report: &Report) -> &'static str {
    if report.files.unread > 0 {
        "none (level 0 not checked: no content is read until the signatures hold)"
    } else {
        "none (not even level 0)"
    }
}

/// A problem's path and message, safe to print.
pub fn problem_text(p: &Problem) -> String {
    format!("{}: {}", escape::field(&p.path), escape::field(&p.message))
}

/// Who signed, as far as it is known: the trust policy's name for the key,
/// else the entry's own `signer`, marked as what it is, a claim nobody signed.
fn signer_text(sig: &SignatureOutcome) -> String {
    match (&sig.key_name, &sig.signer) {
        (Some(name), _) => escape::field(name).into_owned(),
        (None, Some(claimed)) => {
            format!("\"{}\" (self-declared, unverified)", escape::field(claimed))
        }
        (None, None) => "(key not in the trust policy)".into(),
    }
}

/// One sentence per problem kind, for SARIF rule descriptions.
fn rule_description(kind: ProblemKind) -> &'static str {
    match kind {
        ProblemKind::MissingFile => "A file listed in the manifest is not in the model directory.",
        ProblemKind::UnexpectedFile => {
            "A file in the model directory is neither listed nor ignored."
        }
        ProblemKind::SizeMismatch => "A listed file has another size than the manifest records.",
        ProblemKind::HashMismatch => "A listed file's bytes do not match its signed SHA-256.",
        ProblemKind::Symlink => "A symbolic link, which modelseal never follows.",
        ProblemKind::SpecialFile => "A FIFO, socket or device node, which modelseal never opens.",
        ProblemKind::UnsafePath => {
            "A path that is absolute, has '..', a backslash or a control character."
        }
        ProblemKind::DuplicatePath => {
            "Two paths that collide after Unicode normalisation and case folding."
        }
        ProblemKind::ChangedDuringRead => "A file that changed while it was being hashed.",
        ProblemKind::UnreadableFile => "A file that could not be opened or read.",
        ProblemKind::BadSignature => "A signature that does not verify over the current manifest.",
        ProblemKind::ThresholdNotMet => {
            "Fewer valid trusted signatures than the trust policy requires."
        }
        ProblemKind::Rollback => {
            "A validly signed release older than the trust policy's pin for its name."
        }
        ProblemKind::UntracedWeights => "A weights file that no complete training run traces.",
        ProblemKind::DanglingReference => {
            "A lineage reference that resolves to nothing the manifest pins."
        }
        ProblemKind::UpstreamMismatch => "An upstream manifest that is not the one recorded.",
        ProblemKind::UpstreamUnsigned => {
            "A base model or dataset without a manifest signed under the policy."
        }
    }
}

/// Every problem kind, in contract order.
pub const ALL_KINDS: [ProblemKind; 17] = [
    ProblemKind::MissingFile,
    ProblemKind::UnexpectedFile,
    ProblemKind::SizeMismatch,
    ProblemKind::HashMismatch,
    ProblemKind::Symlink,
    ProblemKind::SpecialFile,
    ProblemKind::UnsafePath,
    ProblemKind::DuplicatePath,
    ProblemKind::ChangedDuringRead,
    ProblemKind::UnreadableFile,
    ProblemKind::BadSignature,
    ProblemKind::ThresholdNotMet,
    ProblemKind::Rollback,
    ProblemKind::UntracedWeights,
    ProblemKind::DanglingReference,
    ProblemKind::UpstreamMismatch,
    ProblemKind::UpstreamUnsigned,
];

/// The report as SARIF 2.1.0, for code-scanning dashboards. Each problem is
/// a result whose rule id is its kind, located at its path in the model
/// directory (`MODELDIR`).
pub fn to_sarif(report: &Report, dir: &std::path::Path) -> String {
    use serde_json::json;
    // Code-scanning services resolve relative URIs against the checkout: a
    // relative model directory gives paths from there; an absolute one, file URIs.
    let location = |path: &str| -> serde_json::Value {
        let dir_text = dir.to_string_lossy().replace('\\', "/");
        if dir.is_absolute() {
            let base = dir_text.trim_end_matches('/');
            json!({"uri": format!("file://{}/{}", sarif_uri(base), sarif_uri(path))})
        } else {
            let base = dir_text.trim_start_matches("./").trim_end_matches('/');
            let joined = if base.is_empty() || base == "." {
                path.to_string()
            } else {
                format!("{base}/{path}")
            };
            json!({"uri": sarif_uri(&joined), "uriBaseId": "%SRCROOT%"})
        }
    };
    let rules: Vec<_> = ALL_KINDS
        .iter()
        .map(|k| {
            json!({
                "id": k.as_str(),
                "name": k.as_str(),
                "shortDescription": {"text": rule_description(*k)},
                "defaultConfiguration": {"level": "error"},
                "properties": {"level": k.level()},
            })
        })
        .collect();
    let results: Vec<_> = report
        .all_problems()
        .map(|p| {
            json!({
                "ruleId": p.kind.as_str(),
                "ruleIndex": ALL_KINDS.iter().position(|k| *k == p.kind).unwrap_or(0),
                "level": "error",
                "message": {"text": problem_text(p)},
                "locations": [{
                    "physicalLocation": {"artifactLocation": location(&p.path)}
                }],
            })
        })
        .collect();
    let reached = report
        .reached
        .map_or_else(|| "none".to_string(), level_name);
    let sarif = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "modelseal",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://github.com/modelseal/modelseal",
                "rules": rules,
            }},
            "invocations": [{
                "executionSuccessful": true,
                "properties": {
                    "model": report.model,
                    "requiredLevel": report.required,
                    "reachedLevel": reached,
                    "ok": report.ok(),
                },
            }],
            "results": results,
        }],
    });
    sarif.to_string()
}

/// A SARIF log for an error that stopped the run (exit 2).
pub fn error_sarif(message: &str) -> String {
    serde_json::json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "modelseal", "version": env!("CARGO_PKG_VERSION")}},
            "invocations": [{
                "executionSuccessful": false,
                "toolExecutionNotifications": [{"level": "error", "message": {"text": message}}],
            }],
            "results": [],
        }],
    })
    .to_string()
}

/// A path as a URI reference: each byte outside the unreserved set percent-encoded.
fn sarif_uri(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_bytes_picks_a_readable_unit() {
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(2 << 30), "2.0 GiB");
    }
}
