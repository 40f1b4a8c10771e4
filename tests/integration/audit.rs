//! `modelseal report`: the auditor's page, loaded by a real browser.
//! Debian's `chromium`, started headless by the test, renders the report of
//! `fixtures/lineage` and of a tampered copy; the test asserts on the
//! rendered DOM's text and that the lineage SVG is there, and keeps a
//! screenshot of each under target/report-screenshots/.

use crate::common::*;
use std::path::{Path, PathBuf};
use std::process::Command;

fn report(dir: &Path, out: &Path, extra: &[&str]) -> i32 {
    let (_, trust) = test_key();
    let result = modelseal()
        .arg("report")
        .arg(dir)
        .arg("--trust")
        .arg(&trust)
        .arg("--out")
        .arg(out)
        .args(extra)
        .output()
        .unwrap();
    result.status.code().unwrap()
}

fn chromium(profile: &Path, args: &[&str], page: &Path) -> std::process::Output {
    let out = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium (Debian package `chromium`; .ci/run installs it)");
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The DOM after load, and a screenshot kept under target/.
fn render(page: &Path, name: &str) -> String {
    let s = Scratch::new();
    let dom = chromium(&s.path("profile"), &["--dump-dom"], page);
    let shots = repo().join("target/report-screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let shot: PathBuf = shots.join(format!("{name}.png"));
    let _ = std::fs::remove_file(&shot);
    chromium(
        &s.path("profile"),
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1280,1400",
        ],
        page,
    );
    let png = std::fs::read(&shot).unwrap();
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 20_000,
        "{name}: no screenshot"
    );
    String::from_utf8(dom.stdout).unwrap()
}

/// No tag of the page loads anything or runs anything: no script, link,
/// image, frame, `src`, `href`, event handler or imported style. Text that
/// merely reads `src=` (escaped attacker text) is not a tag.
fn assert_self_contained(html: &str) {
    assert!(!html.contains("@import"), "a style imports something");
    // `url(#arrow)` names the page's own arrowhead; nothing else is referenced.
    for (at, _) in html.match_indices("url(") {
        assert!(html[at + 4..].starts_with('#'), "{}", &html[at..]);
    }
    for tag in html
        .split('<')
        .skip(1)
        .map(|t| t.split('>').next().unwrap_or(""))
    {
        let tag = tag.to_ascii_lowercase();
        let name = tag.split_whitespace().next().unwrap_or("");
        assert!(
            ![
                "script", "link", "img", "iframe", "object", "embed", "a", "image", "use"
            ]
            .contains(&name),
            "the page has a <{name}> tag"
        );
        for attribute in [" src=", " href=", " xlink:href=", " on"] {
            assert!(!tag.contains(attribute), "the tag <{tag}> has{attribute}");
        }
    }
}

#[test]
fn the_report_of_the_lineage_fixture_renders_with_its_picture() {
    let s = Scratch::new();
    let page = s.path("report.html");
    assert_eq!(report(&lineage(), &page, &[]), 0);
    let html = std::fs::read_to_string(&page).unwrap();
    assert_self_contained(&html);
    let dom = render(&page, "lineage");
    assert!(
        dom.contains("VERIFIED: level 1 (signed) holds (reached: 3 (chained))"),
        "{dom}"
    );
    assert!(
        dom.contains("<svg") && dom.contains("class=\"lineage\""),
        "no lineage picture"
    );
    assert!(
        dom.matches("class=\"node verified\"").count() >= 10,
        "{dom}"
    );
    assert!(!dom.contains("class=\"node failed\""));
    for text in [
        "modelseal test key (TEST ONLY)",
        "a4e4e1e3fc3d078c595983dfff1808948dbea7ca3387f283e913709eee8d7109",
        "model.safetensors",
        "b015aff40f4e3677b181b67785a13b741e25617c9f5b25689a24116be6c372ff",
        "NIST SP 800-218A PW.4.4",
        "EU AI Act Annex IV 2(d)",
    ] {
        assert!(dom.contains(text), "the page lacks {text}");
    }
}

#[test]
fn the_report_of_a_tampered_copy_fails_and_says_where() {
    let s = Scratch::new();
    let dir = s.path("lineage");
    copy_tree(&lineage(), &dir);
    let mut bytes = std::fs::read(dir.join("data/sample.jsonl")).unwrap();
    bytes[3] ^= 1;
    std::fs::write(dir.join("data/sample.jsonl"), bytes).unwrap();
    let page = s.path("report.html");
    assert_eq!(
        report(&dir, &page, &[]),
        1,
        "a failed verify exits 1, the page still written"
    );
    let dom = render(&page, "lineage-tampered");
    assert!(
        dom.contains("FAILED: level 1 (signed) does not hold (reached: none)"),
        "{dom}"
    );
    assert!(
        dom.contains("hash_mismatch") && dom.contains("data/sample.jsonl"),
        "{dom}"
    );
    assert!(
        dom.contains("class=\"node failed\""),
        "the tampered file is not marked in the picture"
    );
    assert!(dom.contains("not evidenced"));
}

#[test]
fn the_markdown_report_says_the_same() {
    let s = Scratch::new();
    let page = s.path("report.md");
    assert_eq!(
        report(&lineage(), &page, &["--format", "md", "--level", "3"]),
        0
    );
    let md = std::fs::read_to_string(&page).unwrap();
    assert!(
        md.contains("**VERIFIED: level 3 (chained) holds (reached: 3 (chained))**"),
        "{md}"
    );
    assert!(
        md.contains("| 3 (chained) | holds |") && md.contains("```text\nacme/tiny-chat 1.0.0"),
        "{md}"
    );
}

fn lineage() -> PathBuf {
    repo().join("fixtures/lineage")
}

/// The README's `modelseal report` line runs as written.
#[test]
fn the_readme_report_command_runs_as_written() {
    let text = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with("modelseal report "))
        .expect("README.md shows `modelseal report`");
    let s = Scratch::new();
    let work = s.path("work");
    std::fs::create_dir_all(&work).unwrap();
    std::os::unix::fs::symlink(repo().join("fixtures"), work.join("fixtures")).unwrap();
    let args: Vec<&str> = line.split_whitespace().skip(1).collect();
    modelseal()
        .current_dir(&work)
        .args(&args)
        .assert()
        .success();
    let html = std::fs::read_to_string(work.join("report.html")).unwrap();
    assert!(html.contains("VERIFIED") && html.contains("<svg"));
}

/// Markup in attacker-written names (model, file, dataset, signer) is
/// text on the page, never markup: no script, no link, no image.
#[test]
fn markup_in_the_manifest_stays_text_on_the_page() {
    let s = Scratch::new();
    let dir = s.path("m");
    write(&dir.join("<img src=x onerror=alert(1)>.bin"), b"weights");
    write(&dir.join("data/a.txt"), b"a");
    modelseal()
        .args([
            "init",
            "--name",
            "<script>alert(1)</script>",
            "--version",
            "1\"><b>",
        ])
        .arg(&dir)
        .assert()
        .success();
    modelseal()
        .args(["trace", "dataset"])
        .arg(&dir)
        .args([
            "--id",
            "d",
            "--name",
            "</table><script>x()</script>",
            "--files",
            "data/a.txt",
        ])
        .assert()
        .success();
    let (key, public) = s.key("k");
    modelseal()
        .args(["sign", "--signer", "<a href=//evil>me</a>", "--key"])
        .arg(&key)
        .arg(&dir)
        .assert()
        .success();
    let page = s.path("report.html");
    let out = modelseal()
        .arg("report")
        .arg(&dir)
        .arg("--key")
        .arg(&public)
        .arg("--out")
        .arg(&page)
        .output()
        .unwrap();
    assert!(out.status.code().unwrap() <= 1, "{out:?}");
    let html = std::fs::read_to_string(&page).unwrap();
    assert_self_contained(&html);
    assert!(!html.contains("<img") && !html.contains("<b>") && !html.contains("</table><script"));
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "the name is shown as text"
    );
    assert!(
        html.contains("&lt;img src=x onerror=alert(1)&gt;.bin"),
        "the file name is shown as text"
    );
}
