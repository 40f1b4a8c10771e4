//! Workflow: the pre-commit check and its stat cache, Git LFS pointers,
//! Hugging Face cache snapshots, SARIF, and the output flags.

use crate::common::*;
use predicates::prelude::*;
use std::path::Path;
use std::process::Command as Process;

fn check_in(dir: &Path, cache: &Path) -> assert_cmd::Command {
    let mut cmd = modelseal();
    cmd.current_dir(dir)
        .env("MODELSEAL_CACHE_DIR", cache)
        .arg("check");
    cmd
}

#[test]
fn check_passes_a_true_manifest_and_names_the_fix_for_a_stale_one() {
    let s = Scratch::new();
    let (dir, _) = s.signed_model();
    let cache = s.path("cache");
    check_in(&dir, &cache)
        .assert()
        .success()
        .stdout(predicate::str::contains("ok").and(predicate::str::contains("1 signature(s)")));
    write(&dir.join("model.safetensors"), &pattern(40_000, 77));
    check_in(&dir, &cache)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("hash_mismatch"))
        .stdout(
            predicate::str::contains("modelseal update")
                .and(predicate::str::contains("modelseal sign")),
        );
}

#[test]
fn check_catches_a_manifest_changed_after_signing() {
    let s = Scratch::new();
    let (dir, _) = s.signed_model();
    let manifest = dir.join("provenance.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(
        &manifest,
        text.replace("version = \"1.0.0\"", "version = \"1.0.1\""),
    )
    .unwrap();
    check_in(&dir, &s.path("cache"))
        .assert()
        .code(1)
        .stdout(predicate::str::contains("bad_signature"))
        .stdout(predicate::str::contains("manifest changed after signing"));
}

#[test]
fn check_warns_on_unsigned_and_requires_signatures_with_a_policy() {
    let s = Scratch::new();
    let dir = s.model();
    init(&dir);
    check_in(&dir, &s.path("cache"))
        .assert()
        .success()
        .stdout(predicate::str::contains("warning").and(predicate::str::contains("unsigned")));
    let (_, public) = s.key("k");
    check_in(&dir, &s.path("cache"))
        .arg("--key")
        .arg(&public)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("threshold_not_met"));
}

#[test]
fn check_finds_manifests_above_staged_files_and_below_directories() {
    let s = Scratch::new();
    let repo = s.path("repo");
    std::fs::create_dir_all(repo.join(".git")).unwrap();
    let a = repo.join("models/a");
    let b = repo.join("models/b");
    write(&a.join("w.bin"), b"a");
    write(&b.join("w.bin"), b"b");
    init(&a);
    init(&b);
    // A staged file inside a: only a is checked.
    check_in(&repo, &s.path("cache"))
        .arg("models/a/w.bin")
        .assert()
        .success()
        .stdout(
            predicate::str::contains("models/a").and(predicate::str::contains("models/b").not()),
        );
    // A directory: both below it.
    check_in(&repo, &s.path("cache"))
        .arg("models")
        .assert()
        .success()
        .stdout(predicate::str::contains("models/a").and(predicate::str::contains("models/b")));
}

#[test]
fn the_stat_cache_answers_for_unchanged_files_and_never_hides_a_change() {
    let s = Scratch::new();
    let (dir, _) = s.signed_model();
    let cache = s.path("cache");
    // Files changed in the last two seconds are never cached (racy timestamps).
    for _ in 0..2 {
        check_in(&dir, &cache)
            .assert()
            .success()
            .stdout(predicate::str::contains("0 from the stat cache"));
    }
    std::thread::sleep(std::time::Duration::from_millis(2100));
    check_in(&dir, &cache)
        .assert()
        .success()
        .stdout(predicate::str::contains("0 from the stat cache"));
    check_in(&dir, &cache)
        .assert()
        .success()
        .stdout(predicate::str::contains("5 from the stat cache"));
    // Same size, same mtime (set back), other bytes: ctime moves, so the cache misses.
    let weights = dir.join("model.safetensors");
    let mtime = std::fs::metadata(&weights).unwrap().modified().unwrap();
    write(&weights, &pattern(40_000, 99));
    std::fs::File::options()
        .write(true)
        .open(&weights)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    check_in(&dir, &cache)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("hash_mismatch"));
    // verify, which never reads the cache, reports the change too.
    modelseal()
        .arg("verify")
        .arg(&dir)
        .args(["--level", "0"])
        .assert()
        .code(1);
}

#[test]
fn a_git_lfs_pointer_is_named_and_can_stand_for_its_content() {
    let s = Scratch::new();
    let dir = s.model();
    init(&dir);
    let weights = dir.join("model.safetensors");
    let content = std::fs::read(&weights).unwrap();
    let oid = modelseal::digest::Sha256Digest::of(&content);
    let pointer = format!(
        "version https://git-lfs.github.com/spec/v1\noid sha256:{oid}\nsize {}\n",
        content.len()
    );
    std::fs::write(&weights, &pointer).unwrap();
    let (report, code) = verify_json(&dir, &["--level", "0"]);
    assert_eq!(code, 1);
    assert_eq!(
        problems(&report),
        vec![("size_mismatch".into(), "model.safetensors".into())]
    );
    assert!(
        report["problems"][0]["message"]
            .as_str()
            .unwrap()
            .contains("Git LFS pointer")
    );
    assert!(
        report["problems"][0]["message"]
            .as_str()
            .unwrap()
            .contains("git lfs pull")
    );
    let (report, code) = verify_json(&dir, &["--level", "0", "--lfs-pointers"]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["files"]["lfs_pointers"], 1);
    modelseal()
        .arg("verify")
        .arg(&dir)
        .args(["--level", "0", "--lfs-pointers"])
        .assert()
        .success()
        .stdout(predicate::str::contains("Git LFS pointer(s) accepted"));
    // Sealing the pointer would sign the pointer: update refuses, and check says why.
    modelseal()
        .arg("update")
        .arg(&dir)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("git lfs pull"));
    check_in(&dir, &s.path("cache"))
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "fix: fetch the content with `git lfs pull`",
        ));
    // A pointer to other content is a hash mismatch, with or without the flag.
    std::fs::write(&weights, pointer.replace(&oid.to_hex(), &"0".repeat(64))).unwrap();
    let (report, code) = verify_json(&dir, &["--level", "0", "--lfs-pointers"]);
    assert_eq!(code, 1);
    assert_eq!(
        problems(&report),
        vec![("hash_mismatch".into(), "model.safetensors".into())]
    );
}

#[cfg(unix)]
#[test]
fn a_hugging_face_cache_snapshot_verifies_through_its_blob_links() {
    let s = Scratch::new();
    let (_, snapshot) = hub_cache(&s);
    init(&snapshot);
    let (report, code) = verify_json(&snapshot, &["--level", "0"]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["files"]["checked"], 2);
    // The manifest itself may arrive as a blob link too.
    let manifest = std::fs::read(snapshot.join("provenance.toml")).unwrap();
    let blob = snapshot
        .join("../../blobs")
        .join(modelseal::digest::Sha256Digest::of(&manifest).to_hex());
    std::fs::write(&blob, &manifest).unwrap();
    std::fs::remove_file(snapshot.join("provenance.toml")).unwrap();
    std::os::unix::fs::symlink(
        std::fs::canonicalize(&blob).unwrap(),
        snapshot.join("provenance.toml"),
    )
    .unwrap();
    let (report, code) = verify_json(&snapshot, &["--level", "0"]);
    assert_eq!(code, 0, "{report}");
}

#[cfg(unix)]
#[test]
fn a_link_escaping_the_hub_cache_is_refused() {
    let s = Scratch::new();
    let (_, snapshot) = hub_cache(&s);
    init(&snapshot);
    write(&s.path("outside.txt"), b"secret");
    std::os::unix::fs::symlink(s.path("outside.txt"), snapshot.join("extra.txt")).unwrap();
    std::os::unix::fs::symlink("../../../../hub", snapshot.join("up")).unwrap();
    let (report, code) = verify_json(&snapshot, &["--level", "0"]);
    assert_eq!(code, 1);
    assert_eq!(
        problems(&report),
        vec![
            ("symlink".into(), "extra.txt".into()),
            ("symlink".into(), "up".into())
        ]
    );
}

#[cfg(unix)]
#[test]
fn a_hub_blob_whose_name_is_not_the_signed_digest_is_a_mismatch() {
    let s = Scratch::new();
    let (repo, snapshot) = hub_cache(&s);
    init(&snapshot);
    // Move the weights to a blob named for other content; the bytes stay right.
    let link = snapshot.join("model.safetensors");
    let target = std::fs::canonicalize(&link).unwrap();
    let renamed = repo.join("blobs").join("ab".repeat(32));
    std::fs::rename(&target, &renamed).unwrap();
    std::fs::remove_file(&link).unwrap();
    std::os::unix::fs::symlink(&renamed, &link).unwrap();
    let (report, code) = verify_json(&snapshot, &["--level", "0"]);
    assert_eq!(code, 1);
    assert_eq!(
        problems(&report),
        vec![("hash_mismatch".into(), "model.safetensors".into())]
    );
    assert!(
        report["problems"][0]["message"]
            .as_str()
            .unwrap()
            .contains("Hub cache")
    );
}

/// The SARIF 2.1.0 schema, from the npm package `@microsoft/jest-sarif`,
/// which `.ci/run` installs (like the other outside tools the tests run):
/// `$MODELSEAL_SARIF_SCHEMA`, else where `.ci/run` puts it. The test reads
/// it in place; it neither downloads nor writes anything.
fn sarif_schema() -> std::path::PathBuf {
    if let Some(path) = std::env::var_os("MODELSEAL_SARIF_SCHEMA") {
        return path.into();
    }
    let home = std::env::var_os("HOME").unwrap_or_default();
    let path = std::path::Path::new(&home).join(
        ".cache/modelseal-ci/node_modules/@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json",
    );
    assert!(
        path.is_file(),
        "the SARIF schema is not installed: run `bash .ci/run` once, or set MODELSEAL_SARIF_SCHEMA"
    );
    path
}

#[test]
fn sarif_output_validates_against_the_sarif_schema() {
    let s = Scratch::new();
    let dir = s.model();
    init(&dir);
    write(&dir.join("config.json"), b"{\"tampered\": true}\n");
    write(&dir.join("smuggled file.bin"), b"x");
    let out = modelseal()
        .arg("verify")
        .arg(&dir)
        .args(["--level", "0", "--format", "sarif"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let sarif_path = s.path("out.sarif");
    std::fs::write(&sarif_path, &out.stdout).unwrap();
    let sarif: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    assert_eq!(results[0]["ruleId"], "size_mismatch");
    let uri = results[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        .as_str()
        .unwrap();
    assert!(
        uri.starts_with("file://") && uri.ends_with("/model/config.json"),
        "{uri}"
    );
    assert_eq!(
        results[1]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            .as_str()
            .unwrap()
            .rsplit('/')
            .next(),
        Some("smuggled%20file.bin")
    );
    // A relative model directory gives paths from the checkout, on %SRCROOT%.
    let out = modelseal()
        .current_dir(s.temp.path())
        .args(["verify", "model", "--level", "0", "--format", "sarif"])
        .output()
        .unwrap();
    let relative: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let location =
        &relative["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"];
    assert_eq!(location["uri"], "model/config.json", "{location}");
    assert_eq!(location["uriBaseId"], "%SRCROOT%");
    // An error that stops the run is SARIF too.
    let out = modelseal()
        .args(["verify", "/nonexistent", "--format", "sarif"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let error: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        error["runs"][0]["invocations"][0]["executionSuccessful"],
        false
    );
    let validate = r#"
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
doc = json.load(open(sys.argv[2]))
jsonschema.validate(doc, schema)
print("valid")
"#;
    let out = Process::new("python3")
        .arg("-c")
        .arg(validate)
        .arg(sarif_schema())
        .arg(&sarif_path)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "SARIF does not validate (or python3 jsonschema is missing: pip install jsonschema): {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn completions_man_page_quiet_and_colour() {
    modelseal()
        .args(["completions", "bash"])
        .assert()
        .success()
        .stdout(predicate::str::contains("modelseal"));
    modelseal()
        .arg("man")
        .assert()
        .success()
        .stdout(predicate::str::contains(".TH modelseal"));
    let s = Scratch::new();
    let dir = s.model();
    init(&dir);
    modelseal()
        .arg("verify")
        .arg(&dir)
        .args(["--level", "0", "--quiet"])
        .assert()
        .success()
        .stdout(predicate::str::is_empty());
    modelseal()
        .arg("verify")
        .arg(&dir)
        .args(["--level", "0", "--color", "always"])
        .assert()
        .success()
        .stdout(predicate::str::contains("\u{1b}["));
    modelseal()
        .env("NO_COLOR", "1")
        .arg("verify")
        .arg(&dir)
        .args(["--level", "0"])
        .assert()
        .success()
        .stdout(predicate::str::contains("\u{1b}[").not());
}

#[cfg(unix)]
#[test]
fn init_in_a_hub_snapshot_reads_the_model_card_through_its_blob_link() {
    let s = Scratch::new();
    let (repo, snapshot) = hub_cache(&s);
    std::fs::write(
        repo.join("blobs/aa11bb22cc33dd44ee55ff6600112233aabbccdd"),
        "---\nlicense: apache-2.0\ndatasets:\n- roneneldan/TinyStories\n---\n# tiny\n",
    )
    .unwrap();
    std::os::unix::fs::symlink(
        "../../blobs/aa11bb22cc33dd44ee55ff6600112233aabbccdd",
        snapshot.join("README.md"),
    )
    .unwrap();
    modelseal()
        .arg("init")
        .arg(&snapshot)
        .assert()
        .success()
        .stdout(predicates::str::contains(
            "from the model card: license apache-2.0",
        ));
    let manifest = std::fs::read_to_string(snapshot.join("provenance.toml")).unwrap();
    assert!(manifest.contains("license = \"apache-2.0\""), "{manifest}");
}

#[test]
fn check_goes_on_past_a_broken_manifest_and_exits_2_at_the_end() {
    let s = Scratch::new();
    let (a, b) = (s.path("a"), s.path("b"));
    write(&a.join("f"), b"x\n");
    write(&b.join("f"), b"y\n");
    init(&a);
    write(&b.join("provenance.toml"), b"garbage\n");
    let out = modelseal()
        .env("MODELSEAL_CACHE_DIR", s.path("cache"))
        .arg("check")
        .arg(&a)
        .arg(&b)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stdout.contains("ok "), "{stdout}");
    assert!(
        stderr.contains("1 manifest(s) could not be checked"),
        "{stderr}"
    );
}

#[test]
fn init_and_update_refuse_git_lfs_pointers() {
    let s = Scratch::new();
    let dir = s.path("m");
    let pointer = format!(
        "version https://git-lfs.github.com/spec/v1\noid sha256:{}\nsize 200000\n",
        "a".repeat(64)
    );
    write(&dir.join("model.safetensors"), pointer.as_bytes());
    let out = modelseal().arg("init").arg(&dir).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("git lfs pull"));
    assert!(!dir.join("provenance.toml").exists());
    // update, on a manifest made before the pointer replaced the content.
    write(&dir.join("model.safetensors"), b"content");
    init(&dir);
    write(&dir.join("model.safetensors"), pointer.as_bytes());
    let before = std::fs::read(dir.join("provenance.toml")).unwrap();
    let out = modelseal().arg("update").arg(&dir).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(std::fs::read(dir.join("provenance.toml")).unwrap(), before);
}

/// Lays `from` out as a Hugging Face cache snapshot: every file a blob named
/// by its SHA-256, linked from `snapshots/REV/` at its relative path.
#[cfg(unix)]
fn as_hub_snapshot(from: &std::path::Path, repo: &std::path::Path) -> std::path::PathBuf {
    let snapshot = repo.join("snapshots/0123456789abcdef0123456789abcdef01234567");
    std::fs::create_dir_all(repo.join("blobs")).unwrap();
    for entry in walkdir::WalkDir::new(from).min_depth(1) {
        let entry = entry.unwrap();
        if !entry.file_type().is_file() {
            continue;
        }
        let rel = entry.path().strip_prefix(from).unwrap();
        let bytes = std::fs::read(entry.path()).unwrap();
        let blob = modelseal::digest::Sha256Digest::of(&bytes).to_hex();
        std::fs::write(repo.join("blobs").join(&blob), &bytes).unwrap();
        let link = snapshot.join(rel);
        std::fs::create_dir_all(link.parent().unwrap()).unwrap();
        let up = "../".repeat(rel.components().count() + 1);
        std::os::unix::fs::symlink(format!("{up}blobs/{blob}"), &link).unwrap();
    }
    snapshot
}

#[cfg(unix)]
#[test]
fn a_hub_snapshot_of_the_lineage_fixture_verifies_at_level_3() {
    let s = Scratch::new();
    let snapshot = as_hub_snapshot(
        &repo().join("fixtures/lineage"),
        &s.path("hub/models--acme--tiny-chat"),
    );
    assert!(snapshot.join("upstream/base.provenance.toml").is_symlink());
    let trust = repo().join("fixtures/keys/trust.toml");
    let (report, code) = verify_json(
        &snapshot,
        &["--trust", trust.to_str().unwrap(), "--level", "3"],
    );
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["level"]["reached"], 3);
    assert_eq!(report["lineage"]["upstreams"].as_array().unwrap().len(), 4);
}
