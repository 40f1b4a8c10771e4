//! `ListingReader` on arbitrary bytes (the `provenance.files` sidecar):
//! never panics, and a listing it accepts in full is canonical: writing its
//! entries back with `ListingWriter` gives the same bytes and the same pin.
#![no_main]

use libfuzzer_sys::fuzz_target;
use modelseal::listing::{ListingReader, ListingWriter};
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    // Shards of 64 bytes where the input has shard lines, so that short
    // inputs reach them; the default 1 MiB otherwise.
    let shard_size = if data.windows(2).any(|w| w == b"\n+") {
        64
    } else {
        1 << 20
    };
    let mut reader = ListingReader::new(
        data,
        Path::new("provenance.files"),
        shard_size,
        1 << 20,
        true,
    );
    if reader.read_header().is_err() {
        return;
    }
    let mut entries = Vec::new();
    loop {
        match reader.next_entry() {
            Ok(Some(entry)) => entries.push(entry),
            Ok(None) => break,
            Err(_) => return,
        }
    }
    assert_eq!(reader.entries(), entries.len() as u64);
    let (digest, read) = reader.digest();
    assert_eq!(
        read,
        data.len() as u64,
        "accepted without reading every byte"
    );
    // The reader leaves a path listed twice for verify to report; the
    // writer refuses it, so the round trip holds only without duplicates.
    if entries.windows(2).any(|w| w[0].path == w[1].path) {
        return;
    }
    let mut writer = ListingWriter::new(Vec::new()).expect("writing to memory");
    for entry in &entries {
        writer
            .push(entry)
            .expect("an accepted entry can be written");
    }
    let (pin, bytes) = writer.finish().expect("writing to memory");
    assert_eq!(bytes, data, "an accepted listing has one spelling");
    assert_eq!(pin.sha256, digest);
    assert_eq!(pin.files, entries.len() as u64);
});
