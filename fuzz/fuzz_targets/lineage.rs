//! What verify does with a parsed manifest before and after its signatures:
//! the ignore matcher, level 2 (`check_lineage`), the lineage view and its
//! text and DOT renderings. Never panics; the renderings never carry a raw
//! control character (terminal escapes from attacker text).
#![no_main]

use libfuzzer_sys::fuzz_target;
use modelseal::intact::FileTotals;
use modelseal::manifest::Manifest;
use modelseal::trace::{self, Lineage};
use modelseal::verify::{ModelSummary, Report};
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let Ok(m) = Manifest::parse(Path::new("provenance.toml"), data) else {
        return;
    };
    if let Ok(matcher) = modelseal::walk::ignore_matcher(&m.ignore) {
        for file in &m.files {
            let _ = modelseal::walk::is_ignored(&matcher, &file.path);
        }
    }
    let problems = trace::check_lineage(&m);
    let mut lineage = Lineage::of(&m);
    lineage.traced = Some(problems.is_empty());
    let report = Report {
        model: ModelSummary {
            name: m.name.clone(),
            version: m.version.clone(),
            kind: m.kind,
        },
        format: modelseal::verify::SignedFormat::Manifest,
        required: 2,
        reached: None,
        files: FileTotals::default(),
        signatures: Vec::new(),
        problems,
        lineage,
        bundle: None,
        slice: None,
        content: None,
    };
    for text in [
        modelseal::lineage::to_text(&report),
        modelseal::report::to_text(&report),
    ] {
        assert!(
            !text.chars().any(|c| c.is_control() && c != '\n'),
            "raw control character in: {text:?}"
        );
    }
    let dot = modelseal::lineage::to_dot(&report);
    assert!(!dot.chars().any(|c| c.is_control() && c != '\n'), "{dot:?}");
});
