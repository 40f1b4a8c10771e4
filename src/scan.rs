//! The sorted, streaming walk: one directory at a time, in listing order.
//!
//! Each directory is read once (`getdents`), its names sorted by their bytes,
//! and handed on as a [`DirBatch`] with an open handle, so files are opened
//! and re-checked relative to it (`openat`, `fstatat`) instead of walking the
//! whole path again for every file. Only the directories still to visit are
//! held, never the whole tree. Like [`crate::walk`], it never follows a link
//! and never opens anything but directories.

use crate::model_dir::ModelDir;
use crate::paths::{UnsafePathReason, check_path};
use crate::problem::{Problem, ProblemKind};
use crate::stamp::FileStamp;
use crate::walk::WalkError;
use rustix::fs::{AtFlags, Dir, FileType, Mode, OFlags};
use std::ffi::{CStr, CString};
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::sync::Arc;

/// What a name in a directory is, as `lstat` would say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScanKind {
    /// A regular file.
    File,
    /// A directory (visited later, in its own batch).
    Dir,
    /// A symbolic link, never followed.
    Symlink,
    /// A FIFO, socket or device node, never opened.
    Special(&'static str),
}

/// One name of a directory.
#[derive(Debug, Clone)]
pub struct ScanEntry {
    /// The name as the directory holds it.
    pub raw: CString,
    /// The name as text; bytes that are not UTF-8 are written `\xNN`.
    pub name: String,
    /// The path relative to the model root, `/`-separated.
    pub path: String,
    /// What it is.
    pub kind: ScanKind,
    /// Why the path breaks the path rules, if it does.
    pub unsafe_reason: Option<UnsafePathReason>,
    /// In a Hub cache snapshot, for a link into `blobs/`: the blob and its stamp.
    pub blob: Option<(PathBuf, FileStamp)>,
}

/// The names of one directory, sorted by their bytes.
#[derive(Debug)]
pub struct DirBatch {
    /// The directory relative to the root (`""` for the root).
    pub dir: String,
    /// Why the directory's own path breaks the path rules, if it does.
    pub unsafe_reason: Option<UnsafePathReason>,
    /// The open directory, to open its files relative to (`None` when it
    /// could not be opened; then `problems` says so).
    pub handle: Option<Arc<OwnedFd>>,
    /// Its entries, sorted by name bytes (directories included).
    pub entries: Vec<ScanEntry>,
    /// Names that could not be examined, and unreadable subdirectories.
    pub problems: Vec<Problem>,
}

struct Pending {
    parent: Option<Arc<OwnedFd>>,
    raw: CString,
    path: String,
    unsafe_reason: Option<UnsafePathReason>,
}

/// The walk, as an iterator of directory batches in listing order.
pub struct Scanner {
    root: PathBuf,
    hub: Option<crate::model_dir::HubSnapshot>,
    skipped: Vec<String>,
    stack: Vec<Pending>,
}

impl Scanner {
    /// A walk of `model`, leaving out `.git/` and the top-level names in `skipped`.
    pub fn new(model: &ModelDir, skipped: &[&str]) -> Result<Self, WalkError> {
        let root = model.root().to_path_buf();
        let meta = std::fs::metadata(&root).map_err(|_| WalkError::NotADirectory(root.clone()))?;
        if !meta.is_dir() {
            return Err(WalkError::NotADirectory(root));
        }
        let raw = CString::new(root.as_os_str().as_bytes())
            .map_err(|_| WalkError::NotADirectory(root.clone()))?;
        Ok(Scanner {
            root,
            hub: model.hub().cloned(),
            skipped: skipped.iter().map(|s| s.to_string()).collect(),
            stack: vec![Pending {
                parent: None,
                raw,
                path: String::new(),
                unsafe_reason: None,
            }],
        })
    }

    fn open_dir(&self, pending: &Pending) -> rustix::io::Result<OwnedFd> {
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        match &pending.parent {
            // The root itself may be a link (as `walk` allows); nothing below it is followed.
            None => rustix::fs::open(pending.raw.as_c_str(), flags, Mode::empty()),
            Some(parent) => rustix::fs::openat(
                parent,
                pending.raw.as_c_str(),
                flags | OFlags::NOFOLLOW,
                Mode::empty(),
            ),
        }
    }

    fn read_batch(&mut self, pending: Pending) -> DirBatch {
        let handle = match self.open_dir(&pending) {
            Ok(fd) => Arc::new(fd),
            Err(err) => {
                // Reported as the walk did: an unreadable directory is a problem, not an abort.
                let problem = Problem::new(
                    ProblemKind::UnreadableFile,
                    pending.path.clone(),
                    format!("cannot be listed: {}", std::io::Error::from(err)),
                );
                return DirBatch {
                    dir: pending.path,
                    unsafe_reason: pending.unsafe_reason,
                    handle: None,
                    entries: Vec::new(),
                    problems: vec![problem],
                };
            }
        };
        let mut problems = Vec::new();
        let mut names = read_names(&handle, &pending.path, &mut problems);
        names.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        let mut entries = Vec::with_capacity(names.len());
        for (raw, file_type) in names {
            if let Some(entry) = self.entry(&pending, &handle, raw, file_type, &mut problems) {
                entries.push(entry);
            }
        }
        for sub in entries.iter().rev().filter(|e| e.kind == ScanKind::Dir) {
            self.stack.push(Pending {
                parent: Some(Arc::clone(&handle)),
                raw: sub.raw.clone(),
                path: sub.path.clone(),
                unsafe_reason: sub.unsafe_reason,
            });
        }
        DirBatch {
            dir: pending.path,
            unsafe_reason: pending.unsafe_reason,
            handle: Some(handle),
            entries,
            problems,
        }
    }

    fn entry(
        &self,
        parent: &Pending,
        handle: &OwnedFd,
        raw: CString,
        file_type: FileType,
        problems: &mut Vec<Problem>,
    ) -> Option<ScanEntry> {
        let (name, utf8) = match raw.to_str() {
            Ok(s) => (s.to_string(), true),
            Err(_) => (escaped(raw.as_bytes()), false),
        };
        let path = if parent.path.is_empty() {
            name.clone()
        } else {
            format!("{}/{name}", parent.path)
        };
        let top = parent.parent.is_none();
        let file_type = if file_type == FileType::Unknown {
            match rustix::fs::statat(handle, raw.as_c_str(), AtFlags::SYMLINK_NOFOLLOW) {
                Ok(stat) => FileType::from_raw_mode(stat.st_mode),
                Err(err) => {
                    problems.push(Problem::new(
                        ProblemKind::UnreadableFile,
                        path,
                        format!("cannot be examined: {}", std::io::Error::from(err)),
                    ));
                    return None;
                }
            }
        } else {
            file_type
        };
        let mut kind = match file_type {
            FileType::RegularFile => ScanKind::File,
            FileType::Directory => ScanKind::Dir,
            FileType::Symlink => ScanKind::Symlink,
            FileType::Fifo => ScanKind::Special("FIFO"),
            FileType::Socket => ScanKind::Special("socket"),
            FileType::BlockDevice => ScanKind::Special("block device"),
            FileType::CharacterDevice => ScanKind::Special("character device"),
            _ => ScanKind::Special("special file"),
        };
        // Only the top-level .git is skipped: a nested one is content like any other.
        let skipped = if kind == ScanKind::Dir {
            name == ".git"
        } else {
            self.skipped.contains(&name)
        };
        if top && skipped {
            return None;
        }
        let unsafe_reason = if !utf8 || parent.unsafe_reason == Some(UnsafePathReason::NotUtf8) {
            Some(UnsafePathReason::NotUtf8)
        } else {
            check_path(&path).err()
        };
        let mut blob = None;
        if kind == ScanKind::Symlink
            && let Some(hub) = &self.hub
            && let Some((target, meta)) = hub.resolve(&self.root.join(&path))
        {
            blob = Some((target, FileStamp::from_metadata(&meta)));
            kind = ScanKind::File;
        }
        Some(ScanEntry {
            raw,
            name,
            path,
            kind,
            unsafe_reason,
            blob,
        })
    }
}

impl Iterator for Scanner {
    type Item = DirBatch;

    fn next(&mut self) -> Option<DirBatch> {
        let pending = self.stack.pop()?;
        Some(self.read_batch(pending))
    }
}

/// Every name of the open directory but `.` and `..`, with its type.
fn read_names(
    handle: &OwnedFd,
    dir: &str,
    problems: &mut Vec<Problem>,
) -> Vec<(CString, FileType)> {
    let mut names = Vec::new();
    let mut reader = match Dir::read_from(handle) {
        Ok(reader) => reader,
        Err(err) => {
            problems.push(Problem::new(
                ProblemKind::UnreadableFile,
                dir,
                format!("cannot be listed: {}", std::io::Error::from(err)),
            ));
            return names;
        }
    };
    for next in &mut reader {
        match next {
            Ok(entry) => {
                let name: &CStr = entry.file_name();
                if name != c"." && name != c".." {
                    names.push((name.to_owned(), entry.file_type()));
                }
            }
            Err(err) => {
                problems.push(Problem::new(
                    ProblemKind::UnreadableFile,
                    dir,
                    format!("cannot be listed: {}", std::io::Error::from(err)),
                ));
                break;
            }
        }
    }
    names
}

/// A name with every byte that is not UTF-8 written as `\xNN`: judged by its
/// raw bytes, such a name is never a listed path.
fn escaped(bytes: &[u8]) -> String {
    let mut out = String::new();
    for chunk in bytes.utf8_chunks() {
        out.push_str(chunk.valid());
        for byte in chunk.invalid() {
            out.push_str(&format!("\\x{byte:02X}"));
        }
    }
    out
}

/// The stamp of a `stat` result.
#[allow(clippy::unnecessary_cast, clippy::useless_conversion)]
pub fn stamp_of_stat(stat: &rustix::fs::Stat) -> FileStamp {
    FileStamp {
        dev: stat.st_dev as u64,
        ino: stat.st_ino as u64,
        size: stat.st_size.max(0) as u64,
        mtime_ns: i128::from(stat.st_mtime as i64) * 1_000_000_000
            + i128::from(stat.st_mtime_nsec as i64),
        ctime_ns: i128::from(stat.st_ctime as i64) * 1_000_000_000
            + i128::from(stat.st_ctime_nsec as i64),
    }
}

/// Whether a `stat` result is a regular file.
pub fn is_regular(stat: &rustix::fs::Stat) -> bool {
    FileType::from_raw_mode(stat.st_mode) == FileType::RegularFile
}

/// The stamp of `name` in the open directory, without following a link:
/// `None` when it is gone or not a regular file.
pub fn stamp_in(dir: &OwnedFd, name: &CStr) -> rustix::io::Result<rustix::fs::Stat> {
    rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW)
}

/// Opens `name` in the open directory for reading, never following a link
/// and never blocking on a FIFO.
pub fn open_in(dir: &OwnedFd, name: &CStr) -> rustix::io::Result<std::fs::File> {
    let fd = rustix::fs::openat(
        dir,
        name,
        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    Ok(std::fs::File::from(fd))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_come_in_listing_order_and_skip_git_and_named_files() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for p in [
            "b/z",
            "b/a/x",
            "a.txt",
            "z",
            "a/q",
            ".git/config",
            "c/.git/HEAD",
        ] {
            let path = root.join(p);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, b"x").unwrap();
        }
        std::fs::write(root.join("provenance.toml"), b"").unwrap();
        let scanner = Scanner::new(&ModelDir::new(root), &["provenance.toml"]).unwrap();
        let files: Vec<String> = scanner
            .flat_map(|b| b.entries)
            .filter(|e| e.kind == ScanKind::File)
            .map(|e| e.path)
            .collect();
        assert_eq!(files, ["a.txt", "z", "a/q", "b/z", "b/a/x", "c/.git/HEAD"]);
        let mut sorted = files.clone();
        sorted.sort_by(|a, b| crate::listing::listing_order(a, b));
        assert_eq!(files, sorted);
    }
}
