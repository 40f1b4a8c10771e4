//! ONNX: a protobuf `ModelProto`. Loading one opens the files its tensors
//! name as external data (`data_location: EXTERNAL`, `external_data`
//! `location`), relative to the model's directory; a location that is
//! absolute or climbs out with `..` reads any file the loader can. This
//! walks the protobuf by its field tags (graph, initializers, sparse
//! initializers, graphs nested in node attributes, training graphs,
//! functions), skips every payload (`raw_data`, float lists) by offset, and
//! records each external location.

use std::io;

use super::common::{Forward, Problems, ReadError};
use super::{ByteSource, ContentProblemKind, Format, Inspection};

const MALFORMED: ContentProblemKind = ContentProblemKind::MalformedOnnx;

/// How deeply messages may nest (graphs inside attributes inside graphs...).
const MAX_DEPTH: u32 = 64;
/// Most protobuf fields walked in one file.
const MAX_FIELDS: u64 = 50_000_000;
/// The longest external-data key or location read into memory.
const MAX_LOCATION_BYTES: u64 = 4096;
/// The longest tensor name kept for messages.
const MAX_NAME_BYTES: u64 = 1024;
/// `TensorProto.DataLocation.EXTERNAL`.
const EXTERNAL: u64 = 1;

/// Inspects an ONNX model: its protobuf structure, and every external-data
/// location, recorded in [`Inspection::references`] as written. A location
/// that leaves the model's directory is
/// [`ContentProblemKind::UnsafeOnnxExternalData`]; a broken structure is
/// [`ContentProblemKind::MalformedOnnx`]. The error is for reads that fail.
pub fn inspect<S: ByteSource + ?Sized>(source: &S) -> io::Result<Inspection> {
    let mut walker = Walker {
        reader: Forward::new(source),
        problems: Problems::default(),
        references: Vec::new(),
        fields: 0,
    };
    let end = source.len();
    match walker.walk(Message::Model, end, 0) {
        Ok(()) => {}
        Err(Stop::Malformed(message)) => walker.problems.push(MALFORMED, message),
        Err(Stop::Io(e)) => return Err(e),
    }
    Ok(Inspection {
        format: Some(Format::Onnx),
        problems: walker.problems.finish(),
        references: walker.references,
        ..Inspection::default()
    })
}

/// Whether the first bytes of a file read as the start of a `ModelProto`:
/// `ir_version` (field 1, a small varint) first, then at least one more
/// field, every field a `ModelProto` field with its own wire type, and the
/// short strings (producer, domain) UTF-8. Raw tensor bytes do not pass.
pub fn looks_like_onnx(head: &[u8]) -> bool {
    let mut pos = 0usize;
    let mut fields = 0;
    while pos < head.len() {
        let Some((key, after_key)) = varint_in(head, pos) else {
            return fields >= 2;
        };
        let (field, wire) = (key >> 3, key & 7);
        if fields == 0 && field != 1 {
            return false;
        }
        let Some(next) = head_field(head, after_key, field, wire) else {
            return false;
        };
        fields += 1;
        match next {
            Some(next) => pos = next,
            // A field running past the head: the head looked right so far.
            None => return fields >= 2,
        }
    }
    fields >= 2
}

/// Checks one top-level field of a head; `Some(None)` when it runs past
/// the head, `None` when it cannot be a `ModelProto` field.
fn head_field(head: &[u8], pos: usize, field: u64, wire: u64) -> Option<Option<usize>> {
    match (field, wire) {
        (1, 0) => {
            let (version, next) = varint_in(head, pos)?;
            (1..=64).contains(&version).then_some(Some(next))
        }
        (5, 0) => Some(varint_in(head, pos).map(|(_, next)| next)),
        (2 | 3 | 4 | 6 | 7 | 8 | 14 | 20 | 25 | 26, 2) => {
            let (len, start) = varint_in(head, pos)?;
            let end = usize::try_from(len).ok().and_then(|l| start.checked_add(l));
            match end.and_then(|end| head.get(start..end).map(|bytes| (end, bytes))) {
                Some((end, bytes)) => {
                    let text_ok = !matches!(field, 2..=4) || std::str::from_utf8(bytes).is_ok();
                    text_ok.then_some(Some(end))
                }
                None => Some(None),
            }
        }
        _ => None,
    }
}

/// A varint inside `bytes` at `pos`, and the position after it.
fn varint_in(bytes: &[u8], pos: usize) -> Option<(u64, usize)> {
    let mut value = 0u64;
    for i in 0..10 {
        let byte = *bytes.get(pos + i)?;
        if i == 9 && byte > 1 {
            return None;
        }
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Some((value, pos + i + 1));
        }
    }
    None
}

/// Whether an external-data location stays inside the model's directory:
/// `None` when it does, else why not.
pub fn location_escapes(location: &str) -> Option<&'static str> {
    if location.is_empty() {
        return Some("is empty");
    }
    if location.contains('\0') {
        return Some("contains a NUL");
    }
    if location.contains('\\') {
        return Some("contains a backslash");
    }
    if location.starts_with('/') {
        return Some("is an absolute path");
    }
    let bytes = location.as_bytes();
    if bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':' {
        return Some("starts with a drive letter");
    }
    if location.split('/').any(|part| part == "..") {
        return Some("has a `..` component");
    }
    if location
        .split('/')
        .all(|part| part.is_empty() || part == ".")
    {
        return Some("names the model's directory, not a file");
    }
    None
}

/// The messages walked, each by the fields that hold messages in turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Message {
    Model,
    Graph,
    Node,
    Attribute,
    Tensor,
    SparseTensor,
    TrainingInfo,
    Function,
    /// One `external_data` entry: `key` (1), `value` (2).
    Entry,
}

impl Message {
    /// The message a length-delimited field of this message holds, if it
    /// is one walked.
    fn child(self, field: u64) -> Option<Message> {
        use Message::*;
        Some(match (self, field) {
            (Model, 7) | (Attribute, 6 | 11) | (TrainingInfo, 1 | 2) => Graph,
            (Model, 20) => TrainingInfo,
            (Model, 25) => Function,
            (Graph, 1) | (Function, 7) => Node,
            (Graph, 5) | (Attribute, 5 | 10) | (SparseTensor, 1 | 2) => Tensor,
            (Graph, 15) | (Attribute, 22 | 23) => SparseTensor,
            (Node, 5) => Attribute,
            (Tensor, 13) => Entry,
            _ => return None,
        })
    }
}

/// Why walking stopped early.
enum Stop {
    Malformed(String),
    Io(io::Error),
}

fn reading(what: &'static str) -> impl FnOnce(ReadError) -> Stop {
    move |e| match e {
        ReadError::Truncated { at, end } => Stop::Malformed(format!(
            "{what} at byte {at} runs past the end of the file ({end} bytes)"
        )),
        ReadError::Io(e) => Stop::Io(e),
    }
}

/// What one `TensorProto` says about where its data is.
#[derive(Default)]
struct TensorFacts {
    name: String,
    data_location: u64,
    location: Option<Vec<u8>>,
    numbers: Vec<(String, Vec<u8>)>,
}

struct Walker<'a, S: ByteSource + ?Sized> {
    reader: Forward<'a, S>,
    problems: Problems,
    references: Vec<String>,
    fields: u64,
}

/// One field's tag: its number and wire type.
struct Tag {
    field: u64,
    wire: u64,
    at: u64,
}

impl<S: ByteSource + ?Sized> Walker<'_, S> {
    fn varint(&mut self, end: u64) -> Result<u64, Stop> {
        let at = self.reader.pos();
        let mut value = 0u64;
        for i in 0..10 {
            if self.reader.pos() >= end {
                return Err(Stop::Malformed(format!(
                    "a varint at byte {at} runs past its message's end at {end}"
                )));
            }
            let [byte] = self.reader.array::<1>().map_err(reading("a varint"))?;
            if i == 9 && byte > 1 {
                return Err(Stop::Malformed(format!(
                    "the varint at byte {at} is over 64 bits"
                )));
            }
            value |= u64::from(byte & 0x7f) << (7 * i);
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(Stop::Malformed(format!(
            "the varint at byte {at} is over 64 bits"
        )))
    }

    fn tag(&mut self, end: u64) -> Result<Tag, Stop> {
        self.fields += 1;
        if self.fields > MAX_FIELDS {
            return Err(Stop::Malformed(format!(
                "more than {MAX_FIELDS} protobuf fields"
            )));
        }
        let at = self.reader.pos();
        let key = self.varint(end)?;
        let (field, wire) = (key >> 3, key & 7);
        if field == 0 || field > u64::from(u32::MAX >> 3) {
            return Err(Stop::Malformed(format!(
                "field number {field} at byte {at} is not a protobuf field"
            )));
        }
        Ok(Tag { field, wire, at })
    }

    /// The length of a length-delimited field, checked against its
    /// message's end.
    fn length(&mut self, tag: &Tag, end: u64) -> Result<u64, Stop> {
        let len = self.varint(end)?;
        if len > end - self.reader.pos() {
            return Err(Stop::Malformed(format!(
                "field {} at byte {} is {len} bytes, past its message's end at {end}",
                tag.field, tag.at
            )));
        }
        Ok(len)
    }

    /// Walks the fields of one `message` ending at `end`.
    fn walk(&mut self, message: Message, end: u64, depth: u32) -> Result<(), Stop> {
        if depth > MAX_DEPTH {
            return Err(Stop::Malformed(format!(
                "messages nest more than {MAX_DEPTH} deep at byte {}",
                self.reader.pos()
            )));
        }
        let mut tensor = TensorFacts::default();
        while self.reader.pos() < end {
            let tag = self.tag(end)?;
            self.field(message, &tag, end, depth, &mut tensor)?;
        }
        if message == Message::Tensor {
            self.check_tensor(tensor);
        }
        Ok(())
    }

    /// Walks into, reads, or skips one field.
    fn field(
        &mut self,
        message: Message,
        tag: &Tag,
        end: u64,
        depth: u32,
        tensor: &mut TensorFacts,
    ) -> Result<(), Stop> {
        let fixed = match tag.wire {
            0 => {
                let value = self.varint(end)?;
                if message == Message::Tensor && tag.field == 14 {
                    tensor.data_location = value;
                }
                return Ok(());
            }
            1 => 8,
            5 => 4,
            2 => return self.length_delimited(message, tag, end, depth, tensor),
            wire => {
                return Err(Stop::Malformed(format!(
                    "field {} at byte {} has wire type {wire}, which ONNX does not use",
                    tag.field, tag.at
                )));
            }
        };
        if fixed > end - self.reader.pos() {
            return Err(Stop::Malformed(format!(
                "field {} at byte {} runs past its message's end at {end}",
                tag.field, tag.at
            )));
        }
        self.reader.skip(fixed).map_err(reading("a fixed field"))
    }

    fn length_delimited(
        &mut self,
        message: Message,
        tag: &Tag,
        end: u64,
        depth: u32,
        tensor: &mut TensorFacts,
    ) -> Result<(), Stop> {
        let len = self.length(tag, end)?;
        let field_end = self.reader.pos() + len;
        match (message, message.child(tag.field)) {
            (Message::Tensor, Some(Message::Entry)) => {
                self.read_entry(field_end, tensor)?;
            }
            (_, Some(child)) => self.walk(child, field_end, depth + 1)?,
            (Message::Tensor, None) if tag.field == 8 && len <= MAX_NAME_BYTES => {
                let name = self.reader.bytes(len).map_err(reading("a tensor name"))?;
                tensor.name = String::from_utf8_lossy(&name).into_owned();
            }
            // raw_data, packed numbers, strings: skipped unread.
            _ => self.reader.skip(len).map_err(reading("a field"))?,
        }
        if self.reader.pos() != field_end {
            return Err(Stop::Malformed(format!(
                "field {} at byte {} does not end where its length says ({field_end})",
                tag.field, tag.at
            )));
        }
        Ok(())
    }

    /// One `external_data` entry: its key and value, each bounded.
    fn read_entry(&mut self, end: u64, tensor: &mut TensorFacts) -> Result<(), Stop> {
        let mut key = None;
        let mut value = None;
        while self.reader.pos() < end {
            let tag = self.tag(end)?;
            if tag.wire != 2 || !matches!(tag.field, 1 | 2) {
                self.field(Message::Entry, &tag, end, MAX_DEPTH, tensor)?;
                continue;
            }
            let len = self.length(&tag, end)?;
            if len > MAX_LOCATION_BYTES {
                self.problems.push(
                    ContentProblemKind::UnsafeOnnxExternalData,
                    format!(
                        "an external_data {} at byte {} is {len} bytes, over the {MAX_LOCATION_BYTES} checked",
                        if tag.field == 1 { "key" } else { "value" },
                        tag.at
                    ),
                );
                self.reader
                    .skip(len)
                    .map_err(reading("an external_data entry"))?;
                continue;
            }
            let bytes = self
                .reader
                .bytes(len)
                .map_err(reading("an external_data entry"))?;
            if tag.field == 1 {
                key = Some(bytes);
            } else {
                value = Some(bytes);
            }
        }
        let (Some(key), Some(value)) = (key, value) else {
            return Ok(());
        };
        if key == b"location" {
            tensor.location = Some(value);
        } else {
            tensor
                .numbers
                .push((String::from_utf8_lossy(&key).into_owned(), value));
        }
        Ok(())
    }

    /// An external tensor must name a location inside the model's
    /// directory, and give its offset and length as decimal numbers.
    fn check_tensor(&mut self, tensor: TensorFacts) {
        if tensor.data_location != EXTERNAL {
            return;
        }
        let name = &tensor.name;
        let Some(location) = tensor.location else {
            return self.problems.push(
                MALFORMED,
                format!("tensor {name:?} has external data but no location"),
            );
        };
        let text = String::from_utf8_lossy(&location).into_owned();
        let why = match std::str::from_utf8(&location) {
            Ok(location) => location_escapes(location),
            Err(_) => Some("is not UTF-8"),
        };
        if let Some(why) = why {
            self.problems.push(
                ContentProblemKind::UnsafeOnnxExternalData,
                format!("tensor {name:?} has external data at {text:?}, which {why}"),
            );
        }
        for (key, value) in &tensor.numbers {
            if matches!(key.as_str(), "offset" | "length")
                && (value.is_empty() || !value.iter().all(u8::is_ascii_digit))
            {
                self.problems.push(
                    MALFORMED,
                    format!(
                        "tensor {name:?} has external data {key} {:?}, not a number",
                        String::from_utf8_lossy(value)
                    ),
                );
            }
        }
        if !self.references.contains(&text) {
            self.references.push(text);
        }
    }
}

#[cfg(test)]
mod tests;
