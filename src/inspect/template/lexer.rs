//! Jinja2's tokens, with its default delimiters: text, `{{ }}` and `{% %}`
//! tags (with `-`/`+` whitespace control), `{# #}` comments, and
//! `{% raw %}` blocks, whose insides are text. String literals are decoded
//! as Jinja2 decodes them, escapes included, so `'\x5f\x5f'` is seen as
//! `__`.

/// What one tag holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TagKind {
    /// `{% ... %}`: a statement.
    Block,
    /// `{{ ... }}`: an expression printed.
    Variable,
}

/// One tag and its tokens.
#[derive(Debug)]
pub(super) struct Tag {
    pub(super) kind: TagKind,
    /// The byte where the tag opens.
    pub(super) at: usize,
    pub(super) tokens: Vec<Token>,
}

/// One token inside a tag.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum TokenKind {
    /// A name: a variable, attribute, filter, test, keyword.
    Name(String),
    /// A string literal, decoded.
    Str(String),
    /// A number literal.
    Number,
    /// An operator or bracket.
    Op(&'static str),
}

/// A token and the byte it starts at.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Token {
    pub(super) kind: TokenKind,
    pub(super) at: usize,
}

impl Token {
    pub(super) fn is_op(&self, op: &str) -> bool {
        matches!(&self.kind, TokenKind::Op(o) if *o == op)
    }

    pub(super) fn is_name(&self, name: &str) -> bool {
        matches!(&self.kind, TokenKind::Name(n) if n == name)
    }

    pub(super) fn name(&self) -> Option<&str> {
        match &self.kind {
            TokenKind::Name(n) => Some(n),
            _ => None,
        }
    }
}

/// Why a template cannot be tokenised.
#[derive(Debug)]
pub(super) struct LexError {
    pub(super) at: usize,
    pub(super) what: String,
}

fn error<T>(at: usize, what: impl Into<String>) -> Result<T, LexError> {
    Err(LexError {
        at,
        what: what.into(),
    })
}

const OPERATORS: &[&str] = &[
    "**", "//", "==", "!=", ">=", "<=", "+", "-", "*", "/", "%", "~", "[", "]", "(", ")", "{", "}",
    "<", ">", "=", ".", ":", "|", ",", ";",
];

/// Every tag of the template, in order; text and comments are dropped.
pub(super) fn tags(text: &str) -> Result<Vec<Tag>, LexError> {
    let mut tags = Vec::new();
    let mut pos = 0;
    while let Some(found) = text.get(pos..).and_then(|rest| rest.find('{')) {
        let at = pos + found;
        let opener = text.as_bytes().get(at + 1).copied();
        pos = match opener {
            Some(b'#') => match text.get(at + 2..).and_then(|rest| rest.find("#}")) {
                Some(end) => at + 2 + end + 2,
                None => return error(at, "a comment that never closes"),
            },
            Some(b'{') => lex_tag(text, at, TagKind::Variable, &mut tags)?,
            Some(b'%') => lex_tag(text, at, TagKind::Block, &mut tags)?,
            _ => at + 1,
        };
    }
    Ok(tags)
}

/// Lexes the tag opening at `at`, pushes it, and returns where text resumes.
fn lex_tag(text: &str, at: usize, kind: TagKind, tags: &mut Vec<Tag>) -> Result<usize, LexError> {
    let closer = if kind == TagKind::Variable {
        "}}"
    } else {
        "%}"
    };
    let mut pos = at + 2;
    if matches!(text.as_bytes().get(pos), Some(b'-' | b'+')) {
        pos += 1;
    }
    let mut tokens = Vec::new();
    let mut depth = 0usize;
    loop {
        pos = skip_whitespace(text, pos);
        let rest = text.get(pos..).unwrap_or_default();
        if rest.is_empty() {
            return error(at, "a tag that never closes");
        }
        if depth == 0 {
            let control = usize::from(rest.starts_with('-') || rest.starts_with('+'));
            if rest.get(control..).is_some_and(|r| r.starts_with(closer)) {
                pos += control + 2;
                break;
            }
        }
        let (token, next) = lex_token(text, pos)?;
        match &token.kind {
            TokenKind::Op("(" | "[" | "{") => depth += 1,
            TokenKind::Op(")" | "]" | "}") => depth = depth.saturating_sub(1),
            _ => {}
        }
        tokens.push(token);
        pos = next;
    }
    if kind == TagKind::Block && tokens.first().is_some_and(|t| t.is_name("raw")) {
        return skip_raw(text, at, pos);
    }
    tags.push(Tag { kind, at, tokens });
    Ok(pos)
}

/// The position after the `{% endraw %}` that closes a raw block.
fn skip_raw(text: &str, at: usize, mut pos: usize) -> Result<usize, LexError> {
    while let Some(found) = text.get(pos..).and_then(|rest| rest.find("{%")) {
        let start = pos + found + 2;
        let mut inner = start;
        if matches!(text.as_bytes().get(inner), Some(b'-' | b'+')) {
            inner += 1;
        }
        inner = skip_whitespace(text, inner);
        if text.get(inner..).is_some_and(|r| r.starts_with("endraw")) {
            inner = skip_whitespace(text, inner + 6);
            if matches!(text.as_bytes().get(inner), Some(b'-' | b'+')) {
                inner += 1;
            }
            if text.get(inner..).is_some_and(|r| r.starts_with("%}")) {
                return Ok(inner + 2);
            }
        }
        pos = start;
    }
    error(at, "a raw block that never ends")
}

fn skip_whitespace(text: &str, mut pos: usize) -> usize {
    while matches!(text.as_bytes().get(pos), Some(b' ' | b'\t' | b'\r' | b'\n')) {
        pos += 1;
    }
    pos
}

/// One token at `pos`, and the position after it.
fn lex_token(text: &str, pos: usize) -> Result<(Token, usize), LexError> {
    let bytes = text.as_bytes();
    let Some(&first) = bytes.get(pos) else {
        return error(pos, "the end of the template inside a tag");
    };
    let run = |from: usize, keep: fn(u8) -> bool| {
        from + bytes
            .get(from..)
            .unwrap_or_default()
            .iter()
            .take_while(|&&b| keep(b))
            .count()
    };
    let token = |kind, end| Ok((Token { kind, at: pos }, end));
    if first.is_ascii_alphabetic() || first == b'_' {
        let end = run(pos, |b| b.is_ascii_alphanumeric() || b == b'_');
        return token(
            TokenKind::Name(text.get(pos..end).unwrap_or_default().to_owned()),
            end,
        );
    }
    if first.is_ascii_digit() {
        return token(TokenKind::Number, number_end(bytes, pos));
    }
    if first == b'\'' || first == b'"' {
        let (value, end) = string_literal(text, pos)?;
        return token(TokenKind::Str(value), end);
    }
    let rest = text.get(pos..).unwrap_or_default();
    match OPERATORS.iter().find(|op| rest.starts_with(**op)) {
        Some(op) => token(TokenKind::Op(op), pos + op.len()),
        None => {
            let c = rest.chars().next().unwrap_or('?');
            error(pos, format!("the character {c:?} inside a tag"))
        }
    }
}

/// The end of a number: digits (with `_`), a fraction, an exponent.
fn number_end(bytes: &[u8], pos: usize) -> usize {
    let digits = |from: usize| {
        from + bytes
            .get(from..)
            .unwrap_or_default()
            .iter()
            .take_while(|b| b.is_ascii_digit() || **b == b'_')
            .count()
    };
    let mut end = digits(pos);
    if bytes.get(end) == Some(&b'.') && bytes.get(end + 1).is_some_and(u8::is_ascii_digit) {
        end = digits(end + 1);
    }
    if matches!(bytes.get(end), Some(b'e' | b'E')) {
        let sign = usize::from(matches!(bytes.get(end + 1), Some(b'+' | b'-')));
        if bytes.get(end + 1 + sign).is_some_and(u8::is_ascii_digit) {
            end = digits(end + 1 + sign);
        }
    }
    end
}

/// A quoted string at `pos`, decoded, and the position after its quote.
fn string_literal(text: &str, pos: usize) -> Result<(String, usize), LexError> {
    let mut chars = text.get(pos..).unwrap_or_default().char_indices();
    let Some((_, quote)) = chars.next() else {
        return error(pos, "a string that never closes");
    };
    let mut value = String::new();
    while let Some((offset, c)) = chars.next() {
        match c {
            c if c == quote => return Ok((value, pos + offset + c.len_utf8())),
            '\\' => decode_escape(&mut chars, &mut value, pos + offset)?,
            c => value.push(c),
        }
    }
    error(pos, "a string that never closes")
}

/// Decodes one escape after a backslash, as Python's `unicode_escape` does.
fn decode_escape(
    chars: &mut std::str::CharIndices<'_>,
    value: &mut String,
    at: usize,
) -> Result<(), LexError> {
    let Some((_, c)) = chars.next() else {
        return error(at, "a string that never closes");
    };
    let simple = match c {
        '\\' => Some('\\'),
        '\'' => Some('\''),
        '"' => Some('"'),
        'a' => Some('\x07'),
        'b' => Some('\x08'),
        'f' => Some('\x0c'),
        'n' => Some('\n'),
        'r' => Some('\r'),
        't' => Some('\t'),
        'v' => Some('\x0b'),
        _ => None,
    };
    if let Some(decoded) = simple {
        value.push(decoded);
        return Ok(());
    }
    match c {
        '\n' => Ok(()),
        'x' => push_code(value, hex_digits(chars, 2, at)?, at),
        'u' => push_code(value, hex_digits(chars, 4, at)?, at),
        'U' => push_code(value, hex_digits(chars, 8, at)?, at),
        '0'..='7' => {
            let mut code = c.to_digit(8).unwrap_or(0);
            for _ in 0..2 {
                let mut peek = chars.clone();
                match peek.next().and_then(|(_, d)| d.to_digit(8)) {
                    Some(d) => {
                        code = code * 8 + d;
                        *chars = peek;
                    }
                    None => break,
                }
            }
            push_code(value, code, at)
        }
        'N' => error(at, "a \\N{...} escape"),
        other => {
            value.push('\\');
            value.push(other);
            Ok(())
        }
    }
}

fn hex_digits(chars: &mut std::str::CharIndices<'_>, n: usize, at: usize) -> Result<u32, LexError> {
    let mut code = 0u32;
    for _ in 0..n {
        match chars.next().and_then(|(_, d)| d.to_digit(16)) {
            Some(d) => code = code.saturating_mul(16).saturating_add(d),
            None => return error(at, "a malformed escape"),
        }
    }
    Ok(code)
}

fn push_code(value: &mut String, code: u32, at: usize) -> Result<(), LexError> {
    match char::from_u32(code) {
        Some(c) => {
            value.push(c);
            Ok(())
        }
        None => error(at, "an escape that is not a character"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<TokenKind> {
        tags(text)
            .unwrap()
            .into_iter()
            .flat_map(|t| t.tokens)
            .map(|t| t.kind)
            .collect()
    }

    #[test]
    fn tags_tokens_and_escapes() {
        let found = kinds(r"a{{- x.y['\x5f_'] -}}b{# {{ no }} #}{% if 1.5e3 %}");
        assert_eq!(
            found,
            vec![
                TokenKind::Name("x".into()),
                TokenKind::Op("."),
                TokenKind::Name("y".into()),
                TokenKind::Op("["),
                TokenKind::Str("__".into()),
                TokenKind::Op("]"),
                TokenKind::Name("if".into()),
                TokenKind::Number,
            ]
        );
        assert_eq!(
            kinds(r#"{{ "\u005f\137\"" }}"#),
            vec![TokenKind::Str("__\"".into())]
        );
    }

    #[test]
    fn braces_inside_tags_and_raw_blocks() {
        assert_eq!(kinds("{{ {'a': {'b': 1}} }}").len(), 9);
        assert!(kinds("{% raw %}{{ x.__class__ }}{% endraw %}").is_empty());
        assert_eq!(kinds("{{ '}}' }}"), vec![TokenKind::Str("}}".into())]);
    }

    #[test]
    fn unclosed_and_odd_input_cannot_be_lexed() {
        assert!(tags("{{ x").is_err());
        assert!(tags("{# x").is_err());
        assert!(tags("{{ 'x }}").is_err());
        assert!(tags("{{ x ＿ }}").is_err());
        assert!(tags(r"{{ '\N{LOW LINE}' }}").is_err());
        assert!(tags("{% raw %} x").is_err());
        assert!(tags("plain { text } only").unwrap().is_empty());
    }
}
