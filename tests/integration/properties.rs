//! Property tests: any single change to a sealed directory is caught and named.

use crate::common::*;
use modelseal::hashing::NoProgress;
use modelseal::problem::ProblemKind;
use modelseal::timestamp::Timestamp;
use modelseal::verify::{VerifyOptions, verify};
use proptest::prelude::*;
use std::path::Path;

#[derive(Debug, Clone)]
enum Change {
    FlipByte { file: usize, offset: usize, bit: u8 },
    AppendByte { file: usize, byte: u8 },
    CutByte { file: usize },
    Rename { file: usize, suffix: String },
    Add { name: String },
    Delete { file: usize },
    EditManifest { offset: usize, byte: u8 },
}

const FILES: [&str; 4] = [
    "model.safetensors",
    "config.json",
    "sub/tokenizer.json",
    "empty.txt",
];

fn change() -> impl Strategy<Value = Change> {
    let file = 0..FILES.len();
    prop_oneof![
        (file.clone(), any::<usize>(), 0u8..8).prop_map(|(file, offset, bit)| Change::FlipByte {
            file,
            offset,
            bit
        }),
        (file.clone(), any::<u8>()).prop_map(|(file, byte)| Change::AppendByte { file, byte }),
        file.clone().prop_map(|file| Change::CutByte { file }),
        (file.clone(), "[a-z]{1,4}").prop_map(|(file, suffix)| Change::Rename { file, suffix }),
        "[a-z]{1,8}(/[a-z]{1,8})?".prop_map(|name| Change::Add { name }),
        file.prop_map(|file| Change::Delete { file }),
        (any::<usize>(), any::<u8>())
            .prop_map(|(offset, byte)| Change::EditManifest { offset, byte }),
    ]
}

fn build(dir: &Path) {
    write(&dir.join(FILES[0]), &pattern(3000, 1));
    write(&dir.join(FILES[1]), b"{\"a\": 1}\n");
    write(&dir.join(FILES[2]), b"{\"v\": \"1\"}\n");
    write(&dir.join(FILES[3]), b"");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, .. ProptestConfig::default() })]

    #[test]
    fn any_single_change_is_caught(change in change()) {
        let s = Scratch::new();
        let dir = s.path("m");
        build(&dir);
        let (key, public) = s.key("k");
        init(&dir);
        modelseal().arg("sign").arg(&dir).arg("--key").arg(&key).assert().success();
        let policy = modelseal::trust::TrustPolicy::from_key_files(&[public]).unwrap();
        let options = VerifyOptions { required_level: 1, policy: Some(policy), jobs: 2, now: Timestamp::now(), lfs_pointers: false };
        prop_assert!(verify(&dir, &options, &NoProgress).unwrap().ok());

        let expected: &[ProblemKind] = match &change {
            Change::FlipByte { file, offset, bit } => {
                let path = dir.join(FILES[*file]);
                let mut bytes = std::fs::read(&path).unwrap();
                if bytes.is_empty() {
                    bytes.push(1 << bit);
                    std::fs::write(&path, bytes).unwrap();
                    &[ProblemKind::SizeMismatch]
                } else {
                    let i = offset % bytes.len();
                    bytes[i] ^= 1 << bit;
                    std::fs::write(&path, bytes).unwrap();
                    &[ProblemKind::HashMismatch]
                }
            }
            Change::AppendByte { file, byte } => {
                let path = dir.join(FILES[*file]);
                let mut bytes = std::fs::read(&path).unwrap();
                bytes.push(*byte);
                std::fs::write(&path, bytes).unwrap();
                &[ProblemKind::SizeMismatch]
            }
            Change::CutByte { file } => {
                let path = dir.join(FILES[*file]);
                let mut bytes = std::fs::read(&path).unwrap();
                if bytes.pop().is_none() {
                    std::fs::remove_file(&path).unwrap();
                    &[ProblemKind::MissingFile]
                } else {
                    std::fs::write(&path, bytes).unwrap();
                    &[ProblemKind::SizeMismatch]
                }
            }
            Change::Rename { file, suffix } => {
                let from = dir.join(FILES[*file]);
                std::fs::rename(&from, format!("{}{suffix}", from.display())).unwrap();
                &[ProblemKind::MissingFile, ProblemKind::UnexpectedFile]
            }
            Change::Add { name } => {
                let path = dir.join(format!("new-{name}"));
                write(&path, b"x");
                &[ProblemKind::UnexpectedFile]
            }
            Change::Delete { file } => {
                std::fs::remove_file(dir.join(FILES[*file])).unwrap();
                &[ProblemKind::MissingFile]
            }
            Change::EditManifest { offset, byte } => {
                let path = dir.join("provenance.toml");
                let mut bytes = std::fs::read(&path).unwrap();
                let i = offset % bytes.len();
                if bytes[i] == *byte {
                    bytes.insert(i, *byte);
                } else {
                    bytes[i] = *byte;
                }
                std::fs::write(&path, bytes).unwrap();
                &[]
            }
        };
        match verify(&dir, &options, &NoProgress) {
            // A manifest edit may break its syntax: that is an error, never a pass.
            Err(_) => prop_assert!(expected.is_empty()),
            Ok(report) => {
                prop_assert!(!report.ok(), "{:?} passed", change);
                let kinds: Vec<ProblemKind> = report.problems.iter().map(|p| p.kind).collect();
                if expected.is_empty() {
                    // Any surviving manifest edit breaks the signature at least.
                    prop_assert!(!kinds.is_empty());
                } else {
                    for kind in expected {
                        prop_assert!(kinds.contains(kind), "{:?}: {:?}", change, report.problems);
                    }
                }
            }
        }
    }
}
