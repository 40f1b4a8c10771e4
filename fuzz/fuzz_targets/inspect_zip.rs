//! `inspect::zip` (and through it the torch, npz and keras inspectors) on
//! arbitrary bytes: never panics, entries it accepts lie inside the file
//! without overlapping, and the answer is the same twice.
#![no_main]

use libfuzzer_sys::fuzz_target;
use modelseal::inspect::zip;
use modelseal::inspect::{InMemory, Inspection};


fuzz_target!(|data: &[u8]| {
    let src = InMemory(data);
    if let Ok(entries) = zip::read_entries(&src) {
        for e in &entries {
            let end = e.data_offset.checked_add(e.compressed_size).expect("no overflow");
            assert!(e.header_offset < e.data_offset && end <= data.len() as u64);
            assert!(!e.name.split('/').any(|p| p == ".."));
        }
    }
    let mut first = Inspection::default();
    zip::inspect_zip(&src, &mut first);
    let mut second = Inspection::default();
    zip::inspect_zip(&src, &mut second);
    assert_eq!(first, second);
});
