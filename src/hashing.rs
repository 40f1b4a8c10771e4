//! The parallel hashing engine.
//!
//! Work units are whole files and, for files larger than the shard size,
//! shards. Units run largest first over a pool of `jobs` threads, so the tail
//! of a run is made of small units and no core idles while another finishes a
//! large file. Each unit reads with 64 KiB `pread`s (larger reads were slower
//! on the machines we measured) and checks the file's identity before and
//! after, so a file that changes under the reader never passes.

use crate::digest::Sha256Digest;
use crate::staging::Staging;
use crate::stamp::{FileStamp, ReadFault, open_no_follow, stamp_of_open};
use sha2::{Digest as _, Sha256};
use std::fs::File;
use std::path::Path;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Size of each read. 64 KiB keeps the buffer in L2 while SHA-NI consumes it.
pub const READ_SIZE: usize = 64 * 1024;

/// Which digests a request needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Want {
    /// The whole-file digest only (verify of an unsharded file).
    Whole,
    /// The shard digests only, each shard a separate unit (verify of a sharded
    /// file: the shards cover every byte, so the whole digest adds nothing).
    Shards,
    /// Both, in one read (init and update).
    WholeAndShards,
}

/// One file to hash.
#[derive(Debug, Clone)]
pub struct HashRequest {
    /// Path relative to the root; the caller has checked it with [`crate::paths::check_path`].
    pub path: String,
    /// The file's stamp at listing time; the file must still have it.
    pub stamp: FileStamp,
    /// Shard size in bytes (at least 1).
    pub shard_size: u64,
    /// Which digests to compute.
    pub want: Want,
    /// Read the bytes from here instead (a Hub cache blob the path links to).
    pub source: Option<std::path::PathBuf>,
}

/// The digests of one file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FileDigests {
    /// Whole-file digest, when asked for.
    pub whole: Option<Sha256Digest>,
    /// Shard digests in order; empty when the file is not larger than the shard size.
    pub shards: Vec<Sha256Digest>,
}

/// Number of shards of a file of `size` bytes: none unless it is larger than one shard.
pub fn shard_count(size: u64, shard_size: u64) -> u64 {
    if size > shard_size {
        size.div_ceil(shard_size)
    } else {
        0
    }
}

#[derive(Debug, Clone, Copy)]
struct Unit {
    request: usize,
    /// Shard index for a `Want::Shards` unit.
    shard: u64,
    offset: u64,
    len: u64,
}

enum UnitOutput {
    Digests(FileDigests),
    Shard(Sha256Digest),
}

/// Receives the progress of a hashing run, from several threads at once.
pub trait Progress: Sync {
    /// Called once, before any byte is read, with the bytes the run will read.
    fn start(&self, _total_bytes: u64) {}
    /// Called as bytes are read.
    fn advance(&self, _bytes: u64) {}
    /// Whether the run should stop (Ctrl-C): readers check between reads,
    /// and the caller, seeing it, reports no verdict.
    fn cancelled(&self) -> bool {
        false
    }
}

/// Progress that passes everything on to `inner`, and is cancelled once
/// `flag` is set (by a signal handler, or Python's Ctrl-C).
pub struct Cancellable<'a> {
    /// Where progress goes.
    pub inner: &'a dyn Progress,
    /// Set to stop the run.
    pub flag: &'a std::sync::atomic::AtomicBool,
}

impl Progress for Cancellable<'_> {
    fn start(&self, total_bytes: u64) {
        self.inner.start(total_bytes);
    }
    fn advance(&self, bytes: u64) {
        self.inner.advance(bytes);
    }
    fn cancelled(&self) -> bool {
        self.flag.load(Ordering::Relaxed) || self.inner.cancelled()
    }
}

/// Progress that goes nowhere.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {}

/// Hashes every request over `jobs` threads, largest unit first.
pub fn hash_files(
    root: &Path,
    requests: &[HashRequest],
    jobs: usize,
    progress: &dyn Progress,
) -> Vec<Result<FileDigests, ReadFault>> {
    hash_files_copying(root, requests, jobs, progress, None)
}

/// [`hash_files`], also writing each byte hashed into `copy` (`verify
/// --copy-to`). Only `Want::Whole` and `Want::Shards` requests are copied.
pub fn hash_files_copying(
    root: &Path,
    requests: &[HashRequest],
    jobs: usize,
    progress: &dyn Progress,
    copy: Option<&Staging>,
) -> Vec<Result<FileDigests, ReadFault>> {
    let mut units = Vec::new();
    for (index, request) in requests.iter().enumerate() {
        let size = request.stamp.size;
        let shard_size = request.shard_size.max(1);
        let count = shard_count(size, shard_size);
        if request.want == Want::Shards && count > 0 {
            for shard in 0..count {
                let offset = shard * shard_size;
                units.push(Unit {
                    request: index,
                    shard,
                    offset,
                    len: shard_size.min(size - offset),
                });
            }
        } else {
            units.push(Unit {
                request: index,
                shard: 0,
                offset: 0,
                len: size,
            });
        }
    }
    // Largest first, so the last units to finish are the smallest.
    units.sort_by_key(|u| std::cmp::Reverse(u.len));
    progress.start(units.iter().map(|u| u.len).sum());

    let slots: Vec<OnceLock<Result<UnitOutput, ReadFault>>> =
        units.iter().map(|_| OnceLock::new()).collect();
    let next = AtomicUsize::new(0);
    let workers = jobs.clamp(1, units.len().max(1));
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                let mut buf = vec![0u8; READ_SIZE];
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(unit) = units.get(i) else { break };
                    let request = &requests[unit.request];
                    let out = hash_unit(root, request, unit, &mut buf, progress, copy);
                    let _ = slots[i].set(out);
                }
            });
        }
    });

    let mut results: Vec<Result<FileDigests, ReadFault>> = requests
        .iter()
        .map(|_| Ok(FileDigests::default()))
        .collect();
    let mut shard_parts: Vec<Vec<(u64, Sha256Digest)>> = vec![Vec::new(); requests.len()];
    for (unit, slot) in units.iter().zip(slots) {
        let out = slot
            .into_inner()
            .unwrap_or_else(|| Err(ReadFault::Unreadable("not hashed".into())));
        let result = &mut results[unit.request];
        match out {
            Err(fault) => {
                if result.is_ok() {
                    *result = Err(fault);
                }
            }
            Ok(UnitOutput::Digests(d)) => {
                if result.is_ok() {
                    *result = Ok(d);
                }
            }
            Ok(UnitOutput::Shard(d)) => shard_parts[unit.request].push((unit.shard, d)),
        }
    }
    for (result, mut parts) in results.iter_mut().zip(shard_parts) {
        if let Ok(digests) = result
            && !parts.is_empty()
        {
            parts.sort_by_key(|(i, _)| *i);
            digests.shards = parts.into_iter().map(|(_, d)| d).collect();
        }
    }
    results
}

fn hash_unit(
    root: &Path,
    request: &HashRequest,
    unit: &Unit,
    buf: &mut [u8],
    progress: &dyn Progress,
    copy: Option<&Staging>,
) -> Result<UnitOutput, ReadFault> {
    let full = match &request.source {
        Some(blob) => blob.clone(),
        None => root.join(&request.path),
    };
    let file = open_no_follow(&full)?;
    let before = stamp_of_open(&file)?;
    if before != request.stamp {
        return Err(ReadFault::Changed(
            "it is not the file that was listed (replaced, or modified, since the directory was walked)"
                .into(),
        ));
    }
    let shard_size = request.shard_size.max(1);
    let output = match request.want {
        Want::Shards if shard_count(before.size, shard_size) > 0 => {
            let digest = hash_copying(
                &file,
                (unit.offset, unit.len),
                buf,
                progress,
                copy.map(|c| (c, request.path.as_str(), true)),
            )?;
            UnitOutput::Shard(digest)
        }
        Want::Whole | Want::Shards => {
            let digest = hash_copying(
                &file,
                (0, before.size),
                buf,
                progress,
                copy.map(|c| (c, request.path.as_str(), false)),
            )?;
            UnitOutput::Digests(FileDigests {
                whole: Some(digest),
                shards: Vec::new(),
            })
        }
        Want::WholeAndShards => UnitOutput::Digests(hash_whole_and_shards(
            &file,
            before.size,
            shard_size,
            buf,
            progress,
        )?),
    };
    // One lstat of the name after the read covers both ways the bytes could
    // have moved under us: the same inode (same device and inode number)
    // with the same size, mtime and ctime has not been written, and a rename
    // over the name would show another inode.
    if let Some(blob) = &request.source {
        link_still_names(root, request, blob)?;
    }
    match std::fs::symlink_metadata(&full) {
        Ok(meta) if meta.is_file() && FileStamp::from_metadata(&meta) == before => Ok(output),
        Ok(meta) if meta.is_file() && FileStamp::from_metadata(&meta).ino == before.ino => Err(
            ReadFault::Changed("its size or times changed during the read".into()),
        ),
        Ok(_) => Err(ReadFault::Changed(
            "the name was pointed at another file during the read".into(),
        )),
        Err(err) => Err(ReadFault::Changed(format!(
            "it vanished during the read ({err})"
        ))),
    }
}

/// A Hub cache link is read through the blob it named at listing time; the
/// link itself must still name that blob once the bytes are read, or the
/// snapshot now serves other bytes than the ones hashed.
fn link_still_names(root: &Path, request: &HashRequest, blob: &Path) -> Result<(), ReadFault> {
    match std::fs::canonicalize(root.join(&request.path)) {
        Ok(target) if target == blob => Ok(()),
        Ok(target) => Err(ReadFault::Changed(format!(
            "its link was pointed at {} during the read",
            target.display()
        ))),
        Err(err) => Err(ReadFault::Changed(format!(
            "its link no longer resolves ({err})"
        ))),
    }
}

pub(crate) fn hash_whole_and_shards(
    file: &File,
    size: u64,
    shard_size: u64,
    buf: &mut [u8],
    progress: &dyn Progress,
) -> Result<FileDigests, ReadFault> {
    let sharded = shard_count(size, shard_size) > 0;
    let mut whole = Sha256::new();
    let mut shard = Sha256::new();
    let mut shards = Vec::new();
    let mut offset = 0;
    while offset < size {
        let len = shard_size.min(size - offset);
        read_range(file, offset, len, buf, progress, |chunk| {
            whole.update(chunk);
            if sharded {
                shard.update(chunk);
            }
            true
        })?;
        if sharded {
            shards.push(Sha256Digest(shard.finalize_reset().into()));
        }
        offset += len;
    }
    Ok(FileDigests {
        whole: Some(Sha256Digest(whole.finalize().into())),
        shards,
    })
}

/// The SHA-256 of `len` bytes from `offset` of `file`; with `copy` (the
/// staging directory, the listed path, and whether other units write the
/// rest of the file), each chunk hashed is also written to the copy.
pub(crate) fn hash_copying(
    file: &File,
    (offset, len): (u64, u64),
    buf: &mut [u8],
    progress: &dyn Progress,
    copy: Option<(&Staging, &str, bool)>,
) -> Result<Sha256Digest, ReadFault> {
    let mut hasher = Sha256::new();
    let Some((staging, path, pieced)) = copy else {
        read_range(file, offset, len, buf, progress, |chunk| {
            hasher.update(chunk);
            true
        })?;
        return Ok(Sha256Digest(hasher.finalize().into()));
    };
    let mut out = staging
        .open(path, offset, pieced)
        .ok_or_else(copy_stopped)?;
    read_range(file, offset, len, buf, progress, |chunk| {
        hasher.update(chunk);
        out.write(chunk)
    })?;
    out.finish();
    Ok(Sha256Digest(hasher.finalize().into()))
}

/// The fault of a read stopped because the copy failed; the copy's own
/// error is what the caller reports.
fn copy_stopped() -> ReadFault {
    ReadFault::Unreadable("the copy failed, so reading stopped".into())
}

/// Reads exactly `len` bytes from `offset`, handing each chunk to `sink`,
/// which returns false to stop (the copy failed). A cancelled run stops too.
/// When `len` fits in `buf`, `buf[..len]` holds the range afterwards.
pub(crate) fn read_range(
    file: &File,
    offset: u64,
    len: u64,
    buf: &mut [u8],
    progress: &dyn Progress,
    mut sink: impl FnMut(&[u8]) -> bool,
) -> Result<(), ReadFault> {
    const PROGRESS_STEP: u64 = 8 << 20;
    let mut done = 0u64;
    let mut unreported = 0u64;
    // A range that fits in `buf` is read into it in place, even over short
    // reads, so afterwards `buf` holds all of it (inspection reads it there).
    let fits = len <= buf.len() as u64;
    while done < len {
        if progress.cancelled() {
            return Err(ReadFault::Unreadable("the run was cancelled".into()));
        }
        let start = if fits { done as usize } else { 0 };
        let want = (len - done).min((buf.len() - start) as u64) as usize;
        let n = read_at(file, &mut buf[start..start + want], offset + done)
            .map_err(|e| ReadFault::Unreadable(e.to_string()))?;
        if n == 0 {
            return Err(ReadFault::Changed(
                "it became shorter during the read".into(),
            ));
        }
        if !sink(&buf[start..start + n]) {
            return Err(copy_stopped());
        }
        done += n as u64;
        unreported += n as u64;
        if unreported >= PROGRESS_STEP {
            progress.advance(unreported);
            unreported = 0;
        }
    }
    if unreported > 0 {
        progress.advance(unreported);
    }
    Ok(())
}

#[cfg(unix)]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
    use std::os::unix::fs::FileExt;
    loop {
        match file.read_at(buf, offset) {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

#[cfg(windows)]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
    use std::os::windows::fs::FileExt;
    file.seek_read(buf, offset)
}

/// Hands every item of the chunks a shared channel gives out to `each`,
/// until the channel closes or `each` says stop: the loop of the streaming
/// engines' hashing threads.
pub(crate) fn drain_chunks<T>(
    chunks: &std::sync::Mutex<std::sync::mpsc::Receiver<Vec<T>>>,
    mut each: impl FnMut(T) -> bool,
) {
    loop {
        let chunk = match chunks.lock() {
            Ok(receiver) => receiver.recv(),
            Err(_) => return,
        };
        let Ok(chunk) = chunk else {
            return;
        };
        for item in chunk {
            if !each(item) {
                return;
            }
        }
    }
}

/// The number of threads to use when none is given: every core.
pub fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_count_only_shards_files_larger_than_a_shard() {
        assert_eq!(shard_count(0, 10), 0);
        assert_eq!(shard_count(10, 10), 0);
        assert_eq!(shard_count(11, 10), 2);
        assert_eq!(shard_count(30, 10), 3);
    }

    fn request(dir: &Path, name: &str, shard: u64, want: Want) -> HashRequest {
        let meta = std::fs::symlink_metadata(dir.join(name)).unwrap();
        HashRequest {
            path: name.into(),
            stamp: FileStamp::from_metadata(&meta),
            shard_size: shard,
            want,
            source: None,
        }
    }

    #[test]
    fn shards_and_whole_digests_agree_across_modes() {
        let dir = tempfile::tempdir().unwrap();
        let data: Vec<u8> = (0..250_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(dir.path().join("f"), &data).unwrap();
        std::fs::write(dir.path().join("empty"), b"").unwrap();
        let shard = 100_000;
        let reqs = vec![
            request(dir.path(), "f", shard, Want::WholeAndShards),
            request(dir.path(), "f", shard, Want::Shards),
            request(dir.path(), "f", shard, Want::Whole),
            request(dir.path(), "empty", shard, Want::WholeAndShards),
        ];
        let out = hash_files(dir.path(), &reqs, 3, &NoProgress);
        let both = out[0].as_ref().unwrap();
        assert_eq!(both.whole, Some(Sha256Digest::of(&data)));
        let expected: Vec<_> = data.chunks(shard as usize).map(Sha256Digest::of).collect();
        assert_eq!(both.shards, expected);
        assert_eq!(out[1].as_ref().unwrap().shards, expected);
        assert_eq!(out[1].as_ref().unwrap().whole, None);
        assert_eq!(
            out[2].as_ref().unwrap().whole,
            Some(Sha256Digest::of(&data))
        );
        let empty = out[3].as_ref().unwrap();
        assert_eq!(empty.whole, Some(Sha256Digest::of(b"")));
        assert!(empty.shards.is_empty());
    }

    #[test]
    fn a_file_modified_after_listing_is_changed_during_read() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("f"), b"hello").unwrap();
        let req = request(dir.path(), "f", 1 << 20, Want::Whole);
        std::fs::write(dir.path().join("f"), b"hello, world").unwrap();
        let out = hash_files(dir.path(), &[req], 1, &NoProgress);
        assert!(matches!(out[0], Err(ReadFault::Changed(_))), "{:?}", out[0]);
    }

    #[test]
    fn a_range_that_fits_the_buffer_is_left_whole_in_it() {
        let dir = tempfile::tempdir().unwrap();
        let data: Vec<u8> = (0..5000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(dir.path().join("f"), &data).unwrap();
        let file = File::open(dir.path().join("f")).unwrap();
        let mut buf = vec![0xAAu8; 4096];
        let mut seen = Vec::new();
        read_range(&file, 1000, 3000, &mut buf, &NoProgress, |chunk| {
            seen.extend_from_slice(chunk);
            true
        })
        .unwrap();
        assert_eq!(seen, data[1000..4000]);
        assert_eq!(buf[..3000], data[1000..4000]);
    }
}
