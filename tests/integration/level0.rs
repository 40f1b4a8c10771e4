//! Level 0 (intact): every file problem kind, named in JSON and text.

use crate::common::*;
use std::path::Path;

fn sealed_model(s: &Scratch) -> std::path::PathBuf {
    let dir = s.model();
    init(&dir);
    dir
}

fn edit_manifest(dir: &Path, edit: impl FnOnce(String) -> String) {
    let path = dir.join("provenance.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, edit(text)).unwrap();
}

#[test]
fn missing_file_is_named() {
    let s = Scratch::new();
    let dir = sealed_model(&s);
    std::fs::remove_file(dir.join("config.json")).unwrap();
    assert_single_problem(&dir, "missing_file", "config.json");
}

#[test]
fn unexpected_file_is_named_and_ignore_patterns_apply() {
    let s = Scratch::new();
    let dir = sealed_model(&s);
    write(&dir.join("extra/smuggled.bin"), b"payload");
    assert_single_problem(&dir, "unexpected_file", "extra/smuggled.bin");
    edit_manifest(&dir, |t| {
        t.replace("ignore = []", "ignore = [\"extra/*.bin\"]")
    });
    let (report, code) = verify_json(&dir, &["--level", "0"]);
    assert_eq!(code, 0, "{report}");
}

#[test]
fn ignore_patterns_do_not_hide_listed_files() {
    let s = Scratch::new();
    let dir = sealed_model(&s);
    edit_manifest(&dir, |t| {
        t.replace("ignore = []", "ignore = [\"*.safetensors\"]")
    });
    write(&dir.join("model.safetensors"), &pattern(40_000, 9));
    assert_single_problem(&dir, "hash_mismatch", "model.safetensors");
}

#[test]
fn size_mismatch_is_named() {
    let s = Scratch::new();
    let dir = sealed_model(&s);
    let mut bytes = std::fs::read(dir.join("model.safetensors")).unwrap();
    bytes.push(0);
    std::fs::write(dir.join("model.safetensors"), bytes).unwrap();
    assert_single_problem(&dir, "size_mismatch", "model.safetensors");
}

#[test]
fn hash_mismatch_is_named() {
    let s = Scratch::new();
    let dir = sealed_model(&s);
    let mut bytes = std::fs::read(dir.join("model.safetensors")).unwrap();
    bytes[12_345] ^= 0x80;
    std::fs::write(dir.join("model.safetensors"), bytes).unwrap();
    assert_single_problem(&dir, "hash_mismatch", "model.safetensors");
}

#[cfg(unix)]
#[test]
fn symlink_is_reported_and_never_followed() {
    let s = Scratch::new();
    let dir = sealed_model(&s);
    // Replace a listed file by a link to an identical copy outside the model:
    // following it would pass, so it must not be followed.
    let outside = s.path("outside-copy.json");
    std::fs::copy(dir.join("config.json"), &outside).unwrap();
    std::fs::remove_file(dir.join("config.json")).unwrap();
    std::os::unix::fs::symlink(&outside, dir.join("config.json")).unwrap();
    assert_single_problem(&dir, "symlink", "config.json");
}

#[cfg(unix)]
#[test]
fn unlisted_symlink_is_reported() {
    let s = Scratch::new();
    let dir = sealed_model(&s);
    std::os::unix::fs::symlink("/etc/passwd", dir.join("passwd")).unwrap();
    assert_single_problem(&dir, "symlink", "passwd");
}

#[cfg(unix)]
#[test]
fn fifo_is_a_special_file_and_never_hangs_verify() {
    let s = Scratch::new();
    let dir = sealed_model(&s);
    std::fs::remove_file(dir.join("config.json")).unwrap();
    let status = std::process::Command::new("mkfifo")
        .arg(dir.join("config.json"))
        .status()
        .unwrap();
    assert!(status.success());
    // The helper's 60 s timeout turns a hang into a failure.
    assert_single_problem(&dir, "special_file", "config.json");
}

#[test]
fn unsafe_path_in_the_manifest_is_never_opened() {
    let s = Scratch::new();
    let dir = sealed_model(&s);
    // A file outside the model that would match the entry if it were read.
    write(&s.path("outside.txt"), b"notes\n");
    edit_manifest(&dir, |t| {
        t.replace("path = \"extra/notes.txt\"", "path = \"../outside.txt\"")
    });
    std::fs::remove_file(dir.join("extra/notes.txt")).unwrap();
    let (report, code) = verify_json(&dir, &["--level", "0"]);
    assert_eq!(code, 1);
    assert_eq!(
        problems(&report),
        vec![("unsafe_path".into(), "../outside.txt".into())]
    );
    assert_eq!(report["files"]["checked"], 4);
}

#[cfg(unix)]
#[test]
fn unsafe_name_in_the_directory_is_named() {
    let s = Scratch::new();
    let dir = sealed_model(&s);
    write(&dir.join("evil\\name.bin"), b"x");
    assert_single_problem(&dir, "unsafe_path", "evil\\name.bin");
}

#[test]
fn duplicate_entries_in_the_manifest_are_named() {
    let s = Scratch::new();
    let dir = sealed_model(&s);
    edit_manifest(&dir, |t| {
        let start = t.find("[[file]]\npath = \"config.json\"").unwrap();
        let end = start + t[start..].find("\n\n").unwrap();
        let entry = t[start..end].to_string();
        format!("{t}\n{entry}\n")
    });
    assert_single_problem(&dir, "duplicate_path", "config.json");
}

#[cfg(target_os = "linux")]
#[test]
fn names_that_collide_on_macos_and_windows_are_duplicates() {
    let s = Scratch::new();
    let dir = s.path("m");
    write(&dir.join("Weights.bin"), b"a");
    write(&dir.join("weights.bin"), b"b");
    // init refuses to seal a directory with colliding names.
    modelseal().arg("init").arg(&dir).assert().code(2);
    std::fs::remove_file(dir.join("weights.bin")).unwrap();
    init(&dir);
    write(&dir.join("weights.bin"), b"b");
    let (report, code) = verify_json(&dir, &["--level", "0"]);
    assert_eq!(code, 1);
    assert!(
        problems(&report).contains(&("duplicate_path".into(), "weights.bin".into())),
        "{report}"
    );
}

#[test]
fn every_problem_is_reported_not_just_the_first() {
    let s = Scratch::new();
    let dir = sealed_model(&s);
    std::fs::remove_file(dir.join("config.json")).unwrap();
    write(&dir.join("README.md"), b"# changed\n");
    write(&dir.join("smuggled"), b"x");
    let (report, code) = verify_json(&dir, &["--level", "0"]);
    assert_eq!(code, 1);
    let mut kinds: Vec<String> = problems(&report).into_iter().map(|(k, _)| k).collect();
    kinds.sort();
    assert_eq!(
        kinds,
        vec!["missing_file", "size_mismatch", "unexpected_file"]
    );
}

#[cfg(unix)]
#[test]
fn unreadable_file_is_named() {
    use std::os::unix::fs::PermissionsExt;
    let s = Scratch::new();
    let dir = sealed_model(&s);
    let file = dir.join("config.json");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o000)).unwrap();
    let is_root = running_as_root();
    let mut cmd = if is_root {
        // Root reads anything: drop to nobody, who can traverse but not read the file.
        for p in [s.temp.path(), dir.as_path(), dir.join("extra").as_path()] {
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        for f in [
            "model.safetensors",
            "tokenizer.json",
            "README.md",
            "extra/notes.txt",
            "provenance.toml",
        ] {
            std::fs::set_permissions(dir.join(f), std::fs::Permissions::from_mode(0o644)).unwrap();
        }
        let mut cmd = std::process::Command::new("setpriv");
        cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(assert_cmd::cargo::cargo_bin("modelseal"));
        cmd
    } else {
        std::process::Command::new(assert_cmd::cargo::cargo_bin("modelseal"))
    };
    let out = cmd
        .arg("verify")
        .arg(&dir)
        .args(["--level", "0", "--format", "json"])
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(1), "{report}");
    assert_eq!(
        problems(&report),
        vec![("unreadable_file".into(), "config.json".into())]
    );
}

#[test]
fn a_file_rewritten_during_verify_is_changed_during_read() {
    let s = Scratch::new();
    let dir = s.path("busy");
    let big = pattern(64 << 20, 5);
    write(&dir.join("weights.bin"), &big);
    init(&dir);
    // Keep rewriting the same bytes in place: size and content stay, mtime moves.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let stop = stop.clone();
        let path = dir.join("weights.bin");
        std::thread::spawn(move || {
            use std::io::{Seek, Write};
            let mut f = std::fs::OpenOptions::new().write(true).open(path).unwrap();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                f.seek(std::io::SeekFrom::Start(0)).unwrap();
                f.write_all(&big[..4096]).unwrap();
            }
        })
    };
    let (report, code) = verify_json(&dir, &["--level", "0", "--jobs", "1"]);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    writer.join().unwrap();
    assert_eq!(code, 1, "{report}");
    assert_eq!(
        problems(&report),
        vec![("changed_during_read".into(), "weights.bin".into())]
    );
}
