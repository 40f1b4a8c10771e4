//! Decoding the text arguments of protocol 0 opcodes as the unpickler
//! does: `STRING`'s quoted, escaped bytes and `UNICODE`'s raw-unicode-escape.
//! A module name spelled with escapes (`o\u0073`) resolves to what Python
//! imports. Anything these decoders do not understand is `None`: the
//! operand is then unknown, and an import made from it unresolvable.

/// The bytes a protocol 0 `STRING` argument stands for: quoted with `'`
/// or `"`, backslash escapes as in a Python 2 `str` literal.
pub(super) fn quoted_string(line: &[u8]) -> Option<Vec<u8>> {
    let (&first, rest) = line.split_first()?;
    let (&last, body) = rest.split_last()?;
    if first != last || !matches!(first, b'\'' | b'"') {
        return None;
    }
    let mut out = Vec::with_capacity(body.len());
    let mut bytes = body.iter().copied();
    while let Some(b) = bytes.next() {
        if b != b'\\' {
            out.push(b);
            continue;
        }
        match bytes.next()? {
            b'n' => out.push(b'\n'),
            b't' => out.push(b'\t'),
            b'r' => out.push(b'\r'),
            b'0' => out.push(0),
            b'\\' => out.push(b'\\'),
            b'\'' => out.push(b'\''),
            b'"' => out.push(b'"'),
            b'x' => {
                let hi = hex_digit(bytes.next()?)?;
                let lo = hex_digit(bytes.next()?)?;
                out.push(hi << 4 | lo);
            }
            // Octal, \a, \b, \f, \v, line continuations: not modelled.
            _ => return None,
        }
    }
    Some(out)
}

/// The text a protocol 0 `UNICODE` argument stands for: latin-1 bytes in
/// which `\uXXXX` and `\UXXXXXXXX` are code points.
pub(super) fn raw_unicode_escape(line: &[u8]) -> Option<String> {
    let mut out = String::with_capacity(line.len());
    let mut i = 0;
    while let Some(&b) = line.get(i) {
        let digits = match (b, line.get(i + 1)) {
            (b'\\', Some(b'u')) => 4,
            (b'\\', Some(b'U')) => 8,
            _ => {
                out.push(char::from(b));
                i += 1;
                continue;
            }
        };
        let hex = line.get(i + 2..i + 2 + digits)?;
        let mut code = 0u32;
        for &h in hex {
            code = code << 4 | u32::from(hex_digit(h)?);
        }
        out.push(char::from_u32(code)?);
        i += 2 + digits;
    }
    Some(out)
}

/// The value of one hexadecimal digit.
fn hex_digit(b: u8) -> Option<u8> {
    char::from(b)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_decode_to_what_python_imports() {
        assert_eq!(quoted_string(b"'os'").unwrap(), b"os");
        assert_eq!(quoted_string(b"\"o\\x73\"").unwrap(), b"os");
        assert_eq!(quoted_string(b"'a\\'b'").unwrap(), b"a'b");
        assert!(quoted_string(b"'os\"").is_none(), "mismatched quotes");
        assert!(quoted_string(b"os").is_none());
        assert!(quoted_string(b"'").is_none());
        assert!(quoted_string(b"'\\q'").is_none(), "unmodelled escape");
        assert_eq!(raw_unicode_escape(b"o\\u0073").unwrap(), "os");
        assert_eq!(raw_unicode_escape(b"\\U00000073ys").unwrap(), "sys");
        assert_eq!(raw_unicode_escape(b"caf\xe9").unwrap(), "caf\u{e9}");
        assert!(raw_unicode_escape(b"\\u00").is_none());
        assert!(raw_unicode_escape(b"\\Uffffffff").is_none());
    }
}
