//! GGUF (llama.cpp): a header, typed metadata, tensor infos, then the
//! aligned tensor data. Loading is safe when every length and count fits
//! the file, every tensor lies aligned inside the data section without
//! overlapping another, and the chat templates the file carries are ones a
//! non-sandboxed Jinja2 may render ([`super::template`]). Only the header,
//! metadata and tensor infos are read; large metadata arrays are skipped by
//! offset.

use std::collections::HashSet;
use std::io;

use super::common::{Forward, Problems, ReadError};
use super::{ByteSource, ContentProblemKind, Format, Inspection, limits, template};

const MALFORMED: ContentProblemKind = ContentProblemKind::MalformedGguf;

/// The alignment of tensor data when `general.alignment` is absent.
const DEFAULT_ALIGNMENT: u64 = 32;
/// The most dimensions a ggml tensor has (`GGML_MAX_DIMS`).
const MAX_DIMS: u32 = 4;
/// The longest metadata key the GGUF spec allows.
const MAX_KEY_BYTES: u64 = 65_535;
/// The longest tensor name read into memory (ggml's own limit is 64).
const MAX_NAME_BYTES: u64 = 65_535;
/// How deeply arrays of arrays may nest.
const MAX_ARRAY_DEPTH: u32 = 8;

/// The metadata value types of the GGUF spec.
mod value_type {
    pub const UINT32: u32 = 4;
    pub const STRING: u32 = 8;
    pub const ARRAY: u32 = 9;
}

/// Inspects a GGUF file: header, metadata, tensor layout and chat
/// templates. Problems are [`ContentProblemKind::MalformedGguf`] and
/// [`ContentProblemKind::UnsafeGgufTemplate`]; the error is for reads that fail.
pub fn inspect<S: ByteSource + ?Sized>(source: &S) -> io::Result<Inspection> {
    let mut parser = Parser {
        reader: Forward::new(source),
        problems: Problems::default(),
        alignment: DEFAULT_ALIGNMENT,
        templates: Vec::new(),
    };
    match parser.parse() {
        Ok(()) => {}
        Err(Stop::Malformed(message)) => parser.problems.push(MALFORMED, message),
        Err(Stop::Io(e)) => return Err(e),
    }
    // Templates read before a later structural problem are still checked.
    for (name, text) in std::mem::take(&mut parser.templates) {
        parser.problems.extend(template::check_bytes(&name, &text));
    }
    Ok(Inspection {
        format: Some(Format::Gguf),
        problems: parser.problems.finish(),
        ..Inspection::default()
    })
}

/// The block size (elements) and block byte size of a ggml tensor type,
/// from ggml's type table; `None` for types ggml does not define (or has
/// removed).
pub fn ggml_type_layout(ggml_type: u32) -> Option<(&'static str, u64, u64)> {
    Some(match ggml_type {
        0 => ("F32", 1, 4),
        1 => ("F16", 1, 2),
        2 => ("Q4_0", 32, 18),
        3 => ("Q4_1", 32, 20),
        6 => ("Q5_0", 32, 22),
        7 => ("Q5_1", 32, 24),
        8 => ("Q8_0", 32, 34),
        // ggml's block_q8_1: two halves and 32 quants.
        9 => ("Q8_1", 32, 36),
        10 => ("Q2_K", 256, 84),
        11 => ("Q3_K", 256, 110),
        12 => ("Q4_K", 256, 144),
        13 => ("Q5_K", 256, 176),
        14 => ("Q6_K", 256, 210),
        15 => ("Q8_K", 256, 292),
        16 => ("IQ2_XXS", 256, 66),
        17 => ("IQ2_XS", 256, 74),
        18 => ("IQ3_XXS", 256, 98),
        19 => ("IQ1_S", 256, 50),
        20 => ("IQ4_NL", 32, 18),
        21 => ("IQ3_S", 256, 110),
        22 => ("IQ2_S", 256, 82),
        23 => ("IQ4_XS", 256, 136),
        24 => ("I8", 1, 1),
        25 => ("I16", 1, 2),
        26 => ("I32", 1, 4),
        27 => ("I64", 1, 8),
        28 => ("F64", 1, 8),
        29 => ("IQ1_M", 256, 56),
        30 => ("BF16", 1, 2),
        34 => ("TQ1_0", 256, 54),
        35 => ("TQ2_0", 256, 66),
        39 => ("MXFP4", 32, 17),
        40 => ("NVFP4", 64, 36),
        41 => ("Q1_0", 128, 18),
        _ => return None,
    })
}

/// Why parsing stopped early.
enum Stop {
    /// The structure is broken here; nothing after it can be trusted.
    Malformed(String),
    /// A read failed.
    Io(io::Error),
}

/// Turns a read error into a stop that says what was being read.
fn reading(what: &str) -> impl FnOnce(ReadError) -> Stop + '_ {
    move |e| match e {
        ReadError::Truncated { at, end } => Stop::Malformed(format!(
            "{what} at byte {at} runs past the end of the file ({end} bytes)"
        )),
        ReadError::Io(e) => Stop::Io(e),
    }
}

/// One tensor info, with its byte extent inside the data section.
struct TensorInfo {
    name: String,
    offset: u64,
    size: u64,
}

struct Parser<'a, S: ByteSource + ?Sized> {
    reader: Forward<'a, S>,
    problems: Problems,
    alignment: u64,
    /// `tokenizer.chat_template*` values, by key, for the template check.
    templates: Vec<(String, Vec<u8>)>,
}

impl<S: ByteSource + ?Sized> Parser<'_, S> {
    fn parse(&mut self) -> Result<(), Stop> {
        let (tensor_count, kv_count) = self.read_header()?;
        self.read_metadata(kv_count)?;
        let tensors = self.read_tensor_infos(tensor_count)?;
        self.check_tensor_layout(tensors)
    }

    fn u32(&mut self, what: &str) -> Result<u32, Stop> {
        Ok(u32::from_le_bytes(
            self.reader.array().map_err(reading(what))?,
        ))
    }

    fn u64(&mut self, what: &str) -> Result<u64, Stop> {
        Ok(u64::from_le_bytes(
            self.reader.array().map_err(reading(what))?,
        ))
    }

    /// Magic, version, and the two counts, each checked for plausibility
    /// against the bytes left before anything is allocated for them.
    fn read_header(&mut self) -> Result<(u64, u64), Stop> {
        let magic: [u8; 4] = self.reader.array().map_err(reading("the magic"))?;
        if &magic != b"GGUF" {
            return Err(Stop::Malformed(format!(
                "the magic is {magic:?}, not \"GGUF\""
            )));
        }
        let version = self.u32("the version")?;
        match version {
            2 | 3 => {}
            1 => {
                return Err(Stop::Malformed(
                    "GGUF version 1 (32-bit counts) is no longer loaded by llama.cpp".to_owned(),
                ));
            }
            v if v.swap_bytes() == 2 || v.swap_bytes() == 3 => {
                return Err(Stop::Malformed(format!(
                    "a big-endian GGUF (version {}), which is not inspected",
                    v.swap_bytes()
                )));
            }
            v => return Err(Stop::Malformed(format!("unknown GGUF version {v}"))),
        }
        let tensor_count = self.u64("the tensor count")?;
        let kv_count = self.u64("the metadata count")?;
        // Each metadata item takes at least 13 bytes (key length, type,
        // a one-byte value); each tensor info at least 24.
        self.check_count("metadata items", kv_count, 13)?;
        self.check_count("tensors", tensor_count, 24)?;
        Ok((tensor_count, kv_count))
    }

    fn check_count(&self, what: &str, count: u64, min_bytes: u64) -> Result<(), Stop> {
        if count > limits::MAX_ITEMS {
            return Err(Stop::Malformed(format!(
                "{count} {what}, over the limit of {}",
                limits::MAX_ITEMS
            )));
        }
        let room = self.reader.remaining() / min_bytes;
        if count > room {
            return Err(Stop::Malformed(format!(
                "{count} {what} cannot fit in the {} bytes left in the file",
                self.reader.remaining()
            )));
        }
        Ok(())
    }

    /// Stops once the metadata and tensor infos pass the header limit, so
    /// a file of millions of tiny array items costs bounded work.
    fn check_header_limit(&self) -> Result<(), Stop> {
        if self.reader.pos() > limits::MAX_HEADER_BYTES {
            return Err(Stop::Malformed(format!(
                "the metadata and tensor infos run past {} bytes, the limit",
                limits::MAX_HEADER_BYTES
            )));
        }
        Ok(())
    }

    /// Reads a string's length, refusing one longer than `max`.
    fn string_len(&mut self, what: &str, max: u64) -> Result<u64, Stop> {
        let len = self.u64(what)?;
        if len > max {
            return Err(Stop::Malformed(format!(
                "{what} at byte {} is {len} bytes long, over the limit of {max}",
                self.reader.pos() - 8
            )));
        }
        Ok(len)
    }

    fn read_metadata(&mut self, kv_count: u64) -> Result<(), Stop> {
        let mut keys = HashSet::new();
        for _ in 0..kv_count {
            self.check_header_limit()?;
            let key_len = self.string_len("a metadata key", MAX_KEY_BYTES)?;
            let key_bytes = self
                .reader
                .bytes(key_len)
                .map_err(reading("a metadata key"))?;
            let key = String::from_utf8_lossy(&key_bytes).into_owned();
            if !keys.insert(key.clone()) {
                self.problems
                    .push(MALFORMED, format!("the metadata key {key:?} appears twice"));
            }
            let value_type = self.u32("a metadata value type")?;
            self.read_value(&key, value_type)?;
        }
        Ok(())
    }

    /// Reads the values this check uses (alignment, chat templates) and
    /// skips the rest.
    fn read_value(&mut self, key: &str, value_type: u32) -> Result<(), Stop> {
        if key == "general.alignment" {
            return self.read_alignment(value_type);
        }
        if is_template_key(key) {
            if value_type != value_type::STRING {
                self.problems.push(
                    MALFORMED,
                    format!("{key} has value type {value_type}, not a string"),
                );
                return self.skip_value(key, value_type, 0);
            }
            return self.read_template(key);
        }
        self.skip_value(key, value_type, 0)
    }

    fn read_alignment(&mut self, value_type: u32) -> Result<(), Stop> {
        if value_type != value_type::UINT32 {
            self.problems.push(
                MALFORMED,
                format!("general.alignment has value type {value_type}, not uint32"),
            );
            return self.skip_value("general.alignment", value_type, 0);
        }
        let alignment = self.u32("general.alignment")?;
        if alignment == 0 || !alignment.is_power_of_two() {
            return Err(Stop::Malformed(format!(
                "general.alignment is {alignment}, not a power of two"
            )));
        }
        self.alignment = u64::from(alignment);
        Ok(())
    }

    fn read_template(&mut self, key: &str) -> Result<(), Stop> {
        let len = self.string_len(key, u64::MAX)?;
        if len > template::MAX_TEMPLATE_BYTES {
            self.problems.push(
                ContentProblemKind::UnsafeGgufTemplate,
                format!(
                    "{key} is {len} bytes, over the {} that can be checked",
                    template::MAX_TEMPLATE_BYTES
                ),
            );
            return self.reader.skip(len).map_err(reading(key));
        }
        let text = self.reader.bytes(len).map_err(reading(key))?;
        self.templates.push((key.to_owned(), text));
        Ok(())
    }

    /// Moves past one value of `value_type` without keeping it.
    fn skip_value(&mut self, key: &str, value_type: u32, depth: u32) -> Result<(), Stop> {
        if let Some(size) = fixed_size(value_type) {
            return self.reader.skip(size).map_err(reading(key));
        }
        match value_type {
            value_type::STRING => {
                let len = self.u64(key)?;
                self.reader.skip(len).map_err(reading(key))
            }
            value_type::ARRAY => self.skip_array(key, depth),
            other => Err(Stop::Malformed(format!(
                "metadata {key:?} has unknown value type {other}"
            ))),
        }
    }

    fn skip_array(&mut self, key: &str, depth: u32) -> Result<(), Stop> {
        if depth >= MAX_ARRAY_DEPTH {
            return Err(Stop::Malformed(format!(
                "metadata {key:?} nests arrays more than {MAX_ARRAY_DEPTH} deep"
            )));
        }
        let item_type = self.u32(key)?;
        let count = self.u64(key)?;
        if let Some(size) = fixed_size(item_type) {
            let total = count.checked_mul(size).ok_or_else(|| {
                Stop::Malformed(format!("metadata {key:?} has an array of {count} items"))
            })?;
            return self.reader.skip(total).map_err(reading(key));
        }
        // A string takes at least 8 bytes, an array at least 12.
        let min_item = if item_type == value_type::ARRAY {
            12
        } else {
            8
        };
        if count > self.reader.remaining() / min_item {
            return Err(Stop::Malformed(format!(
                "metadata {key:?} has an array of {count} items, more than the file holds"
            )));
        }
        for _ in 0..count {
            self.check_header_limit()?;
            self.skip_value(key, item_type, depth + 1)?;
        }
        Ok(())
    }

    fn read_tensor_infos(&mut self, tensor_count: u64) -> Result<Vec<TensorInfo>, Stop> {
        self.check_count("tensors", tensor_count, 24)?;
        let mut tensors = Vec::new();
        let mut names = HashSet::new();
        for _ in 0..tensor_count {
            self.check_header_limit()?;
            let tensor = self.read_tensor_info()?;
            if !names.insert(tensor.name.clone()) {
                self.problems.push(
                    MALFORMED,
                    format!("the tensor name {:?} appears twice", tensor.name),
                );
            }
            tensors.push(tensor);
        }
        Ok(tensors)
    }

    /// One tensor info: name, dimensions, type and offset, with its byte
    /// size from ggml's type table.
    fn read_tensor_info(&mut self) -> Result<TensorInfo, Stop> {
        let name_len = self.string_len("a tensor name", MAX_NAME_BYTES)?;
        let name_bytes = self
            .reader
            .bytes(name_len)
            .map_err(reading("a tensor name"))?;
        let name = String::from_utf8_lossy(&name_bytes).into_owned();
        let n_dims = self.u32(&name)?;
        if n_dims > MAX_DIMS {
            return Err(Stop::Malformed(format!(
                "tensor {name:?} has {n_dims} dimensions, more than ggml's {MAX_DIMS}"
            )));
        }
        let mut dims = Vec::new();
        for _ in 0..n_dims {
            dims.push(self.u64(&name)?);
        }
        let ggml_type = self.u32(&name)?;
        let offset = self.u64(&name)?;
        let size = tensor_size(&name, &dims, ggml_type).map_err(Stop::Malformed)?;
        Ok(TensorInfo { name, offset, size })
    }

    /// Each tensor aligned, inside the data section, and overlapping no other.
    fn check_tensor_layout(&mut self, mut tensors: Vec<TensorInfo>) -> Result<(), Stop> {
        let data_start = align_up(self.reader.pos(), self.alignment)
            .ok_or_else(|| Stop::Malformed("the data section starts past 2^64 bytes".to_owned()))?;
        let data_len = self.reader.end().saturating_sub(data_start);
        for tensor in &tensors {
            self.check_extent(tensor, data_len);
        }
        tensors.sort_by_key(|t| (t.offset, t.size));
        // The tensor reaching furthest so far, and where it ends.
        let mut furthest: Option<(&TensorInfo, u64)> = None;
        for tensor in tensors.iter().filter(|t| t.size > 0) {
            if let Some((before, end)) = furthest
                && end > tensor.offset
            {
                self.problems.push(
                    MALFORMED,
                    format!(
                        "tensor {:?} at offset {} overlaps tensor {:?} at offset {}, which ends at {end}",
                        tensor.name, tensor.offset, before.name, before.offset
                    ),
                );
            }
            let end = tensor.offset.saturating_add(tensor.size);
            if furthest.is_none_or(|(_, furthest_end)| end > furthest_end) {
                furthest = Some((tensor, end));
            }
        }
        Ok(())
    }

    fn check_extent(&mut self, tensor: &TensorInfo, data_len: u64) {
        if !tensor.offset.is_multiple_of(self.alignment) {
            self.problems.push(
                MALFORMED,
                format!(
                    "tensor {:?} at offset {} is not aligned to {} bytes",
                    tensor.name, tensor.offset, self.alignment
                ),
            );
        }
        let fits = tensor
            .offset
            .checked_add(tensor.size)
            .is_some_and(|end| end <= data_len);
        if !fits {
            self.problems.push(
                MALFORMED,
                format!(
                    "tensor {:?} at offset {} ({} bytes) runs past the data section's {data_len} bytes",
                    tensor.name, tensor.offset, tensor.size
                ),
            );
        }
    }
}

/// Whether a metadata key holds a chat template: the default one or a
/// named one (`tokenizer.chat_template.tool_use`).
fn is_template_key(key: &str) -> bool {
    key == "tokenizer.chat_template" || key.starts_with("tokenizer.chat_template.")
}

/// The size of a fixed-size metadata value type.
fn fixed_size(value_type: u32) -> Option<u64> {
    match value_type {
        0 | 1 | 7 => Some(1),
        2 | 3 => Some(2),
        4..=6 => Some(4),
        10..=12 => Some(8),
        _ => None,
    }
}

/// The bytes of a tensor: rows of whole blocks, the rest of the dimensions
/// multiplied with overflow refused.
fn tensor_size(name: &str, dims: &[u64], ggml_type: u32) -> Result<u64, String> {
    let (type_name, block, block_bytes) = ggml_type_layout(ggml_type)
        .ok_or_else(|| format!("tensor {name:?} has unknown ggml type {ggml_type}"))?;
    if let Some(dim) = dims.iter().find(|&&d| d > i64::MAX as u64) {
        return Err(format!(
            "tensor {name:?} has a negative dimension ({dim} as u64)"
        ));
    }
    let row = dims.first().copied().unwrap_or(1);
    if !row.is_multiple_of(block) {
        return Err(format!(
            "tensor {name:?} of {type_name} has rows of {row} elements, not a multiple of its block of {block}"
        ));
    }
    let overflow = || format!("tensor {name:?} with dimensions {dims:?} is over 2^64 bytes");
    let row_bytes = (row / block)
        .checked_mul(block_bytes)
        .ok_or_else(overflow)?;
    dims.iter()
        .skip(1)
        .try_fold(row_bytes, |acc, &d| acc.checked_mul(d))
        .ok_or_else(overflow)
}

fn align_up(pos: u64, alignment: u64) -> Option<u64> {
    let rem = pos % alignment;
    if rem == 0 {
        Some(pos)
    } else {
        pos.checked_add(alignment - rem)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/inspect/gguf");

    fn string(s: &str) -> Vec<u8> {
        [(s.len() as u64).to_le_bytes().as_slice(), s.as_bytes()].concat()
    }

    /// A GGUF v3: metadata items (key, type, value bytes), tensor infos
    /// (name, dims, type, offset), padding to 32, then `data_len` bytes.
    fn gguf(
        kvs: &[(&str, u32, Vec<u8>)],
        tensors: &[(&str, &[u64], u32, u64)],
        data_len: usize,
    ) -> Vec<u8> {
        let mut out = b"GGUF".to_vec();
        out.extend(3u32.to_le_bytes());
        out.extend((tensors.len() as u64).to_le_bytes());
        out.extend((kvs.len() as u64).to_le_bytes());
        for (key, value_type, value) in kvs {
            out.extend(string(key));
            out.extend(value_type.to_le_bytes());
            out.extend(value);
        }
        for (name, dims, ggml_type, offset) in tensors {
            out.extend(string(name));
            out.extend((dims.len() as u32).to_le_bytes());
            for d in *dims {
                out.extend(d.to_le_bytes());
            }
            out.extend(ggml_type.to_le_bytes());
            out.extend(offset.to_le_bytes());
        }
        out.resize(out.len().next_multiple_of(32) + data_len, 0);
        out
    }

    fn messages(bytes: &[u8]) -> Vec<(ContentProblemKind, String)> {
        let inspection = inspect(bytes).unwrap();
        assert_eq!(inspection.format, Some(Format::Gguf));
        inspection
            .problems
            .into_iter()
            .map(|p| (p.kind, p.message))
            .collect()
    }

    fn one_malformed(bytes: &[u8]) -> String {
        let found = messages(bytes);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].0, MALFORMED);
        found[0].1.clone()
    }

    #[test]
    fn a_consistent_file_has_no_problems() {
        let array_of_strings = [4u32.to_le_bytes().as_slice(), &[0; 0]].concat();
        let mut strings = (value_type::STRING).to_le_bytes().to_vec();
        strings.extend(2u64.to_le_bytes());
        strings.extend(string("a"));
        strings.extend(string("b"));
        let kvs = [
            (
                "general.alignment",
                value_type::UINT32,
                32u32.to_le_bytes().to_vec(),
            ),
            ("tokens", value_type::ARRAY, strings),
            ("n", 10, 7u64.to_le_bytes().to_vec()),
            ("unused", 4, array_of_strings),
        ];
        // Q4_K: 256 elements a block of 144 bytes; 512x2 is 4 blocks.
        let tensors: [(&str, &[u64], u32, u64); 2] = [("a", &[512, 2], 12, 0), ("b", &[4], 0, 576)];
        assert_eq!(messages(&gguf(&kvs, &tensors, 592)), Vec::new());
    }

    #[test]
    fn layout_problems_name_the_tensor() {
        let t: [(&str, &[u64], u32, u64); 2] = [("a", &[8], 0, 0), ("b", &[8], 0, 36)];
        assert!(
            one_malformed(&gguf(&[], &t, 96))
                .contains("tensor \"b\" at offset 36 is not aligned to 32")
        );
        let t: [(&str, &[u64], u32, u64); 1] = [("a", &[64], 0, 0)];
        assert!(one_malformed(&gguf(&[], &t, 32)).contains(
            "tensor \"a\" at offset 0 (256 bytes) runs past the data section's 32 bytes"
        ));
        let t: [(&str, &[u64], u32, u64); 2] = [("a", &[16], 0, 0), ("b", &[8], 0, 32)];
        assert!(
            one_malformed(&gguf(&[], &t, 64))
                .contains("tensor \"b\" at offset 32 overlaps tensor \"a\"")
        );
        let t: [(&str, &[u64], u32, u64); 2] = [("a", &[8], 0, 0), ("a", &[8], 0, 32)];
        assert!(one_malformed(&gguf(&[], &t, 64)).contains("\"a\" appears twice"));
        let t: [(&str, &[u64], u32, u64); 1] = [("q", &[33], 8, 0)];
        assert!(one_malformed(&gguf(&[], &t, 64)).contains("not a multiple of its block of 32"));
        let t: [(&str, &[u64], u32, u64); 1] = [("q", &[1], 31, 0)];
        assert!(one_malformed(&gguf(&[], &t, 64)).contains("unknown ggml type 31"));
        let t: [(&str, &[u64], u32, u64); 1] = [("q", &[1, 1, 1, 1, 1], 0, 0)];
        assert!(one_malformed(&gguf(&[], &t, 64)).contains("5 dimensions"));
        let t: [(&str, &[u64], u32, u64); 1] = [("q", &[1 << 40, 1 << 40], 0, 0)];
        assert!(one_malformed(&gguf(&[], &t, 64)).contains("over 2^64 bytes"));
    }

    #[test]
    fn headers_and_metadata_are_checked_before_allocating() {
        assert!(one_malformed(b"GGUX\x03\0\0\0").contains("not \"GGUF\""));
        assert!(one_malformed(b"GGUF\x07\0\0\0").contains("unknown GGUF version 7"));
        assert!(one_malformed(b"GGUF\0\0\0\x03").contains("big-endian"));
        let mut huge = b"GGUF\x03\0\0\0".to_vec();
        huge.extend(u64::MAX.to_le_bytes());
        huge.extend(0u64.to_le_bytes());
        assert!(one_malformed(&huge).contains("over the limit"));
        let kvs = [("k", value_type::STRING, u64::MAX.to_le_bytes().to_vec())];
        assert!(one_malformed(&gguf(&kvs, &[], 0)).contains("runs past the end"));
        let mut array = 0u32.to_le_bytes().to_vec();
        array.extend(u64::MAX.to_le_bytes());
        let kvs = [("k", value_type::ARRAY, array)];
        assert!(one_malformed(&gguf(&kvs, &[], 0)).contains("runs past the end of the file"));
        let kvs = [("k", 13, vec![])];
        assert!(one_malformed(&gguf(&kvs, &[], 0)).contains("unknown value type 13"));
        let kvs = [(
            "general.alignment",
            value_type::UINT32,
            48u32.to_le_bytes().to_vec(),
        )];
        assert!(one_malformed(&gguf(&kvs, &[], 0)).contains("48, not a power of two"));
        let twice = [("k", 0, vec![1]), ("k", 0, vec![2])];
        assert!(one_malformed(&gguf(&twice, &[], 0)).contains("\"k\" appears twice"));
    }

    #[test]
    fn nested_arrays_are_bounded() {
        let mut value = Vec::new();
        for _ in 0..20 {
            let mut outer = value_type::ARRAY.to_le_bytes().to_vec();
            outer.extend(1u64.to_le_bytes());
            outer.extend(value);
            value = outer;
        }
        let kvs = [("deep", value_type::ARRAY, value)];
        assert!(one_malformed(&gguf(&kvs, &[], 0)).contains("nests arrays more than 8 deep"));
    }

    #[test]
    fn chat_templates_are_checked() {
        let bad = "{{ lipsum.__globals__ }}";
        let kvs = [
            (
                "tokenizer.chat_template",
                value_type::STRING,
                string("{{ messages[0].content }}"),
            ),
            (
                "tokenizer.chat_template.tool_use",
                value_type::STRING,
                string(bad),
            ),
        ];
        let found = messages(&gguf(&kvs, &[], 0));
        assert!(!found.is_empty());
        assert!(
            found
                .iter()
                .all(|(kind, m)| *kind == ContentProblemKind::UnsafeGgufTemplate
                    && m.contains("\"tokenizer.chat_template.tool_use\"")),
            "{found:?}"
        );
        let kvs = [("tokenizer.chat_template", 4, 1u32.to_le_bytes().to_vec())];
        assert!(one_malformed(&gguf(&kvs, &[], 0)).contains("not a string"));
    }

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(format!("{FIXTURES}/{name}")).unwrap()
    }

    #[test]
    fn files_written_by_gguf_py() {
        assert_eq!(
            messages(&fixture("benign_llama3_template.gguf")),
            Vec::new()
        );
        let found = messages(&fixture("template_cve_2024_34359.gguf"));
        assert!(
            found
                .iter()
                .any(|(kind, m)| *kind == ContentProblemKind::UnsafeGgufTemplate
                    && m.contains("`__subclasses__`")),
            "{found:?}"
        );
        assert!(
            found
                .iter()
                .all(|(kind, _)| *kind == ContentProblemKind::UnsafeGgufTemplate)
        );
    }

    #[test]
    fn files_are_read_through_file_source() {
        let file = std::fs::File::open(format!("{FIXTURES}/benign_llama3_template.gguf")).unwrap();
        let len = file.metadata().unwrap().len();
        let source = crate::inspect::FileSource { file: &file, len };
        let from_file = inspect(&source).unwrap();
        assert_eq!(
            from_file,
            inspect(fixture("benign_llama3_template.gguf").as_slice()).unwrap()
        );
        assert!(from_file.problems.is_empty());
    }

    #[test]
    fn malformed_fixtures() {
        let m = one_malformed(&fixture("misaligned_tensor_offset.gguf"));
        assert!(
            m.contains("tensor \"b.weight\" at offset 36 is not aligned"),
            "{m}"
        );
        let m = one_malformed(&fixture("tensor_past_end.gguf"));
        assert!(
            m.contains("tensor \"b.weight\" at offset 4128 (32 bytes) runs past"),
            "{m}"
        );
        let m = one_malformed(&fixture("huge_counts.gguf"));
        assert!(
            m.contains("1099511627776 metadata items, over the limit"),
            "{m}"
        );
    }
}
