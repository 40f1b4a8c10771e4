//! `Manifest::parse` on arbitrary bytes: never panics, and whatever parses
//! renders (`to_toml`) to text that parses back to the same files.
#![no_main]

use libfuzzer_sys::fuzz_target;
use modelseal::manifest::{FileEntry, Manifest};
use std::path::Path;

fn files(m: &Manifest) -> Vec<FileEntry> {
    let mut files: Vec<FileEntry> = m
        .files
        .iter()
        .cloned()
        .map(|mut f| {
            f.line = 0;
            f
        })
        .collect();
    // `to_toml` writes files sorted by path (stable, so equal paths keep their order).
    files.sort_by(|a, b| a.path.cmp(&b.path));
    files
}

fuzz_target!(|data: &[u8]| {
    let path = Path::new("provenance.toml");
    let Ok(m) = Manifest::parse(path, data) else {
        return;
    };
    let text = m.to_toml();
    let again = match Manifest::parse(path, text.as_bytes()) {
        Ok(again) => again,
        Err(e) => panic!("to_toml output does not parse: {e}\n--- rendered ---\n{text}"),
    };
    assert_eq!(files(&again), files(&m), "files differ after the round trip\n{text}");
    assert_eq!(again.name, m.name);
    assert_eq!(again.version, m.version);
    assert_eq!(again.kind, m.kind);
    assert_eq!(again.license, m.license);
    assert_eq!(again.ignore, m.ignore);
    assert_eq!(again.hashing, m.hashing);
    assert_eq!(again.datasets.len(), m.datasets.len());
    assert_eq!(again.trainings.len(), m.trainings.len());
});
