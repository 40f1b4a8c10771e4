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
        let options = VerifyOptions { required_level: 1, policy: Some(policy), jobs: 2, now: Timestamp::now(), lfs_pointers: false, partition: None };
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

// ---------------------------------------------------------------- OMS bundles
//
// The same property for an OpenSSF Model Signing bundle (`modelseal bundle`,
// `model.sig`), through the real binary, in files and in shards mode: a
// random small model, one random change, and `verify --format json` names it.

#[derive(Debug, Clone)]
enum OmsChange {
    FlipByte { file: usize, offset: usize, bit: u8 },
    AppendByte { file: usize, byte: u8 },
    Truncate { file: usize, keep: usize },
    Rename { file: usize, suffix: String },
    Add { name: String, bytes: Vec<u8> },
    Delete { file: usize },
    EditPayload { offset: usize, byte: u8 },
    FlipSignatureBit { offset: usize, bit: u8 },
}

fn oms_change() -> impl Strategy<Value = OmsChange> {
    let file = any::<usize>();
    prop_oneof![
        (file, any::<usize>(), 0u8..8).prop_map(|(file, offset, bit)| OmsChange::FlipByte {
            file,
            offset,
            bit
        }),
        (file, any::<u8>()).prop_map(|(file, byte)| OmsChange::AppendByte { file, byte }),
        (file, any::<usize>()).prop_map(|(file, keep)| OmsChange::Truncate { file, keep }),
        (file, "-[a-z]{1,3}").prop_map(|(file, suffix)| OmsChange::Rename { file, suffix }),
        // Never an empty file: shards mode cannot sign one, so it ignores them all.
        (
            "new-[a-z]{1,6}(/[a-z]{1,4})?",
            prop::collection::vec(any::<u8>(), 1..9)
        )
            .prop_map(|(name, bytes)| OmsChange::Add { name, bytes }),
        file.prop_map(|file| OmsChange::Delete { file }),
        (any::<usize>(), any::<u8>())
            .prop_map(|(offset, byte)| OmsChange::EditPayload { offset, byte }),
        (any::<usize>(), 0u8..8)
            .prop_map(|(offset, bit)| OmsChange::FlipSignatureBit { offset, bit }),
    ]
}

/// A small model: a few files, some in a subdirectory, some empty, at least
/// one with bytes (an empty model is never signed). Names always hold a dot
/// and directories never do, so a file never stands where a directory is;
/// no name holds a `-`, which the changes use for new names.
fn oms_model() -> impl Strategy<Value = std::collections::BTreeMap<String, Vec<u8>>> {
    prop::collection::btree_map(
        "(sub[0-9]/)?[a-z0-9_é日]{1,6}\\.[a-z]{1,3}",
        prop::collection::vec(any::<u8>(), 0..40),
        1..5,
    )
    .prop_filter("a model with bytes, and no name of ours", |m| {
        m.values().any(|c| !c.is_empty()) && !m.contains_key("model.sig")
    })
}

/// What verify must say after the change.
enum OmsOutcome {
    /// Exit 1, with each of these (kind, path) among the problems.
    Caught(Vec<(&'static str, String)>),
    /// A change to an empty file in shards mode: that mode cannot sign an
    /// empty file (it has no shard), so the bundle never saw it and the
    /// model still verifies.
    NotSigned,
    /// A bundle edit: exit 1 or 2, never 0.
    Refused,
}

/// Rewrites one field of the bundle's DSSE envelope, base64-decoded.
fn edit_envelope(bundle: &Path, field: &str, edit: impl FnOnce(&mut Vec<u8>)) {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(bundle).unwrap()).unwrap();
    let slot = match field {
        "payload" => &mut doc["dsseEnvelope"]["payload"],
        _ => &mut doc["dsseEnvelope"]["signatures"][0]["sig"],
    };
    let mut bytes = b64.decode(slot.as_str().unwrap()).unwrap();
    edit(&mut bytes);
    *slot = b64.encode(&bytes).into();
    std::fs::write(bundle, serde_json::to_vec(&doc).unwrap()).unwrap();
}

fn apply_oms_change(dir: &Path, names: &[&String], change: &OmsChange, shards: bool) -> OmsOutcome {
    let pick = |file: usize| {
        let name = names[file % names.len()].clone();
        let path = dir.join(&name);
        let bytes = std::fs::read(&path).unwrap();
        (name, path, bytes)
    };
    let caught =
        |kind: &'static str, name: &str| OmsOutcome::Caught(vec![(kind, name.to_string())]);
    match change {
        OmsChange::FlipByte { file, offset, bit } => {
            let (name, path, mut bytes) = pick(*file);
            let was_empty = bytes.is_empty();
            if was_empty {
                bytes.push(1 << bit);
            } else {
                let i = offset % bytes.len();
                bytes[i] ^= 1 << bit;
            }
            std::fs::write(&path, bytes).unwrap();
            match (shards, was_empty) {
                // Shards mode ignored the empty file; now it has a byte.
                (true, true) => caught("unexpected_file", &name),
                _ => caught("hash_mismatch", &name),
            }
        }
        OmsChange::AppendByte { file, byte } => {
            let (name, path, mut bytes) = pick(*file);
            let was_empty = bytes.is_empty();
            bytes.push(*byte);
            std::fs::write(&path, bytes).unwrap();
            match (shards, was_empty) {
                (true, true) => caught("unexpected_file", &name),
                // Shards record each file's size; files mode only its digest.
                (true, false) => caught("size_mismatch", &name),
                (false, _) => caught("hash_mismatch", &name),
            }
        }
        OmsChange::Truncate { file, keep } => {
            let (name, path, bytes) = pick(*file);
            if bytes.is_empty() {
                std::fs::remove_file(&path).unwrap();
                return if shards {
                    OmsOutcome::NotSigned
                } else {
                    caught("missing_file", &name)
                };
            }
            let keep = keep % bytes.len();
            std::fs::write(&path, &bytes[..keep]).unwrap();
            caught(
                if shards {
                    "size_mismatch"
                } else {
                    "hash_mismatch"
                },
                &name,
            )
        }
        OmsChange::Rename { file, suffix } => {
            let (name, path, bytes) = pick(*file);
            let new = format!("{name}{suffix}");
            std::fs::rename(&path, dir.join(&new)).unwrap();
            if shards && bytes.is_empty() {
                OmsOutcome::NotSigned
            } else {
                OmsOutcome::Caught(vec![("missing_file", name), ("unexpected_file", new)])
            }
        }
        OmsChange::Add { name, bytes } => {
            write(&dir.join(name), bytes);
            caught("unexpected_file", name)
        }
        OmsChange::Delete { file } => {
            let (name, path, bytes) = pick(*file);
            std::fs::remove_file(&path).unwrap();
            if shards && bytes.is_empty() {
                OmsOutcome::NotSigned
            } else {
                caught("missing_file", &name)
            }
        }
        OmsChange::EditPayload { offset, byte } => {
            edit_envelope(&dir.join("model.sig"), "payload", |bytes| {
                let i = offset % bytes.len();
                if bytes[i] == *byte {
                    bytes.insert(i, *byte);
                } else {
                    bytes[i] = *byte;
                }
            });
            OmsOutcome::Refused
        }
        OmsChange::FlipSignatureBit { offset, bit } => {
            edit_envelope(&dir.join("model.sig"), "sig", |bytes| {
                let i = offset % bytes.len();
                bytes[i] ^= 1 << bit;
            });
            OmsOutcome::Refused
        }
    }
}

fn oms_single_change_is_caught(
    model: &std::collections::BTreeMap<String, Vec<u8>>,
    change: &OmsChange,
    shards: bool,
) -> Result<(), TestCaseError> {
    let s = Scratch::new();
    let dir = s.path("m");
    std::fs::create_dir_all(&dir).unwrap();
    for (name, bytes) in model {
        write(&dir.join(name), bytes);
    }
    let prefix = s.path("k");
    modelseal()
        .args(["keygen", "--algorithm", "p256", "--no-passphrase", "--out"])
        .arg(&prefix)
        .assert()
        .success();
    let public = prefix.with_extension("pub");
    let mut bundle = modelseal();
    bundle
        .arg("bundle")
        .arg(&dir)
        .arg("--key")
        .arg(prefix.with_extension("key"));
    if shards {
        bundle.args(["--shards", "--shard-size", "7"]);
    }
    bundle.assert().success();
    let key_args = ["--key", public.to_str().unwrap()];
    let (report, code) = verify_json(&dir, &key_args);
    prop_assert_eq!(code, 0, "the sealed model fails: {}", report);
    prop_assert_eq!(&report["format"], "oms");
    prop_assert_eq!(
        &report["oms"]["serialization"],
        if shards { "shards" } else { "files" }
    );

    let names: Vec<&String> = model.keys().collect();
    match apply_oms_change(&dir, &names, change, shards) {
        OmsOutcome::Caught(expected) => {
            let (report, code) = verify_json(&dir, &key_args);
            prop_assert_eq!(code, 1, "{:?} passed or errored: {}", change, report);
            prop_assert_eq!(&report["ok"], false);
            let found = problems(&report);
            for (kind, path) in expected {
                prop_assert!(
                    found.iter().any(|(k, p)| *k == kind && *p == path),
                    "{:?}: no {} for {:?} in {:?}",
                    change,
                    kind,
                    path,
                    found
                );
            }
        }
        OmsOutcome::NotSigned => {
            let (report, code) = verify_json(&dir, &key_args);
            prop_assert_eq!(code, 0, "{:?}: {}", change, report);
        }
        OmsOutcome::Refused => {
            let out = modelseal()
                .arg("verify")
                .arg(&dir)
                .args(key_args)
                .args(["--format", "json"])
                .output()
                .unwrap();
            let code = out.status.code();
            prop_assert!(
                code == Some(1) || code == Some(2),
                "{:?}: exit {:?}: {}",
                change,
                code,
                String::from_utf8_lossy(&out.stdout)
            );
        }
    }
    Ok(())
}

proptest! {
    // Four runs of the binary per case (keygen, bundle, two verifies).
    #![proptest_config(ProptestConfig { cases: 32, .. ProptestConfig::default() })]

    #[test]
    fn any_single_change_to_an_oms_files_bundle_is_caught(
        model in oms_model(),
        change in oms_change(),
    ) {
        oms_single_change_is_caught(&model, &change, false)?;
    }

    #[test]
    fn any_single_change_to_an_oms_shards_bundle_is_caught(
        model in oms_model(),
        change in oms_change(),
    ) {
        oms_single_change_is_caught(&model, &change, true)?;
    }
}
