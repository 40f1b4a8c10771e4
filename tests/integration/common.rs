//! Shared helpers: a model directory in a temp dir, keys, and the real binary.

#![allow(dead_code)]

use assert_cmd::Command;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The real `modelseal` binary, with a timeout so a hang fails the test.
pub fn modelseal() -> Command {
    let mut cmd = Command::cargo_bin("modelseal").expect("binary built");
    cmd.timeout(Duration::from_secs(60));
    cmd.env_remove("MODELSEAL_PASSPHRASE");
    cmd
}

/// A scratch area holding a model directory and keys.
pub struct Scratch {
    pub temp: tempfile::TempDir,
}

impl Scratch {
    pub fn new() -> Self {
        Scratch {
            temp: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.temp.path().join(rel)
    }

    /// The model directory, `model/`, with a few realistic files.
    pub fn model(&self) -> PathBuf {
        let dir = self.path("model");
        if !dir.exists() {
            write(&dir.join("model.safetensors"), &pattern(40_000, 1));
            write(&dir.join("config.json"), b"{\"model_type\": \"gpt2\"}\n");
            write(&dir.join("tokenizer.json"), b"{\"version\": \"1.0\"}\n");
            write(&dir.join("README.md"), b"# tiny\n");
            write(&dir.join("extra/notes.txt"), b"notes\n");
        }
        dir
    }

    /// Makes an unencrypted key pair `keys/NAME.{key,pub}` with the binary.
    pub fn key(&self, name: &str) -> (PathBuf, PathBuf) {
        let prefix = self.path(&format!("keys/{name}"));
        std::fs::create_dir_all(prefix.parent().unwrap()).unwrap();
        if !prefix.with_extension("key").exists() {
            modelseal()
                .args(["keygen", "--no-passphrase", "--out"])
                .arg(&prefix)
                .assert()
                .success();
        }
        (prefix.with_extension("key"), prefix.with_extension("pub"))
    }

    /// A model directory with a manifest, signed by key `release`.
    pub fn signed_model(&self) -> (PathBuf, PathBuf) {
        let dir = self.model();
        let (key, public) = self.key("release");
        modelseal()
            .args(["init", "--name", "acme/tiny", "--version", "1.0.0"])
            .arg(&dir)
            .assert()
            .success();
        modelseal()
            .args(["sign", "--signer", "Release"])
            .arg(&dir)
            .arg("--key")
            .arg(&key)
            .assert()
            .success();
        (dir, public)
    }
}

pub fn write(path: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

/// Deterministic bytes.
pub fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[1] ^ seed)
        .collect()
}

/// Runs `verify --format json` and returns the parsed report and exit code.
pub fn verify_json(dir: &Path, extra: &[&str]) -> (serde_json::Value, i32) {
    let out = modelseal()
        .arg("verify")
        .arg(dir)
        .args(["--format", "json"])
        .args(extra)
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    (json, out.status.code().unwrap_or(-1))
}

/// The kinds of the problems in a JSON report, with their paths.
pub fn problems(report: &serde_json::Value) -> Vec<(String, String)> {
    report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["kind"].as_str().unwrap().to_string(),
                p["path"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Asserts that verifying `dir` at level 0 fails with exactly one problem of
/// `kind` on `path`, in JSON and in text.
pub fn assert_single_problem(dir: &Path, kind: &str, path: &str) {
    let (report, code) = verify_json(dir, &["--level", "0"]);
    assert_eq!(code, 1, "{report}");
    assert_eq!(report["ok"], false);
    assert_eq!(report["level"]["reached"], serde_json::Value::Null);
    assert_eq!(
        problems(&report),
        vec![(kind.to_string(), path.to_string())],
        "{report}"
    );
    let text = modelseal()
        .arg("verify")
        .arg(dir)
        .args(["--level", "0"])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8_lossy(&text);
    assert!(text.contains(kind) && text.contains(path), "{text}");
    assert!(text.contains("FAILED"), "{text}");
}

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Copies a directory tree (regular files only).
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// The committed TEST-ONLY key pair and trust policy.
pub fn test_key() -> (PathBuf, PathBuf) {
    (
        repo().join("fixtures/keys/test-release.key"),
        repo().join("fixtures/keys/trust.toml"),
    )
}

/// Runs `update` then `sign` with the test key: the release step after an edit.
pub fn update_and_sign(dir: &Path) {
    let (key, _) = test_key();
    modelseal().arg("update").arg(dir).assert().success();
    sign_with(dir, &key);
}

impl Scratch {
    /// Like [`Scratch::signed_model`], for a model directory at `dir`.
    pub fn signed_model_in(&self, dir: &Path) -> (PathBuf, PathBuf) {
        write(&dir.join("model.safetensors"), &pattern(1000, 2));
        write(&dir.join("README.md"), b"# m\n");
        let (key, public) = self.key("release");
        modelseal()
            .args(["init", "--name", "acme/tiny", "--version", "1.0.0"])
            .arg(dir)
            .assert()
            .success();
        sign_with(dir, &key);
        (dir.to_path_buf(), public)
    }
}

/// Whether the tests run as root (CI does), who reads and writes anything.
pub fn running_as_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// `modelseal init DIR`, which must succeed.
pub fn init(dir: &Path) {
    modelseal().arg("init").arg(dir).assert().success();
}

/// `modelseal sign DIR --key KEY`, which must succeed.
pub fn sign_with(dir: &Path, key: &Path) {
    modelseal()
        .arg("sign")
        .arg(dir)
        .arg("--key")
        .arg(key)
        .assert()
        .success();
}

/// A Hub cache: `models--acme--tiny/{blobs,snapshots/REV}` with links.
#[cfg(unix)]
pub fn hub_cache(s: &Scratch) -> (std::path::PathBuf, std::path::PathBuf) {
    use std::os::unix::fs::symlink;
    let repo = s.path("hub/models--acme--tiny");
    let snapshot = repo.join("snapshots/0123456789abcdef0123456789abcdef01234567");
    std::fs::create_dir_all(repo.join("blobs")).unwrap();
    std::fs::create_dir_all(&snapshot).unwrap();
    let weights = pattern(50_000, 4);
    let weights_blob = modelseal::digest::Sha256Digest::of(&weights).to_hex();
    std::fs::write(repo.join("blobs").join(&weights_blob), &weights).unwrap();
    std::fs::write(
        repo.join("blobs/1f2e3d4c5b6a79881f2e3d4c5b6a79881f2e3d4c"),
        b"{\"model_type\": \"gpt2\"}\n",
    )
    .unwrap();
    symlink(
        format!("../../blobs/{weights_blob}"),
        snapshot.join("model.safetensors"),
    )
    .unwrap();
    symlink(
        "../../blobs/1f2e3d4c5b6a79881f2e3d4c5b6a79881f2e3d4c",
        snapshot.join("config.json"),
    )
    .unwrap();
    (repo, snapshot)
}
