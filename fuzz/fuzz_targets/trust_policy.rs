//! `TrustPolicy::load` of arbitrary bytes written to a file: never panics.
//! The file lives in a directory of its own that also holds the test public
//! key, so a policy naming `test-release.pub` can load a key file.
#![no_main]

use libfuzzer_sys::fuzz_target;
use modelseal::timestamp::Timestamp;
use modelseal::trust::TrustPolicy;
use std::path::PathBuf;
use std::sync::OnceLock;

const TEST_PUB: &str = include_str!("../../fixtures/keys/test-release.pub");

fn policy_path() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("modelseal-fuzz-trust-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create the fuzz directory");
        std::fs::write(dir.join("test-release.pub"), TEST_PUB).expect("write the test key");
        dir.join("trust.toml")
    })
}

fuzz_target!(|data: &[u8]| {
    let path = policy_path();
    std::fs::write(path, data).expect("write the policy");
    if let Ok(policy) = TrustPolicy::load(path) {
        assert!(policy.threshold >= 1);
        assert!(policy.threshold <= policy.keys.len());
        let mut ids: Vec<&str> = policy.keys.iter().map(|k| k.keyid.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), policy.keys.len(), "key ids must be distinct");
        // Times are shown in reports: rendering them must not panic.
        for key in &policy.keys {
            let _ = key.expires.map(|e| e.to_string());
        }
        for pin in &policy.pins {
            let _ = pin.not_before.map(|t| t.to_string());
            // Every message a pin can give (a missing `created`, an old one, an old version).
            for created in [None, Timestamp::new(time::OffsetDateTime::UNIX_EPOCH)] {
                let _ = policy.rollback(&pin.name, "0", created);
            }
        }
    }
});
