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
