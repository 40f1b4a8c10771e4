//! Level 0, intact: the directory against the manifest's listing.
//!
//! Every name on disk is judged by its raw bytes and its path relative to the
//! model root; every listed file present with the right size is hashed, unless
//! the caller asks for metadata only (the signatures did not hold, so the
//! listed sizes are an attacker's and reading them could cost gigabytes).

use crate::cache::DigestCache;
use crate::digest::Sha256Digest;
use crate::hashing::{self, FileDigests, HashRequest, Progress, Want};
use crate::manifest::Manifest;
use crate::paths;
use crate::problem::{Problem, ProblemKind};
use crate::stamp::ReadFault;
use crate::walk::{self, Entry, EntryKind, Listing, WalkError};
use ignore::gitignore::Gitignore;
use std::collections::{HashMap, HashSet};
use std::path::Path;

/// What the manifest says one file must be: the shape level 0 checks,
/// whichever format (our manifest, an OMS bundle) it came from.
#[derive(Debug, Clone, Copy)]
pub struct ExpectedFile<'a> {
    /// Relative, `/`-separated path, as signed.
    pub path: &'a str,
    /// Its size, where the format records one (an OMS bundle in files mode
    /// does not: then only the digest decides).
    pub size: Option<u64>,
    /// The digests its bytes must have.
    pub content: Content<'a>,
    /// Where the entry stands in its source (a line, a resource number),
    /// for messages.
    pub place: usize,
}

/// The digests a file must have.
#[derive(Debug, Clone, Copy)]
pub enum Content<'a> {
    /// The SHA-256 of the whole file.
    Whole(&'a Sha256Digest),
    /// The SHA-256 of each `shard_size` slice, in order.
    Shards(&'a [Sha256Digest]),
}

/// Everything level 0 compares a directory with.
pub struct Expectation<'a> {
    /// The signed files, in source order.
    pub files: Vec<ExpectedFile<'a>>,
    /// Names on disk that need not be listed.
    pub ignore: Gitignore,
    /// Shard size in bytes of every [`Content::Shards`].
    pub shard_size: u64,
    /// What [`ExpectedFile::place`] counts, for messages: `line`, `resource`.
    pub place_label: &'static str,
    /// The fix for a file that is not listed, for messages.
    pub unlisted_fix: &'static str,
}

impl<'a> Expectation<'a> {
    /// The expectation a format 1 manifest sets.
    pub fn of_manifest(manifest: &'a Manifest) -> Result<Self, WalkError> {
        let files = manifest
            .files
            .iter()
            .map(|entry| ExpectedFile {
                path: &entry.path,
                size: Some(entry.size),
                content: if entry.shards.is_empty() {
                    Content::Whole(&entry.sha256)
                } else {
                    Content::Shards(&entry.shards)
                },
                place: entry.line,
            })
            .collect();
        Ok(Expectation {
            files,
            ignore: walk::ignore_matcher(&manifest.ignore)?,
            shard_size: manifest.hashing.shard_size,
            place_label: "line",
            unlisted_fix: "run `modelseal update` if it belongs, or add it to ignore",
        })
    }
}

/// Totals of the file check.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FileTotals {
    /// Files whose bytes were checked.
    pub checked: u64,
    /// The sum of their sizes.
    pub bytes: u64,
    /// Of those, files the stat cache answered for (`check` only).
    pub from_cache: u64,
    /// Git LFS pointers accepted in place of their content (`--lfs-pointers`).
    pub lfs_pointers: u64,
    /// Git LFS pointers found in place of listed files and not accepted
    /// (each is a problem): what the fix for them is depends on it.
    pub lfs_pointers_found: u64,
    /// Listed files present with their listed size whose contents were not
    /// read, because the signatures did not hold (metadata only).
    pub unread: u64,
}

/// How level 0 reads files.
pub struct FileCheckOptions<'a> {
    /// Hashing threads.
    pub jobs: usize,
    /// Accept a Git LFS pointer whose oid and size match the manifest in
    /// place of the content.
    pub lfs_pointers: bool,
    /// A stat cache to answer for unchanged files (`check` only, never `verify`).
    pub cache: Option<&'a mut DigestCache>,
    /// Read and hash contents; when false, only what metadata shows is checked.
    pub read_contents: bool,
    /// Copy each byte hashed here (`verify --copy-to`).
    pub copy: Option<&'a crate::staging::Staging>,
}

/// Level 0: compares the directory with the manifest, hashing every listed
/// file that is present with the right size. Returns every problem found.
pub fn check_files(
    dir: &Path,
    manifest: &Manifest,
    jobs: usize,
    progress: &dyn Progress,
) -> Result<(Vec<Problem>, FileTotals), WalkError> {
    let listing = walk::list(&crate::model_dir::ModelDir::new(dir))?;
    let mut options = FileCheckOptions {
        jobs,
        lfs_pointers: false,
        cache: None,
        read_contents: true,
        copy: None,
    };
    compare_listing(dir, manifest, listing, &mut options, progress)
}

/// Level 0 on a listing already made.
pub fn compare_listing(
    dir: &Path,
    manifest: &Manifest,
    listing: Listing,
    options: &mut FileCheckOptions<'_>,
    progress: &dyn Progress,
) -> Result<(Vec<Problem>, FileTotals), WalkError> {
    let expected = Expectation::of_manifest(manifest)?;
    Ok(compare_expected(dir, &expected, listing, options, progress))
}

/// Level 0 on a listing already made, against any signed expectation.
pub fn compare_expected(
    dir: &Path,
    expected: &Expectation<'_>,
    mut listing: Listing,
    options: &mut FileCheckOptions<'_>,
    progress: &dyn Progress,
) -> (Vec<Problem>, FileTotals) {
    listing.apply_ignore(&expected.ignore);
    let mut problems = std::mem::take(&mut listing.problems);
    let listed = listed_entries(expected, &mut problems);
    let reported: HashSet<String> = problems
        .iter()
        .filter(|p| p.kind == ProblemKind::DuplicatePath)
        .map(|p| p.path.clone())
        .collect();
    problems.extend(
        disk_collisions(&listing.entries, &listed)
            .into_iter()
            .filter(|p| !reported.contains(&p.path)),
    );
    // Only names that pass the path rules can be a listed name: a name that
    // is not UTF-8 never matches one, however it renders.
    let on_disk: HashMap<&str, &Entry> = listing
        .entries
        .iter()
        .filter(|e| e.unsafe_reason.is_none())
        .map(|e| (e.path.as_str(), e))
        .collect();
    let mut totals = FileTotals::default();
    let mut reads = Vec::new();
    for entry in listed.in_order() {
        match on_disk.get(entry.path) {
            None => problems.push(Problem::new(
                ProblemKind::MissingFile,
                entry.path,
                "listed in the manifest but not in the directory",
            )),
            Some(found) => {
                let planned =
                    plan_read(dir, expected.shard_size, entry, found, options, &mut totals);
                match planned {
                    Planned::Read(request, blob_problem) => {
                        problems.extend(blob_problem);
                        reads.push((request, entry));
                    }
                    Planned::Problem(problem) => problems.push(problem),
                    Planned::Nothing => {}
                }
            }
        }
    }
    problems.extend(
        listing
            .entries
            .iter()
            .filter(|e| !e.ignored && (e.unsafe_reason.is_some() || !listed.has(&e.path)))
            .map(|e| {
                unlisted_problem(
                    &e.path,
                    e.unsafe_reason,
                    NameKind::of(&e.kind),
                    expected.unlisted_fix,
                )
            }),
    );
    if options.read_contents {
        problems.extend(hash_and_compare(
            dir,
            &reads,
            options,
            &mut totals,
            progress,
        ));
    } else {
        totals.unread = reads.len() as u64;
    }
    problems.sort_by(|a, b| a.path.cmp(&b.path).then(a.kind.cmp(&b.kind)));
    (problems, totals)
}

/// The signed side's safe, distinct entries, looked up by path.
struct ListedFiles<'m> {
    by_path: HashMap<&'m str, &'m ExpectedFile<'m>>,
    /// The same entries in signed order.
    order: Vec<&'m ExpectedFile<'m>>,
}

impl<'m> ListedFiles<'m> {
    fn has(&self, path: &str) -> bool {
        self.by_path.contains_key(path)
    }

    fn in_order(&self) -> impl Iterator<Item = &'m ExpectedFile<'m>> + '_ {
        self.order.iter().copied()
    }
}

/// The signed side: unsafe and colliding paths are reported and never
/// touched; the first of colliding entries is kept.
fn listed_entries<'m>(
    expected: &'m Expectation<'m>,
    problems: &mut Vec<Problem>,
) -> ListedFiles<'m> {
    let mut safe = Vec::with_capacity(expected.files.len());
    for entry in &expected.files {
        match paths::check_path(entry.path) {
            Ok(()) => safe.push(entry),
            Err(reason) => problems.push(Problem::new(
                ProblemKind::UnsafePath,
                entry.path,
                format!(
                    "the manifest lists a path that {reason} ({} {}); it was not opened",
                    expected.place_label, entry.place
                ),
            )),
        }
    }
    let pairs = paths::colliding_pairs(safe.iter().map(|e| e.path));
    problems.extend(pairs.iter().map(|(a, b)| paths::duplicate_problem(a, b)));
    let mut by_path = HashMap::with_capacity(safe.len());
    let mut order = Vec::with_capacity(safe.len());
    for entry in safe {
        // A path listed twice is checked once, against its first entry.
        if !by_path.contains_key(entry.path) {
            by_path.insert(entry.path, entry);
            order.push(entry);
        }
    }
    ListedFiles { by_path, order }
}

/// The directory side: names on disk that collide with another name that is
/// listed or not ignored. An ignored name counts too: with `ignore = ["*.bin",
/// "!pytorch_model.bin"]`, an added `Pytorch_model.bin` is the same file as the
/// listed one to a loader on a case-insensitive file system.
fn disk_collisions(entries: &[Entry], listed: &ListedFiles<'_>) -> Vec<Problem> {
    let mut names: Vec<&Entry> = entries
        .iter()
        .filter(|e| e.unsafe_reason.is_none())
        .collect();
    // Listed names first, then other visible ones, so the newcomer is named.
    names.sort_by_key(|e| (!listed.has(&e.path), e.ignored));
    let ignored: HashSet<&str> = names
        .iter()
        .filter(|e| e.ignored && !listed.has(&e.path))
        .map(|e| e.path.as_str())
        .collect();
    paths::colliding_pairs(names.iter().map(|e| e.path.as_str()))
        .into_iter()
        .filter(|(first, path)| !(ignored.contains(first) && ignored.contains(path)))
        .map(|(first, path)| paths::duplicate_problem(first, path))
        .collect()
}

enum Planned {
    /// Hash it (and report the Hub blob-name problem, if any).
    Read(HashRequest, Option<Problem>),
    /// Its metadata already shows a problem.
    Problem(Problem),
    /// An accepted Git LFS pointer.
    Nothing,
}

/// What to do with a listed file found on disk.
fn plan_read(
    dir: &Path,
    shard_size: u64,
    entry: &ExpectedFile<'_>,
    found: &Entry,
    options: &FileCheckOptions<'_>,
    totals: &mut FileTotals,
) -> Planned {
    let path = entry.path;
    let stamp = match &found.kind {
        EntryKind::Symlink => {
            return Planned::Problem(Problem::new(
                ProblemKind::Symlink,
                path,
                "listed file is a symbolic link; links are never followed",
            ));
        }
        EntryKind::Special(what) => {
            return Planned::Problem(Problem::new(
                ProblemKind::SpecialFile,
                path,
                format!("listed file is a {what}; it was not opened"),
            ));
        }
        EntryKind::File(stamp) => *stamp,
    };
    if let Some(size) = entry.size.filter(|&size| size != stamp.size) {
        let read_from = found.blob.clone().unwrap_or_else(|| dir.join(path));
        return match lfs_pointer_problem(entry, size, &read_from, options.lfs_pointers) {
            Some(None) => {
                totals.lfs_pointers += 1;
                Planned::Nothing
            }
            Some(Some(problem)) => {
                totals.lfs_pointers_found += 1;
                Planned::Problem(problem)
            }
            None => Planned::Problem(Problem::new(
                ProblemKind::SizeMismatch,
                path,
                format!("size is {} bytes; the manifest says {size}", stamp.size),
            )),
        };
    }
    let request = HashRequest {
        path: path.to_string(),
        stamp,
        shard_size,
        want: match entry.content {
            Content::Whole(_) => Want::Whole,
            Content::Shards(_) => Want::Shards,
        },
        source: found.blob.clone(),
    };
    Planned::Read(request, blob_name_problem(entry, found.blob.as_deref()))
}

/// What an unlisted name on disk is, for [`unlisted_problem`].
#[derive(Debug, Clone, Copy)]
pub(crate) enum NameKind<'a> {
    /// A regular file.
    File,
    /// A symbolic link.
    Symlink,
    /// A FIFO, socket or device node.
    Special(&'a str),
}

impl<'a> NameKind<'a> {
    fn of(kind: &'a EntryKind) -> Self {
        match kind {
            EntryKind::File(_) => NameKind::File,
            EntryKind::Symlink => NameKind::Symlink,
            EntryKind::Special(what) => NameKind::Special(what),
        }
    }
}

/// The problem for a name on disk that the manifest does not list (or that
/// breaks the path rules, which no listed name does).
pub(crate) fn unlisted_problem(
    path: &str,
    unsafe_reason: Option<crate::paths::UnsafePathReason>,
    kind: NameKind<'_>,
    fix: &str,
) -> Problem {
    if let Some(reason) = unsafe_reason {
        return Problem::new(
            ProblemKind::UnsafePath,
            path,
            format!("a file name that {reason}; it was not opened"),
        );
    }
    match kind {
        NameKind::Symlink => Problem::new(
            ProblemKind::Symlink,
            path,
            "a symbolic link; links are never followed (replace it with the file, or add it to ignore)",
        ),
        NameKind::Special(what) => Problem::new(
            ProblemKind::SpecialFile,
            path,
            format!("a {what}; it was not opened"),
        ),
        NameKind::File => Problem::new(
            ProblemKind::UnexpectedFile,
            path,
            format!("not listed in the manifest ({fix})"),
        ),
    }
}

/// Hashes the planned reads (the stat cache answering where it can) and
/// compares each with the manifest.
fn hash_and_compare(
    dir: &Path,
    reads: &[(HashRequest, &ExpectedFile<'_>)],
    options: &mut FileCheckOptions<'_>,
    totals: &mut FileTotals,
    progress: &dyn Progress,
) -> Vec<Problem> {
    let cached: Vec<Option<FileDigests>> = reads
        .iter()
        .map(|(r, _)| options.cache.as_deref_mut().and_then(|c| c.lookup(r)))
        .collect();
    let to_hash: Vec<HashRequest> = reads
        .iter()
        .zip(&cached)
        .filter(|(_, c)| c.is_none())
        .map(|((r, _), _)| r.clone())
        .collect();
    let mut hashed =
        hashing::hash_files_copying(dir, &to_hash, options.jobs, progress, options.copy)
            .into_iter();
    let mut problems = Vec::new();
    for ((request, entry), cached) in reads.iter().zip(cached) {
        let result = match cached {
            Some(digests) => {
                totals.from_cache += 1;
                Ok(digests)
            }
            None => {
                // hash_files answers every request, in order.
                let result = hashed
                    .next()
                    .unwrap_or_else(|| Err(ReadFault::Unreadable("no result was returned".into())));
                if let (Some(cache), Ok(digests)) = (options.cache.as_deref_mut(), &result) {
                    cache.record(request, digests);
                }
                result
            }
        };
        totals.checked += 1;
        totals.bytes += request.stamp.size;
        problems.extend(compare_digests(entry, request, result));
    }
    problems
}

/// A listed file whose size is wrong may be a Git LFS pointer: `None` when it
/// is not one; `Some(None)` when it is one that matches the signed digest and
/// pointers are accepted; else the problem that names it plainly.
pub(crate) fn lfs_pointer_problem(
    entry: &ExpectedFile<'_>,
    size: u64,
    read_from: &Path,
    accept: bool,
) -> Option<Option<Problem>> {
    let pointer = crate::lfs::read(read_from)?;
    let path = entry.path;
    let Content::Whole(sha256) = entry.content else {
        // A sharded file has no whole digest to match the pointer's oid with.
        return Some(Some(Problem::new(
            ProblemKind::SizeMismatch,
            path,
            "is a Git LFS pointer, not the content (run `git lfs pull`)",
        )));
    };
    if pointer.oid == *sha256 && pointer.size == size {
        if accept {
            return Some(None);
        }
        return Some(Some(Problem::new(
            ProblemKind::SizeMismatch,
            path,
            "is a Git LFS pointer, not the content (run `git lfs pull`); the pointer's oid and size \
             match the signed digest, so pass --lfs-pointers to accept a pointer-only checkout",
        )));
    }
    Some(Some(Problem::new(
        ProblemKind::HashMismatch,
        path,
        format!(
            "is a Git LFS pointer to other content: oid sha256:{} ({} bytes), but the manifest says {sha256} ({size} bytes)",
            pointer.oid, pointer.size
        ),
    )))
}

/// In a Hub cache, an LFS blob is named by its SHA-256: a name that is not the
/// signed digest means the cache is corrupt or was tampered with.
pub(crate) fn blob_name_problem(entry: &ExpectedFile<'_>, blob: Option<&Path>) -> Option<Problem> {
    let Content::Whole(sha256) = entry.content else {
        return None;
    };
    let name = blob?.file_name()?.to_str()?;
    let named: Sha256Digest = name.parse().ok()?;
    (named != *sha256).then(|| {
        Problem::new(
            ProblemKind::HashMismatch,
            entry.path,
            format!(
                "the Hub cache stores it as blob {name}, which is not the signed sha256 {sha256}"
            ),
        )
    })
}

pub(crate) fn compare_digests(
    entry: &ExpectedFile<'_>,
    request: &HashRequest,
    result: Result<FileDigests, ReadFault>,
) -> Option<Problem> {
    let path = entry.path;
    let digests = match result {
        Ok(d) => d,
        Err(fault) => return Some(fault_problem(path, fault)),
    };
    let sha256 = match entry.content {
        Content::Shards(shards) => return shard_problem(path, shards, request, &digests),
        Content::Whole(sha256) => sha256,
    };
    match digests.whole {
        Some(whole) => whole_mismatch(path, &whole, sha256),
        None => Some(Problem::new(
            ProblemKind::UnreadableFile,
            path,
            "no whole-file digest was computed",
        )),
    }
}

/// The problem for a file whose bytes could not be hashed.
pub(crate) fn fault_problem(path: &str, fault: ReadFault) -> Problem {
    match fault {
        ReadFault::Changed(why) => Problem::new(
            ProblemKind::ChangedDuringRead,
            path,
            format!(
                "changed while it was read ({why}); verify again when nothing writes to the directory"
            ),
        ),
        ReadFault::Unreadable(why) => Problem::new(
            ProblemKind::UnreadableFile,
            path,
            format!("cannot be read: {why}"),
        ),
    }
}

/// The problem, if any, for a whole-file digest that is not the signed one.
pub(crate) fn whole_mismatch(
    path: &str,
    got: &Sha256Digest,
    want: &Sha256Digest,
) -> Option<Problem> {
    (got != want).then(|| {
        Problem::new(
            ProblemKind::HashMismatch,
            path,
            format!("sha256 is {got}; the manifest says {want}"),
        )
    })
}

fn shard_problem(
    path: &str,
    shards: &[Sha256Digest],
    request: &HashRequest,
    digests: &FileDigests,
) -> Option<Problem> {
    let bad: Vec<u64> = shards
        .iter()
        .zip(&digests.shards)
        .enumerate()
        .filter(|(_, (want, got))| want != got)
        .map(|(i, _)| i as u64)
        .collect();
    if bad.is_empty() && digests.shards.len() == shards.len() {
        return None;
    }
    Some(shard_mismatch(
        path,
        bad,
        shards.len() as u64,
        request.shard_size,
    ))
}

/// The `hash_mismatch` of a sharded file whose shards `bad` (of `count`)
/// differ; the shard numbers travel in the problem too, so that slices of
/// one verification merge into the same problem as a single run.
pub fn shard_mismatch(path: &str, mut bad: Vec<u64>, count: u64, shard_size: u64) -> Problem {
    bad.sort_unstable();
    bad.dedup();
    let list: Vec<String> = bad.iter().map(u64::to_string).collect();
    let mut problem = Problem::new(
        ProblemKind::HashMismatch,
        path,
        format!(
            "content differs from the manifest in shard(s) {} of {count} (shard_size {shard_size} bytes)",
            list.join(", "),
        ),
    );
    problem.shards = Some(crate::problem::ShardMismatch {
        bad,
        count,
        shard_size,
    });
    problem
}
