//! `inspect::gguf::inspect` on arbitrary bytes: never panics, never fails to
//! read bytes in memory, reports the format, and says the same twice.
#![no_main]

use libfuzzer_sys::fuzz_target;
use modelseal::inspect::{Format, gguf};

fuzz_target!(|data: &[u8]| {
    let first = gguf::inspect(data).expect("bytes in memory always read");
    assert_eq!(first.format, Some(Format::Gguf));
    let again = gguf::inspect(data).expect("bytes in memory always read");
    assert_eq!(first, again);
    assert!(first.references.is_empty());
});
