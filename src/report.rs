//! Rendering a verification [`Report`] for people (text) and machines (JSON).

use crate::problem::Problem;
use crate::trace::Lineage;
use crate::verify::{LEVEL_NAMES, ModelSummary, Report, SignatureOutcome, SignatureStatus};
use serde::Serialize;
use std::fmt::Write as _;

#[derive(Serialize)]
struct JsonReport<'a> {
    ok: bool,
    model: &'a ModelSummary,
    level: JsonLevel,
    files: JsonFiles,
    signatures: &'a [SignatureOutcome],
    problems: &'a [Problem],
    lineage: &'a Lineage,
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
}

/// The report as the contract's JSON object (one line).
pub fn to_json(report: &Report) -> String {
    let json = JsonReport {
        ok: report.ok(),
        model: &report.model,
        level: JsonLevel {
            required: report.required,
            reached: report.reached,
        },
        files: JsonFiles {
            checked: report.files.checked,
            bytes: report.files.bytes,
        },
        signatures: &report.signatures,
        problems: &report.problems,
        lineage: &report.lineage,
    };
    serde_json::to_string(&json).unwrap_or_else(|e| error_json(&e.to_string()))
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

/// The report as text for a terminal or a log.
pub fn to_text(report: &Report) -> String {
    let mut out = String::new();
    let m = &report.model;
    let _ = writeln!(out, "{} {} ({})", m.name, m.version, m.kind);
    let _ = writeln!(
        out,
        "  files:      {} checked, {}",
        report.files.checked,
        human_bytes(report.files.bytes)
    );
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
        let who = sig.signer.as_deref().unwrap_or("(no signer name)");
        let _ = writeln!(
            out,
            "  signature:  {status:<9} {who} (keyid {})",
            crate::signature::short_keyid(&sig.keyid)
        );
    }
    if let (Some(traced), Some(chained)) = (report.lineage.traced, report.lineage.chained) {
        let mark = |b: bool| if b { "yes" } else { "no" };
        let _ = writeln!(
            out,
            "  lineage:    traced {}, chained {} ({} training run(s), {} dataset(s), {} upstream manifest(s))",
            mark(traced),
            mark(chained),
            report.lineage.trainings.len(),
            report.lineage.datasets.len(),
            report.lineage.upstreams.len()
        );
    }
    if !report.problems.is_empty() {
        let _ = writeln!(out, "\n{} problem(s):", report.problems.len());
        for p in &report.problems {
            let _ = writeln!(out, "  {:<20} {}: {}", p.kind.as_str(), p.path, p.message);
        }
        out.push('\n');
    }
    let reached = report
        .reached
        .map_or_else(|| "none (not even level 0)".to_string(), level_name);
    if report.ok() {
        let _ = writeln!(out, "OK: level {reached} holds");
    } else {
        let _ = writeln!(
            out,
            "FAILED: level {} required; reached {}",
            level_name(report.required),
            reached
        );
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
