//! Git LFS pointer files: what a model repository cloned without
//! `git lfs pull` holds in place of its weights.

use crate::digest::Sha256Digest;
use std::io::Read;
use std::path::Path;

/// Pointer files are small; anything larger is content.
pub const MAX_POINTER_BYTES: u64 = 1024;

/// A parsed pointer: the digest and size of the content it stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LfsPointer {
    /// SHA-256 of the content (`oid sha256:…`).
    pub oid: Sha256Digest,
    /// Size of the content in bytes.
    pub size: u64,
}

/// Parses a pointer file (spec v1: `version`, `oid sha256:HEX`, `size N`, sorted keys).
pub fn parse(bytes: &[u8]) -> Option<LfsPointer> {
    let text = std::str::from_utf8(bytes).ok()?;
    let mut lines = text.lines();
    if lines.next()? != "version https://git-lfs.github.com/spec/v1" {
        return None;
    }
    let (mut oid, mut size) = (None, None);
    for line in lines {
        if let Some(hex) = line.strip_prefix("oid sha256:") {
            oid = hex.parse().ok();
        } else if let Some(n) = line.strip_prefix("size ") {
            // Plain digits only: `+12` and `012` are not the spec's form.
            let plain = !n.is_empty()
                && n.bytes().all(|b| b.is_ascii_digit())
                && (n == "0" || !n.starts_with('0'));
            size = if plain { n.parse().ok() } else { None };
        }
    }
    Some(LfsPointer {
        oid: oid?,
        size: size?,
    })
}

/// Reads `path` as a pointer, if it is a small regular file that is one.
pub fn read(path: &Path) -> Option<LfsPointer> {
    let file = crate::stamp::open_no_follow(path).ok()?;
    let meta = file.metadata().ok()?;
    if !meta.is_file() || meta.len() > MAX_POINTER_BYTES {
        return None;
    }
    let mut bytes = Vec::new();
    file.take(MAX_POINTER_BYTES).read_to_end(&mut bytes).ok()?;
    parse(&bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_git_lfs_pointer() {
        let text = "version https://git-lfs.github.com/spec/v1\n\
                    oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\n\
                    size 12345\n";
        let p = parse(text.as_bytes()).unwrap();
        assert_eq!(p.size, 12345);
        assert!(p.oid.to_hex().starts_with("4d7a2146"));
        assert_eq!(parse(b"hello"), None);
        assert_eq!(parse(text.replace("size 12345", "size x").as_bytes()), None);
    }
}
