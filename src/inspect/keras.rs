//! Keras models: the `config.json` of a `.keras` zip, and the
//! `model_config` JSON that Keras writes into an `.h5` file, checked for
//! `Lambda` layers, whose Python bytecode runs on load.
//!
//! Every JSON object with `"class_name": "Lambda"` is reported, however
//! deeply it nests (Sequential and Functional models, nested models,
//! `TimeDistributed` and `Bidirectional` wrappers all hold their layers as
//! such objects). Custom objects (`"module"`, `"registered_name"`) are not
//! reported: Keras resolves them only against classes the loading program
//! has registered or imported, so they run no code the file brings.

use super::zip::{self, ZipEntry};
use super::{ByteSource, ContentProblem, ContentProblemKind, Inspection};

/// Largest Keras config parsed: real ones are kilobytes to a few
/// megabytes, and parsed JSON takes several times its size in memory.
pub const MAX_CONFIG_BYTES: u64 = 16 << 20;

/// How far into an `.h5` file the model config is looked for: Keras writes
/// its attributes before the weights, near the start.
pub const H5_SCAN_BYTES: u64 = 16 << 20;

/// Inspects the `config.json` entry of a `.keras` archive whose `entries`
/// were read from `src`.
pub fn inspect_keras_zip(src: &dyn ByteSource, entries: &[ZipEntry], out: &mut Inspection) {
    let Some(config) = entries.iter().find(|e| e.name == "config.json") else {
        out.problems
            .push(malformed("a .keras archive without config.json".into()));
        return;
    };
    zip::inspect_entry(src, config, out, |src, offset, len, sub| {
        match read_json(src, offset, len) {
            Ok(json) => check_config(&json, sub),
            Err(what) => sub.problems.push(malformed(what)),
        }
    });
}

/// A [`ContentProblemKind::MalformedKeras`].
fn malformed(message: String) -> ContentProblem {
    ContentProblem {
        kind: ContentProblemKind::MalformedKeras,
        message,
    }
}

/// Parses the JSON in `len` bytes at `offset`, within the header limit.
fn read_json(src: &dyn ByteSource, offset: u64, len: u64) -> Result<serde_json::Value, String> {
    if len > MAX_CONFIG_BYTES || offset.checked_add(len).is_none_or(|e| e > src.len()) {
        return Err(format!(
            "a config of {len} bytes, past the file or the limit"
        ));
    }
    let mut text = vec![0u8; len as usize];
    src.read_exact_at(&mut text, offset)
        .map_err(|e| e.to_string())?;
    // serde_json refuses nesting deeper than 128: no deep recursion here.
    serde_json::from_slice(&text).map_err(|e| format!("a config that is not JSON: {e}"))
}

/// Adds a [`ContentProblemKind::KerasLambda`] for every Lambda layer in `config`.
pub fn check_config(config: &serde_json::Value, out: &mut Inspection) {
    let mut lambdas = Vec::new();
    find_lambdas(config, &mut lambdas);
    for name in lambdas {
        out.problems.push(ContentProblem {
            kind: ContentProblemKind::KerasLambda,
            message: format!("Lambda layer {name:?}: its Python code runs when the model loads"),
        });
    }
}

/// The names of the Lambda layers in `value`, depth first.
fn find_lambdas(value: &serde_json::Value, found: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) => {
            if map.get("class_name").and_then(|c| c.as_str()) == Some("Lambda") {
                let name = map
                    .get("config")
                    .and_then(|c| c.get("name"))
                    .or_else(|| map.get("name"))
                    .and_then(|n| n.as_str())
                    .unwrap_or("(unnamed)");
                found.push(name.to_string());
            }
            map.values().for_each(|v| find_lambdas(v, found));
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| find_lambdas(v, found)),
        _ => {}
    }
}

/// Inspects a Keras `.h5` file without parsing HDF5: looks in its first
/// [`H5_SCAN_BYTES`] for the `model_config` JSON (an object starting
/// `{"class_name"`), and checks each such object found for Lambda layers.
/// Returns whether a model config was found: an `.h5` of weights only, or
/// one whose config lies further in (or in compressed or chunked storage),
/// is not inspected.
pub fn inspect_h5(src: &dyn ByteSource, out: &mut Inspection) -> bool {
    let len = src.len().min(H5_SCAN_BYTES);
    let mut bytes = vec![0u8; len as usize];
    if src.read_exact_at(&mut bytes, 0).is_err() {
        return false;
    }
    let mut found = false;
    let mut from = 0;
    while let Some(start) = find(&bytes, b"{\"class_name\"", from) {
        from = start + 1;
        let Some(end) = json_object_end(&bytes, start) else {
            continue;
        };
        if let Ok(json) = serde_json::from_slice(bytes.get(start..end).unwrap_or(&[])) {
            check_config(&json, out);
            found = true;
            from = end;
        }
    }
    found
}

/// The first offset at or after `from` where `needle` occurs.
fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    haystack
        .get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|i| i + from)
}

/// The offset just past the JSON object that starts at `start`: braces
/// balanced outside strings.
fn json_object_end(bytes: &[u8], start: usize) -> Option<usize> {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for (i, &b) in bytes.iter().enumerate().skip(start) {
        match (in_string, escaped, b) {
            (true, true, _) => escaped = false,
            (true, false, b'\\') => escaped = true,
            (true, false, b'"') => in_string = false,
            (true, false, _) => {}
            (false, _, b'"') => in_string = true,
            (false, _, b'{') => depth += 1,
            (false, _, b'}') => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            (false, _, 0) => return None,
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inspect::InMemory;

    #[test]
    fn lambdas_are_found_inside_wrappers_and_nested_models() {
        let config = serde_json::json!({
            "class_name": "Sequential",
            "config": {"name": "outer", "layers": [
                {"class_name": "Dense", "config": {"name": "d"}},
                {"class_name": "TimeDistributed", "config": {"name": "td", "layer":
                    {"class_name": "Lambda", "config": {"name": "inner_lambda"}}}},
                {"class_name": "Functional", "config": {"name": "sub", "layers": [
                    {"class_name": "Lambda", "config": {"name": "deep"}}]}}
            ]}
        });
        let mut out = Inspection::default();
        check_config(&config, &mut out);
        let messages: Vec<_> = out.problems.iter().map(|p| p.message.as_str()).collect();
        assert_eq!(out.problems.len(), 2);
        assert!(messages[0].contains("inner_lambda"));
        assert!(messages[1].contains("deep"));
        assert!(
            out.problems
                .iter()
                .all(|p| p.kind == ContentProblemKind::KerasLambda)
        );
    }

    #[test]
    fn an_h5_model_config_is_found_in_the_bytes() {
        let mut bytes = b"\x89HDF\r\n\x1a\n\x00\x00junk".to_vec();
        bytes.extend(br#"{"class_name": "Sequential", "config": {"layers": [{"class_name": "Lambda", "config": {"name": "l\"}"}}]}}"#);
        bytes.extend(b"\x00more");
        let mut out = Inspection::default();
        assert!(inspect_h5(&InMemory(&bytes), &mut out));
        assert_eq!(out.problems.len(), 1);
        assert!(out.problems[0].message.contains("l\\\"}"));
        let mut out = Inspection::default();
        assert!(!inspect_h5(
            &InMemory(b"\x89HDF{\"class_name\": {{{"),
            &mut out
        ));
        assert!(out.problems.is_empty());
    }
}
