//! An OpenSSF Model Signing bundle (`model.sig`) on arbitrary bytes:
//! `Bundle::parse`, then `statement::parse` of its envelope's payload; the
//! raw bytes also go to `statement::parse` directly, since the payload sits
//! in base64 that mutations rarely keep valid. What parses goes through what
//! verify does with the names: the path rules, the ignore matcher of the
//! signed `ignore_paths` (each literal: it builds, and ignores itself and
//! what is under it), level 0 against a listing that holds every signed
//! name (as links, so no file is opened) and one unsigned name, and the text
//! and JSON reports.
//!
//! Never panics; a statement's files are the shape its method cuts (files:
//! one whole digest, no size; shards: the size, one digest per shard);
//! every signed name that breaks the path rules is reported as an unsafe
//! path; the text report carries no raw control character.
#![no_main]

use libfuzzer_sys::fuzz_target;
use modelseal::hashing::{NoProgress, shard_count};
use modelseal::intact::{self, Content, Expectation, ExpectedFile, FileCheckOptions};
use modelseal::manifest::Kind;
use modelseal::oms::bundle::Bundle;
use modelseal::oms::statement::{self, Method, SignedContent, SignedModel};
use modelseal::oms::{DEFAULT_IGNORED, literal_matcher};
use modelseal::paths::check_path;
use modelseal::problem::ProblemKind;
use modelseal::verify::{ModelSummary, Report, SignedFormat};
use modelseal::walk::{self, Entry, EntryKind, Listing};
use std::path::Path;

fn check_shape(signed: &SignedModel) {
    for file in &signed.files {
        assert!(file.resource >= 1, "{file:?}");
        match (signed.method, &file.content, file.size) {
            (Method::Files, SignedContent::Whole(_), None) => {}
            (Method::Shards(n), SignedContent::Whole(_), Some(size)) => {
                assert!(size >= 1 && size <= n, "one shard of {n} bytes: {file:?}");
            }
            (Method::Shards(n), SignedContent::Shards(shards), Some(size)) => {
                assert!(shards.len() >= 2, "{file:?}");
                assert_eq!(shard_count(size, n), shards.len() as u64, "{file:?}");
            }
            _ => panic!(
                "a file that is not the shape of {:?}: {file:?}",
                signed.method
            ),
        }
    }
}

/// What `oms::verify` does with the names, without a directory to read.
fn exercise(signed: &SignedModel) {
    check_shape(signed);
    let mut ignored: Vec<&str> = signed.ignore_paths.iter().map(String::as_str).collect();
    ignored.extend(DEFAULT_IGNORED);
    ignored.push("model.sig");
    // Every name is a literal path (model_signing's meaning), so the matcher
    // always builds, and each path ignores itself and everything under it,
    // whatever glob characters (`*`, `[`, `{a,b}`) it holds.
    let literal = |paths: &[&str]| {
        let matcher = literal_matcher(paths, false).expect("literal paths make a matcher");
        for path in paths {
            let path = path.trim_end_matches('/');
            if check_path(path).is_err() {
                continue;
            }
            assert!(
                walk::is_ignored(&matcher, path),
                "{path:?} does not ignore itself"
            );
            let under = format!("{path}/x");
            assert!(
                walk::is_ignored(&matcher, &under),
                "{path:?} does not ignore {under:?}"
            );
        }
        matcher
    };
    let matcher = literal(&ignored);
    for file in &signed.files {
        let _ = walk::is_ignored(&matcher, &file.path);
    }
    // In shards mode the name of every empty file joins the matcher, and
    // the names on disk are the attacker's: the signed names stand in.
    let mut with_names = ignored.clone();
    with_names.extend(signed.files.iter().map(|f| f.path.as_str()));
    literal(&with_names);
    // A directory holding every signed name, each a symbolic link (level 0
    // reports a listed link without opening it), and one name nobody signed.
    let mut entries: Vec<Entry> = signed
        .files
        .iter()
        .map(|f| f.path.clone())
        .chain(signed.ignore_paths.iter().cloned())
        .chain(["unsigned.bin".to_string()])
        .map(|path| Entry {
            unsafe_reason: check_path(&path).err(),
            path,
            kind: EntryKind::Symlink,
            blob: None,
            ignored: false,
        })
        .collect();
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    entries.dedup_by(|a, b| a.path == b.path);
    let listing = Listing {
        entries,
        problems: Vec::new(),
    };
    let expectation = Expectation {
        files: signed
            .files
            .iter()
            .map(|file| ExpectedFile {
                path: &file.path,
                size: file.size,
                content: match &file.content {
                    SignedContent::Whole(digest) => Content::Whole(digest),
                    SignedContent::Shards(shards) => Content::Shards(shards),
                },
                place: file.resource,
            })
            .collect(),
        ignore: matcher,
        shard_size: match signed.method {
            Method::Shards(size) => size,
            Method::Files => u64::MAX,
        },
        place_label: "resource",
        unlisted_fix: "the bundle does not sign it",
    };
    let mut options = FileCheckOptions {
        jobs: 1,
        lfs_pointers: false,
        cache: None,
        read_contents: false,
        copy: None,
    };
    let (problems, files) = intact::compare_expected(
        Path::new("/nonexistent/modelseal-fuzz"),
        &expectation,
        listing,
        &mut options,
        &NoProgress,
    );
    assert_eq!(files.checked, 0, "a file was read");
    for file in &signed.files {
        if check_path(&file.path).is_err() {
            assert!(
                problems
                    .iter()
                    .any(|p| p.kind == ProblemKind::UnsafePath && p.path == file.path),
                "unsafe signed path {:?} not reported: {problems:?}",
                file.path
            );
        }
    }
    let report = Report {
        model: ModelSummary {
            name: signed.name.clone(),
            version: String::new(),
            kind: Kind::Model,
        },
        format: SignedFormat::Oms {
            method: "key",
            serialization: match signed.method {
                Method::Files => "files",
                Method::Shards(_) => "shards",
            },
            bundle: "model.sig".into(),
            root_digest: signed.root_digest,
        },
        required: 0,
        reached: None,
        files,
        signatures: Vec::new(),
        problems,
        lineage: Default::default(),
        bundle: None,
        slice: None,
        content: None,
    };
    let text = modelseal::report::to_text(&report);
    assert!(
        !text.chars().any(|c| c.is_control() && c != '\n'),
        "raw control character in: {text:?}"
    );
    let json = modelseal::report::to_json(&report);
    assert!(serde_json_like(&json), "{json}");
}

/// The JSON report is one line that opens and closes an object.
fn serde_json_like(json: &str) -> bool {
    json.starts_with('{') && json.ends_with('}') && !json.contains('\n')
}

fuzz_target!(|data: &[u8]| {
    if let Ok(bundle) = Bundle::parse(data) {
        let _ = bundle.material.method();
        assert!(!bundle.envelope.signatures.is_empty());
        if let Ok(signed) = statement::parse(&bundle.envelope.payload) {
            exercise(&signed);
        }
    }
    if let Ok(signed) = statement::parse(data) {
        exercise(&signed);
    }
});
