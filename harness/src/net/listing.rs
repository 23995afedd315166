//! A listing as the server sent it, into names: split by the dialect's separator, sends
//! and end marker, numbers dropped; and names glued by a late read told apart again.

use super::dialect::{ends_with_marker, ListRules};

/// Names sent one per send with no separator arrive glued in one read when the reader runs
/// late (a busy machine): TCP keeps no send apart, so whether two names came glued cannot
/// be judged. An entry that is `known` names back to back is taken as those names; any
/// other entry stays as it is.
pub fn unglue(entries: Vec<String>, known: &[&str]) -> Vec<String> {
    let mut out = Vec::with_capacity(entries.len());
    for e in entries {
        match known_parts(&e, known) {
            Some(parts) if parts.len() > 1 => out.extend(parts.into_iter().map(String::from)),
            _ => out.push(e),
        }
    }
    out
}

/// `text` as a sequence of `known` names, if it is one.
fn known_parts<'a>(text: &'a str, known: &[&str]) -> Option<Vec<&'a str>> {
    // from[i]: where the last name of a split of text[..i] starts.
    let mut from: Vec<Option<usize>> = vec![None; text.len() + 1];
    let mut reached = vec![false; text.len() + 1];
    reached[0] = true;
    for i in 0..text.len() {
        if !reached[i] {
            continue;
        }
        for k in known.iter().filter(|k| !k.is_empty()) {
            let end = i + k.len();
            if end <= text.len() && !reached[end] && text[i..].starts_with(k) {
                reached[end] = true;
                from[end] = Some(i);
            }
        }
    }
    if !reached[text.len()] {
        return None;
    }
    let mut parts = Vec::new();
    let mut end = text.len();
    while let Some(start) = from[end] {
        parts.push(&text[start..end]);
        end = start;
    }
    parts.reverse();
    Some(parts)
}

pub fn split_listing(rules: &ListRules, messages: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let mut whole: Vec<Vec<u8>> = if rules.per_send {
        messages.to_vec()
    } else {
        vec![messages.concat()]
    };
    let end = rules.end.as_bytes();
    if let Some(last) = whole.last_mut() {
        if let Some(k) = ends_with_marker(last, end) {
            last.truncate(k);
        }
    }
    let sep = rules.separator.as_bytes();
    let mut names = Vec::new();
    for m in whole {
        let parts: Vec<&[u8]> = if sep.is_empty() {
            vec![&m[..]]
        } else {
            split_bytes(&m, sep)
        };
        for p in parts {
            let mut p = p.to_vec();
            while p.last() == Some(&b'\r') || (p.last() == Some(&b'\n') && sep != b"\n") {
                p.pop();
            }
            if p.is_empty() || p == end {
                continue;
            }
            if rules.numbered {
                if let Some(i) = p.iter().position(|b| *b == b':') {
                    if i > 0 && p[..i].iter().all(u8::is_ascii_digit) {
                        p.drain(..=i);
                    }
                }
            }
            names.push(p);
        }
    }
    names
}

fn split_bytes<'a>(b: &'a [u8], sep: &[u8]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i + sep.len() <= b.len() {
        if &b[i..i + sep.len()] == sep {
            out.push(&b[start..i]);
            i += sep.len();
            start = i;
        } else {
            i += 1;
        }
    }
    out.push(&b[start..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::dialect::ListFraming;

    fn rules(sep: &str, per_send: bool, end: &str, numbered: bool) -> ListRules {
        ListRules {
            framing: ListFraming::Entries,
            ok: false,
            separator: sep.into(),
            per_send,
            end: end.into(),
            numbered,
        }
    }

    fn names(r: &ListRules, msgs: &[&str]) -> Vec<String> {
        let m: Vec<Vec<u8>> = msgs.iter().map(|s| s.as_bytes().to_vec()).collect();
        split_listing(r, &m)
            .into_iter()
            .map(|n| String::from_utf8(n).unwrap())
            .collect()
    }

    #[test]
    fn listings_of_every_family_split_into_names() {
        // Joined by #, with and without a trailing separator.
        assert_eq!(
            names(&rules("#", false, "", false), &["a#b c#报告.txt"]),
            ["a", "b c", "报告.txt"]
        );
        assert_eq!(
            names(&rules("#", false, "", false), &["a#", "b#"]),
            ["a", "b"]
        );
        // Lines, then ##.
        assert_eq!(
            names(&rules("\n", false, "##", false), &["a\nb\n", "##"]),
            ["a", "b"]
        );
        // One send per name, then ## as its own send.
        assert_eq!(
            names(&rules("", true, "##", false), &["a", "my notes.txt", "##"]),
            ["a", "my notes.txt"]
        );
        // Numbered entries.
        assert_eq!(
            names(&rules("\n", false, "", true), &["1:a\r\n2:b:c\n"]),
            ["a", "b:c"]
        );
        // Commas, the marker glued to the last name.
        assert_eq!(
            names(&rules(",", false, "##", false), &["a,b##"]),
            ["a", "b"]
        );
    }

    #[test]
    fn names_glued_by_a_late_read_are_told_apart_by_the_names_known() {
        let known = ["hello.txt", "报告.txt", "large.bin", "empty.txt", "a", "ab"];
        let got = unglue(
            vec![
                "hello.txt".into(),
                "large.binempty.txt".into(),
                "报告.txthello.txt".into(),
                "unknown.txt".into(),
                "large.binx".into(),
                "aab".into(),
            ],
            &known,
        );
        assert_eq!(
            got,
            [
                "hello.txt",
                "large.bin",
                "empty.txt",
                "报告.txt",
                "hello.txt",
                "unknown.txt",
                "large.binx",
                "a",
                "ab"
            ]
        );
    }
}
