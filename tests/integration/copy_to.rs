//! `verify --copy-to DEST`: the verified bytes, and only they, published at
//! DEST by one rename; nothing at DEST (and nothing left beside it) when a
//! check fails, the disk fills, the source changes mid-copy, or the run is
//! killed.

use crate::common::*;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

/// `verify DIR --copy-to DEST` with the policy of `public`, at level 1.
fn copy_to(dir: &Path, public: &Path, dest: &Path, extra: &[&str]) -> std::process::Output {
    modelseal()
        .arg("verify")
        .arg(dir)
        .arg("--key")
        .arg(public)
        .arg("--copy-to")
        .arg(dest)
        .args(extra)
        .output()
        .unwrap()
}

/// Every path under `root`, relative, sorted; files with their bytes.
fn tree(root: &Path) -> Vec<(String, Option<Vec<u8>>)> {
    let mut out: Vec<_> = walkdir::WalkDir::new(root)
        .min_depth(1)
        .into_iter()
        .map(|e| {
            let e = e.unwrap();
            let rel = e
                .path()
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            let bytes = e
                .file_type()
                .is_file()
                .then(|| std::fs::read(e.path()).unwrap());
            (rel, bytes)
        })
        .collect();
    out.sort();
    out
}

/// The names in `parent` other than `keep`: staging directories left behind.
fn leftovers(parent: &Path, keep: &[&str]) -> Vec<String> {
    std::fs::read_dir(parent)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !keep.contains(&n.as_str()))
        .collect()
}

fn mode(path: &Path) -> u32 {
    std::fs::symlink_metadata(path)
        .unwrap()
        .permissions()
        .mode()
        & 0o7777
}

/// A fresh parent for DEST, outside the model directory.
fn out_dir(s: &Scratch) -> PathBuf {
    let out = s.path("out");
    std::fs::create_dir_all(&out).unwrap();
    out
}

#[test]
fn a_verified_model_is_copied_whole_read_only_and_verifies_again_at_dest() {
    let s = Scratch::new();
    let (dir, public) = s.signed_model();
    let out = out_dir(&s);
    let dest = out.join("model");
    let run = copy_to(&dir, &public, &dest, &[]);
    assert_eq!(run.status.code(), Some(0), "{run:?}");
    let said = String::from_utf8_lossy(&run.stdout);
    assert!(
        said.contains("copied to") && said.contains("read-only"),
        "{said}"
    );
    assert_eq!(tree(&dest), tree(&dir));
    for (rel, bytes) in tree(&dest) {
        let want = if bytes.is_some() { 0o444 } else { 0o555 };
        assert_eq!(mode(&dest.join(&rel)), want, "{rel}");
    }
    assert_eq!(mode(&dest), 0o555);
    assert_eq!(leftovers(&out, &["model"]), Vec::<String>::new());
    let again = modelseal()
        .arg("verify")
        .arg(&dest)
        .arg("--key")
        .arg(&public)
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(0), "{again:?}");
}

#[test]
fn a_flipped_byte_fails_and_nothing_appears_at_dest_or_beside_it() {
    let s = Scratch::new();
    let (dir, public) = s.signed_model();
    let mut weights = std::fs::read(dir.join("model.safetensors")).unwrap();
    weights[12_345] ^= 0x01;
    std::fs::write(dir.join("model.safetensors"), &weights).unwrap();
    let out = out_dir(&s);
    let dest = out.join("model");
    let run = copy_to(&dir, &public, &dest, &["--format", "json"]);
    assert_eq!(run.status.code(), Some(1), "{run:?}");
    let report: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(
        problems(&report),
        vec![("hash_mismatch".into(), "model.safetensors".into())]
    );
    let said = String::from_utf8_lossy(&run.stderr);
    assert!(said.contains("not copied"), "{said}");
    assert!(!dest.exists());
    assert_eq!(leftovers(&out, &[]), Vec::<String>::new());
}

#[test]
fn a_bad_signature_or_an_extra_file_publishes_nothing() {
    let s = Scratch::new();
    let (dir, _) = s.signed_model();
    let (_, stranger) = s.key("stranger");
    let out = out_dir(&s);
    let dest = out.join("model");
    let run = copy_to(&dir, &stranger, &dest, &[]);
    assert_eq!(run.status.code(), Some(1), "{run:?}");
    assert!(!dest.exists());
    let (_, public) = s.key("release");
    write(&dir.join("extra/payload.py"), b"import os\n");
    let run = copy_to(&dir, &public, &dest, &[]);
    assert_eq!(run.status.code(), Some(1), "{run:?}");
    assert!(!dest.exists());
    assert_eq!(leftovers(&out, &[]), Vec::<String>::new());
}

#[test]
fn an_existing_dest_is_kept_without_replace_and_swapped_whole_with_it() {
    let s = Scratch::new();
    let (dir, public) = s.signed_model();
    let out = out_dir(&s);
    let dest = out.join("model");
    write(&dest.join("old.bin"), b"the previous release");
    let run = copy_to(&dir, &public, &dest, &[]);
    assert_eq!(run.status.code(), Some(2), "{run:?}");
    let said = String::from_utf8_lossy(&run.stderr);
    assert!(said.contains("--replace"), "{said}");
    assert_eq!(
        tree(&dest),
        vec![("old.bin".into(), Some(b"the previous release".to_vec()))]
    );
    // A failing run with --replace leaves the old DEST exactly as it was.
    let weights = dir.join("model.safetensors");
    let good = std::fs::read(&weights).unwrap();
    let mut bad = good.clone();
    bad[0] ^= 0x80;
    std::fs::write(&weights, &bad).unwrap();
    let run = copy_to(&dir, &public, &dest, &["--replace"]);
    assert_eq!(run.status.code(), Some(1), "{run:?}");
    assert_eq!(
        tree(&dest),
        vec![("old.bin".into(), Some(b"the previous release".to_vec()))]
    );
    std::fs::write(&weights, &good).unwrap();
    let run = copy_to(&dir, &public, &dest, &["--replace"]);
    assert_eq!(run.status.code(), Some(0), "{run:?}");
    assert_eq!(tree(&dest), tree(&dir));
    assert_eq!(leftovers(&out, &["model"]), Vec::<String>::new());
    // An empty DEST (a mount point made for it) needs no --replace.
    let empty = out.join("empty");
    std::fs::create_dir(&empty).unwrap();
    let run = copy_to(&dir, &public, &empty, &[]);
    assert_eq!(run.status.code(), Some(0), "{run:?}");
    assert_eq!(tree(&empty), tree(&dir));
}

#[test]
fn a_dest_inside_the_model_or_a_link_or_a_file_is_refused() {
    let s = Scratch::new();
    let (dir, public) = s.signed_model();
    let before = tree(&dir);
    let run = copy_to(&dir, &public, &dir.join("copy"), &[]);
    assert_eq!(run.status.code(), Some(2), "{run:?}");
    assert!(String::from_utf8_lossy(&run.stderr).contains("outside the model directory"));
    assert_eq!(tree(&dir), before);
    let out = out_dir(&s);
    std::os::unix::fs::symlink(&dir, out.join("link")).unwrap();
    let run = copy_to(&dir, &public, &out.join("link"), &["--replace"]);
    assert_eq!(run.status.code(), Some(2), "{run:?}");
    write(&out.join("file"), b"x");
    let run = copy_to(&dir, &public, &out.join("file"), &["--replace"]);
    assert_eq!(run.status.code(), Some(2), "{run:?}");
    assert_eq!(std::fs::read(out.join("file")).unwrap(), b"x");
    assert_eq!(leftovers(&out, &["link", "file"]), Vec::<String>::new());
}

/// A writer flips a byte of the weights, in place, back and forth, while
/// runs copy the model: whatever a run reads, a published copy holds the
/// signed bytes exactly, and a torn read publishes nothing.
#[test]
fn a_file_changing_during_the_copy_never_reaches_dest() {
    let s = Scratch::new();
    let dir = s.model();
    let weights = dir.join("model.safetensors");
    let good = pattern(8 << 20, 9);
    std::fs::write(&weights, &good).unwrap();
    init(&dir);
    let (key, public) = s.key("release");
    sign_with(&dir, &key);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let stop = stop.clone();
        let weights = weights.clone();
        let good = good.clone();
        std::thread::spawn(move || {
            use std::os::unix::fs::FileExt;
            let file = std::fs::OpenOptions::new()
                .write(true)
                .open(&weights)
                .unwrap();
            let mut flips = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let at = (flips * 1_048_573) % (8 << 20);
                let byte = good[at as usize];
                file.write_all_at(&[byte ^ 0xff], at).unwrap();
                std::thread::sleep(Duration::from_micros(200));
                file.write_all_at(&[byte], at).unwrap();
                flips += 1;
            }
        })
    };
    let out = out_dir(&s);
    let (mut published, mut refused) = (0, 0);
    for run in 0..12 {
        let dest = out.join(format!("copy-{run}"));
        let result = copy_to(&dir, &public, &dest, &["--level", "1"]);
        match result.status.code() {
            Some(0) => {
                published += 1;
                assert!(std::fs::read(dest.join("model.safetensors")).unwrap() == good);
            }
            Some(1) => {
                refused += 1;
                assert!(!dest.exists(), "a failed run published {}", dest.display());
            }
            other => panic!("exit {other:?}: {result:?}"),
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    writer.join().unwrap();
    assert!(
        refused > 0,
        "no run saw a changed byte ({published} published)"
    );
    let copies = leftovers(&out, &[]);
    assert!(copies.iter().all(|n| n.starts_with("copy-")), "{copies:?}");
}

/// The disk fills mid-copy: a small tmpfs, mounted in a mount namespace of
/// its own, holds DEST's parent.
#[test]
fn a_full_disk_is_an_error_and_leaves_nothing_on_it() {
    let s = Scratch::new();
    let dir = s.model();
    std::fs::write(dir.join("model.safetensors"), pattern(3 << 20, 5)).unwrap();
    init(&dir);
    let (key, public) = s.key("release");
    sign_with(&dir, &key);
    let small = s.path("small");
    std::fs::create_dir(&small).unwrap();
    let binary = assert_cmd::cargo::cargo_bin("modelseal");
    let script = r#"mount -t tmpfs -o size=1m tmpfs "$1" || exit 99
"$2" verify "$3" --key "$4" --copy-to "$1/model" 2>&1
echo "exit=$?"
ls -A "$1""#;
    // Root mounts in a mount namespace of its own; anyone else in a user namespace.
    let namespaces: &[&str] = if running_as_root() {
        &["--mount"]
    } else {
        &["--user", "--map-root-user", "--mount"]
    };
    let run = std::process::Command::new("unshare")
        .args(namespaces)
        .args(["sh", "-c", script, "sh"])
        .arg(&small)
        .arg(&binary)
        .arg(&dir)
        .arg(&public)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&run.stdout);
    assert_ne!(run.status.code(), Some(99), "cannot mount a tmpfs: {run:?}");
    let (message, listing) = said.split_once("exit=").unwrap();
    assert!(listing.starts_with("2\n"), "{said}");
    assert_eq!(
        listing.trim_start_matches("2\n"),
        "",
        "left on the disk: {said}"
    );
    assert!(message.contains("No space left on device"), "{said}");
}

/// Starts `verify --copy-to` on a model big enough to be caught mid-copy,
/// and waits until its staging directory beside DEST has appeared.
fn start_slow_copy(s: &Scratch) -> (std::process::Child, PathBuf, PathBuf, PathBuf) {
    let dir = s.model();
    for i in 0..4 {
        std::fs::write(dir.join(format!("shard-{i}.bin")), pattern(24 << 20, i)).unwrap();
    }
    init(&dir);
    let (key, public) = s.key("release");
    sign_with(&dir, &key);
    let out = out_dir(s);
    let dest = out.join("model");
    let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("modelseal"))
        .arg("verify")
        .arg(&dir)
        .arg("--key")
        .arg(&public)
        .arg("--copy-to")
        .arg(&dest)
        .args(["--jobs", "1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while leftovers(&out, &[]).is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no staging directory"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    (child, dir, public, dest)
}

#[test]
fn a_run_killed_mid_copy_publishes_nothing_and_the_next_run_cleans_up() {
    let s = Scratch::new();
    let (mut child, dir, public, dest) = start_slow_copy(&s);
    child.kill().unwrap(); // SIGKILL: no chance to clean up
    let status = child.wait().unwrap();
    assert_eq!(status.code(), None, "the run ended before it was killed");
    let out = dest.parent().unwrap();
    assert!(!dest.exists());
    let stale = leftovers(out, &[]);
    assert_eq!(stale.len(), 1, "{stale:?}");
    assert!(stale[0].starts_with(".model.modelseal-"), "{stale:?}");
    let run = copy_to(&dir, &public, &dest, &[]);
    assert_eq!(run.status.code(), Some(0), "{run:?}");
    assert_eq!(leftovers(out, &["model"]), Vec::<String>::new());
    assert_eq!(tree(&dest), tree(&dir));
}

#[test]
fn an_interrupted_run_stops_removes_its_staging_and_exits_2() {
    let s = Scratch::new();
    let (child, _, _, dest) = start_slow_copy(&s);
    rustix::process::kill_process(
        rustix::process::Pid::from_child(&child),
        rustix::process::Signal::INT,
    )
    .unwrap();
    let run = child.wait_with_output().unwrap();
    assert_eq!(run.status.code(), Some(2), "{run:?}");
    let said = String::from_utf8_lossy(&run.stderr);
    assert!(
        said.contains("interrupted") && said.contains("nothing was published"),
        "{said}"
    );
    assert!(!dest.exists());
    assert_eq!(leftovers(dest.parent().unwrap(), &[]), Vec::<String>::new());
}

#[test]
fn a_hub_snapshot_is_copied_as_regular_files() {
    let s = Scratch::new();
    let (_, snapshot) = hub_cache(&s);
    init(&snapshot);
    let dest = out_dir(&s).join("model");
    let run = modelseal()
        .arg("verify")
        .arg(&snapshot)
        .args(["--level", "0", "--copy-to"])
        .arg(&dest)
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(0), "{run:?}");
    for name in ["model.safetensors", "config.json"] {
        let copied = dest.join(name);
        assert!(
            std::fs::symlink_metadata(&copied).unwrap().is_file(),
            "{name}"
        );
        assert_eq!(
            std::fs::read(&copied).unwrap(),
            std::fs::read(snapshot.join(name)).unwrap()
        );
    }
}

#[test]
fn an_oms_bundle_and_the_large_form_are_copied_with_what_they_sign() {
    let s = Scratch::new();
    let dir = s.path("bundled");
    write(&dir.join("weights.bin"), &pattern(5000, 3));
    write(&dir.join("sub/config.json"), b"{}\n");
    let prefix = s.path("keys/p256");
    std::fs::create_dir_all(prefix.parent().unwrap()).unwrap();
    modelseal()
        .args(["keygen", "--no-passphrase", "--algorithm", "p256", "--out"])
        .arg(&prefix)
        .assert()
        .success();
    modelseal()
        .arg("bundle")
        .arg(&dir)
        .arg("--key")
        .arg(prefix.with_extension("key"))
        .assert()
        .success();
    let out = out_dir(&s);
    let run = copy_to(
        &dir,
        &prefix.with_extension("pub"),
        &out.join("bundled"),
        &[],
    );
    assert_eq!(run.status.code(), Some(0), "{run:?}");
    assert_eq!(tree(&out.join("bundled")), tree(&dir));

    let large = s.path("large");
    for i in 0..30 {
        write(
            &large.join(format!("d{}/f{i}.txt", i % 3)),
            format!("{i}\n").as_bytes(),
        );
    }
    modelseal()
        .args(["init", "--listing", "always"])
        .arg(&large)
        .assert()
        .success();
    assert!(large.join("provenance.files").exists());
    let run = modelseal()
        .arg("verify")
        .arg(&large)
        .args(["--level", "0", "--copy-to"])
        .arg(out.join("large"))
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(0), "{run:?}");
    assert_eq!(tree(&out.join("large")), tree(&large));
}

#[test]
fn copy_to_refuses_a_partition_and_lfs_pointers() {
    let s = Scratch::new();
    let (dir, public) = s.signed_model();
    let out = out_dir(&s);
    for extra in [&["--partition", "0/2"][..], &["--lfs-pointers"][..]] {
        let run = copy_to(&dir, &public, &out.join("model"), extra);
        assert_eq!(run.status.code(), Some(2), "{extra:?}: {run:?}");
        assert!(String::from_utf8_lossy(&run.stderr).contains("--copy-to"));
    }
    assert_eq!(leftovers(&out, &[]), Vec::<String>::new());
}

/// A signed model with one 150 MiB file (sharded, and written in more than
/// one 64 MiB sync step) beside the small ones.
fn signed_model_with_big_file(s: &Scratch) -> (PathBuf, PathBuf) {
    let dir = s.path("big");
    write(&dir.join("model-00001.bin"), &pattern(150 << 20, 7));
    s.signed_model_in(&dir)
}

#[test]
fn a_large_file_is_copied_exactly_with_and_without_syncing() {
    let s = Scratch::new();
    let (dir, public) = signed_model_with_big_file(&s);
    let out = out_dir(&s);
    for (name, extra) in [("synced", &[][..]), ("unsynced", &["--no-sync"][..])] {
        let dest = out.join(name);
        let run = copy_to(&dir, &public, &dest, extra);
        assert_eq!(run.status.code(), Some(0), "{name}: {run:?}");
        assert_eq!(tree(&dest), tree(&dir), "{name}");
        assert_eq!(mode(&dest.join("model-00001.bin")), 0o444, "{name}");
    }
    assert_eq!(
        leftovers(&out, &["synced", "unsynced"]),
        Vec::<String>::new()
    );
}

#[test]
fn a_byte_flipped_late_in_a_large_file_publishes_nothing_either_way() {
    let s = Scratch::new();
    let (dir, public) = signed_model_with_big_file(&s);
    let big = dir.join("model-00001.bin");
    let mut bytes = std::fs::read(&big).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x80;
    std::fs::write(&big, &bytes).unwrap();
    let out = out_dir(&s);
    for extra in [&[][..], &["--no-sync"][..]] {
        let dest = out.join("model");
        let run = copy_to(&dir, &public, &dest, extra);
        assert_eq!(run.status.code(), Some(1), "{extra:?}: {run:?}");
        assert!(!dest.exists(), "{extra:?}");
        assert_eq!(leftovers(&out, &[]), Vec::<String>::new(), "{extra:?}");
    }
}

#[test]
fn no_sync_needs_copy_to() {
    let s = Scratch::new();
    let (dir, public) = s.signed_model();
    let run = modelseal()
        .arg("verify")
        .arg(&dir)
        .arg("--key")
        .arg(&public)
        .arg("--no-sync")
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(2), "{run:?}");
    assert!(String::from_utf8_lossy(&run.stderr).contains("--copy-to"));
}
