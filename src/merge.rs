//! Joining the slices of a partitioned verification into one report.
//!
//! Each slice (`verify --partition I/N --format json`) hashed its share of
//! the files and checked the signatures; the first slice also checked the
//! lineage. The merged report has the verdict, problems, totals and
//! signature results that one run over the whole directory would have. A
//! set that is not exactly slices 0 to N-1 of one verification (same
//! manifest digest, N, level and policy) is refused, never merged.

use crate::intact::shard_mismatch;
use crate::listing::LISTING_FILE;
use crate::problem::{Problem, ProblemKind, ShardMismatch};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Largest slice report read, in bytes.
pub const MAX_PART_BYTES: u64 = 1 << 30;

/// Why a set of slices cannot be merged.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    /// A slice report could not be read.
    #[error(transparent)]
    Read(#[from] crate::source::SourceError),
    /// A file is not a JSON report of one slice.
    #[error("{}: {why}", file.display())]
    NotASlice {
        /// The file.
        file: PathBuf,
        /// What is wrong with it.
        why: String,
    },
    /// A slice ended in an error instead of a report.
    #[error("{}: slice {index} stopped with an error, so there is nothing to merge: {error}", file.display())]
    FailedSlice {
        /// The file.
        file: PathBuf,
        /// The slice, where the report says.
        index: String,
        /// The slice's error.
        error: String,
    },
    /// Two slices are of different verifications.
    #[error(
        "{}: its {what} is {found}, but {} has {expected}: these slices are not of one verification",
        file.display(),
        first.display()
    )]
    Mismatch {
        /// The slice that differs.
        file: PathBuf,
        /// The first slice, compared against.
        first: PathBuf,
        /// What differs.
        what: &'static str,
        /// The first slice's value.
        expected: String,
        /// This slice's value.
        found: String,
    },
    /// A slice is given twice.
    #[error("slice {index} is given twice: {} and {}", first.display(), second.display())]
    Duplicate {
        /// The slice.
        index: u32,
        /// Its first file.
        first: PathBuf,
        /// Its second file.
        second: PathBuf,
    },
    /// Slices are missing.
    #[error("slices {} of {count} are missing: merge needs every slice from 0 to {}", list(.missing), count - 1)]
    Missing {
        /// The missing slices.
        missing: Vec<u32>,
        /// How many there are.
        count: u32,
    },
    /// No slice was given.
    #[error("no slice reports were given")]
    Empty,
}

fn list(items: &[u32]) -> String {
    let shown: Vec<String> = items.iter().take(20).map(u32::to_string).collect();
    let more = items.len().saturating_sub(20);
    if more > 0 {
        format!("{} and {more} more", shown.join(", "))
    } else {
        shown.join(", ")
    }
}

/// One slice report, read.
pub struct Part {
    /// Where it was read from, for messages.
    pub file: PathBuf,
    /// The report.
    pub report: Value,
}

impl Part {
    /// Reads the slice report in `file`.
    pub fn load(file: &Path) -> Result<Part, MergeError> {
        let bytes = crate::source::read_bounded(file, MAX_PART_BYTES, true)?;
        let report = serde_json::from_slice(&bytes).map_err(|e| MergeError::NotASlice {
            file: file.to_path_buf(),
            why: format!("not JSON: {e}"),
        })?;
        Ok(Part {
            file: file.to_path_buf(),
            report,
        })
    }

    fn not_a_slice(&self, why: impl Into<String>) -> MergeError {
        MergeError::NotASlice {
            file: self.file.clone(),
            why: why.into(),
        }
    }

    fn partition(&self) -> Result<(u32, u32), MergeError> {
        if let Some(error) = self.report.get("error").and_then(Value::as_str) {
            return Err(MergeError::FailedSlice {
                file: self.file.clone(),
                index: shown(self.report.pointer("/partition/index")),
                error: crate::escape::field(error).into_owned(),
            });
        }
        let field = |name: &str| {
            self.report
                .pointer(&format!("/partition/{name}"))
                .and_then(Value::as_u64)
                .and_then(|n| u32::try_from(n).ok())
                .ok_or_else(|| {
                    self.not_a_slice(format!(
                        "no partition.{name}: not the report of `verify --partition I/N --format json`"
                    ))
                })
        };
        let (index, count) = (field("index")?, field("count")?);
        if count == 0 || index >= count {
            return Err(self.not_a_slice(format!("partition {index}/{count} does not exist")));
        }
        self.check_shape()?;
        Ok((index, count))
    }
}

impl Part {
    /// The digests are digests and the levels are levels: what the merged
    /// report repeats from a slice is never free text from its author.
    fn check_shape(&self) -> Result<(), MergeError> {
        for name in ["manifest_sha256", "policy_sha256"] {
            let value = self.report.pointer(&format!("/partition/{name}"));
            if value
                .and_then(Value::as_str)
                .and_then(|s| s.parse::<crate::digest::Sha256Digest>().ok())
                .is_none()
            {
                return Err(self.not_a_slice(format!(
                    "partition.{name} is not a SHA-256 digest (64 lowercase hex digits)"
                )));
            }
        }
        let level = |name: &str| self.report.pointer(&format!("/level/{name}"));
        let is_level = |v: &Value| v.as_u64().is_some_and(|n| n <= 3);
        if !level("required").is_some_and(is_level) {
            return Err(self.not_a_slice("level.required is not a level from 0 to 3"));
        }
        if !level("reached").is_some_and(|v| v.is_null() || is_level(v)) {
            return Err(self.not_a_slice("level.reached is neither null nor a level from 0 to 3"));
        }
        Ok(())
    }
}

/// A JSON value from a slice, made safe and short enough for a message.
fn shown(value: Option<&Value>) -> String {
    let text = value.map_or("nothing".into(), Value::to_string);
    let short: String = text.chars().take(200).collect();
    crate::escape::field(&short).into_owned()
}

/// What every slice of one verification shares.
const SHARED: [(&str, &str); 6] = [
    ("/partition/count", "slice count"),
    ("/partition/manifest_sha256", "manifest sha256"),
    ("/partition/policy_sha256", "policy sha256"),
    ("/model", "model"),
    ("/level/required", "required level"),
    ("/signatures", "signature results"),
];

/// Merges the slices into one report (the JSON of a single run, with
/// `merged` in place of `partition`).
pub fn merge(mut parts: Vec<Part>) -> Result<Value, MergeError> {
    let first = parts.first().ok_or(MergeError::Empty)?;
    let (_, count) = first.partition()?;
    let mut by_index: HashMap<u32, usize> = HashMap::new();
    for (at, part) in parts.iter().enumerate() {
        let (index, _) = part.partition()?;
        for (pointer, what) in SHARED {
            let expected = first.report.pointer(pointer);
            let found = part.report.pointer(pointer);
            if expected != found {
                return Err(MergeError::Mismatch {
                    file: part.file.clone(),
                    first: first.file.clone(),
                    what,
                    expected: shown(expected),
                    found: shown(found),
                });
            }
        }
        if let Some(before) = by_index.insert(index, at) {
            return Err(MergeError::Duplicate {
                index,
                first: parts[before].file.clone(),
                second: part.file.clone(),
            });
        }
    }
    let missing: Vec<u32> = (0..count).filter(|i| !by_index.contains_key(i)).collect();
    if !missing.is_empty() {
        return Err(MergeError::Missing { missing, count });
    }
    parts.sort_by_key(|p| p.partition().map(|(i, _)| i).unwrap_or(u32::MAX));
    let problems = merged_problems(&parts)?;
    let files = summed_files(&parts);
    let reached = if parts.iter().any(|p| {
        p.report
            .pointer("/level/reached")
            .is_none_or(Value::is_null)
    }) {
        Value::Null
    } else {
        parts[0]
            .report
            .pointer("/level/reached")
            .cloned()
            .unwrap_or(Value::Null)
    };
    let required = parts[0]
        .report
        .pointer("/level/required")
        .and_then(Value::as_u64)
        .unwrap_or(u64::MAX);
    let ok = problems.is_empty() && reached.as_u64().is_some_and(|r| r >= required);
    let mut merged = match parts.swap_remove(0).report {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    let partition = merged.remove("partition");
    merged.insert("ok".into(), Value::Bool(ok));
    if let Some(level) = merged.get_mut("level").and_then(Value::as_object_mut) {
        level.insert("reached".into(), reached);
    }
    merged.insert("files".into(), files);
    merged.insert(
        "problems".into(),
        serde_json::to_value(&problems).unwrap_or(Value::Null),
    );
    let mut note = Map::new();
    note.insert("slices".into(), Value::from(count));
    for key in ["manifest_sha256", "policy_sha256"] {
        if let Some(v) = partition.as_ref().and_then(|p| p.get(key)) {
            note.insert(key.into(), v.clone());
        }
    }
    merged.insert("merged".into(), Value::Object(note));
    Ok(Value::Object(merged))
}

/// The totals of every slice, added up.
fn summed_files(parts: &[Part]) -> Value {
    let mut sums: Map<String, Value> = Map::new();
    for part in parts {
        let Some(files) = part.report.get("files").and_then(Value::as_object) else {
            continue;
        };
        for (key, value) in files {
            let add = value.as_u64().unwrap_or(0);
            let sum = sums.get(key).and_then(Value::as_u64).unwrap_or(0);
            sums.insert(key.clone(), Value::from(sum.saturating_add(add)));
        }
    }
    Value::Object(sums)
}

/// Level 0 problems from every slice, in a single run's order, the shards
/// of one file joined into one problem; the other levels' problems from the
/// first slice, which checked them.
fn merged_problems(parts: &[Part]) -> Result<Vec<Problem>, MergeError> {
    let mut files: Vec<Problem> = Vec::new();
    let mut others: Vec<Problem> = Vec::new();
    let mut sharded: HashMap<String, ShardMismatch> = HashMap::new();
    for (at, part) in parts.iter().enumerate() {
        let list = part
            .report
            .get("problems")
            .and_then(Value::as_array)
            .ok_or_else(|| part.not_a_slice("no problems array"))?;
        for value in list {
            let problem = problem_of(part, value)?;
            if problem.kind.level() > 0 {
                if at == 0 {
                    others.push(problem);
                }
                continue;
            }
            match &problem.shards {
                Some(shards) if problem.kind == ProblemKind::HashMismatch => {
                    let entry =
                        sharded
                            .entry(problem.path.clone())
                            .or_insert_with(|| ShardMismatch {
                                bad: Vec::new(),
                                ..shards.clone()
                            });
                    entry.bad.extend(&shards.bad);
                }
                _ => files.push(problem),
            }
        }
    }
    for (path, shards) in sharded {
        files.push(shard_mismatch(
            &path,
            shards.bad,
            shards.count,
            shards.shard_size,
        ));
    }
    files.sort_by(|a, b| a.path.cmp(&b.path).then(a.kind.cmp(&b.kind)));
    // What every slice sees alike (the listing itself, a fault in two
    // shards of one file) is one problem, as in a single run.
    files.dedup_by(|b, a| {
        a.kind == b.kind
            && a.path == b.path
            && (a.path == LISTING_FILE
                || matches!(
                    a.kind,
                    ProblemKind::ChangedDuringRead | ProblemKind::UnreadableFile
                ))
    });
    files.extend(others);
    Ok(files)
}

fn problem_of(part: &Part, value: &Value) -> Result<Problem, MergeError> {
    let text = |key: &str| value.get(key).and_then(Value::as_str);
    let (Some(kind), Some(path), Some(message)) = (text("kind"), text("path"), text("message"))
    else {
        return Err(part.not_a_slice("a problem without kind, path and message"));
    };
    let kind = ProblemKind::from_name(kind).ok_or_else(|| {
        part.not_a_slice(format!(
            "unknown problem kind '{}'",
            crate::escape::field(kind)
        ))
    })?;
    let mut problem = Problem::new(kind, path, message);
    if let Some(shards) = value.get("shards") {
        problem.shards = Some(
            serde_json::from_value(shards.clone())
                .map_err(|e| part.not_a_slice(format!("problem shards: {e}")))?,
        );
    }
    Ok(problem)
}

/// The merged report for people.
pub fn to_text(merged: &Value) -> String {
    let get = |p: &str| merged.pointer(p);
    let text = |p: &str| {
        let value = get(p).and_then(Value::as_str).unwrap_or("?");
        crate::escape::field(value).into_owned()
    };
    let number = |p: &str| get(p).and_then(Value::as_u64).unwrap_or(0);
    let mut out = format!(
        "merged {} slices of {} {} (manifest sha256 {})\n",
        number("/merged/slices"),
        text("/model/name"),
        text("/model/version"),
        text("/merged/manifest_sha256"),
    );
    out.push_str(&format!(
        "files: {} checked, {} bytes\n",
        number("/files/checked"),
        number("/files/bytes")
    ));
    let problems = get("/problems").and_then(Value::as_array);
    for p in problems.into_iter().flatten() {
        let field = |k: &str| p.get(k).and_then(Value::as_str).unwrap_or("");
        out.push_str(&format!(
            "  {} {}: {}\n",
            crate::escape::field(field("kind")),
            crate::escape::field(field("path")),
            crate::escape::field(field("message"))
        ));
    }
    let required = number("/level/required");
    let reached = get("/level/reached").and_then(Value::as_u64);
    let level = crate::report::level_name(required as u8);
    if get("/ok").and_then(Value::as_bool) == Some(true) {
        out.push_str(&format!("verified: level {level} holds\n"));
    } else {
        let reached = reached.map_or("none".to_string(), |r| crate::report::level_name(r as u8));
        out.push_str(&format!(
            "FAILED: level {level} does not hold (reached: {reached})\n"
        ));
    }
    out
}
