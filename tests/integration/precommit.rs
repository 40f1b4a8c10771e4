//! The real `pre-commit` (from PyPI) running modelseal as a hook: a commit
//! with stale weights is refused; after update and sign it is accepted.

use crate::common::*;
use std::path::Path;
use std::process::{Command as Process, Output};

fn git(dir: &Path, args: &[&str]) -> Output {
    Process::new("git")
        .args([
            "-c",
            "user.name=Test",
            "-c",
            "user.email=test@example.com",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .current_dir(dir)
        .env("MODELSEAL_CACHE_DIR", dir.join("../cache"))
        .env_remove("GIT_DIR")
        .output()
        .expect("git runs")
}

fn pre_commit() -> String {
    // .ci/run installs pre-commit from PyPI; a developer may have it on PATH.
    let found = Process::new("pre-commit").arg("--version").output();
    assert!(
        found.is_ok_and(|o| o.status.success()),
        "pre-commit is not installed: `python3 -m pip install pre-commit` (as .ci/run does)"
    );
    "pre-commit".into()
}

#[test]
fn the_hook_manifest_of_this_repository_is_valid() {
    let out = Process::new(pre_commit())
        .args(["validate-manifest", ".pre-commit-hooks.yaml"])
        .current_dir(repo())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn pre_commit_refuses_stale_weights_and_accepts_them_after_update_and_sign() {
    let s = Scratch::new();
    let repo_dir = s.path("repo");
    let model = repo_dir.join("model");
    write(&model.join("model.safetensors"), &pattern(10_000, 1));
    write(&model.join("config.json"), b"{}\n");
    let (key, _) = s.key("release");
    let bin = assert_cmd::cargo::cargo_bin("modelseal");
    write(
        &repo_dir.join(".pre-commit-config.yaml"),
        format!(
            "repos:\n- repo: local\n  hooks:\n  - id: modelseal-check\n    name: modelseal check\n    entry: {} check\n    language: system\n    pass_filenames: true\n",
            bin.display()
        )
        .as_bytes(),
    );
    assert!(git(&repo_dir, &["init", "-q"]).status.success());
    let installed = Process::new(pre_commit())
        .arg("install")
        .current_dir(&repo_dir)
        .env("PRE_COMMIT_HOME", s.path("pre-commit-home"))
        .output()
        .unwrap();
    assert!(
        installed.status.success(),
        "{}",
        String::from_utf8_lossy(&installed.stderr)
    );
    init(&model);
    sign_with(&model, &key);

    let commit = |message: &str| {
        git(&repo_dir, &["add", "-A"]);
        let mut cmd = Process::new("git");
        cmd.args([
            "-c",
            "user.name=Test",
            "-c",
            "user.email=test@example.com",
            "commit",
            "-q",
            "-m",
            message,
        ])
        .current_dir(&repo_dir)
        .env("PRE_COMMIT_HOME", s.path("pre-commit-home"))
        .env("MODELSEAL_CACHE_DIR", s.path("cache"));
        cmd.output().unwrap()
    };
    let first = commit("signed model");
    assert!(
        first.status.success(),
        "{}{}",
        String::from_utf8_lossy(&first.stdout),
        String::from_utf8_lossy(&first.stderr)
    );

    // New weights, manifest not updated: refused, with the fix named.
    write(&model.join("model.safetensors"), &pattern(10_000, 2));
    let stale = commit("retrained");
    assert!(
        !stale.status.success(),
        "a commit with stale weights went through"
    );
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&stale.stdout),
        String::from_utf8_lossy(&stale.stderr)
    );
    assert!(
        said.contains("hash_mismatch") && said.contains("modelseal update"),
        "{said}"
    );

    // Updated but not re-signed: still refused (the signature no longer verifies).
    modelseal().arg("update").arg(&model).assert().success();
    let unsigned = commit("retrained, updated");
    assert!(!unsigned.status.success());
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&unsigned.stdout),
        String::from_utf8_lossy(&unsigned.stderr)
    );
    assert!(said.contains("bad_signature"), "{said}");

    sign_with(&model, &key);
    let fixed = commit("retrained, updated and signed");
    assert!(
        fixed.status.success(),
        "{}",
        String::from_utf8_lossy(&fixed.stdout)
    );
}
