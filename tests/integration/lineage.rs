//! Levels 2 (traced) and 3 (chained), lineage recording and the lineage view.

use crate::common::*;
use predicates::prelude::*;
use std::path::{Path, PathBuf};

fn lineage_copy(s: &Scratch) -> PathBuf {
    let dir = s.path("lineage");
    copy_tree(&repo().join("fixtures/lineage"), &dir);
    dir
}

fn trust() -> String {
    test_key().1.to_str().unwrap().to_string()
}

fn edit(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains(from), "{from} not in {}", path.display());
    std::fs::write(path, text.replacen(from, to, 1)).unwrap();
}

fn verify_level(dir: &Path, level: &str) -> (serde_json::Value, i32) {
    verify_json(dir, &["--trust", &trust(), "--level", level])
}

#[test]
fn the_lineage_fixture_verifies_at_level_3_with_its_chain_in_json() {
    let dir = repo().join("fixtures/lineage");
    let (report, code) = verify_level(&dir, "3");
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["level"]["reached"], 3);
    let lineage = &report["lineage"];
    assert_eq!(lineage["traced"], true);
    assert_eq!(lineage["chained"], true);
    assert_eq!(lineage["trainings"][0]["configs"][0]["path"], "train.yaml");
    assert!(lineage["trainings"][0]["configs"][0]["sha256"].is_string());
    assert_eq!(
        lineage["trainings"][0]["code"]["commit"]
            .as_str()
            .unwrap()
            .len(),
        40
    );
    assert_eq!(lineage["datasets"].as_array().unwrap().len(), 2);
    let upstreams = lineage["upstreams"].as_array().unwrap();
    assert_eq!(upstreams.len(), 4, "{lineage}");
    assert!(upstreams.iter().all(|u| u["chained"] == true));
    // The base model's own dataset is followed through the base's manifest.
    assert!(
        upstreams
            .iter()
            .any(|u| u["referenced_by"] == "upstream/base.provenance.toml")
    );
    // At level 1 the report still says how far the lineage goes.
    let (report, code) = verify_level(&dir, "1");
    assert_eq!(code, 0);
    assert_eq!(report["level"]["reached"], 3);
}

#[test]
fn a_training_naming_an_undefined_dataset_is_a_dangling_reference() {
    let s = Scratch::new();
    let dir = lineage_copy(&s);
    edit(
        &dir.join("provenance.toml"),
        "datasets = [\"tinystories\", \"tiny-instructions\"]",
        "datasets = [\"tinystories\", \"nope\"]",
    );
    update_and_sign(&dir);
    let (report, code) = verify_level(&dir, "2");
    assert_eq!(code, 1);
    assert_eq!(
        problems(&report),
        vec![("dangling_reference".into(), "provenance.toml".into())]
    );
    assert!(
        report["problems"][0]["message"]
            .as_str()
            .unwrap()
            .contains("'nope'")
    );
    assert_eq!(report["level"]["reached"], 1);
}

#[test]
fn a_config_that_is_not_hashed_leaves_the_weights_untraced() {
    let s = Scratch::new();
    let dir = lineage_copy(&s);
    edit(
        &dir.join("provenance.toml"),
        "configs = [\"train.yaml\"]",
        "configs = [\"secret.yaml\"]",
    );
    update_and_sign(&dir);
    let (report, code) = verify_level(&dir, "2");
    assert_eq!(code, 1);
    assert_eq!(
        problems(&report),
        vec![
            ("dangling_reference".into(), "secret.yaml".into()),
            ("untraced_weights".into(), "model.safetensors".into()),
        ]
    );
}

#[test]
fn weights_without_a_training_run_are_untraced() {
    let s = Scratch::new();
    let dir = lineage_copy(&s);
    write(&dir.join("adapter.safetensors"), b"extra weights");
    update_and_sign(&dir);
    let (report, code) = verify_level(&dir, "2");
    assert_eq!(code, 1);
    assert_eq!(
        problems(&report),
        vec![("untraced_weights".into(), "adapter.safetensors".into())]
    );
}

#[test]
fn an_edited_upstream_manifest_is_caught_by_digest_and_signature() {
    let s = Scratch::new();
    let dir = lineage_copy(&s);
    let base = dir.join("upstream/base.provenance.toml");
    edit(
        &base,
        "name = \"acme/tiny-base\"",
        "name = \"acme/tiny-base\"\nlicense = \"mit\"",
    );
    update_and_sign(&dir);
    let (report, code) = verify_level(&dir, "3");
    assert_eq!(code, 1);
    let found = problems(&report);
    assert!(
        found.contains(&(
            "upstream_mismatch".into(),
            "upstream/base.provenance.toml".into()
        )),
        "{report}"
    );
    assert!(
        found.contains(&(
            "upstream_unsigned".into(),
            "upstream/base.provenance.toml".into()
        )),
        "{report}"
    );
    assert_eq!(report["level"]["reached"], 2);
}

#[test]
fn an_upstream_manifest_without_signatures_is_unsigned() {
    let s = Scratch::new();
    let dir = lineage_copy(&s);
    std::fs::remove_file(dir.join("upstream/tinystories.provenance.sig")).unwrap();
    update_and_sign(&dir);
    let (report, code) = verify_level(&dir, "3");
    assert_eq!(code, 1);
    assert_eq!(
        problems(&report),
        vec![(
            "upstream_unsigned".into(),
            "upstream/tinystories.provenance.toml".into()
        )]
    );
}

#[test]
fn a_dataset_with_no_manifest_is_unsigned_at_level_3() {
    let s = Scratch::new();
    let dir = lineage_copy(&s);
    edit(
        &dir.join("provenance.toml"),
        "manifest = \"upstream/tiny-instructions.provenance.toml\"\n",
        "",
    );
    update_and_sign(&dir);
    let (report, code) = verify_level(&dir, "2");
    assert_eq!(code, 0, "{report}");
    let (report, code) = verify_level(&dir, "3");
    assert_eq!(code, 1);
    assert_eq!(
        problems(&report),
        vec![("upstream_unsigned".into(), "provenance.toml".into())]
    );
    assert!(
        report["problems"][0]["message"]
            .as_str()
            .unwrap()
            .contains("tiny-instructions")
    );
}

#[test]
fn a_base_model_manifest_that_is_a_dataset_is_a_mismatch() {
    let s = Scratch::new();
    let dir = lineage_copy(&s);
    edit(
        &dir.join("provenance.toml"),
        "manifest = \"upstream/base.provenance.toml\"",
        "manifest = \"upstream/tinystories.provenance.toml\"",
    );
    let text = std::fs::read_to_string(dir.join("provenance.toml")).unwrap();
    let start = text.find("base_model = {").unwrap();
    let sha_at = start + text[start..].find("sha256 = \"").unwrap();
    let end = sha_at + text[sha_at..].find(", ").unwrap() + 2;
    std::fs::write(
        dir.join("provenance.toml"),
        format!("{}{}", &text[..sha_at], &text[end..]),
    )
    .unwrap();
    update_and_sign(&dir);
    let (report, code) = verify_level(&dir, "3");
    assert_eq!(code, 1);
    let kinds: Vec<String> = problems(&report).into_iter().map(|(k, _)| k).collect();
    assert!(kinds.iter().all(|k| k == "upstream_mismatch"), "{report}");
    assert!(
        report["problems"].to_string().contains("kind 'dataset'"),
        "{report}"
    );
}

#[test]
fn every_reference_to_a_shared_upstream_is_checked_for_name_and_kind() {
    let s = Scratch::new();
    let dir = lineage_copy(&s);
    let manifest = dir.join("provenance.toml");
    let mut text = std::fs::read_to_string(&manifest).unwrap();
    text.push_str(
        "\n[[training]]\nid = \"other\"\noutputs = [\"model.safetensors\"]\n\
         base_model = { name = \"someone/else\", manifest = \"upstream/base.provenance.toml\" }\n",
    );
    std::fs::write(&manifest, text).unwrap();
    update_and_sign(&dir);
    let (report, code) = verify_level(&dir, "3");
    assert_eq!(code, 1, "{report}");
    assert_eq!(
        problems(&report),
        vec![(
            "upstream_mismatch".into(),
            "upstream/base.provenance.toml".into()
        )]
    );
    assert!(
        report["problems"][0]["message"]
            .as_str()
            .unwrap()
            .contains("'someone/else'")
    );
}

#[test]
fn a_cycle_in_the_chain_is_named() {
    let s = Scratch::new();
    let dir = lineage_copy(&s);
    // A base model manifest that claims to be fine-tuned from itself, validly signed.
    let cyclic = "manifest = 1\nkind = \"model\"\nname = \"acme/tiny-base\"\nversion = \"1.0.0\"\n\
        [hashing]\nalgorithm = \"sha256\"\nshard_size = 268435456\n\
        [[training]]\nid = \"loop\"\nbase_model = { name = \"acme/tiny-base\", manifest = \"upstream/base.provenance.toml\" }\n";
    std::fs::write(dir.join("upstream/base.provenance.toml"), cyclic).unwrap();
    let key = modelseal::keys::load_signing_key(&test_key().0, || None)
        .unwrap()
        .key;
    let sig = modelseal::signature::SignatureFile {
        signatures: vec![modelseal::signature::SignatureEntry::sign(
            cyclic.as_bytes(),
            &key,
            None,
        )],
    };
    std::fs::write(
        dir.join("upstream/base.provenance.sig"),
        sig.to_toml().unwrap(),
    )
    .unwrap();
    modelseal().arg("update").arg(&dir).assert().success();
    // Re-record the training so its base sha256 follows the new manifest.
    modelseal()
        .args(["trace", "training"])
        .arg(&dir)
        .args([
            "--id",
            "train",
            "--outputs",
            "model.safetensors",
            "--configs",
            "train.yaml",
        ])
        .args([
            "--datasets",
            "tinystories,tiny-instructions",
            "--code-uri",
            "https://github.com/acme/trainer",
        ])
        .args(["--commit", "9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b"])
        .args([
            "--base-model",
            "acme/tiny-base",
            "--base-manifest",
            "upstream/base.provenance.toml",
        ])
        .assert()
        .success();
    update_and_sign(&dir);
    let (report, code) = verify_level(&dir, "3");
    assert_eq!(code, 1, "{report}");
    assert_eq!(
        problems(&report),
        vec![(
            "dangling_reference".into(),
            "upstream/base.provenance.toml".into()
        )]
    );
    assert!(
        report["problems"][0]["message"]
            .as_str()
            .unwrap()
            .contains("lineage cycle")
    );
}

#[test]
fn trace_refuses_references_that_would_dangle_and_writes_nothing() {
    let s = Scratch::new();
    let dir = lineage_copy(&s);
    let before = std::fs::read(dir.join("provenance.toml")).unwrap();
    modelseal()
        .args(["trace", "training"])
        .arg(&dir)
        .args([
            "--id",
            "x",
            "--outputs",
            "model.safetensors",
            "--configs",
            "README.md",
            "--datasets",
            "ghost",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("role 'docs', not 'config'"))
        .stderr(predicate::str::contains("'ghost'"));
    modelseal()
        .args(["trace", "dataset"])
        .arg(&dir)
        .args(["--id", "d", "--files", "nothing.jsonl"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("modelseal update"));
    modelseal()
        .args(["trace", "training"])
        .arg(&dir)
        .args([
            "--id",
            "x",
            "--outputs",
            "model.safetensors",
            "--commit",
            "abc",
        ])
        .assert()
        .code(2);
    assert_eq!(std::fs::read(dir.join("provenance.toml")).unwrap(), before);
}

#[test]
fn a_fine_tune_is_recorded_through_the_cli_from_its_model_card() {
    let s = Scratch::new();
    let dir = s.path("ft");
    write(&dir.join("model.safetensors"), &pattern(4096, 1));
    write(&dir.join("train.yaml"), b"lr: 1e-4\n");
    write(&dir.join("data/a.jsonl"), b"{\"text\": \"a\"}\n");
    write(
        &dir.join("README.md"),
        b"---\nlicense: mit\ndatasets:\n- org/alpha\n- org/beta\nbase_model: org/base\n---\n# ft\n",
    );
    modelseal()
        .arg("init")
        .arg(&dir)
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "from the model card: license mit, 2 dataset(s), base model org/base",
        ))
        .stdout(predicate::str::contains("still missing for level 2"));
    let text = std::fs::read_to_string(dir.join("provenance.toml")).unwrap();
    assert!(text.contains("license = \"mit\""));
    assert!(text.contains("id = \"alpha\"") && text.contains("id = \"beta\""));
    assert!(text.contains("name = \"org/base\""));
    // Add a comment: recording must keep it.
    std::fs::write(dir.join("provenance.toml"), format!("# keep me\n{text}")).unwrap();
    modelseal()
        .args(["trace", "dataset"])
        .arg(&dir)
        .args([
            "--id",
            "alpha",
            "--name",
            "org/alpha",
            "--files",
            "data/a.jsonl",
        ])
        .assert()
        .success();
    let digest = "ab".repeat(32);
    modelseal()
        .args(["trace", "dataset"])
        .arg(&dir)
        .args(["--id", "beta", "--sha256", &digest])
        .assert()
        .success();
    modelseal()
        .args(["trace", "training"])
        .arg(&dir)
        .args([
            "--id",
            "train",
            "--outputs",
            "model.safetensors",
            "--configs",
            "train.yaml",
        ])
        .args([
            "--datasets",
            "alpha,beta",
            "--code-uri",
            "https://example.com/t.git",
        ])
        .args(["--commit", &"c".repeat(40), "--base-model", "org/base"])
        .assert()
        .success()
        .stdout(predicate::str::contains("lineage complete"));
    let text = std::fs::read_to_string(dir.join("provenance.toml")).unwrap();
    assert!(text.starts_with("# keep me\n"));
    assert_eq!(text.matches("[[training]]").count(), 1);
    let (key, public) = s.key("k");
    sign_with(&dir, &key);
    let (report, code) = verify_json(&dir, &["--key", public.to_str().unwrap(), "--level", "2"]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["level"]["reached"], 2);
}

#[test]
fn init_kind_dataset_lists_data_files() {
    let s = Scratch::new();
    let dir = s.path("ds");
    write(&dir.join("part-0.json"), b"{}\n");
    write(&dir.join("README.md"), b"# ds\n");
    modelseal()
        .arg("init")
        .arg(&dir)
        .args(["--kind", "dataset"])
        .assert()
        .success();
    let text = std::fs::read_to_string(dir.join("provenance.toml")).unwrap();
    assert!(text.contains("kind = \"dataset\""));
    assert!(text.contains("path = \"part-0.json\"\nrole = \"data\""));
}

#[test]
fn lineage_draws_text_json_and_dot_that_graphviz_renders() {
    let dir = repo().join("fixtures/lineage");
    modelseal()
        .arg("lineage")
        .arg(&dir)
        .args(["--trust", &trust()])
        .assert()
        .success()
        .stdout(predicate::str::contains("traced yes, chained yes"))
        .stdout(predicate::str::contains("base model acme/tiny-base"))
        .stdout(predicate::str::contains("acme/pretrain-corpus"));
    let out = modelseal()
        .arg("lineage")
        .arg(&dir)
        .args(["--format", "json"])
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["lineage"]["traced"], true);
    let dot = modelseal()
        .arg("lineage")
        .arg(&dir)
        .args(["--trust", &trust(), "--format", "dot"])
        .output()
        .unwrap()
        .stdout;
    let mut child = std::process::Command::new("dot")
        .arg("-Tsvg")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("graphviz `dot` is installed (.ci/run installs it)");
    use std::io::Write;
    child.stdin.take().unwrap().write_all(&dot).unwrap();
    let svg = child.wait_with_output().unwrap();
    assert!(svg.status.success());
    let svg = String::from_utf8_lossy(&svg.stdout);
    assert!(svg.contains("<svg") && svg.contains("model.safetensors"));
}

#[test]
fn lineage_marks_broken_links() {
    let s = Scratch::new();
    let dir = lineage_copy(&s);
    std::fs::remove_file(dir.join("upstream/tinystories.provenance.sig")).unwrap();
    update_and_sign(&dir);
    modelseal()
        .arg("lineage")
        .arg(&dir)
        .args(["--trust", &trust()])
        .assert()
        .success()
        .stdout(predicate::str::contains("chained no"))
        .stdout(predicate::str::contains("[FAIL: upstream_unsigned"));
}

#[test]
fn a_chain_deeper_than_the_limit_ends_in_a_problem_not_a_stack_overflow() {
    let s = Scratch::new();
    let dir = s.path("deep-chain");
    write(&dir.join("model.safetensors"), &pattern(1000, 1));
    write(&dir.join("train.yaml"), b"lr: 1\n");
    write(&dir.join("data/a.jsonl"), b"{}\n");
    let key = modelseal::keys::load_signing_key(&test_key().0, || None)
        .unwrap()
        .key;
    let depth = modelseal::trace::MAX_CHAIN_DEPTH + 6;
    for i in 0..depth {
        let mut text = format!(
            "manifest = 1\nkind = \"dataset\"\nname = \"u{i}\"\nversion = \"1\"\n[hashing]\nalgorithm = \"sha256\"\nshard_size = 1048576\n"
        );
        if i + 1 < depth {
            text.push_str(&format!(
                "[[dataset]]\nid = \"next\"\nmanifest = \"upstream/u{}.provenance.toml\"\n",
                i + 1
            ));
        }
        write(
            &dir.join(format!("upstream/u{i}.provenance.toml")),
            text.as_bytes(),
        );
        let sig = modelseal::signature::SignatureFile {
            signatures: vec![modelseal::signature::SignatureEntry::sign(
                text.as_bytes(),
                &key,
                None,
            )],
        };
        write(
            &dir.join(format!("upstream/u{i}.provenance.sig")),
            sig.to_toml().unwrap().as_bytes(),
        );
    }
    init(&dir);
    modelseal()
        .args(["trace", "dataset"])
        .arg(&dir)
        .args([
            "--id",
            "d",
            "--files",
            "data/a.jsonl",
            "--manifest",
            "upstream/u0.provenance.toml",
        ])
        .assert()
        .success();
    modelseal()
        .args(["trace", "training"])
        .arg(&dir)
        .args([
            "--id",
            "t",
            "--outputs",
            "model.safetensors",
            "--configs",
            "train.yaml",
            "--datasets",
            "d",
        ])
        .args([
            "--code-uri",
            "https://example.com/x.git",
            "--commit",
            &"a".repeat(40),
        ])
        .assert()
        .success();
    sign_with(&dir, &test_key().0);
    let (report, code) = verify_level(&dir, "3");
    assert_eq!(code, 1, "{}", report["problems"]);
    assert_eq!(problems(&report).len(), 1, "{}", report["problems"]);
    assert_eq!(problems(&report)[0].0, "dangling_reference");
    assert!(
        report["problems"][0]["message"]
            .as_str()
            .unwrap()
            .contains("deeper than 64")
    );
    assert_eq!(report["level"]["reached"], 2);
}

#[test]
fn trace_merges_into_an_entry_and_replace_lists_what_it_drops() {
    let s = Scratch::new();
    let dir = s.path("ft");
    write(&dir.join("model.safetensors"), &pattern(4096, 1));
    write(&dir.join("train.yaml"), b"lr: 1e-4\n");
    write(&dir.join("data/a.jsonl"), b"{\"text\": \"a\"}\n");
    write(
        &dir.join("README.md"),
        b"---\ndatasets:\n- org/alpha\n- org/beta\nbase_model: org/base\n---\n# ft\n",
    );
    init(&dir);
    let manifest = || std::fs::read_to_string(dir.join("provenance.toml")).unwrap();
    // init filled in a training run naming both datasets: trace keeps them.
    let before = manifest();
    assert!(
        before.contains("\"alpha\"") && before.contains("\"beta\""),
        "{before}"
    );
    let training_id = before
        .split("[[training]]")
        .nth(1)
        .and_then(|t| t.split("id = \"").nth(1))
        .and_then(|t| t.split('"').next())
        .unwrap()
        .to_string();
    modelseal()
        .args(["trace", "training"])
        .arg(&dir)
        .args([
            "--id",
            &training_id,
            "--outputs",
            "model.safetensors",
            "--configs",
            "train.yaml",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains(format!(
            "merged into training '{training_id}'"
        )));
    let merged =
        modelseal::manifest::Manifest::parse(Path::new("provenance.toml"), manifest().as_bytes())
            .unwrap();
    let run = &merged.trainings[0];
    assert_eq!(run.datasets, ["alpha", "beta"]);
    assert_eq!(run.configs, ["train.yaml"]);
    // A dataset's name and uri survive a trace that gives only its files.
    modelseal()
        .args(["trace", "dataset"])
        .arg(&dir)
        .args(["--id", "alpha", "--uri", "https://example.org/alpha"])
        .assert()
        .success();
    modelseal()
        .args(["trace", "dataset"])
        .arg(&dir)
        .args(["--id", "alpha", "--files", "data/a.jsonl"])
        .assert()
        .success();
    let text = manifest();
    assert!(
        text.contains("https://example.org/alpha") && text.contains("org/alpha"),
        "{text}"
    );
    // --replace replaces whole and names each thing dropped.
    modelseal()
        .args(["trace", "training"])
        .arg(&dir)
        .args([
            "--id",
            &training_id,
            "--outputs",
            "model.safetensors",
            "--replace",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains(format!(
            "replaced training '{training_id}'"
        )))
        .stdout(predicate::str::contains("dropped  datasets: alpha"))
        .stdout(predicate::str::contains("dropped  datasets: beta"))
        .stdout(predicate::str::contains("dropped  configs: train.yaml"));
}

#[test]
fn a_model_with_no_weights_file_does_not_reach_level_2() {
    let s = Scratch::new();
    let dir = lineage_copy(&s);
    // Weights with an extension init does not know get role "other".
    edit(
        &dir.join("provenance.toml"),
        "path = \"model.safetensors\"\nrole = \"weights\"",
        "path = \"model.safetensors\"\nrole = \"other\"",
    );
    update_and_sign(&dir);
    let (report, code) = verify_level(&dir, "2");
    assert_eq!(code, 1, "{report}");
    assert_eq!(report["level"]["reached"], 1);
    assert_eq!(report["lineage"]["traced"], false);
    assert_eq!(report["lineage"]["weights"], serde_json::json!([]));
    let all = problems(&report);
    assert!(
        all.contains(&("untraced_weights".into(), "provenance.toml".into())),
        "{all:?}"
    );
}

#[test]
fn a_run_naming_one_pinned_dataset_among_unpinned_ones_is_not_traced() {
    let s = Scratch::new();
    let dir = lineage_copy(&s);
    let manifest = dir.join("provenance.toml");
    let mut text = std::fs::read_to_string(&manifest).unwrap();
    let ids: Vec<String> = (0..20).map(|i| format!("\"extra{i}\"")).collect();
    for i in 0..20 {
        text.push_str(&format!(
            "\n[[dataset]]\nid = \"extra{i}\"\nname = \"extra {i}\"\n"
        ));
    }
    std::fs::write(&manifest, text).unwrap();
    edit(
        &manifest,
        "datasets = [\"tinystories\", \"tiny-instructions\"]",
        &format!("datasets = [\"tinystories\", {}]", ids.join(", ")),
    );
    update_and_sign(&dir);
    let (report, code) = verify_level(&dir, "2");
    assert_eq!(code, 1, "{report}");
    let untraced: Vec<&serde_json::Value> = report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["kind"] == "untraced_weights")
        .collect();
    assert_eq!(untraced.len(), 1, "{report}");
    // The JSON says which weights were and were not traced, and the text counts them.
    assert_eq!(report["lineage"]["weights"][0]["path"], "model.safetensors");
    assert_eq!(report["lineage"]["weights"][0]["traced"], false);
    let out = modelseal()
        .arg("verify")
        .arg(&dir)
        .args(["--trust", &trust(), "--level", "2"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("(0 of 1 weights file(s) traced;"), "{text}");
    let message = untraced[0]["message"].as_str().unwrap();
    assert!(
        message.contains("20 dataset(s) with neither `files` nor `sha256`")
            && message.contains("'extra0'")
            && message.contains("and 10 more"),
        "{message}"
    );
}

#[test]
fn every_missing_upstream_manifest_is_reported_not_just_the_first() {
    let s = Scratch::new();
    let dir = lineage_copy(&s);
    let manifest = dir.join("provenance.toml");
    let mut text = std::fs::read_to_string(&manifest).unwrap();
    for i in 0..5 {
        text.push_str(&format!(
            "\n[[dataset]]\nid = \"unsigned{i}\"\nsha256 = \"{}\"\n",
            "ab".repeat(32)
        ));
    }
    std::fs::write(&manifest, text).unwrap();
    update_and_sign(&dir);
    let (report, code) = verify_level(&dir, "3");
    assert_eq!(code, 1, "{report}");
    let unsigned: Vec<&str> = report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["kind"] == "upstream_unsigned")
        .map(|p| p["message"].as_str().unwrap())
        .collect();
    assert_eq!(unsigned.len(), 5, "{unsigned:?}");
    for i in 0..5 {
        assert!(
            unsigned
                .iter()
                .any(|m| m.contains(&format!("dataset 'unsigned{i}'"))),
            "{unsigned:?}"
        );
    }
}
