//! Deciding whether a line of student output says an expected phrase.
//!
//! Exercises ask students to print Chinese lines such as `老司机开车了` or
//! `系好安全带，车速有点快`. Real programs print them with harmless variations:
//! half-width instead of full-width punctuation (`,` for `，`), a prefix
//! (`司机：老司机开车了！`), extra spaces. A byte-exact comparison would fail
//! students for typography, so by default both sides are normalized (NFKC, no
//! whitespace, no punctuation) and the phrase may occur anywhere in the line.
//! Swapped clauses are accepted only when the phrase lists them as a variant.
//!
//! When a phrase is not found, [`closest`] finds the nearest miss, so that a
//! report can say what was different (`expected '了' where the line has '啦'`)
//! instead of only "not found".

use std::fmt;

use unicode_normalization::UnicodeNormalization;

/// Longest text, in chars per side, that [`closest`] compares; bounds its time.
const MAX_CHARS: usize = 512;

/// How strictly a phrase is matched against a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MatchPolicy {
    /// The line, with surrounding whitespace (including a trailing `'\r'`)
    /// trimmed, must equal one of the variants exactly.
    Exact,
    /// Both sides are compared in their [`normalize`]d form, and the phrase may
    /// occur anywhere inside the line. This is the default.
    #[default]
    Normalized,
}

/// One expected phrase and its accepted spellings.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Phrase {
    /// Accepted spellings; any one of them counts. Empty variants are ignored.
    pub variants: Vec<String>,
}

impl Phrase {
    /// A phrase with the given accepted spellings.
    pub fn new<I, S>(variants: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            variants: variants.into_iter().map(Into::into).collect(),
        }
    }
}

/// The line that came nearest to saying a phrase, and how it differs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NearMiss<'a> {
    /// The line as given to [`closest`].
    pub line: &'a str,
    /// The variant it came nearest to, as spelled in the [`Phrase`].
    pub variant: String,
    /// Edit distance in chars between the compared forms.
    pub distance: usize,
    /// The edits, in order, that turn the variant into what the line has.
    pub differences: Vec<Difference>,
}

/// One difference between the expected phrase and what a line has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Difference {
    /// The line has `seen` where `expected` was expected.
    Substituted {
        /// The char of the phrase.
        expected: char,
        /// The char the line has instead.
        seen: char,
    },
    /// A char of the phrase that the line lacks.
    Missing(char),
    /// A char the line has that the phrase does not.
    Extra(char),
}

impl fmt::Display for Difference {
    /// Human-readable, e.g. `expected '了' where the line has '啦'`. Control and
    /// invisible chars are shown escaped, so the text is safe on a terminal.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Difference::Substituted { expected, seen } => write!(
                f,
                "expected '{}' where the line has '{}'",
                Quoted(expected),
                Quoted(seen)
            ),
            Difference::Missing(c) => write!(f, "'{}' missing", Quoted(c)),
            Difference::Extra(c) => write!(f, "extra '{}'", Quoted(c)),
        }
    }
}

/// A char to show between single quotes: escaped as by [`char::escape_debug`]
/// (controls, invisible chars, lone combining marks, `'`), except `"`.
struct Quoted(char);

impl fmt::Display for Quoted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            '"' => f.write_str("\""),
            c => write!(f, "{}", c.escape_debug()),
        }
    }
}

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

/// `line` without surrounding whitespace, a trailing `'\r'` included.
fn trim_line(line: &str) -> &str {
    line.trim_end_matches('\r').trim()
}

/// How many times the phrase occurs in `line` (a line may, rarely, hold it
/// twice). Occurrences do not overlap and may be of any variant; a variant
/// that is a substring of another does not count twice.
///
/// Under [`MatchPolicy::Exact`] the result is 0 or 1. Under
/// [`MatchPolicy::Normalized`], a variant made only of punctuation (empty once
/// normalized) is compared as under `Exact`.
pub fn count_in_line(phrase: &Phrase, line: &str, policy: MatchPolicy) -> usize {
    let exact = |variant: &String| {
        let variant = variant.trim();
        !variant.is_empty() && variant == trim_line(line)
    };
    match policy {
        MatchPolicy::Exact => usize::from(phrase.variants.iter().any(exact)),
        MatchPolicy::Normalized => {
            let haystack = normalize(line);
            let mut spans = Vec::new();
            let mut punctuation_only = Vec::new();
            for variant in &phrase.variants {
                let needle = normalize(variant);
                if needle.is_empty() {
                    punctuation_only.push(variant);
                } else {
                    occurrences(&haystack, &needle, &mut spans);
                }
            }
            let count = most_disjoint(spans);
            if count == 0 && punctuation_only.into_iter().any(exact) {
                1
            } else {
                count
            }
        }
    }
}

/// Appends the byte span of every occurrence of `needle` in `haystack`,
/// overlapping ones included. `needle` must not be empty.
fn occurrences(haystack: &str, needle: &str, spans: &mut Vec<(usize, usize)>) {
    let mut from = 0;
    while let Some(found) = haystack.get(from..).and_then(|rest| rest.find(needle)) {
        let start = from + found;
        spans.push((start, start + needle.len()));
        let step = haystack
            .get(start..)
            .and_then(|rest| rest.chars().next())
            .map_or(1, char::len_utf8);
        from = start + step;
    }
}

/// The largest number of spans that do not overlap (earliest-end greedy).
fn most_disjoint(mut spans: Vec<(usize, usize)>) -> usize {
    spans.sort_unstable_by_key(|&(start, end)| (end, start));
    let mut count = 0;
    let mut free_from = 0;
    for (start, end) in spans {
        if start >= free_from {
            count += 1;
            free_from = end;
        }
    }
    count
}

/// The nearest miss: among `lines`, the line most similar to any variant, if
/// it is close enough to be worth showing (distance at most `max(1, len / 3)`
/// chars, `len` being the variant's length in chars).
///
/// Under [`MatchPolicy::Normalized`] the normalized forms are compared and the
/// variant is aligned with the best-matching stretch of the line, so a prefix
/// or suffix costs nothing. Under [`MatchPolicy::Exact`] the trimmed line is
/// compared whole. Lines that already contain the phrase are skipped; ties go
/// to the earliest line, then the earliest variant. Each side is cut to its
/// first 512 chars to bound the time.
pub fn closest<'a>(
    phrase: &Phrase,
    lines: &[&'a str],
    policy: MatchPolicy,
) -> Option<NearMiss<'a>> {
    let prepare = |text: &str| -> Vec<char> {
        match policy {
            MatchPolicy::Exact => trim_line(text).chars().take(MAX_CHARS).collect(),
            MatchPolicy::Normalized => normalize(text).chars().take(MAX_CHARS).collect(),
        }
    };
    let variants: Vec<(&String, Vec<char>)> = phrase
        .variants
        .iter()
        .map(|variant| (variant, prepare(variant)))
        .filter(|(_, expected)| !expected.is_empty())
        .collect();
    let free_ends = policy == MatchPolicy::Normalized;

    let mut best: Option<NearMiss<'a>> = None;
    for &line in lines {
        if count_in_line(phrase, line, policy) > 0 {
            continue;
        }
        let seen = prepare(line);
        for (variant, expected) in &variants {
            let limit = (expected.len() / 3).max(1);
            let alignment = align(expected, &seen, free_ends);
            let better = match &best {
                Some(near) => alignment.distance < near.distance,
                None => true,
            };
            if alignment.distance > 0 && alignment.distance <= limit && better {
                best = Some(NearMiss {
                    line,
                    variant: (*variant).clone(),
                    distance: alignment.distance,
                    differences: alignment.differences,
                });
            }
        }
        if best.as_ref().is_some_and(|near| near.distance <= 1) {
            break; // Nothing closer can follow: distance 0 lines are skipped.
        }
    }
    best
}

/// An edit distance and the edits behind it.
struct Alignment {
    distance: usize,
    differences: Vec<Difference>,
}

/// Levenshtein distance from `expected` to `seen`, with traceback. With
/// `free_ends`, chars of `seen` before and after the aligned stretch cost
/// nothing (the best-matching window of `seen`).
fn align(expected: &[char], seen: &[char], free_ends: bool) -> Alignment {
    let rows = expected.len() + 1;
    let cols = seen.len() + 1;
    let mut table = vec![0usize; rows * cols];
    let at = |i: usize, j: usize| i * cols + j;

    for j in 0..cols {
        table[at(0, j)] = if free_ends { 0 } else { j };
    }
    for (i, &e) in expected.iter().enumerate() {
        let i = i + 1;
        table[at(i, 0)] = i;
        for (j, &s) in seen.iter().enumerate() {
            let j = j + 1;
            let diagonal = table[at(i - 1, j - 1)] + usize::from(e != s);
            let missing = table[at(i - 1, j)] + 1;
            let extra = table[at(i, j - 1)] + 1;
            table[at(i, j)] = diagonal.min(missing).min(extra);
        }
    }

    let last = expected.len();
    let mut j = seen.len();
    if free_ends {
        // The rightmost best end, so a trailing typo reads as a substitution
        // rather than a missing char.
        for candidate in (0..cols).rev() {
            if table[at(last, candidate)] < table[at(last, j)] {
                j = candidate;
            }
        }
    }
    let distance = table[at(last, j)];

    let mut differences = Vec::new();
    let mut i = last;
    while i > 0 || (j > 0 && !free_ends) {
        let here = table[at(i, j)];
        if i > 0 && j > 0 {
            let (e, s) = (expected[i - 1], seen[j - 1]);
            if here == table[at(i - 1, j - 1)] + usize::from(e != s) {
                if e != s {
                    differences.push(Difference::Substituted {
                        expected: e,
                        seen: s,
                    });
                }
                i -= 1;
                j -= 1;
                continue;
            }
        }
        if i > 0 && here == table[at(i - 1, j)] + 1 {
            differences.push(Difference::Missing(expected[i - 1]));
            i -= 1;
        } else if j > 0 {
            differences.push(Difference::Extra(seen[j - 1]));
            j -= 1;
        } else {
            break; // Unreachable for a consistent table; never loop forever.
        }
    }
    differences.reverse();
    Alignment {
        distance,
        differences,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DRIVE: &str = "老司机开车了";
    const BELT: &str = "系好安全带，车速有点快";
    const ARRIVE: &str = "到站了，请下车";

    fn one(variant: &str) -> Phrase {
        Phrase::new([variant])
    }

    fn count(variant: &str, line: &str) -> usize {
        count_in_line(&one(variant), line, MatchPolicy::Normalized)
    }

    fn exact(variant: &str, line: &str) -> usize {
        count_in_line(&one(variant), line, MatchPolicy::Exact)
    }

    #[test]
    fn default_policy_is_normalized() {
        assert_eq!(MatchPolicy::default(), MatchPolicy::Normalized);
    }

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

    #[test]
    fn normalized_accepts_the_common_variations() {
        assert_eq!(count(DRIVE, DRIVE), 1);
        assert_eq!(count(DRIVE, "司机：老司机开车了！"), 1);
        assert_eq!(count(DRIVE, "  老司机 开车 了  \r"), 1);
        assert_eq!(count(BELT, "系好安全带,车速有点快"), 1);
        assert_eq!(count(BELT, "系好安全带 ， 车速有点快。"), 1);
        assert_eq!(count(ARRIVE, "【广播】到站了!请下车~"), 1);
        assert_eq!(count(ARRIVE, "到站了……请下车——"), 1);
    }

    #[test]
    fn normalized_rejects_other_text() {
        assert_eq!(count(DRIVE, "老司机开车啦"), 0);
        assert_eq!(count(DRIVE, "老司机"), 0);
        assert_eq!(count(ARRIVE, "请下车，到站了"), 0);
    }

    #[test]
    fn swapped_clauses_need_a_variant() {
        let swapped = "车速有点快，系好安全带";
        assert_eq!(count(BELT, swapped), 0);
        let phrase = Phrase::new([BELT, swapped]);
        assert_eq!(count_in_line(&phrase, swapped, MatchPolicy::Normalized), 1);
        assert_eq!(count_in_line(&phrase, BELT, MatchPolicy::Normalized), 1);
    }

    #[test]
    fn two_occurrences_count_two() {
        assert_eq!(count(DRIVE, "老司机开车了老司机开车了"), 2);
        assert_eq!(count(DRIVE, "老司机开车了！老司机开车了！"), 2);
        assert_eq!(count(DRIVE, "老司机开车了老司机开车了老司机开车了"), 3);
    }

    #[test]
    fn occurrences_do_not_overlap() {
        assert_eq!(count("aa", "aaa"), 1);
        assert_eq!(count("aa", "aaaa"), 2);
        assert_eq!(count("哈哈", "哈哈哈"), 1);
    }

    #[test]
    fn a_variant_inside_another_does_not_double_count() {
        let phrase = Phrase::new(["开车了", DRIVE]);
        assert_eq!(count_in_line(&phrase, DRIVE, MatchPolicy::Normalized), 1);
        assert_eq!(
            count_in_line(
                &phrase,
                "老司机开车了，老司机开车了",
                MatchPolicy::Normalized
            ),
            2
        );
    }

    #[test]
    fn different_variants_in_one_line_each_count() {
        let phrase = Phrase::new([DRIVE, "老司机发车了"]);
        assert_eq!(
            count_in_line(
                &phrase,
                "老司机开车了！老司机发车了！",
                MatchPolicy::Normalized
            ),
            2
        );
    }

    #[test]
    fn exact_trims_but_rejects_everything_else() {
        assert_eq!(exact(DRIVE, DRIVE), 1);
        assert_eq!(exact(DRIVE, "  老司机开车了\r"), 1);
        assert_eq!(exact(DRIVE, "\t老司机开车了 \r\n"), 1);
        assert_eq!(exact(DRIVE, "司机：老司机开车了！"), 0);
        assert_eq!(exact(DRIVE, "老司机开车了！"), 0);
        assert_eq!(exact(BELT, "系好安全带,车速有点快"), 0);
        assert_eq!(exact(DRIVE, "老司机开车了老司机开车了"), 0);
    }

    #[test]
    fn empty_inputs() {
        let empty = Phrase::default();
        assert_eq!(count_in_line(&empty, DRIVE, MatchPolicy::Normalized), 0);
        assert_eq!(count_in_line(&empty, "", MatchPolicy::Exact), 0);
        assert_eq!(closest(&empty, &[DRIVE], MatchPolicy::Normalized), None);
        assert_eq!(count(DRIVE, ""), 0);
        assert_eq!(exact(DRIVE, ""), 0);
        // An empty variant matches nothing, not every line.
        assert_eq!(count("", DRIVE), 0);
        assert_eq!(count("", ""), 0);
        assert_eq!(exact("", ""), 0);
        assert_eq!(exact("   ", "   "), 0);
        assert_eq!(closest(&one(""), &["", "x"], MatchPolicy::Normalized), None);
        assert_eq!(closest(&one(DRIVE), &[], MatchPolicy::Normalized), None);
        assert_eq!(closest(&one(DRIVE), &[""], MatchPolicy::Normalized), None);
        assert_eq!(normalize(""), "");
    }

    #[test]
    fn punctuation_only_variant_is_compared_exactly() {
        assert_eq!(count("！！", "！！"), 1);
        assert_eq!(count("！！", " ！！\r"), 1);
        assert_eq!(count("！！", "!!"), 0);
        assert_eq!(count("！！", DRIVE), 0);
    }

    #[test]
    fn typo_gives_a_near_miss_with_the_substitution() {
        let lines = ["到站了", "老司机开车啦", "再见"];
        let near = closest(&one(DRIVE), &lines, MatchPolicy::Normalized);
        let near = near.expect("a near miss");
        assert_eq!(near.line, "老司机开车啦");
        assert_eq!(near.variant, DRIVE);
        assert_eq!(near.distance, 1);
        assert_eq!(
            near.differences,
            vec![Difference::Substituted {
                expected: '了',
                seen: '啦'
            }]
        );
        assert_eq!(
            near.differences[0].to_string(),
            "expected '了' where the line has '啦'"
        );
    }

    #[test]
    fn a_prefix_does_not_hurt_the_near_miss() {
        let lines = ["司机：老司机开车啦！"];
        let near = closest(&one(DRIVE), &lines, MatchPolicy::Normalized).expect("a near miss");
        assert_eq!(near.distance, 1);
        assert_eq!(
            near.differences,
            vec![Difference::Substituted {
                expected: '了',
                seen: '啦'
            }]
        );
    }

    #[test]
    fn near_miss_reports_missing_and_extra_chars() {
        let near = closest(&one(BELT), &["系好安全带车速有点"], MatchPolicy::Normalized)
            .expect("a near miss");
        assert_eq!(near.differences, vec![Difference::Missing('快')]);

        let near = closest(
            &one(BELT),
            &["系好安全带啊车速有点快"],
            MatchPolicy::Normalized,
        )
        .expect("a near miss");
        assert_eq!(near.differences, vec![Difference::Extra('啊')]);
    }

    #[test]
    fn exact_near_miss_shows_punctuation() {
        let near = closest(&one(ARRIVE), &["到站了请下车"], MatchPolicy::Exact).expect("near");
        assert_eq!(near.distance, 1);
        assert_eq!(near.differences, vec![Difference::Missing('，')]);
        assert_eq!(near.differences[0].to_string(), "'，' missing");

        let near = closest(&one(ARRIVE), &["到站了，请下车！"], MatchPolicy::Exact).expect("near");
        assert_eq!(near.differences, vec![Difference::Extra('！')]);
        assert_eq!(near.differences[0].to_string(), "extra '！'");

        // Under Exact a prefix is the miss, and here too large a one.
        assert_eq!(
            closest(&one(DRIVE), &["司机：老司机开车了！"], MatchPolicy::Exact),
            None
        );
    }

    #[test]
    fn far_lines_are_not_near_misses() {
        // Three chars allow one difference.
        let near = closest(&one("到站了"), &["到家了"], MatchPolicy::Normalized);
        assert_eq!(near.map(|n| n.distance), Some(1));
        assert_eq!(
            closest(&one("到站了"), &["回家吧"], MatchPolicy::Normalized),
            None
        );
        // Six chars allow two.
        assert_eq!(
            closest(&one(DRIVE), &["老司机飞走啦"], MatchPolicy::Normalized),
            None
        );
        assert!(closest(&one(DRIVE), &["老司机开火车"], MatchPolicy::Normalized).is_some());
        assert_eq!(
            closest(&one(DRIVE), &["再见"], MatchPolicy::Normalized),
            None
        );
    }

    #[test]
    fn closest_prefers_the_smallest_distance_then_the_earliest_line() {
        let lines = ["老司机开火车", "老司机开车啦", "老司机开车吧"];
        let near = closest(&one(DRIVE), &lines, MatchPolicy::Normalized).expect("near");
        assert_eq!(near.line, "老司机开车啦");
    }

    #[test]
    fn closest_skips_lines_that_already_match() {
        let phrase = Phrase::new([DRIVE, "老司机开车啦"]);
        let lines = [DRIVE, "老司机开车啦", "老司机开车吗"];
        let near = closest(&phrase, &lines, MatchPolicy::Normalized).expect("near");
        assert_eq!(near.line, "老司机开车吗");
        assert_eq!(closest(&phrase, &[DRIVE], MatchPolicy::Normalized), None);
    }

    #[test]
    fn difference_display_escapes_invisible_chars() {
        let shown = Difference::Extra('\u{202e}').to_string();
        assert_eq!(shown, "extra '\\u{202e}'");
        let shown = Difference::Missing('\u{1b}').to_string();
        assert_eq!(shown, "'\\u{1b}' missing");
        let shown = Difference::Substituted {
            expected: '\'',
            seen: '"',
        }
        .to_string();
        assert_eq!(shown, "expected '\\'' where the line has '\"'");
    }

    #[test]
    fn very_long_lines() {
        let noise = "车".repeat(100_000);
        let line = format!("{noise}{DRIVE}{noise}");
        assert_eq!(count(DRIVE, &line), 1);
        assert_eq!(count("车", &noise), 100_000);
        assert_eq!(count(DRIVE, &"老司机开车了".repeat(10_000)), 10_000);

        // The near-miss search looks at the first 512 chars only.
        let typo = format!("老司机开车啦{noise}");
        let near = closest(&one(DRIVE), &[typo.as_str()], MatchPolicy::Normalized).expect("near");
        assert_eq!(near.distance, 1);
        let late = format!("{noise}老司机开车啦");
        assert_eq!(
            closest(&one(DRIVE), &[late.as_str()], MatchPolicy::Normalized),
            None
        );

        // Long variants are cut too, and still compared.
        let long = "开车了".repeat(200);
        let typo_in_long = long.replacen('了', "啦", 3);
        let near = closest(
            &one(&long),
            &[typo_in_long.as_str()],
            MatchPolicy::Normalized,
        );
        assert_eq!(near.map(|n| n.distance), Some(3));
        assert_eq!(
            closest(&one(&long), &[noise.as_str()], MatchPolicy::Exact),
            None
        );
    }

    #[test]
    fn odd_unicode() {
        assert_eq!(count(DRIVE, "🚌老司机开车了🚌"), 1);
        assert_eq!(count(DRIVE, "老司机\u{200b}开车了\u{feff}"), 1);
        assert_eq!(count(DRIVE, "\u{202e}老司机开车了\u{202c}"), 1);
        assert_eq!(count(DRIVE, "\u{301}老司机开车了"), 1);
        assert_eq!(count(DRIVE, "老司机开车了\u{fffd}"), 1);
        assert_eq!(count("café", "Café!"), 0);
        assert_eq!(count("cafe\u{301}", "le café"), 1);
        assert_eq!(count("👨‍👩‍👧", "家庭 👨‍👩‍👧!"), 1);
        // A combining mark on the last char is a difference, not a crash.
        let near = closest(
            &one(DRIVE),
            &["老司机开车了\u{301}"],
            MatchPolicy::Normalized,
        );
        assert_eq!(count(DRIVE, "老司机开车了\u{301}"), 1);
        assert_eq!(near, None);
        let near = closest(&one("开车了🚌"), &["开车了🚕"], MatchPolicy::Normalized).expect("near");
        assert_eq!(
            near.differences,
            vec![Difference::Substituted {
                expected: '🚌',
                seen: '🚕'
            }]
        );
        let lone_marks = "\u{301}\u{302}\u{303}";
        assert_eq!(count(lone_marks, lone_marks), 1);
        assert!(closest(
            &one(lone_marks),
            &["\u{301}\u{302}"],
            MatchPolicy::Normalized
        )
        .is_some());
    }

    #[test]
    fn align_handles_empty_sides() {
        let abc: Vec<char> = "abc".chars().collect();
        let full = align(&abc, &[], false);
        assert_eq!(full.distance, 3);
        assert_eq!(
            full.differences,
            vec![
                Difference::Missing('a'),
                Difference::Missing('b'),
                Difference::Missing('c')
            ]
        );
        let extra = align(&[], &abc, false);
        assert_eq!(extra.distance, 3);
        assert_eq!(extra.differences.len(), 3);
        assert_eq!(align(&[], &abc, true).distance, 0);
        assert_eq!(align(&[], &[], true).distance, 0);
    }
}
