//! `inspect::onnx::inspect` on arbitrary bytes: never panics, never fails to
//! read bytes in memory, reports the format, and says the same twice.
#![no_main]

use libfuzzer_sys::fuzz_target;
use modelseal::inspect::{Format, onnx};

fuzz_target!(|data: &[u8]| {
    let first = onnx::inspect(data).expect("bytes in memory always read");
    assert_eq!(first.format, Some(Format::Onnx));
    let again = onnx::inspect(data).expect("bytes in memory always read");
    assert_eq!(first, again);
    // Every location recorded is spelled out in the bytes, and the head
    // check is a pure function too.
    for location in &first.references {
        if !location.contains('\u{fffd}') {
            let needle = location.as_bytes();
            assert!(needle.is_empty() || data.windows(needle.len()).any(|w| w == needle));
        }
    }
    assert_eq!(onnx::looks_like_onnx(data), onnx::looks_like_onnx(data));
});
