//! `modelseal report`: one self-contained page an auditor reads without a
//! terminal. The verdict and the level reached, and why no higher level
//! was; the signers with the policy's names, keyids and expiry; the lineage
//! as a picture ([`crate::svg`]); every file and every problem; and a table
//! mapping the evidence to EU AI Act Annex IV 2(d) and NIST SP 800-218A,
//! claiming nothing beyond what was checked. HTML with no script and no
//! external asset, printable to PDF; or Markdown for a pull request.

use crate::export::Evidence;
use crate::problem::Problem;
use crate::report::{human_bytes, level_name};
use crate::svg::xml;
use crate::trust::TrustPolicy;
use crate::verify::LEVEL_NAMES;
use std::fmt::Write as _;

/// What the page is made from.
pub struct Audit<'a> {
    /// The release, verified up to level 3 where a policy was given.
    pub evidence: &'a Evidence,
    /// The level the reader asked to hold.
    pub required: u8,
    /// The trust policy the signatures were judged by.
    pub policy: Option<&'a TrustPolicy>,
}

impl Audit<'_> {
    /// Whether the required level holds: reached, with no problem of a
    /// level at or below it.
    pub fn holds(&self) -> bool {
        let report = &self.evidence.report;
        report.reached.is_some_and(|r| r >= self.required)
            && report
                .problems
                .iter()
                .all(|p| p.kind.level() > self.required)
    }

    fn verdict(&self) -> String {
        let reached = self.evidence.reached_name();
        if self.holds() {
            format!(
                "VERIFIED: level {} holds (reached: {reached})",
                level_name(self.required)
            )
        } else {
            format!(
                "FAILED: level {} does not hold (reached: {reached})",
                level_name(self.required)
            )
        }
    }

    /// Why each level above the one reached was not: its problems, or
    /// what it needs that was not given.
    fn why_not(&self) -> Vec<(u8, String)> {
        let report = &self.evidence.report;
        let first_missing = report.reached.map_or(0, |r| r + 1);
        (first_missing..=3)
            .map(|level| {
                let problems: Vec<&Problem> =
                    report.problems.iter().filter(|p| p.kind.level() == level).collect();
                let why = if !problems.is_empty() {
                    let kinds: Vec<String> = problems
                        .iter()
                        .take(5)
                        .map(|p| format!("{} {}", p.kind, p.path))
                        .collect();
                    format!("{} problem(s): {}", problems.len(), kinds.join("; "))
                } else if level >= 1 && self.policy.is_none() {
                    "no trust policy was given (--key or --trust), so signatures and lineage were not checked".into()
                } else {
                    format!("level {} does not hold, so level {level} was not evaluated", level - 1)
                };
                (level, why)
            })
            .collect()
    }
}

/// A framework item, what modelseal checked for it, and whether it held.
struct Mapping {
    item: &'static str,
    asks: &'static str,
    checked: &'static str,
    holds: bool,
    not_claimed: &'static str,
}

fn mappings(audit: &Audit<'_>) -> Vec<Mapping> {
    let reached = audit.evidence.report.reached;
    let at = |level: u8| reached.is_some_and(|r| r >= level);
    let datasets = !audit.evidence.report.lineage.datasets.is_empty();
    vec![
        Mapping {
            item: "NIST SP 800-218A PW.4.4",
            asks: "verify the integrity and provenance of acquired models before use",
            checked: "every listed file hashed against the signed manifest (level 0), and the manifest signed by keys the trust policy names (level 1)",
            holds: at(1),
            not_claimed: "that the signers are who the policy says: the policy is the reader's",
        },
        Mapping {
            item: "NIST SP 800-218A PS.3.2",
            asks: "record and protect the provenance of the model",
            checked: "the weights were produced by a recorded training run with config, datasets, code commit and base model (level 2), under signature",
            holds: at(2),
            not_claimed: "that the training run happened as recorded: the release engineer's signed record says so",
        },
        Mapping {
            item: "NIST SP 800-218A PW.3.2",
            asks: "record the provenance of the training data",
            checked: "each dataset is named, its files are digests in the manifest, and its upstream manifest is signed and matches (level 3)",
            holds: at(3) && datasets,
            not_claimed: "the quality, licence compliance or lawful collection of the data",
        },
        Mapping {
            item: "EU AI Act Annex IV 2(d)",
            asks: "training data: description, provenance, scope",
            checked: "the datasets used, with their names, sources, licences as recorded, digests, and a signed chain to their upstream manifests (levels 2 and 3)",
            holds: at(3) && datasets,
            not_claimed: "the data's scope, main characteristics, selection, labelling and cleaning: record those in the model card",
        },
    ]
}

const STYLE: &str = "body{font-family:Helvetica,Arial,sans-serif;margin:2em;color:#111;max-width:1200px}\
h1{font-size:1.6em;margin-bottom:.2em}h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #ccc}\
table{border-collapse:collapse;width:100%;font-size:.85em}th,td{border:1px solid #ccc;padding:4px 6px;text-align:left;vertical-align:top}\
th{background:#f2f3f5}code{font-family:Menlo,Consolas,monospace;font-size:.9em;word-break:break-all}\
.verdict{font-size:1.3em;font-weight:bold;padding:.6em;border-radius:6px}.ok{background:#e8f5ec;color:#1a7f37}.fail{background:#fdecec;color:#cf222e}\
.graph{overflow-x:auto;border:1px solid #ccc;padding:.5em}\
@media print{body{margin:0;max-width:none}.graph{overflow:visible}svg{max-width:100%;height:auto}h2{page-break-after:avoid}tr{page-break-inside:avoid}}";

/// The page, as HTML.
pub fn to_html(audit: &Audit<'_>) -> String {
    let e = audit.evidence;
    let m = &e.manifest;
    let mut h = String::new();
    let title = format!("modelseal report: {} {}", m.name, m.version);
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title><style>{STYLE}</style></head><body>",
        xml(&title)
    );
    let _ = write!(h, "<h1>{}</h1>", xml(&title));
    let class = if audit.holds() { "ok" } else { "fail" };
    let _ = write!(
        h,
        "<p class=\"verdict {class}\" id=\"verdict\">{}</p>",
        xml(&audit.verdict())
    );
    let _ = write!(
        h,
        "<p>Kind {}; licence {}; manifest SHA-256 <code>{}</code>; {} file(s), {}; made by {} {} at {}.</p>",
        xml(&format!("{:?}", m.kind).to_lowercase()),
        xml(m.license.as_deref().unwrap_or("not recorded")),
        e.manifest_sha256,
        e.files.len(),
        human_bytes(e.files.iter().map(|f| f.size).sum()),
        crate::export::TOOL,
        crate::export::TOOL_VERSION,
        e.created
    );
    h.push_str("<h2>Levels</h2><table><tr><th>level</th><th>result</th></tr>");
    let reached = e.report.reached;
    let why = audit.why_not();
    for level in 0..=3u8 {
        let result = if reached.is_some_and(|r| r >= level) {
            "holds".to_string()
        } else {
            why.iter()
                .find(|(l, _)| *l == level)
                .map_or(String::new(), |(_, w)| format!("not reached: {w}"))
        };
        let _ = write!(
            h,
            "<tr><td>{level} ({})</td><td>{}</td></tr>",
            LEVEL_NAMES[usize::from(level)],
            xml(&result)
        );
    }
    h.push_str("</table>");
    signers_html(&mut h, audit);
    h.push_str("<h2>Lineage</h2><div class=\"graph\">");
    h.push_str(&crate::svg::draw(&crate::lineage::graph(&e.report)));
    h.push_str("</div>");
    problems_html(&mut h, &e.report.problems);
    files_html(&mut h, e);
    frameworks_html(&mut h, audit);
    h.push_str("</body></html>\n");
    h
}

fn signers_html(h: &mut String, audit: &Audit<'_>) {
    h.push_str("<h2>Signers</h2><table><tr><th>policy name</th><th>keyid</th><th>status</th><th>expires</th><th>covers</th></tr>");
    let report = &audit.evidence.report;
    if report.signatures.is_empty() {
        h.push_str("<tr><td colspan=\"5\">no signature checked (no trust policy given)</td></tr>");
    }
    for s in &report.signatures {
        let key = audit
            .policy
            .and_then(|p| p.keys.iter().find(|k| k.keyid == s.keyid));
        let expires = key
            .and_then(|k| k.expires)
            .map_or("never".to_string(), |t| t.to_string());
        let _ = write!(
            h,
            "<tr><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td><td>provenance.toml (SHA-256 <code>{}</code>): every file's digest and the lineage</td></tr>",
            xml(s.key_name.as_deref().unwrap_or("not in the policy")),
            xml(&s.keyid),
            xml(&format!("{:?}", s.status).to_lowercase()),
            xml(&expires),
            audit.evidence.manifest_sha256
        );
    }
    h.push_str("</table>");
}

fn problems_html(h: &mut String, problems: &[Problem]) {
    let _ = write!(h, "<h2>Problems ({})</h2>", problems.len());
    if problems.is_empty() {
        h.push_str("<p>None.</p>");
        return;
    }
    h.push_str("<table><tr><th>kind</th><th>level</th><th>path</th><th>what and the fix</th></tr>");
    for p in problems {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td></tr>",
            p.kind,
            p.kind.level(),
            xml(&p.path),
            xml(&p.message)
        );
    }
    h.push_str("</table>");
}

fn files_html(h: &mut String, e: &Evidence) {
    let _ = write!(h, "<h2>Files ({})</h2>", e.files.len());
    h.push_str(
        "<table><tr><th>path</th><th>role</th><th>size</th><th>SHA-256</th><th>status</th></tr>",
    );
    for f in &e.files {
        let kinds: Vec<String> = e
            .report
            .problems
            .iter()
            .filter(|p| p.path == f.path && p.kind.level() == 0)
            .map(|p| p.kind.to_string())
            .collect();
        // Every file is read unless the signatures failed (files.unread).
        let status = if !kinds.is_empty() {
            kinds.join(", ")
        } else if e.report.files.unread == 0 {
            "matches the manifest".to_string()
        } else {
            "not read".to_string()
        };
        let _ = write!(
            h,
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td></tr>",
            xml(&f.path),
            f.role,
            f.size,
            f.sha256,
            xml(&status)
        );
    }
    h.push_str("</table>");
}

fn frameworks_html(h: &mut String, audit: &Audit<'_>) {
    h.push_str("<h2>Evidence for frameworks</h2><table><tr><th>item</th><th>asks</th><th>what modelseal checked</th><th>result</th><th>not claimed</th></tr>");
    for m in mappings(audit) {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            m.item,
            m.asks,
            m.checked,
            if m.holds {
                "evidenced"
            } else {
                "not evidenced"
            },
            m.not_claimed
        );
    }
    h.push_str("</table>");
}

/// The page, as Markdown for a pull request (the lineage as a text tree).
pub fn to_markdown(audit: &Audit<'_>) -> String {
    let e = audit.evidence;
    let m = &e.manifest;
    let cell = |s: &str| crate::escape::field(s).replace('|', "\\|");
    let mut md = format!(
        "## modelseal report: {} {}\n\n**{}**\n\n",
        cell(&m.name),
        cell(&m.version),
        audit.verdict()
    );
    let _ = writeln!(
        md,
        "Manifest SHA-256 `{}`; {} file(s).\n",
        e.manifest_sha256,
        e.files.len()
    );
    md.push_str("| level | result |\n|---|---|\n");
    let why = audit.why_not();
    for level in 0..=3u8 {
        let result = if e.report.reached.is_some_and(|r| r >= level) {
            "holds".to_string()
        } else {
            why.iter()
                .find(|(l, _)| *l == level)
                .map_or(String::new(), |(_, w)| format!("not reached: {}", cell(w)))
        };
        let _ = writeln!(
            md,
            "| {level} ({}) | {result} |",
            LEVEL_NAMES[usize::from(level)]
        );
    }
    md.push_str("\n### Signers\n\n| policy name | keyid | status |\n|---|---|---|\n");
    for s in &e.report.signatures {
        let _ = writeln!(
            md,
            "| {} | `{}` | {:?} |",
            cell(s.key_name.as_deref().unwrap_or("not in the policy")),
            cell(&s.keyid),
            s.status
        );
    }
    md.push_str("\n### Lineage\n\n```text\n");
    md.push_str(&crate::lineage::to_text(&e.report).replace("```", "'''"));
    md.push_str("```\n\n");
    let _ = writeln!(md, "### Problems ({})\n", e.report.problems.len());
    for p in &e.report.problems {
        let _ = writeln!(md, "- `{}` {}: {}", p.kind, cell(&p.path), cell(&p.message));
    }
    md.push_str("\n### Evidence for frameworks\n\n| item | what modelseal checked | result |\n|---|---|---|\n");
    for x in mappings(audit) {
        let _ = writeln!(
            md,
            "| {} | {} | {} |",
            x.item,
            x.checked,
            if x.holds {
                "evidenced"
            } else {
                "not evidenced"
            }
        );
    }
    md
}
