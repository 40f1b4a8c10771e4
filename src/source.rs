//! Reading attacker-written TOML files: bounded in size, never blocking on a
//! FIFO, and with every error located by file, line and column.

use serde::de::DeserializeOwned;
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

/// A TOML file that could not be read or understood.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The file could not be opened or read.
    #[error("cannot read {}: {reason}", file.display())]
    Unreadable {
        /// The file.
        file: PathBuf,
        /// The operating system's reason.
        reason: String,
    },
    /// The file is larger than its limit.
    #[error("{} is larger than {limit} bytes, the limit for this kind of file", file.display())]
    TooLarge {
        /// The file.
        file: PathBuf,
        /// The limit in bytes.
        limit: u64,
    },
    /// The file is not UTF-8, not TOML, or not the expected shape.
    #[error("{location}: {message}{}", help.as_ref().map(|h| format!("\n  help: {h}")).unwrap_or_default())]
    Invalid {
        /// Where: file, line and column.
        location: Location,
        /// What is wrong.
        message: String,
        /// How to fix it, where that can be said.
        help: Option<String>,
    },
}

/// A place in a file: 1-based line and column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The file.
    pub file: PathBuf,
    /// Line, from 1.
    pub line: usize,
    /// Column in characters, from 1.
    pub column: usize,
}

impl Location {
    /// The location of byte `offset` in `text`.
    pub fn at(file: &Path, text: &str, offset: usize) -> Self {
        let offset = offset.min(text.len());
        let before = text.get(..offset).unwrap_or("");
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        Location {
            file: file.to_path_buf(),
            line,
            column,
        }
    }
}

/// Line starts of a text, for locating many offsets without rescanning it
/// (a manifest of 100,000 files has 100,000 entries to locate).
pub struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    /// Indexes `text`.
    pub fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { starts }
    }

    /// Indexes `text`, from which `removed` lines were taken out: each
    /// `(offset, count)` says that `count` lines stood at `offset`, so the
    /// lines after it are numbered as in the text they were taken from.
    pub fn with_removed(text: &str, removed: &[(usize, usize)]) -> Self {
        let mut index = LineIndex::new(text);
        for &(offset, count) in removed {
            index.starts.extend(std::iter::repeat_n(offset, count));
        }
        index.starts.sort_unstable();
        index
    }

    /// The 1-based line of byte `offset`.
    pub fn line(&self, offset: usize) -> usize {
        self.starts.partition_point(|&start| start <= offset)
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file.display(), self.line, self.column)
    }
}

impl SourceError {
    /// An error at byte `offset` of `text`.
    pub fn at(file: &Path, text: &str, offset: usize, message: impl Into<String>) -> Self {
        let message = message.into();
        let help = help_for(&message);
        SourceError::Invalid {
            location: Location::at(file, text, offset),
            message,
            help,
        }
    }
}

/// Reads at most `limit` bytes of `path`. With `follow_links` false, a final
/// symlink is refused; in every case a FIFO or device is refused without
/// blocking.
pub fn read_bounded(path: &Path, limit: u64, follow_links: bool) -> Result<Vec<u8>, SourceError> {
    let unreadable = |reason: String| SourceError::Unreadable {
        file: path.to_path_buf(),
        reason,
    };
    let file = if follow_links {
        let mut options = std::fs::OpenOptions::new();
        options.read(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC);
        }
        options.open(path).map_err(|e| unreadable(e.to_string()))?
    } else {
        crate::stamp::open_no_follow(path).map_err(|fault| {
            unreadable(match fault {
                crate::stamp::ReadFault::Unreadable(why)
                | crate::stamp::ReadFault::Changed(why) => why,
            })
        })?
    };
    let meta = file.metadata().map_err(|e| unreadable(e.to_string()))?;
    if !meta.is_file() {
        return Err(unreadable("not a regular file".into()));
    }
    if meta.len() > limit {
        return Err(SourceError::TooLarge {
            file: path.to_path_buf(),
            limit,
        });
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| unreadable(e.to_string()))?;
    if bytes.len() as u64 > limit {
        return Err(SourceError::TooLarge {
            file: path.to_path_buf(),
            limit,
        });
    }
    Ok(bytes)
}

/// The bytes as UTF-8 text, or an error at the first bad byte.
pub fn as_text<'a>(file: &Path, bytes: &'a [u8]) -> Result<&'a str, SourceError> {
    std::str::from_utf8(bytes).map_err(|e| {
        let valid = std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or("");
        SourceError::at(file, valid, valid.len(), "the file is not valid UTF-8 text")
    })
}

/// Parses `text` (the contents of `file`) as TOML into `T`, with the error located.
pub fn parse_toml<T: DeserializeOwned>(file: &Path, text: &str) -> Result<T, SourceError> {
    toml::from_str(text).map_err(|e| {
        let offset = e.span().map_or(0, |s| s.start);
        SourceError::at(file, text, offset, e.message().trim_end().to_string())
    })
}

/// Parses `text` (the contents of `file`) as an editable TOML document, for
/// edits that keep its comments and layout, with the error located.
pub fn parse_document(file: &Path, text: &str) -> Result<toml_edit::DocumentMut, SourceError> {
    text.parse().map_err(|e: toml_edit::TomlError| {
        SourceError::at(file, text, e.span().map_or(0, |s| s.start), e.message())
    })
}

fn help_for(message: &str) -> Option<String> {
    if message.starts_with("unknown field") {
        Some(
            "remove the key or fix its spelling: the message lists every key this table accepts"
                .into(),
        )
    } else if message.starts_with("missing field") {
        Some("add the key: this table requires it".into())
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn location_counts_lines_and_columns_from_one() {
        let text = "a = 1\nbé = 2\n";
        let loc = Location::at(Path::new("f.toml"), text, text.find('=').unwrap());
        assert_eq!((loc.line, loc.column), (1, 3));
        let loc = Location::at(Path::new("f.toml"), text, text.rfind('=').unwrap());
        assert_eq!((loc.line, loc.column), (2, 4));
    }

    #[test]
    fn line_index_agrees_with_location() {
        let text = "a\nbb\n\nccc";
        let index = LineIndex::new(text);
        for offset in 0..text.len() {
            assert_eq!(
                index.line(offset),
                Location::at(Path::new("f"), text, offset).line,
                "{offset}"
            );
        }
    }

    #[test]
    fn unknown_keys_are_located_errors() {
        #[derive(serde::Deserialize, Debug)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct S {
            a: u32,
        }
        let err = parse_toml::<S>(Path::new("f.toml"), "a = 1\nbogus = 2\n").unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with("f.toml:2:1: unknown field `bogus`"),
            "{text}"
        );
        assert!(text.contains("help:"), "{text}");
    }
}
