//! Safetensors: an 8-byte little-endian header length, a JSON header, then
//! the tensors' bytes. Loading is safe when the header says exactly where
//! every tensor lies: known dtypes, sizes that match the shapes, offsets
//! that tile the data section with no gap or overlap and end at the file's
//! end. Only the header is read.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::io;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

use super::common::Problems;
use super::{ByteSource, ContentProblemKind, Format, Inspection, limits};

/// The key of the header's string-to-string metadata.
const METADATA_KEY: &str = "__metadata__";

const MALFORMED: ContentProblemKind = ContentProblemKind::MalformedSafetensors;

/// Inspects a safetensors file: its header, and the layout it declares
/// against the file's length. Malformed headers and layouts are
/// [`ContentProblemKind::MalformedSafetensors`] problems; the error is for
/// reads that fail.
pub fn inspect<S: ByteSource + ?Sized>(source: &S) -> io::Result<Inspection> {
    let mut problems = Problems::default();
    if let Some(header) = read_header(source, &mut problems)? {
        check_header(&header, source.len(), &mut problems);
    }
    Ok(Inspection {
        format: Some(Format::Safetensors),
        problems: problems.finish(),
        ..Inspection::default()
    })
}

/// The dtypes safetensors accepts (its `Dtype` enum), with their sizes in bits.
pub fn dtype_bits(dtype: &str) -> Option<u64> {
    Some(match dtype {
        "F4" => 4,
        "F6_E2M3" | "F6_E3M2" => 6,
        "BOOL" | "U8" | "I8" | "F8_E5M2" | "F8_E4M3" | "F8_E8M0" | "F8_E4M3FNUZ"
        | "F8_E5M2FNUZ" => 8,
        "I16" | "U16" | "F16" | "BF16" => 16,
        "I32" | "U32" | "F32" => 32,
        "C64" | "F64" | "I64" | "U64" => 64,
        _ => return None,
    })
}

/// The header's bytes, once their length is checked against the file and the
/// limit; `None` (with a problem) when it cannot be read as a header.
fn read_header<S: ByteSource + ?Sized>(
    source: &S,
    problems: &mut Problems,
) -> io::Result<Option<Vec<u8>>> {
    let len = source.len();
    if len < 8 {
        problems.push(
            MALFORMED,
            format!("the file is {len} bytes, too short for the 8-byte header length"),
        );
        return Ok(None);
    }
    let mut size = [0u8; 8];
    source.read_exact_at(&mut size, 0)?;
    let header_len = u64::from_le_bytes(size);
    if header_len > limits::MAX_HEADER_BYTES {
        problems.push(
            MALFORMED,
            format!(
                "the header length {header_len} is over the limit of {} bytes",
                limits::MAX_HEADER_BYTES
            ),
        );
        return Ok(None);
    }
    if header_len > len - 8 {
        problems.push(
            MALFORMED,
            format!("the header length {header_len} runs past the end of the {len}-byte file"),
        );
        return Ok(None);
    }
    // Within MAX_HEADER_BYTES, so it fits in memory and in usize.
    let mut header = vec![0u8; header_len as usize];
    source.read_exact_at(&mut header, 8)?;
    Ok(Some(header))
}

/// Checks the header's JSON and the layout it declares for a file of
/// `file_len` bytes.
fn check_header(header: &[u8], file_len: u64, problems: &mut Problems) {
    let text = match std::str::from_utf8(header) {
        Ok(text) => text,
        Err(e) => {
            problems.push(
                MALFORMED,
                format!(
                    "the header is not UTF-8 (at byte {} of the header)",
                    e.valid_up_to()
                ),
            );
            return;
        }
    };
    let entries = match serde_json::from_str::<Json>(text) {
        Ok(Json::Object(entries)) => entries,
        Ok(_) => {
            problems.push(MALFORMED, "the header is JSON but not an object".to_owned());
            return;
        }
        Err(e) => {
            problems.push(MALFORMED, format!("the header is not JSON: {e}"));
            return;
        }
    };
    if entries.len() as u64 > limits::MAX_ITEMS {
        problems.push(
            MALFORMED,
            format!(
                "the header has {} entries, over the limit of {}",
                entries.len(),
                limits::MAX_ITEMS
            ),
        );
        return;
    }
    // A tensor whose entry is broken has no extent, so the layout of the
    // rest would only repeat that problem.
    if let Some(tensors) = read_entries(&entries, problems) {
        // The header length is at most MAX_HEADER_BYTES: no overflow.
        let data_len = file_len - 8 - header.len() as u64;
        check_layout(tensors, data_len, problems);
    }
}

/// Where one tensor's bytes lie in the data section.
struct Extent<'a> {
    name: &'a str,
    begin: u64,
    end: u64,
}

/// Checks each entry on its own and returns the tensors' extents, or `None`
/// when some tensor's entry is broken.
fn read_entries<'a>(
    entries: &'a [(String, Json)],
    problems: &mut Problems,
) -> Option<Vec<Extent<'a>>> {
    let mut seen = HashSet::new();
    let mut tensors = Vec::new();
    let mut broken = false;
    for (name, value) in entries {
        if !seen.insert(name.as_str()) {
            problems.push(
                MALFORMED,
                format!("tensor {name:?} appears more than once in the header"),
            );
            continue;
        }
        if name == METADATA_KEY {
            check_metadata(value, problems);
            continue;
        }
        match read_tensor(name, value) {
            Ok(extent) => tensors.push(extent),
            Err(message) => {
                broken = true;
                problems.push(MALFORMED, format!("tensor {name:?}: {message}"));
            }
        }
    }
    (!broken).then_some(tensors)
}

/// `__metadata__` maps strings to strings, each key once.
fn check_metadata(value: &Json, problems: &mut Problems) {
    let Json::Object(fields) = value else {
        problems.push(MALFORMED, format!("{METADATA_KEY} is not an object"));
        return;
    };
    let mut seen = HashSet::new();
    for (key, value) in fields {
        if !seen.insert(key.as_str()) {
            problems.push(
                MALFORMED,
                format!("{METADATA_KEY} has the key {key:?} twice"),
            );
        } else if !matches!(value, Json::String(_)) {
            problems.push(
                MALFORMED,
                format!(
                    "{METADATA_KEY} value of {key:?} is {}, not a string",
                    value.kind()
                ),
            );
        }
    }
}

/// One tensor's `{dtype, shape, data_offsets}`, checked for a known dtype and
/// a byte length that matches its shape.
fn read_tensor<'a>(name: &'a str, value: &Json) -> Result<Extent<'a>, String> {
    let Json::Object(fields) = value else {
        return Err(format!("its entry is {}, not an object", value.kind()));
    };
    let fields = unique_fields(fields)?;
    let dtype = match fields.get("dtype") {
        Some(Json::String(dtype)) => dtype,
        Some(other) => return Err(format!("dtype is {}, not a string", other.kind())),
        None => return Err("no dtype".to_owned()),
    };
    let bits = dtype_bits(dtype).ok_or_else(|| format!("unknown dtype {dtype:?}"))?;
    let shape = read_shape(fields.get("shape"))?;
    let (begin, end) = read_offsets(fields.get("data_offsets"))?;
    if end < begin {
        return Err(format!(
            "data_offsets [{begin}, {end}] end before they begin"
        ));
    }
    let expected = byte_len(&shape, bits)?;
    if end - begin != expected {
        return Err(format!(
            "shape {shape:?} of {dtype} is {expected} bytes, but data_offsets [{begin}, {end}] hold {}",
            end - begin
        ));
    }
    Ok(Extent { name, begin, end })
}

/// The fields of an object by name, refusing any name given twice (a
/// loader would keep one and the check another).
fn unique_fields(fields: &[(String, Json)]) -> Result<BTreeMap<&str, &Json>, String> {
    let mut map = BTreeMap::new();
    for (key, value) in fields {
        if map.insert(key.as_str(), value).is_some() {
            return Err(format!("the field {key:?} appears twice"));
        }
    }
    Ok(map)
}

fn read_shape(value: Option<&&Json>) -> Result<Vec<u64>, String> {
    let Some(Json::Array(dims)) = value.copied() else {
        return Err("shape is missing or not an array".to_owned());
    };
    dims.iter()
        .map(|dim| match dim {
            Json::Unsigned(n) => Ok(*n),
            other => Err(format!(
                "shape has {}, not a non-negative integer",
                other.kind()
            )),
        })
        .collect()
}

fn read_offsets(value: Option<&&Json>) -> Result<(u64, u64), String> {
    match value.copied() {
        Some(Json::Array(offsets)) => match offsets.as_slice() {
            [Json::Unsigned(begin), Json::Unsigned(end)] => Ok((*begin, *end)),
            _ => Err("data_offsets is not two non-negative integers".to_owned()),
        },
        _ => Err("data_offsets is missing or not an array".to_owned()),
    }
}

/// The bytes a tensor of `shape` takes at `bits` per element, refusing
/// overflow and sub-byte tensors that do not end on a byte boundary.
fn byte_len(shape: &[u64], bits: u64) -> Result<u64, String> {
    let overflow = || format!("shape {shape:?} has more elements than fit in 64 bits");
    let elements = shape
        .iter()
        .try_fold(1u64, |acc, &dim| acc.checked_mul(dim))
        .ok_or_else(overflow)?;
    let total_bits = elements.checked_mul(bits).ok_or_else(overflow)?;
    if !total_bits.is_multiple_of(8) {
        return Err(format!(
            "shape {shape:?} at {bits} bits per element does not end on a byte boundary"
        ));
    }
    Ok(total_bits / 8)
}

/// The tensors, sorted by offset, must tile `[0, data_len)` exactly.
fn check_layout(mut tensors: Vec<Extent<'_>>, data_len: u64, problems: &mut Problems) {
    tensors.sort_by(|a, b| (a.begin, a.end, a.name).cmp(&(b.begin, b.end, b.name)));
    let mut covered = 0u64;
    let mut previous: Option<&str> = None;
    for tensor in &tensors {
        if tensor.begin < covered {
            problems.push(
                MALFORMED,
                format!(
                    "tensor {:?} at [{}, {}] overlaps tensor {:?}, which ends at {covered}",
                    tensor.name,
                    tensor.begin,
                    tensor.end,
                    previous.unwrap_or_default()
                ),
            );
        } else if tensor.begin > covered {
            problems.push(MALFORMED, format!(
                "a gap of {} bytes before tensor {:?} at [{}, {}]: the bytes before end at {covered}",
                tensor.begin - covered,
                tensor.name,
                tensor.begin,
                tensor.end
            ));
        }
        if tensor.end > covered {
            covered = tensor.end;
            previous = Some(tensor.name);
        }
    }
    if covered > data_len {
        problems.push(
            MALFORMED,
            format!(
                "tensor {:?} ends at {covered}, past the data section's {data_len} bytes",
                previous.unwrap_or_default()
            ),
        );
    } else if covered < data_len {
        problems.push(MALFORMED, format!(
            "the data section is {data_len} bytes but the tensors end at {covered}: {} bytes belong to no tensor",
            data_len - covered
        ));
    }
}

/// A JSON value that keeps every key of an object, duplicates included, in
/// the order written (`serde_json::Value` keeps only the last).
#[derive(Debug)]
enum Json {
    Null,
    Bool,
    Unsigned(u64),
    /// A negative integer or a float: never a valid count or offset.
    OtherNumber,
    String(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

impl Json {
    /// What kind of value, for messages.
    fn kind(&self) -> &'static str {
        match self {
            Json::Null => "null",
            Json::Bool => "a boolean",
            Json::Unsigned(_) | Json::OtherNumber => "a number",
            Json::String(_) => "a string",
            Json::Array(_) => "an array",
            Json::Object(_) => "an object",
        }
    }
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Json, E> {
        Ok(Json::Bool)
    }
    fn visit_u64<E: de::Error>(self, n: u64) -> Result<Json, E> {
        Ok(Json::Unsigned(n))
    }
    fn visit_i64<E: de::Error>(self, n: i64) -> Result<Json, E> {
        Ok(u64::try_from(n).map_or(Json::OtherNumber, Json::Unsigned))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Json, E> {
        Ok(Json::OtherNumber)
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<Json, E> {
        Ok(Json::String(s.to_owned()))
    }
    fn visit_string<E: de::Error>(self, s: String) -> Result<Json, E> {
        Ok(Json::String(s))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Json::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
        let mut entries = Vec::new();
        while let Some((key, value)) = map.next_entry::<String, Json>()? {
            entries.push((key, value));
        }
        Ok(Json::Object(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inspect::common::MAX_PROBLEMS;

    /// A safetensors file with this header and `data_len` zero bytes.
    fn file(header: &str, data_len: usize) -> Vec<u8> {
        let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
        bytes.extend_from_slice(header.as_bytes());
        bytes.resize(bytes.len() + data_len, 0);
        bytes
    }

    fn messages(bytes: &[u8]) -> Vec<String> {
        let inspection = inspect(bytes).unwrap();
        assert_eq!(inspection.format, Some(Format::Safetensors));
        inspection
            .problems
            .iter()
            .map(|p| {
                assert_eq!(p.kind, ContentProblemKind::MalformedSafetensors);
                p.message.clone()
            })
            .collect()
    }

    fn one_message(bytes: &[u8]) -> String {
        let found = messages(bytes);
        assert_eq!(found.len(), 1, "{found:?}");
        found.into_iter().next().unwrap_or_default()
    }

    #[test]
    fn a_consistent_header_has_no_problems() {
        let header = r#"{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},"b":{"dtype":"F4","shape":[3,2],"data_offsets":[16,19]},"empty":{"dtype":"I64","shape":[0],"data_offsets":[19,19]}}   "#;
        assert!(messages(&file(header, 19)).is_empty());
        assert!(messages(&file("{}", 0)).is_empty());
    }

    #[test]
    fn overlaps_gaps_and_short_files_name_the_tensor_and_offsets() {
        let overlap = r#"{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[4],"data_offsets":[2,6]}}"#;
        let m = one_message(&file(overlap, 6));
        assert!(m.contains("\"b\" at [2, 6] overlaps tensor \"a\""), "{m}");
        let gap = r#"{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[4],"data_offsets":[8,12]}}"#;
        let m = one_message(&file(gap, 12));
        assert!(m.contains("gap of 4 bytes before tensor \"b\""), "{m}");
        let past = r#"{"a":{"dtype":"U8","shape":[40],"data_offsets":[0,40]}}"#;
        let m = one_message(&file(past, 4));
        assert!(
            m.contains("\"a\" ends at 40, past the data section's 4 bytes"),
            "{m}"
        );
        let unused = r#"{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}}"#;
        let m = one_message(&file(unused, 5));
        assert!(m.contains("1 bytes belong to no tensor"), "{m}");
    }

    #[test]
    fn sizes_must_match_shape_and_dtype_without_overflow() {
        let wrong = r#"{"w":{"dtype":"BF16","shape":[3],"data_offsets":[0,4]}}"#;
        let m = one_message(&file(wrong, 4));
        assert!(
            m.contains("tensor \"w\": shape [3] of BF16 is 6 bytes"),
            "{m}"
        );
        let huge = r#"{"w":{"dtype":"F64","shape":[4294967296,4294967296],"data_offsets":[0,0]}}"#;
        assert!(one_message(&file(huge, 0)).contains("more elements than fit in 64 bits"));
        let odd = r#"{"w":{"dtype":"F4","shape":[3],"data_offsets":[0,1]}}"#;
        assert!(one_message(&file(odd, 1)).contains("byte boundary"));
        let backwards = r#"{"w":{"dtype":"U8","shape":[0],"data_offsets":[4,0]}}"#;
        assert!(one_message(&file(backwards, 4)).contains("end before they begin"));
    }

    #[test]
    fn unknown_dtypes_bad_fields_and_metadata_are_problems() {
        let m = one_message(&file(
            r#"{"w":{"dtype":"Q4","shape":[1],"data_offsets":[0,1]}}"#,
            1,
        ));
        assert!(m.contains("tensor \"w\": unknown dtype \"Q4\""), "{m}");
        let m = one_message(&file(
            r#"{"w":{"dtype":"U8","shape":[-1],"data_offsets":[0,1]}}"#,
            1,
        ));
        assert!(m.contains("shape has a number"), "{m}");
        let m = one_message(&file(r#"{"w":{"dtype":"U8","shape":[1]}}"#, 0));
        assert!(m.contains("data_offsets is missing"), "{m}");
        let m = one_message(&file(r#"{"__metadata__":{"k":1}}"#, 0));
        assert!(m.contains("value of \"k\" is a number"), "{m}");
        let m = one_message(&file(r#"[1]"#, 0));
        assert!(m.contains("not an object"), "{m}");
    }

    #[test]
    fn duplicate_names_and_fields_are_found() {
        let twice = r#"{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}"#;
        let found = messages(&file(twice, 2));
        assert!(
            found
                .iter()
                .any(|m| m.contains("tensor \"a\" appears more than once")),
            "{found:?}"
        );
        let field = r#"{"a":{"dtype":"U8","dtype":"F64","shape":[1],"data_offsets":[0,1]}}"#;
        assert!(one_message(&file(field, 1)).contains("the field \"dtype\" appears twice"));
    }

    #[test]
    fn header_lengths_are_checked_before_reading() {
        let mut huge = u64::MAX.to_le_bytes().to_vec();
        huge.extend_from_slice(b"{}");
        assert!(one_message(&huge).contains("over the limit"));
        let mut past = 100u64.to_le_bytes().to_vec();
        past.extend_from_slice(b"{}");
        assert!(one_message(&past).contains("runs past the end of the 10-byte file"));
        assert!(one_message(b"abc").contains("too short"));
        assert!(one_message(&file("{not json", 0)).contains("not JSON"));
        let mut latin1 = 4u64.to_le_bytes().to_vec();
        latin1.extend_from_slice(b"{\xff:}");
        assert!(one_message(&latin1).contains("not UTF-8"));
    }

    #[test]
    fn problems_are_capped() {
        let entries: Vec<String> = (0..300)
            .map(|i| format!(r#""t{i}":{{"dtype":"XX","shape":[],"data_offsets":[0,0]}}"#))
            .collect();
        let header = format!("{{{}}}", entries.join(","));
        let found = messages(&file(&header, 0));
        assert_eq!(found.len(), MAX_PROBLEMS + 1);
        assert!(found.last().unwrap().contains("and 200 more"));
    }

    fn fixture(name: &str) -> Vec<u8> {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/inspect/safetensors");
        std::fs::read(format!("{dir}/{name}")).unwrap()
    }

    #[test]
    fn files_written_by_safetensors_and_broken_by_hand() {
        assert!(messages(&fixture("benign_several_dtypes.safetensors")).is_empty());
        for (name, expected) in [
            (
                "overlapping_offsets.safetensors",
                "tensor \"b\" at [2, 6] overlaps tensor \"a\"",
            ),
            (
                "gap_between_tensors.safetensors",
                "a gap of 4 bytes before tensor \"b\"",
            ),
            (
                "end_past_file.safetensors",
                "tensor \"a\" ends at 4096, past the data section's 16 bytes",
            ),
            (
                "shape_dtype_mismatch.safetensors",
                "tensor \"a\": shape [3, 3] of F32 is 36 bytes, but data_offsets [0, 16] hold 16",
            ),
            (
                "duplicate_tensor_names.safetensors",
                "tensor \"a\" appears more than once",
            ),
            (
                "header_length_huge.safetensors",
                "the header length 9223372036854775808 is over the limit",
            ),
            ("header_not_json.safetensors", "the header is not JSON"),
        ] {
            let found = messages(&fixture(name));
            assert!(
                found.iter().any(|m| m.contains(expected)),
                "{name}: {found:?}"
            );
        }
    }
}
