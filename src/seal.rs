//! Sealing as a stream: every file `init` and `update` must list, hashed
//! over a pool of threads and handed on in listing order, one at a time.
//!
//! A walker thread reads the directory one directory at a time
//! ([`crate::scan`]) and sends each file to the hashing threads; the caller's
//! thread puts the results back in order and passes each to a sink (which
//! writes a listing line, say). Only the files in flight are held.

use crate::digest::Sha256Digest;
use crate::hashing::{self, Progress};
use crate::inspect::{self, files::ContentFinding};
use crate::listing::ListedFile;
use crate::manifest::Role;
use crate::model_dir::ModelDir;
use crate::paths::{self, collision_key};
use crate::problem::{Problem, ProblemKind};
use crate::scan::{self, DirBatch, ScanEntry, ScanKind, Scanner};
use crate::stamp::{FileStamp, ReadFault};
use crate::walk::{WalkError, is_ignored};
use ignore::gitignore::Gitignore;
use std::collections::{BTreeMap, HashMap};
use std::ffi::CString;
use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, Sender, SyncSender, channel, sync_channel};
use std::sync::{Arc, Mutex};

/// What to seal.
pub struct SealInput<'a> {
    /// Names that need not be listed.
    pub ignore: &'a Gitignore,
    /// Whether the manifest has `ignore` patterns of its own (else only the
    /// default ones apply, which match top-level names only).
    pub has_patterns: bool,
    /// Top-level names the walk leaves out (the manifest's own files).
    pub skipped: &'a [&'a str],
    /// The shard size.
    pub shard_size: u64,
    /// Hashing threads.
    pub jobs: usize,
    /// Where to gather what content inspection finds, in the same read as
    /// the hashing (`init` warns of it); `None` inspects nothing.
    pub content: Option<&'a Mutex<Vec<ContentFinding>>>,
}

/// One file sealed: its path, size and digests (its role is the caller's).
pub type Sealed = ListedFile;

/// Why sealing stopped.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    /// The directory cannot be walked.
    #[error(transparent)]
    Walk(#[from] WalkError),
    /// Files that cannot be listed: links, special files, unsafe or colliding
    /// names, Git LFS pointers, unreadable or changing files.
    #[error("{} file(s) cannot be listed", .0.len())]
    NotSealable(Vec<Problem>),
    /// The sink refused a file.
    #[error("{0}")]
    Sink(String),
}

struct Job {
    dir: Arc<OwnedFd>,
    raw: CString,
    path: String,
    blob: Option<(PathBuf, FileStamp)>,
    seq: u64,
}

enum Message {
    Sealed(u64, Result<Sealed, Problem>),
    Problem(Problem),
    Files(u64),
}

/// Seals every file of `model` that `input` does not ignore, handing each to
/// `sink` in listing order. Returns the number of files; every file that
/// cannot be sealed is reported, after the walk, as [`SealError::NotSealable`].
pub fn seal(
    model: &ModelDir,
    input: &SealInput<'_>,
    progress: &dyn Progress,
    sink: &mut dyn FnMut(Sealed) -> Result<(), String>,
) -> Result<u64, SealError> {
    let scanner = Scanner::new(model, input.skipped)?;
    progress.start(0);
    let jobs = input.jobs.max(1);
    let (job_tx, job_rx) = sync_channel::<Vec<Job>>(jobs * 4);
    let job_rx = Mutex::new(job_rx);
    let (msg_tx, msg_rx) = channel::<Message>();
    std::thread::scope(|scope| {
        let walker_tx = msg_tx.clone();
        scope.spawn(move || walk(scanner, input, job_tx, walker_tx));
        let job_rx = &job_rx;
        let root = model.root();
        for _ in 0..jobs {
            let tx = msg_tx.clone();
            scope.spawn(move || hash(job_rx, root, input, tx, progress));
        }
        drop(msg_tx);
        collect(msg_rx, sink)
    })
}

/// Puts results back in order for the sink; gathers the problems.
fn collect(
    messages: Receiver<Message>,
    sink: &mut dyn FnMut(Sealed) -> Result<(), String>,
) -> Result<u64, SealError> {
    let mut waiting: BTreeMap<u64, Result<Sealed, Problem>> = BTreeMap::new();
    let mut next = 0u64;
    let mut problems = Vec::new();
    let mut refused = None;
    let mut total = None;
    for message in messages {
        match message {
            Message::Sealed(seq, result) => {
                waiting.insert(seq, result);
            }
            Message::Problem(p) => problems.push(p),
            Message::Files(n) => total = Some(n),
        }
        while let Some(result) = waiting.remove(&next) {
            next += 1;
            match result {
                Ok(file) if problems.is_empty() && refused.is_none() => {
                    if let Err(why) = sink(file) {
                        refused = Some(why);
                    }
                }
                Ok(_) => {}
                Err(problem) => problems.push(problem),
            }
        }
    }
    if let Some(why) = refused {
        return Err(SealError::Sink(why));
    }
    if !problems.is_empty() {
        problems.sort_by(|a, b| a.path.cmp(&b.path).then(a.kind.cmp(&b.kind)));
        return Err(SealError::NotSealable(problems));
    }
    match total {
        Some(n) if n == next => Ok(n),
        _ => Err(SealError::Sink(
            "the directory walk stopped before its end (a bug in modelseal; please report it)"
                .into(),
        )),
    }
}

/// The walker thread: judges every name, sends the files to hash.
fn walk(scanner: Scanner, input: &SealInput<'_>, jobs: SyncSender<Vec<Job>>, out: Sender<Message>) {
    let mut seq = 0u64;
    let mut chunk = Vec::new();
    for batch in scanner {
        for problem in batch.problems.iter().cloned() {
            let _ = out.send(Message::Problem(problem));
        }
        let kept: Vec<&ScanEntry> = batch
            .entries
            .iter()
            .filter(|e| !ignored(input, e))
            .collect();
        for problem in twins(&kept) {
            let _ = out.send(Message::Problem(problem));
        }
        for entry in kept {
            if let Some(problem) = refusal(&batch, entry) {
                let _ = out.send(Message::Problem(problem));
                continue;
            }
            let (Some(dir), ScanKind::File) = (&batch.handle, &entry.kind) else {
                continue;
            };
            chunk.push(Job {
                dir: Arc::clone(dir),
                raw: entry.raw.clone(),
                path: entry.path.clone(),
                blob: entry.blob.clone(),
                seq,
            });
            seq += 1;
            if chunk.len() >= 32 && jobs.send(std::mem::take(&mut chunk)).is_err() {
                return;
            }
        }
    }
    if !chunk.is_empty() {
        let _ = jobs.send(chunk);
    }
    let _ = out.send(Message::Files(seq));
}

fn ignored(input: &SealInput<'_>, entry: &ScanEntry) -> bool {
    if entry.kind == ScanKind::Dir {
        return false;
    }
    // Without patterns of its own, only the defaults apply, and they name
    // top-level files: no need to match every path.
    if !input.has_patterns && entry.path.contains('/') {
        return false;
    }
    is_ignored(input.ignore, &entry.path)
}

/// Names of one directory that collide after normalisation and case folding.
fn twins(entries: &[&ScanEntry]) -> Vec<Problem> {
    let lower = |e: &&ScanEntry| {
        e.name
            .bytes()
            .all(|b| b.is_ascii() && !b.is_ascii_uppercase())
    };
    if entries.iter().all(lower) {
        return Vec::new();
    }
    let mut seen: HashMap<String, &str> = HashMap::new();
    let mut problems = Vec::new();
    for entry in entries.iter().filter(|e| e.unsafe_reason.is_none()) {
        match seen.get(&collision_key(&entry.name)) {
            Some(first) => problems.push(paths::duplicate_problem(first, &entry.path)),
            None => {
                seen.insert(collision_key(&entry.name), &entry.path);
            }
        }
    }
    problems
}

/// Why a name cannot be listed, if it cannot.
fn refusal(batch: &DirBatch, entry: &ScanEntry) -> Option<Problem> {
    let path = entry.path.as_str();
    if let Some(reason) = entry.unsafe_reason.or(batch.unsafe_reason) {
        if entry.kind == ScanKind::Dir {
            return None;
        }
        return Some(Problem::new(
            ProblemKind::UnsafePath,
            path,
            format!("a file name that {reason}; rename it or add it to ignore"),
        ));
    }
    match entry.kind {
        ScanKind::Symlink => Some(Problem::new(
            ProblemKind::Symlink,
            path,
            "a symbolic link; replace it with the file it names, or add it to ignore",
        )),
        ScanKind::Special(what) => Some(Problem::new(
            ProblemKind::SpecialFile,
            path,
            format!("a {what}; remove it or add it to ignore"),
        )),
        ScanKind::File | ScanKind::Dir => None,
    }
}

/// A hashing thread.
fn hash(
    jobs: &Mutex<Receiver<Vec<Job>>>,
    root: &std::path::Path,
    input: &SealInput<'_>,
    out: Sender<Message>,
    progress: &dyn Progress,
) {
    let mut buf = vec![0u8; hashing::READ_SIZE];
    hashing::drain_chunks(jobs, |job| {
        let result = seal_one(&job, root, input, &mut buf, progress);
        out.send(Message::Sealed(job.seq, result)).is_ok()
    });
}

fn seal_one(
    job: &Job,
    root: &std::path::Path,
    input: &SealInput<'_>,
    buf: &mut [u8],
    progress: &dyn Progress,
) -> Result<Sealed, Problem> {
    let shard_size = input.shard_size;
    let inspect = Inspect {
        path: &job.path,
        into: input.content,
    };
    let fault = |fault: ReadFault| match fault {
        ReadFault::Changed(why) => Problem::new(
            ProblemKind::ChangedDuringRead,
            &job.path,
            format!("changed while it was read ({why})"),
        ),
        ReadFault::Unreadable(why) => Problem::new(ProblemKind::UnreadableFile, &job.path, why),
    };
    let (size, digests, head) = match &job.blob {
        Some((blob, stamp)) => {
            let read = read_blob(job, root, blob, *stamp, shard_size, progress).map_err(fault)?;
            inspect.blob(blob);
            read
        }
        None => read_in_dir(job, shard_size, buf, progress, &inspect).map_err(fault)?,
    };
    // Sealing a Git LFS pointer would sign the pointer, not the weights.
    if let Some(pointer) = head {
        return Err(Problem::new(
            ProblemKind::SizeMismatch,
            &job.path,
            format!(
                "is a Git LFS pointer (oid sha256:{}, {} bytes), not the content: run `git lfs pull` first",
                pointer.oid, pointer.size
            ),
        ));
    }
    Ok(ListedFile {
        path: job.path.clone(),
        role: Role::Other,
        size,
        sha256: digests.0,
        shards: digests.1,
        line: 0,
    })
}

/// A file's size and digests, and the Git LFS pointer it is, if it is one.
type Read = (
    u64,
    (Sha256Digest, Vec<Sha256Digest>),
    Option<crate::lfs::LfsPointer>,
);

fn read_in_dir(
    job: &Job,
    shard_size: u64,
    buf: &mut [u8],
    progress: &dyn Progress,
    inspect: &Inspect<'_>,
) -> Result<Read, ReadFault> {
    let unreadable =
        |e: rustix::io::Errno| ReadFault::Unreadable(std::io::Error::from(e).to_string());
    let file = scan::open_in(&job.dir, &job.raw).map_err(unreadable)?;
    let meta = file
        .metadata()
        .map_err(|e| ReadFault::Unreadable(e.to_string()))?;
    if !meta.is_file() {
        return Err(ReadFault::Changed("it is no longer a regular file".into()));
    }
    let before = FileStamp::from_metadata(&meta);
    let digests = hashing::hash_whole_and_shards(&file, before.size, shard_size, buf, progress)?;
    // Hashing a file this small took one read, so its bytes are still in
    // `buf`: only one that starts like a Git LFS pointer is read again whole.
    let small = before.size <= crate::lfs::MAX_POINTER_BYTES;
    let head = (small && buf.starts_with(b"version "))
        .then(|| {
            let mut bytes = vec![0u8; before.size as usize];
            std::os::unix::fs::FileExt::read_exact_at(&file, &mut bytes, 0).ok()?;
            crate::lfs::parse(&bytes)
        })
        .flatten();
    // Inspected before the name is checked again: a change during the
    // inspection fails the file as one during the hashing does.
    inspect.open(&file, before.size, buf);
    match scan::stamp_in(&job.dir, &job.raw) {
        Ok(stat) if scan::is_regular(&stat) && scan::stamp_of_stat(&stat) == before => {}
        _ => {
            return Err(ReadFault::Changed(
                "its name, size or times changed during the read".into(),
            ));
        }
    }
    let whole = digests
        .whole
        .ok_or_else(|| ReadFault::Unreadable("no whole-file digest was computed".into()))?;
    Ok((before.size, (whole, digests.shards), head))
}

/// Content inspection of one file in the hashing pass, when asked for.
struct Inspect<'a> {
    path: &'a str,
    into: Option<&'a Mutex<Vec<ContentFinding>>>,
}

impl Inspect<'_> {
    /// Inspects the open file just hashed; `buf` holds all its bytes when
    /// it is no longer than `buf`, so a small file costs no read.
    fn open(&self, file: &std::fs::File, len: u64, buf: &[u8]) {
        if self.into.is_none() {
            return;
        }
        let small = usize::try_from(len).ok().and_then(|n| buf.get(..n));
        let found = match small {
            Some(bytes) => inspect::inspect(&inspect::InMemory(bytes)),
            None => inspect::inspect(&inspect::FileSource { file, len }),
        };
        // A file that cannot be read again is simply not inspected: init
        // only warns, and the hashing has its own verdict on the file.
        if let Ok(found) = found {
            self.record(found.problems);
        }
    }

    /// Inspects a Hub cache blob, opened anew (never following a link).
    fn blob(&self, blob: &std::path::Path) {
        if self.into.is_none() {
            return;
        }
        let Ok(file) = crate::stamp::open_no_follow(blob) else {
            return;
        };
        if let Ok(stamp) = crate::stamp::stamp_of_open(&file) {
            self.open(&file, stamp.size, &[]);
        }
    }

    fn record(&self, problems: Vec<inspect::ContentProblem>) {
        let Some(into) = self.into.filter(|_| !problems.is_empty()) else {
            return;
        };
        let Ok(mut found) = into.lock() else { return };
        found.extend(problems.into_iter().map(|p| ContentFinding {
            kind: p.kind,
            path: self.path.to_string(),
            message: p.message,
            action: crate::inspect::policy::Action::Fail,
            allowed_by: None,
        }));
    }
}

fn read_blob(
    job: &Job,
    root: &std::path::Path,
    blob: &std::path::Path,
    stamp: FileStamp,
    shard_size: u64,
    progress: &dyn Progress,
) -> Result<Read, ReadFault> {
    let request = hashing::HashRequest {
        path: job.path.clone(),
        stamp,
        shard_size,
        want: hashing::Want::WholeAndShards,
        source: Some(blob.to_path_buf()),
    };
    let digests = hashing::hash_files(root, std::slice::from_ref(&request), 1, progress)
        .pop()
        .unwrap_or_else(|| Err(ReadFault::Unreadable("no result was returned".into())))?;
    let whole = digests
        .whole
        .ok_or_else(|| ReadFault::Unreadable("no whole-file digest was computed".into()))?;
    Ok((stamp.size, (whole, digests.shards), crate::lfs::read(blob)))
}
