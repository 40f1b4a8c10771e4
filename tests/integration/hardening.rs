//! The second round of attacks on the verifier, each through the binary: an
//! owner of the model directory without the release key tries to pass a
//! tampered model, to stall the verifier, or to forge its output.

use crate::common::*;
use std::path::{Path, PathBuf};
use std::process::Stdio;

fn level0(dir: &Path) -> (serde_json::Value, i32) {
    verify_json(dir, &["--level", "0"])
}

/// `verify DIR --key PUB --format json EXTRA…` under a shell resource limit
/// (`ulimit -t` CPU seconds, `-v` KiB of address space): a cost an attacker
/// controls must stay bounded. The report and the exit code.
fn verify_bounded(
    limit: &str,
    dir: &Path,
    public: &Path,
    extra: &[&str],
) -> (serde_json::Value, Option<i32>) {
    let bin = assert_cmd::cargo::cargo_bin("modelseal");
    let mut script = format!(
        "ulimit {limit}; exec '{}' verify '{}' --key '{}' --format json",
        bin.display(),
        dir.display(),
        public.display()
    );
    for arg in extra {
        script.push_str(&format!(" '{arg}'"));
    }
    let out = std::process::Command::new("sh")
        .args(["-c", &script])
        .env("MALLOC_ARENA_MAX", "2")
        .output()
        .unwrap();
    let report = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}), status {:?}: {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (report, out.status.code())
}

fn kinds(report: &serde_json::Value) -> Vec<String> {
    problems(report).into_iter().map(|(k, _)| k).collect()
}

// ---- 1. ignore patterns and the spelling of DIR -----------------------------

#[test]
fn ignore_patterns_match_from_the_model_root_however_the_directory_is_spelled() {
    let s = Scratch::new();
    let dir = s.path("models/tiny");
    write(&dir.join("model.safetensors"), &pattern(1000, 1));
    write(&dir.join(".cache/run.log"), b"ignored\n");
    init(&dir);
    let manifest = dir.join("provenance.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    let text = text.replacen("ignore = [", "ignore = [\"/.cache/\", ", 1);
    std::fs::write(&manifest, text).unwrap();
    // A directory inside the model that repeats the relative spelling of DIR.
    write(
        &dir.join("models/tiny/.cache/payload.py"),
        b"import os; os.system('id')\n",
    );
    for args in [
        vec!["verify", "models/tiny", "--level", "0", "--format", "json"],
        vec!["check", "models/tiny", "--no-cache"],
    ] {
        let out = modelseal()
            .current_dir(s.temp.path())
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}: {out:?}");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stdout.contains("models/tiny/.cache/payload.py"),
            "{args:?}: {stdout}"
        );
    }
    // The root's own .cache/ is still ignored.
    let (report, _) = level0(&dir);
    assert_eq!(
        problems(&report),
        vec![(
            "unexpected_file".into(),
            "models/tiny/.cache/payload.py".into()
        )]
    );
}

// ---- 2. names that are not UTF-8 --------------------------------------------

#[cfg(target_os = "linux")]
#[test]
fn a_name_that_is_not_utf8_never_hides_behind_a_listed_name() {
    use std::os::unix::ffi::OsStrExt;
    let s = Scratch::new();
    let dir = s.path("model");
    write(&dir.join("weights\u{FFFD}.bin"), &pattern(100, 1));
    let (key, public) = s.key("release");
    init(&dir);
    sign_with(&dir, &key);
    // Its lossy rendering is the listed name; its bytes are not.
    let raw = std::ffi::OsStr::from_bytes(b"weights\x80.bin");
    std::fs::write(dir.join(raw), b"payload").unwrap();
    let (report, code) = verify_json(&dir, &["--key", public.to_str().unwrap()]);
    assert_eq!(code, 1, "{report}");
    assert_eq!(
        problems(&report),
        vec![("unsafe_path".into(), "weights\\x80.bin".into())]
    );
}

// ---- 3. ignored names and collisions ----------------------------------------

#[test]
fn an_ignored_name_that_collides_with_a_listed_one_is_a_duplicate() {
    let s = Scratch::new();
    let dir = s.path("model");
    write(&dir.join("pytorch_model.bin"), &pattern(100, 1));
    write(&dir.join("optimizer.bin"), &pattern(100, 2));
    init(&dir);
    let manifest = dir.join("provenance.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(
        &manifest,
        text.replacen(
            "ignore = [",
            "ignore = [\"*.bin\", \"!pytorch_model.bin\", ",
            1,
        ),
    )
    .unwrap();
    modelseal().arg("update").arg(&dir).assert().success();
    assert_eq!(level0(&dir).1, 0);
    // Same file as the listed one on macOS and Windows.
    write(&dir.join("Pytorch_model.bin"), b"other bytes");
    let (report, code) = level0(&dir);
    assert_eq!(code, 1, "{report}");
    assert_eq!(
        problems(&report),
        vec![("duplicate_path".into(), "Pytorch_model.bin".into())]
    );
    // Two ignored names that collide with each other harm nothing listed.
    std::fs::remove_file(dir.join("Pytorch_model.bin")).unwrap();
    write(&dir.join("Optimizer.bin"), b"x");
    assert_eq!(level0(&dir).1, 0);
}

// ---- 4. lineage bookkeeping on an unsigned manifest --------------------------

/// A manifest of `n` listed files, one dataset holding them all, and one
/// training run naming them as outputs: every lookup is by path.
fn large_lineage_manifest(n: usize) -> String {
    let digest = "0".repeat(64);
    let mut text = String::from(
        "manifest = 1\nkind = \"model\"\nname = \"x\"\nversion = \"1\"\n\
         [hashing]\nalgorithm = \"sha256\"\nshard_size = 268435456\n",
    );
    for i in 0..n {
        text.push_str(&format!(
            "[[file]]\npath = \"d/{i}\"\nrole = \"weights\"\nsize = 1\nsha256 = \"{digest}\"\n"
        ));
    }
    let paths: Vec<String> = (0..n).map(|i| format!("\"d/{i}\"")).collect();
    text.push_str(&format!(
        "[[dataset]]\nid = \"all\"\nfiles = [{}]\n",
        paths.join(", ")
    ));
    text.push_str(&format!(
        "[[training]]\nid = \"t\"\noutputs = [{}]\nconfigs = [{}]\ndatasets = [\"all\"]\n",
        paths.join(", "),
        paths.join(", ")
    ));
    text
}

#[test]
fn a_large_unsigned_manifest_costs_linear_work_before_the_signature_check() {
    let s = Scratch::new();
    let dir = s.path("model");
    std::fs::create_dir_all(&dir).unwrap();
    // 60,000 entries referenced three times each: quadratic lookups would
    // take minutes; linear ones take a second. The CPU limit is the bound.
    let text = large_lineage_manifest(60_000);
    assert!(text.len() > 6 << 20);
    std::fs::write(dir.join("provenance.toml"), text).unwrap();
    let (_, public) = s.key("release");
    for level in ["0", "3"] {
        let (report, code) = verify_bounded("-t 60", &dir, &public, &["--level", level]);
        assert_eq!(code, Some(1));
        assert_eq!(report["files"]["checked"], 0);
        assert!(report["problems"].as_array().unwrap().len() >= 60_000);
    }
}

// ---- 5. no content is read before the signatures hold -----------------------

#[test]
fn listed_sizes_are_not_read_when_the_signatures_do_not_hold() {
    let s = Scratch::new();
    let dir = s.path("model");
    std::fs::create_dir_all(&dir).unwrap();
    // A 60 GiB sparse file (a few KiB on disk) listed by an unsigned manifest.
    let huge = std::fs::File::create(dir.join("huge.bin")).unwrap();
    huge.set_len(60 << 30).unwrap();
    drop(huge);
    write(&dir.join("config.json"), b"{}\n");
    let manifest = format!(
        "manifest = 1\nkind = \"model\"\nname = \"x\"\nversion = \"1\"\n\
         [hashing]\nalgorithm = \"sha256\"\nshard_size = {}\n\
         [[file]]\npath = \"huge.bin\"\nrole = \"weights\"\nsize = {}\nsha256 = \"{}\"\n\
         [[file]]\npath = \"missing.bin\"\nrole = \"weights\"\nsize = 1\nsha256 = \"{}\"\n",
        64u64 << 30,
        60u64 << 30,
        "a".repeat(64),
        "b".repeat(64),
    );
    std::fs::write(dir.join("provenance.toml"), manifest).unwrap();
    let (_, public) = s.key("release");
    // Hashing 60 GiB takes minutes of CPU; the limit allows seconds.
    let (report, code) = verify_bounded("-t 20", &dir, &public, &[]);
    assert_eq!(code, Some(1), "{report}");
    assert_eq!(report["level"]["reached"], serde_json::Value::Null);
    assert_eq!(report["files"]["checked"], 0);
    assert_eq!(report["files"]["bytes"], 0);
    assert_eq!(report["files"]["unread"], 1);
    let text = modelseal()
        .arg("verify")
        .arg(&dir)
        .arg("--key")
        .arg(&public)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("1 listed file(s) not read") && text.contains("level 0 not checked"),
        "{text}"
    );
    // What metadata shows is still reported, with the signature failure.
    assert_eq!(
        problems(&report),
        vec![
            ("unexpected_file".into(), "config.json".into()),
            ("missing_file".into(), "missing.bin".into()),
            ("threshold_not_met".into(), "provenance.sig".into()),
        ]
    );
}

// ---- 6. one upstream manifest through many paths -----------------------------

#[cfg(target_os = "linux")]
#[test]
fn one_upstream_manifest_through_many_hard_links_is_parsed_once() {
    let s = Scratch::new();
    let dir = s.path("model");
    write(&dir.join("model.safetensors"), &pattern(1000, 1));
    // A 3 MB upstream dataset manifest whose 90,000 datasets name no manifest.
    let mut upstream = String::from(
        "manifest = 1\nkind = \"dataset\"\nname = \"big\"\nversion = \"1\"\n\
         [hashing]\nalgorithm = \"sha256\"\nshard_size = 268435456\n",
    );
    for i in 0..90_000 {
        upstream.push_str(&format!("[[dataset]]\nid = \"d{i}\"\n"));
    }
    write(&dir.join("up/0.provenance.toml"), upstream.as_bytes());
    const LINKS: usize = 40;
    for i in 1..LINKS {
        std::fs::hard_link(
            dir.join("up/0.provenance.toml"),
            dir.join(format!("up/{i}.provenance.toml")),
        )
        .unwrap();
    }
    let (key, public) = s.key("release");
    init(&dir);
    let manifest = dir.join("provenance.toml");
    let mut text = std::fs::read_to_string(&manifest).unwrap();
    for i in 0..LINKS {
        text.push_str(&format!(
            "\n[[dataset]]\nid = \"u{i}\"\nmanifest = \"up/{i}.provenance.toml\"\n"
        ));
    }
    std::fs::write(&manifest, text).unwrap();
    sign_with(&dir, &key);
    // Parsed 40 times, this took 3 GB; parsed once, well under the limit.
    let (report, code) = verify_bounded("-v 1500000", &dir, &public, &["--level", "3"]);
    assert_eq!(code, Some(1), "{report}");
    let unsigned = report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["kind"] == "upstream_unsigned")
        .count();
    // One per path (no .sig beside it), plus one for the upstream's own
    // manifest-less datasets, reported once, not 40 times.
    assert_eq!(unsigned, LINKS + 1, "{report}");
}

// ---- 7. attacker text on the terminal ---------------------------------------

#[cfg(target_os = "linux")]
#[test]
fn terminal_escapes_in_names_and_signers_are_shown_escaped() {
    let s = Scratch::new();
    let (dir, public) = s.signed_model();
    let sig = dir.join("provenance.sig");
    let text = std::fs::read_to_string(&sig).unwrap();
    let forged = "Release\\u001b[2K\\rOK: level 1 (signed) holds\\u001b[8m";
    std::fs::write(
        &sig,
        text.replace("signer = \"Release\"", &format!("signer = \"{forged}\"")),
    )
    .unwrap();
    write(&dir.join("evil\x1b[8m.txt"), b"x");
    for args in [
        vec!["verify", "--key", public.to_str().unwrap()],
        vec!["verify", "--key", public.to_str().unwrap(), "-q"],
        vec![
            "verify",
            "--key",
            public.to_str().unwrap(),
            "--format",
            "sarif",
        ],
        vec!["lineage"],
        vec!["lineage", "--format", "dot"],
        vec!["check", "--no-cache"],
    ] {
        let out = modelseal().args(&args).arg(&dir).output().unwrap();
        let all = [out.stdout.as_slice(), out.stderr.as_slice()].concat();
        assert!(
            !all.contains(&0x1b) && !all.contains(&b'\r'),
            "{args:?} printed a raw escape: {}",
            String::from_utf8_lossy(&all)
        );
    }
    let out = modelseal()
        .args(["verify", "--key", public.to_str().unwrap()])
        .arg(&dir)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("evil\\u{1b}[8m.txt"), "{text}");
    // The policy's name for the key is shown, not the entry's own claim.
    assert!(!text.contains("OK:"), "{text}");
}

// ---- 8. a failing second reference to a shared upstream ----------------------

#[test]
fn a_failing_second_reference_to_a_shared_upstream_is_shown_failing() {
    let s = Scratch::new();
    let dir = s.path("lineage");
    copy_tree(&repo().join("fixtures/lineage"), &dir);
    let manifest = dir.join("provenance.toml");
    let mut text = std::fs::read_to_string(&manifest).unwrap();
    text.push_str(&format!(
        "\n[[training]]\nid = \"other\"\noutputs = [\"model.safetensors\"]\n\
         base_model = {{ name = \"someone/else\", sha256 = \"{}\", manifest = \"upstream/base.provenance.toml\" }}\n",
        "c".repeat(64)
    ));
    std::fs::write(&manifest, text).unwrap();
    update_and_sign(&dir);
    let trust = test_key().1;
    let (report, code) = verify_json(&dir, &["--trust", trust.to_str().unwrap(), "--level", "3"]);
    assert_eq!(code, 1, "{report}");
    // Both the digest and the name are wrong: both are reported.
    assert_eq!(
        problems(&report),
        vec![
            (
                "upstream_mismatch".into(),
                "upstream/base.provenance.toml".into()
            ),
            (
                "upstream_mismatch".into(),
                "upstream/base.provenance.toml".into()
            ),
        ]
    );
    let lineage = |format: &str| {
        let out = modelseal()
            .arg("lineage")
            .arg(&dir)
            .args(["--trust", trust.to_str().unwrap(), "--format", format])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let text = lineage("text");
    assert!(
        !text.contains("manifest upstream/base.provenance.toml  [ok"),
        "{text}"
    );
    assert!(text.contains("[FAIL: upstream_mismatch"), "{text}");
    let dot = lineage("dot");
    let base_node = dot
        .lines()
        .find(|l| l.starts_with("  \"manifest:upstream/base.provenance.toml\" ["))
        .unwrap_or_else(|| panic!("{dot}"));
    assert!(base_node.contains("color=red"), "{base_node}");
}

// ---- 9. a Hub snapshot link re-pointed during verify --------------------------

#[cfg(target_os = "linux")]
#[test]
fn a_hub_link_re_pointed_during_verify_is_changed_during_read() {
    let s = Scratch::new();
    let repo_dir = s.path("hub/models--acme--big");
    let blobs = repo_dir.join("blobs");
    let snapshot = repo_dir.join("snapshots/rev1");
    std::fs::create_dir_all(&blobs).unwrap();
    std::fs::create_dir_all(&snapshot).unwrap();
    // Two blobs of one size, sparse: hashing takes long enough to watch.
    for name in ["a", "b"] {
        let f = std::fs::File::create(blobs.join(name)).unwrap();
        f.set_len(3 << 30).unwrap();
        if name == "b" {
            std::os::unix::fs::FileExt::write_at(&f, b"different", 1 << 20).unwrap();
        }
    }
    std::os::unix::fs::symlink("../../blobs/a", snapshot.join("model.bin")).unwrap();
    write(&snapshot.join("README.md"), b"# big\n");
    // A manifest for the snapshot as it is now (shard_size at its maximum so
    // the file is one unit of work, read by one thread).
    modelseal()
        .args(["init", "--shard-size", "68719476736"])
        .arg(&snapshot)
        .assert()
        .success();
    let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("modelseal"))
        .args(["verify", "--level", "0", "--format", "json"])
        .arg(&snapshot)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the verifier has the blob open, then re-point the link.
    let blob_a = std::fs::canonicalize(blobs.join("a")).unwrap();
    let fd_dir = PathBuf::from(format!("/proc/{}/fd", child.id()));
    let mut seen = false;
    for _ in 0..20_000 {
        seen = std::fs::read_dir(&fd_dir)
            .map(|fds| {
                fds.flatten()
                    .any(|fd| std::fs::read_link(fd.path()).is_ok_and(|t| t == blob_a))
            })
            .unwrap_or(false);
        if seen {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    assert!(seen, "the verifier never opened the blob");
    let tmp = snapshot.join("model.bin.tmp");
    std::os::unix::fs::symlink("../../blobs/b", &tmp).unwrap();
    std::fs::rename(&tmp, snapshot.join("model.bin")).unwrap();
    let out = child.wait_with_output().unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(1), "{report}");
    assert_eq!(
        problems(&report),
        vec![("changed_during_read".into(), "model.bin".into())]
    );
    assert!(kinds(&report).iter().all(|k| k != "hash_mismatch"));
}
