//! `inspect::inspect` on arbitrary bytes: the format sniffing and every
//! inspector it dispatches to (numpy headers, Keras configs in zips and
//! HDF5, pickles, zips, safetensors, GGUF, ONNX) never panic, never fail to
//! read bytes in memory, and say the same twice. Whatever is found, judging
//! it by the default content policy fails it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use modelseal::inspect::policy::{Action, ContentPolicy};
use modelseal::inspect::{InMemory, inspect};

fuzz_target!(|data: &[u8]| {
    let first = inspect(&InMemory(data)).expect("bytes in memory always read");
    assert!(first.format.is_some());
    assert_eq!(first, inspect(&InMemory(data)).expect("bytes in memory always read"));
    let policy = ContentPolicy::default();
    for problem in &first.problems {
        assert_eq!(policy.judge(problem.kind, "f", None).0, Action::Fail);
    }
});
