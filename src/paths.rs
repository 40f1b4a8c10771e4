//! The path rules: which paths a manifest may list or a directory may hold,
//! and which two paths name one file on a case-insensitive file system.

use crate::problem::{Problem, ProblemKind};
use std::collections::HashMap;
use unicode_normalization::UnicodeNormalization;

/// Why a path breaks the path rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum UnsafePathReason {
    /// The name is not valid UTF-8.
    #[error("is not valid UTF-8")]
    NotUtf8,
    /// The path is empty.
    #[error("is empty")]
    Empty,
    /// The path starts with `/`.
    #[error("is absolute")]
    Absolute,
    /// The path starts with a drive letter such as `C:`.
    #[error("has a drive prefix")]
    DrivePrefix,
    /// The path contains `\`, which Windows reads as a separator.
    #[error("contains a backslash")]
    Backslash,
    /// The path contains NUL or another control character.
    #[error("contains a control character")]
    ControlCharacter,
    /// The path has an empty segment (`a//b`, a trailing `/`).
    #[error("has an empty segment")]
    EmptySegment,
    /// The path has a `.` segment.
    #[error("has a '.' segment")]
    DotSegment,
    /// The path has a `..` segment, which could name a file outside the model.
    #[error("has a '..' segment")]
    DotDotSegment,
}

/// Checks a manifest path against the path rules: relative, `/`-separated UTF-8
/// with no empty, `.` or `..` segment, no backslash, drive prefix or control
/// character. Every path is checked before it is joined to the model directory.
pub fn check_path(path: &str) -> Result<(), UnsafePathReason> {
    if path.is_empty() {
        return Err(UnsafePathReason::Empty);
    }
    if path.starts_with('/') {
        return Err(UnsafePathReason::Absolute);
    }
    let bytes = path.as_bytes();
    if bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':' {
        return Err(UnsafePathReason::DrivePrefix);
    }
    if path.contains('\\') {
        return Err(UnsafePathReason::Backslash);
    }
    if path.chars().any(char::is_control) {
        return Err(UnsafePathReason::ControlCharacter);
    }
    for segment in path.split('/') {
        match segment {
            "" => return Err(UnsafePathReason::EmptySegment),
            "." => return Err(UnsafePathReason::DotSegment),
            ".." => return Err(UnsafePathReason::DotDotSegment),
            _ => {}
        }
    }
    Ok(())
}

/// The key under which two paths collide on a case-insensitive, normalising
/// file system (macOS, Windows): NFC normalisation, then case folding.
pub fn collision_key(path: &str) -> String {
    // ASCII is already in NFC, and its case folding is plain lower-casing.
    if path.is_ascii() {
        return path.to_ascii_lowercase();
    }
    // Lower-casing after NFC can produce decomposed forms again (rare), so normalise twice.
    let folded: String = path.nfc().flat_map(char::to_lowercase).collect();
    folded.nfc().collect()
}

/// Finds paths that collide under [`collision_key`], reporting each colliding
/// path after the first as `duplicate_path`.
pub fn duplicate_paths<'a>(paths: impl IntoIterator<Item = &'a str>) -> Vec<Problem> {
    colliding_pairs(paths)
        .into_iter()
        .map(|(first, path)| duplicate_problem(first, path))
        .collect()
}

/// Every path that collides under [`collision_key`] with one met before it,
/// as `(first, newcomer)`.
pub fn colliding_pairs<'a>(paths: impl IntoIterator<Item = &'a str>) -> Vec<(&'a str, &'a str)> {
    let mut seen: HashMap<String, &'a str> = HashMap::new();
    let mut pairs = Vec::new();
    for path in paths {
        let key = collision_key(path);
        match seen.get(&key) {
            Some(first) => pairs.push((*first, path)),
            None => {
                seen.insert(key, path);
            }
        }
    }
    pairs
}

/// The `duplicate_path` problem for `path`, which collides with `first`.
pub fn duplicate_problem(first: &str, path: &str) -> Problem {
    let message = if first == path {
        format!("'{path}' is listed twice")
    } else {
        format!(
            "'{path}' collides with '{first}' after Unicode normalisation and case folding; \
             they would be one file on macOS and Windows"
        )
    };
    Problem::new(ProblemKind::DuplicatePath, path, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_path_accepts_plain_relative_paths() {
        for ok in [
            "a",
            "model.safetensors",
            "data/train.jsonl",
            "a/b/c.d",
            "ü/ñ.txt",
            "..a",
            "a..",
        ] {
            assert_eq!(check_path(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn check_path_rejects_each_unsafe_form() {
        use UnsafePathReason::*;
        let cases = [
            ("", Empty),
            ("/etc/passwd", Absolute),
            ("C:/x", DrivePrefix),
            ("c:x", DrivePrefix),
            ("a\\b", Backslash),
            ("a\0b", ControlCharacter),
            ("a\nb", ControlCharacter),
            ("a//b", EmptySegment),
            ("a/", EmptySegment),
            ("./a", DotSegment),
            ("a/./b", DotSegment),
            ("../outside.txt", DotDotSegment),
            ("a/../../b", DotDotSegment),
            ("..", DotDotSegment),
        ];
        for (path, reason) in cases {
            assert_eq!(check_path(path), Err(reason), "{path:?}");
        }
    }

    #[test]
    fn collision_key_folds_case_and_normalisation() {
        assert_eq!(collision_key("Model.bin"), collision_key("model.BIN"));
        // "é" precomposed (NFC) and decomposed (NFD).
        assert_eq!(collision_key("caf\u{e9}"), collision_key("cafe\u{301}"));
        assert_ne!(collision_key("a"), collision_key("b"));
    }

    #[test]
    fn duplicate_paths_names_every_collision() {
        let problems = duplicate_paths(["a", "A", "b", "b"]);
        assert_eq!(problems.len(), 2);
        assert!(
            problems
                .iter()
                .all(|p| p.kind == ProblemKind::DuplicatePath)
        );
    }
}
