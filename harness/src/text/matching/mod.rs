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

mod near_miss;
mod normal_form;

pub use near_miss::{closest, Difference, NearMiss};
pub use normal_form::normalize;

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

/// Phrases the tests of this module and of its parts share.
#[cfg(test)]
mod fixtures {
    use super::Phrase;

    pub const DRIVE: &str = "老司机开车了";
    pub const BELT: &str = "系好安全带，车速有点快";
    pub const ARRIVE: &str = "到站了，请下车";

    /// A phrase of one variant.
    pub fn one(variant: &str) -> Phrase {
        Phrase::new([variant])
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::*;
    use super::*;

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
}
