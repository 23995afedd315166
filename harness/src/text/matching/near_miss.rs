//! The nearest miss of a phrase that was not found: the line most like it, and the edits
//! that tell them apart, so that a report can say what was different.

use crate::tr;
use std::fmt;

use super::{count_in_line, normalize, trim_line, MatchPolicy, Phrase};

/// Longest text, in chars per side, that [`closest`] compares; bounds its time.
const MAX_CHARS: usize = 512;

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
            Difference::Substituted { expected, seen } => f.write_str(&tr!(
                "expected '{expected}' where the line has '{seen}'",
                expected = Quoted(expected),
                seen = Quoted(seen)
            )),
            Difference::Missing(c) => f.write_str(&tr!("'{c}' missing", c = Quoted(c))),
            Difference::Extra(c) => f.write_str(&tr!("extra '{c}'", c = Quoted(c))),
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
    use super::super::fixtures::*;
    use super::*;

    /// The typo of the tests: `啦` for `了`.
    const TYPO: Difference = Difference::Substituted {
        expected: '了',
        seen: '啦',
    };

    #[test]
    fn typo_gives_a_near_miss_with_the_substitution() {
        let lines = ["到站了", "老司机开车啦", "再见"];
        let near = closest(&one(DRIVE), &lines, MatchPolicy::Normalized);
        let near = near.expect("a near miss");
        assert_eq!(near.line, "老司机开车啦");
        assert_eq!(near.variant, DRIVE);
        assert_eq!(near.distance, 1);
        assert_eq!(near.differences, vec![TYPO]);
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
        assert_eq!(near.differences, vec![TYPO]);
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
