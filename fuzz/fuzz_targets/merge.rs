//! `merge::merge` on arbitrary JSON slice reports (attacker-written files
//! handed to `modelseal merge`): never panics, and the text of a merged
//! report never carries a raw control character.
#![no_main]

use libfuzzer_sys::fuzz_target;
use modelseal::merge::{self, Part};
use serde_json::Value;
use std::path::PathBuf;

fuzz_target!(|data: &[u8]| {
    // The input is a JSON array; each element is one slice report.
    let Ok(Value::Array(reports)) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let parts = reports
        .into_iter()
        .enumerate()
        .map(|(i, report)| Part {
            file: PathBuf::from(format!("part-{i}.json")),
            report,
        })
        .collect();
    let Ok(merged) = merge::merge(parts) else {
        return;
    };
    let text = merge::to_text(&merged);
    assert!(
        !text.chars().any(|c| c.is_control() && c != '\n'),
        "raw control character in: {text:?}"
    );
});
