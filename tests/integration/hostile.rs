//! Attacks on the verifier, each through the binary: hostile directories,
//! manifests, signatures, keys and policies. Every one must end in a named
//! problem (exit 1) or a clear error (exit 2): never a pass, a panic or a hang.

use crate::common::*;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use predicates::prelude::*;
use std::path::{Path, PathBuf};

fn sealed(s: &Scratch) -> PathBuf {
    let dir = s.model();
    init(&dir);
    dir
}

fn edit_manifest(dir: &Path, edit: impl FnOnce(String) -> String) {
    let path = dir.join("provenance.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, edit(text)).unwrap();
}

fn level0(dir: &Path) -> (serde_json::Value, i32) {
    verify_json(dir, &["--level", "0"])
}

// ---- hostile directories --------------------------------------------------

#[cfg(unix)]
#[test]
fn a_symlink_to_a_directory_outside_is_reported_and_not_descended() {
    let s = Scratch::new();
    let dir = sealed(&s);
    write(&s.path("outside/secret.bin"), b"secret");
    std::os::unix::fs::symlink(s.path("outside"), dir.join("linked")).unwrap();
    let (report, code) = level0(&dir);
    assert_eq!(code, 1);
    assert_eq!(problems(&report), vec![("symlink".into(), "linked".into())]);
}

#[cfg(unix)]
#[test]
fn a_symlink_loop_is_reported_without_hanging() {
    let s = Scratch::new();
    let dir = sealed(&s);
    std::os::unix::fs::symlink("b", dir.join("a")).unwrap();
    std::os::unix::fs::symlink("a", dir.join("b")).unwrap();
    std::os::unix::fs::symlink(".", dir.join("self")).unwrap();
    let (report, code) = level0(&dir);
    assert_eq!(code, 1);
    let kinds: Vec<String> = problems(&report).into_iter().map(|(k, _)| k).collect();
    assert_eq!(kinds, vec!["symlink", "symlink", "symlink"]);
}

#[cfg(unix)]
#[test]
fn a_socket_and_a_device_node_are_special_files() {
    let s = Scratch::new();
    let dir = sealed(&s);
    let _socket = std::os::unix::net::UnixListener::bind(dir.join("agent.sock")).unwrap();
    let made = std::process::Command::new("mknod")
        .arg(dir.join("null"))
        .args(["c", "1", "3"])
        .status()
        .expect("mknod runs");
    assert!(made.success(), "mknod needs root (CI runs as root)");
    let (report, code) = level0(&dir);
    assert_eq!(code, 1);
    assert_eq!(
        problems(&report),
        vec![
            ("special_file".into(), "agent.sock".into()),
            ("special_file".into(), "null".into())
        ]
    );
}

#[cfg(unix)]
#[test]
fn a_file_growing_or_shrinking_during_verify_never_passes() {
    for grow in [true, false] {
        let s = Scratch::new();
        let dir = s.path("busy");
        write(&dir.join("weights.bin"), &pattern(32 << 20, 3));
        init(&dir);
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let writer = {
            let stop = stop.clone();
            let path = dir.join("weights.bin");
            std::thread::spawn(move || {
                let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
                let mut len = f.metadata().unwrap().len();
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    len = if grow {
                        len + 4096
                    } else {
                        len.saturating_sub(4096)
                    };
                    f.set_len(len).unwrap();
                }
            })
        };
        let (report, code) = level0(&dir);
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        writer.join().unwrap();
        assert_eq!(code, 1, "{report}");
        let (kind, _) = &problems(&report)[0];
        assert!(
            kind == "size_mismatch" || kind == "changed_during_read",
            "{report}"
        );
    }
}

#[cfg(unix)]
#[test]
fn a_file_swapped_by_rename_between_listing_and_reading_is_caught() {
    use modelseal::hashing::{HashRequest, NoProgress, Want, hash_files};
    use modelseal::stamp::{FileStamp, ReadFault};
    let s = Scratch::new();
    let dir = s.path("m");
    write(&dir.join("w.bin"), &pattern(1 << 20, 1));
    let meta = std::fs::symlink_metadata(dir.join("w.bin")).unwrap();
    let request = HashRequest {
        path: "w.bin".into(),
        stamp: FileStamp::from_metadata(&meta),
        shard_size: 1 << 20,
        want: Want::Whole,
        source: None,
    };
    // Same size, other bytes, renamed over the listed name.
    write(&dir.join("evil.bin"), &pattern(1 << 20, 2));
    std::fs::rename(dir.join("evil.bin"), dir.join("w.bin")).unwrap();
    let out = hash_files(&dir, &[request], 1, &NoProgress);
    assert!(matches!(out[0], Err(ReadFault::Changed(_))), "{:?}", out[0]);
}

#[cfg(target_os = "linux")]
#[test]
fn a_name_that_is_not_utf8_is_an_unsafe_path() {
    use std::os::unix::ffi::OsStrExt;
    let s = Scratch::new();
    let dir = sealed(&s);
    std::fs::write(
        dir.join(std::ffi::OsStr::from_bytes(b"bad\xffname.bin")),
        b"x",
    )
    .unwrap();
    let (report, code) = level0(&dir);
    assert_eq!(code, 1);
    assert_eq!(problems(&report)[0].0, "unsafe_path");
    assert_eq!(problems(&report).len(), 1);
    // init refuses to seal it.
    modelseal()
        .arg("init")
        .arg(&dir)
        .arg("--force")
        .assert()
        .code(2);
}

#[cfg(target_os = "linux")]
#[test]
fn names_differing_only_by_unicode_normalisation_collide() {
    let s = Scratch::new();
    let dir = s.path("m");
    write(&dir.join("caf\u{e9}.txt"), b"nfc");
    init(&dir);
    write(&dir.join("cafe\u{301}.txt"), b"nfd");
    let (report, code) = level0(&dir);
    assert_eq!(code, 1);
    assert!(
        problems(&report).contains(&("duplicate_path".into(), "cafe\u{301}.txt".into())),
        "{report}"
    );
}

#[test]
fn a_very_deep_tree_is_sealed_and_checked() {
    let s = Scratch::new();
    let dir = s.path("deep");
    let mut path = dir.clone();
    for i in 0..300 {
        path.push(format!("d{}", i % 10));
    }
    write(&path.join("leaf.bin"), b"deep");
    init(&dir);
    let (report, code) = level0(&dir);
    assert_eq!(code, 0, "{report}");
    write(&path.join("leaf.bin"), b"DEEP");
    let (report, code) = level0(&dir);
    assert_eq!(code, 1);
    assert_eq!(problems(&report)[0].0, "hash_mismatch");
}

#[test]
#[ignore = "100,000 files take a while: opt in with `cargo test -- --ignored` (.ci/run runs this one)"]
fn a_hundred_thousand_files_are_sealed_and_checked() {
    let s = Scratch::new();
    let dir = s.path("many");
    for d in 0..100 {
        let sub = dir.join(format!("d{d:02}"));
        std::fs::create_dir_all(&sub).unwrap();
        for f in 0..1000 {
            std::fs::write(sub.join(format!("{f:04}")), [d as u8, (f % 251) as u8]).unwrap();
        }
    }
    init(&dir);
    let (report, code) = level0(&dir);
    assert_eq!(code, 0, "{}", report["problems"]);
    assert_eq!(report["files"]["checked"], 100_000);
    std::fs::write(dir.join("d42/0042"), [0u8, 0]).unwrap();
    std::fs::remove_file(dir.join("d07/0999")).unwrap();
    let (report, code) = level0(&dir);
    assert_eq!(code, 1);
    assert_eq!(
        problems(&report),
        vec![
            ("missing_file".into(), "d07/0999".into()),
            ("hash_mismatch".into(), "d42/0042".into())
        ]
    );
}

// ---- hostile manifests ----------------------------------------------------

#[test]
fn unsafe_manifest_paths_are_named_and_never_opened() {
    let cases = [
        "../outside.txt",
        "/etc/passwd",
        "extra\\\\notes.txt",
        "extra/\\u0000notes.txt",
        "extra//notes.txt",
        "./extra/notes.txt",
        "C:/notes.txt",
        "",
    ];
    for bad in cases {
        let s = Scratch::new();
        let dir = sealed(&s);
        edit_manifest(&dir, |t| {
            t.replace("path = \"extra/notes.txt\"", &format!("path = \"{bad}\""))
        });
        std::fs::remove_file(dir.join("extra/notes.txt")).unwrap();
        let (report, code) = level0(&dir);
        assert_eq!(code, 1, "{bad}: {report}");
        assert_eq!(problems(&report).len(), 1, "{bad}: {report}");
        assert_eq!(problems(&report)[0].0, "unsafe_path", "{bad}: {report}");
    }
}

#[test]
fn dot_slash_beside_the_plain_path_is_not_a_second_file() {
    let s = Scratch::new();
    let dir = sealed(&s);
    edit_manifest(&dir, |t| {
        let start = t.find("[[file]]\npath = \"config.json\"").unwrap();
        let end = start + t[start..].find("\n\n").unwrap();
        let entry = t[start..end].replace("path = \"config.json\"", "path = \"./config.json\"");
        format!("{t}\n{entry}\n")
    });
    let (report, code) = level0(&dir);
    assert_eq!(code, 1);
    assert_eq!(
        problems(&report),
        vec![("unsafe_path".into(), "./config.json".into())]
    );
}

#[test]
fn wrong_types_huge_numbers_and_bad_hex_are_located_errors() {
    let cases: [(&str, &str, &str); 5] = [
        ("size = 40000", "size = \"big\"", "invalid type"),
        (
            "size = 40000",
            "size = 99999999999999999999",
            "provenance.toml:",
        ),
        ("size = 40000", "size = -5", "provenance.toml:"),
        (
            "role = \"weights\"",
            "role = \"malware\"",
            "unknown variant",
        ),
        ("kind = \"model\"", "kind = 7", "provenance.toml:4:"),
    ];
    for (from, to, said) in cases {
        let s = Scratch::new();
        let dir = sealed(&s);
        edit_manifest(&dir, |t| t.replacen(from, to, 1));
        let out = modelseal()
            .arg("verify")
            .arg(&dir)
            .args(["--level", "0"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{to}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(said) && err.contains("provenance.toml:"),
            "{to}: {err}"
        );
    }
    let s = Scratch::new();
    let dir = sealed(&s);
    edit_manifest(&dir, |t| {
        let at = t.find("sha256 = \"").unwrap() + 10;
        format!("{}zz{}", &t[..at], &t[at + 2..])
    });
    let out = modelseal()
        .arg("verify")
        .arg(&dir)
        .args(["--level", "0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("64 lowercase hex"));
}

#[test]
fn a_size_needing_millions_of_shard_digests_is_refused_not_a_crash() {
    let s = Scratch::new();
    let dir = sealed(&s);
    edit_manifest(&dir, |t| {
        t.replacen("size = 40000", "size = 9223372036854775807", 1)
            .replacen("shard_size = 268435456", "shard_size = 68719476736", 1)
    });
    let out = modelseal()
        .arg("verify")
        .arg(&dir)
        .args(["--level", "0"])
        .output()
        .unwrap();
    // 2^63-1 bytes needs 134 million shard digests: the manifest is refused, located.
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("shard digests"));
}

#[test]
fn oversized_manifest_and_signature_files_are_refused() {
    let s = Scratch::new();
    let (dir, public) = s.signed_model();
    let manifest = dir.join("provenance.toml");
    let mut text = std::fs::read_to_string(&manifest).unwrap();
    text.push_str(&format!("# {}\n", "x".repeat(17 << 20)));
    std::fs::write(&manifest, text).unwrap();
    let out = modelseal()
        .arg("verify")
        .arg(&dir)
        .arg("--key")
        .arg(&public)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("larger than"));

    let (dir, public) = s.signed_model_in(&s.path("second"));
    let sig = dir.join("provenance.sig");
    let one = std::fs::read_to_string(&sig).unwrap();
    let entry = &one[one.find("[[signature]]").unwrap()..];
    std::fs::write(&sig, entry.repeat(101)).unwrap();
    let out = modelseal()
        .arg("verify")
        .arg(&dir)
        .arg("--key")
        .arg(&public)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("more than the 100"), "{err}");
}

// ---- hostile signatures and keys -----------------------------------------

fn set_entry_field(dir: &Path, field: &str, value: &str) {
    let sig = dir.join("provenance.sig");
    let text = std::fs::read_to_string(&sig).unwrap();
    let key = format!("\n{field} = \"");
    let start = text.find(&key).unwrap() + key.len();
    let end = start + text[start..].find('"').unwrap();
    std::fs::write(&sig, format!("{}{}{}", &text[..start], value, &text[end..])).unwrap();
}

fn signature_bytes(dir: &Path) -> Vec<u8> {
    let text = std::fs::read_to_string(dir.join("provenance.sig")).unwrap();
    let key = "\nsignature = \"";
    let start = text.find(key).unwrap() + key.len();
    let end = start + text[start..].find('"').unwrap();
    BASE64.decode(&text[start..end]).unwrap()
}

#[test]
fn malformed_base64_wrong_lengths_and_foreign_keyids_are_bad_signatures() {
    let edits: [(&str, String); 5] = [
        ("signature", "not base64 at all!".into()),
        ("signature", BASE64.encode([7u8; 63])),
        ("signature", BASE64.encode([7u8; 65])),
        ("public_key", BASE64.encode([9u8; 31])),
        ("keyid", "0".repeat(64)),
    ];
    for (field, value) in edits {
        let s = Scratch::new();
        let (dir, public) = s.signed_model();
        set_entry_field(&dir, field, &value);
        let (report, code) = verify_json(&dir, &["--key", public.to_str().unwrap()]);
        assert_eq!(code, 1, "{field}={value}");
        assert_eq!(
            report["signatures"][0]["status"], "invalid",
            "{field}={value}"
        );
        assert!(problems(&report).contains(&("bad_signature".into(), "provenance.sig".into())));
    }
}

#[test]
fn a_non_canonical_signature_scalar_is_rejected() {
    let s = Scratch::new();
    let (dir, public) = s.signed_model();
    // S + L, where L is the group order: verifies under lax rules, not strict ones.
    let mut sig = signature_bytes(&dir);
    let l: [u8; 32] =
        hex::decode("edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010")
            .unwrap()
            .try_into()
            .unwrap();
    let mut carry = 0u16;
    for i in 0..32 {
        let sum = u16::from(sig[32 + i]) + u16::from(l[i]) + carry;
        sig[32 + i] = sum as u8;
        carry = sum >> 8;
    }
    set_entry_field(&dir, "signature", &BASE64.encode(&sig));
    let (report, code) = verify_json(&dir, &["--key", public.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert_eq!(report["signatures"][0]["status"], "invalid");
}

#[test]
fn a_small_order_key_with_a_forged_signature_is_rejected_even_if_trusted() {
    let s = Scratch::new();
    let (dir, _) = s.signed_model();
    // The identity point as public key, R = identity, S = 0: "verifies" any message
    // under cofactored or lax verification.
    let mut weak = [0u8; 32];
    weak[0] = 1;
    let mut forged = [0u8; 64];
    forged[0] = 1;
    let keyid = modelseal::digest::Sha256Digest::of(&weak).to_hex();
    std::fs::write(
        dir.join("provenance.sig"),
        format!(
            "[[signature]]\nkeyid = \"{keyid}\"\npublic_key = \"{}\"\nalgorithm = \"ed25519\"\nsignature = \"{}\"\n",
            BASE64.encode(weak),
            BASE64.encode(forged)
        ),
    )
    .unwrap();
    // A policy that (foolishly) trusts that key.
    let mut der = hex::decode("302a300506032b6570032100").unwrap();
    der.extend_from_slice(&weak);
    let pem = format!(
        "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
        BASE64.encode(&der)
    );
    let weak_pub = s.path("weak.pub");
    std::fs::write(&weak_pub, pem).unwrap();
    let (report, code) = verify_json(&dir, &["--key", weak_pub.to_str().unwrap()]);
    assert_eq!(code, 1, "{report}");
    assert_eq!(report["signatures"][0]["status"], "invalid");
}

#[test]
fn one_key_signing_twice_counts_once() {
    let s = Scratch::new();
    let (dir, release_pub) = s.signed_model();
    let (_, other_pub) = s.key("other");
    let sig = dir.join("provenance.sig");
    let text = std::fs::read_to_string(&sig).unwrap();
    let entry = text[text.find("[[signature]]").unwrap()..].to_string();
    std::fs::write(&sig, format!("{text}\n{entry}")).unwrap();
    let trust = s.path("keys/trust.toml");
    write(
        &trust,
        format!(
            "threshold = 2\n[[key]]\nname = \"a\"\npublic_key = \"{}\"\n[[key]]\nname = \"b\"\npublic_key = \"{}\"\n",
            release_pub.display(),
            other_pub.display()
        )
        .as_bytes(),
    );
    let (report, code) = verify_json(&dir, &["--trust", trust.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert_eq!(
        problems(&report),
        vec![("threshold_not_met".into(), "provenance.sig".into())]
    );
    assert!(
        report["problems"][0]["message"]
            .as_str()
            .unwrap()
            .contains("counted once")
    );
}

// ---- rollback and freeze --------------------------------------------------

fn pinned_policy(s: &Scratch, public: &Path, pin: &str) -> String {
    let trust = s.path("keys/pinned.toml");
    write(
        &trust,
        format!(
            "threshold = 1\n[[key]]\nname = \"release\"\npublic_key = \"{}\"\n[[pin]]\nname = \"acme/tiny\"\n{pin}\n",
            public.display()
        )
        .as_bytes(),
    );
    trust.to_str().unwrap().to_string()
}

/// `verify DIR --trust TRUST`, which must stop with exit 2: its stderr.
fn policy_error(dir: &Path, trust: &str) -> String {
    let out = modelseal()
        .arg("verify")
        .arg(dir)
        .args(["--trust", trust])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_replayed_older_release_is_a_rollback() {
    let s = Scratch::new();
    let (dir, public) = s.signed_model(); // acme/tiny 1.0.0
    let trust = pinned_policy(&s, &public, "min_version = \"1.1.0\"");
    let (report, code) = verify_json(&dir, &["--trust", &trust]);
    assert_eq!(code, 1);
    assert_eq!(
        problems(&report),
        vec![("rollback".into(), "provenance.toml".into())]
    );
    assert_eq!(report["level"]["reached"], 0);
    let trust = pinned_policy(&s, &public, "min_version = \"0.9.10\"");
    let (_, code) = verify_json(&dir, &["--trust", &trust]);
    assert_eq!(code, 0);
}

#[test]
fn a_version_written_to_dodge_the_pin_is_still_a_rollback() {
    for version in ["v0.9.0", "release-1", "1.1.0-rc1"] {
        let s = Scratch::new();
        let dir = s.model();
        let (key, public) = s.key("release");
        modelseal()
            .args(["init", "--name", "acme/tiny", "--version", version])
            .arg(&dir)
            .assert()
            .success();
        sign_with(&dir, &key);
        let trust = pinned_policy(&s, &public, "min_version = \"1.1.0\"");
        let (report, code) = verify_json(&dir, &["--trust", &trust]);
        assert_eq!(code, 1, "{version}: {report}");
        assert_eq!(
            problems(&report),
            vec![("rollback".into(), "provenance.toml".into())],
            "{version}"
        );
        // check with the same policy refuses it too.
        modelseal()
            .current_dir(&dir)
            .env("MODELSEAL_CACHE_DIR", s.path("cache"))
            .args(["check", "--trust", &trust])
            .assert()
            .code(1)
            .stdout(predicates::str::contains("rollback"))
            .stdout(predicates::str::contains("re-signing cannot change that"))
            .stdout(predicates::str::contains("sign it with a key").not());
    }
}

#[test]
fn unknown_keys_in_a_pin_are_located_errors() {
    let s = Scratch::new();
    let (dir, public) = s.signed_model();
    let trust = pinned_policy(&s, &public, "min_version = \"1.0.0\"\nmax_version = \"9\"");
    let err = policy_error(&dir, &trust);
    assert!(
        err.contains("pinned.toml:") && err.contains("unknown field `max_version`"),
        "{err}"
    );
}

#[test]
fn an_added_or_removed_empty_file_is_caught() {
    let s = Scratch::new();
    let dir = s.model();
    write(&dir.join("empty.bin"), b"");
    modelseal()
        .arg("init")
        .arg(&dir)
        .args(["--shard-size", "1048576"])
        .assert()
        .success();
    write(&dir.join("another-empty.bin"), b"");
    let (report, code) = level0(&dir);
    assert_eq!(code, 1);
    assert_eq!(
        problems(&report),
        vec![("unexpected_file".into(), "another-empty.bin".into())]
    );
    std::fs::remove_file(dir.join("another-empty.bin")).unwrap();
    std::fs::remove_file(dir.join("empty.bin")).unwrap();
    let (report, code) = level0(&dir);
    assert_eq!(code, 1);
    assert_eq!(
        problems(&report),
        vec![("missing_file".into(), "empty.bin".into())]
    );
}

#[test]
fn a_release_created_before_the_freeze_date_is_refused() {
    let s = Scratch::new();
    let (dir, public) = s.signed_model();
    let trust = pinned_policy(&s, &public, "not_before = 2999-01-01T00:00:00Z");
    let (report, code) = verify_json(&dir, &["--trust", &trust]);
    assert_eq!(code, 1);
    assert_eq!(
        problems(&report),
        vec![("rollback".into(), "provenance.toml".into())]
    );
    assert!(
        report["problems"][0]["message"]
            .as_str()
            .unwrap()
            .contains("before 2999")
    );
    let trust = pinned_policy(&s, &public, "not_before = 2020-01-01T00:00:00Z");
    let (_, code) = verify_json(&dir, &["--trust", &trust]);
    assert_eq!(code, 0);
    // Without a signed `created`, a frozen name cannot pass.
    edit_manifest(&dir, |t| {
        let start = t.find("created = ").unwrap();
        let end = start + t[start..].find('\n').unwrap() + 1;
        format!("{}{}", &t[..start], &t[end..])
    });
    let (key, _) = s.key("release");
    sign_with(&dir, &key);
    let (report, code) = verify_json(&dir, &["--trust", &trust]);
    assert_eq!(code, 1, "{report}");
    assert_eq!(
        problems(&report),
        vec![("rollback".into(), "provenance.toml".into())]
    );
}

#[test]
fn a_pin_that_cannot_be_ordered_is_refused_when_the_policy_loads() {
    let s = Scratch::new();
    let (dir, public) = s.signed_model();
    let trust = pinned_policy(&s, &public, "min_version = \"latest\"");
    let err = policy_error(&dir, &trust);
    assert!(
        err.contains("pinned.toml:") && err.contains("min_version 'latest' cannot be ordered"),
        "{err}"
    );
}

#[test]
fn versions_order_as_semver_readers_expect() {
    use modelseal::trust::compare_versions;
    use std::cmp::Ordering::*;
    for (a, b, want) in [
        ("2.0.0-rc1", "2.0.0", Less),
        ("2.0.0-rc1", "2.0.0-rc2", Less),
        ("v1.0.0", "1.0.0", Equal),
        ("v1.0.0", "1.0.1", Less),
        ("1.10.0", "1.9.2", Greater),
        ("release-1", "0.0.1", Less),
        ("1.0.0+build5", "1.0.0", Equal),
    ] {
        assert_eq!(compare_versions(a, b), want, "{a} vs {b}");
    }
    // A release newer than its pin passes; the pin's own pre-release too.
    let s = Scratch::new();
    let (dir, public) = s.signed_model(); // acme/tiny 1.0.0
    for pin in ["min_version = \"v1.0.0\"", "min_version = \"1.0.0-rc1\""] {
        let trust = pinned_policy(&s, &public, pin);
        assert_eq!(verify_json(&dir, &["--trust", &trust]).1, 0, "{pin}");
    }
}
