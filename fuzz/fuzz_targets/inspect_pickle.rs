//! `inspect::pickle` on arbitrary bytes, as a bare file (joblib arrays,
//! consecutive pickles) and as an archive entry: never panics, stays
//! within the region, and gives the same answer twice.
#![no_main]

use libfuzzer_sys::fuzz_target;
use modelseal::inspect::pickle::{self, PickleOptions};
use modelseal::inspect::{InMemory, Inspection};


fuzz_target!(|data: &[u8]| {
    let src = InMemory(data);
    let len = data.len() as u64;
    for options in [PickleOptions::FILE, PickleOptions::ENTRY] {
        let mut first = Inspection::default();
        let walk = pickle::inspect_pickle_with(&src, 0, len, options, &mut first);
        assert!(walk.end <= len && walk.trailing_bytes <= len);
        assert!(first.imports.windows(2).all(|w| w[0] < w[1]), "sorted, deduplicated");
        let mut second = Inspection::default();
        let again = pickle::inspect_pickle_with(&src, 0, len, options, &mut second);
        assert_eq!(walk, again);
        assert_eq!(first, second);
    }
    let _ = pickle::looks_like_pickle(data);
});
