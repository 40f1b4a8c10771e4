//! keygen and key files: modes, encryption, and keys made by openssl.

use crate::common::*;
use predicates::prelude::*;

#[cfg(unix)]
#[test]
fn keygen_writes_a_0600_encrypted_key_and_prints_the_keyid() {
    use std::os::unix::fs::PermissionsExt;
    let s = Scratch::new();
    let prefix = s.path("k");
    let out = modelseal()
        .env("MODELSEAL_PASSPHRASE", "correct horse")
        .arg("keygen")
        .arg("--out")
        .arg(&prefix)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let keyid = String::from_utf8(out).unwrap().trim().to_string();
    assert_eq!(keyid.len(), 64);
    let private = std::fs::read_to_string(s.path("k.key")).unwrap();
    assert!(private.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
    let mode = std::fs::metadata(s.path("k.key"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
    assert!(
        std::fs::read_to_string(s.path("k.pub"))
            .unwrap()
            .starts_with("-----BEGIN PUBLIC KEY-----")
    );

    // Signing needs the passphrase; the wrong one is refused.
    let dir = s.model();
    init(&dir);
    modelseal()
        .arg("sign")
        .arg(&dir)
        .arg("--key")
        .arg(s.path("k.key"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("MODELSEAL_PASSPHRASE"));
    modelseal()
        .env("MODELSEAL_PASSPHRASE", "wrong")
        .arg("sign")
        .arg(&dir)
        .arg("--key")
        .arg(s.path("k.key"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("passphrase"));
    modelseal()
        .env("MODELSEAL_PASSPHRASE", "correct horse")
        .arg("sign")
        .arg(&dir)
        .arg("--key")
        .arg(s.path("k.key"))
        .assert()
        .success()
        .stdout(predicate::str::contains(&keyid));
}

#[test]
fn keygen_without_passphrase_source_refuses_and_never_overwrites() {
    let s = Scratch::new();
    let prefix = s.path("k");
    modelseal()
        .arg("keygen")
        .arg("--out")
        .arg(&prefix)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--no-passphrase"));
    assert!(!s.path("k.key").exists());
    modelseal()
        .arg("keygen")
        .arg("--no-passphrase")
        .arg("--out")
        .arg(&prefix)
        .assert()
        .success();
    let before = std::fs::read(s.path("k.key")).unwrap();
    modelseal()
        .arg("keygen")
        .arg("--no-passphrase")
        .arg("--out")
        .arg(&prefix)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("already exists"));
    assert_eq!(std::fs::read(s.path("k.key")).unwrap(), before);
}

#[cfg(unix)]
#[test]
fn a_private_key_readable_by_others_gets_a_warning() {
    use std::os::unix::fs::PermissionsExt;
    let s = Scratch::new();
    let (key, _) = s.key("release");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let dir = s.model();
    init(&dir);
    modelseal()
        .arg("sign")
        .arg(&dir)
        .arg("--key")
        .arg(&key)
        .assert()
        .success()
        .stderr(
            predicate::str::contains("readable by others")
                .and(predicate::str::contains("chmod 600")),
        );
}

#[test]
fn public_key_given_to_sign_is_a_clear_error() {
    let s = Scratch::new();
    let (_, public) = s.key("release");
    let dir = s.model();
    init(&dir);
    modelseal()
        .arg("sign")
        .arg(&dir)
        .arg("--key")
        .arg(&public)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("public key"));
}

#[test]
fn encrypted_keys_asking_for_absurd_or_invalid_kdf_costs_are_refused_before_deriving() {
    // Found by fuzzing (fuzz/regressions/pem_key): scrypt N = 2^40 would need
    // terabytes; N = 0 made pkcs5 panic.
    let s = Scratch::new();
    let dir = s.model();
    init(&dir);
    for (file, said) in [
        ("scrypt-cost-2pow40.key", "more than accepted"),
        ("scrypt-cost-zero.key", "invalid parameters"),
    ] {
        let key = repo().join("fuzz/regressions/pem_key").join(file);
        modelseal()
            .env("MODELSEAL_PASSPHRASE", "pw")
            .arg("sign")
            .arg(&dir)
            .arg("--key")
            .arg(&key)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(said).and(predicate::str::contains("panicked").not()));
    }
}
