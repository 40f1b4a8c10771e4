//! `modelseal inspect PATH...`: inspecting files and directories as found,
//! with no manifest. Directories are walked as `verify` walks a model
//! (links never followed, special files never opened).

use super::policy::{Action, ContentPolicy};
use super::{FileSource, Format, Inspection};
use crate::digest::Sha256Digest;
use crate::model_dir::ModelDir;
use crate::walk::{self, EntryKind, WalkError};
use std::path::{Path, PathBuf};

/// What became of one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Inspected, and nothing unsafe found.
    Ok,
    /// Inspected, and a problem found that the policy fails: loading it may
    /// be unsafe.
    Unsafe,
    /// Inspected, and problems found that the policy only warns about or
    /// allows (a reviewed file): reported, failing nothing.
    Warn,
    /// Not inspected: a format not inspected here, a link, a special file,
    /// or a file that could not be read. Never a pass, never a failure.
    Uninspected,
}

/// One problem found in a file, with what the policy makes of it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct JudgedProblem {
    /// The problem kind (`unsafe_pickle`, ...).
    pub kind: super::ContentProblemKind,
    /// What was found.
    pub message: String,
    /// Whether it fails, warns, or is allowed.
    pub action: Action,
    /// The allowance's reason, when one allowed it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_by: Option<String>,
}

/// One file inspected (or not), by path.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FileInspection {
    /// The path as given, or under a directory given, `/`-separated.
    pub path: String,
    /// The verdict.
    pub verdict: Verdict,
    /// The format its bytes show; `None` when the file was not read.
    pub format: Option<Format>,
    /// Every problem found, in the order found, judged by the policy.
    pub problems: Vec<JudgedProblem>,
    /// Every import a pickle makes (`module.name`), allowed or not, sorted, deduplicated.
    pub imports: Vec<String>,
    /// Other files loading this one opens (ONNX external data), as written in the file.
    pub references: Vec<String>,
    /// The SHA-256 of the bytes inspected, for a file with problems: what a
    /// `[[content.allow]]` pins once the file is reviewed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<Sha256Digest>,
    /// Why it was not inspected, for [`Verdict::Uninspected`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// One problem content inspection found in a verified model, for the
/// report of `verify --inspect`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ContentFinding {
    /// The problem kind (`unsafe_pickle`, ...).
    pub kind: super::ContentProblemKind,
    /// The file, relative to the model directory.
    pub path: String,
    /// What was found.
    pub message: String,
    /// Whether it fails the report, only warns, or is allowed.
    pub action: Action,
    /// The allowance's reason, when one allowed it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_by: Option<String>,
}

/// Inspects every file under a model directory (links not followed) and
/// returns every problem found, by path relative to `dir`, judged by `policy`.
pub fn content_findings(
    dir: &Path,
    policy: &ContentPolicy,
) -> Result<Vec<ContentFinding>, WalkError> {
    let mut found = Vec::new();
    inspect_dir(dir, "", policy, &mut found)?;
    Ok(found
        .into_iter()
        .flat_map(|f| {
            let path = f.path.trim_start_matches('/').to_string();
            f.problems.into_iter().map(move |p| ContentFinding {
                kind: p.kind,
                path: path.clone(),
                message: p.message,
                action: p.action,
                allowed_by: p.allowed_by,
            })
        })
        .collect())
}

/// Why `inspect` could not run at all (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum InspectError {
    /// A path given does not exist (or cannot be examined).
    #[error("{}: {reason}", path.display())]
    Missing {
        /// The path given.
        path: PathBuf,
        /// What `lstat` said.
        reason: String,
    },
    /// A directory given could not be walked.
    #[error(transparent)]
    Walk(#[from] WalkError),
}

/// Inspects every path given: a file as it is, a directory by every file in
/// it, in path order, judging what is found by `policy`. A link given is not
/// followed. A file's path, for the policy's allowances, is as given.
pub fn inspect_paths(
    paths: &[PathBuf],
    policy: &ContentPolicy,
) -> Result<Vec<FileInspection>, InspectError> {
    let mut out = Vec::new();
    for path in paths {
        let meta = std::fs::symlink_metadata(path).map_err(|e| InspectError::Missing {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        let shown = path.to_string_lossy().into_owned();
        if meta.is_dir() {
            inspect_dir(path, &shown, policy, &mut out)?;
        } else if meta.is_file() {
            out.push(inspect_one(path, shown.clone(), &shown, policy));
        } else {
            let what = if meta.file_type().is_symlink() {
                "a symbolic link, not followed"
            } else {
                "not a regular file"
            };
            out.push(uninspected(shown, what.to_string()));
        }
    }
    Ok(out)
}

fn inspect_dir(
    dir: &Path,
    shown: &str,
    policy: &ContentPolicy,
    out: &mut Vec<FileInspection>,
) -> Result<(), WalkError> {
    let model = ModelDir::new(dir);
    let listing = walk::list_except(&model, &[])?;
    let prefix = shown.trim_end_matches('/');
    for entry in listing.entries {
        let path = format!("{prefix}/{}", entry.path);
        let item = match (&entry.kind, &entry.unsafe_reason) {
            (_, Some(reason)) => uninspected(path, format!("an unsafe path: {reason}")),
            (EntryKind::File(_), None) => {
                let read_from = entry.blob.clone().unwrap_or_else(|| dir.join(&entry.path));
                inspect_one(&read_from, path, &entry.path, policy)
            }
            (EntryKind::Symlink, None) => uninspected(path, "a symbolic link, not followed".into()),
            (EntryKind::Special(what), None) => {
                uninspected(path, format!("a {what}, never opened"))
            }
        };
        out.push(item);
    }
    for problem in listing.problems {
        out.push(uninspected(
            format!("{prefix}/{}", problem.path),
            problem.message,
        ));
    }
    Ok(())
}

/// Opens and inspects one regular file (never following a link, never
/// blocking on a FIFO swapped in). `relative` is its path for the policy's
/// allowances: relative to the directory given, or as given.
fn inspect_one(
    read_from: &Path,
    path: String,
    relative: &str,
    policy: &ContentPolicy,
) -> FileInspection {
    let opened = crate::stamp::open_no_follow(read_from)
        .and_then(|file| crate::stamp::stamp_of_open(&file).map(|stamp| (file, stamp)));
    let (file, stamp) = match opened {
        Ok(pair) => pair,
        Err(fault) => return uninspected(path, fault.to_string()),
    };
    let source = FileSource {
        file: &file,
        len: stamp.size,
    };
    let inspection = match super::inspect(&source) {
        Ok(inspection) => inspection,
        Err(e) => return uninspected(path, format!("cannot be read: {e}")),
    };
    // Only a file with problems is hashed: its digest is what an allowance
    // pins. A file that cannot be read again, or that changed since it was
    // opened, has no digest, so no allowance matches and its problems stand.
    let sha256 = if inspection.problems.is_empty() {
        None
    } else {
        let mut buf = vec![0u8; crate::hashing::READ_SIZE];
        let progress = crate::hashing::NoProgress;
        crate::hashing::hash_copying(&file, (0, stamp.size), &mut buf, &progress, None)
            .ok()
            .filter(|_| crate::stamp::stamp_of_open(&file).is_ok_and(|now| now == stamp))
    };
    judged(path, relative, inspection, sha256, policy)
}

fn judged(
    path: String,
    relative: &str,
    inspection: Inspection,
    sha256: Option<Sha256Digest>,
    policy: &ContentPolicy,
) -> FileInspection {
    let policy_path = relative;
    let problems: Vec<JudgedProblem> = inspection
        .problems
        .into_iter()
        .map(|p| {
            let (action, allowed_by) = policy.judge(p.kind, policy_path, sha256.as_ref());
            JudgedProblem {
                kind: p.kind,
                message: p.message,
                action,
                allowed_by: allowed_by.map(str::to_string),
            }
        })
        .collect();
    let (verdict, note) = if problems.iter().any(|p| p.action == Action::Fail) {
        (Verdict::Unsafe, None)
    } else if !problems.is_empty() {
        (Verdict::Warn, None)
    } else if let Some(why) = inspection.not_inspected {
        (Verdict::Uninspected, Some(why.to_string()))
    } else {
        match inspection.format {
            Some(Format::Unknown) | None => (
                Verdict::Uninspected,
                Some("no format inspected here was recognised in its bytes".to_string()),
            ),
            Some(Format::Zip) => (
                Verdict::Uninspected,
                Some("a zip archive of no model format inspected here".to_string()),
            ),
            Some(_) => (Verdict::Ok, None),
        }
    };
    FileInspection {
        path,
        verdict,
        format: inspection.format,
        problems,
        imports: inspection.imports,
        references: inspection.references,
        sha256,
        note,
    }
}

fn uninspected(path: String, why: String) -> FileInspection {
    FileInspection {
        path,
        verdict: Verdict::Uninspected,
        format: None,
        problems: Vec::new(),
        imports: Vec::new(),
        references: Vec::new(),
        sha256: None,
        note: Some(why),
    }
}

/// How many files had each verdict.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counts {
    /// Files looked at.
    pub files: usize,
    /// Inspected, nothing found.
    pub ok: usize,
    /// Inspected, a problem found that fails.
    #[serde(rename = "unsafe")]
    pub unsafe_: usize,
    /// Inspected, problems found that only warn or are allowed.
    pub warn: usize,
    /// Not inspected.
    pub uninspected: usize,
}

/// Counts the verdicts of `files`.
pub fn counts(files: &[FileInspection]) -> Counts {
    let mut counts = Counts {
        files: files.len(),
        ..Counts::default()
    };
    for file in files {
        match file.verdict {
            Verdict::Ok => counts.ok += 1,
            Verdict::Unsafe => counts.unsafe_ += 1,
            Verdict::Warn => counts.warn += 1,
            Verdict::Uninspected => counts.uninspected += 1,
        }
    }
    counts
}

/// The JSON report of `modelseal inspect --format json`: one object, `ok`
/// false when any file is unsafe (SPEC section 18).
pub fn to_json(files: &[FileInspection]) -> String {
    let counts = counts(files);
    serde_json::json!({
        "ok": counts.unsafe_ == 0,
        "counts": counts,
        "files": files,
    })
    .to_string()
}

/// The text report: one line a file, its problems under it, then the counts.
/// Every name and message from a file is escaped (crate::escape).
pub fn to_text(files: &[FileInspection]) -> String {
    use crate::escape::field;
    use std::fmt::Write as _;
    let mut out = String::new();
    for file in files {
        let format = file
            .format
            .filter(|f| *f != Format::Unknown)
            .map(format_name)
            .unwrap_or("unknown format");
        let verdict = match file.verdict {
            Verdict::Ok => "ok",
            Verdict::Unsafe => "UNSAFE",
            Verdict::Warn => "warnings only",
            Verdict::Uninspected => "not inspected",
        };
        let _ = write!(out, "{}: {format}, {verdict}", field(&file.path));
        if let Some(note) = &file.note {
            let _ = write!(out, " ({})", field(note));
        }
        if let Some(sha256) = &file.sha256 {
            let _ = write!(out, " sha256:{sha256}");
        }
        out.push('\n');
        for problem in &file.problems {
            let kind = problem.kind.as_str().to_string();
            let action = match (problem.action, &problem.allowed_by) {
                (Action::Fail, _) => String::new(),
                (Action::Warn, _) => " (warning only, by policy)".to_string(),
                (Action::Allowed, Some(why)) => format!(" (allowed: {})", field(why)),
                (Action::Allowed, None) => " (allowed)".to_string(),
            };
            let _ = writeln!(out, "  {kind}: {}{action}", field(&problem.message));
        }
    }
    let c = counts(files);
    let warned = if c.warn > 0 {
        format!(" {} with warnings only,", c.warn)
    } else {
        String::new()
    };
    let _ = writeln!(
        out,
        "{} files: {} unsafe,{warned} {} ok, {} not inspected",
        c.files, c.unsafe_, c.ok, c.uninspected
    );
    out
}

fn format_name(format: Format) -> &'static str {
    match format {
        Format::Pickle => "pickle",
        Format::TorchZip => "PyTorch zip",
        Format::Numpy => "numpy .npy",
        Format::NumpyZip => "numpy .npz",
        Format::Keras => "Keras",
        Format::Hdf5 => "HDF5",
        Format::Safetensors => "safetensors",
        Format::Gguf => "GGUF",
        Format::Onnx => "ONNX",
        Format::Zip => "zip",
        Format::Unknown => "unknown format",
    }
}
