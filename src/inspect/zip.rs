//! A minimal zip reader over a [`ByteSource`] (end record, ZIP64, central
//! directory, local headers), and the classification of a zip as a torch
//! checkpoint, an `.npz`, a `.keras` model or any other archive.
//!
//! Only the central directory and the local headers are read; entry data
//! is read only where an inspector needs it (pickles, `.npy` headers, a
//! Keras config). An archive whose structure is inconsistent in a way a
//! loader could read differently from this reader (names that leave the
//! archive, duplicates, overlapping entries, local headers that disagree
//! with the directory) is [`ContentProblemKind::MalformedArchive`].

use std::collections::HashSet;

use super::pickle::{self, PickleOptions};

pub mod inflate;
use super::{ByteSource, ContentProblem, ContentProblemKind, Format, Inspection, limits};

/// Compression method: stored.
pub const STORED: u16 = 0;
/// Compression method: deflated.
pub const DEFLATED: u16 = 8;

/// Size of the end of central directory record, without its comment.
const EOCD_LEN: u64 = 22;
/// Size of a central directory header, without name, extra and comment.
const CENTRAL_LEN: usize = 46;
/// Size of a local header, without name and extra.
const LOCAL_LEN: u64 = 30;
/// Size of the ZIP64 end of central directory locator.
const LOCATOR_LEN: u64 = 20;
/// Size of the ZIP64 end of central directory record's fixed part.
const ZIP64_EOCD_LEN: usize = 56;

/// One entry of the central directory, checked against its local header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZipEntry {
    /// The entry's name, as stored (UTF-8; `/`-separated).
    pub name: String,
    /// Compression method ([`STORED`], [`DEFLATED`], ...).
    pub method: u16,
    /// Whether the entry is encrypted (general purpose flag bit 0).
    pub encrypted: bool,
    /// Bytes of the entry's data in the archive.
    pub compressed_size: u64,
    /// Bytes of the entry once decompressed.
    pub size: u64,
    /// CRC-32 of the decompressed bytes, as the directory states it (not checked here).
    pub crc32: u32,
    /// Offset of the entry's local header.
    pub header_offset: u64,
    /// Offset of the entry's data, after the local header.
    pub data_offset: u64,
}

/// Why an archive's structure cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what}")]
pub struct ZipError {
    /// What is wrong, and where.
    pub what: String,
}

/// A [`ZipError`].
fn bad(what: impl Into<String>) -> ZipError {
    ZipError { what: what.into() }
}

/// Little-endian fields from a byte slice, `None` past its end.
struct Fields<'a>(&'a [u8]);

impl Fields<'_> {
    fn u16(&self, at: usize) -> Option<u16> {
        let b = self.0.get(at..at.checked_add(2)?)?;
        Some(u16::from_le_bytes(b.try_into().ok()?))
    }
    fn u32(&self, at: usize) -> Option<u32> {
        let b = self.0.get(at..at.checked_add(4)?)?;
        Some(u32::from_le_bytes(b.try_into().ok()?))
    }
    fn u64(&self, at: usize) -> Option<u64> {
        let b = self.0.get(at..at.checked_add(8)?)?;
        Some(u64::from_le_bytes(b.try_into().ok()?))
    }
}

/// Where the central directory lies, and how many entries it holds.
struct Directory {
    offset: u64,
    size: u64,
    entries: u64,
}

/// Reads `len` bytes at `offset`, refusing more than the header limit.
fn read_bytes(src: &dyn ByteSource, offset: u64, len: u64) -> Result<Vec<u8>, ZipError> {
    if len > limits::MAX_HEADER_BYTES || offset.checked_add(len).is_none_or(|e| e > src.len()) {
        return Err(bad(format!(
            "{len} bytes at offset {offset} lie outside the file or the limits"
        )));
    }
    let mut buf = vec![0u8; len as usize];
    src.read_exact_at(&mut buf, offset)
        .map_err(|e| bad(format!("read at offset {offset} failed: {e}")))?;
    Ok(buf)
}

/// Finds the end of central directory record (the last one whose comment
/// ends within the file), and follows it to ZIP64's when its fields say so.
fn find_directory(src: &dyn ByteSource) -> Result<(Directory, u64), ZipError> {
    let len = src.len();
    let tail_len = len.min(EOCD_LEN + 0xffff);
    let tail = read_bytes(src, len - tail_len, tail_len)?;
    let found = (0..tail.len().saturating_sub(EOCD_LEN as usize - 1))
        .rev()
        .find(|&i| {
            let f = Fields(&tail);
            f.u32(i) == Some(0x0605_4b50)
                && f.u16(i + 20)
                    .is_some_and(|c| i + EOCD_LEN as usize + usize::from(c) <= tail.len())
        })
        .ok_or_else(|| bad("no end of central directory record"))?;
    let eocd_at = len - tail_len + found as u64;
    let f = Fields(tail.get(found..).unwrap_or(&[]));
    let (disk, cd_disk) = (f.u16(4).unwrap_or(1), f.u16(6).unwrap_or(1));
    if disk != 0 || cd_disk != 0 {
        return Err(bad("a multi-disk archive"));
    }
    let entries = u64::from(f.u16(10).unwrap_or(0));
    let size = u64::from(f.u32(12).unwrap_or(0));
    let offset = u64::from(f.u32(16).unwrap_or(0));
    if entries == 0xffff || size == 0xffff_ffff || offset == 0xffff_ffff {
        return zip64_directory(src, eocd_at);
    }
    Ok((
        Directory {
            offset,
            size,
            entries,
        },
        eocd_at,
    ))
}

/// The ZIP64 end of central directory record that the locator just
/// before the end record at `eocd_at` points to.
fn zip64_directory(src: &dyn ByteSource, eocd_at: u64) -> Result<(Directory, u64), ZipError> {
    let locator_at = eocd_at
        .checked_sub(LOCATOR_LEN)
        .ok_or_else(|| bad("ZIP64 fields without a ZIP64 locator"))?;
    let locator = read_bytes(src, locator_at, LOCATOR_LEN)?;
    let l = Fields(&locator);
    if l.u32(0) != Some(0x0706_4b50) {
        return Err(bad("ZIP64 fields without a ZIP64 locator"));
    }
    let record_at = l.u64(8).unwrap_or(u64::MAX);
    if record_at
        .checked_add(ZIP64_EOCD_LEN as u64)
        .is_none_or(|e| e > locator_at)
    {
        return Err(bad("a ZIP64 end record outside the file"));
    }
    let record = read_bytes(src, record_at, ZIP64_EOCD_LEN as u64)?;
    let r = Fields(&record);
    if r.u32(0) != Some(0x0606_4b50) {
        return Err(bad("a ZIP64 locator that points to no ZIP64 end record"));
    }
    let dir = Directory {
        entries: r.u64(32).unwrap_or(u64::MAX),
        size: r.u64(40).unwrap_or(u64::MAX),
        offset: r.u64(48).unwrap_or(u64::MAX),
    };
    Ok((dir, record_at))
}

/// Reads the central directory and each entry's local header.
pub fn read_entries(src: &dyn ByteSource) -> Result<Vec<ZipEntry>, ZipError> {
    let (dir, dir_end) = find_directory(src)?;
    if dir.entries > limits::MAX_ARCHIVE_ENTRIES {
        return Err(bad(format!("{} entries, past the limit", dir.entries)));
    }
    if dir.offset.checked_add(dir.size).is_none_or(|e| e > dir_end) {
        return Err(bad("a central directory outside the file"));
    }
    let table = read_bytes(src, dir.offset, dir.size)?;
    let mut entries = Vec::new();
    let mut at = 0usize;
    while (entries.len() as u64) < dir.entries {
        let (entry, next) = central_entry(&table, at)?;
        entries.push(entry);
        at = next;
    }
    let mut names = HashSet::new();
    for entry in &mut entries {
        check_name(&entry.name)?;
        if !names.insert(entry.name.clone()) {
            return Err(bad(format!("entry {:?} appears twice", entry.name)));
        }
        entry.data_offset = local_data_offset(src, entry, dir.offset)?;
    }
    check_no_overlap(&entries)?;
    Ok(entries)
}

/// The central directory header at `at` of `table`, and where the next begins.
fn central_entry(table: &[u8], at: usize) -> Result<(ZipEntry, usize), ZipError> {
    let f = Fields(table.get(at..).unwrap_or(&[]));
    let short = || bad(format!("a central directory entry cut short at {at}"));
    if f.u32(0) != Some(0x0201_4b50) {
        return Err(bad(format!(
            "no central directory entry at directory offset {at}"
        )));
    }
    let name_len = usize::from(f.u16(28).ok_or_else(short)?);
    let extra_len = usize::from(f.u16(30).ok_or_else(short)?);
    let comment_len = usize::from(f.u16(32).ok_or_else(short)?);
    let name_end = CENTRAL_LEN + name_len;
    let name = f.0.get(CENTRAL_LEN..name_end).ok_or_else(short)?;
    let extra = f.0.get(name_end..name_end + extra_len).ok_or_else(short)?;
    let name = String::from_utf8(name.to_vec()).map_err(|_| {
        bad(format!(
            "an entry name that is not UTF-8 at directory offset {at}"
        ))
    })?;
    let mut entry = ZipEntry {
        name,
        method: f.u16(10).ok_or_else(short)?,
        encrypted: f.u16(8).ok_or_else(short)? & 1 != 0,
        crc32: f.u32(16).ok_or_else(short)?,
        compressed_size: f.u32(20).ok_or_else(short)?.into(),
        size: f.u32(24).ok_or_else(short)?.into(),
        header_offset: f.u32(42).ok_or_else(short)?.into(),
        data_offset: 0,
    };
    apply_zip64_extra(&mut entry, extra)?;
    let next = at + name_end + extra_len + comment_len;
    Ok((entry, next))
}

/// Replaces the fields saturated at `0xffffffff` by the ZIP64 extra field's
/// values, which come in the order size, compressed size, offset.
fn apply_zip64_extra(entry: &mut ZipEntry, extra: &[u8]) -> Result<(), ZipError> {
    const FULL: u64 = 0xffff_ffff;
    let needs = [entry.size, entry.compressed_size, entry.header_offset].contains(&FULL);
    if !needs {
        return Ok(());
    }
    let mut rest = extra;
    while let (Some(id), Some(len)) = (Fields(rest).u16(0), Fields(rest).u16(2)) {
        let body = rest.get(4..4 + usize::from(len)).unwrap_or(&[]);
        if id == 1 {
            let mut at = 0;
            for field in [
                &mut entry.size,
                &mut entry.compressed_size,
                &mut entry.header_offset,
            ] {
                if *field == FULL {
                    *field = Fields(body).u64(at).ok_or_else(|| {
                        bad(format!("{:?}: a short ZIP64 extra field", entry.name))
                    })?;
                    at += 8;
                }
            }
            return Ok(());
        }
        rest = rest.get(4 + usize::from(len)..).unwrap_or(&[]);
    }
    Err(bad(format!(
        "{:?}: ZIP64 sizes without a ZIP64 extra field",
        entry.name
    )))
}

/// Refuses a name a loader could write or look up outside the archive.
fn check_name(name: &str) -> Result<(), ZipError> {
    let leaves = name.is_empty()
        || name.starts_with('/')
        || name.contains('\\')
        || name.contains('\0')
        || name.as_bytes().get(1) == Some(&b':')
        || name.split('/').any(|part| part == "..");
    if leaves {
        return Err(bad(format!("entry name {name:?} leaves the archive")));
    }
    Ok(())
}

/// The offset of an entry's data, from its local header, which must agree
/// with the directory on name and method and lie before the directory.
fn local_data_offset(
    src: &dyn ByteSource,
    entry: &ZipEntry,
    dir_offset: u64,
) -> Result<u64, ZipError> {
    let at = entry.header_offset;
    if at.checked_add(LOCAL_LEN).is_none_or(|e| e > dir_offset) {
        return Err(bad(format!(
            "{:?}: a local header outside the data",
            entry.name
        )));
    }
    let header = read_bytes(src, at, LOCAL_LEN)?;
    let f = Fields(&header);
    if f.u32(0) != Some(0x0403_4b50) {
        return Err(bad(format!(
            "{:?}: no local header at offset {at}",
            entry.name
        )));
    }
    let name_len = u64::from(f.u16(26).unwrap_or(0));
    let extra_len = u64::from(f.u16(28).unwrap_or(0));
    let local_name = read_bytes(src, at + LOCAL_LEN, name_len)?;
    if local_name != entry.name.as_bytes() || f.u16(8) != Some(entry.method) {
        return Err(bad(format!(
            "{:?}: the local header at offset {at} disagrees with the directory",
            entry.name
        )));
    }
    let data = at + LOCAL_LEN + name_len + extra_len;
    if data
        .checked_add(entry.compressed_size)
        .is_none_or(|e| e > dir_offset)
    {
        return Err(bad(format!(
            "{:?}: data past the central directory",
            entry.name
        )));
    }
    Ok(data)
}

/// Refuses entries whose local header and data overlap another's.
fn check_no_overlap(entries: &[ZipEntry]) -> Result<(), ZipError> {
    let mut spans: Vec<(u64, u64, &str)> = entries
        .iter()
        .map(|e| {
            (
                e.header_offset,
                e.data_offset + e.compressed_size,
                e.name.as_str(),
            )
        })
        .collect();
    spans.sort_unstable();
    for pair in spans.windows(2) {
        if let [(_, end, a), (start, _, b)] = pair
            && start < end
        {
            return Err(bad(format!("entries {a:?} and {b:?} overlap")));
        }
    }
    Ok(())
}

/// What a zip archive holds, by its entry names: a torch checkpoint
/// (`<prefix>/data.pkl` with `<prefix>/version` or `<prefix>/.data/version`),
/// a `.keras` model (`config.json` at the root), an `.npz` (only `.npy`
/// entries), or any other zip.
pub fn classify(entries: &[ZipEntry]) -> Format {
    let has = |name: &str| entries.iter().any(|e| e.name == name);
    let is_torch = entries.iter().any(|e| {
        e.name.strip_suffix("/data.pkl").is_some_and(|prefix| {
            !prefix.contains('/')
                && (has(&format!("{prefix}/version")) || has(&format!("{prefix}/.data/version")))
        })
    });
    if is_torch {
        Format::TorchZip
    } else if has("config.json") {
        // Keras 3 builds the model from config.json before it reads
        // metadata.json or the weights: config.json alone decides.
        Format::Keras
    } else if !entries.is_empty() && entries.iter().all(|e| e.name.ends_with(".npy")) {
        Format::NumpyZip
    } else {
        Format::Zip
    }
}

/// Inspects a zip archive: sets `out.format` to what it holds, and
/// inspects every pickle of a torch checkpoint, every array of an `.npz`,
/// the config of a `.keras` model.
pub fn inspect_zip(src: &dyn ByteSource, out: &mut Inspection) {
    let entries = match read_entries(src) {
        Ok(entries) => entries,
        Err(e) => {
            out.format = Some(Format::Zip);
            out.problems.push(ContentProblem {
                kind: ContentProblemKind::MalformedArchive,
                message: e.what,
            });
            return;
        }
    };
    let format = classify(&entries);
    out.format = Some(format);
    match format {
        Format::TorchZip => {
            for entry in entries.iter().filter(|e| e.name.ends_with(".pkl")) {
                inspect_entry(src, entry, out, |src, offset, len, sub| {
                    pickle::inspect_pickle_with(src, offset, len, PickleOptions::ENTRY, sub);
                });
            }
        }
        Format::NumpyZip => {
            for entry in &entries {
                inspect_npz_entry(src, entry, out);
            }
        }
        Format::Keras => super::keras::inspect_keras_zip(src, &entries, out),
        _ => {}
    }
}

/// Runs `inspect` over an entry's bytes, naming the entry in each problem
/// found: in place when stored; inflated in memory when deflated (up to
/// [`limits::MAX_HEADER_BYTES`]). An entry it cannot decode (encrypted,
/// another method, larger than the limit) is reported as not inspected.
pub fn inspect_entry(
    src: &dyn ByteSource,
    entry: &ZipEntry,
    out: &mut Inspection,
    inspect: impl FnOnce(&dyn ByteSource, u64, u64, &mut Inspection),
) {
    let mut sub = Inspection::default();
    match (entry.encrypted, entry.method) {
        (false, STORED) if entry.size == entry.compressed_size => {
            inspect(src, entry.data_offset, entry.size, &mut sub);
        }
        (false, DEFLATED) => match inflate_entry(src, entry) {
            Ok(bytes) => inspect(&super::InMemory(&bytes), 0, bytes.len() as u64, &mut sub),
            Err(what) => sub.problems.push(not_inspected(what)),
        },
        _ => sub.problems.push(not_inspected(format!(
            "encrypted, or compressed with method {}, which this reader does not decode",
            entry.method
        ))),
    }
    merge_named(&entry.name, sub, out);
}

/// Adds `sub`'s findings to `out`, each problem naming the entry.
fn merge_named(name: &str, sub: Inspection, out: &mut Inspection) {
    for problem in sub.problems {
        out.problems.push(ContentProblem {
            kind: problem.kind,
            message: format!("{name}: {}", problem.message),
        });
    }
    out.imports.extend(sub.imports);
    out.imports.sort();
    out.imports.dedup();
}

/// How much of a deflated `.npy` is inflated to read its header (numpy
/// itself refuses headers over 10 000 bytes by default).
const NPY_PREFIX: u64 = 64 << 10;

/// Inspects one array of an `.npz`. A deflated one (np.savez_compressed)
/// has only its first bytes inflated, enough for the header, and its
/// data length taken from the directory; an object array's pickle is
/// inflated whole (within the limit) and walked.
fn inspect_npz_entry(src: &dyn ByteSource, entry: &ZipEntry, out: &mut Inspection) {
    use super::numpy;
    if entry.method != DEFLATED || entry.encrypted {
        return inspect_entry(src, entry, out, numpy::inspect_npy);
    }
    let want = NPY_PREFIX.min(entry.size);
    // Raw deflate never takes much over two bytes in for one out.
    let input_len = entry.compressed_size.min(want * 2 + 1024);
    let prefix = read_bytes(src, entry.data_offset, input_len)
        .ok()
        .and_then(|input| inflate::inflate_prefix(&input, want as usize).ok());
    let Some(prefix) = prefix else {
        return inspect_entry(src, entry, out, numpy::inspect_npy);
    };
    let inflated = Prefix {
        bytes: &prefix,
        len: entry.size,
    };
    match numpy::read_header(&inflated, 0, entry.size) {
        Ok(header) if header.itemsize.is_some() => {
            let mut sub = Inspection::default();
            numpy::inspect_npy(&inflated, 0, entry.size, &mut sub);
            merge_named(&entry.name, sub, out);
        }
        _ => inspect_entry(src, entry, out, numpy::inspect_npy),
    }
}

/// The first bytes of an inflated entry, standing for all `len` of them:
/// a read past the prefix fails (so nothing there is taken as read).
struct Prefix<'a> {
    bytes: &'a [u8],
    len: u64,
}

impl ByteSource for Prefix<'_> {
    fn len(&self) -> u64 {
        self.len
    }
    fn read_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
        if offset >= self.bytes.len() as u64 && offset < self.len && !buf.is_empty() {
            return Err(std::io::Error::other("past the inflated prefix"));
        }
        self.bytes.read_at(buf, offset)
    }
}

/// The problem for an entry that must be inspected and cannot be.
fn not_inspected(why: String) -> ContentProblem {
    ContentProblem {
        kind: ContentProblemKind::MalformedArchive,
        message: format!("not inspected: {why}"),
    }
}

/// A deflated entry's bytes, which must come to the size the directory states.
fn inflate_entry(src: &dyn ByteSource, entry: &ZipEntry) -> Result<Vec<u8>, String> {
    if entry.size > limits::MAX_HEADER_BYTES {
        return Err(format!(
            "{} bytes once inflated, past the inspection limit",
            entry.size
        ));
    }
    let compressed =
        read_bytes(src, entry.data_offset, entry.compressed_size).map_err(|e| e.what)?;
    let bytes = inflate::inflate(&compressed, entry.size as usize).map_err(|e| e.to_string())?;
    if bytes.len() as u64 != entry.size {
        return Err(format!(
            "inflates to {} bytes, not the {} the directory states",
            bytes.len(),
            entry.size
        ));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests;
