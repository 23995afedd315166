//! The normalized form both sides of a [`MatchPolicy::Normalized`] comparison are put in.

use unicode_normalization::UnicodeNormalization;

#[cfg(doc)]
use super::MatchPolicy;

/// The [`MatchPolicy::Normalized`] form of `s`: NFKC-normalized, with all
/// whitespace, control chars, punctuation (ASCII, Unicode general and
/// supplemental punctuation, CJK and full-width punctuation) and common
/// symbols such as `~` removed. Letters, digits, combining marks and emoji
/// are kept.
pub fn normalize(s: &str) -> String {
    s.nfkc().filter(|&c| !is_ignored(c)).collect()
}

/// Whether [`normalize`] drops `c` (checked after NFKC).
fn is_ignored(c: char) -> bool {
    if c.is_whitespace() || c.is_control() || c.is_ascii_punctuation() {
        return true;
    }
    match u32::from(c) {
        // Latin-1 punctuation and symbols: ¡ « · » ¿ × ÷ … but not ª ² µ ¼.
        0x00A1..=0x00BF | 0x00D7 | 0x00F7 => !c.is_alphanumeric(),
        // General Punctuation: dashes, quotes, ellipsis, zero-width and bidi
        // format chars. Supplemental Punctuation.
        0x2000..=0x206F | 0x2E00..=0x2E7F => true,
        // CJK Symbols and Punctuation, except the letter-like 々 〆 〇, the
        // Hangzhou numerals, tone marks and kana repeat marks.
        0x3000..=0x3004 | 0x3008..=0x3020 | 0x3030 | 0x3036 | 0x3037 | 0x303D..=0x303F => true,
        // ゠ and the katakana middle dot ・.
        0x30A0 | 0x30FB => true,
        // ⦅ ⦆, which NFKC makes of the half-width ｟ ｠.
        0x2985 | 0x2986 => true,
        // Vertical, compatibility and small forms (mostly mapped by NFKC).
        0xFE10..=0xFE1F | 0xFE30..=0xFE6F => true,
        // Full-width punctuation and symbols that NFKC leaves, and the BOM.
        0xFF01..=0xFF0F
        | 0xFF1A..=0xFF20
        | 0xFF3B..=0xFF40
        | 0xFF5B..=0xFF65
        | 0xFFE0..=0xFFEE
        | 0xFEFF => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_drops_whitespace_and_punctuation() {
        assert_eq!(normalize("司机：老司机开车了！"), "司机老司机开车了");
        assert_eq!(
            normalize(" 系好安全带 ,  车速有点快 \r\n"),
            "系好安全带车速有点快"
        );
        assert_eq!(
            normalize("、。，．！？；：“”‘’（）《》〈〉【】「」『』…—–～·・"),
            ""
        );
        assert_eq!(normalize("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"), "");
        assert_eq!(normalize("｢｣､｡｟｠〜〰¡¿«»§×÷"), "");
    }

    #[test]
    fn normalize_unifies_full_width_forms() {
        assert_eq!(normalize("ＯＫ１２３"), "OK123");
        assert_eq!(normalize("OK 123"), "OK123");
    }

    #[test]
    fn normalize_keeps_letters_digits_marks_and_emoji() {
        assert_eq!(normalize("々〆〇"), "々〆〇");
        assert_eq!(normalize("🚌 bus², µ"), "🚌bus2μ");
        // Decomposed and precomposed é are the same after NFKC.
        assert_eq!(normalize("e\u{301}"), normalize("é"));
    }
}
