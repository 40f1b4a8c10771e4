//! A fast path for the `[[file]]` tables of a large TOML-form manifest.
//!
//! A 100,000-file `provenance.toml` is 14 MB, and a TOML document tree of it
//! takes about 2.7 KiB per entry. The tables modelseal writes have one exact
//! shape, so they are read here line by line instead, and the rest of the
//! manifest goes to the TOML parser without those lines (their line numbers
//! are kept aside, so every line number reported is the manifest's). Whenever anything is not exactly
//! that shape, or could change what the lines mean (a multi-line string or
//! array anywhere, a key after a table, another `file` key or table), this
//! returns `None` and the whole manifest is parsed as TOML: the fast path
//! never accepts what the TOML parser would read differently.

use crate::digest::Sha256Digest;
use crate::manifest::FileEntry;

/// The canonical `[[file]]` tables, and the manifest without them.
pub(crate) struct FileTables {
    /// Each entry, its `line` set, spanning where it was taken out of `rest`.
    pub entries: Vec<toml::Spanned<FileEntry>>,
    /// The text without the tables' lines.
    pub rest: String,
    /// Where lines were taken out of `rest`, and how many: what turns a
    /// line of `rest` back into a line of the manifest.
    pub removed: Vec<(usize, usize)>,
}

/// Fewer tables than this are parsed as TOML, like everything else.
pub(crate) const WORTH_IT: usize = 256;

/// Splits `text` when it has at least `min_tables` tables, or `None` to
/// parse it all as TOML.
pub(crate) fn split(text: &str, min_tables: usize) -> Option<FileTables> {
    // memchr's searchers: these scans cover every byte of a manifest that
    // can be tens of megabytes.
    let bytes = text.as_bytes();
    let has = |needle: &[u8]| memchr::memmem::find(bytes, needle).is_some();
    if has(b"\"\"\"") || has(b"'''") || memchr::memchr(b'\r', bytes).is_some() {
        return None;
    }
    let tables = memchr::memmem::find_iter(bytes, b"\n[[file]]\n").count();
    if min_tables > 0 && tables < min_tables {
        return None;
    }
    let mut entries = Vec::with_capacity(tables);
    let mut removed = Vec::new();
    let mut rest = String::new();
    let mut lines = Lines { text, at: 0 };
    let mut line_no = 0;
    while let Some((start, line)) = lines.next() {
        line_no += 1;
        if line == "[[file]]" {
            let mut entry = table(&mut lines)?;
            entry.line = line_no;
            entries.push(toml::Spanned::new(rest.len()..rest.len(), entry));
            let count = text[start..lines.at]
                .bytes()
                .filter(|&b| b == b'\n')
                .count();
            removed.push((rest.len(), count));
            line_no += count - 1;
            // What follows a table is a blank line, a comment, a header or the end.
            if let Some((_, next)) = lines.peek() {
                let next = next.trim_start();
                if !(next.is_empty() || next.starts_with('[') || next.starts_with('#')) {
                    return None;
                }
            }
            continue;
        }
        if !single_line(line) || names_file(line) {
            return None;
        }
        rest.push_str(line);
        if lines.at <= text.len() && text[..lines.at].ends_with('\n') {
            rest.push('\n');
        }
    }
    Some(FileTables {
        entries,
        rest,
        removed,
    })
}

struct Lines<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Lines<'a> {
    /// The next line (without its newline) and where it starts.
    fn next(&mut self) -> Option<(usize, &'a str)> {
        if self.at >= self.text.len() {
            return None;
        }
        let start = self.at;
        let line = match self.text[start..].find('\n') {
            Some(n) => {
                self.at = start + n + 1;
                &self.text[start..start + n]
            }
            None => {
                self.at = self.text.len();
                &self.text[start..]
            }
        };
        Some((start, line))
    }

    fn peek(&self) -> Option<(usize, &'a str)> {
        Lines {
            text: self.text,
            at: self.at,
        }
        .next()
    }
}

/// The four (or five, with shards) lines of one table, exactly as
/// `Manifest::to_toml` writes them.
fn table(lines: &mut Lines<'_>) -> Option<FileEntry> {
    let path = basic_string(lines.next()?.1.strip_prefix("path = ")?)?;
    let role =
        crate::listing::parse_role(&basic_string(lines.next()?.1.strip_prefix("role = ")?)?)?;
    let size = integer(lines.next()?.1.strip_prefix("size = ")?)?;
    let sha256 = digest(lines.next()?.1.strip_prefix("sha256 = ")?)?;
    let mut shards = Vec::new();
    if let Some((_, line)) = lines.peek()
        && let Some(list) = line.strip_prefix("shards = [")
    {
        lines.next();
        let list = list.strip_suffix(']')?;
        for item in list.split(", ") {
            shards.push(digest(item)?);
        }
    }
    Some(FileEntry {
        path,
        role,
        size,
        sha256,
        shards,
        line: 0,
    })
}

/// A basic string with nothing to unescape and nothing TOML refuses.
fn basic_string(value: &str) -> Option<String> {
    let inner = value.strip_prefix('"')?.strip_suffix('"')?;
    let plain = inner
        .chars()
        .all(|c| c != '"' && c != '\\' && !c.is_control());
    plain.then(|| inner.to_string())
}

fn digest(value: &str) -> Option<Sha256Digest> {
    let inner = value.strip_prefix('"')?.strip_suffix('"')?;
    inner.parse().ok()
}

/// A size as modelseal writes it (digits, no leading zero; the listing's
/// rule), and within i64, which is what TOML allows.
fn integer(value: &str) -> Option<u64> {
    crate::listing::parse_size(value).filter(|&n| i64::try_from(n).is_ok())
}

/// Whether the line names the `file` key or a table under it, which would
/// join or clash with the tables taken out.
fn names_file(line: &str) -> bool {
    let t = line.trim_start();
    let t = t.trim_start_matches('[').trim_start();
    let t = t
        .strip_prefix('"')
        .unwrap_or(t)
        .strip_prefix('\'')
        .unwrap_or(t);
    t.starts_with("file")
        && t[4..]
            .chars()
            .next()
            .is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
}

/// Whether the line is complete on its own: every bracket and brace opened
/// outside a string is closed on it, and no string runs past it.
fn single_line(line: &str) -> bool {
    let mut depth: i64 = 0;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '#' => break,
            '"' => loop {
                match chars.next() {
                    None => return false,
                    Some('\\') => {
                        chars.next();
                    }
                    Some('"') => break,
                    Some(_) => {}
                }
            },
            '\'' => loop {
                match chars.next() {
                    None => return false,
                    Some('\'') => break,
                    Some(_) => {}
                }
            },
            '[' | '{' => depth += 1,
            ']' | '}' => depth -= 1,
            _ => {}
        }
    }
    depth == 0
}
