//! `modelseal inspect PATH...`: inspecting files and directories as found,
//! with no manifest. Directories are walked as `verify` walks a model
//! (links never followed, special files never opened).

use super::{FileSource, Format, Inspection};
use crate::model_dir::ModelDir;
use crate::walk::{self, EntryKind, WalkError};
use std::path::{Path, PathBuf};

/// What became of one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Inspected, and nothing unsafe found.
    Ok,
    /// Inspected, and a problem found: loading it may be unsafe.
    Unsafe,
    /// Not inspected: a format not inspected here, a link, a special file,
    /// or a file that could not be read. Never a pass, never a failure.
    Uninspected,
}

/// One file inspected (or not), by path.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FileInspection {
    /// The path as given, or under a directory given, `/`-separated.
    pub path: String,
    /// The verdict.
    pub verdict: Verdict,
    /// What was found; `format` is `None` when the file was not read.
    #[serde(flatten)]
    pub inspection: Inspection,
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
}

/// Inspects every file under a model directory (links not followed) and
/// returns what is unsafe to load, by path relative to `dir`.
pub fn unsafe_content(dir: &Path) -> Result<Vec<ContentFinding>, WalkError> {
    let mut found = Vec::new();
    inspect_dir(dir, "", &mut found)?;
    Ok(found
        .into_iter()
        .filter(|f| f.verdict == Verdict::Unsafe)
        .flat_map(|f| {
            let path = f.path.trim_start_matches('/').to_string();
            f.inspection
                .problems
                .into_iter()
                .map(move |p| ContentFinding {
                    kind: p.kind,
                    path: path.clone(),
                    message: p.message,
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
/// it, in path order. A link given is not followed.
pub fn inspect_paths(paths: &[PathBuf]) -> Result<Vec<FileInspection>, InspectError> {
    let mut out = Vec::new();
    for path in paths {
        let meta = std::fs::symlink_metadata(path).map_err(|e| InspectError::Missing {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        let shown = path.to_string_lossy().into_owned();
        if meta.is_dir() {
            inspect_dir(path, &shown, &mut out)?;
        } else if meta.is_file() {
            out.push(inspect_one(path, shown));
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

fn inspect_dir(dir: &Path, shown: &str, out: &mut Vec<FileInspection>) -> Result<(), WalkError> {
    let model = ModelDir::new(dir);
    let listing = walk::list_except(&model, &[])?;
    let prefix = shown.trim_end_matches('/');
    for entry in listing.entries {
        let path = format!("{prefix}/{}", entry.path);
        let item = match (&entry.kind, &entry.unsafe_reason) {
            (_, Some(reason)) => uninspected(path, format!("an unsafe path: {reason}")),
            (EntryKind::File(_), None) => {
                let read_from = entry.blob.clone().unwrap_or_else(|| dir.join(&entry.path));
                inspect_one(&read_from, path)
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
/// blocking on a FIFO swapped in).
fn inspect_one(read_from: &Path, path: String) -> FileInspection {
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
    match super::inspect(&source) {
        Ok(inspection) => judged(path, inspection),
        Err(e) => uninspected(path, format!("cannot be read: {e}")),
    }
}

fn judged(path: String, inspection: Inspection) -> FileInspection {
    let (verdict, note) = if !inspection.problems.is_empty() {
        (Verdict::Unsafe, None)
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
        inspection,
        note,
    }
}

fn uninspected(path: String, why: String) -> FileInspection {
    FileInspection {
        path,
        verdict: Verdict::Uninspected,
        inspection: Inspection::default(),
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
    /// Inspected, a problem found.
    #[serde(rename = "unsafe")]
    pub unsafe_: usize,
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
            .inspection
            .format
            .filter(|f| *f != Format::Unknown)
            .map(format_name)
            .unwrap_or("unknown format");
        let verdict = match file.verdict {
            Verdict::Ok => "ok",
            Verdict::Unsafe => "UNSAFE",
            Verdict::Uninspected => "not inspected",
        };
        let _ = write!(out, "{}: {format}, {verdict}", field(&file.path));
        if let Some(note) = &file.note {
            let _ = write!(out, " ({})", field(note));
        }
        out.push('\n');
        for problem in &file.inspection.problems {
            let kind = serde_json::to_value(problem.kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            let _ = writeln!(out, "  {kind}: {}", field(&problem.message));
        }
    }
    let c = counts(files);
    let _ = writeln!(
        out,
        "{} files: {} unsafe, {} ok, {} not inspected",
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
