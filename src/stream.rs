//! Level 0 as a stream: the sorted listing against a sorted walk, one
//! directory at a time, with the hashing spread over a pool of threads.
//!
//! Neither side is held in memory: the walk hands over one directory's names
//! at a time ([`crate::scan`]), the listing one entry at a time
//! ([`crate::listing`]), and the two are merged like sorted files. Memory
//! grows with the widest directory and the problems found, not with the
//! number of files. The problems are the ones [`crate::intact`] reports, by
//! the same rules, with one addition: two directory names that collide after
//! normalisation and case folding are a `duplicate_path` at the directory.

use crate::digest::Sha256Digest;
use crate::hashing::{self, FileDigests, HashRequest, Progress, Want};
use crate::intact::{self, FileTotals, NameKind};
use crate::listing::{
    LISTING_FILE, ListedFile, Opened, compare_dirs, lineage_keeps, lineage_paths, listing_order,
    open_pinned, split_dir,
};
use crate::manifest::{FileEntry, Manifest};
use crate::model_dir::ModelDir;
use crate::partition::Partition;
use crate::paths::{self, check_path, collision_key};
use crate::problem::{Problem, ProblemKind};
use crate::scan::{self, DirBatch, ScanEntry, ScanKind, Scanner};
use crate::source::SourceError;
use crate::staging::Staging;
use crate::stamp::{FileStamp, ReadFault};
use crate::walk::{WalkError, is_ignored};
use crate::{MANIFEST_FILE, SIGNATURE_FILE};
use ignore::gitignore::Gitignore;
use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};
use std::ffi::CString;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};

/// The signed side of a streaming level 0.
pub struct StreamInput<'a> {
    /// The listed files, in [`crate::listing::listing_order`].
    pub files: &'a mut dyn Iterator<Item = Result<ListedFile, SourceError>>,
    /// Names on disk that need not be listed.
    pub ignore: &'a Gitignore,
    /// The manifest's shard size.
    pub shard_size: u64,
    /// The sum of the listed sizes, for progress and partitions.
    pub total_bytes: u64,
    /// The number of listed files, for partitions.
    pub total_files: u64,
    /// Top-level names the walk leaves out (the manifest's own files).
    pub skipped: &'a [&'a str],
    /// The fix for a file that is not listed, for messages.
    pub unlisted_fix: &'a str,
}

/// How a streaming level 0 runs.
pub struct StreamOptions<'a> {
    /// Hashing threads.
    pub jobs: usize,
    /// Accept a Git LFS pointer whose oid and size match the manifest.
    pub lfs_pointers: bool,
    /// Read and hash contents; when false, only what metadata shows is checked.
    pub read_contents: bool,
    /// Check only this slice of the files.
    pub partition: Option<Partition>,
    /// Which listed files to hand back in [`StreamOutcome::kept`] (the ones
    /// lineage needs; the rest are dropped as soon as they are checked).
    pub keep: &'a (dyn Fn(&ListedFile) -> bool + Sync),
    /// Copy each byte hashed here (`verify --copy-to`).
    pub copy: Option<&'a Staging>,
}

/// What a streaming level 0 found.
#[derive(Debug, Default)]
pub struct StreamOutcome {
    /// Every problem, in path order.
    pub problems: Vec<Problem>,
    /// What was read.
    pub totals: FileTotals,
    /// The listed files `keep` asked for, in listing order.
    pub kept: Vec<FileEntry>,
}

/// Why a streaming level 0 could not finish.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    /// The directory could not be walked.
    #[error(transparent)]
    Walk(#[from] WalkError),
    /// The listing is malformed.
    #[error(transparent)]
    Listing(#[from] SourceError),
}

/// Units of work sent to the hashing threads at once, and how many bytes.
const CHUNK_UNITS: usize = 64;
const CHUNK_BYTES: u64 = 8 << 20;
/// A window of units is sorted largest first before it is sent, as the
/// in-memory engine sorts all of them; windows bound memory and open handles.
const WINDOW_UNITS: usize = 4096;
const WINDOW_BYTES: u64 = 1 << 30;
const WINDOW_DIRS: usize = 256;

/// Level 0 of `model` against `input`, streaming.
pub fn compare_stream(
    model: &ModelDir,
    input: StreamInput<'_>,
    options: &StreamOptions<'_>,
    progress: &dyn Progress,
) -> Result<StreamOutcome, StreamError> {
    let scanner = Scanner::new(model, input.skipped)?;
    let slices = options.partition.map_or(1, |p| u64::from(p.count));
    progress.start(input.total_bytes / slices);
    let shared = Shared::default();
    let jobs = options.jobs.max(1);
    let root = model.root();
    let (unit_tx, unit_rx) = sync_channel::<Vec<Unit>>(jobs * 4);
    let unit_rx = Mutex::new(unit_rx);
    let outcome = std::thread::scope(|scope| {
        let (batch_tx, batch_rx) = sync_channel::<DirBatch>(8);
        scope.spawn(move || {
            for batch in scanner {
                if batch_tx.send(batch).is_err() {
                    break;
                }
            }
        });
        let unit_rx = &unit_rx;
        let shared = &shared;
        let reader = Reader {
            root,
            lfs_pointers: options.lfs_pointers,
            shared,
            progress,
            copy: options.copy,
        };
        for _ in 0..jobs {
            scope.spawn(move || work(unit_rx, reader));
        }
        let mut joiner = Joiner::new(input, options, root, unit_tx);
        let result = joiner.run(batch_rx);
        // Dropping the joiner closes the work channel: the threads finish what
        // was sent and stop.
        let (problems, totals, kept) = joiner.finish();
        result.map(|()| StreamOutcome {
            problems,
            totals,
            kept,
        })
    });
    let mut outcome = outcome?;
    shared.add_to(&mut outcome);
    outcome
        .problems
        .sort_by(|a, b| a.path.cmp(&b.path).then(a.kind.cmp(&b.kind)));
    Ok(outcome)
}

/// What the hashing threads report.
#[derive(Default)]
struct Shared {
    problems: Mutex<Vec<Problem>>,
    checked: AtomicU64,
    bytes: AtomicU64,
    lfs_pointers: AtomicU64,
    lfs_pointers_found: AtomicU64,
}

impl Shared {
    fn problem(&self, problem: Problem) {
        if let Ok(mut problems) = self.problems.lock() {
            problems.push(problem);
        }
    }

    fn add(&self, counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, AtomicOrdering::Relaxed);
    }

    fn add_to(self, outcome: &mut StreamOutcome) {
        let totals = &mut outcome.totals;
        totals.checked += self.checked.into_inner();
        totals.bytes += self.bytes.into_inner();
        totals.lfs_pointers += self.lfs_pointers.into_inner();
        totals.lfs_pointers_found += self.lfs_pointers_found.into_inner();
        match self.problems.into_inner() {
            Ok(problems) => outcome.problems.extend(problems),
            Err(poisoned) => outcome.problems.extend(poisoned.into_inner()),
        }
    }
}

/// One listed file found on disk, to be read by the hashing threads.
struct FileJob {
    dir: Arc<OwnedFd>,
    raw: CString,
    listed: ListedFile,
    shard_size: u64,
    /// Whether this slice reports the file's own problems (its first byte is ours).
    owner: bool,
    blob: Option<(PathBuf, FileStamp)>,
    /// For a sharded file: what its shards found so far.
    shards: Mutex<ShardState>,
}

#[derive(Default)]
struct ShardState {
    remaining: usize,
    bad: Vec<u64>,
    fault: Option<ReadFault>,
    size_wrong: Option<u64>,
}

#[derive(Clone, Copy)]
enum Part {
    Whole,
    Shard { index: u64, offset: u64, len: u64 },
    Blob,
}

struct Unit {
    job: Arc<FileJob>,
    part: Part,
}

impl Unit {
    fn len(&self) -> u64 {
        match self.part {
            Part::Shard { len, .. } => len,
            Part::Whole | Part::Blob => self.job.listed.size,
        }
    }
}

/// One listed file as the join sees it.
struct Listed {
    file: ListedFile,
    /// Where it starts in the partition order.
    offset: u64,
    /// A second entry for a path already listed: checked once, by the first.
    repeat: bool,
}

/// The main thread's side: merges the listing with the walk and sends work.
struct Joiner<'a, 'b> {
    input: StreamInput<'a>,
    options: &'b StreamOptions<'b>,
    root: &'b Path,
    sender: Option<SyncSender<Vec<Unit>>>,
    peeked: Option<Listed>,
    offset: u64,
    twins: ListedTwins,
    problems: Vec<Problem>,
    totals: FileTotals,
    kept: Vec<FileEntry>,
    window: Vec<Unit>,
    window_bytes: u64,
    window_dirs: usize,
    last_dir: Option<*const OwnedFd>,
}

impl<'a, 'b> Joiner<'a, 'b> {
    fn new(
        input: StreamInput<'a>,
        options: &'b StreamOptions<'b>,
        root: &'b Path,
        sender: SyncSender<Vec<Unit>>,
    ) -> Self {
        Joiner {
            input,
            options,
            root,
            sender: Some(sender),
            peeked: None,
            offset: 0,
            twins: ListedTwins::default(),
            problems: Vec::new(),
            totals: FileTotals::default(),
            kept: Vec::new(),
            window: Vec::new(),
            window_bytes: 0,
            window_dirs: 0,
            last_dir: None,
        }
    }

    /// Whether this run reports what no single file owns: names on disk,
    /// collisions, unsafe listed paths (the first slice, or a whole run).
    fn reports_names(&self) -> bool {
        self.options.partition.is_none_or(|p| p.index == 0)
    }

    fn mine(&self, offset: u64) -> bool {
        self.options.partition.is_none_or(|p| {
            p.slice_of(
                offset,
                self.input
                    .total_bytes
                    .saturating_add(self.input.total_files),
            ) == p.index
        })
    }

    fn run(&mut self, batches: Receiver<DirBatch>) -> Result<(), StreamError> {
        for batch in batches {
            self.join_batch(batch)?;
        }
        while let Some(listed) = self.next_listed()? {
            self.missing(&listed);
        }
        self.flush();
        Ok(())
    }

    fn finish(mut self) -> (Vec<Problem>, FileTotals, Vec<FileEntry>) {
        self.flush();
        self.sender = None;
        (
            std::mem::take(&mut self.problems),
            self.totals,
            std::mem::take(&mut self.kept),
        )
    }

    /// The next safe listed file; unsafe ones are reported on the way.
    fn next_listed(&mut self) -> Result<Option<Listed>, StreamError> {
        if let Some(listed) = self.peeked.take() {
            return Ok(Some(listed));
        }
        loop {
            let Some(file) = self.input.files.next().transpose()? else {
                return Ok(None);
            };
            let offset = self.offset;
            // Sizes are an attacker's until the bytes match: never overflow on them.
            self.offset = self.offset.saturating_add(file.size.saturating_add(1));
            if (self.options.keep)(&file) {
                self.kept.push(file.clone().into_entry());
            }
            if let Err(reason) = check_path(&file.path) {
                if self.reports_names() {
                    self.problems.push(Problem::new(
                        ProblemKind::UnsafePath,
                        &file.path,
                        format!(
                            "the manifest lists a path that {reason} (line {}); it was not opened",
                            file.line
                        ),
                    ));
                }
                continue;
            }
            let repeat = self
                .twins
                .note(&file.path, self.reports_names(), &mut self.problems);
            return Ok(Some(Listed {
                file,
                offset,
                repeat,
            }));
        }
    }

    fn peek_dir_order(&mut self, dir: &str) -> Result<Option<Ordering>, StreamError> {
        if self.peeked.is_none() {
            self.peeked = self.next_listed()?;
        }
        Ok(self
            .peeked
            .as_ref()
            .map(|l| compare_dirs(split_dir(&l.file.path).0, dir)))
    }

    fn join_batch(&mut self, batch: DirBatch) -> Result<(), StreamError> {
        if self.reports_names() {
            self.problems.extend(batch.problems.iter().cloned());
        }
        let joinable = batch.unsafe_reason.is_none() && batch.handle.is_some();
        if !joinable {
            self.report_unlisted_names(&batch, &vec![false; batch.entries.len()]);
            return Ok(());
        }
        while self.peek_dir_order(&batch.dir)? == Some(Ordering::Less) {
            if let Some(listed) = self.next_listed()? {
                self.missing(&listed);
            }
        }
        let mut group = Vec::new();
        while self.peek_dir_order(&batch.dir)? == Some(Ordering::Equal) {
            if let Some(listed) = self.next_listed()? {
                group.push(listed);
            }
        }
        let matched = self.join_group(&batch, group);
        self.report_unlisted_names(&batch, &matched);
        if self.reports_names() {
            let twins = disk_twins(&batch, &matched, self.input.ignore);
            let fresh: Vec<Problem> = twins
                .into_iter()
                .filter(|p| self.twins.reported.insert(p.path.clone()))
                .collect();
            self.problems.extend(fresh);
        }
        Ok(())
    }

    /// Merges one directory's listed files with its names on disk; returns
    /// the names that matched a listed file.
    fn join_group(&mut self, batch: &DirBatch, group: Vec<Listed>) -> Vec<bool> {
        let mut matched = vec![false; batch.entries.len()];
        let names: Vec<(usize, &ScanEntry)> = batch
            .entries
            .iter()
            .enumerate()
            .filter(|(_, e)| e.unsafe_reason.is_none() && e.kind != ScanKind::Dir)
            .collect();
        let mut at = 0;
        for listed in group {
            let name = split_dir(&listed.file.path).1;
            while at < names.len() && names[at].1.name.as_str() < name {
                at += 1;
            }
            match names.get(at) {
                Some((index, entry)) if entry.name == name => {
                    matched[*index] = true;
                    if !listed.repeat {
                        self.found(batch, entry, listed);
                    }
                }
                _ => self.missing(&listed),
            }
        }
        matched
    }

    fn missing(&mut self, listed: &Listed) {
        if !listed.repeat && self.mine(listed.offset) {
            self.problems.push(Problem::new(
                ProblemKind::MissingFile,
                &listed.file.path,
                "listed in the manifest but not in the directory",
            ));
        }
    }

    /// A listed file found on disk: its kind, then the units to read.
    fn found(&mut self, batch: &DirBatch, entry: &ScanEntry, listed: Listed) {
        let owner = self.mine(listed.offset);
        let path = &listed.file.path;
        match entry.kind {
            ScanKind::Symlink if owner => self.problems.push(Problem::new(
                ProblemKind::Symlink,
                path,
                "listed file is a symbolic link; links are never followed",
            )),
            ScanKind::Special(what) if owner => self.problems.push(Problem::new(
                ProblemKind::SpecialFile,
                path,
                format!("listed file is a {what}; it was not opened"),
            )),
            ScanKind::File => self.plan(batch, entry, listed, owner),
            _ => {}
        }
    }

    fn plan(&mut self, batch: &DirBatch, entry: &ScanEntry, listed: Listed, owner: bool) {
        let Some(dir) = batch.handle.clone() else {
            return;
        };
        let shard_size = self.input.shard_size;
        if !self.options.read_contents {
            if owner {
                self.metadata_only(&dir, entry, &listed.file);
            }
            return;
        }
        let mut parts = Vec::new();
        if entry.blob.is_some() {
            if owner {
                parts.push(Part::Blob);
            }
        } else if listed.file.shards.is_empty() {
            if owner {
                parts.push(Part::Whole);
            }
        } else {
            let size = listed.file.size;
            for (index, start) in (0..size).step_by(shard_size.max(1) as usize).enumerate() {
                if self.mine(listed.offset.saturating_add(start)) {
                    parts.push(Part::Shard {
                        index: index as u64,
                        offset: start,
                        len: shard_size.min(size - start),
                    });
                }
            }
        }
        if parts.is_empty() {
            return;
        }
        let job = Arc::new(FileJob {
            dir,
            raw: entry.raw.clone(),
            listed: listed.file,
            shard_size,
            owner,
            blob: entry.blob.clone(),
            shards: Mutex::new(ShardState {
                remaining: parts.len(),
                ..ShardState::default()
            }),
        });
        for part in parts {
            self.push(Unit {
                job: Arc::clone(&job),
                part,
            });
        }
    }

    /// The signatures did not hold: only the size is compared, nothing is read.
    fn metadata_only(&mut self, dir: &OwnedFd, entry: &ScanEntry, file: &ListedFile) {
        let size = match &entry.blob {
            Some((_, stamp)) => Some(stamp.size),
            None => scan::stamp_in(dir, &entry.raw)
                .ok()
                .map(|s| scan::stamp_of_stat(&s).size),
        };
        match size {
            Some(size) if size != file.size => {
                let problem = size_problem(self.root, file, size, self.options.lfs_pointers);
                match problem {
                    SizeOutcome::Pointer => self.totals.lfs_pointers += 1,
                    SizeOutcome::Problem(p, pointer) => {
                        self.totals.lfs_pointers_found += u64::from(pointer);
                        self.problems.push(p);
                    }
                }
            }
            _ => self.totals.unread += 1,
        }
    }

    fn push(&mut self, unit: Unit) {
        let dir = Arc::as_ptr(&unit.job.dir);
        if self.last_dir != Some(dir) {
            self.last_dir = Some(dir);
            self.window_dirs += 1;
        }
        self.window_bytes += unit.len();
        self.window.push(unit);
        if self.window.len() >= WINDOW_UNITS
            || self.window_bytes >= WINDOW_BYTES
            || self.window_dirs >= WINDOW_DIRS
        {
            self.flush();
        }
    }

    /// Sends the window, largest units first, in chunks.
    fn flush(&mut self) {
        let mut window = std::mem::take(&mut self.window);
        self.window_bytes = 0;
        self.window_dirs = 0;
        self.last_dir = None;
        let Some(sender) = &self.sender else {
            return;
        };
        window.sort_by_key(|u| std::cmp::Reverse(u.len()));
        let mut chunk = Vec::new();
        let mut chunk_bytes = 0;
        for unit in window {
            chunk_bytes += unit.len();
            chunk.push(unit);
            if chunk.len() >= CHUNK_UNITS || chunk_bytes >= CHUNK_BYTES {
                // A send fails only when every hashing thread is gone.
                let _ = sender.send(std::mem::take(&mut chunk));
                chunk_bytes = 0;
            }
        }
        if !chunk.is_empty() {
            let _ = sender.send(chunk);
        }
    }

    /// Names on disk that match no listed file: unexpected, unsafe, links,
    /// special files (reported by the first slice only).
    fn report_unlisted_names(&mut self, batch: &DirBatch, matched: &[bool]) {
        if !self.reports_names() {
            return;
        }
        for (index, entry) in batch.entries.iter().enumerate() {
            let kind = match entry.kind {
                ScanKind::Dir => continue,
                ScanKind::File => NameKind::File,
                ScanKind::Symlink => NameKind::Symlink,
                ScanKind::Special(what) => NameKind::Special(what),
            };
            let reason = entry.unsafe_reason.or(batch.unsafe_reason);
            if matched[index] || is_ignored(self.input.ignore, &entry.path) {
                continue;
            }
            let fix = self.input.unlisted_fix;
            self.problems
                .push(intact::unlisted_problem(&entry.path, reason, kind, fix));
        }
    }
}

/// Twins among the listed paths: the same path twice, and names of one
/// directory that collide after normalisation and case folding.
#[derive(Default)]
struct ListedTwins {
    /// The current directory's ancestors, root first: each with the
    /// collision keys of the names met in it so far.
    levels: Vec<(String, HashMap<String, String>)>,
    /// Paths already reported as `duplicate_path`.
    reported: HashSet<String>,
}

impl ListedTwins {
    /// Notes a listed path; reports its collisions; says whether it repeats
    /// a path listed just before.
    fn note(&mut self, path: &str, report: bool, problems: &mut Vec<Problem>) -> bool {
        let (dir, name) = split_dir(path);
        self.enter(dir, report, problems);
        let Some((_, names)) = self.levels.last_mut() else {
            return false;
        };
        let key = collision_key(name);
        match names.get(&key) {
            Some(first) => {
                let repeat = first == name;
                let first_path = join(dir, first);
                if report {
                    problems.push(paths::duplicate_problem(&first_path, path));
                    self.reported.insert(path.to_string());
                }
                repeat
            }
            None => {
                names.insert(key, name.to_string());
                false
            }
        }
    }

    /// Moves to `dir`, noting each directory name on the way down.
    fn enter(&mut self, dir: &str, report: bool, problems: &mut Vec<Problem>) {
        if self.levels.is_empty() {
            self.levels.push((String::new(), HashMap::new()));
        }
        if self.levels.last().is_some_and(|(d, _)| d == dir) {
            return;
        }
        while self.levels.len() > 1 && !self.levels.last().is_some_and(|(d, _)| is_ancestor(d, dir))
        {
            self.levels.pop();
        }
        let segments: Vec<&str> = if dir.is_empty() {
            Vec::new()
        } else {
            dir.split('/').collect()
        };
        let depth = self.levels.len() - 1;
        for (i, segment) in segments.iter().enumerate().skip(depth) {
            let parent = segments[..i].join("/");
            let here = join(&parent, segment);
            if let Some((_, names)) = self.levels.last_mut() {
                let key = collision_key(segment);
                match names.get(&key) {
                    Some(first) if first != segment => {
                        if report && self.reported.insert(here.clone()) {
                            problems.push(paths::duplicate_problem(&join(&parent, first), &here));
                        }
                    }
                    Some(_) => {}
                    None => {
                        names.insert(key, segment.to_string());
                    }
                }
            }
            self.levels.push((here, HashMap::new()));
        }
    }
}

fn is_ancestor(ancestor: &str, dir: &str) -> bool {
    ancestor.is_empty()
        || (dir.len() > ancestor.len()
            && dir.starts_with(ancestor)
            && dir.as_bytes()[ancestor.len()] == b'/')
}

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    }
}

/// Names of one directory on disk that collide with a listed or visible
/// name of the same directory (two ignored names may).
fn disk_twins(batch: &DirBatch, matched: &[bool], ignore: &Gitignore) -> Vec<Problem> {
    let safe: Vec<(usize, &ScanEntry)> = batch
        .entries
        .iter()
        .enumerate()
        .filter(|(_, e)| e.unsafe_reason.is_none())
        .collect();
    // Names in lowercase ASCII are their own collision keys, and a directory
    // never holds one name twice.
    if safe.iter().all(|(_, e)| {
        e.name
            .bytes()
            .all(|b| b.is_ascii() && !b.is_ascii_uppercase())
    }) {
        return Vec::new();
    }
    let mut names: Vec<(bool, bool, &ScanEntry)> = safe
        .into_iter()
        .map(|(i, e)| {
            let listed = matched[i];
            (listed, !listed && is_ignored(ignore, &e.path), e)
        })
        .collect();
    // Listed names first, then other visible ones, so the newcomer is named.
    names.sort_by_key(|(listed, ignored, _)| (!listed, *ignored));
    let mut seen: HashMap<String, (&str, bool)> = HashMap::new();
    let mut problems = Vec::new();
    for (_, ignored, entry) in names {
        let key = collision_key(&entry.name);
        match seen.get(&key) {
            Some((first, first_ignored)) => {
                if !(ignored && *first_ignored) {
                    problems.push(paths::duplicate_problem(first, &entry.path));
                }
            }
            None => {
                seen.insert(key, (&entry.path, ignored));
            }
        }
    }
    problems
}

/// A hashing thread: takes chunks of units until the channel closes.
fn work(units: &Mutex<Receiver<Vec<Unit>>>, reader: Reader<'_>) {
    let mut buf = vec![0u8; hashing::READ_SIZE];
    hashing::drain_chunks(units, |unit| {
        reader.run(&unit, &mut buf);
        true
    });
}

enum SizeOutcome {
    /// An accepted Git LFS pointer.
    Pointer,
    /// The problem, and whether the file is a Git LFS pointer.
    Problem(Problem, bool),
}

/// The problem of a listed file whose size on disk is `size`.
fn size_problem(root: &Path, file: &ListedFile, size: u64, lfs_pointers: bool) -> SizeOutcome {
    let expected = file.expected();
    match intact::lfs_pointer_problem(&expected, file.size, &root.join(&file.path), lfs_pointers) {
        Some(None) => SizeOutcome::Pointer,
        Some(Some(problem)) => SizeOutcome::Problem(problem, true),
        None => SizeOutcome::Problem(
            Problem::new(
                ProblemKind::SizeMismatch,
                &file.path,
                format!("size is {size} bytes; the manifest says {}", file.size),
            ),
            false,
        ),
    }
}

/// Reads one unit and reports what it found.
#[derive(Clone, Copy)]
struct Reader<'r> {
    root: &'r Path,
    lfs_pointers: bool,
    shared: &'r Shared,
    progress: &'r dyn Progress,
    copy: Option<&'r Staging>,
}

impl Reader<'_> {
    fn run(&self, unit: &Unit, buf: &mut [u8]) {
        let job = &unit.job;
        match unit.part {
            Part::Blob => self.blob(job),
            Part::Whole => match self.read(job, 0, job.listed.size, buf) {
                Ok(Some(digest)) => {
                    self.counted(job.listed.size, true);
                    if let Some(p) =
                        intact::whole_mismatch(&job.listed.path, &digest, &job.listed.sha256)
                    {
                        self.shared.problem(p);
                    }
                }
                Ok(None) => {}
                Err(fault) => {
                    self.counted(job.listed.size, true);
                    self.shared
                        .problem(intact::fault_problem(&job.listed.path, fault));
                }
            },
            Part::Shard { index, offset, len } => {
                let result = self.read(job, offset, len, buf);
                self.shard_done(job, index, len, result);
            }
        }
    }

    fn counted(&self, bytes: u64, file: bool) {
        self.shared.add(&self.shared.bytes, bytes);
        if file {
            self.shared.add(&self.shared.checked, 1);
        }
    }

    /// Records one shard; the last shard of the file reports for it.
    fn shard_done(
        &self,
        job: &FileJob,
        index: u64,
        len: u64,
        result: Result<Option<Sha256Digest>, ReadFault>,
    ) {
        let Ok(mut state) = job.shards.lock() else {
            return;
        };
        match result {
            Ok(Some(digest)) => {
                self.counted(len, false);
                if job.listed.shards.get(index as usize) != Some(&digest) {
                    state.bad.push(index);
                }
            }
            Ok(None) => state.size_wrong = Some(0),
            Err(fault) => {
                self.counted(len, false);
                state.fault.get_or_insert(fault);
            }
        }
        state.remaining -= 1;
        if state.remaining > 0 {
            return;
        }
        if state.size_wrong.is_some() {
            return;
        }
        if job.owner {
            self.shared.add(&self.shared.checked, 1);
        }
        let path = &job.listed.path;
        if let Some(fault) = state.fault.take() {
            self.shared.problem(intact::fault_problem(path, fault));
        } else if !state.bad.is_empty() {
            let count = job.listed.shards.len() as u64;
            let bad = std::mem::take(&mut state.bad);
            self.shared
                .problem(intact::shard_mismatch(path, bad, count, job.shard_size));
        }
    }

    /// Hashes `len` bytes from `offset` of the job's file, relative to its
    /// directory. `Ok(None)`: its size is not the listed one (reported here
    /// by the slice that owns the file).
    fn read(
        &self,
        job: &FileJob,
        offset: u64,
        len: u64,
        buf: &mut [u8],
    ) -> Result<Option<Sha256Digest>, ReadFault> {
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
        if before.size != job.listed.size {
            if job.owner && offset == 0 {
                self.report_size(job, before.size);
            }
            return Ok(None);
        }
        let pieced = len != job.listed.size;
        let copy = self.copy.map(|c| (c, job.listed.path.as_str(), pieced));
        let digest = hashing::hash_copying(&file, (offset, len), buf, self.progress, copy)?;
        match scan::stamp_in(&job.dir, &job.raw) {
            Ok(stat) if scan::is_regular(&stat) && scan::stamp_of_stat(&stat) == before => {
                Ok(Some(digest))
            }
            Ok(stat) if scan::is_regular(&stat) && scan::stamp_of_stat(&stat).ino == before.ino => {
                Err(ReadFault::Changed(
                    "its size or times changed during the read".into(),
                ))
            }
            Ok(_) => Err(ReadFault::Changed(
                "the name was pointed at another file during the read".into(),
            )),
            Err(err) => Err(ReadFault::Changed(format!(
                "it vanished during the read ({})",
                std::io::Error::from(err)
            ))),
        }
    }

    fn report_size(&self, job: &FileJob, size: u64) {
        match size_problem(self.root, &job.listed, size, self.lfs_pointers) {
            SizeOutcome::Pointer => self.shared.add(&self.shared.lfs_pointers, 1),
            SizeOutcome::Problem(problem, pointer) => {
                self.shared
                    .add(&self.shared.lfs_pointers_found, u64::from(pointer));
                self.shared.problem(problem);
            }
        }
    }

    /// A Hub cache link: read through the blob it names, by path, as the
    /// in-memory engine does.
    fn blob(&self, job: &FileJob) {
        let Some((blob, stamp)) = &job.blob else {
            return;
        };
        let listed = &job.listed;
        if stamp.size != listed.size {
            self.report_size(job, stamp.size);
            return;
        }
        let request = HashRequest {
            path: listed.path.clone(),
            stamp: *stamp,
            shard_size: job.shard_size,
            want: if listed.shards.is_empty() {
                Want::Whole
            } else {
                Want::Shards
            },
            source: Some(blob.clone()),
        };
        let requests = std::slice::from_ref(&request);
        let result = hashing::hash_files_copying(self.root, requests, 1, self.progress, self.copy)
            .pop()
            .unwrap_or_else(|| Err(ReadFault::Unreadable("no result was returned".into())));
        self.counted(listed.size, true);
        let expected = listed.expected();
        if let Some(p) = intact::blob_name_problem(&expected, Some(blob)) {
            self.shared.problem(p);
        }
        let digests: Result<FileDigests, ReadFault> = result;
        if let Some(p) = intact::compare_digests(&expected, &request, digests) {
            self.shared.problem(p);
        }
    }
}

/// How [`check_manifest`] reads.
#[derive(Debug, Clone, Copy)]
pub struct ManifestCheck<'a> {
    /// Hashing threads.
    pub jobs: usize,
    /// Accept Git LFS pointers that match the signed digests.
    pub lfs_pointers: bool,
    /// Read and hash contents; when false, only what metadata shows is checked.
    pub read_contents: bool,
    /// Check only this slice of the files.
    pub partition: Option<Partition>,
    /// Copy each byte hashed here (`verify --copy-to`).
    pub copy: Option<&'a Staging>,
}

/// Level 0 of a model directory against its manifest, in either form,
/// streaming. For the large form it fills `manifest.files` with what
/// lineage needs ([`crate::listing::lineage_keeps`]).
pub fn check_manifest(
    model: &ModelDir,
    manifest: &mut Manifest,
    how: ManifestCheck<'_>,
    progress: &dyn Progress,
) -> Result<(Vec<Problem>, FileTotals), StreamError> {
    let ignore = crate::walk::ignore_matcher(&manifest.ignore)?;
    let shard_size = manifest.hashing.shard_size;
    let unlisted_fix = "run `modelseal update` if it belongs, or add it to ignore";
    let Some(pin) = manifest.listing.clone() else {
        // The entries in listing order, by index: each becomes a ListedFile
        // only as the stream reaches it, so no second copy of them is held.
        let entries = &manifest.files;
        let mut order: Vec<usize> = (0..entries.len()).collect();
        order.sort_by(|&a, &b| listing_order(&entries[a].path, &entries[b].path));
        let input = StreamInput {
            total_bytes: entries
                .iter()
                .fold(0u64, |sum, f| sum.saturating_add(f.size)),
            total_files: entries.len() as u64,
            files: &mut order.iter().map(|&i| Ok(ListedFile::of_entry(&entries[i]))),
            ignore: &ignore,
            shard_size,
            skipped: &[MANIFEST_FILE, SIGNATURE_FILE],
            unlisted_fix,
        };
        let options = StreamOptions {
            jobs: how.jobs,
            lfs_pointers: how.lfs_pointers,
            read_contents: how.read_contents,
            partition: how.partition,
            keep: &|_| false,
            copy: how.copy,
        };
        let outcome = compare_stream(model, input, &options, progress)?;
        return Ok((outcome.problems, outcome.totals));
    };
    let mut listing = match open_pinned(model, &pin, shard_size, true)? {
        Opened::Ready(listing) => *listing,
        Opened::Refused(problem) => return Ok((vec![problem], FileTotals::default())),
    };
    let named = lineage_paths(manifest);
    let input = StreamInput {
        total_bytes: pin.bytes,
        total_files: pin.files,
        files: &mut listing,
        ignore: &ignore,
        shard_size,
        skipped: &[MANIFEST_FILE, SIGNATURE_FILE, LISTING_FILE],
        unlisted_fix,
    };
    let options = StreamOptions {
        jobs: how.jobs,
        lfs_pointers: how.lfs_pointers,
        read_contents: how.read_contents,
        partition: how.partition,
        keep: &|file| lineage_keeps(file, &named),
        copy: how.copy,
    };
    let outcome = compare_stream(model, input, &options, progress)?;
    manifest.files = outcome.kept;
    Ok((outcome.problems, outcome.totals))
}
