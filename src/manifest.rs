//! The manifest, `provenance.toml`, format 1: types, parsing and validation.
//!
//! Parsing is strict: unknown keys, wrong types, malformed digests and a
//! format other than 1 are errors located by file, line and column. Paths are
//! *not* judged here: a manifest that lists `../etc/passwd` parses, and verify
//! reports that entry as `unsafe_path` without ever opening it.

use crate::digest::Sha256Digest;
use crate::hashing::shard_count;
use crate::source::{self, SourceError};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::Path;
use toml::Spanned;

/// The only manifest format this version reads and writes.
pub const FORMAT: u32 = 1;
/// Largest manifest accepted, in bytes.
pub const MAX_MANIFEST_BYTES: u64 = 16 << 20;
/// Smallest and largest shard sizes accepted.
pub const SHARD_SIZE_RANGE: std::ops::RangeInclusive<u64> = (1 << 20)..=(64 << 30);
/// The shard size `init` writes: 256 MiB.
pub const DEFAULT_SHARD_SIZE: u64 = 256 << 20;

/// What the directory holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A model: weights plus what goes with them.
    Model,
    /// A dataset.
    Dataset,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Model => "model",
            Kind::Dataset => "dataset",
        })
    }
}

/// The role of a file in the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Model weights.
    Weights,
    /// A model or training configuration.
    Config,
    /// Tokenizer files.
    Tokenizer,
    /// Dataset contents.
    Data,
    /// Source code.
    Code,
    /// Documentation: model card, licence text.
    Docs,
    /// Anything else.
    Other,
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            Role::Weights => "weights",
            Role::Config => "config",
            Role::Tokenizer => "tokenizer",
            Role::Data => "data",
            Role::Code => "code",
            Role::Docs => "docs",
            Role::Other => "other",
        };
        f.write_str(s)
    }
}

/// The hashing algorithm; format 1 knows only SHA-256.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Algorithm {
    /// SHA-256.
    Sha256,
}

/// The `[hashing]` table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hashing {
    /// The digest algorithm.
    pub algorithm: Algorithm,
    /// Files larger than this carry one digest per slice of this many bytes.
    #[serde(deserialize_with = "shard_size")]
    pub shard_size: u64,
}

fn shard_size<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    let n = u64::deserialize(d)?;
    if !SHARD_SIZE_RANGE.contains(&n) {
        return Err(serde::de::Error::custom(format!(
            "shard_size {n} is outside {}..={} bytes (1 MiB to 64 GiB)",
            SHARD_SIZE_RANGE.start(),
            SHARD_SIZE_RANGE.end()
        )));
    }
    Ok(n)
}

/// The `[listing]` table of a large-form manifest: what pins the sidecar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListingRef {
    /// SHA-256 of the listing file's exact bytes.
    pub sha256: Sha256Digest,
    /// Its length in bytes.
    pub size: u64,
    /// How many files it lists.
    pub files: u64,
    /// The sum of their sizes.
    pub bytes: u64,
}

/// One `[[file]]` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileEntry {
    /// Relative, `/`-separated path (checked by verify, not by the parser).
    pub path: String,
    /// What the file is.
    pub role: Role,
    /// Size in bytes.
    pub size: u64,
    /// Digest of the whole file.
    pub sha256: Sha256Digest,
    /// Digest of each `shard_size` slice, present when `size > shard_size`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shards: Vec<Sha256Digest>,
    /// Line of the entry in the manifest (0 when built in memory).
    #[serde(skip)]
    pub line: usize,
}

/// One `[[dataset]]` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dataset {
    /// Identifier, unique within the manifest.
    pub id: String,
    /// Human name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Where the dataset is published.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    /// The dataset's licence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license: Option<String>,
    /// `[[file]]` paths (role `data`) holding the data here.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<String>,
    /// Digest of the dataset as published.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<Sha256Digest>,
    /// Path of the dataset's own signed manifest in this directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest: Option<String>,
    /// Line of the entry in the manifest.
    #[serde(skip)]
    pub line: usize,
}

/// A git commit: 40 lowercase hex digits. Made only by parsing, so every
/// value is one (slicing its first 12 characters cannot panic).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Commit(String);

impl Commit {
    /// The 40 hex digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first 12 hex digits, as git abbreviates.
    pub fn short(&self) -> &str {
        self.0.get(..12).unwrap_or(&self.0)
    }
}

impl std::fmt::Display for Commit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for Commit {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s.len() == 40 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            Ok(Commit(s.to_string()))
        } else {
            Err(format!(
                "commit '{}' is not a full git commit id: expected 40 lowercase hex digits",
                s.chars().take(80).collect::<String>()
            ))
        }
    }
}

impl<'de> Deserialize<'de> for Commit {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// The code a training run used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodeRef {
    /// Repository address.
    pub uri: String,
    /// The commit that ran.
    pub commit: Commit,
}

/// The model a training run started from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BaseModel {
    /// The base model's name.
    pub name: String,
    /// Digest of the base model's `provenance.toml`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<Sha256Digest>,
    /// Path of the base model's signed manifest in this directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest: Option<String>,
}

/// One `[[training]]` entry: a run that produced weights.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Training {
    /// Identifier, unique within the manifest.
    pub id: String,
    /// `[[file]]` paths with role `weights` that this run produced.
    #[serde(default)]
    pub outputs: Vec<String>,
    /// `[[file]]` paths with role `config`.
    #[serde(default)]
    pub configs: Vec<String>,
    /// `[[dataset]]` ids.
    #[serde(default)]
    pub datasets: Vec<String>,
    /// The code that ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<CodeRef>,
    /// The model it started from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_model: Option<BaseModel>,
    /// Line of the entry in the manifest.
    #[serde(skip)]
    pub line: usize,
}

/// A parsed, validated manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Manifest {
    /// Format version; always [`FORMAT`].
    pub manifest: u32,
    /// Model or dataset.
    pub kind: Kind,
    /// Name, such as `acme/tiny-gpt`.
    pub name: String,
    /// Version of the release.
    pub version: String,
    /// Licence of the release.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub license: Option<String>,
    /// When the release was made (signed with the manifest; what a policy's
    /// `not_before` freeze compares).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<crate::timestamp::Timestamp>,
    /// Gitignore-style patterns for files that need not be listed.
    pub ignore: Vec<String>,
    /// Hashing parameters.
    pub hashing: Hashing,
    /// The large form: the sidecar listing that lists every file, pinned by
    /// digest (then `files` holds only what lineage needs, once verify or
    /// `listing::lineage_view` has read the listing).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listing: Option<ListingRef>,
    /// Every file of the directory (in the large form, see `listing`).
    #[serde(rename = "file", skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<FileEntry>,
    /// Datasets behind the weights.
    #[serde(rename = "dataset", skip_serializing_if = "Vec::is_empty")]
    pub datasets: Vec<Dataset>,
    /// Training runs behind the weights.
    #[serde(rename = "training", skip_serializing_if = "Vec::is_empty")]
    pub trainings: Vec<Training>,
}

/// The manifest as written, with spans for located validation errors.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ManifestDoc {
    manifest: Spanned<u32>,
    kind: Kind,
    name: Spanned<String>,
    version: Spanned<String>,
    #[serde(default)]
    license: Option<String>,
    #[serde(default)]
    created: Option<crate::timestamp::Timestamp>,
    #[serde(default)]
    ignore: Vec<String>,
    hashing: Hashing,
    #[serde(default)]
    listing: Option<Spanned<ListingRef>>,
    #[serde(default)]
    file: Vec<Spanned<FileEntry>>,
    #[serde(default)]
    dataset: Vec<Spanned<Dataset>>,
    #[serde(default)]
    training: Vec<Spanned<Training>>,
}

/// The error for a manifest of another format version.
fn unsupported(file: &Path, text: &str, version: &Spanned<toml::Value>) -> SourceError {
    SourceError::Invalid {
        location: source::Location::at(file, text, version.span().start),
        message: format!(
            "manifest format {} is not supported; this modelseal reads format {FORMAT}",
            version.get_ref()
        ),
        help: Some("upgrade modelseal, or write `manifest = 1`".into()),
    }
}

/// Only the format key, read first so a newer format gets a clear error
/// rather than a complaint about the first key it added.
#[derive(Deserialize)]
struct FormatProbe {
    manifest: Option<Spanned<toml::Value>>,
}

impl Manifest {
    /// Reads and parses the manifest at `path` (a symlink is refused).
    pub fn load(path: &Path) -> Result<(Manifest, Vec<u8>), SourceError> {
        let bytes = source::read_bounded(path, MAX_MANIFEST_BYTES, false)?;
        let manifest = Manifest::parse(path, &bytes)?;
        Ok((manifest, bytes))
    }

    /// Parses manifest bytes; `file` names them in errors.
    pub fn parse(file: &Path, bytes: &[u8]) -> Result<Manifest, SourceError> {
        Manifest::parse_with(file, bytes, true)
    }

    /// Parses a manifest that `update` is about to rehash: shard lists that
    /// no longer fit the sizes or `shard_size` are accepted, since they are
    /// about to be rewritten.
    pub fn parse_for_update(file: &Path, bytes: &[u8]) -> Result<Manifest, SourceError> {
        Manifest::parse_with(file, bytes, false)
    }

    /// [`Manifest::parse`] with the fast path for `[[file]]` tables taken
    /// from `min_tables` tables on (0: always where it applies). For tests
    /// that hold the fast path to the TOML parser.
    #[doc(hidden)]
    pub fn parse_with_fast_tables_from(
        file: &Path,
        bytes: &[u8],
        min_tables: Option<usize>,
    ) -> Result<Manifest, SourceError> {
        Manifest::parse_tables(file, bytes, true, min_tables)
    }

    fn parse_with(file: &Path, bytes: &[u8], check_shards: bool) -> Result<Manifest, SourceError> {
        Manifest::parse_tables(
            file,
            bytes,
            check_shards,
            Some(crate::file_tables::WORTH_IT),
        )
    }

    fn parse_tables(
        file: &Path,
        bytes: &[u8],
        check_shards: bool,
        min_tables: Option<usize>,
    ) -> Result<Manifest, SourceError> {
        let text = source::as_text(file, bytes)?;
        // The format is checked first so that a newer format gets a clear error
        // rather than a complaint about the first key it added; the probe parses
        // the text a second time, so it runs only when the strict parse fails.
        let unsupported = |version: &Spanned<toml::Value>| unsupported(file, text, version);
        // Large manifests: the canonical [[file]] tables are read line by
        // line, the rest as TOML; anything else, or any doubt, all as TOML.
        // Spans then point into the text without the tables, which has the
        // same lines; an error is reported from the whole text instead.
        if let Some(tables) = min_tables.and_then(|n| crate::file_tables::split(text, n)) {
            let rest = tables.rest;
            if let Ok(mut doc) = source::parse_toml::<ManifestDoc>(file, &rest)
                && doc.file.is_empty()
            {
                doc.file = tables.entries;
                let lines = source::LineIndex::with_removed(&rest, &tables.removed);
                if let Ok(manifest) = Manifest::from_doc(file, &rest, &lines, doc, check_shards) {
                    return Ok(manifest);
                }
            }
            return Manifest::parse_tables(file, bytes, check_shards, None);
        }
        let parsed = source::parse_toml(file, text);
        let doc: ManifestDoc = match parsed {
            Ok(doc) => doc,
            Err(err) => {
                if let Ok(FormatProbe {
                    manifest: Some(version),
                }) = toml::from_str::<FormatProbe>(text)
                    && version.get_ref().as_integer() != Some(i64::from(FORMAT))
                {
                    return Err(unsupported(&version));
                }
                return Err(err);
            }
        };
        Manifest::from_doc(file, text, &source::LineIndex::new(text), doc, check_shards)
    }

    /// The manifest in a parsed document, checked; `text` is what its spans
    /// point into.
    fn from_doc(
        file: &Path,
        text: &str,
        lines: &source::LineIndex,
        doc: ManifestDoc,
        check_shards: bool,
    ) -> Result<Manifest, SourceError> {
        if *doc.manifest.get_ref() != FORMAT {
            let version = Spanned::new(
                doc.manifest.span(),
                toml::Value::Integer(i64::from(*doc.manifest.get_ref())),
            );
            return Err(unsupported(file, text, &version));
        }
        let at = |span: std::ops::Range<usize>, msg: String| {
            SourceError::at(file, text, span.start, msg)
        };

        if doc.name.get_ref().trim().is_empty() {
            return Err(at(doc.name.span(), "name must not be empty".into()));
        }
        if doc.version.get_ref().trim().is_empty() {
            return Err(at(doc.version.span(), "version must not be empty".into()));
        }
        if let (Some(listing), Some(first)) = (&doc.listing, doc.file.first()) {
            return Err(SourceError::Invalid {
                location: source::Location::at(file, text, first.span().start),
                message: format!(
                    "a manifest with a [listing] (line {}) lists its files there, not in [[file]] tables",
                    lines.line(listing.span().start)
                ),
                help: Some("keep one of the two: `modelseal update` rewrites the listing".into()),
            });
        }
        let files = checked_files(
            doc.file,
            doc.hashing.shard_size,
            check_shards,
            file,
            text,
            lines,
        )?;
        let datasets = with_unique_ids(
            doc.dataset,
            "dataset",
            file,
            text,
            lines,
            |d| &d.id,
            |d, l| d.line = l,
        )?;
        let trainings = with_unique_ids(
            doc.training,
            "training",
            file,
            text,
            lines,
            |t| &t.id,
            |t, l| t.line = l,
        )?;
        Ok(Manifest {
            manifest: *doc.manifest.get_ref(),
            kind: doc.kind,
            name: doc.name.into_inner(),
            version: doc.version.into_inner(),
            license: doc.license,
            created: doc.created,
            ignore: doc.ignore,
            hashing: doc.hashing,
            listing: doc.listing.map(Spanned::into_inner),
            files,
            datasets,
            trainings,
        })
    }

    /// Renders a new manifest as TOML text, files sorted by path. An error
    /// here is a bug (every value is representable), reported rather than
    /// written as an empty manifest.
    pub fn to_toml(&self) -> Result<String, toml::ser::Error> {
        let in_order = self.listing.is_none() && self.files.is_sorted_by(|a, b| a.path <= b.path);
        let body = if in_order {
            // No copy of 100,000 entries just to render them.
            toml::to_string(self)?
        } else {
            let mut sorted = self.clone();
            sorted.files.sort_by(|a, b| a.path.cmp(&b.path));
            if sorted.listing.is_some() {
                // The large form lists its files in the listing, not here.
                sorted.files.clear();
            }
            toml::to_string(&sorted)?
        };
        Ok(format!(
            "# modelseal provenance manifest, format 1 (see manifests/SPEC.md).\n\
             # Keep it true to the files with `modelseal update`; sign it with `modelseal sign`.\n\
             {body}"
        ))
    }

    /// The entry for `path`, if listed. A linear scan: for more than one
    /// lookup, build [`Manifest::file_index`] once.
    pub fn file(&self, path: &str) -> Option<&FileEntry> {
        self.files.iter().find(|f| f.path == path)
    }

    /// Every listed file by path; where a path is listed twice, its first entry.
    pub fn file_index(&self) -> HashMap<&str, &FileEntry> {
        let mut index = HashMap::with_capacity(self.files.len());
        for file in &self.files {
            index.entry(file.path.as_str()).or_insert(file);
        }
        index
    }

    /// The listed files among `paths`, by path; where a path is listed
    /// twice, its first entry. Lineage names a handful of files: indexing
    /// only those spares hashing every path of a 100,000-file manifest.
    pub fn index_of<'a>(
        &'a self,
        paths: impl IntoIterator<Item = &'a str>,
    ) -> HashMap<&'a str, &'a FileEntry> {
        let wanted: HashSet<&str> = paths.into_iter().collect();
        let mut index = HashMap::with_capacity(wanted.len());
        if wanted.is_empty() {
            return index;
        }
        for file in &self.files {
            if wanted.contains(file.path.as_str()) {
                index.entry(file.path.as_str()).or_insert(file);
            }
        }
        index
    }

    /// Every path the lineage tables name: run outputs and configs, dataset
    /// files, and the base-model and dataset manifests.
    pub fn lineage_names(&self) -> impl Iterator<Item = &str> {
        let runs = self.trainings.iter().flat_map(|t| {
            t.outputs
                .iter()
                .chain(&t.configs)
                .chain(t.base_model.as_ref().and_then(|b| b.manifest.as_ref()))
        });
        let datasets = self
            .datasets
            .iter()
            .flat_map(|d| d.files.iter().chain(d.manifest.as_ref()));
        runs.chain(datasets).map(String::as_str)
    }
}

/// The `[[file]]` entries with their lines, each with the shard digests its
/// size needs (unless `check_shards` is off, for `update`).
fn checked_files(
    entries: Vec<Spanned<FileEntry>>,
    shard_size: u64,
    check_shards: bool,
    file: &Path,
    text: &str,
    lines: &source::LineIndex,
) -> Result<Vec<FileEntry>, SourceError> {
    let mut files = Vec::with_capacity(entries.len());
    for spanned in entries {
        let span = spanned.span();
        let mut entry = spanned.into_inner();
        let expected = shard_count(entry.size, shard_size);
        if check_shards && entry.shards.len() as u64 != expected {
            let msg = if expected == 0 {
                format!(
                    "file '{}' has {} shard digests, but its size {} is not larger than shard_size {shard_size}",
                    entry.path,
                    entry.shards.len(),
                    entry.size
                )
            } else {
                format!(
                    "file '{}' needs {expected} shard digests for size {} and shard_size {shard_size}, but has {}",
                    entry.path,
                    entry.size,
                    entry.shards.len()
                )
            };
            return Err(SourceError::Invalid {
                location: source::Location::at(file, text, span.start),
                message: msg,
                help: Some("run `modelseal update` to rehash the directory".into()),
            });
        }
        // The fast path for [[file]] tables knows each entry's line already.
        if entry.line == 0 {
            entry.line = lines.line(span.start);
        }
        files.push(entry);
    }
    Ok(files)
}

/// Entries of one kind (`dataset`, `training`) with their lines, refusing an
/// id used twice.
fn with_unique_ids<T>(
    entries: Vec<Spanned<T>>,
    what: &str,
    file: &Path,
    text: &str,
    lines: &source::LineIndex,
    id: impl Fn(&T) -> &String,
    set_line: impl Fn(&mut T, usize),
) -> Result<Vec<T>, SourceError> {
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(entries.len());
    for spanned in entries {
        let span = spanned.span();
        let mut entry = spanned.into_inner();
        if !seen.insert(id(&entry).clone()) {
            return Err(SourceError::at(
                file,
                text,
                span.start,
                format!("{what} id '{}' is used twice", id(&entry)),
            ));
        }
        set_line(&mut entry, lines.line(span.start));
        out.push(entry);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    fn minimal(extra: &str) -> String {
        format!(
            "manifest = 1\nkind = \"model\"\nname = \"acme/m\"\nversion = \"1\"\n\
             [hashing]\nalgorithm = \"sha256\"\nshard_size = 1048576\n\
             [[file]]\npath = \"a.bin\"\nrole = \"weights\"\nsize = 0\nsha256 = \"{DIGEST}\"\n{extra}"
        )
    }

    fn parse(text: &str) -> Result<Manifest, SourceError> {
        Manifest::parse(Path::new("provenance.toml"), text.as_bytes())
    }

    #[test]
    fn parses_a_minimal_manifest_and_records_lines() {
        let m = parse(&minimal("")).unwrap();
        assert_eq!(m.files.len(), 1);
        assert_eq!(m.files[0].line, 8);
        assert_eq!(m.files[0].role, Role::Weights);
    }

    #[test]
    fn rejects_unknown_keys_with_location() {
        let err = parse(&minimal("colour = \"red\"\n"))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("provenance.toml:13:1: unknown field `colour`"),
            "{err}"
        );
    }

    #[test]
    fn rejects_other_formats_before_anything_else() {
        let text = minimal("").replace("manifest = 1", "manifest = 2\nnew_key = 1");
        let err = parse(&text).unwrap_err().to_string();
        assert!(err.contains("manifest format 2 is not supported"), "{err}");
    }

    #[test]
    fn rejects_malformed_digests_and_commits() {
        let err = parse(&minimal("").replace(DIGEST, "ABC"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("64 lowercase hex"), "{err}");
        let err = parse(&minimal(
            "[[training]]\nid = \"t\"\ncode = { uri = \"u\", commit = \"123\" }\n",
        ))
        .unwrap_err()
        .to_string();
        assert!(err.contains("40 lowercase hex"), "{err}");
    }

    #[test]
    fn rejects_wrong_shard_counts() {
        let text = minimal("").replace("size = 0", "size = 2097153");
        let err = parse(&text).unwrap_err().to_string();
        assert!(err.contains("needs 3 shard digests"), "{err}");
    }

    #[test]
    fn rejects_negative_sizes_and_out_of_range_shard_sizes() {
        assert!(parse(&minimal("").replace("size = 0", "size = -1")).is_err());
        assert!(parse(&minimal("").replace("shard_size = 1048576", "shard_size = 1")).is_err());
    }

    #[test]
    fn rendered_manifest_parses_back_identically() {
        let m = parse(&minimal("")).unwrap();
        let again = parse(&m.to_toml().unwrap()).unwrap();
        let strip = |mut m: Manifest| {
            m.files.iter_mut().for_each(|f| f.line = 0);
            m
        };
        assert_eq!(strip(again), strip(m));
    }
}
