//! OpenSSF Model Signing bundles: every case of the public test data in
//! tests/oms-vectors (a copy of ../shared/oms-vectors) gives its expected
//! outcome, through the real binary.

use crate::common::{copy_tree, modelseal};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The public OMS test data, as copied into the repository.
pub fn vectors() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oms-vectors")
}

fn conformance() -> PathBuf {
    vectors().join("oms-conformance-sampras343/test")
}

/// The arguments that name the signer the way the case's config does.
fn signer_args(method: &str, verify: &Value, assets: &Path) -> Vec<String> {
    let mut args = Vec::new();
    match method {
        "key" => {
            args.push("--key".into());
            args.push(
                assets
                    .join(verify["public_key"].as_str().unwrap())
                    .display()
                    .to_string(),
            );
        }
        "certificate" => {
            for ca in verify["cert_chain"].as_array().unwrap() {
                args.push("--ca".into());
                args.push(assets.join(ca.as_str().unwrap()).display().to_string());
            }
        }
        "sigstore" => {
            let root =
                vectors().join("sigstore-python-4.5.1-embedded/production/trusted_root.json");
            args.extend([
                "--sigstore-root".to_string(),
                root.display().to_string(),
                "--identity".into(),
                verify["identity"].as_str().unwrap().into(),
                "--issuer".into(),
                verify["identity_provider"].as_str().unwrap().into(),
            ]);
        }
        other => panic!("unknown method {other}"),
    }
    for path in verify["ignore_paths"].as_array().into_iter().flatten() {
        args.push("--ignore-path".into());
        args.push(path.as_str().unwrap().into());
    }
    if verify["ignore_unsigned_files"].as_bool() == Some(true) {
        args.push("--ignore-unsigned-files".into());
    }
    args
}

/// Applies a case's `model_modifications` to the copied model.
fn modify(model: &Path, modifications: &Value) {
    for (name, text) in modifications["inject"].as_object().into_iter().flatten() {
        std::fs::write(model.join(name), text.as_str().unwrap()).unwrap();
    }
    for (name, text) in modifications["tamper"].as_object().into_iter().flatten() {
        std::fs::write(model.join(name), text.as_str().unwrap()).unwrap();
    }
    for name in modifications["delete"].as_array().into_iter().flatten() {
        std::fs::remove_file(model.join(name.as_str().unwrap())).unwrap();
    }
}

/// Runs one conformance case; returns (exit code, JSON output).
fn run_case(case: &Path) -> (i32, String) {
    let config: Value =
        serde_json::from_str(&std::fs::read_to_string(case.join("config.json")).unwrap()).unwrap();
    let assets = conformance().join("assets");
    let base = match config["model_relative_to"].as_str() {
        Some("test_dir") => case.to_path_buf(),
        _ => assets.clone(),
    };
    let source = base.join(config["model"].as_str().unwrap());
    let scratch = tempfile::tempdir().unwrap();
    let model = if source.is_dir() {
        let copy = scratch.path().join("model");
        copy_tree(&source, &copy);
        modify(&copy, &config["model_modifications"]);
        copy
    } else {
        let copy = scratch.path().join(source.file_name().unwrap());
        std::fs::copy(&source, &copy).unwrap();
        copy
    };
    let method = config["method"].as_str().unwrap();
    let output = modelseal()
        .arg("verify")
        .arg(&model)
        .arg("--bundle")
        .arg(case.join("bundle.sig"))
        .args(signer_args(method, &config["verify"], &assets))
        .args(["--format", "json"])
        .output()
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

/// The cases of the conformance suite, by folder, with the methods given.
fn cases(group: &str, methods: &[&str]) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> =
        std::fs::read_dir(conformance().join("test-cases/verify").join(group))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| {
                let config = std::fs::read_to_string(p.join("config.json")).unwrap();
                let config: Value = serde_json::from_str(&config).unwrap();
                methods.contains(&config["method"].as_str().unwrap())
            })
            .collect();
    found.sort();
    found
}

/// Cases where modelseal refuses what the suite accepts, each on purpose
/// (SECURITY.md lists them): the pre-1.0 predicate signs no serialization
/// and no ignore paths.
const STRICTER: [&str; 1] = ["historical-v0.2.0-certificate"];

/// Cases whose data is incomplete: the key they name is not in the suite,
/// so they fail for that. `a_keyless_bundle_checked_with_a_key_is_refused`
/// covers what the case means to test.
const DATA_GAPS: [&str; 1] = ["sigstore-verify-as-key_fail"];

fn check_group(group: &str, methods: &[&str]) {
    let mut failures = Vec::new();
    let all = cases(group, methods);
    assert!(!all.is_empty(), "no {group} cases for {methods:?}");
    for case in &all {
        let name = case.file_name().unwrap().to_str().unwrap();
        let (code, json) = run_case(case);
        let must_fail = name.ends_with("_fail") || STRICTER.contains(&name);
        // A case that must fail has to fail for its bundle or model, not
        // because a file it names is missing.
        let for_its_reason = !json.contains("cannot read") || DATA_GAPS.contains(&name);
        let ok = if must_fail {
            (code == 1 || code == 2) && for_its_reason
        } else {
            code == 0
        };
        if !ok {
            failures.push(format!("{name}: exit {code}: {json}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} case(s) wrong:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn conformance_key_cases_give_their_expected_outcome() {
    for group in ["positive", "negative", "historical"] {
        check_group(group, &["key"]);
    }
}

#[test]
fn conformance_certificate_cases_give_their_expected_outcome() {
    for group in ["positive", "negative", "historical"] {
        check_group(group, &["certificate"]);
    }
}

#[cfg(feature = "sigstore")]
#[test]
fn conformance_sigstore_cases_give_their_expected_outcome() {
    for group in ["negative", "historical"] {
        check_group(group, &["sigstore"]);
    }
}

/// The released model_signing versions' own test models, without the
/// bundle beside them.
fn transparency_model(version: &str) -> (tempfile::TempDir, PathBuf) {
    let source = vectors()
        .join("sigstore-model-transparency/scripts/tests")
        .join(version);
    let scratch = tempfile::tempdir().unwrap();
    let model = scratch.path().join(version);
    copy_tree(&source, &model);
    std::fs::remove_file(model.join("model.sig")).unwrap();
    (scratch, model)
}

fn transparency_key() -> PathBuf {
    vectors().join("sigstore-model-transparency/scripts/tests/keys/certificate/signing-key-pub.pem")
}

fn spec_vector(name: &str) -> PathBuf {
    vectors()
        .join("ossf-model-signing-spec/test-vectors/v1.0")
        .join(name)
}

#[test]
fn the_spec_key_vector_verifies_and_a_flipped_byte_is_named() {
    let (_scratch, model) = transparency_model("v1.1.0-elliptic-key");
    let run = |model: &Path| {
        modelseal()
            .arg("verify")
            .arg(model)
            .arg("--bundle")
            .arg(spec_vector("valid/key.bundle.json"))
            .arg("--key")
            .arg(transparency_key())
            .args(["--format", "json"])
            .output()
            .unwrap()
    };
    let output = run(&model);
    let json: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(output.status.code(), Some(0), "{json}");
    assert_eq!(json["format"], "oms");
    assert_eq!(json["oms"]["method"], "key");
    assert_eq!(json["level"]["reached"], 1);
    assert_eq!(json["files"]["checked"], 2);
    assert_eq!(json["signatures"][0]["status"], "valid");

    let mut bytes = std::fs::read(model.join("signme-1")).unwrap();
    bytes[0] ^= 1;
    std::fs::write(model.join("signme-1"), bytes).unwrap();
    let output = run(&model);
    let json: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(output.status.code(), Some(1), "{json}");
    assert_eq!(json["problems"][0]["kind"], "hash_mismatch");
    assert_eq!(json["problems"][0]["path"], "signme-1");
    assert_eq!(json["problems"].as_array().unwrap().len(), 1, "{json}");
}

#[test]
fn every_released_key_bundle_verifies_with_its_key() {
    for version in [
        "v0.3.1-elliptic-key",
        "v1.0.0-elliptic-key",
        "v1.0.1-elliptic-key",
        "v1.1.0-elliptic-key",
    ] {
        let dir = vectors()
            .join("sigstore-model-transparency/scripts/tests")
            .join(version);
        // Before 1.0.1 the model was one file, signed as ".".
        let model = if dir.join("signme-2").exists() {
            dir.clone()
        } else {
            dir.join("signme-1")
        };
        let output = modelseal()
            .arg("verify")
            .arg(&model)
            .arg("--bundle")
            .arg(dir.join("model.sig"))
            .arg("--key")
            .arg(transparency_key())
            .args(["--ignore-path", "ignore-me", "--format", "json"])
            .output()
            .unwrap();
        assert_eq!(
            output.status.code(),
            Some(0),
            "{version}: {}",
            String::from_utf8_lossy(&output.stdout)
        );
    }
}

#[test]
fn the_spec_invalid_vectors_are_refused_for_their_reason() {
    let (_scratch, model) = transparency_model("v1.1.0-elliptic-key");
    let cases = [
        ("invalid/empty.bundle.json", "not a Sigstore bundle JSON"),
        (
            "invalid/missing-envelope.bundle.json",
            "has no dsseEnvelope",
        ),
        (
            "invalid/missing-tlog-entries.bundle.json",
            "no transparency-log entry",
        ),
        (
            "invalid/missing-verification-material.bundle.json",
            "has no verificationMaterial",
        ),
        (
            "invalid-payload/wrong-predicate.bundle.json",
            "predicateType",
        ),
    ];
    for (vector, reason) in cases {
        let output = modelseal()
            .arg("verify")
            .arg(&model)
            .arg("--bundle")
            .arg(spec_vector(vector))
            .arg("--key")
            .arg(transparency_key())
            .args(["--format", "json"])
            .output()
            .unwrap();
        let json: Value = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!(output.status.code(), Some(2), "{vector}: {json}");
        let error = json["error"].as_str().unwrap();
        assert!(error.contains(reason), "{vector}: {error}");
    }
}

#[test]
fn a_bundle_is_refused_by_a_policy_for_another_method_naming_what_is_missing() {
    let sigstore = vectors().join("sigstore-model-transparency/scripts/tests/v1.1.0-sigstore");
    let key = vectors().join("sigstore-model-transparency/scripts/tests/v1.1.0-elliptic-key");
    let ca =
        vectors().join("sigstore-model-transparency/scripts/tests/keys/certificate/ca-cert.pem");
    let cases = [
        (
            &sigstore,
            "--key",
            transparency_key(),
            "policy names no Sigstore identity",
        ),
        (&key, "--ca", ca.clone(), "policy names no ECDSA key"),
    ];
    for (model, flag, file, reason) in cases {
        let output = modelseal()
            .arg("verify")
            .arg(model)
            .arg(flag)
            .arg(file)
            .args(["--ignore-path", "ignore-me", "--format", "json"])
            .output()
            .unwrap();
        let json: Value = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!(output.status.code(), Some(1), "{json}");
        let kinds: Vec<&str> = json["problems"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["kind"].as_str().unwrap())
            .collect();
        assert_eq!(kinds, ["bad_signature", "threshold_not_met"], "{json}");
        assert!(
            json["problems"][0]["message"]
                .as_str()
                .unwrap()
                .contains(reason),
            "{json}"
        );
        // The signature did not hold, so no byte of the model was read.
        assert_eq!(json["files"]["checked"], 0, "{json}");
        assert_eq!(json["level"]["reached"], Value::Null, "{json}");
    }
}

#[cfg(feature = "sigstore")]
#[test]
fn the_spec_sigstore_vector_verifies_offline_and_fails_with_the_wrong_identity() {
    let (_scratch, model) = transparency_model("v1.1.0-sigstore");
    let root = vectors().join("sigstore-python-4.5.1-embedded/production/trusted_root.json");
    let run = |identity: &str, issuer: &str| {
        let output = modelseal()
            .arg("verify")
            .arg(&model)
            .arg("--bundle")
            .arg(spec_vector("valid/sigstore.bundle.json"))
            .arg("--sigstore-root")
            .arg(&root)
            .args(["--identity", identity, "--issuer", issuer])
            .args(["--ignore-path", "ignore-me", "--format", "json"])
            .output()
            .unwrap();
        let json: Value = serde_json::from_slice(&output.stdout).unwrap();
        (output.status.code(), json)
    };
    let issuer = "https://sigstore.verify.ibm.com/oauth2";
    let (code, json) = run("stefanb@us.ibm.com", issuer);
    assert_eq!(code, Some(0), "{json}");
    assert_eq!(json["oms"]["method"], "sigstore");
    assert_eq!(json["signatures"][0]["status"], "valid");
    let (code, json) = run("mallory@example.com", issuer);
    assert_eq!(code, Some(1), "{json}");
    assert_eq!(json["problems"][0]["kind"], "bad_signature");
    let message = json["problems"][0]["message"].as_str().unwrap();
    assert!(message.contains("stefanb@us.ibm.com"), "{message}");
    let (code, json) = run("stefanb@us.ibm.com", "https://accounts.example.com");
    assert_eq!(code, Some(1), "{json}");
}

#[test]
fn the_spec_certificate_vector_verifies_and_a_pinned_identity_must_match() {
    let (_scratch, model) = transparency_model("v1.1.0-elliptic-key");
    let ca =
        vectors().join("sigstore-model-transparency/scripts/tests/keys/certificate/ca-cert.pem");
    let run = |extra: &[&str]| {
        let output = modelseal()
            .arg("verify")
            .arg(&model)
            .arg("--bundle")
            .arg(spec_vector("valid/certificate.bundle.json"))
            .arg("--ca")
            .arg(&ca)
            .args(extra)
            .args(["--format", "json"])
            .output()
            .unwrap();
        let json: Value = serde_json::from_slice(&output.stdout).unwrap();
        (output.status.code(), json)
    };
    let (code, json) = run(&[]);
    assert_eq!(code, Some(0), "{json}");
    assert_eq!(json["oms"]["method"], "certificate");
    let (code, json) = run(&["--cert-identity", "CN=intermediate-ca"]);
    assert_eq!(code, Some(0), "{json}");
    let (code, json) = run(&["--cert-identity", "CN=someone-else"]);
    assert_eq!(code, Some(1), "{json}");
    let message = json["problems"][0]["message"].as_str().unwrap();
    assert!(message.contains("not CN=someone-else"), "{message}");
}

/// A trust.toml naming the transparency CA, with extra lines for the entry.
fn ca_policy(dir: &Path, extra: &str) -> PathBuf {
    let ca =
        vectors().join("sigstore-model-transparency/scripts/tests/keys/certificate/ca-cert.pem");
    let policy = dir.join("trust.toml");
    std::fs::write(
        &policy,
        format!(
            "threshold = 1\n[[ca]]\nname = \"Transparency test PKI\"\ncertificates = \"{}\"\n{extra}",
            ca.display()
        ),
    )
    .unwrap();
    policy
}

#[test]
fn a_policy_ca_counts_by_its_name_and_stops_counting_when_expired_or_revoked() {
    let (scratch, model) = transparency_model("v1.1.0-elliptic-key");
    let run = |policy: &Path| {
        let output = modelseal()
            .arg("verify")
            .arg(&model)
            .arg("--bundle")
            .arg(spec_vector("valid/certificate.bundle.json"))
            .arg("--trust")
            .arg(policy)
            .args(["--format", "json"])
            .output()
            .unwrap();
        let json: Value = serde_json::from_slice(&output.stdout).unwrap();
        (output.status.code(), json)
    };
    let (code, json) = run(&ca_policy(scratch.path(), ""));
    assert_eq!(code, Some(0), "{json}");
    assert_eq!(json["signatures"][0]["key_name"], "Transparency test PKI");
    let (code, json) = run(&ca_policy(
        scratch.path(),
        "expires = 2020-01-01T00:00:00Z\n",
    ));
    assert_eq!(code, Some(1), "{json}");
    assert_eq!(json["signatures"][0]["status"], "expired");
    let (code, json) = run(&ca_policy(scratch.path(), "revoked = true\n"));
    assert_eq!(code, Some(1), "{json}");
    assert_eq!(json["signatures"][0]["status"], "revoked");
    let (code, json) = run(&ca_policy(
        scratch.path(),
        "identity = \"CN=intermediate-ca\"\n",
    ));
    assert_eq!(code, Some(0), "{json}");
}

/// A small model of three files, one in a subdirectory.
fn small_model(scratch: &Path) -> PathBuf {
    let model = scratch.join("model");
    std::fs::create_dir_all(model.join("sub")).unwrap();
    std::fs::write(model.join("config.json"), b"{}\n").unwrap();
    std::fs::write(model.join("weights.bin"), vec![7u8; 5000]).unwrap();
    std::fs::write(model.join("sub/tokenizer.json"), b"{\"v\": 1}\n").unwrap();
    model
}

fn ec_key(scratch: &Path, curve: &str) -> (PathBuf, PathBuf) {
    let prefix = scratch.join(format!("keys/{curve}"));
    std::fs::create_dir_all(scratch.join("keys")).unwrap();
    modelseal()
        .args(["keygen", "--no-passphrase", "--algorithm", curve, "--out"])
        .arg(&prefix)
        .assert()
        .success();
    (prefix.with_extension("key"), prefix.with_extension("pub"))
}

#[test]
fn bundle_then_verify_round_trips_in_files_and_shards_mode_and_names_a_change() {
    let scratch = tempfile::tempdir().unwrap();
    let model = small_model(scratch.path());
    let (key, public) = ec_key(scratch.path(), "p384");
    for shards in [false, true] {
        let mut bundle = modelseal();
        bundle.arg("bundle").arg(&model).arg("--key").arg(&key);
        if shards {
            bundle.args(["--shards", "--shard-size", "1024"]);
        }
        bundle.assert().success();
        let verify = || {
            let output = modelseal()
                .arg("verify")
                .arg(&model)
                .arg("--key")
                .arg(&public)
                .args(["--format", "json"])
                .output()
                .unwrap();
            let json: Value = serde_json::from_slice(&output.stdout).unwrap();
            (output.status.code(), json)
        };
        let (code, json) = verify();
        assert_eq!(code, Some(0), "{json}");
        let serialization = if shards { "shards" } else { "files" };
        assert_eq!(json["oms"]["serialization"], serialization);
        assert_eq!(json["files"]["checked"], 3);
        let original = std::fs::read(model.join("weights.bin")).unwrap();
        let mut changed = original.clone();
        changed[4500] ^= 1;
        std::fs::write(model.join("weights.bin"), &changed).unwrap();
        let (code, json) = verify();
        assert_eq!(code, Some(1), "{json}");
        assert_eq!(json["problems"][0]["kind"], "hash_mismatch", "{json}");
        assert_eq!(json["problems"][0]["path"], "weights.bin");
        std::fs::write(model.join("weights.bin"), &original).unwrap();
    }
}

#[test]
fn bundle_refuses_an_ed25519_key_an_empty_model_and_a_link() {
    let scratch = tempfile::tempdir().unwrap();
    let model = small_model(scratch.path());
    let ed = scratch.path().join("ed");
    modelseal()
        .args(["keygen", "--no-passphrase", "--out"])
        .arg(&ed)
        .assert()
        .success();
    let out = modelseal()
        .arg("bundle")
        .arg(&model)
        .arg("--key")
        .arg(ed.with_extension("key"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--algorithm p256"));

    let (key, _) = ec_key(scratch.path(), "p256");
    let empty = scratch.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let out = modelseal()
        .arg("bundle")
        .arg(&empty)
        .arg("--key")
        .arg(&key)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no file to sign"));

    std::os::unix::fs::symlink("/etc/hostname", model.join("link")).unwrap();
    let out = modelseal()
        .arg("bundle")
        .arg(&model)
        .arg("--key")
        .arg(&key)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("link: a symbolic link"), "{stderr}");
    assert!(!model.join("model.sig").exists());
}

#[test]
fn a_directory_with_both_formats_verifies_both_and_fails_when_the_bundle_fails() {
    let scratch = tempfile::tempdir().unwrap();
    let model = small_model(scratch.path());
    let (ec, ec_public) = ec_key(scratch.path(), "p256");
    let ed = scratch.path().join("keys/ed");
    modelseal()
        .args(["keygen", "--no-passphrase", "--out"])
        .arg(&ed)
        .assert()
        .success();
    modelseal()
        .arg("init")
        .arg(&model)
        .args(["--name", "acme/both", "--version", "1.0.0"])
        .assert()
        .success();
    modelseal()
        .arg("sign")
        .arg(&model)
        .arg("--key")
        .arg(ed.with_extension("key"))
        .assert()
        .success();
    modelseal()
        .arg("bundle")
        .arg(&model)
        .arg("--key")
        .arg(&ec)
        .assert()
        .success();
    let manifest = std::fs::read_to_string(model.join("provenance.toml")).unwrap();
    assert!(!manifest.contains("model.sig"), "{manifest}");
    let verify = |keys: &[&Path]| {
        let mut cmd = modelseal();
        cmd.arg("verify").arg(&model);
        for key in keys {
            cmd.arg("--key").arg(key);
        }
        let output = cmd.args(["--format", "json"]).output().unwrap();
        let json: Value = serde_json::from_slice(&output.stdout).unwrap();
        (output.status.code(), json)
    };
    let ed_public = ed.with_extension("pub");
    let (code, json) = verify(&[&ed_public, &ec_public]);
    assert_eq!(code, Some(0), "{json}");
    assert_eq!(json["format"], "modelseal");
    assert_eq!(json["bundle"]["format"], "oms");
    assert_eq!(json["bundle"]["ok"], true);
    // The manifest holds, but the bundle's key is not trusted: the whole fails.
    let (code, json) = verify(&[&ed_public]);
    assert_eq!(code, Some(1), "{json}");
    assert_eq!(json["ok"], false);
    assert_eq!(json["level"]["reached"], 1);
    assert_eq!(json["bundle"]["problems"][0]["kind"], "bad_signature");
}

#[test]
fn an_ignore_path_of_dot_or_dotdot_does_not_hide_the_model() {
    let scratch = tempfile::tempdir().unwrap();
    let model = small_model(scratch.path());
    let (key, public) = ec_key(scratch.path(), "p256");
    modelseal()
        .arg("bundle")
        .arg(&model)
        .arg("--key")
        .arg(&key)
        .args(["--ignore-path", ".", "--ignore-path", "../model"])
        .assert()
        .success();
    std::fs::write(model.join("added.py"), b"import os\n").unwrap();
    let output = modelseal()
        .arg("verify")
        .arg(&model)
        .arg("--key")
        .arg(&public)
        .args(["--ignore-path", ".", "--format", "json"])
        .output()
        .unwrap();
    let json: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(output.status.code(), Some(1), "{json}");
    assert_eq!(json["files"]["checked"], 3, "{json}");
    assert_eq!(json["problems"][0]["kind"], "unexpected_file");
    assert_eq!(json["problems"][0]["path"], "added.py");
}

#[test]
fn in_shards_mode_an_unsigned_empty_file_passes_and_any_other_change_does_not() {
    let scratch = tempfile::tempdir().unwrap();
    let model = small_model(scratch.path());
    std::fs::write(model.join("empty.txt"), b"").unwrap();
    let (key, public) = ec_key(scratch.path(), "p256");
    modelseal()
        .arg("bundle")
        .arg(&model)
        .arg("--key")
        .arg(&key)
        .args(["--shards", "--shard-size", "1000"])
        .assert()
        .success();
    let verify = || {
        let output = modelseal()
            .arg("verify")
            .arg(&model)
            .arg("--key")
            .arg(&public)
            .args(["--format", "json"])
            .output()
            .unwrap();
        let json: Value = serde_json::from_slice(&output.stdout).unwrap();
        (output.status.code(), json)
    };
    // Shards mode lists no empty file, so one more or less is no change.
    std::fs::write(model.join("also-empty"), b"").unwrap();
    let (code, json) = verify();
    assert_eq!(code, Some(0), "{json}");
    assert_eq!(json["files"]["checked"], 3, "{json}");
    std::fs::write(model.join("also-empty"), b"x").unwrap();
    let (code, json) = verify();
    assert_eq!(code, Some(1), "{json}");
    assert_eq!(json["problems"][0]["kind"], "unexpected_file");
    assert_eq!(json["problems"][0]["path"], "also-empty");
}
