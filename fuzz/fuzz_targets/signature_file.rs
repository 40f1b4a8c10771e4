//! `SignatureFile::parse` on arbitrary bytes, then `check` of every entry
//! (over the same bytes): never panics. What parses renders back to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use modelseal::signature::SignatureFile;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let path = Path::new("provenance.sig");
    let Ok(file) = SignatureFile::parse(path, data) else {
        return;
    };
    for entry in &file.signatures {
        let _ = entry.check(data);
        let _ = entry.label();
    }
    let text = file.to_toml().unwrap();
    match SignatureFile::parse(path, text.as_bytes()) {
        Ok(again) => assert_eq!(
            again, file,
            "signature file differs after the round trip\n{text}"
        ),
        Err(e) => panic!("to_toml output does not parse: {e}\n--- rendered ---\n{text}"),
    }
});
