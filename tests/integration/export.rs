//! `modelseal export`: each format of `fixtures/lineage` validates with the
//! official schemas and validators (tests/export/validate.py: JSON Schema,
//! SHACL, the in-toto-attestation package, Python `cryptography` for DSSE),
//! every digest in it is the signed manifest's, and a tampered release is
//! refused unless `--unverified`, which the document then says.

use crate::common::*;
use modelseal::manifest::Manifest;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

const FORMATS: [&str; 4] = ["cyclonedx", "spdx", "intoto", "slsa"];

fn lineage() -> PathBuf {
    repo().join("fixtures/lineage")
}

/// Exports `dir` at level 3 under the test policy; returns exit code and stdout.
fn export(dir: &Path, format: &str, extra: &[&str]) -> (i32, String, String) {
    export_at(dir, format, "3", extra)
}

fn export_at(dir: &Path, format: &str, level: &str, extra: &[&str]) -> (i32, String, String) {
    let (_, trust) = test_key();
    let out = modelseal()
        .arg("export")
        .arg(dir)
        .args(["--format", format, "--level", level, "--trust"])
        .arg(&trust)
        .args(extra)
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn validate(format: &str, text: &str, public_key: Option<&Path>) -> String {
    let s = Scratch::new();
    let file = s.path("doc.json");
    std::fs::write(&file, text).unwrap();
    let mut cmd = Command::new("python3");
    cmd.arg(repo().join("tests/export/validate.py"))
        .arg(format)
        .arg(&file);
    if let Some(key) = public_key {
        cmd.arg(key);
    }
    let out = cmd.output().unwrap();
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{format} did not validate: {said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    said
}

/// The signed manifest's digest of every listed file.
fn signed_digests() -> BTreeMap<String, String> {
    let (m, _) = Manifest::load(&lineage().join("provenance.toml")).unwrap();
    m.files
        .iter()
        .map(|f| (f.path.clone(), f.sha256.to_hex()))
        .collect()
}

fn statements(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .collect()
}

#[test]
fn every_format_of_the_lineage_fixture_validates() {
    let public = repo().join("fixtures/keys/test-release.pub");
    let key = repo().join("fixtures/keys/test-release.key");
    for format in FORMATS {
        let (code, text, err) = export(&lineage(), format, &[]);
        assert_eq!(code, 0, "{format}: {err}");
        let said = validate(format, &text, None);
        assert!(said.contains("valid"), "{said}");
    }
    for format in ["intoto", "slsa"] {
        let (code, text, err) = export(&lineage(), format, &["--sign-key", key.to_str().unwrap()]);
        assert_eq!(code, 0, "{format}: {err}");
        for envelope in statements(&text) {
            assert_eq!(envelope["payloadType"], "application/vnd.in-toto+json");
        }
        // The DSSE signatures verify with Python's `cryptography`.
        validate(format, &text, Some(&public));
    }
}

#[test]
fn a_dsse_envelope_with_a_changed_payload_does_not_verify() {
    let key = repo().join("fixtures/keys/test-release.key");
    let (_, text, _) = export(&lineage(), "intoto", &["--sign-key", key.to_str().unwrap()]);
    let mut envelope: Value = serde_json::from_str(text.trim()).unwrap();
    use base64::Engine;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(envelope["payload"].as_str().unwrap())
        .unwrap();
    let changed = String::from_utf8(decoded)
        .unwrap()
        .replace("model.safetensors", "model.safetensorx");
    envelope["payload"] = base64::engine::general_purpose::STANDARD
        .encode(changed)
        .into();
    let s = Scratch::new();
    let file = s.path("doc.json");
    std::fs::write(&file, envelope.to_string()).unwrap();
    let out = Command::new("python3")
        .arg(repo().join("tests/export/validate.py"))
        .args(["intoto", file.to_str().unwrap()])
        .arg(repo().join("fixtures/keys/test-release.pub"))
        .output()
        .unwrap();
    assert!(!out.status.success(), "a changed payload verified");
    assert!(String::from_utf8_lossy(&out.stderr).contains("InvalidSignature"));
}

#[test]
fn every_digest_in_every_export_is_the_signed_manifests() {
    let signed = signed_digests();
    let (m, bytes) = Manifest::load(&lineage().join("provenance.toml")).unwrap();
    let manifest_sha = modelseal::digest::Sha256Digest::of(&bytes).to_hex();
    let base = m.trainings[0]
        .base_model
        .as_ref()
        .unwrap()
        .sha256
        .unwrap()
        .to_hex();
    let known = |d: &str| signed.values().any(|v| v == d) || d == manifest_sha || d == base;

    let (_, text, _) = export(&lineage(), "cyclonedx", &[]);
    let bom: Value = serde_json::from_str(&text).unwrap();
    let mut files = BTreeMap::new();
    for c in bom["components"].as_array().unwrap() {
        for h in c["hashes"].as_array().into_iter().flatten() {
            let d = h["content"].as_str().unwrap();
            if h["alg"] == "SHA-256" {
                assert!(
                    known(d),
                    "cyclonedx: {d} of {} is not in the manifest",
                    c["name"]
                );
            }
        }
        if c["type"] == "file" {
            files.insert(
                c["name"].as_str().unwrap().to_string(),
                c["hashes"][0]["content"].as_str().unwrap().to_string(),
            );
        }
    }
    assert_eq!(
        files, signed,
        "cyclonedx lists every file with its signed digest"
    );

    let (_, text, _) = export(&lineage(), "spdx", &[]);
    let doc: Value = serde_json::from_str(&text).unwrap();
    let mut files = BTreeMap::new();
    for n in doc["@graph"].as_array().unwrap() {
        for h in n["verifiedUsing"].as_array().into_iter().flatten() {
            assert!(known(h["hashValue"].as_str().unwrap()), "spdx: {n}");
        }
        if n["type"] == "software_File" {
            files.insert(
                n["name"].as_str().unwrap().to_string(),
                n["verifiedUsing"][0]["hashValue"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            );
        }
    }
    assert_eq!(
        files, signed,
        "spdx lists every file with its signed digest"
    );

    let (_, text, _) = export(&lineage(), "intoto", &[]);
    let statement: Value = serde_json::from_str(text.trim()).unwrap();
    let subjects: BTreeMap<String, String> = statement["subject"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap().to_string(),
                s["digest"]["sha256"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        subjects, signed,
        "in-toto subjects are every file with its signed digest"
    );
    assert_eq!(statement["predicate"]["manifest"]["sha256"], manifest_sha);

    let (_, text, _) = export(&lineage(), "slsa", &[]);
    for s in statements(&text) {
        for r in s["subject"].as_array().unwrap().iter().chain(
            s["predicate"]["buildDefinition"]["resolvedDependencies"]
                .as_array()
                .unwrap(),
        ) {
            if let Some(d) = r["digest"]["sha256"].as_str() {
                assert!(known(d), "slsa: {r}");
                if let Some(name) = r["name"].as_str().filter(|n| signed.contains_key(*n)) {
                    assert_eq!(signed[name], d, "slsa: {name}");
                }
            }
        }
        assert_eq!(
            s["predicate"]["buildDefinition"]["resolvedDependencies"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|r| r["digest"]["gitCommit"] == "9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b")
                .count(),
            1
        );
    }
}

#[test]
fn a_tampered_release_is_refused_unless_unverified_and_then_says_so() {
    let s = Scratch::new();
    let dir = s.path("lineage");
    copy_tree(&lineage(), &dir);
    let mut bytes = std::fs::read(dir.join("model.safetensors")).unwrap();
    bytes[100] ^= 1;
    std::fs::write(dir.join("model.safetensors"), bytes).unwrap();
    let out_file = s.path("bom.json");
    for format in FORMATS {
        let (code, text, err) = export(&dir, format, &["--out", out_file.to_str().unwrap()]);
        assert_eq!(code, 2, "{format}: {err}");
        assert!(
            text.is_empty() && !out_file.exists(),
            "{format} wrote something"
        );
        assert!(
            err.contains("did not verify") && err.contains("hash_mismatch model.safetensors"),
            "{err}"
        );
        assert!(err.contains("--unverified"), "{err}");
    }
    let (code, text, err) = export(&dir, "cyclonedx", &["--unverified"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("UNVERIFIED"), "{err}");
    let bom: Value = serde_json::from_str(&text).unwrap();
    let props = bom["metadata"]["properties"].as_array().unwrap();
    let prop = |name: &str| props.iter().find(|p| p["name"] == name).unwrap()["value"].clone();
    assert_eq!(prop("modelseal:verified"), "false");
    assert!(
        prop("modelseal:verification")
            .as_str()
            .unwrap()
            .starts_with("UNVERIFIED")
    );
    validate("cyclonedx", &text, None);
    for format in ["spdx", "intoto"] {
        let (code, text, _) = export(&dir, format, &["--unverified"]);
        assert_eq!(code, 1);
        assert!(text.contains("UNVERIFIED"), "{format}: {text}");
    }
}

#[test]
fn the_level_reached_is_recorded() {
    let (_, text, _) = export(&lineage(), "cyclonedx", &[]);
    let bom: Value = serde_json::from_str(&text).unwrap();
    let props = bom["metadata"]["properties"].as_array().unwrap();
    let prop = |name: &str| props.iter().find(|p| p["name"] == name).unwrap()["value"].clone();
    assert_eq!(prop("modelseal:level:required"), "3");
    assert_eq!(prop("modelseal:level:reached"), "3");
    assert!(props.iter().any(|p| {
        p["name"] == "modelseal:signer"
            && p["value"]
                .as_str()
                .unwrap()
                .contains("a4e4e1e3fc3d078c595983dfff1808948dbea7ca3387f283e913709eee8d7109")
    }));
    // Level 1 required: level 3 is still what was reached.
    let (code, text, _) = export_at(&lineage(), "intoto", "1", &[]);
    assert_eq!(code, 0);
    let s: Value = serde_json::from_str(text.trim()).unwrap();
    assert_eq!(s["predicate"]["verification"]["level"]["reached"], 3);
    assert_eq!(s["predicate"]["verification"]["level"]["required"], 1);
}

/// The README's export session, run as written from a directory that holds
/// the repository's fixtures and validator: each document is written and
/// validates.
#[test]
fn the_readme_export_commands_run_as_written() {
    let text = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let after = text.split_once("## Certification evidence").unwrap().1;
    let script = after
        .split_once("```sh\n")
        .unwrap()
        .1
        .split_once("\n```")
        .unwrap()
        .0;
    let s = Scratch::new();
    let work = s.path("work");
    std::fs::create_dir_all(&work).unwrap();
    for dir in ["fixtures", "tests"] {
        std::os::unix::fs::symlink(repo().join(dir), work.join(dir)).unwrap();
    }
    let bin = assert_cmd::cargo::cargo_bin("modelseal");
    let path = format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new("bash")
        .args(["-euo", "pipefail", "-c", script])
        .current_dir(&work)
        .env("PATH", &path)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the README's export session failed:\n{said}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for (file, line) in [
        ("bom.cdx.json", "cyclonedx: valid"),
        ("model.spdx.json", "spdx: valid"),
        ("model.intoto.json", "intoto: valid"),
        ("training.slsa.jsonl", "slsa: valid"),
    ] {
        assert!(work.join(file).is_file(), "{file} was not written");
        assert!(said.contains(line), "{said}");
    }
}

/// Two runs from one base model: the base is one ancestor (CycloneDX) and
/// one element (SPDX), so every bom-ref and spdxId stays unique, and both
/// documents still validate.
#[test]
fn a_base_model_shared_by_two_runs_is_named_once() {
    let s = Scratch::new();
    let dir = s.path("m");
    write(&dir.join("a.safetensors"), b"a");
    write(&dir.join("b.safetensors"), b"b");
    init(&dir);
    let base = "ab".repeat(32);
    for (id, out) in [("one", "a.safetensors"), ("two", "b.safetensors")] {
        modelseal()
            .args(["trace", "training"])
            .arg(&dir)
            .args(["--id", id, "--outputs", out, "--base-model", "acme/base"])
            .args(["--base-sha256", &base])
            .assert()
            .success();
    }
    let (key, public) = s.key("k");
    sign_with(&dir, &key);
    let run = |format: &str| {
        let out = modelseal()
            .arg("export")
            .arg(&dir)
            .args(["--format", format, "--key"])
            .arg(&public)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    let bom = run("cyclonedx");
    let doc: Value = serde_json::from_str(&bom).unwrap();
    assert_eq!(
        doc["components"][0]["pedigree"]["ancestors"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let mut refs: Vec<&str> = doc["components"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["bom-ref"].as_str())
        .collect();
    let all = refs.len();
    refs.sort();
    refs.dedup();
    assert_eq!(refs.len(), all, "bom-refs are unique");
    validate("cyclonedx", &bom, None);
    let spdx = run("spdx");
    let doc: Value = serde_json::from_str(&spdx).unwrap();
    let mut ids: Vec<&str> = doc["@graph"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|n| n["spdxId"].as_str())
        .collect();
    let all = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), all, "spdxIds are unique");
    validate("spdx", &spdx, None);
    assert_eq!(
        statements(&run("slsa")).len(),
        2,
        "one SLSA statement per run"
    );
}
