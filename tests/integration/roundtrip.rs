//! The day-one path: keygen, init, sign, verify; exit codes 0, 1 and 2.

use crate::common::*;
use predicates::prelude::*;

#[test]
fn keygen_init_sign_verify_round_trip() {
    let s = Scratch::new();
    let (dir, public) = s.signed_model();
    modelseal()
        .arg("verify")
        .arg(&dir)
        .arg("--key")
        .arg(&public)
        .assert()
        .success()
        .stdout(predicate::str::contains("OK: level 1 (signed) holds"))
        .stdout(predicate::str::contains("valid"));
    let (report, code) = verify_json(&dir, &["--key", public.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert_eq!(report["ok"], true);
    assert_eq!(report["model"]["name"], "acme/tiny");
    assert_eq!(report["model"]["version"], "1.0.0");
    assert_eq!(report["model"]["kind"], "model");
    assert_eq!(report["level"]["required"], 1);
    assert_eq!(report["level"]["reached"], 1);
    assert_eq!(report["files"]["checked"], 5);
    assert_eq!(report["files"]["bytes"], 40_000 + 23 + 19 + 7 + 6);
    assert_eq!(report["signatures"][0]["status"], "valid");
    assert_eq!(report["signatures"][0]["signer"], "Release");
    assert_eq!(report["problems"], serde_json::json!([]));
}

#[test]
fn the_committed_demo_fixture_verifies_with_its_trust_policy() {
    let root = env!("CARGO_MANIFEST_DIR");
    modelseal()
        .current_dir(root)
        .args([
            "verify",
            "fixtures/demo-model",
            "--trust",
            "fixtures/keys/trust.toml",
        ])
        .assert()
        .success();
}

#[test]
fn verify_without_keys_is_a_usage_error_unless_level_0() {
    let s = Scratch::new();
    let (dir, _) = s.signed_model();
    modelseal()
        .arg("verify")
        .arg(&dir)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--key"));
    let (report, code) = verify_json(&dir, &[]);
    assert_eq!(code, 2);
    assert_eq!(report["ok"], false);
    assert!(report["error"].as_str().unwrap().contains("trust policy"));
    let (report, code) = verify_json(&dir, &["--level", "0"]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["level"]["reached"], 0);
    assert_eq!(report["signatures"], serde_json::json!([]));
}

#[test]
fn bad_flags_exit_2_and_json_errors_stay_json() {
    modelseal().args(["verify", "--bogus"]).assert().code(2);
    modelseal()
        .args(["verify", "--level", "7"])
        .assert()
        .code(2);
    let out = modelseal()
        .args(["verify", "--level", "9", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["ok"], false);
    assert!(json["error"].is_string());
}

#[test]
fn malformed_manifest_is_exit_2_with_file_line_and_column() {
    let s = Scratch::new();
    let (dir, public) = s.signed_model();
    let manifest = dir.join("provenance.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(
        &manifest,
        text.replacen("[hashing]", "colour = \"red\"\n[hashing]", 1),
    )
    .unwrap();
    modelseal()
        .arg("verify")
        .arg(&dir)
        .arg("--key")
        .arg(&public)
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("provenance.toml:")
                .and(predicate::str::contains("unknown field `colour`")),
        );
    let (report, code) = verify_json(&dir, &["--key", public.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(report["error"].as_str().unwrap().contains(":"), "{report}");
}

#[test]
fn missing_manifest_is_exit_2() {
    let s = Scratch::new();
    let dir = s.model();
    modelseal()
        .arg("verify")
        .arg(&dir)
        .args(["--level", "0"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("provenance.toml"));
}

#[test]
fn init_refuses_to_overwrite_without_force() {
    let s = Scratch::new();
    let dir = s.model();
    init(&dir);
    let before = std::fs::read(dir.join("provenance.toml")).unwrap();
    modelseal()
        .arg("init")
        .arg(&dir)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--force"));
    assert_eq!(std::fs::read(dir.join("provenance.toml")).unwrap(), before);
    modelseal()
        .arg("init")
        .arg(&dir)
        .arg("--force")
        .assert()
        .success();
}

#[test]
fn init_guesses_roles() {
    let s = Scratch::new();
    let dir = s.model();
    init(&dir);
    let text = std::fs::read_to_string(dir.join("provenance.toml")).unwrap();
    let doc: toml::Table = toml::from_str(&text).unwrap();
    let roles: Vec<(String, String)> = doc["file"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().into(),
                f["role"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert!(roles.contains(&("model.safetensors".into(), "weights".into())));
    assert!(roles.contains(&("config.json".into(), "config".into())));
    assert!(roles.contains(&("tokenizer.json".into(), "tokenizer".into())));
    assert!(roles.contains(&("README.md".into(), "docs".into())));
}

#[test]
fn large_files_get_shards_and_verify_by_shard() {
    let s = Scratch::new();
    let dir = s.path("big");
    // 2.5 shards of 1 MiB: shard_size is lowered to its minimum by editing the manifest.
    write(&dir.join("weights.bin"), &pattern((5 << 20) / 2, 3));
    init(&dir);
    let manifest = dir.join("provenance.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(
        &manifest,
        text.replace("shard_size = 268435456", "shard_size = 1048576"),
    )
    .unwrap();
    modelseal()
        .arg("update")
        .arg(&dir)
        .assert()
        .success()
        .stdout(predicate::str::contains("changed  weights.bin"));
    let text = std::fs::read_to_string(&manifest).unwrap();
    let doc: toml::Table = toml::from_str(&text).unwrap();
    assert_eq!(doc["file"][0]["shards"].as_array().unwrap().len(), 3);
    modelseal()
        .arg("verify")
        .arg(&dir)
        .args(["--level", "0"])
        .assert()
        .success();
    // Flip one byte in the last shard: named by shard.
    let mut bytes = std::fs::read(dir.join("weights.bin")).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(dir.join("weights.bin"), bytes).unwrap();
    let (report, code) = verify_json(&dir, &["--level", "0"]);
    assert_eq!(code, 1);
    assert_eq!(
        problems(&report),
        vec![("hash_mismatch".into(), "weights.bin".into())]
    );
    assert!(
        report["problems"][0]["message"]
            .as_str()
            .unwrap()
            .contains("shard(s) 2 of 3")
    );
}

#[test]
fn update_adds_drops_and_rehashes_keeping_comments_and_lineage() {
    let s = Scratch::new();
    let dir = s.model();
    init(&dir);
    let manifest = dir.join("provenance.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    let edited = text.replace(
        "ignore = []",
        "# release notes live elsewhere\nignore = [\"logs/\"]",
    ) + "\n# how the weights were made\n[[training]]\nid = \"sft\"\noutputs = [\"model.safetensors\"]\n";
    std::fs::write(&manifest, &edited).unwrap();
    write(&dir.join("logs/run.log"), b"ignored\n");
    write(&dir.join("new.py"), b"print(1)\n");
    std::fs::remove_file(dir.join("extra/notes.txt")).unwrap();
    write(&dir.join("config.json"), b"{\"model_type\": \"llama\"}\n");
    modelseal()
        .arg("update")
        .arg(&dir)
        .assert()
        .success()
        .stdout(predicate::str::contains("added    new.py"))
        .stdout(predicate::str::contains("removed  extra/notes.txt"))
        .stdout(predicate::str::contains("changed  config.json"));
    let after = std::fs::read_to_string(&manifest).unwrap();
    assert!(after.contains("# release notes live elsewhere"));
    assert!(after.contains("# how the weights were made\n[[training]]"));
    assert!(!after.contains("extra/notes.txt"));
    assert!(!after.contains("logs/run.log"));
    modelseal()
        .arg("verify")
        .arg(&dir)
        .args(["--level", "0"])
        .assert()
        .success();
    // A second update changes nothing and does not rewrite the file.
    modelseal()
        .arg("update")
        .arg(&dir)
        .assert()
        .success()
        .stdout(predicate::str::contains("up to date"));
    assert_eq!(std::fs::read_to_string(&manifest).unwrap(), after);
}

#[test]
fn sign_refuses_a_manifest_that_does_not_match_and_keeps_old_signatures() {
    let s = Scratch::new();
    let (dir, _) = s.signed_model();
    let sig_before = std::fs::read(dir.join("provenance.sig")).unwrap();
    write(&dir.join("model.safetensors"), b"tampered");
    let (key, _) = s.key("release");
    modelseal()
        .arg("sign")
        .arg(&dir)
        .arg("--key")
        .arg(&key)
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("size_mismatch")
                .and(predicate::str::contains("model.safetensors")),
        )
        .stderr(predicate::str::contains("modelseal update"));
    assert_eq!(
        std::fs::read(dir.join("provenance.sig")).unwrap(),
        sig_before
    );
}

#[test]
fn sign_appends_several_signers_and_drops_stale_entries_after_update() {
    let s = Scratch::new();
    let (dir, release_pub) = s.signed_model();
    let (second_key, second_pub) = s.key("second");
    sign_with(&dir, &second_key);
    let (report, _) = verify_json(
        &dir,
        &[
            "--key",
            release_pub.to_str().unwrap(),
            "--key",
            second_pub.to_str().unwrap(),
        ],
    );
    assert_eq!(report["signatures"].as_array().unwrap().len(), 2);
    // Change a file, update, sign with one key: the other's stale entry is dropped and named.
    write(&dir.join("README.md"), b"# tiny, v2\n");
    modelseal().arg("update").arg(&dir).assert().success();
    modelseal()
        .arg("sign")
        .arg(&dir)
        .arg("--key")
        .arg(&second_key)
        .assert()
        .success()
        .stdout(predicate::str::contains("dropped stale signature: Release"));
    let (report, code) = verify_json(&dir, &["--key", second_pub.to_str().unwrap()]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["signatures"].as_array().unwrap().len(), 1);
    // Signing again with the same key replaces, not duplicates.
    sign_with(&dir, &second_key);
    let (report, _) = verify_json(&dir, &["--key", second_pub.to_str().unwrap()]);
    assert_eq!(report["signatures"].as_array().unwrap().len(), 1);
}
