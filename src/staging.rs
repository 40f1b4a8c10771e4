//! `verify --copy-to DEST`: the verified bytes, copied as they are hashed.
//!
//! Each hashing unit writes the very buffer it hashes into a staging
//! directory beside DEST, so the copy holds exactly the bytes that were
//! checked, whatever happens to the source afterwards. DEST appears by one
//! rename, and only when every check held: until then nothing is at DEST,
//! a failure removes the staging directory, and an existing DEST is swapped
//! whole (`RENAME_EXCHANGE`), never half-replaced. Files come out `0444`,
//! directories `0555`.
//!
//! A staging directory is named `.DEST.modelseal-PID-RANDOM` and is locked
//! (`flock`) by the run that owns it. A run killed with SIGKILL cannot clean
//! up; the next `--copy-to` the same DEST removes a staging directory whose
//! lock is free and whose process is gone.

use crate::digest::Sha256Digest;
use crate::writeback::{SYNC_STEP, Writeback};
use sha2::{Digest as _, Sha256};
use std::collections::HashSet;
use std::fs::File;
use std::io::{self, Read as _};
use std::os::unix::fs::{DirBuilderExt, FileExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Mode of a published file: read-only for everyone.
pub const FILE_MODE: u32 = 0o444;
/// Mode of a published directory: nothing can be added or removed.
pub const DIR_MODE: u32 = 0o555;

/// Why a copy could not be made or published (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    /// A file system operation failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The path it failed on.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
    /// DEST is not a path that can be renamed into place.
    #[error("{}: {why}", dest.display())]
    BadDestination {
        /// The destination given.
        dest: PathBuf,
        /// What is wrong with it.
        why: String,
    },
    /// DEST holds files and `--replace` was not given.
    #[error(
        "{} exists and is not empty: pass --replace to swap it atomically for the verified copy, or choose a new directory",
        .0.display()
    )]
    NotEmpty(PathBuf),
    /// The copy does not hold every verified file (a bug, if ever seen).
    #[error("the copy holds {copied} files, but {verified} were verified; nothing was published")]
    Incomplete {
        /// Files written to the staging directory.
        copied: u64,
        /// Files the report says were checked.
        verified: u64,
    },
    /// A file copied after the check no longer has its pinned digest.
    #[error("{} changed after it was verified (sha256 is now {got}); nothing was published", .path.display())]
    Changed {
        /// The file.
        path: PathBuf,
        /// Its digest as copied.
        got: Sha256Digest,
    },
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> CopyError + '_ {
    move |source| CopyError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// How a verified copy is published.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Publish {
    /// Swap a non-empty DEST for the copy (`--replace`); without it, a
    /// non-empty DEST is refused.
    pub replace: bool,
    /// Make the copy durable before the rename that publishes it: large
    /// files synced as they are written, then the file system (the default;
    /// `--no-sync` turns it off, for a DEST that does not outlive a crash).
    pub sync: bool,
}

/// A staging directory beside DEST, filled as files are verified.
#[derive(Debug)]
pub struct Staging {
    dest: PathBuf,
    parent: PathBuf,
    root: PathBuf,
    how: Publish,
    /// Held for the staging directory's life: a run that still holds it is alive.
    _lock: File,
    /// Directories created so far, relative to `root`.
    dirs: Mutex<HashSet<String>>,
    /// Files written in several units, made read-only at publish.
    pieced: Mutex<Vec<String>>,
    /// Files created (each counted by the unit that starts at offset 0).
    files: AtomicU64,
    failure: Mutex<Option<CopyError>>,
    failed: AtomicBool,
    /// Syncs large files' data while hashing goes on (with [`Publish::sync`]).
    writeback: Option<Writeback>,
    published: bool,
}

impl Staging {
    /// Makes a staging directory for `dest`, after removing stale ones that
    /// killed runs left. Refuses a `dest` that exists and is not a directory,
    /// or is a non-empty directory without [`Publish::replace`].
    pub fn begin(dest: &Path, how: Publish) -> Result<Staging, CopyError> {
        let bad = |why: &str| CopyError::BadDestination {
            dest: dest.to_path_buf(),
            why: why.to_string(),
        };
        let name = dest
            .file_name()
            .and_then(|n| n.to_str())
            .filter(|n| !n.is_empty() && *n != "." && *n != "..")
            .ok_or_else(|| {
                bad("name a directory to create (its last component cannot be `.`, `..` or `/`)")
            })?;
        let parent = match dest.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        if !parent.is_dir() {
            return Err(bad("its parent directory does not exist; create it first"));
        }
        check_destination(dest, how.replace)?;
        remove_stale(&parent, name);
        let writeback = match how.sync {
            true => Some(Writeback::start().map_err(io_error(&parent))?),
            false => None,
        };
        let root = tempfile::Builder::new()
            .prefix(&staging_prefix(name))
            .suffix("")
            .rand_bytes(8)
            .tempdir_in(&parent)
            .map_err(io_error(&parent))?
            .keep();
        let lock = File::open(&root).map_err(io_error(&root))?;
        rustix::fs::flock(&lock, rustix::fs::FlockOperation::NonBlockingLockExclusive).map_err(
            |e| CopyError::Io {
                path: root.clone(),
                source: e.into(),
            },
        )?;
        Ok(Staging {
            dest: dest.to_path_buf(),
            parent,
            root,
            how,
            _lock: lock,
            dirs: Mutex::new(HashSet::new()),
            pieced: Mutex::new(Vec::new()),
            files: AtomicU64::new(0),
            failure: Mutex::new(None),
            failed: AtomicBool::new(false),
            writeback,
            published: false,
        })
    }

    /// The destination.
    pub fn dest(&self) -> &Path {
        &self.dest
    }

    /// The staging directory (not the destination).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Refuses a source that contains DEST or lies inside it: the staging
    /// directory would be walked as an unlisted file, or the swap would
    /// remove the source.
    pub fn check_source(&self, source: &Path) -> Result<(), CopyError> {
        let source = std::fs::canonicalize(source).map_err(io_error(source))?;
        let parent = std::fs::canonicalize(&self.parent).map_err(io_error(&self.parent))?;
        let dest = parent.join(self.dest.file_name().unwrap_or_default());
        if dest.starts_with(&source) || source.starts_with(&dest) {
            return Err(CopyError::BadDestination {
                dest: self.dest.clone(),
                why: format!(
                    "the copy must be outside the model directory {} (and not contain it)",
                    source.display()
                ),
            });
        }
        Ok(())
    }

    /// Whether a write has failed: every reader stops.
    pub fn failed(&self) -> bool {
        self.failed.load(Ordering::Relaxed)
    }

    fn fail(&self, error: CopyError) {
        if let Ok(mut first) = self.failure.lock() {
            first.get_or_insert(error);
        }
        self.failed.store(true, Ordering::Relaxed);
    }

    /// The first write that failed, if any.
    pub fn take_failure(&self) -> Option<CopyError> {
        self.failure.lock().ok()?.take()
    }

    /// Opens the copy of listed file `rel` for a unit that writes from
    /// `offset`; `pieced` when other units write the rest of it.
    pub(crate) fn open(&self, rel: &str, offset: u64, pieced: bool) -> Option<CopyWriter<'_>> {
        let path = self.root.join(rel);
        match self.create(rel, &path, !pieced) {
            Ok(file) => {
                if offset == 0 {
                    self.files.fetch_add(1, Ordering::Relaxed);
                    if pieced && let Ok(mut list) = self.pieced.lock() {
                        list.push(rel.to_string());
                    }
                }
                Some(CopyWriter {
                    staging: self,
                    file,
                    at: offset,
                    path,
                    seal: !pieced,
                    written: 0,
                    unsynced: 0,
                })
            }
            Err(error) => {
                self.fail(error);
                None
            }
        }
    }

    /// Creates (or, for a later piece of a file, opens) the copy of `rel`.
    fn create(&self, rel: &str, path: &Path, new: bool) -> Result<File, CopyError> {
        if let Some((dir, _)) = rel.rsplit_once('/') {
            self.make_dirs(dir)?;
        }
        std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .create_new(new)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(path)
            .map_err(io_error(path))
    }

    fn make_dirs(&self, dir: &str) -> Result<(), CopyError> {
        let mut made = self.dirs.lock().map_err(|_| CopyError::Io {
            path: self.root.clone(),
            source: io::Error::other("a copying thread panicked"),
        })?;
        if made.contains(dir) {
            return Ok(());
        }
        let path = self.root.join(dir);
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&path)
            .map_err(io_error(&path))?;
        let mut at = dir;
        loop {
            made.insert(at.to_string());
            match at.rsplit_once('/') {
                Some((up, _)) => at = up,
                None => break,
            }
        }
        Ok(())
    }

    /// Writes a whole file that verification read into memory (the
    /// manifest, its signatures, an OMS bundle): the bytes checked, not a
    /// second read.
    pub fn write_file(&self, rel: &str, bytes: &[u8]) -> Result<(), CopyError> {
        let path = self.root.join(rel);
        let file = self.create(rel, &path, true)?;
        file.write_all_at(bytes, 0).map_err(io_error(&path))?;
        seal_file(&file).map_err(io_error(&path))
    }

    /// Copies `from` as `rel`, checking on the way that its bytes still
    /// have the digest `pin` gives (the large form's listing, which the
    /// check streamed and did not keep).
    pub fn copy_pinned(&self, from: &Path, rel: &str, pin: &Sha256Digest) -> Result<(), CopyError> {
        let mut source = crate::stamp::open_no_follow(from).map_err(|fault| CopyError::Io {
            path: from.to_path_buf(),
            source: io::Error::other(fault.to_string()),
        })?;
        let path = self.root.join(rel);
        let file = self.create(rel, &path, true)?;
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 64 * 1024];
        let mut at = 0u64;
        loop {
            let n = source.read(&mut buf).map_err(io_error(from))?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            file.write_all_at(&buf[..n], at).map_err(io_error(&path))?;
            at += n as u64;
        }
        let got = Sha256Digest(hasher.finalize().into());
        if got != *pin {
            return Err(CopyError::Changed {
                path: from.to_path_buf(),
                got,
            });
        }
        seal_file(&file).map_err(io_error(&path))
    }

    /// Publishes the copy at DEST, when it holds the `verified` files the
    /// report counts: modes made read-only, data synced, one rename.
    /// Returns DEST.
    pub fn publish(mut self, verified: u64) -> Result<PathBuf, CopyError> {
        if let Some(error) = self.take_failure() {
            return Err(error);
        }
        let copied = self.files.load(Ordering::Relaxed);
        if copied != verified {
            return Err(CopyError::Incomplete { copied, verified });
        }
        if let Some(writeback) = &self.writeback {
            writeback
                .finish()
                .map_err(|(path, source)| CopyError::Io { path, source })?;
        }
        self.seal_tree()?;
        if self.how.sync {
            sync_filesystem(&self.root)?;
        }
        let old = self.swap_in()?;
        self.published = true;
        if self.how.sync {
            sync_dir(&self.parent)?;
        }
        if let Some(old) = old {
            remove_tree(&old).map_err(io_error(&old))?;
        }
        Ok(self.dest.clone())
    }

    fn seal_tree(&self) -> Result<(), CopyError> {
        let pieced = std::mem::take(&mut *self.pieced.lock().map_err(|_| CopyError::Io {
            path: self.root.clone(),
            source: io::Error::other("a copying thread panicked"),
        })?);
        for rel in pieced {
            let path = self.root.join(&rel);
            set_mode(&path, FILE_MODE)?;
        }
        let mut dirs: Vec<String> = self
            .dirs
            .lock()
            .map(|d| d.iter().cloned().collect())
            .unwrap_or_default();
        dirs.sort();
        for dir in dirs.iter().rev() {
            set_mode(&self.root.join(dir), DIR_MODE)?;
        }
        set_mode(&self.root, DIR_MODE)
    }

    /// Renames the staging directory to DEST. An empty DEST is replaced; a
    /// full one only with `replace`, by an atomic exchange. Returns where
    /// the old DEST now lies, for removal.
    fn swap_in(&self) -> Result<Option<PathBuf>, CopyError> {
        use rustix::fs::{CWD, RenameFlags, renameat_with};
        let renamed = |flags| renameat_with(CWD, &self.root, CWD, &self.dest, flags);
        match renamed(RenameFlags::NOREPLACE) {
            Ok(()) => return Ok(None),
            Err(rustix::io::Errno::EXIST) => {}
            Err(e) => return Err(io_error(&self.dest)(e.into())),
        }
        check_destination(&self.dest, self.how.replace)?;
        if is_empty_dir(&self.dest) {
            // rename(2) replaces an empty directory atomically.
            std::fs::rename(&self.root, &self.dest).map_err(io_error(&self.dest))?;
            return Ok(None);
        }
        match renamed(RenameFlags::EXCHANGE) {
            Ok(()) => Ok(Some(self.root.clone())),
            Err(rustix::io::Errno::INVAL | rustix::io::Errno::NOSYS) => self.swap_in_two_steps(),
            Err(e) => Err(io_error(&self.dest)(e.into())),
        }
    }

    /// Where the file system has no `RENAME_EXCHANGE`: the old DEST moves
    /// aside, the copy moves in, and a failure moves the old one back.
    /// DEST is briefly absent, never half-replaced.
    fn swap_in_two_steps(&self) -> Result<Option<PathBuf>, CopyError> {
        let aside = self.root.with_extension("old");
        std::fs::rename(&self.dest, &aside).map_err(io_error(&self.dest))?;
        if let Err(e) = std::fs::rename(&self.root, &self.dest) {
            let _ = std::fs::rename(&aside, &self.dest);
            return Err(io_error(&self.dest)(e));
        }
        Ok(Some(aside))
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.published {
            let _ = remove_tree(&self.root);
        }
    }
}

/// Writes one unit's bytes into its file's copy, at the offsets read.
pub(crate) struct CopyWriter<'s> {
    staging: &'s Staging,
    file: File,
    at: u64,
    path: PathBuf,
    seal: bool,
    /// Bytes this writer wrote, and those written since it last asked for a sync.
    written: u64,
    unsynced: u64,
}

impl CopyWriter<'_> {
    /// Writes the next chunk; false when this or another write failed, and
    /// reading should stop.
    pub(crate) fn write(&mut self, chunk: &[u8]) -> bool {
        if self.staging.failed() {
            return false;
        }
        if let Err(source) = self.file.write_all_at(chunk, self.at) {
            self.staging.fail(CopyError::Io {
                path: self.path.clone(),
                source,
            });
            return false;
        }
        self.at += chunk.len() as u64;
        self.written += chunk.len() as u64;
        self.unsynced += chunk.len() as u64;
        if self.unsynced >= SYNC_STEP {
            self.sync_later();
        }
        true
    }

    fn sync_later(&mut self) {
        if let Some(writeback) = &self.staging.writeback {
            writeback.sync_later(&self.file, &self.path);
        }
        self.unsynced = 0;
    }

    /// The unit read all it should: a whole file becomes read-only now.
    pub(crate) fn finish(mut self) {
        // A large write's tail is synced now too; small files wait for syncfs.
        if self.written >= SYNC_STEP && self.unsynced > 0 {
            self.sync_later();
        }
        if self.seal
            && let Err(source) = seal_file(&self.file)
        {
            self.staging.fail(CopyError::Io {
                path: self.path,
                source,
            });
        }
    }
}

fn seal_file(file: &File) -> io::Result<()> {
    file.set_permissions(std::fs::Permissions::from_mode(FILE_MODE))
}

fn set_mode(path: &Path, mode: u32) -> Result<(), CopyError> {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(io_error(path))
}

fn staging_prefix(name: &str) -> String {
    format!(".{name}.modelseal-{}-", std::process::id())
}

/// Refuses a DEST that is not a directory, or holds files without `replace`.
fn check_destination(dest: &Path, replace: bool) -> Result<(), CopyError> {
    match std::fs::symlink_metadata(dest) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_error(dest)(e)),
        Ok(meta) if !meta.is_dir() => Err(CopyError::BadDestination {
            dest: dest.to_path_buf(),
            why: "exists and is not a directory (a symbolic link is not followed); remove it or choose another".into(),
        }),
        Ok(_) if !replace && !is_empty_dir(dest) => Err(CopyError::NotEmpty(dest.to_path_buf())),
        Ok(_) => Ok(()),
    }
}

fn is_empty_dir(path: &Path) -> bool {
    std::fs::read_dir(path).is_ok_and(|mut entries| entries.next().is_none())
}

/// Removes the staging directories of DEST that killed runs left: their
/// lock is free and their process is gone.
fn remove_stale(parent: &Path, name: &str) {
    let prefix = format!(".{name}.modelseal-");
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(rest) = file_name.to_str().and_then(|n| n.strip_prefix(&prefix)) else {
            continue;
        };
        let path = entry.path();
        if owner_alive(rest) || locked(&path) {
            continue;
        }
        let _ = remove_tree(&path);
    }
}

/// Whether the process whose id starts the staging name's tail still runs.
fn owner_alive(tail: &str) -> bool {
    let Some(pid) = tail.split('-').next().and_then(|p| p.parse::<i32>().ok()) else {
        return false;
    };
    if pid as u32 == std::process::id() {
        return true;
    }
    rustix::process::Pid::from_raw(pid).is_some_and(|pid| {
        !matches!(
            rustix::process::test_kill_process(pid),
            Err(rustix::io::Errno::SRCH)
        )
    })
}

fn locked(path: &Path) -> bool {
    let Ok(dir) = File::open(path) else {
        return true;
    };
    rustix::fs::flock(&dir, rustix::fs::FlockOperation::NonBlockingLockExclusive).is_err()
}

/// Removes a tree whose directories may be read-only, without following links.
fn remove_tree(path: &Path) -> io::Result<()> {
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
        Ok(meta) if !meta.is_dir() => return std::fs::remove_file(path),
        Ok(_) => {}
    }
    for entry in walkdir::WalkDir::new(path).follow_links(false) {
        let entry = entry.map_err(io::Error::other)?;
        if entry.file_type().is_dir() {
            std::fs::set_permissions(entry.path(), std::fs::Permissions::from_mode(0o700))?;
        }
    }
    std::fs::remove_dir_all(path)
}

/// Flushes the copy's data to disk, so that the rename that publishes it
/// never outlives a crash that the data does not.
fn sync_filesystem(root: &Path) -> Result<(), CopyError> {
    let dir = File::open(root).map_err(io_error(root))?;
    rustix::fs::syncfs(&dir).map_err(|e| io_error(root)(e.into()))
}

fn sync_dir(dir: &Path) -> Result<(), CopyError> {
    let handle = File::open(dir).map_err(io_error(dir))?;
    handle.sync_all().map_err(io_error(dir))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEEP: Publish = Publish {
        replace: false,
        sync: true,
    };
    const REPLACE: Publish = Publish {
        replace: true,
        sync: false,
    };

    #[test]
    fn a_published_copy_is_read_only_and_nothing_is_left_beside_it() {
        let parent = tempfile::tempdir().unwrap();
        let dest = parent.path().join("out");
        let staging = Staging::begin(&dest, KEEP).unwrap();
        let mut one = staging.open("a/b/one.bin", 0, false).unwrap();
        assert!(one.write(b"hello"));
        one.finish();
        staging.write_file("provenance.toml", b"x").unwrap();
        staging.publish(1).unwrap();
        assert_eq!(std::fs::read(dest.join("a/b/one.bin")).unwrap(), b"hello");
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dest.join("a/b/one.bin")), FILE_MODE);
        assert_eq!(mode(&dest.join("a/b")), DIR_MODE);
        assert_eq!(mode(&dest), DIR_MODE);
        let names: Vec<_> = std::fs::read_dir(parent.path())
            .unwrap()
            .flatten()
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
        remove_tree(&dest).unwrap();
    }

    #[test]
    fn a_dropped_staging_directory_is_removed_and_dest_never_appears() {
        let parent = tempfile::tempdir().unwrap();
        let dest = parent.path().join("out");
        let staging = Staging::begin(&dest, KEEP).unwrap();
        let mut one = staging.open("one.bin", 0, false).unwrap();
        assert!(one.write(b"hello"));
        one.finish();
        let root = staging.root().to_path_buf();
        assert!(root.exists());
        drop(staging);
        assert!(!root.exists() && !dest.exists());
    }

    #[test]
    fn a_copy_missing_a_verified_file_is_not_published() {
        let parent = tempfile::tempdir().unwrap();
        let dest = parent.path().join("out");
        let staging = Staging::begin(&dest, KEEP).unwrap();
        let err = staging.publish(1).unwrap_err();
        assert!(
            matches!(
                err,
                CopyError::Incomplete {
                    copied: 0,
                    verified: 1
                }
            ),
            "{err}"
        );
        assert!(!dest.exists());
    }

    #[test]
    fn a_full_dest_is_refused_without_replace_and_swapped_whole_with_it() {
        let parent = tempfile::tempdir().unwrap();
        let dest = parent.path().join("out");
        std::fs::create_dir(&dest).unwrap();
        std::fs::write(dest.join("old.bin"), b"old").unwrap();
        assert!(matches!(
            Staging::begin(&dest, KEEP).unwrap_err(),
            CopyError::NotEmpty(_)
        ));
        let staging = Staging::begin(&dest, REPLACE).unwrap();
        staging.write_file("new.bin", b"new").unwrap();
        staging.publish(0).unwrap();
        assert!(!dest.join("old.bin").exists());
        assert_eq!(std::fs::read(dest.join("new.bin")).unwrap(), b"new");
        assert_eq!(std::fs::read_dir(parent.path()).unwrap().count(), 1);
        remove_tree(&dest).unwrap();
    }

    #[test]
    fn a_stale_staging_directory_of_a_dead_run_is_removed_and_a_live_one_kept() {
        let parent = tempfile::tempdir().unwrap();
        let dest = parent.path().join("out");
        // No process has id 0x7ffffffe on any machine we run on.
        let stale = parent.path().join(".out.modelseal-2147483646-abcdefgh");
        std::fs::create_dir_all(stale.join("sub")).unwrap();
        std::fs::set_permissions(stale.join("sub"), std::fs::Permissions::from_mode(0o555))
            .unwrap();
        let live = Staging::begin(&dest, KEEP).unwrap();
        assert!(!stale.exists());
        let other = Staging::begin(&dest, KEEP).unwrap();
        assert!(live.root().exists() && other.root().exists());
    }
}
