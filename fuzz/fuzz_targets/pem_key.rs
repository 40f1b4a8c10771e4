//! PEM keys: `parse_public_key_pem` on arbitrary text, and `load_signing_key`
//! of arbitrary bytes written to a file (passphrase "pw"): never panics.
//! Encrypted keys run scrypt with the parameters the file names, so
//! executions on those are slow; run with -max_len=4096.
#![no_main]

use libfuzzer_sys::fuzz_target;
use modelseal::keys;
use std::path::PathBuf;
use std::sync::OnceLock;
use zeroize::Zeroizing;

fn key_path() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        std::env::temp_dir().join(format!("modelseal-fuzz-key-{}.key", std::process::id()))
    })
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(key) = keys::parse_public_key_pem(&text) {
        assert_eq!(key.keyid().len(), 64);
    }
    let path = key_path();
    std::fs::write(path, data).expect("write the key");
    if let Ok(loaded) = keys::load_signing_key(path, || Some(Zeroizing::new("pw".to_string()))) {
        let _ = keys::keyid(&loaded.key.verifying_key());
    }
});
