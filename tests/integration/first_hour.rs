//! What a new user meets in the first hour: arguments that are wrong in the
//! usual ways get plain answers, and the obvious spellings work.

use crate::common::*;

#[test]
fn a_level_out_of_range_names_the_four_levels() {
    let demo = repo().join("fixtures/demo-model");
    for level in ["5", "-1"] {
        let out = modelseal()
            .arg("verify")
            .arg(&demo)
            .args(["--level", level])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{level}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("[possible values: 0, 1, 2, 3]"), "{err}");
        assert!(!err.contains("0..=3") && !err.contains("-- -1"), "{err}");
    }
}

#[test]
fn bash_completion_offers_the_levels_for_level() {
    let out = modelseal().args(["completions", "bash"]).output().unwrap();
    let script = String::from_utf8_lossy(&out.stdout);
    assert!(script.contains("compgen -W \"0 1 2 3\""), "{script}");
}

#[test]
fn verify_of_the_manifest_file_verifies_its_directory() {
    let demo = repo().join("fixtures/demo-model");
    let (report, code) = verify_json(&demo.join("provenance.toml"), &["--level", "0"]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["level"]["reached"], 0);
}

#[test]
fn quiet_silences_the_summaries_of_every_writing_command() {
    let s = Scratch::new();
    let dir = s.model();
    let prefix = s.path("keys/q");
    std::fs::create_dir_all(prefix.parent().unwrap()).unwrap();
    let keygen = modelseal()
        .args(["-q", "keygen", "--no-passphrase", "--out"])
        .arg(&prefix)
        .output()
        .unwrap();
    assert!(keygen.status.success());
    // The key id is the result, so it stays; the chatter goes.
    assert_eq!(String::from_utf8_lossy(&keygen.stdout).trim().len(), 64);
    assert!(keygen.stderr.is_empty(), "{keygen:?}");
    write(&dir.join("added.txt"), b"new\n");
    for args in [
        vec!["-q", "init"],
        vec!["-q", "update"],
        vec![
            "-q",
            "sign",
            "--key",
            prefix.with_extension("key").to_str().unwrap(),
        ],
    ] {
        let out = modelseal().args(&args).arg(&dir).output().unwrap();
        assert!(out.status.success(), "{args:?}: {out:?}");
        assert!(
            out.stdout.is_empty(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
}

#[test]
fn a_directory_without_a_manifest_says_so_once_and_what_to_do() {
    let s = Scratch::new();
    let dir = s.model();
    let out = modelseal()
        .args(["verify", "--level", "0"])
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("holds no provenance.toml") && err.contains("modelseal init"),
        "{err}"
    );
    assert!(!err.contains("cannot be read"), "{err}");
    // Below a model directory, the manifest above is named.
    init(&dir);
    let out = modelseal()
        .args(["verify", "--level", "0"])
        .arg(dir.join("extra"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("the nearest one above is in") && err.contains("model"),
        "{err}"
    );
}

#[test]
fn a_wrong_passphrase_from_the_environment_names_the_variable() {
    let s = Scratch::new();
    let dir = s.model();
    init(&dir);
    let prefix = s.path("enc");
    modelseal()
        .env("MODELSEAL_PASSPHRASE", "right")
        .args(["keygen", "--out"])
        .arg(&prefix)
        .assert()
        .success();
    let out = modelseal()
        .env("MODELSEAL_PASSPHRASE", "wrong")
        .arg("sign")
        .arg(&dir)
        .arg("--key")
        .arg(prefix.with_extension("key"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("the passphrase in MODELSEAL_PASSPHRASE"),
        "{err}"
    );
}

#[test]
fn json_usage_errors_are_one_line_without_clap_layout() {
    for args in [
        vec!["verify", "--format", "json", "--bogus"],
        vec!["verify", "--format", "json", "--level", "9"],
    ] {
        let out = modelseal().args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(2));
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let error = json["error"].as_str().unwrap();
        assert!(
            !error.contains('\n') && !error.contains("Usage:") && !error.starts_with("error:"),
            "{error}"
        );
    }
}

#[test]
fn man_writes_a_page_for_every_page_it_refers_to() {
    let s = Scratch::new();
    let dir = s.path("man/man1");
    modelseal()
        .args(["man", "--out-dir"])
        .arg(&dir)
        .assert()
        .success();
    let mut referred = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let page = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        assert!(page.contains(".SH \"EXIT STATUS\""), "{page}");
        assert!(page.contains("MODELSEAL_PASSPHRASE") && page.contains("NO_COLOR"));
        for part in page.split("modelseal\\-").skip(1) {
            if let Some((name, _)) = part.split_once("(1)") {
                referred.push(name.replace("\\-", "-"));
            }
        }
    }
    assert!(referred.contains(&"verify".to_string()), "{referred:?}");
    for name in referred {
        assert!(
            dir.join(format!("modelseal-{name}.1")).is_file(),
            "modelseal-{name}(1) is referred to but not written"
        );
    }
    // On stdout, the main page has the same sections.
    let out = modelseal().arg("man").output().unwrap();
    let page = String::from_utf8_lossy(&out.stdout);
    assert!(page.contains(".SH \"EXIT STATUS\"") && page.contains(".SH ENVIRONMENT"));
}

#[test]
fn error_help_answers_in_the_message_not_in_a_file_binary_users_lack() {
    let s = Scratch::new();
    let trust = s.path("trust.toml");
    write(&trust, b"threshold = 1\nthreshhold = 2\n");
    let out = modelseal()
        .arg("verify")
        .arg(repo().join("fixtures/demo-model"))
        .arg("--trust")
        .arg(&trust)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("expected one of `threshold`, `key`, `pin`"),
        "{err}"
    );
    assert!(err.contains("help:") && !err.contains("SPEC.md"), "{err}");
}
