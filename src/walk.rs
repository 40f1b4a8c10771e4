//! Directory listing.
//!
//! The walk never follows a symbolic link and never opens anything: it only
//! lists names with `lstat` metadata, so a FIFO, a device node or a link to
//! `/etc/shadow` is reported by kind and left alone.

use crate::model_dir::ModelDir;
use crate::paths::{UnsafePathReason, check_path};
use crate::problem::{Problem, ProblemKind};
use crate::stamp::FileStamp;
use crate::{BUNDLE_FILE, MANIFEST_FILE, SIGNATURE_FILE};
use ignore::gitignore::{Gitignore, GitignoreBuilder};
use std::path::{Path, PathBuf};

/// What a directory entry is, as `lstat` sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryKind {
    /// A regular file, with its identity at listing time.
    File(FileStamp),
    /// A symbolic link (never followed).
    Symlink,
    /// A FIFO, socket, block or character device.
    Special(&'static str),
}

/// One non-directory entry of the model directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Relative, `/`-separated path. A name that is not UTF-8 is rendered
    /// with each invalid byte as `\xNN`: the backslash makes that rendering
    /// an unsafe path, so it can never equal a path the manifest lists.
    pub path: String,
    /// What the entry is.
    pub kind: EntryKind,
    /// For a Hugging Face cache link read as a file: the blob it names.
    pub blob: Option<PathBuf>,
    /// Whether the manifest's `ignore` patterns match it.
    pub ignored: bool,
    /// Whether the name breaks the path rules, and why.
    pub unsafe_reason: Option<UnsafePathReason>,
}

/// The listing of a model directory, sorted by path.
#[derive(Debug, Default)]
pub struct Listing {
    /// Every entry except directories, `.git/`, the manifest and the signature file.
    pub entries: Vec<Entry>,
    /// Directories that could not be read.
    pub problems: Vec<Problem>,
}

/// Errors that stop a walk before it starts.
#[derive(Debug, thiserror::Error)]
pub enum WalkError {
    /// The model directory is missing or not a directory.
    #[error("{}: not a directory", .0.display())]
    NotADirectory(PathBuf),
    /// The walking thread panicked: a bug, reported rather than hidden.
    #[error("the directory walk stopped unexpectedly (a bug in modelseal; please report it)")]
    Panicked,
    /// An `ignore` pattern is not valid gitignore syntax.
    #[error("ignore pattern '{pattern}' is invalid: {reason}")]
    BadIgnorePattern {
        /// The pattern as written.
        pattern: String,
        /// Why it was rejected.
        reason: String,
    },
}

/// Compiles the manifest's gitignore-style `ignore` patterns. They match
/// paths relative to the model root, never the directory as it was spelled on
/// the command line: a matcher rooted at a relative `models/tiny` would strip
/// that prefix from `models/tiny/models/tiny/.cache/x` and let `/.cache/`
/// hide a file deep inside the model.
///
/// `model.sig`, an OMS bundle, is always among them.
pub fn ignore_matcher(patterns: &[String]) -> Result<Gitignore, WalkError> {
    // Rooted at ".", the matcher strips nothing from the relative paths it is given.
    let mut builder = GitignoreBuilder::new(".");
    // An OMS bundle need not be listed; one that is listed is still checked.
    builder
        .add_line(None, &format!("/{BUNDLE_FILE}"))
        .map_err(|e| WalkError::BadIgnorePattern {
            pattern: BUNDLE_FILE.to_string(),
            reason: e.to_string(),
        })?;
    for pattern in patterns {
        builder
            .add_line(None, pattern)
            .map_err(|e| WalkError::BadIgnorePattern {
                pattern: pattern.clone(),
                reason: e.to_string(),
            })?;
    }
    builder.build().map_err(|e| WalkError::BadIgnorePattern {
        pattern: patterns.join(", "),
        reason: e.to_string(),
    })
}

impl Listing {
    /// Flags the entries that `ignore` matches (the walk itself ignores
    /// nothing, so it can run before the manifest is parsed).
    pub fn apply_ignore(&mut self, ignore: &Gitignore) {
        if ignore.is_empty() {
            return;
        }
        for entry in &mut self.entries {
            entry.ignored = is_ignored(ignore, &entry.path);
        }
    }
}

/// Whether the `ignore` patterns match `path`, a path relative to the model
/// root. An absolute path is never ignored (the matcher would panic on it).
pub fn is_ignored(ignore: &Gitignore, path: &str) -> bool {
    let path = Path::new(path);
    !path.has_root() && ignore.matched_path_or_any_parents(path, false).is_ignore()
}

/// Lists `root` without following links: every file, link and special file,
/// flagged as unsafe where its name breaks the path rules, in path order.
/// The manifest and its signatures are left out: they list nothing of themselves.
pub fn list(model: &ModelDir) -> Result<Listing, WalkError> {
    list_except(model, &[MANIFEST_FILE, SIGNATURE_FILE])
}

/// [`list`], leaving out only the top-level names in `skipped` (and `.git/`).
pub fn list_except(model: &ModelDir, skipped: &[&str]) -> Result<Listing, WalkError> {
    let root = model.root();
    let root_meta = std::fs::metadata(root).map_err(|_| WalkError::NotADirectory(root.into()))?;
    if !root_meta.is_dir() {
        return Err(WalkError::NotADirectory(root.into()));
    }
    let hub = model.hub();
    let mut listing = Listing::default();
    let mut walker = walkdir::WalkDir::new(root)
        .follow_links(false)
        .follow_root_links(true)
        .sort_by_file_name()
        .min_depth(1)
        .into_iter();
    while let Some(next) = walker.next() {
        let entry = match next {
            Ok(entry) => entry,
            Err(err) => {
                let path = err
                    .path()
                    .map(|p| relative_escaped(root, p))
                    .unwrap_or_default();
                listing.problems.push(Problem::new(
                    ProblemKind::UnreadableFile,
                    path,
                    format!("cannot be listed: {err}"),
                ));
                continue;
            }
        };
        let file_type = entry.file_type();
        let (path, unsafe_reason) = match relative_utf8(root, entry.path()) {
            Some(rel) => {
                let reason = check_path(&rel).err();
                (rel, reason)
            }
            None => (
                relative_escaped(root, entry.path()),
                Some(UnsafePathReason::NotUtf8),
            ),
        };
        if file_type.is_dir() {
            // Only the top-level .git is skipped: a nested one is content like any other.
            if entry.depth() == 1 && entry.file_name() == ".git" {
                walker.skip_current_dir();
            }
            continue;
        }
        if entry.depth() == 1 && skipped.contains(&path.as_str()) {
            continue;
        }
        let mut blob = None;
        let kind = if file_type.is_symlink() {
            match hub.and_then(|h| h.resolve(entry.path())) {
                Some((target, meta)) => {
                    blob = Some(target);
                    EntryKind::File(FileStamp::from_metadata(&meta))
                }
                None => EntryKind::Symlink,
            }
        } else if file_type.is_file() {
            match entry.metadata() {
                Ok(meta) => EntryKind::File(FileStamp::from_metadata(&meta)),
                Err(err) => {
                    listing.problems.push(Problem::new(
                        ProblemKind::UnreadableFile,
                        path,
                        format!("cannot be examined: {err}"),
                    ));
                    continue;
                }
            }
        } else {
            EntryKind::Special(special_kind(&file_type))
        };
        listing.entries.push(Entry {
            path,
            kind,
            blob,
            ignored: false,
            unsafe_reason,
        });
    }
    listing.entries.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(listing)
}

fn relative_utf8(root: &Path, path: &Path) -> Option<String> {
    let rel = path.strip_prefix(root).ok()?;
    let mut out = String::new();
    for (i, component) in rel.components().enumerate() {
        if i > 0 {
            out.push('/');
        }
        out.push_str(component.as_os_str().to_str()?);
    }
    Some(out)
}

/// `path` relative to `root`, with every byte that is not UTF-8 written as
/// `\xNN`. Judged by its raw bytes, such a name is never a listed path.
fn relative_escaped(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    let mut out = String::new();
    for (i, component) in rel.components().enumerate() {
        if i > 0 {
            out.push('/');
        }
        escape_name(component.as_os_str(), &mut out);
    }
    out
}

#[cfg(unix)]
fn escape_name(name: &std::ffi::OsStr, out: &mut String) {
    use std::os::unix::ffi::OsStrExt;
    for chunk in name.as_bytes().utf8_chunks() {
        out.push_str(chunk.valid());
        for byte in chunk.invalid() {
            out.push_str(&format!("\\x{byte:02X}"));
        }
    }
}

#[cfg(not(unix))]
fn escape_name(name: &std::ffi::OsStr, out: &mut String) {
    out.push_str(&name.to_string_lossy().replace('\u{FFFD}', "\\xFFFD"));
}

#[cfg(unix)]
fn special_kind(file_type: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if file_type.is_fifo() {
        "FIFO"
    } else if file_type.is_socket() {
        "socket"
    } else if file_type.is_block_device() {
        "block device"
    } else if file_type.is_char_device() {
        "character device"
    } else {
        "special file"
    }
}

#[cfg(not(unix))]
fn special_kind(_: &std::fs::FileType) -> &'static str {
    "special file"
}
