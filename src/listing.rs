//! The large form's file listing, `provenance.files`: one line a file,
//! sorted, streamed.
//!
//! A manifest of a directory with many files pins this sidecar by digest in
//! its `[listing]` table instead of holding `[[file]]` tables, so the
//! signature over `provenance.toml` still covers every byte of every file, and
//! verify reads the listing line by line against a sorted walk of the
//! directory, never holding either in memory (see manifests/SPEC.md, "The
//! large form").
//!
//! ```text
//! modelseal listing 1
//! <sha256> <size> <role> <path>
//! +<shard sha256>
//! ```

use crate::digest::Sha256Digest;
use crate::hashing::shard_count;
use crate::manifest::{FileEntry, Manifest, Role};
use crate::model_dir::ModelDir;
use crate::problem::{Problem, ProblemKind};
use crate::source::{Location, SourceError};
use crate::stamp::open_no_follow;
use sha2::{Digest as _, Sha256};
use std::cmp::Ordering;
use std::collections::HashSet;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

pub use crate::LISTING_FILE;
pub use crate::manifest::ListingRef;
/// The first line of every listing.
pub const HEADER: &str = "modelseal listing 1";
/// Longest path a listing line may carry, in bytes (Linux's `PATH_MAX`).
pub const MAX_PATH_BYTES: usize = 4096;
/// Largest listing accepted, in bytes: 10 million entries take about 1.5 GB.
pub const MAX_LISTING_BYTES: u64 = 16 << 30;
/// Most entries a listing may hold.
pub const MAX_ENTRIES: u64 = 100_000_000;
/// `init` writes the large form above this many files (`--listing auto`).
pub const AUTO_THRESHOLD: usize = 10_000;

/// The order of a listing: by directory, segment by segment, then by file
/// name, comparing bytes. A directory's own files come before its
/// subdirectories' files, which is the order a walk that reads one directory
/// at a time yields them in.
pub fn listing_order(a: &str, b: &str) -> Ordering {
    let (dir_a, name_a) = split_dir(a);
    let (dir_b, name_b) = split_dir(b);
    compare_dirs(dir_a, dir_b).then_with(|| name_a.cmp(name_b))
}

/// `a/b/c` as (`a/b`, `c`); a top-level name has the directory `""`.
pub fn split_dir(path: &str) -> (&str, &str) {
    match path.rfind('/') {
        Some(i) => (&path[..i], &path[i + 1..]),
        None => ("", path),
    }
}

/// Directories compare segment by segment; the top level (`""`) comes first.
pub fn compare_dirs(a: &str, b: &str) -> Ordering {
    match (a.is_empty(), b.is_empty()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        (false, false) => a.split('/').cmp(b.split('/')),
    }
}

/// One file as a listing (or a `[[file]]` table) records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedFile {
    /// Relative, `/`-separated path, as signed (judged by verify, not here).
    pub path: String,
    /// What the file is.
    pub role: Role,
    /// Size in bytes.
    pub size: u64,
    /// Digest of the whole file.
    pub sha256: Sha256Digest,
    /// Digest of each `shard_size` slice, when the file is larger than one.
    pub shards: Vec<Sha256Digest>,
    /// Its line in the listing or manifest, for messages.
    pub line: usize,
}

impl ListedFile {
    /// The `[[file]]` entry with the same content.
    pub fn into_entry(self) -> FileEntry {
        FileEntry {
            path: self.path,
            role: self.role,
            size: self.size,
            sha256: self.sha256,
            shards: self.shards,
            line: self.line,
        }
    }

    /// What level 0 checks this file against.
    pub fn expected(&self) -> crate::intact::ExpectedFile<'_> {
        use crate::intact::Content;
        crate::intact::ExpectedFile {
            path: &self.path,
            size: Some(self.size),
            content: if self.shards.is_empty() {
                Content::Whole(&self.sha256)
            } else {
                Content::Shards(&self.shards)
            },
            place: self.line,
        }
    }

    /// The listed file a `[[file]]` entry describes.
    pub fn of_entry(entry: &FileEntry) -> Self {
        ListedFile {
            path: entry.path.clone(),
            role: entry.role,
            size: entry.size,
            sha256: entry.sha256,
            shards: entry.shards.clone(),
            line: entry.line,
        }
    }
}

/// Reads a listing line by line, checking its shape, order and limits, and
/// hashing every byte it reads.
pub struct ListingReader<R: BufRead> {
    input: R,
    file: PathBuf,
    shard_size: u64,
    check_shards: bool,
    hasher: Sha256,
    read: u64,
    limit: u64,
    line_no: usize,
    entries: u64,
    bytes: u64,
    previous: Option<String>,
    peeked: Option<String>,
    buf: Vec<u8>,
    done: bool,
}

impl<R: BufRead> ListingReader<R> {
    /// A reader of `input` (named `file` in errors) that reads at most
    /// `limit` bytes. With `check_shards` off (for `update`), shard lists
    /// that no longer fit `shard_size` are accepted.
    pub fn new(input: R, file: &Path, shard_size: u64, limit: u64, check_shards: bool) -> Self {
        ListingReader {
            input,
            file: file.to_path_buf(),
            shard_size,
            check_shards,
            hasher: Sha256::new(),
            read: 0,
            limit,
            line_no: 0,
            entries: 0,
            bytes: 0,
            previous: None,
            peeked: None,
            buf: Vec::with_capacity(256),
            done: false,
        }
    }

    /// The digest and length of everything read so far.
    pub fn digest(&self) -> (Sha256Digest, u64) {
        (
            Sha256Digest(self.hasher.clone().finalize().into()),
            self.read,
        )
    }

    /// How many entries were read.
    pub fn entries(&self) -> u64 {
        self.entries
    }

    fn error(&self, line: usize, message: impl Into<String>) -> SourceError {
        SourceError::Invalid {
            location: Location {
                file: self.file.clone(),
                line,
                column: 1,
            },
            message: message.into(),
            help: None,
        }
    }

    /// The next line without its `\n`, or `None` at the end.
    fn next_line(&mut self) -> Result<Option<String>, SourceError> {
        if let Some(line) = self.peeked.take() {
            return Ok(Some(line));
        }
        self.buf.clear();
        let most = (MAX_PATH_BYTES + 128) as u64;
        let n = <&mut R as std::io::Read>::take(&mut self.input, most + 1)
            .read_until(b'\n', &mut self.buf)
            .map_err(|e| SourceError::Unreadable {
                file: self.file.clone(),
                reason: e.to_string(),
            })?;
        if n == 0 {
            return Ok(None);
        }
        self.line_no += 1;
        self.read += n as u64;
        if self.read > self.limit {
            return Err(SourceError::TooLarge {
                file: self.file.clone(),
                limit: self.limit,
            });
        }
        self.hasher.update(&self.buf);
        if self.buf.pop() != Some(b'\n') {
            let why = if n as u64 > most {
                format!("line is longer than {most} bytes")
            } else {
                "the last line does not end with a newline".to_string()
            };
            return Err(self.error(self.line_no, why));
        }
        let line = String::from_utf8(std::mem::take(&mut self.buf))
            .map_err(|_| self.error(self.line_no, "line is not valid UTF-8"))?;
        if line.ends_with('\r') {
            return Err(self.error(self.line_no, "line ends with CR: lines end with LF only"));
        }
        Ok(Some(line))
    }

    /// Reads the header line; call once before the entries.
    pub fn read_header(&mut self) -> Result<(), SourceError> {
        match self.next_line()? {
            Some(line) if line == HEADER => Ok(()),
            Some(line) => Err(self.error(
                1,
                format!(
                    "not a modelseal listing: the first line is '{}', not '{HEADER}'",
                    line.chars().take(60).collect::<String>()
                ),
            )),
            None => Err(self.error(1, format!("empty file: the first line must be '{HEADER}'"))),
        }
    }

    /// The next entry, or `None` at the end of the listing.
    pub fn next_entry(&mut self) -> Result<Option<ListedFile>, SourceError> {
        if self.done {
            return Ok(None);
        }
        let Some(line) = self.next_line()? else {
            self.done = true;
            return Ok(None);
        };
        let at = self.line_no;
        let mut entry = self.parse_entry(&line, at)?;
        while let Some(next) = self.next_line()? {
            if let Some(hex) = next.strip_prefix('+') {
                let digest = hex
                    .parse()
                    .map_err(|e| self.error(self.line_no, format!("shard digest: {e}")))?;
                entry.shards.push(digest);
            } else {
                self.peeked = Some(next);
                break;
            }
        }
        let want = shard_count(entry.size, self.shard_size);
        if self.check_shards && entry.shards.len() as u64 != want {
            return Err(self.error(
                at,
                format!(
                    "file '{}' has {} shard digests; its size {} and shard_size {} need {want}",
                    entry.path,
                    entry.shards.len(),
                    entry.size,
                    self.shard_size
                ),
            ));
        }
        self.check_order(&entry.path, at)?;
        self.entries += 1;
        self.bytes = self.bytes.saturating_add(entry.size);
        if self.entries > MAX_ENTRIES {
            return Err(self.error(at, format!("more than {MAX_ENTRIES} entries")));
        }
        Ok(Some(entry))
    }

    fn parse_entry(&self, line: &str, at: usize) -> Result<ListedFile, SourceError> {
        let mut fields = line.splitn(4, ' ');
        let (Some(digest), Some(size), Some(role), Some(path)) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            return Err(self.error(
                at,
                "expected '<sha256> <size> <role> <path>' (or '+<shard sha256>' after a file)",
            ));
        };
        let sha256 = digest
            .parse()
            .map_err(|e| self.error(at, format!("sha256: {e}")))?;
        let size = parse_size(size).ok_or_else(|| {
            self.error(
                at,
                format!("size '{size}' is not a decimal number of bytes without leading zeros"),
            )
        })?;
        let role = parse_role(role)
            .ok_or_else(|| self.error(at, format!("role '{role}' is not one of {ROLES}")))?;
        if path.is_empty() || path.len() > MAX_PATH_BYTES {
            return Err(self.error(
                at,
                format!("path is empty or longer than {MAX_PATH_BYTES} bytes"),
            ));
        }
        Ok(ListedFile {
            path: path.to_string(),
            role,
            size,
            sha256,
            shards: Vec::new(),
            line: at,
        })
    }

    /// Entries come in [`listing_order`]; a path listed twice is left for
    /// verify to report as `duplicate_path`, but the order is never broken.
    fn check_order(&mut self, path: &str, at: usize) -> Result<(), SourceError> {
        if let Some(previous) = &self.previous
            && listing_order(previous, path) == Ordering::Greater
        {
            return Err(self.error(
                at,
                format!(
                    "'{path}' is out of order: it sorts before '{previous}' (entries are sorted by directory, then name)"
                ),
            ));
        }
        self.previous = Some(path.to_string());
        Ok(())
    }
}

const ROLES: &str = "weights, config, tokenizer, data, code, docs, other";

pub(crate) fn parse_role(s: &str) -> Option<Role> {
    Some(match s {
        "weights" => Role::Weights,
        "config" => Role::Config,
        "tokenizer" => Role::Tokenizer,
        "data" => Role::Data,
        "code" => Role::Code,
        "docs" => Role::Docs,
        "other" => Role::Other,
        _ => return None,
    })
}

/// A decimal size: digits only, no sign, no leading zero (one spelling per value).
pub(crate) fn parse_size(s: &str) -> Option<u64> {
    let canonical =
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'));
    if canonical { s.parse().ok() } else { None }
}

/// Writes a listing, entry by entry, in order.
pub struct ListingWriter<W: Write> {
    out: W,
    hasher: Sha256,
    written: u64,
    files: u64,
    bytes: u64,
    previous: Option<String>,
}

/// A listing's entries were given out of order, or a path cannot be written
/// on one line.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The entries are not in [`listing_order`].
    #[error("'{0}' was written out of order (a bug in modelseal; please report it)")]
    OutOfOrder(String),
    /// The path holds a newline or is too long for a listing line.
    #[error("'{0}' cannot be written to a listing: it is empty, too long or holds a newline")]
    BadPath(String),
    /// Writing failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl<W: Write> ListingWriter<W> {
    /// A writer to `out`; writes the header at once.
    pub fn new(out: W) -> Result<Self, WriteError> {
        let mut writer = ListingWriter {
            out,
            hasher: Sha256::new(),
            written: 0,
            files: 0,
            bytes: 0,
            previous: None,
        };
        writer.put(format!("{HEADER}\n").as_bytes())?;
        Ok(writer)
    }

    fn put(&mut self, bytes: &[u8]) -> Result<(), WriteError> {
        self.out.write_all(bytes)?;
        self.hasher.update(bytes);
        self.written += bytes.len() as u64;
        Ok(())
    }

    /// Appends one entry, which must sort after the previous one.
    pub fn push(&mut self, file: &ListedFile) -> Result<(), WriteError> {
        if file.path.is_empty() || file.path.len() > MAX_PATH_BYTES || file.path.contains('\n') {
            return Err(WriteError::BadPath(file.path.clone()));
        }
        if let Some(previous) = &self.previous
            && listing_order(previous, &file.path) != Ordering::Less
        {
            return Err(WriteError::OutOfOrder(file.path.clone()));
        }
        let mut line = format!(
            "{} {} {} {}\n",
            file.sha256, file.size, file.role, file.path
        );
        for shard in &file.shards {
            line.push('+');
            line.push_str(&shard.to_hex());
            line.push('\n');
        }
        self.put(line.as_bytes())?;
        self.files += 1;
        self.bytes = self.bytes.saturating_add(file.size);
        self.previous = Some(file.path.clone());
        Ok(())
    }

    /// Flushes and returns what pins the listing written.
    pub fn finish(mut self) -> Result<(ListingRef, W), WriteError> {
        self.out.flush()?;
        let pin = ListingRef {
            sha256: Sha256Digest(self.hasher.finalize().into()),
            size: self.written,
            files: self.files,
            bytes: self.bytes,
        };
        Ok((pin, self.out))
    }
}

/// A pinned listing, opened and checked against its pin, ready to stream.
pub struct PinnedListing {
    reader: ListingReader<std::io::BufReader<std::fs::File>>,
    pin: ListingRef,
    path: PathBuf,
    finished: bool,
}

/// What opening a pinned listing found.
pub enum Opened {
    /// Its bytes are the pinned ones; read the entries from it.
    Ready(Box<PinnedListing>),
    /// It is missing or not the pinned listing: level 0 cannot hold, and
    /// nothing is compared against it.
    Refused(Problem),
}

/// Opens the listing `pin` names in `model`, hashes it whole and, when it is
/// the pinned one, returns it ready to stream from its first entry. The
/// stream hashes the bytes again as it reads them and ends in an error if
/// they changed in between, so every entry it yields is a signed one.
pub fn open_pinned(
    model: &ModelDir,
    pin: &ListingRef,
    shard_size: u64,
    check_shards: bool,
) -> Result<Opened, SourceError> {
    let path = model.listing_path();
    let refused =
        |kind, message: String| Ok(Opened::Refused(Problem::new(kind, LISTING_FILE, message)));
    let mut file = match open_no_follow(&path) {
        Ok(file) => file,
        Err(_) if std::fs::symlink_metadata(&path).is_err() => {
            return refused(
                ProblemKind::MissingFile,
                "the manifest pins a listing of its files, but there is none: restore provenance.files".into(),
            );
        }
        Err(fault) => {
            return refused(
                ProblemKind::UnreadableFile,
                format!("cannot be read: {fault}"),
            );
        }
    };
    let unreadable = |e: std::io::Error| SourceError::Unreadable {
        file: path.clone(),
        reason: e.to_string(),
    };
    let size = file.metadata().map_err(unreadable)?.len();
    if size > MAX_LISTING_BYTES {
        return Err(SourceError::TooLarge {
            file: path,
            limit: MAX_LISTING_BYTES,
        });
    }
    if size != pin.size {
        return refused(
            ProblemKind::SizeMismatch,
            format!(
                "the listing is {size} bytes; the manifest pins {} (nothing was compared against it)",
                pin.size
            ),
        );
    }
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; crate::hashing::READ_SIZE];
    loop {
        let n = std::io::Read::read(&mut file, &mut buf).map_err(unreadable)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    let digest = Sha256Digest(hasher.finalize().into());
    if digest != pin.sha256 {
        return refused(
            ProblemKind::HashMismatch,
            format!(
                "the listing's sha256 is {digest}; the manifest pins {} (nothing was compared against it)",
                pin.sha256
            ),
        );
    }
    std::io::Seek::rewind(&mut file).map_err(unreadable)?;
    let input = std::io::BufReader::with_capacity(256 << 10, file);
    let mut reader = ListingReader::new(input, &path, shard_size, pin.size, check_shards);
    reader.read_header()?;
    Ok(Opened::Ready(Box::new(PinnedListing {
        reader,
        pin: pin.clone(),
        path,
        finished: false,
    })))
}

impl PinnedListing {
    fn end(&mut self) -> Result<(), SourceError> {
        let (digest, read) = self.reader.digest();
        let invalid = |message: String| SourceError::Invalid {
            location: Location {
                file: self.path.clone(),
                line: self.reader.line_no,
                column: 1,
            },
            message,
            help: None,
        };
        if digest != self.pin.sha256 || read != self.pin.size {
            return Err(invalid(
                "the listing changed while it was read; verify again when nothing writes to the directory".into(),
            ));
        }
        if self.reader.entries() != self.pin.files || self.reader.bytes != self.pin.bytes {
            return Err(invalid(format!(
                "the listing holds {} files of {} bytes; its [listing] table says {} files of {} bytes",
                self.reader.entries(),
                self.reader.bytes,
                self.pin.files,
                self.pin.bytes
            )));
        }
        Ok(())
    }
}

impl Iterator for PinnedListing {
    type Item = Result<ListedFile, SourceError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.finished {
            return None;
        }
        match self.reader.next_entry() {
            Ok(Some(entry)) => Some(Ok(entry)),
            Ok(None) => {
                self.finished = true;
                self.end().err().map(Err)
            }
            Err(err) => {
                self.finished = true;
                Some(Err(err))
            }
        }
    }
}

/// The paths lineage (levels 2 and 3) looks up: what runs and datasets name,
/// and the signatures beside upstream manifests.
pub fn lineage_paths(manifest: &Manifest) -> HashSet<String> {
    let mut paths = HashSet::new();
    for t in &manifest.trainings {
        paths.extend(t.outputs.iter().cloned());
        paths.extend(t.configs.iter().cloned());
        if let Some(m) = t.base_model.as_ref().and_then(|b| b.manifest.as_ref()) {
            paths.insert(crate::trace::signature_path_for(m));
            paths.insert(m.clone());
        }
    }
    for d in &manifest.datasets {
        paths.extend(d.files.iter().cloned());
        if let Some(m) = &d.manifest {
            paths.insert(crate::trace::signature_path_for(m));
            paths.insert(m.clone());
        }
    }
    paths
}

/// Whether lineage needs a listed file: every file but data, and data that
/// lineage names.
pub fn lineage_keeps(file: &ListedFile, named: &HashSet<String>) -> bool {
    file.role != Role::Data || named.contains(&file.path)
}

/// Fills a large-form manifest's `files` with what lineage needs (plus the
/// paths in `extra`), streaming its listing. A manifest of the TOML form is
/// left as it is.
pub fn lineage_view(
    model: &ModelDir,
    manifest: &mut Manifest,
    extra: &[&str],
) -> Result<(), SourceError> {
    let Some(pin) = manifest.listing.clone() else {
        return Ok(());
    };
    let mut named = lineage_paths(manifest);
    named.extend(extra.iter().map(|s| s.to_string()));
    let listing = match open_pinned(model, &pin, manifest.hashing.shard_size, false)? {
        Opened::Ready(listing) => *listing,
        Opened::Refused(problem) => {
            return Err(SourceError::Invalid {
                location: Location {
                    file: model.listing_path(),
                    line: 1,
                    column: 1,
                },
                message: problem.message,
                help: Some("run `modelseal update` to write the listing again".into()),
            });
        }
    };
    let mut files = Vec::new();
    for entry in listing {
        let entry = entry?;
        if lineage_keeps(&entry, &named) {
            files.push(entry.into_entry());
        }
    }
    manifest.files = files;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest(byte: u8) -> Sha256Digest {
        Sha256Digest([byte; 32])
    }

    fn file(path: &str, size: u64) -> ListedFile {
        ListedFile {
            path: path.into(),
            role: Role::Data,
            size,
            sha256: digest(1),
            shards: Vec::new(),
            line: 0,
        }
    }

    fn read_all(text: &str, shard_size: u64) -> Result<Vec<ListedFile>, SourceError> {
        let mut reader = ListingReader::new(
            text.as_bytes(),
            Path::new(LISTING_FILE),
            shard_size,
            u64::MAX,
            true,
        );
        reader.read_header()?;
        let mut out = Vec::new();
        while let Some(entry) = reader.next_entry()? {
            out.push(entry);
        }
        Ok(out)
    }

    #[test]
    fn a_directory_s_files_come_before_its_subdirectories() {
        let mut paths = vec!["a/b/c", "a.txt", "a/x", "z", "a/b.txt", "b/a", "a/b/a/z"];
        paths.sort_by(|a, b| listing_order(a, b));
        assert_eq!(
            paths,
            ["a.txt", "z", "a/b.txt", "a/x", "a/b/c", "a/b/a/z", "b/a"]
        );
    }

    #[test]
    fn written_listings_read_back_with_their_digest() {
        let mut big = file("w/model.bin", 3 << 20);
        big.shards = vec![digest(2), digest(3), digest(4)];
        let entries = vec![file("README.md", 0), file("with space.txt", 12), big];
        let mut writer = ListingWriter::new(Vec::new()).unwrap();
        for e in &entries {
            writer.push(e).unwrap();
        }
        let (pin, bytes) = writer.finish().unwrap();
        assert_eq!(pin.size, bytes.len() as u64);
        assert_eq!(pin.sha256, Sha256Digest::of(&bytes));
        assert_eq!((pin.files, pin.bytes), (3, 12 + (3 << 20)));
        let text = String::from_utf8(bytes).unwrap();
        let back = read_all(&text, 1 << 20).unwrap();
        let strip = |v: Vec<ListedFile>| -> Vec<ListedFile> {
            v.into_iter().map(|f| ListedFile { line: 0, ..f }).collect()
        };
        assert_eq!(strip(back), entries);
    }

    #[test]
    fn the_writer_refuses_disorder_and_newlines() {
        let mut writer = ListingWriter::new(Vec::new()).unwrap();
        writer.push(&file("b", 0)).unwrap();
        assert!(matches!(
            writer.push(&file("a", 0)),
            Err(WriteError::OutOfOrder(_))
        ));
        assert!(matches!(
            writer.push(&file("c\nd", 0)),
            Err(WriteError::BadPath(_))
        ));
    }

    #[test]
    fn hostile_listings_are_refused_with_their_line() {
        let d = "11".repeat(32);
        let cases = [
            ("modelseal listing 2\n".to_string(), ":1:"),
            (format!("{HEADER}\n{d} 1 data b\n{d} 1 data a\n"), ":3:"),
            (format!("{HEADER}\n{d} 01 data a\n"), ":2:"),
            (format!("{HEADER}\n{d} -1 data a\n"), ":2:"),
            (format!("{HEADER}\n{d} 1 weight a\n"), ":2:"),
            (format!("{HEADER}\n{d} 1 data a"), ":2:"),
            (format!("{HEADER}\n{d} 1 data a\r\n"), ":2:"),
            (format!("{HEADER}\n{d} 1 data\n"), ":2:"),
            (format!("{HEADER}\n{d} 2097152 data a\n+{d}\n"), ":2:"),
            (format!("{HEADER}\n+{d}\n"), ":2:"),
            (
                format!("{HEADER}\n{d} 1 data {}\n", "x".repeat(5000)),
                ":2:",
            ),
        ];
        for (text, at) in cases {
            let err = read_all(&text, 1 << 20).unwrap_err().to_string();
            assert!(err.contains(at), "{text:?}: {err}");
        }
    }

    #[test]
    fn a_path_listed_twice_parses_for_verify_to_report() {
        let d = "11".repeat(32);
        let text = format!("{HEADER}\n{d} 1 data a\n{d} 1 data a\n");
        assert_eq!(read_all(&text, 1 << 20).unwrap().len(), 2);
    }

    #[test]
    fn the_size_limit_holds_mid_line() {
        let d = "11".repeat(32);
        let text = format!("{HEADER}\n{d} 1 data a\n");
        let mut reader =
            ListingReader::new(text.as_bytes(), Path::new(LISTING_FILE), 1 << 20, 30, true);
        reader.read_header().unwrap();
        assert!(matches!(
            reader.next_entry(),
            Err(SourceError::TooLarge { .. })
        ));
    }
}
