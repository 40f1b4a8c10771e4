//! Level 1 (signed): signature statuses, thresholds, expiry and revocation.

use crate::common::*;
use std::path::Path;

fn write_policy(s: &Scratch, body: &str) -> std::path::PathBuf {
    let path = s.path("keys/trust.toml");
    write(&path, body.as_bytes());
    path
}

#[test]
fn manifest_edited_after_signing_is_bad_signature() {
    let s = Scratch::new();
    let (dir, public) = s.signed_model();
    // A comment changes the signed bytes but not the files.
    let manifest = dir.join("provenance.toml");
    let mut text = std::fs::read_to_string(&manifest).unwrap();
    text.push_str("# sneaky\n");
    std::fs::write(&manifest, text).unwrap();
    let (report, code) = verify_json(&dir, &["--key", public.to_str().unwrap()]);
    assert_eq!(code, 1);
    // The signatures do not hold, so no content was read: level 0 is not claimed.
    assert_eq!(report["level"]["reached"], serde_json::Value::Null);
    assert_eq!(report["files"]["checked"], 0);
    assert!(report["files"]["unread"].as_u64().unwrap() > 0);
    assert_eq!(report["signatures"][0]["status"], "invalid");
    assert_eq!(
        problems(&report),
        vec![
            ("bad_signature".into(), "provenance.sig".into()),
            ("threshold_not_met".into(), "provenance.sig".into())
        ]
    );
}

#[test]
fn corrupt_signature_entry_is_bad_signature_even_when_threshold_is_met() {
    let s = Scratch::new();
    let (dir, public) = s.signed_model();
    let (key2, _) = s.key("other");
    sign_with(&dir, &key2);
    // Corrupt the second entry's signature (base64 of 64 zero bytes).
    let sig = dir.join("provenance.sig");
    let text = std::fs::read_to_string(&sig).unwrap();
    let idx = text.rfind("signature = \"").unwrap() + "signature = \"".len();
    let end = idx + text[idx..].find('"').unwrap();
    let zeros = "A".repeat(85) + "==";
    let text = format!("{}{}{}", &text[..idx], zeros, &text[end..]);
    std::fs::write(&sig, text).unwrap();
    let (report, code) = verify_json(&dir, &["--key", public.to_str().unwrap()]);
    assert_eq!(code, 1, "{report}");
    assert_eq!(
        problems(&report),
        vec![("bad_signature".into(), "provenance.sig".into())]
    );
}

#[test]
fn unsigned_model_does_not_meet_the_threshold() {
    let s = Scratch::new();
    let (dir, public) = s.signed_model();
    std::fs::remove_file(dir.join("provenance.sig")).unwrap();
    let (report, code) = verify_json(&dir, &["--key", public.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert_eq!(
        problems(&report),
        vec![("threshold_not_met".into(), "provenance.sig".into())]
    );
    assert!(
        report["problems"][0]["message"]
            .as_str()
            .unwrap()
            .contains("no signatures")
    );
}

#[test]
fn signature_by_an_untrusted_key_does_not_count() {
    let s = Scratch::new();
    let (dir, _) = s.signed_model();
    let (_, stranger) = s.key("stranger");
    let (report, code) = verify_json(&dir, &["--key", stranger.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert_eq!(report["signatures"][0]["status"], "untrusted");
    assert_eq!(
        problems(&report),
        vec![("threshold_not_met".into(), "provenance.sig".into())]
    );
    assert!(
        report["problems"][0]["message"]
            .as_str()
            .unwrap()
            .contains("not in the trust policy")
    );
}

#[test]
fn extra_untrusted_signatures_are_no_problem_when_threshold_is_met() {
    let s = Scratch::new();
    let (dir, public) = s.signed_model();
    let (stranger_key, _) = s.key("stranger");
    sign_with(&dir, &stranger_key);
    let (report, code) = verify_json(&dir, &["--key", public.to_str().unwrap()]);
    assert_eq!(code, 0, "{report}");
    let statuses: Vec<&str> = report["signatures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, vec!["valid", "untrusted"]);
}

fn policy(entries: &[(&str, &Path, &str)], threshold: u32) -> String {
    let mut out = format!("threshold = {threshold}\n");
    for (name, public, extra) in entries {
        out.push_str(&format!(
            "[[key]]\nname = \"{name}\"\npublic_key = \"{}\"\n{extra}\n",
            public.file_name().unwrap().to_str().unwrap()
        ));
    }
    out
}

#[test]
fn threshold_counts_distinct_trusted_keys() {
    let s = Scratch::new();
    let (dir, release_pub) = s.signed_model();
    let (second_key, second_pub) = s.key("second");
    let trust = write_policy(
        &s,
        &policy(&[("a", &release_pub, ""), ("b", &second_pub, "")], 2),
    );
    let (report, code) = verify_json(&dir, &["--trust", trust.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert_eq!(
        problems(&report),
        vec![("threshold_not_met".into(), "provenance.sig".into())]
    );
    assert!(
        report["problems"][0]["message"]
            .as_str()
            .unwrap()
            .contains("requires 2")
    );
    sign_with(&dir, &second_key);
    let (report, code) = verify_json(&dir, &["--trust", trust.to_str().unwrap()]);
    assert_eq!(code, 0, "{report}");
}

#[test]
fn a_key_listed_twice_counts_once() {
    let s = Scratch::new();
    let (dir, release_pub) = s.signed_model();
    // Two listings of one key cannot satisfy a threshold of two.
    let trust = write_policy(
        &s,
        &policy(&[("a", &release_pub, ""), ("a again", &release_pub, "")], 2),
    );
    let out = modelseal()
        .arg("verify")
        .arg(&dir)
        .arg("--trust")
        .arg(&trust)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("can never be met"));
}

#[test]
fn expired_key_does_not_count() {
    let s = Scratch::new();
    let (dir, release_pub) = s.signed_model();
    let trust = write_policy(
        &s,
        &policy(&[("a", &release_pub, "expires = 2020-01-01T00:00:00Z")], 1),
    );
    let (report, code) = verify_json(&dir, &["--trust", trust.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert_eq!(report["signatures"][0]["status"], "expired");
    assert!(
        report["problems"][0]["message"]
            .as_str()
            .unwrap()
            .contains("expired")
    );
    let trust = write_policy(
        &s,
        &policy(
            &[("a", &release_pub, "expires = 2999-01-01T00:00:00+02:00")],
            1,
        ),
    );
    let (_, code) = verify_json(&dir, &["--trust", trust.to_str().unwrap()]);
    assert_eq!(code, 0);
}

#[test]
fn revoked_key_does_not_count() {
    let s = Scratch::new();
    let (dir, release_pub) = s.signed_model();
    let trust = write_policy(&s, &policy(&[("a", &release_pub, "revoked = true")], 1));
    let (report, code) = verify_json(&dir, &["--trust", trust.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert_eq!(report["signatures"][0]["status"], "revoked");
    assert_eq!(
        problems(&report),
        vec![("threshold_not_met".into(), "provenance.sig".into())]
    );
}

#[test]
fn key_flags_join_the_policy_and_its_threshold_stands() {
    let s = Scratch::new();
    let (dir, release_pub) = s.signed_model();
    let (second_key, second_pub) = s.key("second");
    let (_, third_pub) = s.key("third");
    sign_with(&dir, &second_key);
    let trust = write_policy(
        &s,
        &policy(&[("a", &release_pub, ""), ("c", &third_pub, "")], 2),
    );
    let (_, code) = verify_json(&dir, &["--trust", trust.to_str().unwrap()]);
    assert_eq!(code, 1);
    let (report, code) = verify_json(
        &dir,
        &[
            "--trust",
            trust.to_str().unwrap(),
            "--key",
            second_pub.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{report}");
}

#[test]
fn policy_times_without_offset_are_errors_with_location() {
    let s = Scratch::new();
    let (dir, release_pub) = s.signed_model();
    let trust = write_policy(
        &s,
        &policy(&[("a", &release_pub, "expires = 2030-01-01T00:00:00")], 1),
    );
    let out = modelseal()
        .arg("verify")
        .arg(&dir)
        .arg("--trust")
        .arg(&trust)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("trust.toml:5:") && err.contains("offset"),
        "{err}"
    );
}

#[test]
fn unknown_keys_in_signature_file_are_errors() {
    let s = Scratch::new();
    let (dir, public) = s.signed_model();
    let sig = dir.join("provenance.sig");
    let mut text = std::fs::read_to_string(&sig).unwrap();
    text.push_str("trusted = true\n");
    std::fs::write(&sig, text).unwrap();
    let out = modelseal()
        .arg("verify")
        .arg(&dir)
        .arg("--key")
        .arg(&public)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown field `trusted`"));
}

#[test]
fn sign_with_trust_refuses_a_key_the_policy_no_longer_accepts() {
    let s = Scratch::new();
    let (dir, release_pub) = s.signed_model();
    let (key, _) = s.key("release");
    let before = std::fs::read(dir.join("provenance.sig")).unwrap();
    let (other, _) = s.key("other");
    for (signing_key, entry, why) in [
        (&key, "expires = 2020-01-01T00:00:00Z", "expired at"),
        (&key, "revoked = true", "revokes key"),
        (&other, "", "does not list key"),
    ] {
        let trust = write_policy(&s, &policy(&[("release", &release_pub, entry)], 1));
        let out = modelseal()
            .arg("sign")
            .arg(&dir)
            .arg("--key")
            .arg(signing_key)
            .arg("--trust")
            .arg(&trust)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{entry}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(why) && err.contains("nothing was signed"),
            "{err}"
        );
        assert_eq!(std::fs::read(dir.join("provenance.sig")).unwrap(), before);
    }
    let trust = write_policy(&s, &policy(&[("release", &release_pub, "")], 1));
    modelseal()
        .arg("sign")
        .arg(&dir)
        .arg("--key")
        .arg(&key)
        .arg("--trust")
        .arg(&trust)
        .assert()
        .success();
}

#[test]
fn the_report_names_the_policy_key_and_marks_a_self_declared_signer() {
    let s = Scratch::new();
    let (dir, release_pub) = s.signed_model();
    // The signer field is unsigned: anyone can write any name there.
    let sig = dir.join("provenance.sig");
    let text = std::fs::read_to_string(&sig).unwrap();
    std::fs::write(
        &sig,
        text.replace(
            "signer = \"Release\"",
            "signer = \"NVIDIA Official Release\"",
        ),
    )
    .unwrap();
    let trust = write_policy(
        &s,
        &policy(&[("Acme release key 2026", &release_pub, "")], 1),
    );
    let out = modelseal()
        .arg("verify")
        .arg(&dir)
        .arg("--trust")
        .arg(&trust)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("valid     Acme release key 2026"), "{text}");
    assert!(!text.contains("NVIDIA"), "{text}");
    let (report, _) = verify_json(&dir, &["--trust", trust.to_str().unwrap()]);
    assert_eq!(report["signatures"][0]["key_name"], "Acme release key 2026");
    assert_eq!(report["signatures"][0]["signer"], "NVIDIA Official Release");
    // Under a policy that does not list the key, the claim is shown, marked.
    let (_, other_pub) = s.key("other");
    let out = modelseal()
        .arg("verify")
        .arg(&dir)
        .arg("--key")
        .arg(&other_pub)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("\"NVIDIA Official Release\" (self-declared, unverified)"),
        "{text}"
    );
}
