//! `Manifest::parse` on arbitrary bytes: never panics, and whatever parses
//! renders (`to_toml`) to text that parses back to the same manifest (files
//! sorted by path, as `to_toml` writes them; source lines cleared).
#![no_main]

use libfuzzer_sys::fuzz_target;
use modelseal::manifest::Manifest;
use std::path::Path;

fn normalised(mut m: Manifest) -> Manifest {
    // `to_toml` writes files sorted by path (a stable sort: equal paths keep their order).
    m.files.sort_by(|a, b| a.path.cmp(&b.path));
    m.files.iter_mut().for_each(|f| f.line = 0);
    m.datasets.iter_mut().for_each(|d| d.line = 0);
    m.trainings.iter_mut().for_each(|t| t.line = 0);
    m
}

fuzz_target!(|data: &[u8]| {
    let path = Path::new("provenance.toml");
    let Ok(m) = Manifest::parse(path, data) else {
        return;
    };
    let text = m.to_toml().unwrap();
    let again = match Manifest::parse(path, text.as_bytes()) {
        Ok(again) => again,
        Err(e) => panic!("to_toml output does not parse: {e}\n--- rendered ---\n{text}"),
    };
    let (m, again) = (normalised(m), normalised(again));
    assert_eq!(
        again.files, m.files,
        "files differ after the round trip\n{text}"
    );
    assert_eq!(again, m, "manifest differs after the round trip\n{text}");
});
