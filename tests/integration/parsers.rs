//! Parser properties: every manifest modelseal can build renders (`to_toml`) to
//! text that parses back to the same manifest, and no input, however mangled,
//! makes a parser of attacker-written text panic (an error is fine).
//!
//! The same parsers are fuzzed with cargo-fuzz (`fuzz/`); crash inputs found
//! there are kept as regression tests at the end of this file.

use ed25519_dalek::SigningKey;
use modelseal::card;
use modelseal::digest::Sha256Digest;
use modelseal::hashing::shard_count;
use modelseal::keys;
use modelseal::lfs;
use modelseal::manifest::{
    Algorithm, BaseModel, CodeRef, Commit, Dataset, FileEntry, Hashing, Kind, Manifest, Role,
    Training,
};
use modelseal::signature::{SignatureEntry, SignatureFile};
use modelseal::timestamp::Timestamp;
use modelseal::trust::{TrustPolicy, compare_versions};
use proptest::prelude::*;
use std::path::Path;
use zeroize::Zeroizing;

const MANIFEST: &str = "provenance.toml";

// ---------------------------------------------------------------- seeds

const DEMO_MANIFEST: &[u8] = include_bytes!("../../fixtures/demo-model/provenance.toml");
const LINEAGE_MANIFEST: &[u8] = include_bytes!("../../fixtures/lineage/provenance.toml");
const BASE_MANIFEST: &[u8] = include_bytes!("../../fixtures/lineage/upstream/base.provenance.toml");
const DEMO_SIG: &[u8] = include_bytes!("../../fixtures/demo-model/provenance.sig");
const LINEAGE_SIG: &[u8] = include_bytes!("../../fixtures/lineage/provenance.sig");
const TRUST: &[u8] = include_bytes!("../../fixtures/keys/trust.toml");
const TEST_PUB: &[u8] = include_bytes!("../../fixtures/keys/test-release.pub");
const TEST_KEY: &[u8] = include_bytes!("../../fixtures/keys/test-release.key");
/// The test key encrypted by OpenSSL with scrypt N=1024 (cheap), passphrase `pw`.
const SCRYPT_KEY: &[u8] = include_bytes!("../../fuzz/seeds/pem_key/openssl-scrypt-n1024-pw.key");
/// An OpenSSL key encrypted with PBKDF2-SHA256 (2048 rounds), passphrase `pw`.
const PBKDF2_KEY: &[u8] = include_bytes!("../../fuzz/seeds/pem_key/openssl-pbkdf2-pw.key");
const CARD: &[u8] = include_bytes!("../../fuzz/seeds/model_card/lineage-front-matter.md");
const CARD_CRLF: &[u8] = include_bytes!("../../fuzz/seeds/model_card/flow-lists-crlf.md");
const LFS_POINTER: &[u8] = include_bytes!("../../fuzz/seeds/lfs_pointer/pointer.txt");
const LISTING: &[u8] = include_bytes!("../../fuzz/seeds/listing/lineage.provenance.files");
/// A listing with `+` shard lines for a shard size of 64 bytes.
const LISTING_SHARDS: &[u8] = include_bytes!("../../fuzz/seeds/listing/shards-64.provenance.files");

/// A policy with an inline key, a key file beside it, expiry and revocation.
const INLINE_POLICY: &str = "threshold = 1\n\
[[key]]\nname = \"file\"\npublic_key = \"test-release.pub\"\nexpires = 2027-12-31T00:00:00Z\n\
[[key]]\nname = \"inline\"\npublic_key = \"\"\"\n-----BEGIN PUBLIC KEY-----\n\
MCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n-----END PUBLIC KEY-----\n\"\"\"\n\
revoked = true\n";
const INLINE_POLICY_BYTES: &[u8] = INLINE_POLICY.as_bytes();

// ---------------------------------------------------------------- (a) manifests round-trip

/// Characters that stress TOML string escaping, mixed with anything at all.
fn tricky_char() -> impl Strategy<Value = char> {
    prop_oneof![
        3 => any::<char>(),
        2 => prop::sample::select(vec![
            '"', '\\', '\'', '\n', '\r', '\t', '\u{0}', '\u{1b}', '\u{7f}', '\u{85}', '\u{a0}',
            '\u{2028}', '\u{feff}', '\u{fffd}', 'é', 'ß', 'İ', '日', '😀', '#', '=', '[', ']',
            '{', '}', '.', '/', ' ', '$', '`',
        ]),
        3 => prop::char::range('a', 'z'),
    ]
}

fn text(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(tricky_char(), 0..=max).prop_map(String::from_iter)
}

fn not_blank(max: usize) -> impl Strategy<Value = String> {
    text(max).prop_filter("name and version must not be blank", |s| {
        !s.trim().is_empty()
    })
}

fn digest() -> impl Strategy<Value = Sha256Digest> {
    any::<[u8; 32]>().prop_map(Sha256Digest)
}

fn role() -> impl Strategy<Value = Role> {
    prop::sample::select(vec![
        Role::Weights,
        Role::Config,
        Role::Tokenizer,
        Role::Data,
        Role::Code,
        Role::Docs,
        Role::Other,
    ])
}

fn shard_size() -> impl Strategy<Value = u64> {
    prop_oneof![
        Just(1u64 << 20),
        Just(256u64 << 20),
        Just(64u64 << 30),
        (1u64 << 20)..=(64u64 << 30),
    ]
}

/// At most this many shards per file, so that cases stay small.
const MAX_SHARDS: u64 = 40;

/// A size in 0..2^40 whose shard count for `shard_size` is at most `MAX_SHARDS` + 1,
/// with the boundaries of the shard rule well represented.
fn size(shard_size: u64) -> impl Strategy<Value = u64> {
    prop_oneof![
        (0u64..(1 << 40)).prop_map(move |s| {
            if shard_count(s, shard_size) > MAX_SHARDS {
                s % (MAX_SHARDS * shard_size + 1)
            } else {
                s
            }
        }),
        0u64..4096,
        Just(shard_size),
        Just(shard_size + 1),
        (1..=MAX_SHARDS).prop_map(move |k| k * shard_size),
        (1..=MAX_SHARDS).prop_map(move |k| k * shard_size + 1),
    ]
    .prop_map(|size| size % (1 << 40))
}

fn file_entry(shard_size: u64) -> impl Strategy<Value = FileEntry> {
    (text(24), role(), size(shard_size), digest()).prop_flat_map(
        move |(path, role, size, sha256)| {
            let n = shard_count(size, shard_size) as usize;
            prop::collection::vec(digest(), n).prop_map(move |shards| FileEntry {
                path: path.clone(),
                role,
                size,
                sha256,
                shards,
                line: 0,
            })
        },
    )
}

fn dataset() -> impl Strategy<Value = Dataset> {
    (
        text(12),
        prop::option::of(text(12)),
        prop::option::of(text(20)),
        prop::option::of(text(8)),
        prop::collection::vec(text(12), 0..3),
        prop::option::of(digest()),
        prop::option::of(text(20)),
    )
        .prop_map(
            |(id, name, uri, license, files, sha256, manifest)| Dataset {
                id,
                name,
                uri,
                license,
                files,
                sha256,
                manifest,
                line: 0,
            },
        )
}

/// An instant whose UTC form is within TOML's years 0000 to 9999, written with
/// any offset TOML can spell (-23:59 to +23:59), to the second or finer.
fn timestamp() -> impl Strategy<Value = Timestamp> {
    // Julian days of 0001-01-02 and 9999-12-30: a day clear of either end, so
    // that the time in any offset is within years 0000 to 9999 too.
    let utc_range = 1_721_427..=5_373_483;
    (
        utc_range,
        0u32..86_400,
        prop_oneof![Just(0u32), 0u32..1_000_000_000],
        -1439i32..=1439,
    )
        .prop_map(|(day, second, nano, offset_minutes)| {
            let date = time::Date::from_julian_day(day).unwrap();
            let clock = time::Time::from_hms_nano(
                (second / 3600) as u8,
                (second / 60 % 60) as u8,
                (second % 60) as u8,
                nano,
            )
            .unwrap();
            let offset = time::UtcOffset::from_whole_seconds(offset_minutes * 60).unwrap();
            Timestamp::new(date.with_time(clock).assume_utc().to_offset(offset)).unwrap()
        })
}

fn commit() -> impl Strategy<Value = Commit> {
    "[0-9a-f]{40}".prop_map(|s| s.parse().expect("40 lowercase hex"))
}

fn training() -> impl Strategy<Value = Training> {
    (
        text(12),
        prop::collection::vec(text(12), 0..3),
        prop::collection::vec(text(12), 0..3),
        prop::collection::vec(text(12), 0..3),
        prop::option::of((text(20), commit()).prop_map(|(uri, commit)| CodeRef { uri, commit })),
        prop::option::of(
            (
                text(12),
                prop::option::of(digest()),
                prop::option::of(text(20)),
            )
                .prop_map(|(name, sha256, manifest)| BaseModel {
                    name,
                    sha256,
                    manifest,
                }),
        ),
    )
        .prop_map(
            |(id, outputs, configs, datasets, code, base_model)| Training {
                id,
                outputs,
                configs,
                datasets,
                code,
                base_model,
                line: 0,
            },
        )
}

/// Keeps the first entry of each id: ids are unique in a valid manifest.
fn unique_by<T>(items: Vec<T>, id: impl Fn(&T) -> &str) -> Vec<T> {
    let mut seen = std::collections::HashSet::new();
    items
        .into_iter()
        .filter(|item| seen.insert(id(item).to_string()))
        .collect()
}

fn manifest() -> impl Strategy<Value = Manifest> {
    let head = (
        prop::sample::select(vec![Kind::Model, Kind::Dataset]),
        not_blank(24),
        not_blank(12),
        prop::option::of(text(12)),
        prop::option::of(timestamp()),
        prop::collection::vec(text(12), 0..4),
    );
    (head, shard_size()).prop_flat_map(
        |((kind, name, version, license, created, ignore), shard_size)| {
            (
                prop::collection::vec(file_entry(shard_size), 0..6),
                prop::collection::vec(dataset(), 0..3),
                prop::collection::vec(training(), 0..3),
            )
                .prop_map(move |(files, datasets, trainings)| Manifest {
                    manifest: 1,
                    kind,
                    name: name.clone(),
                    version: version.clone(),
                    license: license.clone(),
                    created,
                    ignore: ignore.clone(),
                    listing: None,
                    hashing: Hashing {
                        algorithm: Algorithm::Sha256,
                        shard_size,
                    },
                    files,
                    datasets: unique_by(datasets, |d| &d.id),
                    trainings: unique_by(trainings, |t| &t.id),
                })
        },
    )
}

/// The manifest as `to_toml` writes it (files sorted by path) and with the
/// source lines, which only a parse can know, cleared.
fn normalised(mut m: Manifest) -> Manifest {
    m.files.sort_by(|a, b| a.path.cmp(&b.path));
    m.files.iter_mut().for_each(|f| f.line = 0);
    m.datasets.iter_mut().for_each(|d| d.line = 0);
    m.trainings.iter_mut().for_each(|t| t.line = 0);
    m
}

fn parse_manifest(bytes: &[u8]) -> Result<Manifest, modelseal::source::SourceError> {
    Manifest::parse(Path::new(MANIFEST), bytes)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    #[test]
    fn any_manifest_lineage_renders_without_raw_control_characters(m in manifest()) {
        lineage_renders_safely(&m);
    }

    #[test]
    fn built_manifests_round_trip_through_to_toml(m in manifest()) {
        let text = m.to_toml().unwrap();
        let again = parse_manifest(text.as_bytes())
            .map_err(|e| TestCaseError::fail(format!("{e}\n--- rendered ---\n{text}")))?;
        prop_assert_eq!(normalised(again.clone()), normalised(m), "rendered:\n{}", text);
        // A second round trip changes nothing at all, byte for byte.
        prop_assert_eq!(again.to_toml().unwrap(), text);
    }

    /// The line-by-line reading of `[[file]]` tables (taken for large
    /// manifests) gives exactly what the TOML parser gives: the same
    /// manifest, line numbers included, or the same error.
    #[test]
    fn fast_file_tables_read_exactly_what_toml_reads(m in manifest()) {
        let text = m.to_toml().unwrap();
        same_with_and_without_fast_tables(text.as_bytes())?;
    }

    #[test]
    fn fast_file_tables_agree_with_toml_on_mutated_manifests(
        bytes in input(&[DEMO_MANIFEST, LINEAGE_MANIFEST, BASE_MANIFEST]),
    ) {
        same_with_and_without_fast_tables(&bytes)?;
    }

    #[test]
    fn parsed_manifests_round_trip_through_to_toml(m in manifest()) {
        // Parse once to get real line numbers, then check parse(to_toml(parse(x))).
        let first = parse_manifest(m.to_toml().unwrap().as_bytes()).unwrap();
        let second = parse_manifest(first.to_toml().unwrap().as_bytes()).unwrap();
        prop_assert_eq!(normalised(second), normalised(first));
    }

    #[test]
    fn one_shard_digest_too_many_or_too_few_is_refused(
        m in manifest().prop_filter("needs a file", |m| !m.files.is_empty()),
        which in any::<prop::sample::Index>(),
        add in any::<bool>(),
        extra in digest(),
    ) {
        let mut m = m;
        let i = which.index(m.files.len());
        if add {
            m.files[i].shards.push(extra);
        } else if m.files[i].shards.pop().is_none() {
            return Ok(()); // nothing to remove
        }
        prop_assert!(parse_manifest(m.to_toml().unwrap().as_bytes()).is_err());
    }

    #[test]
    fn signature_files_round_trip_and_verify(
        seeds in prop::collection::vec(any::<[u8; 32]>(), 0..4),
        signer in prop::option::of(text(20)),
        manifest in prop::collection::vec(any::<u8>(), 0..200),
    ) {
        let file = SignatureFile {
            signatures: seeds
                .iter()
                .map(|s| SignatureEntry::sign(&manifest, &SigningKey::from_bytes(s), signer.clone()))
                .collect(),
        };
        let text = file.to_toml().unwrap();
        let again = SignatureFile::parse(Path::new("provenance.sig"), text.as_bytes())
            .map_err(|e| TestCaseError::fail(format!("{e}\n--- rendered ---\n{text}")))?;
        prop_assert_eq!(&again, &file);
        for (entry, seed) in again.signatures.iter().zip(&seeds) {
            let key = entry.check(&manifest).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(key, SigningKey::from_bytes(seed).verifying_key());
        }
    }

    #[test]
    fn lfs_pointers_round_trip(oid in digest(), size in any::<u64>(), crlf in any::<bool>()) {
        let eol = if crlf { "\r\n" } else { "\n" };
        let text = format!(
            "version https://git-lfs.github.com/spec/v1{eol}oid sha256:{}{eol}size {size}{eol}",
            oid.to_hex()
        );
        let pointer = lfs::parse(text.as_bytes()).expect("a well-formed pointer parses");
        prop_assert_eq!(pointer.oid, oid);
        prop_assert_eq!(pointer.size, size);
    }

    #[test]
    fn timestamps_round_trip_through_toml(t in timestamp()) {
        let again = Timestamp::from_toml(&t.to_toml()).map_err(TestCaseError::fail)?;
        prop_assert_eq!(again, t);
        prop_assert_eq!(again.to_string(), t.to_string());
    }

    #[test]
    fn version_order_is_a_total_order(
        v in prop::collection::vec("v?[0-9]{0,3}([.-][0-9a-z]{0,3}){0,3}(\\+[a-z0-9]{0,3})?|\\PC{0,8}", 3),
    ) {
        let (a, b, c) = (&v[0], &v[1], &v[2]);
        prop_assert_eq!(compare_versions(a, a), std::cmp::Ordering::Equal);
        prop_assert_eq!(compare_versions(a, b), compare_versions(b, a).reverse());
        if compare_versions(a, b).is_le() && compare_versions(b, c).is_le() {
            prop_assert!(compare_versions(a, c).is_le(), "{a:?} <= {b:?} <= {c:?}");
        }
    }

    #[test]
    fn model_card_lists_read_back(
        ids in prop::collection::vec("[A-Za-z0-9_][A-Za-z0-9_.-]{0,15}/[A-Za-z0-9_.-]{1,16}", 1..5),
        flow in any::<bool>(),
        license in "[a-z0-9][a-z0-9.-]{0,15}",
    ) {
        let datasets = if flow {
            format!("datasets: [{}]\n", ids.join(", "))
        } else {
            format!("datasets:\n{}", ids.iter().map(|i| format!("- {i}\n")).collect::<String>())
        };
        let readme = format!("---\nlicense: {license}\n{datasets}base_model: \"{}\"\n---\n# Card\n", ids[0]);
        let parsed = card::parse(&readme).expect("front matter is read");
        prop_assert_eq!(parsed.license.as_deref(), Some(license.as_str()));
        prop_assert_eq!(&parsed.datasets, &ids);
        prop_assert_eq!(parsed.base_models, vec![ids[0].clone()]);
    }
}

// ---------------------------------------------------------------- (b) no panics

/// One edit of a byte string.
#[derive(Debug, Clone)]
enum Edit {
    Flip { at: usize, bit: u8 },
    Set { at: usize, byte: u8 },
    Insert { at: usize, bytes: Vec<u8> },
    Delete { at: usize, len: usize },
    Duplicate { at: usize, len: usize },
    Truncate { at: usize },
}

/// Fragments that mean something to one of the parsers.
const TOKENS: &[&str] = &[
    "\"",
    "'",
    "\\",
    "\"\"\"",
    "[",
    "]",
    "[[",
    "]]",
    "{",
    "}",
    "=",
    ",",
    ".",
    "\n",
    "\r\n",
    "#",
    "\u{0}",
    "\u{feff}",
    "é",
    "😀",
    "-1",
    "0",
    "18446744073709551615",
    "9223372036854775808",
    "1e400",
    "nan",
    "inf",
    "true",
    "1979-05-27T07:32:00Z",
    "1979-05-27",
    "07:32:00",
    "[[file]]\n",
    "[[dataset]]\n",
    "[[training]]\n",
    "[[signature]]\n",
    "[[key]]\n",
    "[hashing]\n",
    "shards = []\n",
    "manifest = 2\n",
    "-----BEGIN PUBLIC KEY-----\n",
    "-----BEGIN PRIVATE KEY-----\n",
    "-----BEGIN ENCRYPTED PRIVATE KEY-----\n",
    "-----END ",
    "---\n",
    "...\n",
    "- ",
    ": ",
    "oid sha256:",
    "size ",
    "====",
    "/",
    "../",
];

fn edit() -> impl Strategy<Value = Edit> {
    let at = any::<usize>();
    prop_oneof![
        (at, 0u8..8).prop_map(|(at, bit)| Edit::Flip { at, bit }),
        (at, any::<u8>()).prop_map(|(at, byte)| Edit::Set { at, byte }),
        (at, prop::sample::select(TOKENS)).prop_map(|(at, t)| Edit::Insert {
            at,
            bytes: t.as_bytes().to_vec()
        }),
        (at, prop::collection::vec(any::<u8>(), 1..8))
            .prop_map(|(at, bytes)| Edit::Insert { at, bytes }),
        (at, 1usize..64).prop_map(|(at, len)| Edit::Delete { at, len }),
        (at, 1usize..256).prop_map(|(at, len)| Edit::Duplicate { at, len }),
        at.prop_map(|at| Edit::Truncate { at }),
    ]
}

fn apply(base: &[u8], edits: &[Edit]) -> Vec<u8> {
    let mut b = base.to_vec();
    for e in edits {
        let pos = |at: usize, b: &Vec<u8>| if b.is_empty() { 0 } else { at % (b.len() + 1) };
        match e {
            Edit::Flip { at, bit } if !b.is_empty() => {
                let i = at % b.len();
                b[i] ^= 1 << bit;
            }
            Edit::Set { at, byte } if !b.is_empty() => {
                let i = at % b.len();
                b[i] = *byte;
            }
            Edit::Insert { at, bytes } => {
                let i = pos(*at, &b);
                b.splice(i..i, bytes.iter().copied());
            }
            Edit::Delete { at, len } => {
                let i = pos(*at, &b);
                let end = (i + len).min(b.len());
                b.drain(i..end);
            }
            Edit::Duplicate { at, len } => {
                let i = pos(*at, &b);
                let end = (i + len).min(b.len());
                let copy = b[i..end].to_vec();
                b.splice(end..end, copy);
            }
            Edit::Truncate { at } => {
                let i = pos(*at, &b);
                b.truncate(i);
            }
            _ => {}
        }
    }
    b
}

fn mutated(seeds: &'static [&'static [u8]]) -> impl Strategy<Value = Vec<u8>> {
    (
        prop::sample::select(seeds),
        prop::collection::vec(edit(), 1..6),
    )
        .prop_map(|(seed, edits)| apply(seed, &edits))
}

/// Arbitrary bytes, arbitrary text, and mutations of the seeds.
fn input(seeds: &'static [&'static [u8]]) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        1 => prop::collection::vec(any::<u8>(), 0..512),
        1 => any::<String>().prop_map(String::into_bytes),
        4 => mutated(seeds),
    ]
}

/// Every parser on one input: errors are fine, panics are not.
/// What verify does with a parsed manifest (ignore matcher, level 2, the
/// lineage view and every rendering): no panic, and no raw control character
/// from the manifest reaches a terminal. The `lineage` fuzz target does the same.
fn lineage_renders_safely(m: &Manifest) {
    use modelseal::trace::{self, Lineage};
    use modelseal::verify::{ModelSummary, Report};
    if let Ok(matcher) = modelseal::walk::ignore_matcher(&m.ignore) {
        for file in &m.files {
            let _ = modelseal::walk::is_ignored(&matcher, &file.path);
        }
    }
    let problems = trace::check_lineage(m);
    let mut lineage = Lineage::of(m);
    lineage.traced = Some(problems.is_empty());
    let report = Report {
        model: ModelSummary {
            name: m.name.clone(),
            version: m.version.clone(),
            kind: m.kind,
        },
        format: modelseal::verify::SignedFormat::Manifest,
        required: 2,
        reached: None,
        files: modelseal::intact::FileTotals::default(),
        signatures: Vec::new(),
        problems,
        lineage,
        bundle: None,
        slice: None,
        content: None,
    };
    for text in [
        modelseal::lineage::to_text(&report),
        modelseal::lineage::to_dot(&report),
        modelseal::report::to_text(&report),
    ] {
        assert!(
            !text.chars().any(|c| c.is_control() && c != '\n'),
            "raw control character in: {text:?}"
        );
    }
}

fn same_with_and_without_fast_tables(bytes: &[u8]) -> Result<(), TestCaseError> {
    let path = Path::new(MANIFEST);
    let fast = Manifest::parse_with_fast_tables_from(path, bytes, Some(0));
    let toml = Manifest::parse_with_fast_tables_from(path, bytes, None);
    match (fast, toml) {
        (Ok(a), Ok(b)) => prop_assert_eq!(a, b),
        (Err(a), Err(b)) => prop_assert_eq!(a.to_string(), b.to_string()),
        (a, b) => {
            return Err(TestCaseError::fail(format!(
                "fast path {:?}, TOML {:?}, for:\n{}",
                a.map(|_| "ok"),
                b.map(|_| "ok"),
                String::from_utf8_lossy(bytes)
            )));
        }
    }
    Ok(())
}

/// Hand-made edges: tables the fast path must leave to the TOML parser.
#[test]
fn fast_file_tables_leave_every_doubtful_manifest_to_toml() {
    let table = |path: &str| {
        format!(
            "[[file]]\npath = \"{path}\"\nrole = \"data\"\nsize = 1\nsha256 = \"{}\"\n",
            "ab".repeat(32)
        )
    };
    let head = "manifest = 1\nkind = \"dataset\"\nname = \"n\"\nversion = \"1\"\nignore = []\n\n[hashing]\nalgorithm = \"sha256\"\nshard_size = 268435456\n\n";
    let cases = [
        // A multi-line string holding what looks like a table.
        format!(
            "manifest = 1\nkind = \"dataset\"\nname = \"n\"\nversion = \"1\"\nlicense = \"\"\"\n{}\"\"\"\n\n[hashing]\nalgorithm = \"sha256\"\nshard_size = 268435456\n",
            table("a")
        ),
        // A key after a table belongs to it.
        format!("{head}{}extra = 1\n", table("a")),
        // A multi-line array holding what looks like a table.
        format!(
            "manifest = 1\nkind = \"dataset\"\nname = \"n\"\nversion = \"1\"\nignore = [\n{}]\n\n[hashing]\nalgorithm = \"sha256\"\nshard_size = 268435456\n",
            table("a")
        ),
        // Another `file` key or table beside the tables.
        format!("{head}{}\n[file.x]\ny = 1\n", table("a")),
        format!("{head}{}\n[[file.sub]]\ny = 1\n", table("a")),
        // Escapes, a tab, a leading zero, a duplicate key.
        format!("{head}{}", table("a\\u0062")),
        format!("{head}{}", table("a\tb")),
        format!(
            "{head}[[file]]\npath = \"a\"\nrole = \"data\"\nsize = 01\nsha256 = \"{}\"\n",
            "ab".repeat(32)
        ),
        format!(
            "{head}[[file]]\npath = \"a\"\npath = \"b\"\nrole = \"data\"\nsize = 1\nsha256 = \"{}\"\n",
            "ab".repeat(32)
        ),
        // Plain tables: the fast path applies and must agree.
        format!("{head}{}\n{}", table("a"), table("b/c d")),
    ];
    for case in &cases {
        same_with_and_without_fast_tables(case.as_bytes()).unwrap();
    }
}

fn manifest_never_panics(bytes: &[u8]) {
    if let Ok(m) = parse_manifest(bytes) {
        lineage_renders_safely(&m);
        // Whatever parses renders to something that parses again.
        let again = parse_manifest(m.to_toml().unwrap().as_bytes()).expect("to_toml output parses");
        assert_eq!(normalised(again), normalised(m));
    }
    let _ = Manifest::parse_for_update(Path::new(MANIFEST), bytes);
}

fn signature_file_never_panics(bytes: &[u8]) {
    if let Ok(file) = SignatureFile::parse(Path::new("provenance.sig"), bytes) {
        for entry in &file.signatures {
            let _ = entry.check(bytes);
            let _ = entry.check(DEMO_MANIFEST);
            let _ = entry.label();
        }
    }
}

fn policy_never_panics(dir: &Path, bytes: &[u8]) {
    let path = dir.join("trust.toml");
    std::fs::write(&path, bytes).unwrap();
    if let Ok(policy) = TrustPolicy::load(&path) {
        assert!(policy.threshold >= 1 && policy.threshold <= policy.keys.len());
    }
}

fn key_never_panics(dir: &Path, bytes: &[u8]) {
    let _ = keys::parse_public_key_pem(&String::from_utf8_lossy(bytes));
    let path = dir.join("key.pem");
    std::fs::write(&path, bytes).unwrap();
    let _ = keys::load_signing_key(&path, || Some(Zeroizing::new("pw".to_string())));
    let _ = keys::load_public_key(&path);
}

fn card_never_panics(bytes: &[u8]) {
    if let Some(c) = card::parse(&String::from_utf8_lossy(bytes)) {
        for id in &c.datasets {
            let _ = card::dataset_id(id);
        }
    }
}

fn policy_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("test-release.pub"), TEST_PUB).unwrap();
    dir
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    #[test]
    fn manifest_parser_never_panics(
        bytes in input(&[DEMO_MANIFEST, LINEAGE_MANIFEST, BASE_MANIFEST]),
    ) {
        manifest_never_panics(&bytes);
    }

    #[test]
    fn signature_file_parser_never_panics(bytes in input(&[DEMO_SIG, LINEAGE_SIG])) {
        signature_file_never_panics(&bytes);
    }

    #[test]
    fn model_card_parser_never_panics(bytes in input(&[CARD, CARD_CRLF])) {
        card_never_panics(&bytes);
    }

    #[test]
    fn lfs_pointer_parser_never_panics(bytes in input(&[LFS_POINTER])) {
        let _ = lfs::parse(&bytes);
    }

    #[test]
    fn listing_reader_never_panics_and_accepts_one_spelling(
        bytes in input(&[LISTING, LISTING_SHARDS]),
    ) {
        listing_round_trips(&bytes);
    }

    #[test]
    fn every_parser_survives_every_other_parsers_input(
        bytes in input(&[DEMO_MANIFEST, DEMO_SIG, TRUST, TEST_PUB, CARD, LFS_POINTER]),
    ) {
        manifest_never_panics(&bytes);
        signature_file_never_panics(&bytes);
        card_never_panics(&bytes);
        let _ = lfs::parse(&bytes);
        let _ = keys::parse_public_key_pem(&String::from_utf8_lossy(&bytes));
        listing_round_trips(&bytes);
    }
}

/// Reads `bytes` as a listing; when every line is accepted,
/// writing the entries back gives the same bytes and pin (one spelling per
/// listing), unless a path is listed twice, which the reader leaves for
/// verify and the writer refuses. Returns whether it was accepted.
fn listing_round_trips(bytes: &[u8]) -> bool {
    use modelseal::listing::{ListingReader, ListingWriter};
    // Shards of 64 bytes where the input has shard lines, so that short
    // inputs reach them; the default 1 MiB otherwise.
    let shard_size = if bytes.windows(2).any(|w| w == b"\n+") {
        64
    } else {
        1 << 20
    };
    let mut reader = ListingReader::new(
        bytes,
        Path::new("provenance.files"),
        shard_size,
        1 << 20,
        true,
    );
    if reader.read_header().is_err() {
        return false;
    }
    let mut entries = Vec::new();
    loop {
        match reader.next_entry() {
            Ok(Some(entry)) => entries.push(entry),
            Ok(None) => break,
            Err(_) => return false,
        }
    }
    let (digest, read) = reader.digest();
    assert_eq!(
        read,
        bytes.len() as u64,
        "accepted without reading every byte"
    );
    if entries.windows(2).any(|w| w[0].path == w[1].path) {
        return true;
    }
    let mut writer = ListingWriter::new(Vec::new()).unwrap();
    for entry in &entries {
        writer.push(entry).unwrap();
    }
    let (pin, written) = writer.finish().unwrap();
    assert_eq!(written, bytes, "an accepted listing has one spelling");
    assert_eq!(pin.sha256, digest);
    assert_eq!(pin.files, entries.len() as u64);
    true
}

#[test]
fn listing_seeds_are_accepted() {
    assert!(listing_round_trips(LISTING));
    assert!(listing_round_trips(LISTING_SHARDS));
}

proptest! {
    // These write a file per case.
    #![proptest_config(ProptestConfig { cases: 128, .. ProptestConfig::default() })]

    #[test]
    fn trust_policy_loader_never_panics(
        bytes in input(&[TRUST, INLINE_POLICY_BYTES]),
    ) {
        let dir = policy_dir();
        policy_never_panics(dir.path(), &bytes);
    }

    #[test]
    fn plain_key_loaders_never_panic(bytes in input(&[TEST_PUB, TEST_KEY])) {
        let dir = tempfile::tempdir().unwrap();
        key_never_panics(dir.path(), &bytes);
    }
}

proptest! {
    // Encrypted keys run a KDF per case (scrypt N=1024, PBKDF2 2048 rounds):
    // kept few so that the file stays fast in debug builds.
    #![proptest_config(ProptestConfig { cases: 24, .. ProptestConfig::default() })]

    #[test]
    fn encrypted_key_loader_never_panics(bytes in mutated(&[SCRYPT_KEY, PBKDF2_KEY])) {
        let dir = tempfile::tempdir().unwrap();
        key_never_panics(dir.path(), &bytes);
    }
}

// ---------------------------------------------------------------- (c) OMS bundles
//
// An OpenSSF Model Signing bundle (`model.sig`) and the in-toto statement in
// its DSSE payload are the attacker's as much as a manifest is. The
// `oms_bundle` fuzz target does what `oms_never_panics` does.

const OMS_KEY_BUNDLE: &[u8] = include_bytes!(
    "../../tests/oms-vectors/ossf-model-signing-spec/test-vectors/v1.0/valid/key.bundle.json"
);
const OMS_CERT_BUNDLE: &[u8] = include_bytes!(
    "../../tests/oms-vectors/ossf-model-signing-spec/test-vectors/v1.0/valid/certificate.bundle.json"
);
const OMS_SIGSTORE_BUNDLE: &[u8] = include_bytes!(
    "../../tests/oms-vectors/ossf-model-signing-spec/test-vectors/v1.0/valid/sigstore.bundle.json"
);
const OMS_HISTORICAL_KEY_BUNDLE: &[u8] = include_bytes!(
    "../../tests/oms-vectors/oms-conformance-sampras343/test/test-cases/verify/historical/historical-v1.1.0-elliptic-key/bundle.sig"
);
const OMS_BUNDLES: &[&[u8]] = &[
    OMS_KEY_BUNDLE,
    OMS_CERT_BUNDLE,
    OMS_SIGSTORE_BUNDLE,
    OMS_HISTORICAL_KEY_BUNDLE,
];

fn b64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The statement a bundle's DSSE envelope carries, decoded.
fn oms_payload(bundle: &[u8]) -> Vec<u8> {
    use base64::Engine as _;
    let doc: serde_json::Value = serde_json::from_slice(bundle).unwrap();
    let payload = doc["dsseEnvelope"]["payload"].as_str().unwrap();
    base64::engine::general_purpose::STANDARD
        .decode(payload)
        .unwrap()
}

/// `bundle` with its DSSE payload replaced by `payload`.
fn with_payload(bundle: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut doc: serde_json::Value = serde_json::from_slice(bundle).unwrap();
    doc["dsseEnvelope"]["payload"] = b64(payload).into();
    serde_json::to_vec(&doc).unwrap()
}

/// What `oms::verify` does with a parsed statement's names, short of
/// reading a directory: the shape each method gives its files, the ignore
/// matcher of the signed ignore paths, level 0 against a listing that holds
/// every signed name (as links, never opened) and an unsigned one, and the
/// reports. No panic, every unsafe signed path reported, no raw control
/// character in the text report.
fn oms_names_behave(signed: &modelseal::oms::statement::SignedModel) {
    use modelseal::intact::{self, Content, Expectation, ExpectedFile, FileCheckOptions};
    use modelseal::oms::statement::{Method, SignedContent};
    use modelseal::paths::check_path;
    use modelseal::problem::ProblemKind;
    use modelseal::walk::{Entry, EntryKind, Listing};
    for file in &signed.files {
        assert!(file.resource >= 1, "{file:?}");
        match (signed.method, &file.content, file.size) {
            (Method::Files, SignedContent::Whole(_), None) => {}
            (Method::Shards(n), SignedContent::Whole(_), Some(size)) => {
                assert!(size >= 1 && size <= n, "{file:?}")
            }
            (Method::Shards(n), SignedContent::Shards(shards), Some(size)) => {
                assert!(shards.len() >= 2, "{file:?}");
                assert_eq!(shard_count(size, n), shards.len() as u64, "{file:?}");
            }
            _ => panic!("not the shape of {:?}: {file:?}", signed.method),
        }
    }
    let mut ignored: Vec<&str> = signed.ignore_paths.iter().map(String::as_str).collect();
    ignored.extend(modelseal::oms::DEFAULT_IGNORED);
    ignored.push("model.sig");
    // Each ignore path is literal: the matcher always builds, and each path
    // ignores itself and everything under it, whatever glob characters it
    // holds. In shards mode every empty file's name (the attacker's) joins
    // it: the signed names stand in.
    let literal = |paths: &[&str]| {
        let matcher =
            modelseal::oms::literal_matcher(paths, false).expect("literal paths make a matcher");
        for path in paths {
            let path = path.trim_end_matches('/');
            if check_path(path).is_err() {
                continue;
            }
            assert!(
                modelseal::walk::is_ignored(&matcher, path),
                "{path:?} not ignored"
            );
            let under = format!("{path}/x");
            assert!(
                modelseal::walk::is_ignored(&matcher, &under),
                "{under:?} not ignored"
            );
        }
        matcher
    };
    let mut with_names = ignored.clone();
    with_names.extend(signed.files.iter().map(|f| f.path.as_str()));
    literal(&with_names);
    let matcher = literal(&ignored);
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
        Path::new("/nonexistent/modelseal-test"),
        &expectation,
        Listing {
            entries,
            problems: Vec::new(),
        },
        &mut options,
        &modelseal::hashing::NoProgress,
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
    let report = modelseal::verify::Report {
        model: modelseal::verify::ModelSummary {
            name: signed.name.clone(),
            version: String::new(),
            kind: Kind::Model,
        },
        format: modelseal::verify::SignedFormat::Oms {
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
    serde_json::from_str::<serde_json::Value>(&modelseal::report::to_json(&report))
        .expect("the JSON report is JSON");
}

/// A bundle's bytes, and the same bytes as a bare statement: errors are
/// fine, panics are not.
fn oms_never_panics(bytes: &[u8]) {
    use modelseal::oms::{bundle::Bundle, statement};
    if let Ok(bundle) = Bundle::parse(bytes) {
        let _ = bundle.material.method();
        assert!(!bundle.envelope.signatures.is_empty());
        if let Ok(signed) = statement::parse(&bundle.envelope.payload) {
            oms_names_behave(&signed);
        }
    }
    if let Ok(signed) = statement::parse(bytes) {
        oms_names_behave(&signed);
    }
}

/// Mutations of a seed bundle's decoded statement, put back in the bundle.
fn mutated_oms_payload() -> impl Strategy<Value = Vec<u8>> {
    (
        prop::sample::select(OMS_BUNDLES),
        prop::collection::vec(edit(), 1..6),
    )
        .prop_map(|(bundle, edits)| with_payload(bundle, &apply(&oms_payload(bundle), &edits)))
}

/// Names a signer (or an attacker who re-signs) may write: plain paths,
/// every unsafe form, terminal escapes, colliding spellings, shard-like names.
fn oms_name() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[a-z]{1,6}(/[a-z]{1,6}){0,2}(\\.bin)?",
        2 => prop::sample::select(vec![
            "", ".", "..", "../outside", "a/../../b", "/etc/passwd", "a//b", "a/", "./a",
            "C:/x", "c:x", "a\\b", "a\u{0}b", "a\u{1b}[2Jb", "\u{202e}nib.exe", "Model.bin",
            "model.bin", "caf\u{e9}", "cafe\u{301}", ".git/config", ".gitattributes", "model.sig",
            "provenance.toml", "a:0:5", "a:", ":", "::", "a:5:0", "{a,b}", "[ab]", "*", "**/x",
            "!x", "#x", "x ", " ", "a/b/c/d/e/f/g/h",
        ])
        .prop_map(String::from),
        1 => text(12),
    ]
}

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::{Value, json};
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        prop::sample::select(vec![0.0, -1.0, 0.5, 7.0, 1e9, 9007199254740993.0, 1e300])
            .prop_map(Value::from),
        text(12).prop_map(Value::from),
        oms_name().prop_map(Value::from),
        Just(json!([])),
        Just(json!({})),
        Just(json!([{}])),
        Just(json!({"sha256": "00"})),
    ]
}

/// Where a random value may replace what a signer writes.
const STATEMENT_FIELDS: &[&str] = &[
    "/_type",
    "/subject",
    "/subject/0",
    "/subject/0/name",
    "/subject/0/digest",
    "/subject/0/digest/sha256",
    "/predicateType",
    "/predicate",
    "/predicate/serialization",
    "/predicate/serialization/method",
    "/predicate/serialization/hash_type",
    "/predicate/serialization/allow_symlinks",
    "/predicate/serialization/ignore_paths",
    "/predicate/serialization/shard_size",
    "/predicate/resources",
    "/predicate/resources/0",
    "/predicate/resources/0/name",
    "/predicate/resources/0/algorithm",
    "/predicate/resources/0/digest",
    "/predicate/resources/1/name",
];

const BUNDLE_FIELDS: &[&str] = &[
    "/mediaType",
    "/verificationMaterial",
    "/verificationMaterial/publicKey",
    "/verificationMaterial/publicKey/rawBytes",
    "/verificationMaterial/x509CertificateChain",
    "/verificationMaterial/x509CertificateChain/certificates",
    "/verificationMaterial/x509CertificateChain/certificates/0/rawBytes",
    "/verificationMaterial/tlogEntries",
    "/dsseEnvelope",
    "/dsseEnvelope/payload",
    "/dsseEnvelope/payloadType",
    "/dsseEnvelope/signatures",
    "/dsseEnvelope/signatures/0/sig",
];

/// A statement as a signer writes it, its root digest right, and what it
/// signs, for the round trip: (path, size in shards mode, digests).
#[derive(Debug, Clone)]
struct GeneratedStatement {
    json: serde_json::Value,
    shard_size: Option<u64>,
    files: Vec<(String, Option<u64>, Vec<Sha256Digest>)>,
}

fn resource(name: &str, algorithm: &str, digest: &Sha256Digest) -> serde_json::Value {
    serde_json::json!({ "name": name, "algorithm": algorithm, "digest": digest.to_hex() })
}

fn statement_json(
    name: &str,
    serialization: serde_json::Value,
    resources: Vec<serde_json::Value>,
) -> serde_json::Value {
    use sha2::Digest as _;
    let mut hasher = sha2::Sha256::new();
    for r in &resources {
        let digest: Sha256Digest = r["digest"].as_str().unwrap().parse().unwrap();
        hasher.update(digest.0);
    }
    let root = Sha256Digest(hasher.finalize().into());
    serde_json::json!({
        "_type": modelseal::oms::statement::STATEMENT_TYPE,
        "subject": [{ "name": name, "digest": { "sha256": root.to_hex() } }],
        "predicateType": modelseal::oms::statement::PREDICATE_TYPE,
        "predicate": { "serialization": serialization, "resources": resources },
    })
}

fn files_statement() -> impl Strategy<Value = GeneratedStatement> {
    (
        text(8),
        prop::collection::vec((oms_name(), digest()), 0..6),
        prop::collection::vec(oms_name(), 0..3),
        any::<bool>(),
    )
        .prop_map(|(name, files, ignore_paths, allow_symlinks)| {
            let serialization = serde_json::json!({
                "method": "files", "hash_type": "sha256",
                "allow_symlinks": allow_symlinks, "ignore_paths": ignore_paths,
            });
            let resources = files
                .iter()
                .map(|(path, d)| resource(path, "sha256", d))
                .collect();
            GeneratedStatement {
                json: statement_json(&name, serialization, resources),
                shard_size: None,
                files: files.into_iter().map(|(p, d)| (p, None, vec![d])).collect(),
            }
        })
}

fn shards_statement() -> impl Strategy<Value = GeneratedStatement> {
    (
        text(8),
        prop_oneof![1u64..20, Just(1_000_000_000u64), Just(1u64 << 53)],
        prop::collection::btree_map(oms_name(), (1u64..100, any::<u64>()), 0..4),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(name, shard_size, files, float_size, reverse)| {
            let mut resources = Vec::new();
            let mut signed = Vec::new();
            for (i, (path, (size, seed))) in files.into_iter().enumerate() {
                let mut digests = Vec::new();
                let mut start = 0;
                while start < size {
                    let end = size.min(start.saturating_add(shard_size));
                    let d = Sha256Digest::of(format!("{seed}:{i}:{start}").as_bytes());
                    let algorithm = format!("sha256-sharded-{shard_size}");
                    resources.push(resource(&format!("{path}:{start}:{end}"), &algorithm, &d));
                    digests.push(d);
                    start = end;
                }
                signed.push((path, Some(size), digests));
            }
            // model_signing does not sort: a file's shards may come in any order.
            if reverse {
                resources.reverse();
            }
            let shard_size_json = if float_size {
                serde_json::Value::from(shard_size as f64)
            } else {
                serde_json::Value::from(shard_size)
            };
            let serialization = serde_json::json!({
                "method": "shards", "hash_type": "sha256", "allow_symlinks": false,
                "ignore_paths": [], "shard_size": shard_size_json,
            });
            GeneratedStatement {
                json: statement_json(&name, serialization, resources),
                shard_size: Some(shard_size),
                files: signed,
            }
        })
}

fn statement() -> impl Strategy<Value = GeneratedStatement> {
    prop_oneof![files_statement(), shards_statement()]
}

fn material() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::json;
    let blob = prop::collection::vec(any::<u8>(), 0..64).prop_map(|b| b64(&b));
    prop_oneof![
        Just(json!({ "publicKey": { "hint": "k" } })),
        Just(json!({ "publicKey": { "rawBytes": b64(TEST_PUB) } })),
        blob.clone()
            .prop_map(|b| json!({ "publicKey": { "rawBytes": b } })),
        prop::collection::vec(blob.clone(), 0..18).prop_map(|certs| {
            let certificates: Vec<_> = certs
                .into_iter()
                .map(|c| json!({ "rawBytes": c }))
                .collect();
            json!({ "x509CertificateChain": { "certificates": certificates } })
        }),
        (blob, 0usize..3).prop_map(|(cert, logs)| json!({
            "certificate": { "rawBytes": cert },
            "tlogEntries": vec![json!({ "logIndex": "1" }); logs],
        })),
    ]
}

/// A bundle around `statement`, its fields possibly replaced.
fn bundle_around(
    statement: &[u8],
    material: serde_json::Value,
    signatures: Vec<Vec<u8>>,
) -> serde_json::Value {
    let sigs: Vec<_> = signatures
        .iter()
        .map(|s| serde_json::json!({ "sig": b64(s) }))
        .collect();
    serde_json::json!({
        "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
        "verificationMaterial": material,
        "dsseEnvelope": {
            "payload": b64(statement),
            "payloadType": modelseal::oms::bundle::IN_TOTO_PAYLOAD_TYPE,
            "signatures": sigs,
        },
    })
}

fn replace_at(doc: &mut serde_json::Value, replace: Option<(&str, serde_json::Value)>) {
    if let Some((pointer, value)) = replace
        && let Some(slot) = doc.pointer_mut(pointer)
    {
        *slot = value;
    }
}

/// Well-formed bundles around well-formed statements, then (mostly) one
/// field of each replaced by a random JSON value.
fn structured_oms() -> impl Strategy<Value = (Vec<u8>, Vec<u8>)> {
    (
        statement(),
        prop::option::weighted(0.7, (prop::sample::select(STATEMENT_FIELDS), json_value())),
        material(),
        prop::collection::vec(prop::collection::vec(any::<u8>(), 0..72), 0..3),
        prop::option::weighted(0.5, (prop::sample::select(BUNDLE_FIELDS), json_value())),
    )
        .prop_map(|(mut statement, s_replace, material, sigs, b_replace)| {
            replace_at(&mut statement.json, s_replace);
            let statement = serde_json::to_vec(&statement.json).unwrap();
            let mut bundle = bundle_around(&statement, material, sigs);
            replace_at(&mut bundle, b_replace);
            (serde_json::to_vec(&bundle).unwrap(), statement)
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    #[test]
    fn oms_bundle_parser_never_panics(
        bytes in prop_oneof![
            1 => input(OMS_BUNDLES),
            1 => mutated_oms_payload(),
        ],
    ) {
        oms_never_panics(&bytes);
    }

    #[test]
    fn oms_parsers_never_panic_on_structured_json((bundle, statement) in structured_oms()) {
        oms_never_panics(&bundle);
        oms_never_panics(&statement);
    }

    #[test]
    fn well_formed_oms_statements_parse_to_what_was_signed(
        generated in statement(),
        material in material(),
    ) {
        use modelseal::oms::statement::{self, Method, SignedContent};
        let payload = serde_json::to_vec(&generated.json).unwrap();
        let signed = statement::parse(&payload).unwrap();
        oms_names_behave(&signed);
        prop_assert_eq!(
            signed.method,
            generated.shard_size.map_or(Method::Files, Method::Shards)
        );
        let files: Vec<(String, Option<u64>, Vec<Sha256Digest>)> = signed
            .files
            .iter()
            .map(|f| {
                let digests = match &f.content {
                    SignedContent::Whole(d) => vec![*d],
                    SignedContent::Shards(d) => d.clone(),
                };
                (f.path.clone(), f.size, digests)
            })
            .collect();
        let mut expected = generated.files.clone();
        if generated.shard_size.is_some() {
            // Files in shards mode come in the order of their first shard.
            let order = |files: &mut Vec<(String, Option<u64>, Vec<Sha256Digest>)>| {
                files.sort_by(|a, b| a.0.cmp(&b.0))
            };
            let mut files = files.clone();
            order(&mut files);
            order(&mut expected);
            prop_assert_eq!(files, expected);
        } else {
            prop_assert_eq!(files, expected);
        }
        // The same statement inside a bundle parses back to the same bytes.
        let bundle = serde_json::to_vec(&bundle_around(&payload, material, vec![vec![1]])).unwrap();
        if let Ok(parsed) = modelseal::oms::bundle::Bundle::parse(&bundle) {
            prop_assert_eq!(parsed.envelope.payload, payload);
        }
    }
}

// ---------------------------------------------------------------- seeds parse

#[test]
fn the_seeds_parse() {
    for m in [DEMO_MANIFEST, LINEAGE_MANIFEST, BASE_MANIFEST] {
        parse_manifest(m).unwrap();
        manifest_never_panics(m);
    }
    for s in [DEMO_SIG, LINEAGE_SIG] {
        let file = SignatureFile::parse(Path::new("provenance.sig"), s).unwrap();
        assert!(!file.signatures.is_empty());
    }
    assert_eq!(
        SignatureFile::parse(Path::new("provenance.sig"), DEMO_SIG)
            .unwrap()
            .signatures[0]
            .check(DEMO_MANIFEST)
            .map(|k| keys::keyid(&k))
            .unwrap(),
        "a4e4e1e3fc3d078c595983dfff1808948dbea7ca3387f283e913709eee8d7109"
    );
    let dir = policy_dir();
    let path = dir.path().join("trust.toml");
    for p in [TRUST, INLINE_POLICY_BYTES] {
        std::fs::write(&path, p).unwrap();
        TrustPolicy::load(&path).unwrap();
    }
    keys::parse_public_key_pem(std::str::from_utf8(TEST_PUB).unwrap()).unwrap();
    let pw = || Some(Zeroizing::new("pw".to_string()));
    for k in [TEST_KEY, SCRYPT_KEY, PBKDF2_KEY] {
        let path = dir.path().join("k.key");
        std::fs::write(&path, k).unwrap();
        keys::load_signing_key(&path, pw).unwrap();
    }
    let c = card::parse(std::str::from_utf8(CARD).unwrap()).unwrap();
    assert_eq!(
        c.datasets,
        ["roneneldan/TinyStories", "acme/tiny-instructions"]
    );
    let c = card::parse(std::str::from_utf8(CARD_CRLF).unwrap()).unwrap();
    assert_eq!(c.license.as_deref(), Some("mit"));
    assert_eq!(lfs::parse(LFS_POINTER).unwrap().size, 12345);
}

// ---------------------------------------------------------------- fuzz regressions
//
// Inputs under fuzz/regressions/TARGET/: each must give an error or a value
// that behaves (renders, round-trips), never a panic or an abort.

#[test]
fn regression_encrypted_keys_with_absurd_scrypt_costs_are_refused() {
    // N = 0 panicked inside pkcs5 (log2 underflow); N = 2^40 asked for a
    // petabyte and aborted on allocation failure. Both now refused before scrypt runs.
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in [
        (
            "scrypt-cost-zero.key",
            &include_bytes!("../../fuzz/regressions/pem_key/scrypt-cost-zero.key")[..],
        ),
        (
            "scrypt-cost-2pow40.key",
            &include_bytes!("../../fuzz/regressions/pem_key/scrypt-cost-2pow40.key")[..],
        ),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let result = keys::load_signing_key(&path, || Some(Zeroizing::new("pw".to_string())))
            .map(|_| "a key");
        assert_refused(name, result, "scrypt");
    }
}

/// The refusal every out-of-range time in these regressions must now get.
const OUT_OF_RANGE: &str = "falls outside the years 0000 to 9999 in UTC";

/// Asserts that `result` is an error whose text contains `why`.
fn assert_refused<T: std::fmt::Debug, E: std::fmt::Display>(
    name: &str,
    result: Result<T, E>,
    why: &str,
) {
    match result {
        Ok(value) => panic!("{name}: accepted, but must be refused ({why}): {value:?}"),
        Err(e) => assert!(
            e.to_string().contains(why),
            "{name}: refused for another reason: {e}"
        ),
    }
}

#[test]
fn regression_manifest_created_in_utc_year_10000() {
    // `created = 9999-12-31T23:00:00-02:00` parsed, but it is 10000-01-01T01:00Z in
    // UTC: `to_toml` panicked ("local datetime out of valid range"). Now refused.
    let bytes =
        include_bytes!("../../fuzz/regressions/manifest/created-utc-year-10000.provenance.toml");
    assert_refused(
        "created-utc-year-10000",
        parse_manifest(bytes),
        OUT_OF_RANGE,
    );
}

#[test]
fn regression_manifest_created_in_utc_year_minus_1() {
    // `created = 0000-01-01T00:30:00+01:00` is -0001-12-31T23:30Z: `to_toml`
    // wrote year 0000, a different instant almost a year later. Now refused.
    let bytes =
        include_bytes!("../../fuzz/regressions/manifest/created-utc-year-minus-1.provenance.toml");
    assert_refused(
        "created-utc-year-minus-1",
        parse_manifest(bytes),
        OUT_OF_RANGE,
    );
}

#[test]
fn regression_signature_created_out_of_range_is_refused() {
    // `created` is not signed: anyone can set it on an entry that still verifies,
    // and `sign` then rewrote provenance.sig with `to_toml`, which panicked.
    for (name, bytes) in [
        (
            "created-utc-year-10000",
            &include_bytes!(
                "../../fuzz/regressions/signature_file/created-utc-year-10000.provenance.sig"
            )[..],
        ),
        (
            "created-utc-year-minus-1",
            &include_bytes!(
                "../../fuzz/regressions/signature_file/created-utc-year-minus-1.provenance.sig"
            )[..],
        ),
    ] {
        assert_refused(
            name,
            SignatureFile::parse(Path::new("provenance.sig"), bytes),
            OUT_OF_RANGE,
        );
    }
}

#[test]
fn regression_policy_expiry_in_utc_year_10000() {
    // Rendering the expiry (as reports do) panicked like `created` above.
    let dir = policy_dir();
    let path = dir.path().join("trust.toml");
    std::fs::write(
        &path,
        include_bytes!("../../fuzz/regressions/trust_policy/expires-utc-year-10000.toml"),
    )
    .unwrap();
    assert_refused(
        "expires-utc-year-10000",
        TrustPolicy::load(&path),
        OUT_OF_RANGE,
    );
}

#[test]
fn regression_oms_ignore_paths_are_literal() {
    // model_signing reads each ignore path literally. `oms::literal_matcher`
    // left `{` and `}` unescaped, so `{a.py,notes}` was a glob alternation:
    // `modelseal bundle --ignore-path '{a.py,notes}'` left `a.py` out of the
    // bundle, and a tampered `a.py` then verified; in shards mode an added
    // empty file named `{evil.py,x}` hid an added `evil.py` from the report,
    // and one named `{` stopped verify (exit 2, "unclosed alternate group").
    use modelseal::oms::literal_matcher;
    use modelseal::walk::is_ignored;
    let m = literal_matcher(&["{a.py,notes}"], false).unwrap();
    assert!(is_ignored(&m, "{a.py,notes}"));
    assert!(is_ignored(&m, "{a.py,notes}/x"));
    assert!(!is_ignored(&m, "a.py"));
    assert!(!is_ignored(&m, "notes"));
    for path in ["{", "}", "a{b", "{a,b", "x/{y}"] {
        let m = literal_matcher(&[path], false)
            .unwrap_or_else(|e| panic!("{path:?} refused as a literal path: {e}"));
        assert!(is_ignored(&m, path), "{path:?}");
    }
}

#[test]
fn regression_merge_shows_no_control_characters_from_a_slice() {
    // Found by the `merge` fuzz target: a slice report whose
    // partition.manifest_sha256 held DEL characters was merged, and the text
    // report printed them raw (model name and version likewise), so a slice
    // file could write terminal escapes under "merged N slices".
    use modelseal::merge::{self, Part};
    let bytes =
        include_bytes!("../../fuzz/regressions/merge/control-characters-in-manifest-digest.json");
    let serde_json::Value::Array(reports) = serde_json::from_slice(bytes).unwrap() else {
        panic!("the regression input is a JSON array");
    };
    let parts = reports
        .into_iter()
        .map(|report| Part {
            file: "part.json".into(),
            report,
        })
        .collect();
    let error = merge::merge(parts).unwrap_err().to_string();
    assert!(
        error.contains("manifest_sha256 is not a SHA-256 digest"),
        "{error}"
    );
    // A well-formed slice whose model name holds an escape merges, escaped.
    let mut report: serde_json::Value =
        serde_json::from_slice(include_bytes!("../../fuzz/seeds/merge/demo-2-slices.json"))
            .unwrap();
    report[0]["model"]["name"] = "evil\u{1b}[8m".into();
    report[1]["model"]["name"] = "evil\u{1b}[8m".into();
    let serde_json::Value::Array(reports) = report else {
        unreachable!()
    };
    let parts = reports
        .into_iter()
        .map(|report| Part {
            file: "part.json".into(),
            report,
        })
        .collect();
    let text = merge::to_text(&merge::merge(parts).unwrap());
    assert!(
        text.contains("evil\\u{1b}[8m") && !text.contains('\u{1b}'),
        "{text}"
    );
}
