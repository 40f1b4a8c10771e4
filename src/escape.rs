//! Attacker text made safe to show. File names, manifest fields and the
//! unsigned `signer` of a signature entry can hold terminal escapes: an
//! `ESC[8m` hides the lines after it, and a forged "OK: level 1 holds" line
//! would read as the verdict. Every control character, and every invisible
//! character that reorders or hides text, is shown as `\u{…}` instead.

use std::borrow::Cow;

/// `text` with every control and invisible formatting character escaped,
/// newlines and tabs included: one field stays on one line.
pub fn field(text: &str) -> Cow<'_, str> {
    escape(text, false)
}

/// `text` with every control and invisible formatting character escaped
/// except newlines: for a block of text that this program laid out.
pub fn block(text: &str) -> Cow<'_, str> {
    escape(text, true)
}

fn escape(text: &str, keep_newlines: bool) -> Cow<'_, str> {
    let hidden = |c: char| is_hidden(c) && !(keep_newlines && c == '\n');
    if !text.chars().any(hidden) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if hidden(c) {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// C0 and C1 controls, DEL, and the characters that reorder or hide text:
/// bidirectional overrides and isolates, zero-width characters, the BOM.
fn is_hidden(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061c}'
                | '\u{200b}'..='\u{200f}'
                | '\u{2028}'..='\u{202e}'
                | '\u{2060}'..='\u{2069}'
                | '\u{feff}'
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_terminal_controls_and_bidi_overrides() {
        assert_eq!(field("a\x1b[8mb"), "a\\u{1b}[8mb");
        assert_eq!(field("x\ny\r"), "x\\u{a}y\\u{d}");
        assert_eq!(field("evil\u{202e}txt"), "evil\\u{202e}txt");
        assert_eq!(field("\u{9b}31m"), "\\u{9b}31m");
    }

    #[test]
    fn leaves_plain_text_and_its_newlines_alone() {
        assert!(matches!(field("café/model.bin"), Cow::Borrowed(_)));
        assert_eq!(block("one\ntwo\x07"), "one\ntwo\\u{7}");
    }
}
