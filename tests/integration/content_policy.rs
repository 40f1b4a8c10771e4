//! The `[content]` policy of trust.toml (SPEC 18.7) and `init`'s warning
//! (SPEC 18.8), with the real binary: kinds that only warn, a reviewed file
//! allowed by its digest and by nothing else, a policy that turns inspection
//! on, hostile policies refused with their line.

use crate::common::*;
use sha2::Digest as _;
use std::path::{Path, PathBuf};

fn sample(rel: &str) -> PathBuf {
    repo().join("fixtures/inspect").join(rel)
}

fn sha256_hex(path: &Path) -> String {
    hex::encode(sha2::Sha256::digest(std::fs::read(path).unwrap()))
}

/// A signed model holding the `os.system` pickle as `pytorch_model.bin`.
fn signed_pickled_model(s: &Scratch) -> (PathBuf, PathBuf) {
    let dir = s.path("pickled");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(
        sample("pickle/os_system_reduce.pkl"),
        dir.join("pytorch_model.bin"),
    )
    .unwrap();
    s.signed_model_in(&dir)
}

/// A trust.toml trusting `public`, with `content` appended (each call a
/// new file, so earlier ones stay as they were).
fn trust_file(s: &Scratch, public: &Path, content: &str) -> PathBuf {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = s.path(&format!("policy{n}/trust.toml"));
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let text = format!(
        "threshold = 1\n[[key]]\nname = \"release\"\npublic_key = \"{}\"\n{content}",
        public.display()
    );
    std::fs::write(&path, text).unwrap();
    path
}

fn verify_with(dir: &Path, trust: &Path, extra: &[&str]) -> (i32, serde_json::Value, String) {
    let out = modelseal()
        .arg("verify")
        .arg(dir)
        .arg("--trust")
        .arg(trust)
        .args(["--format", "json"])
        .args(extra)
        .output()
        .unwrap();
    let report = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
    // With --format json an input error is a JSON object on stdout.
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap(), report, said)
}

#[test]
fn a_kind_listed_under_warn_is_reported_and_fails_nothing() {
    let s = Scratch::new();
    let (dir, public) = signed_pickled_model(&s);
    let trust = trust_file(&s, &public, "[content]\nwarn = [\"unsafe_pickle\"]\n");
    let (code, report, _) = verify_with(&dir, &trust, &["--inspect"]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["ok"], true);
    let content = report["content"].as_array().unwrap();
    assert_eq!(content.len(), 1, "{report}");
    assert_eq!(content[0]["kind"], "unsafe_pickle");
    assert_eq!(content[0]["action"], "warn");
    // Another kind still fails: warn names kinds, it is not an off switch.
    let trust = trust_file(&s, &public, "[content]\nwarn = [\"malformed_onnx\"]\n");
    let (code, report, _) = verify_with(&dir, &trust, &["--inspect"]);
    assert_eq!(code, 1, "{report}");
    assert_eq!(report["content"][0]["action"], "fail");
}

#[test]
fn a_reviewed_file_is_allowed_by_its_digest_and_by_nothing_else() {
    let s = Scratch::new();
    let (dir, public) = signed_pickled_model(&s);
    let weights = dir.join("pytorch_model.bin");
    let digest = sha256_hex(&weights);
    let allow = |sha: &str, path: &str| {
        format!(
            "[[content.allow]]\nsha256 = \"{sha}\"\n{path}kinds = [\"unsafe_pickle\"]\nreason = \"reviewed by ml-sec in SEC-1\"\n"
        )
    };
    let trust = trust_file(
        &s,
        &public,
        &allow(&digest, "path = \"pytorch_model.bin\"\n"),
    );
    let (code, report, _) = verify_with(&dir, &trust, &["--inspect"]);
    assert_eq!(code, 0, "{report}");
    let finding = &report["content"][0];
    assert_eq!(finding["action"], "allowed", "{report}");
    assert_eq!(finding["allowed_by"], "reviewed by ml-sec in SEC-1");
    // The text report says who allowed it.
    let text = modelseal()
        .arg("verify")
        .arg(&dir)
        .arg("--trust")
        .arg(&trust)
        .arg("--inspect")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("(allowed: reviewed by ml-sec in SEC-1)"),
        "{text}"
    );
    // Another digest, or the same digest at another path: not allowed.
    let other = "0".repeat(64);
    let trust = trust_file(&s, &public, &allow(&other, ""));
    let (code, report, _) = verify_with(&dir, &trust, &["--inspect"]);
    assert_eq!((code, &report["content"][0]["action"]), (1, &"fail".into()));
    let trust = trust_file(&s, &public, &allow(&digest, "path = \"other.bin\"\n"));
    let (code, report, _) = verify_with(&dir, &trust, &["--inspect"]);
    assert_eq!((code, &report["content"][0]["action"]), (1, &"fail".into()));
    // The reviewed bytes changed (and re-signed): no longer the reviewed file.
    let trust = trust_file(&s, &public, &allow(&digest, ""));
    let mut bytes = std::fs::read(&weights).unwrap();
    bytes.extend_from_slice(b"\n");
    std::fs::write(&weights, bytes).unwrap();
    modelseal().arg("update").arg(&dir).assert().success();
    sign_with(&dir, &s.key("release").0);
    let (code, report, _) = verify_with(&dir, &trust, &["--inspect"]);
    assert_eq!(code, 1, "{report}");
    assert_eq!(report["level"]["reached"], 1, "{report}");
    assert!(
        report["content"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["action"] == "fail"),
        "{report}"
    );
}

#[test]
fn a_policy_with_inspect_true_inspects_without_the_flag() {
    let s = Scratch::new();
    let (dir, public) = signed_pickled_model(&s);
    let trust = trust_file(&s, &public, "[content]\ninspect = true\n");
    let (code, report, _) = verify_with(&dir, &trust, &[]);
    assert_eq!(code, 1, "{report}");
    assert_eq!(report["content"][0]["kind"], "unsafe_pickle");
    // Without the table, the same verify does not inspect.
    let plain = trust_file(&s, &public, "");
    let (code, report, _) = verify_with(&dir, &plain, &[]);
    assert_eq!(code, 0, "{report}");
    assert!(report.get("content").is_none(), "{report}");
    // And the policy's inspection is refused with a partition, as --inspect is.
    let (code, _, stderr) = verify_with(&dir, &trust, &["--partition", "0/2"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("[content] inspect = true"), "{stderr}");
}

#[test]
fn a_hostile_content_policy_is_refused_with_its_line() {
    let s = Scratch::new();
    let (dir, public) = signed_pickled_model(&s);
    let cases = [
        (
            "[content]\nwarn = [\"unsafe_pickles\"]\n",
            "unknown variant",
        ),
        ("[content]\nfail = [\"unsafe_pickle\"]\n", "unknown field"),
        (
            "[[content.allow]]\nsha256 = \"abc\"\nreason = \"r\"\n",
            "not a SHA-256 digest",
        ),
        (
            &format!(
                "[[content.allow]]\nsha256 = \"{}\"\nreason = \"  \"\n",
                "a".repeat(64)
            ),
            "gives no reason",
        ),
    ];
    for (content, said) in cases {
        let trust = trust_file(&s, &public, content);
        let (code, _, stderr) = verify_with(&dir, &trust, &["--inspect"]);
        assert_eq!(code, 2, "{content}: {stderr}");
        assert!(stderr.contains(said), "{content}: {stderr}");
        assert!(
            stderr.contains("trust.toml:"),
            "{content}: names the file and line: {stderr}"
        );
    }
}

#[test]
fn inspect_with_a_policy_judges_by_it_and_prints_the_digest_to_pin() {
    let s = Scratch::new();
    let dir = s.path("loose");
    std::fs::create_dir_all(&dir).unwrap();
    let evil = dir.join("evil.pkl");
    std::fs::copy(sample("pickle/os_system_reduce.pkl"), &evil).unwrap();
    let digest = sha256_hex(&evil);
    let (_, public) = s.key("release");
    // Without a policy: unsafe, with the digest a reviewer would pin.
    let out = modelseal().arg("inspect").arg(&dir).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(&format!("UNSAFE sha256:{digest}")), "{text}");
    // Allowed by that digest at that path, relative to the directory given.
    let trust = trust_file(
        &s,
        &public,
        &format!(
            "[[content.allow]]\nsha256 = \"{digest}\"\npath = \"evil.pkl\"\nreason = \"SEC-2\"\n"
        ),
    );
    let out = modelseal()
        .arg("inspect")
        .arg(&dir)
        .arg("--trust")
        .arg(&trust)
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let file = &report["files"][0];
    assert_eq!(file["verdict"], "warn", "{report}");
    assert_eq!(file["sha256"], digest.as_str());
    assert_eq!(file["problems"][0]["action"], "allowed");
    assert_eq!(report["counts"]["warn"], 1);
    assert_eq!(report["ok"], true);
}

/// A protocol-3 pickle larger than one 64 KiB read: a 100 KB payload, then
/// `posix.system("true")`. Inspected from its file, not the hashing buffer.
fn large_malicious_pickle() -> Vec<u8> {
    let mut p = b"\x80\x03B".to_vec();
    p.extend_from_slice(&100_000u32.to_le_bytes());
    p.extend(std::iter::repeat_n(b'x', 100_000));
    p.extend_from_slice(b"0cposix\nsystem\nX\x04\x00\x00\x00true\x85R.");
    p
}

#[test]
fn init_warns_of_each_unsafe_file_it_lists_and_still_lists_it() {
    let s = Scratch::new();
    let dir = s.path("model");
    write(&dir.join("config.json"), b"{}\n");
    std::fs::copy(sample("pickle/os_system_reduce.pkl"), dir.join("small.bin")).unwrap();
    write(&dir.join("sub/large.pt"), &large_malicious_pickle());
    write(&dir.join("floats.bin"), &pattern(200_000, 3));
    let out = modelseal()
        .args(["init", "--quiet", "--name", "acme/x", "--version", "1"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("warning: 2 listed file(s) may be unsafe to load"),
        "{stderr}"
    );
    for path in ["small.bin", "sub/large.pt"] {
        assert!(
            stderr.lines().any(|l| l.contains("unsafe_pickle")
                && l.contains(path)
                && l.contains("posix.system")),
            "{path}: {stderr}"
        );
    }
    assert!(!stderr.contains("floats.bin"), "{stderr}");
    let manifest = std::fs::read_to_string(dir.join("provenance.toml")).unwrap();
    assert!(manifest.contains("small.bin") && manifest.contains("sub/large.pt"));
    // A clean directory: no warning.
    let clean = s.path("clean");
    write(&clean.join("config.json"), b"{}\n");
    let out = modelseal()
        .args(["init", "--name", "acme/y", "--version", "1"])
        .arg(&clean)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(!String::from_utf8_lossy(&out.stderr).contains("warning"));
}
