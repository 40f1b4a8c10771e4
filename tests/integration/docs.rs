//! The console examples of README.md and manifests/SPEC.md that run on the
//! shipped fixtures are run here, and their output must match the docs.

use crate::common::*;

/// `(command line, expected stdout)` for each `$ modelseal …` example in a
/// fenced block of `doc` that only reads files under `fixtures/`.
fn fixture_examples(doc: &str) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(repo().join(doc)).unwrap();
    let mut examples: Vec<(String, String)> = Vec::new();
    let mut in_block = false;
    let mut current: Option<(String, String)> = None;
    for line in text.lines() {
        if line.starts_with("```") {
            in_block = !in_block;
            examples.extend(current.take());
            continue;
        }
        if !in_block {
            continue;
        }
        if let Some(command) = line.strip_prefix("$ ") {
            examples.extend(current.take());
            current = Some((command.to_string(), String::new()));
        } else if let Some((_, output)) = current.as_mut() {
            output.push_str(line);
            output.push('\n');
        }
    }
    examples
        .into_iter()
        .filter(|(command, _)| {
            let runnable = command.starts_with("modelseal ")
                && !command.contains(['~', '"', '$', '>', ';', '|']);
            let args: Vec<&str> = command.split_whitespace().skip(2).collect();
            runnable
                && args.iter().any(|a| a.starts_with("fixtures/"))
                && args.iter().all(|a| {
                    a.starts_with('-') || a.starts_with("fixtures/") || a.parse::<u8>().is_ok()
                })
        })
        .collect()
}

fn run_examples(doc: &str) -> usize {
    let examples = fixture_examples(doc);
    // `check`'s stat cache starts empty for each document, as on a new machine.
    let cache = tempfile::tempdir().unwrap();
    for (command, expected) in &examples {
        let args: Vec<&str> = command.split_whitespace().skip(1).collect();
        let out = modelseal()
            .current_dir(repo())
            .env("MODELSEAL_CACHE_DIR", cache.path())
            .args(&args)
            .output()
            .unwrap();
        // A blank line between two commands of one block is layout, not output.
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim_end(),
            expected.trim_end(),
            "{doc}: `{command}` prints something else"
        );
    }
    examples.len()
}

#[test]
fn readme_fixture_examples_print_what_the_readme_shows() {
    // verify demo-model, the lineage fixture at level 3, lineage, the Hub cache
    // (a good and a re-pointed snapshot), the Git LFS clone (twice) and check
    // with its stat cache (twice).
    assert!(run_examples("README.md") >= 9);
}

#[test]
fn spec_fixture_examples_print_what_the_spec_shows() {
    run_examples("manifests/SPEC.md");
}

#[test]
fn every_test_security_md_cites_exists() {
    let text = std::fs::read_to_string(repo().join("SECURITY.md")).unwrap();
    let mut cited = 0;
    for quoted in text.split('`').skip(1).step_by(2) {
        let Some((file, name)) = quoted.split_once(".rs::") else {
            continue;
        };
        let source = repo().join(format!("tests/integration/{file}.rs"));
        let body = std::fs::read_to_string(&source)
            .unwrap_or_else(|e| panic!("SECURITY.md cites {quoted}: {e}"));
        assert!(
            body.contains(&format!("fn {name}(")),
            "SECURITY.md cites {quoted}, which does not exist"
        );
        cited += 1;
    }
    assert!(cited > 50, "only {cited} citations found");
}

/// The first fenced block of `lang` after `heading` in README.md.
fn readme_block(heading: &str, lang: &str) -> String {
    let text = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let after = text
        .split_once(heading)
        .unwrap_or_else(|| panic!("README.md has no {heading}"))
        .1;
    let fence = format!("```{lang}\n");
    let body = after.split_once(&fence).unwrap().1;
    body.split_once("\n```").unwrap().0.to_string()
}

#[test]
fn the_readme_walkthrough_runs_as_written_and_its_policy_accepts_the_release() {
    let s = Scratch::new();
    let work = s.path("work");
    write(&work.join("my-model/model.safetensors"), &pattern(5000, 1));
    write(&work.join("my-model/config.json"), b"{}\n");
    let bin = assert_cmd::cargo::cargo_bin("modelseal");
    let path = format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let script = readme_block("## A release, step by step", "sh");
    let out = std::process::Command::new("bash")
        .args(["-euo", "pipefail", "-c", &script])
        .current_dir(&work)
        .env("PATH", &path)
        .env("EDITOR", "true")
        .env("MODELSEAL_PASSPHRASE", "walkthrough")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the walkthrough failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // The trust policy shown under Verify, pins included, accepts that release.
    let policy = readme_block("## Verify", "toml");
    write(&work.join("shown.toml"), policy.as_bytes());
    modelseal()
        .current_dir(&work)
        .args(["verify", "my-model", "--trust", "shown.toml"])
        .assert()
        .success();
}

#[test]
fn relative_links_in_the_docs_stay_inside_the_repository_and_resolve() {
    for doc in [
        "README.md",
        "manifests/SPEC.md",
        "SECURITY.md",
        "fuzz/README.md",
    ] {
        let path = repo().join(doc);
        let text = std::fs::read_to_string(&path).unwrap();
        for part in text.split("](").skip(1) {
            let target = part.split(')').next().unwrap_or("");
            let file = target.split('#').next().unwrap_or("");
            if file.is_empty() || file.contains("://") || file.starts_with("mailto:") {
                continue;
            }
            let resolved = path.parent().unwrap().join(file);
            let inside = resolved
                .canonicalize()
                .is_ok_and(|r| r.starts_with(repo().canonicalize().unwrap()));
            assert!(
                inside,
                "{doc}: link to {target} leaves the repository or is broken"
            );
        }
    }
}
