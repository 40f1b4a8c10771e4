//! Writing a release: `init` (a new manifest), `update` (rehash, keep the
//! rest), and `sign` (append a signature once the directory matches).

use crate::card;
use crate::digest::Sha256Digest;
use crate::hashing::Progress;
use crate::inspect::files::ContentFinding;
use crate::keys::KeyError;
use crate::manifest::{self, Algorithm, FileEntry, Hashing, Kind, Manifest, Role};
use crate::model_dir::ModelDir;
use crate::problem::Problem;
use crate::signature::{SignatureEntry, SignatureFile};
use crate::source::SourceError;
use crate::trace;
use crate::walk::{self, WalkError};
use crate::{MANIFEST_FILE, SIGNATURE_FILE};
use ed25519_dalek::SigningKey;
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

/// Errors of init, update and sign.
#[derive(Debug, thiserror::Error)]
pub enum ReleaseError {
    /// The manifest or signature file is unreadable or malformed.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// The directory cannot be walked.
    #[error(transparent)]
    Walk(#[from] WalkError),
    /// The signing key could not be loaded.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// The directory holds things a manifest cannot vouch for.
    #[error("the directory cannot be sealed as it is: {} problem(s)", .0.len())]
    NotSealable(Vec<Problem>),
    /// `init` would overwrite a manifest.
    #[error("{}: already exists; use `modelseal update` to refresh it, or `init --force` to start over", .0.display())]
    Exists(PathBuf),
    /// A file could not be written; the previous one is intact.
    #[error("cannot write {}: {reason} (the previous file, if any, is unchanged)", file.display())]
    Write {
        /// The file.
        file: PathBuf,
        /// The operating system's reason.
        reason: String,
    },
    /// `sign` found that the directory does not match the manifest (exit 1).
    #[error(
        "the directory does not match provenance.toml; run `modelseal update`, review the changes, then sign"
    )]
    Mismatch(Vec<Problem>),
}

impl From<crate::stream::StreamError> for ReleaseError {
    fn from(err: crate::stream::StreamError) -> Self {
        match err {
            crate::stream::StreamError::Walk(e) => ReleaseError::Walk(e),
            crate::stream::StreamError::Listing(e) => ReleaseError::Source(e),
        }
    }
}

/// Guesses a file's role from its name.
pub fn guess_role(path: &str, kind: Kind) -> Role {
    let name = path.rsplit('/').next().unwrap_or(path).to_ascii_lowercase();
    let ext = name.rsplit_once('.').map_or("", |(_, e)| e);
    let docs = name.starts_with("readme")
        || name.starts_with("license")
        || name.starts_with("licence")
        || name.starts_with("notice")
        || name.starts_with("model_card")
        || matches!(ext, "md" | "rst" | "pdf" | "html");
    if docs {
        return Role::Docs;
    }
    // Upstream manifests and their signatures are evidence, not configuration.
    if name.ends_with(".provenance.toml") || name.ends_with(".provenance.sig") {
        return Role::Other;
    }
    if kind == Kind::Dataset {
        return Role::Data;
    }
    const TOKENIZER_FILES: &[&str] = &[
        "tokenizer.json",
        "tokenizer_config.json",
        "tokenizer.model",
        "special_tokens_map.json",
        "added_tokens.json",
        "vocab.json",
        "vocab.txt",
        "merges.txt",
        "spiece.model",
        "sentencepiece.bpe.model",
    ];
    if TOKENIZER_FILES.contains(&name.as_str()) || ext == "tiktoken" {
        return Role::Tokenizer;
    }
    // A pickled TrainingArguments, not weights.
    if name == "training_args.bin" {
        return Role::Config;
    }
    match ext {
        "safetensors" | "gguf" | "bin" | "pt" | "pth" | "ckpt" | "onnx" | "h5" | "msgpack"
        | "npz" | "tflite" | "pkl" | "keras" => Role::Weights,
        "json" | "yaml" | "yml" | "toml" | "cfg" | "ini" => Role::Config,
        "jsonl" | "csv" | "tsv" | "parquet" | "arrow" | "tfrecord" | "txt" => Role::Data,
        "py" | "sh" | "ipynb" | "rs" | "js" | "c" | "cc" | "cpp" | "cu" | "h" => Role::Code,
        _ => Role::Other,
    }
}

/// Options of `init`.
#[derive(Debug, Clone)]
pub struct InitOptions {
    /// Release name; defaults to the directory's name.
    pub name: Option<String>,
    /// Release version.
    pub version: String,
    /// Model or dataset.
    pub kind: Kind,
    /// Replace an existing manifest.
    pub force: bool,
    /// Shard size in bytes (see [`manifest::SHARD_SIZE_RANGE`]).
    pub shard_size: u64,
    /// Hashing threads.
    pub jobs: usize,
    /// When to write the large form.
    pub listing: ListingMode,
}

/// What `init` wrote.
#[derive(Debug, Clone)]
pub struct InitOutcome {
    /// The manifest written (in the large form, `files` holds only what
    /// lineage needs; the listing holds them all).
    pub manifest: Manifest,
    /// How many files it lists.
    pub files: u64,
    /// Total bytes hashed.
    pub bytes: u64,
    /// The model card's front matter, when README.md has one.
    pub card: Option<card::ModelCard>,
    /// What still keeps level 2 (traced) from holding.
    pub missing_for_level_2: Vec<Problem>,
    /// Content problems found in the files listed (inspected in the same
    /// read as the hashing): loading them may be unsafe. Init lists them
    /// all the same; `init` warns.
    pub content: Vec<ContentFinding>,
}

/// Writes a new `provenance.toml` listing every file of `dir` with its digests.
pub fn init(
    dir: &Path,
    options: &InitOptions,
    progress: &dyn Progress,
) -> Result<InitOutcome, ReleaseError> {
    let manifest_path = dir.join(MANIFEST_FILE);
    if !options.force && std::fs::symlink_metadata(&manifest_path).is_ok() {
        return Err(ReleaseError::Exists(manifest_path));
    }
    let shard_size = options.shard_size;
    let sealing = seal_for_init(dir, options, progress)?;
    let name = match &options.name {
        Some(n) => n.clone(),
        None => std::fs::canonicalize(dir)
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "unnamed".into()),
    };
    let (mut files, bytes, count) = (sealing.files, sealing.bytes, sealing.count);
    // In place, in the order the manifest lists them: rendering needs no copy.
    files.sort_unstable_by(|a, b| a.path.cmp(&b.path));
    let mut manifest = Manifest {
        manifest: manifest::FORMAT,
        kind: options.kind,
        name,
        version: options.version.clone(),
        license: None,
        created: Some(crate::timestamp::Timestamp::now()),
        ignore: Vec::new(),
        hashing: Hashing {
            algorithm: Algorithm::Sha256,
            shard_size,
        },
        listing: sealing.pin.clone(),
        files,
        datasets: Vec::new(),
        trainings: Vec::new(),
    };
    let card = read_card(dir, &manifest);
    if let Some(card) = &card {
        prefill_from_card(&mut manifest, card);
    }
    let text = manifest.to_toml().map_err(|e| ReleaseError::Write {
        file: manifest_path.clone(),
        reason: format!("cannot render the manifest: {e}"),
    })?;
    publish_listing(dir, sealing.temp, options.force)?;
    write(&manifest_path, text.as_bytes())?;
    let missing_for_level_2 = match manifest.kind {
        Kind::Model => trace::check_lineage(&manifest),
        Kind::Dataset => Vec::new(),
    };
    Ok(InitOutcome {
        manifest,
        files: count,
        bytes,
        card,
        missing_for_level_2,
        content: sealing.content,
    })
}

/// The front matter of the listed README.md, if any.
fn read_card(dir: &Path, manifest: &Manifest) -> Option<card::ModelCard> {
    let readme = manifest
        .files
        .iter()
        .find(|f| f.path.eq_ignore_ascii_case("README.md"))?;
    // In a Hub cache snapshot, README.md is a link into blobs/: read the blob.
    let path = ModelDir::new(dir).path_to_read(&readme.path).ok()?;
    let bytes = crate::source::read_bounded(&path, 1 << 20, false).ok()?;
    card::parse(&String::from_utf8_lossy(&bytes))
}

/// Pre-fills licence, datasets and a training run with its base model from
/// the model card. Configs and the code commit are left for the user: a card
/// does not say them.
fn prefill_from_card(manifest: &mut Manifest, card: &card::ModelCard) {
    manifest.license.clone_from(&card.license);
    if manifest.kind != Kind::Model {
        return;
    }
    let mut ids = Vec::new();
    for hub_id in &card.datasets {
        let mut id = card::dataset_id(hub_id);
        while ids.contains(&id) {
            id.push('_');
        }
        manifest.datasets.push(manifest::Dataset {
            id: id.clone(),
            name: Some(hub_id.clone()),
            uri: Some(format!("https://huggingface.co/datasets/{hub_id}")),
            license: None,
            files: Vec::new(),
            sha256: None,
            manifest: None,
            line: 0,
        });
        ids.push(id);
    }
    if card.datasets.is_empty() && card.base_models.is_empty() {
        return;
    }
    let outputs = manifest
        .files
        .iter()
        .filter(|f| f.role == Role::Weights)
        .map(|f| f.path.clone())
        .collect();
    manifest.trainings.push(manifest::Training {
        id: "train".into(),
        outputs,
        configs: Vec::new(),
        datasets: ids,
        code: None,
        base_model: card.base_models.first().map(|name| manifest::BaseModel {
            name: name.clone(),
            sha256: None,
            manifest: None,
        }),
        line: 0,
    });
}

/// A file as `init` and `update` list it: its size, whole digest and shards.
struct Sealed {
    size: u64,
    sha256: Sha256Digest,
    shards: Vec<Sha256Digest>,
}

/// Lists and hashes every file that a manifest with `ignore` patterns must
/// list, in listing order, refusing links, special files and unsafe names.
fn hash_directory(
    dir: &Path,
    ignore: &[String],
    shard_size: u64,
    jobs: usize,
    progress: &dyn Progress,
) -> Result<Vec<(String, Sealed)>, ReleaseError> {
    let mut out = Vec::new();
    seal_files(
        dir,
        ignore,
        shard_size,
        jobs,
        progress,
        SealExtras::default(),
        &mut |file| {
            out.push((
                file.path,
                Sealed {
                    size: file.size,
                    sha256: file.sha256,
                    shards: file.shards,
                },
            ));
            Ok(())
        },
    )?;
    Ok(out)
}

/// What else sealing does: leave out the listing being written, and gather
/// what content inspection finds.
#[derive(Default, Clone, Copy)]
pub(crate) struct SealExtras<'a> {
    /// The listing being written, left out of the walk.
    pub temp: Option<&'a tempfile::NamedTempFile>,
    /// Where content inspection's findings go; `None` inspects nothing.
    pub content: Option<&'a std::sync::Mutex<Vec<ContentFinding>>>,
}

/// Seals every file a manifest with `ignore` patterns must list, handing
/// each to `sink` in listing order.
pub(crate) fn seal_files(
    dir: &Path,
    ignore: &[String],
    shard_size: u64,
    jobs: usize,
    progress: &dyn Progress,
    extras: SealExtras<'_>,
    sink: &mut dyn FnMut(crate::listing::ListedFile) -> Result<(), String>,
) -> Result<u64, ReleaseError> {
    let matcher = walk::ignore_matcher(ignore)?;
    let temp = extras.temp;
    // The listing being written is left out too: it was made here, now,
    // under a fresh name no other file can have.
    let temp_name = temp
        .and_then(|t| t.path().file_name())
        .and_then(|n| n.to_str())
        .unwrap_or(MANIFEST_FILE);
    let input = crate::seal::SealInput {
        ignore: &matcher,
        has_patterns: !ignore.is_empty(),
        skipped: &[
            MANIFEST_FILE,
            SIGNATURE_FILE,
            crate::LISTING_FILE,
            temp_name,
        ],
        shard_size,
        jobs,
        content: extras.content,
    };
    crate::seal::seal(&ModelDir::new(dir), &input, progress, sink).map_err(|e| match e {
        crate::seal::SealError::Walk(e) => ReleaseError::Walk(e),
        crate::seal::SealError::NotSealable(problems) => ReleaseError::NotSealable(problems),
        crate::seal::SealError::Sink(reason) => ReleaseError::Write {
            file: dir.join(crate::LISTING_FILE),
            reason,
        },
    })
}

/// What `update` changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UpdateOutcome {
    /// Files newly listed.
    pub added: Vec<String>,
    /// Files no longer in the directory, dropped from the manifest.
    pub removed: Vec<String>,
    /// Files whose size or digests changed.
    pub changed: Vec<String>,
    /// Files that stayed the same.
    pub unchanged: usize,
    /// Whether the manifest was rewritten (only when something changed).
    pub written: bool,
    /// How many files were added, changed and removed. In the large form
    /// the lists above name at most [`MAX_NAMED`] files each.
    pub counts: ChangeCounts,
}

/// The most files the large form's `update` names in each list.
pub const MAX_NAMED: usize = 1000;

/// How many files an update added, changed and removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChangeCounts {
    /// Files newly listed.
    pub added: usize,
    /// Files whose size or digests changed.
    pub changed: usize,
    /// Files dropped.
    pub removed: usize,
}

/// When `init` writes the large form (a `[listing]` and `provenance.files`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ListingMode {
    /// Above [`crate::listing::AUTO_THRESHOLD`] files.
    #[default]
    Auto,
    /// Always.
    Always,
    /// Never: one TOML file, however many files.
    Never,
}

/// Rehashes `dir`, adds new files, drops vanished ones and rewrites only the
/// digests, keeping every other line, comment and lineage section.
pub fn update(
    dir: &Path,
    jobs: usize,
    progress: &dyn Progress,
) -> Result<UpdateOutcome, ReleaseError> {
    let manifest_path = dir.join(MANIFEST_FILE);
    let bytes = crate::source::read_bounded(&manifest_path, manifest::MAX_MANIFEST_BYTES, false)?;
    let manifest = Manifest::parse_for_update(&manifest_path, &bytes)?;
    if manifest.listing.is_some() {
        let text = crate::source::as_text(&manifest_path, &bytes)?;
        return update_listing(dir, &manifest, text, jobs, progress);
    }
    let hashed = hash_directory(
        dir,
        &manifest.ignore,
        manifest.hashing.shard_size,
        jobs,
        progress,
    )?;
    let fresh: BTreeMap<String, Sealed> = hashed.into_iter().collect();
    // The common case, nothing changed, needs no editable document: parsing
    // one costs more than the rest of an unchanged update.
    if lists_exactly(&manifest, &fresh) {
        return Ok(UpdateOutcome {
            unchanged: fresh.len(),
            ..UpdateOutcome::default()
        });
    }
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let mut doc = crate::source::parse_document(&manifest_path, &text)?;

    if doc.get("file").is_none() {
        doc.insert("file", toml_edit::Item::ArrayOfTables(Default::default()));
    }
    let tables = doc
        .get_mut("file")
        .and_then(|item| item.as_array_of_tables_mut())
        .ok_or_else(|| {
            SourceError::at(
                &manifest_path,
                &text,
                0,
                "`file` must be an array of tables ([[file]])",
            )
        })?;
    let mut outcome = relist(tables, &manifest, &fresh);
    outcome.counts = ChangeCounts {
        added: outcome.added.len(),
        changed: outcome.changed.len(),
        removed: outcome.removed.len(),
    };
    if !(outcome.added.is_empty() && outcome.removed.is_empty() && outcome.changed.is_empty()) {
        // New contents make a new release: its signed creation time moves too.
        if doc.get("created").is_some() {
            let now = crate::timestamp::Timestamp::now().to_toml();
            set_value(doc.as_table_mut(), "created", toml_edit::Value::from(now));
        }
        let new_text = doc.to_string();
        // Never write a manifest that would not parse back.
        Manifest::parse(&manifest_path, new_text.as_bytes())?;
        write(&manifest_path, new_text.as_bytes())?;
        outcome.written = true;
    }
    Ok(outcome)
}

/// Whether the manifest lists exactly the files hashed, each once, with
/// their current size and digests.
fn lists_exactly(manifest: &Manifest, fresh: &BTreeMap<String, Sealed>) -> bool {
    manifest.files.len() == fresh.len()
        && manifest.files.iter().all(|e| {
            fresh.get(&e.path).is_some_and(|now| {
                e.size == now.size && e.sha256 == now.sha256 && e.shards == now.shards
            })
        })
        && manifest.file_index().len() == manifest.files.len()
}

/// Brings the `[[file]]` tables up to date with the files as hashed now:
/// drops vanished (and repeated) entries, rewrites changed digests in place,
/// appends new files; says what changed.
fn relist(
    tables: &mut toml_edit::ArrayOfTables,
    manifest: &Manifest,
    fresh: &BTreeMap<String, Sealed>,
) -> UpdateOutcome {
    let mut outcome = UpdateOutcome::default();
    let mut seen: HashSet<String> = HashSet::new();
    tables.retain(|table| {
        let path = table.get("path").and_then(|v| v.as_str()).unwrap_or("");
        // A second entry for one path is dropped too: the manifest keeps one.
        fresh.contains_key(path) && seen.insert(path.to_string())
    });
    for entry in &manifest.files {
        if !fresh.contains_key(&entry.path) {
            outcome.removed.push(entry.path.clone());
        }
    }
    let listed = manifest.file_index();
    for table in tables.iter_mut() {
        let path = table
            .get("path")
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_string();
        let Some(sealed) = fresh.get(&path) else {
            continue;
        };
        let old = listed.get(path.as_str());
        let same = old.is_some_and(|e| {
            e.size == sealed.size && e.sha256 == sealed.sha256 && e.shards == sealed.shards
        });
        if same {
            outcome.unchanged += 1;
            continue;
        }
        set_digests(table, sealed);
        outcome.changed.push(path);
    }
    for (path, sealed) in fresh {
        if seen.contains(path) {
            continue;
        }
        let mut table = toml_edit::Table::new();
        table.insert("path", toml_edit::value(path.as_str()));
        table.insert(
            "role",
            toml_edit::value(guess_role(path, manifest.kind).to_string()),
        );
        set_digests(&mut table, sealed);
        tables.push(table);
        outcome.added.push(path.clone());
    }
    outcome
}

fn set_digests(table: &mut toml_edit::Table, sealed: &Sealed) {
    // A file larger than i64::MAX bytes cannot exist; TOML integers are i64.
    let size = i64::try_from(sealed.size).unwrap_or(i64::MAX);
    set_value(table, "size", toml_edit::Value::from(size));
    set_value(
        table,
        "sha256",
        toml_edit::Value::from(sealed.sha256.to_hex()),
    );
    if sealed.shards.is_empty() {
        table.remove("shards");
    } else {
        let mut array = toml_edit::Array::new();
        for shard in &sealed.shards {
            let mut value = toml_edit::Value::from(shard.to_hex());
            value.decor_mut().set_prefix("\n  ");
            array.push_formatted(value);
        }
        array.set_trailing("\n");
        array.set_trailing_comma(true);
        set_value(table, "shards", toml_edit::Value::Array(array));
    }
}

/// Replaces a value, keeping the decoration (comments, spacing) around it.
fn set_value(table: &mut toml_edit::Table, key: &str, mut value: toml_edit::Value) {
    if let Some(old) = table.get(key).and_then(|i| i.as_value()) {
        *value.decor_mut() = old.decor().clone();
    }
    table.insert(key, toml_edit::Item::Value(value));
}

/// What `sign` did.
#[derive(Debug, Clone)]
pub struct SignOutcome {
    /// The new signature's key id.
    pub keyid: String,
    /// Earlier entries dropped because they no longer verify, with why.
    pub dropped: Vec<String>,
    /// Whether an earlier signature by the same key was replaced.
    pub replaced: bool,
    /// How many signatures the file now holds.
    pub total: usize,
}

/// Signs `dir`'s manifest with `key` after checking the directory matches it
/// (level 0), and writes `provenance.sig` atomically.
pub fn sign(
    dir: &Path,
    key: &SigningKey,
    signer: Option<String>,
    jobs: usize,
    progress: &dyn Progress,
) -> Result<SignOutcome, ReleaseError> {
    let (mut manifest, manifest_bytes) = Manifest::load(&dir.join(MANIFEST_FILE))?;
    let sig_path = dir.join(SIGNATURE_FILE);
    let mut existing = SignatureFile::load(&sig_path)?;
    let how = crate::stream::ManifestCheck {
        jobs,
        lfs_pointers: false,
        read_contents: true,
        partition: None,
        copy: None,
    };
    let (problems, _) =
        crate::stream::check_manifest(&ModelDir::new(dir), &mut manifest, how, progress)?;
    if !problems.is_empty() {
        return Err(ReleaseError::Mismatch(problems));
    }
    let new_entry = SignatureEntry::sign(&manifest_bytes, key, signer);
    let mut dropped = Vec::new();
    let mut replaced = false;
    existing.signatures.retain(|entry| {
        if let Err(fault) = entry.check(&manifest_bytes) {
            dropped.push(format!("{}: {fault}", entry.label()));
            return false;
        }
        if entry.keyid == new_entry.keyid {
            replaced = true;
            return false;
        }
        true
    });
    let keyid = new_entry.keyid.clone();
    existing.signatures.push(new_entry);
    let text = existing.to_toml().map_err(|e| ReleaseError::Write {
        file: sig_path.clone(),
        reason: format!("cannot render the signatures: {e}"),
    })?;
    write(&sig_path, text.as_bytes())?;
    Ok(SignOutcome {
        keyid,
        dropped,
        replaced,
        total: existing.signatures.len(),
    })
}

/// What `init` sealed: the entries it keeps in the manifest, and the
/// listing it wrote aside, if it chose the large form.
struct InitSealing {
    /// Every file (TOML form), or what lineage and the card need (large form).
    files: Vec<FileEntry>,
    /// The pin of the listing written to `temp` (large form).
    pin: Option<crate::listing::ListingRef>,
    /// The listing, not yet in place.
    temp: Option<tempfile::NamedTempFile>,
    count: u64,
    bytes: u64,
    /// What content inspection found, by path.
    content: Vec<ContentFinding>,
}

/// The listing writer `init` and `update` write through: into a fresh
/// temporary file beside the manifest, published by [`publish_listing`].
type TempListing = crate::listing::ListingWriter<std::io::BufWriter<std::fs::File>>;

fn listing_writer(
    dir: &Path,
) -> Result<(tempfile::NamedTempFile, TempListing), crate::listing::WriteError> {
    let temp = tempfile::Builder::new()
        .prefix(".modelseal-listing-")
        .tempfile_in(dir)?;
    let out = std::io::BufWriter::with_capacity(1 << 20, temp.reopen()?);
    Ok((temp, crate::listing::ListingWriter::new(out)?))
}

/// Whether the large form's manifest keeps `entry` in its `files`: what
/// lineage and the model card read.
fn init_keeps(entry: &FileEntry) -> bool {
    matches!(entry.role, Role::Weights | Role::Config)
        || entry.path.eq_ignore_ascii_case("README.md")
}

/// Seals the directory for `init`, writing the listing aside as it goes;
/// decides the form once the number of files is known.
fn seal_for_init(
    dir: &Path,
    options: &InitOptions,
    progress: &dyn Progress,
) -> Result<InitSealing, ReleaseError> {
    let listing_path = dir.join(crate::LISTING_FILE);
    let write_error = |e: &dyn std::fmt::Display| ReleaseError::Write {
        file: listing_path.clone(),
        reason: e.to_string(),
    };
    let (temp, mut writer) = listing_writer(dir).map_err(|e| write_error(&e))?;
    let small_limit = match options.listing {
        ListingMode::Never => usize::MAX,
        ListingMode::Auto => crate::listing::AUTO_THRESHOLD,
        ListingMode::Always => 0,
    };
    let (mut all, mut kept, mut over) = (
        Vec::new(),
        Vec::new(),
        options.listing == ListingMode::Always,
    );
    let content = std::sync::Mutex::new(Vec::new());
    seal_files(
        dir,
        &[],
        options.shard_size,
        options.jobs,
        progress,
        SealExtras {
            temp: Some(&temp),
            content: Some(&content),
        },
        &mut |mut file| {
            file.role = guess_role(&file.path, options.kind);
            writer.push(&file).map_err(|e| e.to_string())?;
            let entry = file.into_entry();
            if init_keeps(&entry) {
                kept.push(entry.clone());
            }
            if !over {
                all.push(entry);
                over = all.len() > small_limit;
                if over {
                    all = Vec::new();
                }
            }
            Ok(())
        },
    )?;
    let (pin, out) = writer.finish().map_err(|e| write_error(&e))?;
    let (count, bytes) = (pin.files, pin.bytes);
    let mut content = content.into_inner().unwrap_or_default();
    content.sort_by(|a, b| a.path.cmp(&b.path));
    if !over {
        return Ok(InitSealing {
            files: all,
            pin: None,
            temp: None,
            count,
            bytes,
            content,
        });
    }
    drop(out);
    Ok(InitSealing {
        files: kept,
        pin: Some(pin),
        temp: Some(temp),
        count,
        bytes,
        content,
    })
}

/// Puts the listing `init` wrote in place (large form), or removes a stale
/// one that `--force` replaces with the TOML form.
fn publish_listing(
    dir: &Path,
    temp: Option<tempfile::NamedTempFile>,
    force: bool,
) -> Result<(), ReleaseError> {
    let path = dir.join(crate::LISTING_FILE);
    let write_error = |reason: String| ReleaseError::Write {
        file: path.clone(),
        reason,
    };
    match temp {
        Some(temp) => {
            temp.as_file()
                .sync_all()
                .map_err(|e| write_error(e.to_string()))?;
            temp.persist(&path)
                .map_err(|e| write_error(e.error.to_string()))?;
        }
        None if std::fs::symlink_metadata(&path).is_ok() => {
            if !force {
                return Err(write_error(
                    "a listing from an earlier large-form manifest is in the way; remove it or pass --force".into(),
                ));
            }
            std::fs::remove_file(&path).map_err(|e| write_error(e.to_string()))?;
        }
        None => {}
    }
    Ok(())
}

/// `update` of the large form: the listing as it stands (hand-edited roles
/// included; its pin is rewritten anyway) merged with a fresh sealing of the
/// directory, both in listing order.
fn update_listing(
    dir: &Path,
    manifest: &Manifest,
    text: &str,
    jobs: usize,
    progress: &dyn Progress,
) -> Result<UpdateOutcome, ReleaseError> {
    let listing_path = dir.join(crate::LISTING_FILE);
    let write_error = |e: &dyn std::fmt::Display| ReleaseError::Write {
        file: listing_path.clone(),
        reason: e.to_string(),
    };
    let old_file = std::fs::File::open(&listing_path).map_err(|e| SourceError::Unreadable {
        file: listing_path.clone(),
        reason: format!("{e} (the manifest pins a listing: restore it, or start over with `modelseal init --force`)"),
    })?;
    let shard_size = manifest.hashing.shard_size;
    let mut old = crate::listing::ListingReader::new(
        std::io::BufReader::with_capacity(256 << 10, old_file),
        &listing_path,
        shard_size,
        crate::listing::MAX_LISTING_BYTES,
        false,
    );
    old.read_header()?;
    let (temp, mut writer) = listing_writer(dir).map_err(|e| write_error(&e))?;
    let mut outcome = UpdateOutcome::default();
    let mut pending = old.next_entry()?;
    seal_files(
        dir,
        &manifest.ignore,
        shard_size,
        jobs,
        progress,
        SealExtras {
            temp: Some(&temp),
            content: None,
        },
        &mut |mut file| {
            while let Some(gone) = pending.take_if(|o| {
                crate::listing::listing_order(&o.path, &file.path) == std::cmp::Ordering::Less
            }) {
                note(&mut outcome.removed, &mut outcome.counts.removed, gone.path);
                pending = old.next_entry().map_err(|e| e.to_string())?;
            }
            match pending.take_if(|o| o.path == file.path) {
                Some(before) => {
                    file.role = before.role;
                    let same = before.size == file.size
                        && before.sha256 == file.sha256
                        && before.shards == file.shards;
                    if same {
                        outcome.unchanged += 1;
                    } else {
                        note(
                            &mut outcome.changed,
                            &mut outcome.counts.changed,
                            file.path.clone(),
                        );
                    }
                    pending = old.next_entry().map_err(|e| e.to_string())?;
                }
                None => {
                    file.role = guess_role(&file.path, manifest.kind);
                    note(
                        &mut outcome.added,
                        &mut outcome.counts.added,
                        file.path.clone(),
                    );
                }
            }
            writer.push(&file).map_err(|e| e.to_string())
        },
    )?;
    while let Some(gone) = pending.take() {
        note(&mut outcome.removed, &mut outcome.counts.removed, gone.path);
        pending = old.next_entry()?;
    }
    let counts = outcome.counts;
    if counts.added + counts.changed + counts.removed == 0 {
        return Ok(outcome);
    }
    let (pin, out) = writer.finish().map_err(|e| write_error(&e))?;
    drop(out);
    let new_text = repin(dir, text, &pin)?;
    publish_listing(dir, Some(temp), true)?;
    write(&dir.join(MANIFEST_FILE), new_text.as_bytes())?;
    outcome.written = true;
    Ok(outcome)
}

/// Names a changed file, up to [`MAX_NAMED`] a list, and counts it.
fn note(names: &mut Vec<String>, count: &mut usize, path: String) {
    *count += 1;
    if names.len() < MAX_NAMED {
        names.push(path);
    }
}

/// The manifest text with its `[listing]` pin (and `created`) rewritten,
/// every other line and comment kept; checked to parse back.
fn repin(dir: &Path, text: &str, pin: &crate::listing::ListingRef) -> Result<String, ReleaseError> {
    let manifest_path = dir.join(MANIFEST_FILE);
    let mut doc = crate::source::parse_document(&manifest_path, text)?;
    let table = doc
        .get_mut("listing")
        .and_then(|item| item.as_table_mut())
        .ok_or_else(|| {
            SourceError::at(
                &manifest_path,
                text,
                0,
                "`listing` must be a table ([listing])",
            )
        })?;
    let int = |n: u64| toml_edit::Value::from(i64::try_from(n).unwrap_or(i64::MAX));
    set_value(table, "sha256", toml_edit::Value::from(pin.sha256.to_hex()));
    set_value(table, "size", int(pin.size));
    set_value(table, "files", int(pin.files));
    set_value(table, "bytes", int(pin.bytes));
    if doc.get("created").is_some() {
        let now = crate::timestamp::Timestamp::now().to_toml();
        set_value(doc.as_table_mut(), "created", toml_edit::Value::from(now));
    }
    let new_text = doc.to_string();
    Manifest::parse(&manifest_path, new_text.as_bytes())?;
    Ok(new_text)
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), ReleaseError> {
    crate::atomic::replace_file(path, bytes).map_err(|e| ReleaseError::Write {
        file: path.to_path_buf(),
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_guessed_from_names() {
        let cases = [
            ("model.safetensors", Role::Weights),
            ("sub/pytorch_model.bin", Role::Weights),
            ("training_args.bin", Role::Config),
            ("config.json", Role::Config),
            ("tokenizer.json", Role::Tokenizer),
            ("vocab.txt", Role::Tokenizer),
            ("README.md", Role::Docs),
            ("LICENSE", Role::Docs),
            ("data/train.jsonl", Role::Data),
            ("train.py", Role::Code),
            ("weird.xyz", Role::Other),
        ];
        for (path, role) in cases {
            assert_eq!(guess_role(path, Kind::Model), role, "{path}");
        }
        assert_eq!(guess_role("part-0.json", Kind::Dataset), Role::Data);
    }
}
