//! Directory listing and the path rules.
//!
//! The walk never follows a symbolic link and never opens anything: it only
//! lists names with `lstat` metadata, so a FIFO, a device node or a link to
//! `/etc/shadow` is reported by kind and left alone.

use crate::digest::FileStamp;
use crate::problem::{Problem, ProblemKind};
use crate::{MANIFEST_FILE, SIGNATURE_FILE};
use ignore::gitignore::{Gitignore, GitignoreBuilder};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use unicode_normalization::UnicodeNormalization;

/// Why a path breaks the path rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum UnsafePathReason {
    /// The name is not valid UTF-8.
    #[error("is not valid UTF-8")]
    NotUtf8,
    /// The path is empty.
    #[error("is empty")]
    Empty,
    /// The path starts with `/`.
    #[error("is absolute")]
    Absolute,
    /// The path starts with a drive letter such as `C:`.
    #[error("has a drive prefix")]
    DrivePrefix,
    /// The path contains `\`, which Windows reads as a separator.
    #[error("contains a backslash")]
    Backslash,
    /// The path contains NUL or another control character.
    #[error("contains a control character")]
    ControlCharacter,
    /// The path has an empty segment (`a//b`, a trailing `/`).
    #[error("has an empty segment")]
    EmptySegment,
    /// The path has a `.` segment.
    #[error("has a '.' segment")]
    DotSegment,
    /// The path has a `..` segment, which could name a file outside the model.
    #[error("has a '..' segment")]
    DotDotSegment,
}

/// Checks a manifest path against the path rules: relative, `/`-separated UTF-8
/// with no empty, `.` or `..` segment, no backslash, drive prefix or control
/// character. Every path is checked before it is joined to the model directory.
pub fn check_path(path: &str) -> Result<(), UnsafePathReason> {
    if path.is_empty() {
        return Err(UnsafePathReason::Empty);
    }
    if path.starts_with('/') {
        return Err(UnsafePathReason::Absolute);
    }
    let bytes = path.as_bytes();
    if bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':' {
        return Err(UnsafePathReason::DrivePrefix);
    }
    if path.contains('\\') {
        return Err(UnsafePathReason::Backslash);
    }
    if path.chars().any(char::is_control) {
        return Err(UnsafePathReason::ControlCharacter);
    }
    for segment in path.split('/') {
        match segment {
            "" => return Err(UnsafePathReason::EmptySegment),
            "." => return Err(UnsafePathReason::DotSegment),
            ".." => return Err(UnsafePathReason::DotDotSegment),
            _ => {}
        }
    }
    Ok(())
}

/// The key under which two paths collide on a case-insensitive, normalising
/// file system (macOS, Windows): NFC normalisation, then case folding.
pub fn collision_key(path: &str) -> String {
    // ASCII is already in NFC, and its case folding is plain lower-casing.
    if path.is_ascii() {
        return path.to_ascii_lowercase();
    }
    // Lower-casing after NFC can produce decomposed forms again (rare), so normalise twice.
    let folded: String = path.nfc().flat_map(char::to_lowercase).collect();
    folded.nfc().collect()
}

/// Finds paths that collide under [`collision_key`], reporting each colliding
/// path after the first as `duplicate_path`.
pub fn duplicate_paths<'a>(paths: impl IntoIterator<Item = &'a str>) -> Vec<Problem> {
    colliding_pairs(paths)
        .into_iter()
        .map(|(first, path)| duplicate_problem(first, path))
        .collect()
}

/// Every path that collides under [`collision_key`] with one met before it,
/// as `(first, newcomer)`.
pub fn colliding_pairs<'a>(paths: impl IntoIterator<Item = &'a str>) -> Vec<(&'a str, &'a str)> {
    let mut seen: HashMap<String, &'a str> = HashMap::new();
    let mut pairs = Vec::new();
    for path in paths {
        let key = collision_key(path);
        match seen.get(&key) {
            Some(first) => pairs.push((*first, path)),
            None => {
                seen.insert(key, path);
            }
        }
    }
    pairs
}

/// The `duplicate_path` problem for `path`, which collides with `first`.
pub fn duplicate_problem(first: &str, path: &str) -> Problem {
    let message = if first == path {
        format!("'{path}' is listed twice")
    } else {
        format!(
            "'{path}' collides with '{first}' after Unicode normalisation and case folding; \
             they would be one file on macOS and Windows"
        )
    };
    Problem::new(ProblemKind::DuplicatePath, path, message)
}

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
pub fn ignore_matcher(patterns: &[String]) -> Result<Gitignore, WalkError> {
    // Rooted at ".", the matcher strips nothing from the relative paths it is given.
    let mut builder = GitignoreBuilder::new(".");
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
pub fn list(root: &Path) -> Result<Listing, WalkError> {
    let root_meta = std::fs::metadata(root).map_err(|_| WalkError::NotADirectory(root.into()))?;
    if !root_meta.is_dir() {
        return Err(WalkError::NotADirectory(root.into()));
    }
    let hub = HubSnapshot::detect(root);
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
        if entry.depth() == 1 && (path == MANIFEST_FILE || path == SIGNATURE_FILE) {
            continue;
        }
        let mut blob = None;
        let kind = if file_type.is_symlink() {
            match hub.as_ref().and_then(|h| h.resolve(entry.path())) {
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

/// A Hugging Face Hub cache snapshot, `…/models--ORG--NAME/snapshots/REV/`
/// (or `datasets--`, `spaces--`), whose files are links into the
/// repository's `blobs/`. Such a link is read as the blob it names; any other
/// link stays a `symlink` problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubSnapshot {
    /// The repository's `blobs/` directory, canonical.
    pub blobs: PathBuf,
}

impl HubSnapshot {
    /// The snapshot `root` is in, if it is at or below `REPO/snapshots/REV/`.
    pub fn detect(root: &Path) -> Option<HubSnapshot> {
        let canonical = std::fs::canonicalize(root).ok()?;
        let mut dir = canonical.as_path();
        loop {
            let parent = dir.parent()?;
            if parent.file_name()? == "snapshots" {
                let repo = parent.parent()?;
                let name = repo.file_name()?.to_str()?;
                if ["models--", "datasets--", "spaces--"]
                    .iter()
                    .any(|p| name.starts_with(p))
                {
                    let blobs = std::fs::canonicalize(repo.join("blobs")).ok()?;
                    return Some(HubSnapshot { blobs });
                }
                return None;
            }
            dir = parent;
        }
    }

    /// The blob a link resolves to, with its metadata, when the link resolves
    /// (through any number of links) to a regular file directly in `blobs/`.
    pub fn resolve(&self, link: &Path) -> Option<(PathBuf, std::fs::Metadata)> {
        let target = std::fs::canonicalize(link).ok()?;
        if target.parent()? != self.blobs {
            return None;
        }
        let meta = std::fs::symlink_metadata(&target).ok()?;
        meta.is_file().then_some((target, meta))
    }
}

/// Where to read `name` (the manifest or signature file) of `dir`: the file
/// itself, or in a Hub cache snapshot, the blob its link names.
pub fn special_file_path(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    let is_link = std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink());
    if is_link && let Some((blob, _)) = HubSnapshot::detect(dir).and_then(|h| h.resolve(&path)) {
        return blob;
    }
    path
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_path_accepts_plain_relative_paths() {
        for ok in [
            "a",
            "model.safetensors",
            "data/train.jsonl",
            "a/b/c.d",
            "ü/ñ.txt",
            "..a",
            "a..",
        ] {
            assert_eq!(check_path(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn check_path_rejects_each_unsafe_form() {
        use UnsafePathReason::*;
        let cases = [
            ("", Empty),
            ("/etc/passwd", Absolute),
            ("C:/x", DrivePrefix),
            ("c:x", DrivePrefix),
            ("a\\b", Backslash),
            ("a\0b", ControlCharacter),
            ("a\nb", ControlCharacter),
            ("a//b", EmptySegment),
            ("a/", EmptySegment),
            ("./a", DotSegment),
            ("a/./b", DotSegment),
            ("../outside.txt", DotDotSegment),
            ("a/../../b", DotDotSegment),
            ("..", DotDotSegment),
        ];
        for (path, reason) in cases {
            assert_eq!(check_path(path), Err(reason), "{path:?}");
        }
    }

    #[test]
    fn collision_key_folds_case_and_normalisation() {
        assert_eq!(collision_key("Model.bin"), collision_key("model.BIN"));
        // "é" precomposed (NFC) and decomposed (NFD).
        assert_eq!(collision_key("caf\u{e9}"), collision_key("cafe\u{301}"));
        assert_ne!(collision_key("a"), collision_key("b"));
    }

    #[test]
    fn duplicate_paths_names_every_collision() {
        let problems = duplicate_paths(["a", "A", "b", "b"]);
        assert_eq!(problems.len(), 2);
        assert!(
            problems
                .iter()
                .all(|p| p.kind == ProblemKind::DuplicatePath)
        );
    }
}
