//! `lfs::parse` on arbitrary bytes: never panics, and a parsed pointer's
//! fields are ones the text spells out.
#![no_main]

use libfuzzer_sys::fuzz_target;
use modelseal::lfs;

fuzz_target!(|data: &[u8]| {
    let Some(pointer) = lfs::parse(data) else {
        return;
    };
    let text = std::str::from_utf8(data).expect("a pointer is UTF-8");
    assert!(text.contains(&format!("oid sha256:{}", pointer.oid.to_hex())));
    // `size` is read with `u64::from_str`, which also takes `+12` and `012`.
    assert!(text.lines().any(|l| {
        l.strip_prefix("size ")
            .is_some_and(|n| n.parse::<u64>() == Ok(pointer.size))
    }));
});
