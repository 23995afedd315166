//! Student output is data: escaping it before it is shown.
//!
//! A student's program can print anything: invalid UTF-8, terminal escape
//! sequences that clear the screen or recolour it (`\x1b[2J`), a `'\r'` that
//! overwrites a line, bidi overrides that make text read differently from
//! what it is (U+202E), zero-width chars. None of that may reach an
//! instructor's terminal raw. These functions turn bytes into text that shows
//! exactly what was sent and does nothing else.
//!
//! The escapes of [`for_terminal`] and [`one_line`] are unambiguous: a
//! backslash is shown as `\\`, so `\xff` in their result always means the
//! byte 0xFF was sent (invalid UTF-8 or a control char), never the four chars
//! `\xff`. Invalid bytes are shown as `\xNN` rather than U+FFFD so the
//! instructor sees which bytes they were.

use std::fmt::Write as _;

/// Text safe to print on a terminal.
///
/// [`one_line`] between double quotes, a `"` inside shown as `\"`: a quoted line that
/// holds quotes (`print('he said "hi"')`) reads as one line, not three pieces.
pub fn quoted(bytes: &[u8]) -> String {
    format!("\"{}\"", one_line(bytes).replace('"', "\\\""))
}

/// Decodes `bytes` as UTF-8, showing each byte of an invalid sequence as
/// `\xNN`. Printable chars (CJK and emoji included), `'\n'` and `'\t'` are
/// kept. Every other control char is escaped: ESC as `\e`, `'\r'` as `\r`,
/// other C0 controls and DEL as `\xNN`, C1 controls (U+0080..U+009F) as
/// `\u{NN}`, bidi controls (U+202A..U+202E, U+2066..U+2069, U+061C) and
/// zero-width and format chars (U+200B..U+200F, U+2028, U+2029, U+FEFF and a
/// few more invisible ones) as `\u{XXXX}`. A backslash is shown as `\\`.
pub fn for_terminal(bytes: &[u8]) -> String {
    decode(bytes, Mode::Terminal)
}

/// Like [`for_terminal`], for a single line in a report: `'\n'` and `'\t'` are
/// also escaped (as `\n` and `\t`), so the result holds no control char.
pub fn one_line(bytes: &[u8]) -> String {
    decode(bytes, Mode::OneLine)
}

/// Decodes `bytes` as UTF-8, showing each byte of an invalid sequence as
/// `\xNN`, without escaping anything else (for JSON, whose serializer escapes
/// controls). Valid UTF-8 comes back unchanged, backslashes included.
pub fn lossy(bytes: &[u8]) -> String {
    decode(bytes, Mode::Lossy)
}

/// Escapes the controls and invisible chars of already decoded text (the output of
/// [`lossy`]) for a terminal, keeping `'\n'`, `'\t'` and backslashes as they are, so the
/// `\xNN` marks of invalid bytes stay readable.
pub fn controls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    push_text(&mut out, text, Mode::Controls);
    out
}

/// What to escape besides invalid bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Nothing.
    Lossy,
    /// Controls, invisible format chars and backslashes; keep `'\n'`, `'\t'`.
    Terminal,
    /// As `Terminal`, and `'\n'`, `'\t'` too.
    OneLine,
    /// As `Terminal`, but backslashes are kept.
    Controls,
}

/// Walks `bytes`, decoding the valid stretches and escaping invalid bytes one
/// at a time.
fn decode(bytes: &[u8], mode: Mode) -> String {
    let mut out = String::with_capacity(bytes.len());
    let mut rest = bytes;
    while !rest.is_empty() {
        match std::str::from_utf8(rest) {
            Ok(text) => {
                push_text(&mut out, text, mode);
                break;
            }
            Err(error) => {
                let Some((valid, after)) = rest.split_at_checked(error.valid_up_to()) else {
                    break; // `valid_up_to` never exceeds the length.
                };
                if let Ok(text) = std::str::from_utf8(valid) {
                    push_text(&mut out, text, mode);
                }
                // `None`: the input ends inside a sequence; all of it is bad.
                let bad_len = error.error_len().unwrap_or(after.len()).max(1);
                let (bad, next) = after.split_at_checked(bad_len).unwrap_or((after, &[]));
                for &byte in bad {
                    push_hex_byte(&mut out, byte);
                }
                rest = next;
            }
        }
    }
    out
}

/// Appends valid text, escaping as `mode` says.
fn push_text(out: &mut String, text: &str, mode: Mode) {
    if mode == Mode::Lossy {
        out.push_str(text);
        return;
    }
    for c in text.chars() {
        match c {
            '\\' if mode == Mode::Controls => out.push('\\'),
            '\\' => out.push_str("\\\\"),
            '\n' | '\t' if mode != Mode::OneLine => out.push(c),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\u{1b}' => out.push_str("\\e"),
            '\u{0}'..='\u{1f}' | '\u{7f}' => push_hex_byte(out, c as u8),
            '\u{80}'..='\u{9f}' => push_unicode(out, c, 2),
            c if is_invisible_format(c) => push_unicode(out, c, 4),
            c => out.push(c),
        }
    }
}

/// Bidi controls and invisible format chars that could make shown text
/// differ from what was sent: U+202A..U+202E and U+2066..U+2069 (embeddings,
/// overrides, isolates), U+200B..U+200F (zero-width chars, LRM, RLM),
/// U+2028, U+2029 (line and paragraph separators), U+FEFF (BOM), and also the
/// Arabic letter mark U+061C, U+180E, U+2060..U+2064, U+206A..U+206F and the
/// interlinear annotation chars U+FFF9..U+FFFB.
fn is_invisible_format(c: char) -> bool {
    matches!(
        c,
        '\u{061c}'
            | '\u{180e}'
            | '\u{200b}'..='\u{200f}'
            | '\u{2028}'..='\u{202e}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206f}'
            | '\u{feff}'
            | '\u{fff9}'..='\u{fffb}'
    )
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Appends `\xNN` (lower-case hex).
fn push_hex_byte(out: &mut String, byte: u8) {
    out.push_str("\\x");
    out.push(char::from(HEX[usize::from(byte >> 4)]));
    out.push(char::from(HEX[usize::from(byte & 0x0f)]));
}

/// Appends `\u{...}` with at least `width` lower-case hex digits.
fn push_unicode(out: &mut String, c: char, width: usize) {
    // Writing to a `String` cannot fail.
    let _ = write!(out, "\\u{{{:0width$x}}}", u32::from(c));
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_quoted_line_escapes_the_quotes_it_holds() {
        assert_eq!(super::quoted(br#"he said "hi""#), r#""he said \"hi\"""#);
        // A backslash before a quote stays told apart from an escaped quote.
        assert_eq!(super::quoted(br#"a\"b"#), r#""a\\\"b""#);
        assert_eq!(super::quoted("老司机开车了".as_bytes()), "\"老司机开车了\"");
    }

    #[test]
    fn controls_keeps_backslashes_and_escapes_escape() {
        let text = super::lossy(b"a\\b \xff\x1b[2J\n");
        assert_eq!(super::controls(&text), "a\\b \\xff\\e[2J\n");
    }

    use super::*;

    #[test]
    fn chinese_text_is_unchanged() {
        let text = "老司机开车了\n系好安全带，车速有点快\n到站了，请下车！🚌\n";
        assert_eq!(for_terminal(text.as_bytes()), text);
        assert_eq!(lossy(text.as_bytes()), text);
        assert_eq!(
            one_line(text.as_bytes()),
            "老司机开车了\\n系好安全带，车速有点快\\n到站了，请下车！🚌\\n"
        );
    }

    #[test]
    fn empty_input() {
        assert_eq!(for_terminal(b""), "");
        assert_eq!(one_line(b""), "");
        assert_eq!(lossy(b""), "");
    }

    #[test]
    fn terminal_escape_sequences_are_shown() {
        let bytes = b"\x1b[2J\x1b[31mred";
        assert_eq!(for_terminal(bytes), "\\e[2J\\e[31mred");
        assert_eq!(one_line(bytes), "\\e[2J\\e[31mred");
        assert_eq!(lossy(bytes), "\x1b[2J\x1b[31mred");
    }

    #[test]
    fn carriage_returns_are_shown() {
        assert_eq!(for_terminal(b"a\r\nb"), "a\\r\nb");
        assert_eq!(one_line(b"a\r\nb"), "a\\r\\nb");
        assert_eq!(lossy(b"a\r\nb"), "a\r\nb");
        assert_eq!(for_terminal(b"secret\rpublic"), "secret\\rpublic");
    }

    #[test]
    fn tabs_and_newlines() {
        assert_eq!(for_terminal(b"a\tb\nc"), "a\tb\nc");
        assert_eq!(one_line(b"a\tb\nc"), "a\\tb\\nc");
    }

    #[test]
    fn bidi_and_invisible_chars_are_shown() {
        let text = "abc\u{202e}fed\u{202c}";
        assert_eq!(for_terminal(text.as_bytes()), "abc\\u{202e}fed\\u{202c}");
        assert_eq!(lossy(text.as_bytes()), text);
        let all = [
            '\u{202a}', '\u{202b}', '\u{202c}', '\u{202d}', '\u{202e}', '\u{2066}', '\u{2067}',
            '\u{2068}', '\u{2069}', '\u{200b}', '\u{200c}', '\u{200d}', '\u{200e}', '\u{200f}',
            '\u{2028}', '\u{2029}', '\u{feff}', '\u{061c}',
        ];
        for c in all {
            let shown = one_line(c.to_string().as_bytes());
            assert_eq!(shown, format!("\\u{{{:04x}}}", u32::from(c)));
        }
        assert_eq!(for_terminal("\u{feff}开车".as_bytes()), "\\u{feff}开车");
    }

    #[test]
    fn nul_and_other_c0_controls() {
        assert_eq!(for_terminal(b"a\0b"), "a\\x00b");
        assert_eq!(
            for_terminal(b"\x07\x08\x0b\x0c\x1f\x7f"),
            "\\x07\\x08\\x0b\\x0c\\x1f\\x7f"
        );
        assert_eq!(lossy(b"a\0b"), "a\0b");
        let every: Vec<u8> = (0u8..0x20).chain([0x7f]).collect();
        let shown = one_line(&every);
        assert!(shown.chars().all(|c| !c.is_control()), "{shown:?}");
    }

    #[test]
    fn c1_controls() {
        // U+009B (CSI) encoded as UTF-8 is a valid char, escaped as a code point.
        assert_eq!(for_terminal("\u{9b}2J".as_bytes()), "\\u{9b}2J");
        assert_eq!(for_terminal(b"\xc2\x9b31m"), "\\u{9b}31m");
        assert_eq!(for_terminal("\u{80}\u{9f}".as_bytes()), "\\u{80}\\u{9f}");
        assert_eq!(lossy("\u{9b}".as_bytes()), "\u{9b}");
        // A bare 0x9B byte is invalid UTF-8, shown as a byte.
        assert_eq!(for_terminal(b"\x9b2J"), "\\x9b2J");
        assert_eq!(lossy(b"\x9b2J"), "\\x9b2J");
    }

    #[test]
    fn lone_invalid_byte() {
        assert_eq!(for_terminal(b"\xff"), "\\xff");
        assert_eq!(for_terminal(b"a\xffb"), "a\\xffb");
        assert_eq!(one_line(b"\xff\xfe"), "\\xff\\xfe");
        assert_eq!(lossy(b"a\xffb"), "a\\xffb");
    }

    #[test]
    fn split_multi_byte_char_at_the_end() {
        let full = "老".as_bytes();
        assert_eq!(full.len(), 3);
        assert_eq!(
            for_terminal(&[b"ab".as_slice(), &full[..2]].concat()),
            "ab\\xe8\\x80"
        );
        assert_eq!(for_terminal(&full[..1]), "\\xe8");
        assert_eq!(lossy(&[full, &full[..2]].concat()), "老\\xe8\\x80");
    }

    #[test]
    fn split_multi_byte_char_in_the_middle() {
        let full = "开车".as_bytes();
        let mut bytes = full[..2].to_vec();
        bytes.extend_from_slice(full);
        assert_eq!(for_terminal(&bytes), "\\xe5\\xbc开车");
        // A four-byte emoji cut after two bytes, then ASCII.
        let bus = "🚌".as_bytes();
        assert_eq!(for_terminal(&[&bus[..2], b"x"].concat()), "\\xf0\\x9fx");
    }

    #[test]
    fn other_invalid_sequences() {
        // Overlong encoding of '/', an encoded surrogate, a stray continuation.
        assert_eq!(for_terminal(b"\xc0\xaf"), "\\xc0\\xaf");
        assert_eq!(for_terminal(b"\xed\xa0\x80"), "\\xed\\xa0\\x80");
        assert_eq!(for_terminal(b"\x80abc"), "\\x80abc");
        assert_eq!(for_terminal(b"\xf5\x80\x80\x80"), "\\xf5\\x80\\x80\\x80");
    }

    #[test]
    fn backslashes_are_doubled() {
        assert_eq!(for_terminal(b"a\\b"), "a\\\\b");
        // A literal `\xff` typed by the student differs from the byte 0xFF.
        assert_eq!(for_terminal(b"\\xff"), "\\\\xff");
        assert_ne!(for_terminal(b"\\xff"), for_terminal(b"\xff"));
        assert_eq!(one_line(b"\\n"), "\\\\n");
        assert_ne!(one_line(b"\\n"), one_line(b"\n"));
        assert_eq!(lossy(b"a\\b"), "a\\b");
    }

    #[test]
    fn lossy_keeps_valid_utf8_as_is() {
        let text = "a\\b\t\r\n\u{1b}[0m\u{202e}\u{9b}\0老🚌";
        assert_eq!(lossy(text.as_bytes()), text);
    }

    #[test]
    fn escaped_output_holds_no_dangerous_char() {
        let mut bytes: Vec<u8> = (0u8..=255).collect();
        bytes.extend_from_slice("\u{202e}\u{2066}\u{200b}\u{feff}\u{85}\u{9b}".as_bytes());
        for shown in [for_terminal(&bytes), one_line(&bytes)] {
            assert!(
                shown
                    .chars()
                    .all(|c| c == '\n' || c == '\t' || !(c.is_control() || is_invisible_format(c))),
                "{shown:?}"
            );
        }
        assert!(!one_line(&bytes).contains(['\n', '\t']));
    }

    #[test]
    fn every_byte_sequence_is_handled() {
        // Pseudo-random bytes: no panic, and escaping never loses a byte.
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        for _ in 0..200 {
            let bytes: Vec<u8> = (0..64)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    state.to_le_bytes()[0]
                })
                .collect();
            let shown = one_line(&bytes);
            assert!(shown.chars().all(|c| !c.is_control()), "{shown:?}");
            let _ = for_terminal(&bytes);
            let _ = lossy(&bytes);
        }
    }
}
