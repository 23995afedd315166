//! "Did you mean …?" for a name typed wrong: a check id (`ctrl_c`), an exercise (`buss`), a
//! setting (`settle_mss`). The nearest known name by edit distance, when it is near enough
//! to be what was meant; `_` and `-` count as the same, and so do cases.

/// The name of `known` nearest to `typed` (itself, if known), if one is within a third of its length in edits
/// (at least one edit): `ctrl_c` → `ctrl-c`, `buss` → `bus`; nothing for a word unlike any.
pub fn nearest<'a>(typed: &str, known: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let norm = |s: &str| -> Vec<char> {
        s.chars()
            .map(|c| {
                if c == '_' {
                    '-'
                } else {
                    c.to_ascii_lowercase()
                }
            })
            .collect()
    };
    let want = norm(typed);
    let limit = (want.len() / 3).max(1);
    known
        .into_iter()
        .map(|k| (distance(&want, &norm(k)), k))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// `" (did you mean `x`?)"` for [`nearest`], or nothing: to end a message with.
pub fn did_you_mean<'a>(typed: &str, known: impl IntoIterator<Item = &'a str>) -> String {
    nearest(typed, known)
        .map(|k| crate::tr!(" (did you mean `{k}`?)", k = k))
        .unwrap_or_default()
}

/// Levenshtein distance, with a swap of two neighbours counting as one edit (`cltr`).
fn distance(a: &[char], b: &[char]) -> usize {
    // Three rows of the table: two back (for swaps), the last, the one being filled.
    let mut back2: Vec<usize> = vec![0; b.len() + 1];
    let mut back: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut row = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            row[j] = (back[j] + 1).min(row[j - 1] + 1).min(back[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                row[j] = row[j].min(back2[j - 2] + 1);
            }
        }
        back2 = std::mem::replace(&mut back, row);
    }
    back[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHECKS: &[&str] = &["start", "ctrl-c", "ctrl-backslash", "ctrl-z", "cleanup"];

    #[test]
    fn a_near_miss_is_suggested_and_a_stranger_is_not() {
        assert_eq!(nearest("ctrl_c", CHECKS.iter().copied()), Some("ctrl-c"));
        assert_eq!(nearest("ctrl_z", CHECKS.iter().copied()), Some("ctrl-z"));
        assert_eq!(nearest("CTRL-Z", CHECKS.iter().copied()), Some("ctrl-z"));
        assert_eq!(nearest("cltr-c", CHECKS.iter().copied()), Some("ctrl-c"));
        assert_eq!(nearest("buss", ["bus", "fileserver"]), Some("bus"));
        assert_eq!(
            nearest("settle_mss", ["settle_ms", "exit_ms"]),
            Some("settle_ms")
        );
        assert_eq!(nearest("nope", CHECKS.iter().copied()), None);
        assert_eq!(nearest("server", ["bus", "fileserver"]), None);
        assert_eq!(did_you_mean("x", CHECKS.iter().copied()), "");
        assert_eq!(
            did_you_mean("ctrl_c", CHECKS.iter().copied()),
            " (did you mean `ctrl-c`?)"
        );
    }
}
