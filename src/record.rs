//! Recording lineage without hand-editing TOML: `trace dataset` and
//! `trace training` insert or replace one entry of the manifest in place,
//! keeping every other line and comment, and refuse references that would
//! dangle.

use crate::MANIFEST_FILE;
use crate::digest::Sha256Digest;
use crate::manifest::{self, Commit, Manifest, Role};
use crate::problem::Problem;
use crate::source::{self, SourceError};
use crate::trace;
use std::path::{Path, PathBuf};
use toml_edit::{Array, InlineTable, Item, Table, Value};

/// Errors recording lineage.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// The manifest is unreadable or malformed.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// The entry would reference something the manifest does not hold.
    #[error("{0}")]
    Invalid(String),
    /// The manifest could not be written; the old one is intact.
    #[error("cannot write {}: {reason} (the previous manifest is unchanged)", file.display())]
    Write {
        /// The file.
        file: PathBuf,
        /// Why.
        reason: String,
    },
}

/// A `[[dataset]]` to record.
#[derive(Debug, Clone, Default)]
pub struct DatasetRecord {
    /// Unique id.
    pub id: String,
    /// Human name.
    pub name: Option<String>,
    /// Where it is published.
    pub uri: Option<String>,
    /// Its licence.
    pub license: Option<String>,
    /// Digest as published; taken from the listed manifest when one is given.
    pub sha256: Option<Sha256Digest>,
    /// Listed files (role `data`) holding it here.
    pub files: Vec<String>,
    /// Its own signed manifest here.
    pub manifest: Option<String>,
    /// Replace an existing entry with this id instead of merging into it.
    pub replace: bool,
}

/// A base model to record.
#[derive(Debug, Clone, Default)]
pub struct BaseModelRecord {
    /// Its name.
    pub name: String,
    /// Digest of its manifest; taken from the listed file when a manifest is given.
    pub sha256: Option<Sha256Digest>,
    /// Its signed manifest here.
    pub manifest: Option<String>,
}

/// A `[[training]]` to record.
#[derive(Debug, Clone, Default)]
pub struct TrainingRecord {
    /// Unique id.
    pub id: String,
    /// Weights it produced.
    pub outputs: Vec<String>,
    /// Configs it ran with.
    pub configs: Vec<String>,
    /// Dataset ids.
    pub datasets: Vec<String>,
    /// Code repository and commit.
    pub code: Option<(String, Commit)>,
    /// The model it started from.
    pub base_model: Option<BaseModelRecord>,
    /// Replace an existing entry with this id instead of merging into it.
    pub replace: bool,
}

/// What recording did to the entry with that id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordAction {
    /// There was none: the entry was added.
    Added,
    /// The new values were merged into it: list values gained the new
    /// items, other values given were set, and everything else was kept.
    Merged,
    /// It was replaced whole (`--replace`).
    Replaced,
}

/// What recording did.
#[derive(Debug, Clone)]
pub struct RecordOutcome {
    /// Added, merged or replaced.
    pub action: RecordAction,
    /// With `--replace`: what the old entry had that the new one does not
    /// (`key`, or `key: item` for list items), so nothing goes silently.
    pub dropped: Vec<String>,
    /// What still keeps level 2 from holding, as problems.
    pub remaining: Vec<Problem>,
}

/// Inserts or replaces the `[[dataset]]` with `record.id`.
pub fn record_dataset(dir: &Path, record: &DatasetRecord) -> Result<RecordOutcome, RecordError> {
    upsert(dir, "dataset", &record.id, record.replace, |current| {
        let mut problems = Vec::new();
        for path in &record.files {
            expect_role(current, path, Role::Data, "--files", &mut problems);
        }
        if let Some(path) = &record.manifest {
            expect_listed(current, path, "--manifest", &mut problems);
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        // A dataset's own listed manifest is a digest of it as published.
        let sha256 = record.sha256.or_else(|| {
            record
                .manifest
                .as_deref()
                .and_then(|p| current.file(p))
                .map(|f| f.sha256)
        });
        let mut table = Table::new();
        table.insert("id", value(&record.id));
        insert_opt(&mut table, "name", record.name.as_deref());
        insert_opt(&mut table, "uri", record.uri.as_deref());
        insert_opt(&mut table, "license", record.license.as_deref());
        if !record.files.is_empty() {
            table.insert(
                "files",
                Item::Value(Value::Array(string_array(&record.files))),
            );
        }
        if let Some(d) = sha256 {
            table.insert("sha256", value(&d.to_hex()));
        }
        insert_opt(&mut table, "manifest", record.manifest.as_deref());
        Ok(table)
    })
}

/// Inserts or replaces the `[[training]]` with `record.id`.
pub fn record_training(dir: &Path, record: &TrainingRecord) -> Result<RecordOutcome, RecordError> {
    upsert(dir, "training", &record.id, record.replace, |current| {
        let mut problems = Vec::new();
        for path in &record.outputs {
            expect_role(current, path, Role::Weights, "--outputs", &mut problems);
        }
        for path in &record.configs {
            expect_role(current, path, Role::Config, "--configs", &mut problems);
        }
        for id in &record.datasets {
            if !current.datasets.iter().any(|d| &d.id == id) {
                problems.push(format!(
                    "--datasets '{id}': no [[dataset]] has that id; record it first with `modelseal trace dataset --id {id} …`"
                ));
            }
        }
        if let Some(path) = record.base_model.as_ref().and_then(|b| b.manifest.as_ref()) {
            expect_listed(current, path, "--base-manifest", &mut problems);
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        let mut table = Table::new();
        table.insert("id", value(&record.id));
        table.insert(
            "outputs",
            Item::Value(Value::Array(string_array(&record.outputs))),
        );
        table.insert(
            "configs",
            Item::Value(Value::Array(string_array(&record.configs))),
        );
        table.insert(
            "datasets",
            Item::Value(Value::Array(string_array(&record.datasets))),
        );
        if let Some((uri, commit)) = &record.code {
            let mut code = InlineTable::new();
            code.insert("uri", uri.as_str().into());
            code.insert("commit", commit.as_str().into());
            table.insert("code", Item::Value(Value::InlineTable(code)));
        }
        if let Some(base) = &record.base_model {
            let mut inline = InlineTable::new();
            inline.insert("name", base.name.as_str().into());
            // A listed base manifest's digest is already pinned: record that one.
            let sha = base.sha256.or_else(|| {
                base.manifest
                    .as_deref()
                    .and_then(|p| current.file(p))
                    .map(|f| f.sha256)
            });
            if let Some(sha) = sha {
                inline.insert("sha256", sha.to_hex().into());
            }
            if let Some(m) = &base.manifest {
                inline.insert("manifest", m.as_str().into());
            }
            table.insert("base_model", Item::Value(Value::InlineTable(inline)));
        }
        Ok(table)
    })
}

fn expect_role(m: &Manifest, path: &str, role: Role, flag: &str, problems: &mut Vec<String>) {
    match m.file(path) {
        None => problems.push(format!(
            "{flag} '{path}': not a [[file]] of the manifest; add the file and run `modelseal update` first"
        )),
        Some(f) if f.role != role => problems.push(format!(
            "{flag} '{path}': listed with role '{}', not '{role}'; change its role in provenance.toml",
            f.role
        )),
        Some(_) => {}
    }
}

fn expect_listed(m: &Manifest, path: &str, flag: &str, problems: &mut Vec<String>) {
    if m.file(path).is_none() {
        problems.push(format!(
            "{flag} '{path}': not a [[file]] of the manifest; copy it (and its .sig) into the directory and run `modelseal update` first"
        ));
    }
}

fn value(s: &str) -> Item {
    toml_edit::value(s)
}

fn insert_opt(table: &mut Table, key: &str, v: Option<&str>) {
    if let Some(v) = v {
        table.insert(key, value(v));
    }
}

fn string_array(items: &[String]) -> Array {
    items.iter().map(String::as_str).collect()
}

/// Merges the table `entry` builds from the current manifest into the entry
/// of `section` whose id is `id` (or, with `replace`, replaces it, keeping
/// the comments above it), or appends it; `entry` refuses with the reasons a
/// reference would dangle. Writes atomically.
fn upsert(
    dir: &Path,
    section: &str,
    id: &str,
    replace: bool,
    entry: impl FnOnce(&Manifest) -> Result<Table, Vec<String>>,
) -> Result<RecordOutcome, RecordError> {
    let manifest_path = dir.join(MANIFEST_FILE);
    let bytes = source::read_bounded(&manifest_path, manifest::MAX_MANIFEST_BYTES, false)?;
    let current = Manifest::parse(&manifest_path, &bytes)?;
    let mut table = entry(&current).map_err(|problems| {
        RecordError::Invalid(format!("nothing was written:\n  {}", problems.join("\n  ")))
    })?;
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let mut doc = source::parse_document(&manifest_path, &text)?;
    if doc.get(section).is_none() {
        doc.insert(section, Item::ArrayOfTables(Default::default()));
    }
    let tables = doc
        .get_mut(section)
        .and_then(Item::as_array_of_tables_mut)
        .ok_or_else(|| {
            RecordError::Invalid(format!(
                "`{section}` must be an array of tables ([[{section}]])"
            ))
        })?;
    let mut action = RecordAction::Added;
    let mut dropped = Vec::new();
    let position = tables
        .iter()
        .position(|t| t.get("id").and_then(|v| v.as_str()) == Some(id));
    match position.and_then(|i| tables.get_mut(i)) {
        Some(existing) if replace => {
            dropped = lost_in_replacement(existing, &table);
            table.decor_mut().clone_from(existing.decor());
            *existing = table;
            action = RecordAction::Replaced;
        }
        Some(existing) => {
            merge_into(existing, table);
            action = RecordAction::Merged;
        }
        None => tables.push(table),
    }
    let new_text = doc.to_string();
    let updated = Manifest::parse(&manifest_path, new_text.as_bytes())?;
    crate::atomic::replace_file(&manifest_path, new_text.as_bytes()).map_err(|e| {
        RecordError::Write {
            file: manifest_path.clone(),
            reason: e.to_string(),
        }
    })?;
    Ok(RecordOutcome {
        action,
        dropped,
        remaining: trace::check_lineage(&updated),
    })
}

/// Sets each value of `new` in `existing`; a list value gains the new items
/// after the ones it had, so ids `init` filled in survive `trace`.
fn merge_into(existing: &mut Table, new: Table) {
    for (key, item) in new {
        let merged = match (
            existing.get_mut(&key).and_then(Item::as_array_mut),
            item.as_array(),
        ) {
            (Some(old), Some(add)) => {
                for value in add.iter() {
                    if !old.iter().any(|v| v.as_str() == value.as_str()) {
                        old.push(value.clone());
                    }
                }
                true
            }
            _ => false,
        };
        if !merged {
            existing.insert(&key, item);
        }
    }
}

/// What replacing `old` by `new` loses: keys `new` lacks, and list items
/// it does not repeat.
fn lost_in_replacement(old: &Table, new: &Table) -> Vec<String> {
    let mut lost = Vec::new();
    for (key, item) in old.iter() {
        match (item.as_array(), new.get(key)) {
            (_, None) => lost.push(key.to_string()),
            (Some(items), Some(kept)) => {
                let kept = kept.as_array();
                for value in items.iter() {
                    let still =
                        kept.is_some_and(|k| k.iter().any(|v| v.as_str() == value.as_str()));
                    if !still {
                        lost.push(format!("{key}: {}", value.as_str().unwrap_or("?")));
                    }
                }
            }
            (None, Some(_)) => {}
        }
    }
    lost
}
