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
            // A shell line that only reads the fixtures (cat, a loop over links).
            let reads_fixtures = (command.starts_with("cat fixtures/")
                || command.starts_with("for f in fixtures/"))
                && !command.contains('~')
                && !command.contains(" > ");
            if reads_fixtures {
                return true;
            }
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
        let out = if command.starts_with("modelseal ") {
            let args: Vec<&str> = command.split_whitespace().skip(1).collect();
            modelseal()
                .current_dir(repo())
                .env("MODELSEAL_CACHE_DIR", cache.path())
                .args(&args)
                .output()
                .unwrap()
        } else {
            std::process::Command::new("bash")
                .args(["-c", command])
                .current_dir(repo())
                .output()
                .unwrap()
        };
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
    // (its links, a good and a re-pointed snapshot), the Git LFS clone (the
    // pointer, verify twice) and check with its stat cache (twice).
    assert!(run_examples("README.md") >= 11);
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

/// The `$ ` commands of the fenced block that follows `marker` in README.md,
/// each with the output shown under it.
fn readme_transcript(marker: &str) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let after = text.split_once(marker).unwrap().1;
    let body = after.split_once("```\n").unwrap().1;
    let body = body.split_once("\n```").unwrap().0;
    let mut out: Vec<(String, String)> = Vec::new();
    for line in body.lines() {
        match line.strip_prefix("$ ") {
            Some(command) => out.push((command.to_string(), String::new())),
            None => {
                if let Some((_, expected)) = out.last_mut() {
                    expected.push_str(line);
                    expected.push('\n');
                }
            }
        }
    }
    out
}

/// The README's SARIF and deploy-gate sessions, run in bash on the demo
/// model tampered as they describe (a config one byte longer, an added
/// notes.txt), with the README's own deploy-gate.sh.
#[test]
fn the_readme_gate_sessions_print_what_the_readme_shows() {
    let s = Scratch::new();
    let work = s.path("work");
    for dir in ["models/tiny-gpt", "downloads/tiny-gpt"] {
        let model = work.join(dir);
        copy_tree(&repo().join("fixtures/demo-model"), &model);
        let config = std::fs::read(model.join("config.json")).unwrap();
        std::fs::write(model.join("config.json"), [config, b"\n".to_vec()].concat()).unwrap();
        write(&model.join("notes.txt"), b"scratch\n");
    }
    for file in ["trust.toml", "test-release.pub"] {
        std::fs::copy(repo().join("fixtures/keys").join(file), work.join(file)).unwrap();
    }
    // The --copy-to session: an intact release beside the tampered download.
    copy_tree(
        &repo().join("fixtures/demo-model"),
        &work.join("releases/tiny-gpt"),
    );
    std::fs::create_dir(work.join("serving")).unwrap();
    let gate = readme_block("Without code scanning, the exit status is the gate", "sh");
    write(&work.join("deploy-gate.sh"), gate.as_bytes());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let script = work.join("deploy-gate.sh");
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let bin = assert_cmd::cargo::cargo_bin("modelseal");
    let path = format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let sessions = [
        "one, it is a `file://` URI. Each message starts with the path in any case.",
        "  { echo \"modelseal: $MODEL_DIR is not $2 $3\" >&2; exit 1; }\n```",
        "crash, such as a pod's `emptyDir`. Serve from DEST, never from the download:",
    ];
    let mut ran = 0;
    for marker in sessions {
        for (command, expected) in readme_transcript(marker) {
            let out = std::process::Command::new("bash")
                .args(["-c", &format!("{{ {command}; }} 2>&1")])
                .current_dir(&work)
                .env("PATH", &path)
                .env("MODEL_DIR", "models/tiny-gpt")
                .output()
                .unwrap();
            assert_eq!(
                String::from_utf8_lossy(&out.stdout),
                expected,
                "README.md: `{command}` prints something else"
            );
            ran += 1;
        }
    }
    assert_eq!(ran, 7);
}

/// A git commit summary names a fresh commit id each run, and its diffstat
/// depends on whether `update` moved `created` within the same second:
/// compare without either.
fn without_commit_ids(text: &str) -> String {
    text.lines()
        .map(
            |line| match line.strip_prefix('[').and_then(|l| l.split_once(']')) {
                _ if line.contains(" changed, ")
                    && line.trim_start().starts_with(char::is_numeric) =>
                {
                    "DIFFSTAT".to_string()
                }
                Some((head, rest)) if head.split(' ').nth(1).is_some_and(|id| id.len() >= 7) => {
                    format!("[{} COMMIT]{rest}", head.split(' ').next().unwrap_or(""))
                }
                _ => line.to_string(),
            },
        )
        .collect::<Vec<_>>()
        .join("\n")
}

/// The README's pre-commit session: the real git and pre-commit, the README's
/// local hook, a model signed with the test key as "Acme release key 2026",
/// then new weights of the same size.
#[test]
fn the_readme_pre_commit_session_prints_what_the_readme_shows() {
    let s = Scratch::new();
    let work = s.path("work");
    let repo_dir = work.join("repo");
    let model = repo_dir.join("models/tiny-gpt");
    write(&model.join("model.safetensors"), &pattern(4096, 1));
    write(&model.join("config.json"), b"{\"model_type\": \"gpt2\"}\n");
    std::fs::copy(test_key().0, work.join("release.key")).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::Permissions::from_mode(0o600);
        std::fs::set_permissions(work.join("release.key"), mode).unwrap();
    }
    let bin = assert_cmd::cargo::cargo_bin("modelseal");
    let path = format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let hook = readme_block(
        "or, with modelseal already on `PATH`, a local hook:",
        "yaml",
    );
    write(&repo_dir.join(".pre-commit-config.yaml"), hook.as_bytes());
    let bash = |script: &str| {
        std::process::Command::new("bash")
            .args(["-c", &format!("{{ {script}\n}} 2>&1")])
            .current_dir(&repo_dir)
            .env("PATH", &path)
            .env("PRE_COMMIT_HOME", s.path("pre-commit-home"))
            .env("MODELSEAL_CACHE_DIR", s.path("cache"))
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env_remove("GIT_DIR")
            .output()
            .unwrap()
    };
    let setup = "git init -q -b master && git config user.name Test && \
        git config user.email test@example.com && git config commit.gpgsign false && \
        pre-commit install >/dev/null && modelseal -q init models/tiny-gpt && \
        modelseal -q sign models/tiny-gpt --key ../release.key --signer 'Acme release key 2026' && \
        git add -A && git commit -q -m release >/dev/null";
    let out = bash(setup);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // Retrained: new weights of the same size.
    write(&model.join("model.safetensors"), &pattern(4096, 2));
    let transcript =
        readme_transcript("repository on every commit instead. A refused commit, then the fix:");
    assert_eq!(transcript.len(), 5);
    for (command, expected) in transcript {
        let out = bash(&command);
        assert_eq!(
            without_commit_ids(String::from_utf8_lossy(&out.stdout).trim_end()),
            without_commit_ids(expected.trim_end()),
            "README.md: `{command}` prints something else"
        );
    }
}
