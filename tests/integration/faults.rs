//! Faults mid-write: sign, update and init killed at any point, a full disk,
//! a read-only directory. The earlier manifest and signatures must survive
//! byte for byte, and the command must say what happened.

use crate::common::*;
use predicates::prelude::*;
use std::path::Path;
use std::time::Duration;

fn big_model(s: &Scratch) -> std::path::PathBuf {
    let dir = s.path("model");
    write(&dir.join("weights.bin"), &pattern(48 << 20, 1));
    write(&dir.join("config.json"), b"{}\n");
    dir
}

/// Starts the binary, kills it with SIGKILL after `delay`, and waits.
fn kill_after(args: &[&std::ffi::OsStr], delay: Duration) {
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("modelseal"))
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(delay);
    let _ = child.kill(); // SIGKILL on unix
    let _ = child.wait();
}

fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".modelseal-"))
        .collect()
}

#[test]
fn sign_update_and_init_killed_at_any_point_leave_whole_files() {
    let s = Scratch::new();
    let dir = big_model(&s);
    let (key, public) = s.key("release");
    init(&dir);
    sign_with(&dir, &key);
    let manifest_before = std::fs::read(dir.join("provenance.toml")).unwrap();
    let sig_before = std::fs::read(dir.join("provenance.sig")).unwrap();
    let (second_key, _) = s.key("second");

    for step in 0..12u64 {
        let delay = Duration::from_millis(step * 15);
        // sign: provenance.sig is the old file or a whole new one that verifies.
        kill_after(
            &[
                "sign".as_ref(),
                dir.as_os_str(),
                "--key".as_ref(),
                second_key.as_os_str(),
            ],
            delay,
        );
        let sig_now = std::fs::read(dir.join("provenance.sig")).unwrap();
        if sig_now != sig_before {
            let (report, code) = verify_json(&dir, &["--key", public.to_str().unwrap()]);
            assert_eq!(
                code, 0,
                "a half-written signature file after kill at {delay:?}: {report}"
            );
            std::fs::write(dir.join("provenance.sig"), &sig_before).unwrap();
        }
        // update (after a change) and init --force: the manifest is old or whole.
        write(
            &dir.join("config.json"),
            format!("{{\"step\": {step}}}\n").as_bytes(),
        );
        kill_after(&["update".as_ref(), dir.as_os_str()], delay);
        let text = std::fs::read(dir.join("provenance.toml")).unwrap();
        assert!(
            text == manifest_before
                || modelseal::manifest::Manifest::parse(Path::new("provenance.toml"), &text)
                    .is_ok(),
            "a half-written manifest after update killed at {delay:?}"
        );
        kill_after(
            &["init".as_ref(), dir.as_os_str(), "--force".as_ref()],
            delay,
        );
        let text = std::fs::read(dir.join("provenance.toml")).unwrap();
        assert!(
            modelseal::manifest::Manifest::parse(Path::new("provenance.toml"), &text).is_ok(),
            "a half-written manifest after init killed at {delay:?}"
        );
        // Put everything back for the next round; a killed write may leave a
        // temporary file, which verify would name as unexpected.
        for name in leftovers(&dir) {
            std::fs::remove_file(dir.join(name)).unwrap();
        }
        write(&dir.join("config.json"), b"{}\n");
        std::fs::write(dir.join("provenance.toml"), &manifest_before).unwrap();
    }
    let (report, code) = verify_json(&dir, &["--key", public.to_str().unwrap()]);
    assert_eq!(code, 0, "{report}");
}

/// A tmpfs of `kib` KiB mounted for the test (needs root, as CI has).
struct SmallDisk {
    mount: std::path::PathBuf,
}

impl SmallDisk {
    fn new(s: &Scratch, kib: u32) -> SmallDisk {
        let mount = s.path("disk");
        std::fs::create_dir_all(&mount).unwrap();
        let status = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={kib}k"), "tmpfs"])
            .arg(&mount)
            .status()
            .expect("mount runs");
        assert!(
            status.success(),
            "mounting a small tmpfs needs root (CI runs as root)"
        );
        SmallDisk { mount }
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg(&self.mount)
            .status();
    }
}

#[cfg(target_os = "linux")]
#[test]
fn a_full_disk_leaves_the_earlier_manifest_and_signatures_intact() {
    let s = Scratch::new();
    let disk = SmallDisk::new(&s, 512);
    let dir = disk.mount.join("model");
    write(&dir.join("weights.bin"), &pattern(64 << 10, 1));
    let (key, public) = s.key("release");
    init(&dir);
    sign_with(&dir, &key);
    let manifest_before = std::fs::read(dir.join("provenance.toml")).unwrap();
    let sig_before = std::fs::read(dir.join("provenance.sig")).unwrap();
    // Fill the disk to the last byte.
    let filler = disk.mount.join("filler");
    let mut f = std::fs::File::create(&filler).unwrap();
    let chunk = vec![0u8; 4096];
    while std::io::Write::write_all(&mut f, &chunk).is_ok() {}
    while std::io::Write::write_all(&mut f, &chunk[..1]).is_ok() {}
    drop(f);

    let (second, _) = s.key("second");
    modelseal()
        .arg("sign")
        .arg(&dir)
        .arg("--key")
        .arg(&second)
        .assert()
        .code(2)
        .stderr(
            predicates::str::contains("cannot write").and(predicates::str::contains("unchanged")),
        );
    create_empty_file(&dir, "x.txt");
    modelseal()
        .arg("update")
        .arg(&dir)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("cannot write"));
    assert_eq!(
        std::fs::read(dir.join("provenance.toml")).unwrap(),
        manifest_before
    );
    assert_eq!(
        std::fs::read(dir.join("provenance.sig")).unwrap(),
        sig_before
    );
    assert!(
        leftovers(&dir).is_empty(),
        "temporary files left: {:?}",
        leftovers(&dir)
    );
    std::fs::remove_file(&filler).unwrap();
    let _ = std::fs::remove_file(dir.join("x.txt"));
    modelseal()
        .arg("verify")
        .arg(&dir)
        .arg("--key")
        .arg(&public)
        .assert()
        .success();
}

/// Adds a tiny file even on a full disk (an empty file needs no data block).
fn create_empty_file(dir: &Path, name: &str) {
    std::fs::File::create(dir.join(name)).unwrap();
}

#[cfg(unix)]
#[test]
fn a_read_only_directory_is_an_error_and_changes_nothing() {
    use std::os::unix::fs::PermissionsExt;
    let s = Scratch::new();
    let dir = s.model();
    let (key, _) = s.key("release");
    init(&dir);
    let manifest_before = std::fs::read(dir.join("provenance.toml")).unwrap();
    // Root writes anywhere, so run as nobody against a directory nobody cannot write.
    for p in [
        s.temp.path(),
        dir.as_path(),
        dir.join("extra").as_path(),
        s.path("keys").as_path(),
    ] {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    for entry in walkdir::WalkDir::new(&dir).into_iter().flatten() {
        if entry.file_type().is_file() {
            std::fs::set_permissions(entry.path(), std::fs::Permissions::from_mode(0o644)).unwrap();
        }
    }
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let is_root = running_as_root();
    let mut cmd = if is_root {
        let mut cmd = std::process::Command::new("setpriv");
        cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(assert_cmd::cargo::cargo_bin("modelseal"));
        cmd
    } else {
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o555)).unwrap();
        std::process::Command::new(assert_cmd::cargo::cargo_bin("modelseal"))
    };
    let out = cmd
        .arg("sign")
        .arg(&dir)
        .arg("--key")
        .arg(&key)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot write") && err.contains("Permission denied"),
        "{err}"
    );
    assert_eq!(
        std::fs::read(dir.join("provenance.toml")).unwrap(),
        manifest_before
    );
    assert!(!dir.join("provenance.sig").exists());
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
}
