use super::*;
use crate::inspect::InMemory;

/// A stored zip of `(name, data)` entries, as Python's zipfile lays it out.
fn stored_zip(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (name, data) in entries {
        let offset = out.len() as u32;
        let size = (data.len() as u32).to_le_bytes();
        out.extend(b"PK\x03\x04\x14\x00\x00\x00\x00\x00\x00\x00\x00\x00");
        out.extend(0u32.to_le_bytes());
        out.extend(size);
        out.extend(size);
        out.extend((name.len() as u16).to_le_bytes());
        out.extend(0u16.to_le_bytes());
        out.extend(name.as_bytes());
        out.extend(*data);
        central.extend(b"PK\x01\x02\x14\x00\x14\x00\x00\x00\x00\x00\x00\x00\x00\x00");
        central.extend(0u32.to_le_bytes());
        central.extend(size);
        central.extend(size);
        central.extend((name.len() as u16).to_le_bytes());
        central.extend([0u8; 12]);
        central.extend(offset.to_le_bytes());
        central.extend(name.as_bytes());
    }
    let cd_offset = out.len() as u32;
    out.extend(&central);
    out.extend(b"PK\x05\x06\x00\x00\x00\x00");
    out.extend((entries.len() as u16).to_le_bytes());
    out.extend((entries.len() as u16).to_le_bytes());
    out.extend((central.len() as u32).to_le_bytes());
    out.extend(cd_offset.to_le_bytes());
    out.extend(0u16.to_le_bytes());
    out
}

fn inspect(bytes: &[u8]) -> Inspection {
    let mut out = Inspection::default();
    inspect_zip(&InMemory(bytes), &mut out);
    out
}

#[test]
fn entries_are_read_with_their_data_offsets() {
    let z = stored_zip(&[("a/b.txt", b"hello"), ("c", b"")]);
    let entries = read_entries(&InMemory(&z)).unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0].name, "a/b.txt");
    assert_eq!(entries[0].data_offset, 30 + 7);
    assert_eq!(entries[0].size, 5);
    assert_eq!(&z[37..42], b"hello");
}

#[test]
fn hostile_structures_are_malformed_archives() {
    let dup = stored_zip(&[("x", b"1"), ("x", b"2")]);
    let escape = stored_zip(&[("a/../../evil", b"1")]);
    let absolute = stored_zip(&[("/etc/passwd", b"1")]);
    let mut renamed = stored_zip(&[("abc", b"1")]);
    renamed[30] = b'z'; // the local header's name
    let mut overlap = stored_zip(&[("a", b"1"), ("b", b"2")]);
    let second_central = overlap.len() - 22 - 47;
    overlap[second_central + 42..second_central + 46].copy_from_slice(&0u32.to_le_bytes());
    let mut outside = stored_zip(&[("a", b"1")]);
    let n = outside.len();
    outside[n - 6..n - 2].copy_from_slice(&u32::MAX.to_le_bytes());
    for (what, z) in [
        ("duplicate", dup),
        ("dot-dot", escape),
        ("absolute", absolute),
        ("renamed", renamed),
        ("overlap", overlap),
        ("directory outside", outside),
        ("no end record", b"PK\x03\x04 not a zip".to_vec()),
    ] {
        let out = inspect(&z);
        assert_eq!(out.problems.len(), 1, "{what}");
        assert_eq!(
            out.problems[0].kind,
            ContentProblemKind::MalformedArchive,
            "{what}"
        );
    }
}

#[test]
fn torch_archives_have_every_pickle_walked() {
    let z = stored_zip(&[
        ("archive/data.pkl", b"\x80\x02cos\nsystem\n."),
        ("archive/version", b"3\n"),
        ("archive/data/0", &[0; 16]),
    ]);
    let out = inspect(&z);
    assert_eq!(out.format, Some(Format::TorchZip));
    assert_eq!(out.problems[0].kind, ContentProblemKind::UnsafePickle);
    assert!(out.problems[0].message.starts_with("archive/data.pkl: "));
    assert_eq!(out.imports, ["os.system"]);
}

#[test]
fn archives_are_classified_by_their_names() {
    let entries = |names: &[&str]| -> Vec<ZipEntry> {
        names
            .iter()
            .map(|n| ZipEntry {
                name: n.to_string(),
                method: STORED,
                encrypted: false,
                compressed_size: 0,
                size: 0,
                crc32: 0,
                header_offset: 0,
                data_offset: 0,
            })
            .collect()
    };
    let torch = entries(&["m/data.pkl", "m/.data/version"]);
    assert_eq!(classify(&torch), Format::TorchZip);
    assert_eq!(classify(&entries(&["m/data.pkl"])), Format::Zip);
    assert_eq!(classify(&entries(&["a.npy", "b.npy"])), Format::NumpyZip);
    let keras = entries(&["config.json", "metadata.json", "model.weights.h5"]);
    assert_eq!(classify(&keras), Format::Keras);
    assert_eq!(classify(&entries(&["config.json"])), Format::Keras);
    assert_eq!(classify(&entries(&["sub/config.json"])), Format::Zip);
    assert_eq!(classify(&entries(&[])), Format::Zip);
}
