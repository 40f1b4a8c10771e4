//! numpy `.npy` arrays, versions 1 to 3: the header dict read by a small
//! literal parser (never evaluated), its dtype and shape checked against
//! the data's length; an object array's data is a pickle, walked.

use super::pickle::{self, PickleOptions};
use super::{ByteSource, ContentProblem, ContentProblemKind, Inspection};

/// Largest header read: numpy refuses more than 10 000 bytes unless told
/// otherwise; this bounds the parsed literals' memory.
const MAX_NPY_HEADER: u64 = 1 << 20;
/// Deepest nesting of the header's literals (structured dtypes nest).
const MAX_DEPTH: usize = 32;

/// A Python literal in a `.npy` header.
#[derive(Debug, Clone, PartialEq)]
enum Literal {
    Str(String),
    Int(u64),
    Bool(bool),
    None,
    /// A tuple or a list.
    Seq(Vec<Literal>),
    Dict(Vec<(Literal, Literal)>),
}

/// What the header says of the array.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NpyHeader {
    /// The format version (1, 2 or 3).
    pub version: u8,
    /// Offset of the data, after the header.
    pub data_offset: u64,
    /// Bytes of one element; `None` for a dtype holding Python objects.
    pub itemsize: Option<u64>,
    /// The array's shape.
    pub shape: Vec<u64>,
}

/// Inspects the `.npy` array in `len` bytes at `offset` of `src`:
/// [`ContentProblemKind::MalformedNumpy`] when its header is malformed or
/// disagrees with the data's length; an object array's pickle is walked
/// (the same allow list as any pickle). Does not set `out.format`.
pub fn inspect_npy(src: &dyn ByteSource, offset: u64, len: u64, out: &mut Inspection) {
    let header = match read_header(src, offset, len) {
        Ok(h) => h,
        Err(what) => {
            out.problems.push(ContentProblem {
                kind: ContentProblemKind::MalformedNumpy,
                message: what,
            });
            return;
        }
    };
    let data_len = offset.saturating_add(len).min(src.len()) - header.data_offset;
    let Some(itemsize) = header.itemsize else {
        pickle::inspect_pickle_with(src, header.data_offset, data_len, PickleOptions::ENTRY, out);
        return;
    };
    let expected = header
        .shape
        .iter()
        .try_fold(itemsize, |n, &d| n.checked_mul(d));
    if expected != Some(data_len) {
        out.problems.push(ContentProblem {
            kind: ContentProblemKind::MalformedNumpy,
            message: format!(
                "shape {:?} of {itemsize}-byte items needs {} data bytes; the file has {data_len}",
                header.shape,
                expected.map_or("more than 2^64".to_string(), |n| n.to_string())
            ),
        });
    }
}

/// Reads and checks the header of the `.npy` at `offset`.
pub fn read_header(src: &dyn ByteSource, offset: u64, len: u64) -> Result<NpyHeader, String> {
    let end = offset.saturating_add(len).min(src.len());
    let (version, header_len, start) = preamble(src, offset, end)?;
    let header_at = offset.saturating_add(start);
    if header_len > MAX_NPY_HEADER || header_at.saturating_add(header_len) > end {
        return Err(format!(
            "a header of {header_len} bytes past the file's end"
        ));
    }
    let mut text = vec![0u8; header_len as usize];
    src.read_exact_at(&mut text, header_at)
        .map_err(|e| e.to_string())?;
    // Versions 1 and 2 are latin-1, 3 is UTF-8: the keys numpy writes are ASCII.
    let text: String = if version == 3 {
        String::from_utf8(text).map_err(|_| "a version 3 header that is not UTF-8".to_string())?
    } else {
        text.iter().map(|&b| char::from(b)).collect()
    };
    let dict = Parser::new(&text).document()?;
    let (itemsize, shape) = describe(&dict)?;
    Ok(NpyHeader {
        version,
        data_offset: header_at + header_len,
        itemsize,
        shape,
    })
}

/// The version, header length and header start (after the magic) of the
/// `.npy` at `offset`, read within `end`.
fn preamble(src: &dyn ByteSource, offset: u64, end: u64) -> Result<(u8, u64, u64), String> {
    const MAGIC: &[u8] = b"\x93NUMPY";
    let mut fixed = [0u8; 12];
    let avail = end.saturating_sub(offset).min(12) as usize;
    let fixed = fixed.get_mut(..avail).unwrap_or(&mut []);
    src.read_exact_at(fixed, offset)
        .map_err(|e| e.to_string())?;
    let Some(rest) = fixed.strip_prefix(MAGIC) else {
        return Err("no .npy magic".into());
    };
    match rest {
        [1, _, a, b, ..] => Ok((1, u16::from_le_bytes([*a, *b]).into(), 10)),
        [v @ (2 | 3), _, a, b, c, d] => Ok((*v, u32::from_le_bytes([*a, *b, *c, *d]).into(), 12)),
        [v, ..] => Err(format!(
            "an unknown .npy version {v}, or a header cut short"
        )),
        [] => Err("no .npy version".into()),
    }
}

/// The item size and shape a header dict states.
fn describe(dict: &Literal) -> Result<(Option<u64>, Vec<u64>), String> {
    let Literal::Dict(entries) = dict else {
        return Err("a header that is not a dict".into());
    };
    let get = |key: &str| {
        entries
            .iter()
            .find(|(k, _)| *k == Literal::Str(key.into()))
            .map(|(_, v)| v)
    };
    let descr = get("descr").ok_or("a header without 'descr'")?;
    if !matches!(get("fortran_order"), Some(Literal::Bool(_))) {
        return Err("a header without a boolean 'fortran_order'".into());
    }
    let Some(Literal::Seq(dims)) = get("shape") else {
        return Err("a header without a 'shape' tuple".into());
    };
    let shape = dims
        .iter()
        .map(|d| match d {
            Literal::Int(n) => Ok(*n),
            _ => Err("a shape that is not a tuple of sizes".to_string()),
        })
        .collect::<Result<Vec<u64>, String>>()?;
    Ok((itemsize(descr, 0)?, shape))
}

/// Bytes of one element of dtype `descr`, `None` when it holds objects:
/// a type string (`'<f8'`, `'|O'`, `'<U10'`) or a structured list of
/// `(name, descr[, shape])` fields.
fn itemsize(descr: &Literal, depth: usize) -> Result<Option<u64>, String> {
    if depth > MAX_DEPTH {
        return Err("a dtype nested too deeply".into());
    }
    match descr {
        Literal::Str(s) => typestr_size(s),
        Literal::Seq(fields) => {
            let mut total = Some(0u64);
            for field in fields {
                let size = field_size(field, depth)?;
                total = match (total, size) {
                    (Some(t), Some(s)) => Some(t.checked_add(s).ok_or("a dtype too large")?),
                    _ => None,
                };
            }
            Ok(total)
        }
        _ => Err("a 'descr' that is neither a type string nor a field list".into()),
    }
}

/// Bytes of one field `(name, descr[, shape])` of a structured dtype.
fn field_size(field: &Literal, depth: usize) -> Result<Option<u64>, String> {
    let Literal::Seq(parts) = field else {
        return Err("a structured dtype field that is not a tuple".into());
    };
    let (descr, shape) = match parts.as_slice() {
        [Literal::Str(_) | Literal::Seq(_), descr] => (descr, &[][..]),
        [
            Literal::Str(_) | Literal::Seq(_),
            descr,
            Literal::Seq(shape),
        ] => (descr, shape.as_slice()),
        [Literal::Str(_) | Literal::Seq(_), descr, Literal::Int(n)] => {
            return Ok(itemsize(descr, depth + 1)?.and_then(|s| s.checked_mul(*n)));
        }
        _ => return Err("a structured dtype field of an unknown form".into()),
    };
    let Some(mut size) = itemsize(descr, depth + 1)? else {
        return Ok(None);
    };
    for dim in shape {
        let Literal::Int(d) = dim else {
            return Err("a field shape that is not a tuple of sizes".into());
        };
        size = size.checked_mul(*d).ok_or("a dtype too large")?;
    }
    Ok(Some(size))
}

/// Bytes of one element of a numpy type string: byte order, kind, size
/// (in characters for `U`), and for datetimes a unit in brackets.
fn typestr_size(s: &str) -> Result<Option<u64>, String> {
    let bad = || format!("an unknown type string {s:?}");
    let body = s.trim_start_matches(['<', '>', '|', '=']);
    let mut chars = body.chars();
    let kind = chars.next().ok_or_else(bad)?;
    let rest = chars.as_str();
    let digits = rest.split('[').next().unwrap_or("");
    if kind == 'O' {
        return Ok(None);
    }
    let n: u64 = digits.parse().map_err(|_| bad())?;
    match kind {
        'b' | 'i' | 'u' | 'f' | 'c' | 'S' | 'V' | 'a' | 'M' | 'm' => Ok(Some(n)),
        'U' => Ok(Some(n.checked_mul(4).ok_or_else(bad)?)),
        _ => Err(bad()),
    }
}

/// A recursive-descent parser of the Python literals numpy writes.
struct Parser<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Parser<'a> {
    fn new(text: &'a str) -> Self {
        Parser { text, at: 0 }
    }

    /// The whole header: one literal, then only whitespace.
    fn document(&mut self) -> Result<Literal, String> {
        let value = self.literal(0)?;
        self.skip_space();
        if self.at != self.text.len() {
            return Err(format!("text after the header dict at {}", self.at));
        }
        Ok(value)
    }

    fn rest(&self) -> &'a str {
        self.text.get(self.at..).unwrap_or("")
    }

    fn skip_space(&mut self) {
        let rest = self.rest();
        self.at += rest.len() - rest.trim_start().len();
    }

    fn eat(&mut self, token: &str) -> bool {
        self.skip_space();
        let hit = self.rest().starts_with(token);
        if hit {
            self.at += token.len();
        }
        hit
    }

    fn literal(&mut self, depth: usize) -> Result<Literal, String> {
        if depth > MAX_DEPTH {
            return Err("a header nested too deeply".into());
        }
        self.skip_space();
        let err = |at: usize| format!("an unreadable header literal at {at}");
        if self.eat("{") {
            return self.dict(depth);
        }
        if self.eat("(") {
            return self.seq(")", depth);
        }
        if self.eat("[") {
            return self.seq("]", depth);
        }
        for (word, value) in [
            ("True", Literal::Bool(true)),
            ("False", Literal::Bool(false)),
            ("None", Literal::None),
        ] {
            if self.eat(word) {
                return Ok(value);
            }
        }
        let rest = self.rest();
        if let Some(quote) = rest.chars().next().filter(|c| *c == '\'' || *c == '"') {
            let body = rest.get(1..).unwrap_or("");
            let close = body.find(quote).ok_or_else(|| err(self.at))?;
            let s = body.get(..close).unwrap_or("");
            if s.contains('\\') {
                return Err(err(self.at));
            }
            self.at += close + 2;
            return Ok(Literal::Str(s.to_string()));
        }
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        let n = rest
            .get(..digits)
            .unwrap_or("")
            .parse::<u64>()
            .map_err(|_| err(self.at))?;
        self.at += digits;
        self.eat("L");
        Ok(Literal::Int(n))
    }

    /// Items to `close`, comma-separated, with an optional trailing comma.
    fn seq(&mut self, close: &str, depth: usize) -> Result<Literal, String> {
        let mut items = Vec::new();
        while !self.eat(close) {
            items.push(self.literal(depth + 1)?);
            if !self.eat(",") && !self.rest().trim_start().starts_with(close) {
                return Err(format!("a missing ',' in the header at {}", self.at));
            }
        }
        Ok(Literal::Seq(items))
    }

    fn dict(&mut self, depth: usize) -> Result<Literal, String> {
        let mut entries = Vec::new();
        while !self.eat("}") {
            let key = self.literal(depth + 1)?;
            if !self.eat(":") {
                return Err(format!("a missing ':' in the header at {}", self.at));
            }
            let value = self.literal(depth + 1)?;
            entries.push((key, value));
            if !self.eat(",") && !self.rest().trim_start().starts_with('}') {
                return Err(format!("a missing ',' in the header at {}", self.at));
            }
        }
        Ok(Literal::Dict(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inspect::InMemory;

    /// A version 1 `.npy` with `header` padded and `data` after it.
    fn npy(header: &str, data: &[u8]) -> Vec<u8> {
        let mut h = header.to_string();
        while !(10 + h.len() + 1).is_multiple_of(64) {
            h.push(' ');
        }
        h.push('\n');
        let mut v = b"\x93NUMPY\x01\x00".to_vec();
        v.extend((h.len() as u16).to_le_bytes());
        v.extend(h.as_bytes());
        v.extend(data);
        v
    }

    fn inspect(bytes: &[u8]) -> Inspection {
        let mut out = Inspection::default();
        inspect_npy(&InMemory(bytes), 0, bytes.len() as u64, &mut out);
        out
    }

    #[test]
    fn shapes_and_dtypes_must_match_the_data() {
        let ok = npy(
            "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }",
            &[0; 48],
        );
        assert!(inspect(&ok).problems.is_empty());
        let short = npy(
            "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }",
            &[0; 40],
        );
        assert_eq!(
            inspect(&short).problems[0].kind,
            ContentProblemKind::MalformedNumpy
        );
        let scalar = npy(
            "{'descr': '<U3', 'fortran_order': False, 'shape': (), }",
            &[0; 12],
        );
        assert!(inspect(&scalar).problems.is_empty());
        let structured = npy(
            "{'descr': [('a', '<i4'), ('b', '<f8', (2,))], 'fortran_order': False, 'shape': (1,), }",
            &[0; 20],
        );
        assert!(inspect(&structured).problems.is_empty());
        let huge = npy(
            "{'descr': '<f8', 'fortran_order': False, 'shape': (99999999999, 99999999999), }",
            &[],
        );
        assert_eq!(
            inspect(&huge).problems[0].kind,
            ContentProblemKind::MalformedNumpy
        );
    }

    #[test]
    fn malformed_headers_are_refused_without_evaluation() {
        for header in [
            "{'descr': __import__('os').system('ls'), 'fortran_order': False, 'shape': ()}",
            "{'descr': '<f8', 'shape': ()}",
            "{'descr': '<q9', 'fortran_order': False, 'shape': ()}",
            "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
        ] {
            let out = inspect(&npy(header, &[]));
            assert_eq!(
                out.problems[0].kind,
                ContentProblemKind::MalformedNumpy,
                "{header}"
            );
        }
        let mut cut = npy(
            "{'descr': '<f8', 'fortran_order': False, 'shape': (), }",
            &[0; 8],
        );
        cut[8] = 0xff;
        assert_eq!(
            inspect(&cut).problems[0].kind,
            ContentProblemKind::MalformedNumpy
        );
    }

    #[test]
    fn object_arrays_are_walked_as_pickles() {
        let bad = npy(
            "{'descr': '|O', 'fortran_order': False, 'shape': (1,), }",
            b"\x80\x02cposix\nsystem\nX\x02\x00\x00\x00lsR.",
        );
        let out = inspect(&bad);
        assert_eq!(out.problems[0].kind, ContentProblemKind::UnsafePickle);
        assert_eq!(out.imports, ["posix.system"]);
    }
}
