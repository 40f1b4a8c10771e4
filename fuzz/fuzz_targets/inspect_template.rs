//! `inspect::template::check_bytes` on arbitrary bytes: never panics,
//! reports only template problems, at most a bounded number, and says the
//! same twice.
#![no_main]

use libfuzzer_sys::fuzz_target;
use modelseal::inspect::{ContentProblemKind, template};

fuzz_target!(|data: &[u8]| {
    let first = template::check_bytes("tokenizer.chat_template", data);
    assert!(first.len() <= 21);
    assert!(first.iter().all(|p| p.kind == ContentProblemKind::UnsafeGgufTemplate));
    assert_eq!(first, template::check_bytes("tokenizer.chat_template", data));
});
