//! The catalogs against the sources: every text a report or `explain` shows has its
//! translation, every translation is still used and keeps its placeholders, and the
//! messages of the sources go through [`tr!`](crate::tr).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::*;

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).expect("the sources").flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// A string literal of a source: its text (escapes resolved), where it starts, and the code
/// just before it (whitespace squeezed) to tell a `tr!` template from a bare message.
#[derive(Debug)]
struct Literal {
    text: String,
    line: usize,
    before: String,
    /// The code after it up to the end of its macro call or statement.
    after: String,
}

/// The string literals of `code` outside comments (a small lexer: enough for our sources).
fn literals(code: &str) -> Vec<Literal> {
    let b = code.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i + 1 < b.len() && !(b[i] == b'*' && b[i + 1] == b'/') {
                    i += 1;
                }
                i += 2;
            }
            b'\'' => {
                // A char literal ('"', '\'', 'x', '中') or a lifetime.
                let rest = &code[i + 1..];
                let mut chars = rest.char_indices();
                match chars.next() {
                    Some((_, '\\')) => {
                        let end = rest[1..].find('\'').map_or(1, |e| e + 2);
                        i += 1 + end + 1;
                    }
                    Some((_, c)) if rest[c.len_utf8()..].starts_with('\'') => {
                        i += 1 + c.len_utf8() + 1;
                    }
                    _ => i += 1,
                }
            }
            b'r' if (b.get(i + 1) == Some(&b'"') || b.get(i + 1) == Some(&b'#'))
                && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_')) =>
            {
                let hashes = b[i + 1..].iter().take_while(|&&c| c == b'#').count();
                if b.get(i + 1 + hashes) != Some(&b'"') {
                    i += 1;
                    continue;
                }
                let start = i + 2 + hashes;
                let close = format!("\"{}", "#".repeat(hashes));
                let end = code[start..].find(&close).map_or(b.len(), |e| start + e);
                out.push(literal(
                    code,
                    i,
                    code[start..end].to_string(),
                    end + close.len(),
                ));
                i = end + close.len();
            }
            b'"' => {
                let mut text = String::new();
                let mut j = i + 1;
                while j < b.len() && b[j] != b'"' {
                    if b[j] == b'\\' {
                        j += 1;
                        match b.get(j) {
                            Some(b'n') => text.push('\n'),
                            Some(b't') => text.push('\t'),
                            Some(b'r') => text.push('\r'),
                            Some(b'0') => text.push('\0'),
                            Some(b'\n') => {
                                while j + 1 < b.len() && b[j + 1].is_ascii_whitespace() {
                                    j += 1;
                                }
                            }
                            Some(b'x') => {
                                let v = u8::from_str_radix(&code[j + 1..j + 3], 16).unwrap_or(0);
                                text.push(char::from(v));
                                j += 2;
                            }
                            Some(b'u') => {
                                let close = code[j..].find('}').unwrap_or(0);
                                let v =
                                    u32::from_str_radix(&code[j + 2..j + close], 16).unwrap_or(0);
                                text.push(char::from_u32(v).unwrap_or('?'));
                                j += close;
                            }
                            Some(&c) => text.push(char::from(c)),
                            None => {}
                        }
                        j += 1;
                    } else {
                        let c = code[j..].chars().next().unwrap_or(' ');
                        text.push(c);
                        j += c.len_utf8();
                    }
                }
                out.push(literal(code, i, text, j + 1));
                i = j + 1;
            }
            _ => i += 1,
        }
    }
    out
}

fn literal(code: &str, start: usize, text: String, end: usize) -> Literal {
    let from = code[..start]
        .char_indices()
        .rev()
        .nth(80)
        .map_or(0, |(k, _)| k);
    let before: String = code[from..start]
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let tail = &code[end.min(code.len())..];
    let mut depth = 0i32;
    let mut stop = tail.len();
    for (k, c) in tail.char_indices() {
        match c {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' if depth == 0 => {
                stop = k;
                break;
            }
            ')' | ']' | '}' => depth -= 1,
            ';' if depth == 0 => {
                stop = k;
                break;
            }
            _ => {}
        }
    }
    Literal {
        text,
        line: code[..start].matches('\n').count() + 1,
        before,
        after: tail[..stop].to_string(),
    }
}

/// The code of a source file without its test module(s): from the first `#[cfg(test)]`
/// that opens an inline module (`mod tests {`), not one that declares a module file
/// (`mod tests;`) or a test-only item in the middle of the file.
fn without_tests(code: &str) -> &str {
    let mut from = 0;
    while let Some(k) = code[from..].find("#[cfg(test)]").map(|k| from + k) {
        let item = code[k + "#[cfg(test)]".len()..].trim_start();
        let line = item.lines().next().unwrap_or("");
        if line.trim_start_matches("pub ").starts_with("mod ") && line.trim_end().ends_with('{') {
            return &code[..k];
        }
        from = k + 1;
    }
    code
}

/// The `{name}` placeholders of a template (not `{{`).
fn placeholders(template: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let t = template.replace("{{", "").replace("}}", "");
    let mut rest = t.as_str();
    while let Some(i) = rest.find('{') {
        let Some(end) = rest[i..].find('}') else {
            break;
        };
        out.insert(rest[i + 1..i + end].to_string());
        rest = &rest[i + end + 1..];
    }
    out
}

/// The arguments of a call after its first, split at its own commas (not those nested).
fn top_level(after: &str) -> Vec<&str> {
    let (mut out, mut depth, mut start) = (Vec::new(), 0i32, 0);
    for (k, c) in after.char_indices() {
        match c {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&after[start..k]);
                start = k + 1;
            }
            _ => {}
        }
    }
    out.push(&after[start..]);
    out
}

/// Whether the code before a literal opens a `tr!` call (not `include_str!`).
fn is_tr(before: &str) -> bool {
    let Some(head) = before
        .strip_suffix("tr!(")
        .or_else(|| before.strip_suffix("tr! ("))
    else {
        return false;
    };
    !head.ends_with(|c: char| c.is_alphanumeric() || c == '_')
}

/// A `tr!` call of the sources: its template, whether it formats, and the names it binds.
struct Call {
    at: String,
    template: String,
    formats: bool,
    names: BTreeSet<String>,
}

fn sources() -> Vec<(String, String)> {
    let mut files = Vec::new();
    rust_files(&src_dir(), &mut files);
    files.sort();
    files
        .into_iter()
        .filter(|p| !p.starts_with(src_dir().join("i18n")))
        .map(|p| {
            let rel = p.strip_prefix(src_dir()).unwrap().display().to_string();
            (rel, std::fs::read_to_string(&p).expect("a source"))
        })
        .collect()
}

fn calls() -> Vec<Call> {
    let mut out = Vec::new();
    for (rel, code) in sources() {
        for l in literals(&code) {
            if !is_tr(&l.before) {
                continue;
            }
            let names: BTreeSet<String> = top_level(&l.after)
                .into_iter()
                .filter_map(|a| a.split_once('='))
                .map(|(n, _)| n.trim().to_string())
                .filter(|n| !n.is_empty() && n.chars().all(|c| c.is_alphanumeric() || c == '_'))
                .collect();
            out.push(Call {
                at: format!("{rel}:{}", l.line),
                template: l.text,
                formats: l.after.contains(','),
                names,
            });
        }
    }
    out
}

/// Every text of a declared check (title, what, why, fix, unmet) and of an exercise's title.
fn declared_texts() -> Vec<(String, &'static str)> {
    let mut out = Vec::new();
    for ex in crate::exercises::REGISTRY {
        for d in ex.checks() {
            let at = format!("{}:{}", ex.name(), d.id);
            for t in [d.title, d.what, d.fix, d.unmet]
                .into_iter()
                .chain(d.why.iter().copied())
                .filter(|t| !t.is_empty())
            {
                out.push((at.clone(), t));
            }
        }
    }
    out
}

/// The exercises' titles, from their shipped configs (`harness list` shows them).
fn exercise_titles() -> Vec<String> {
    crate::catalog::exercises(None)
        .expect("the shipped configs")
        .into_iter()
        .map(|e| e.title)
        .collect()
}

#[test]
fn i18n_the_catalog_parses() {
    parse_catalog(ZH).expect("harness/locales/zh.toml");
}

#[test]
fn i18n_every_message_and_check_text_has_its_translation() {
    let zh = parse_catalog(ZH).expect("harness/locales/zh.toml");
    let mut missing = BTreeMap::new();
    for c in calls() {
        if !zh.contains_key(c.template.as_str()) {
            missing.insert(c.template, c.at);
        }
    }
    for (at, t) in declared_texts() {
        if !zh.contains_key(t) {
            missing.insert(t.to_string(), at);
        }
    }
    for t in exercise_titles() {
        if !zh.contains_key(t.as_str()) {
            missing.insert(t, "an exercise's title".into());
        }
    }
    let list: Vec<String> = missing
        .iter()
        .map(|(t, at)| format!("{at}\n{:?} = \"\"", t))
        .collect();
    assert!(
        missing.is_empty(),
        "{} texts have no Chinese in harness/locales/zh.toml:\n{}",
        missing.len(),
        list.join("\n")
    );
}

#[test]
fn i18n_templates_name_their_placeholders_and_translations_keep_them() {
    let zh = parse_catalog(ZH).expect("harness/locales/zh.toml");
    let mut bad = Vec::new();
    for c in calls() {
        if !c.formats {
            continue;
        }
        let wanted = placeholders(&c.template);
        if wanted != c.names {
            bad.push(format!(
                "{}: placeholders {wanted:?} but named arguments {:?} (every placeholder a named argument, no format specs)",
                c.at, c.names
            ));
        }
        if let Some(t) = zh.get(c.template.as_str()) {
            if placeholders(t) != wanted {
                bad.push(format!(
                    "{}: the translation's placeholders differ: {t:?}",
                    c.at
                ));
            }
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn i18n_every_translation_is_of_a_text_of_the_sources() {
    let zh = parse_catalog(ZH).expect("harness/locales/zh.toml");
    let mut all: BTreeSet<String> = exercise_titles().into_iter().collect();
    for (_, code) in sources() {
        all.extend(literals(&code).into_iter().map(|l| l.text));
    }
    let stale: Vec<&&str> = zh.keys().filter(|k| !all.contains(**k)).collect();
    assert!(
        stale.is_empty(),
        "entries of harness/locales/zh.toml no source uses any more: {stale:#?}"
    );
}

/// Whether a bare literal reads like a sentence for a report: three words or more of
/// letters outside its `{placeholders}` (identifiers, paths, keys and format-only strings
/// such as `"  {id:<w$}  {points:>4}  {title}"` do not).
fn is_prose(text: &str) -> bool {
    let mut bare = String::with_capacity(text.len());
    let mut depth = 0usize;
    for c in text.chars() {
        match c {
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            _ if depth == 0 => bare.push(c),
            _ => {}
        }
    }
    let bare = without_markup(&bare);
    let text = bare.as_str();
    let words = text
        .split(|c: char| !(c.is_ascii_alphabetic() || c == '\''))
        .filter(|w| w.len() >= 2)
        .count();
    words >= 3 && text.contains(' ')
}

/// What a reader reads of an HTML or SVG template: its text and the values of the
/// attributes shown to a reader (`title`, `aria-label`, `alt`), not tags, other attributes,
/// scripts or style sheets.
fn without_markup(text: &str) -> String {
    const READ: &[&str] = &["title", "aria-label", "alt", "placeholder"];
    let mut out = String::with_capacity(text.len());
    let (mut in_tag, mut tag) = (false, String::new());
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        let after = &rest[c.len_utf8()..];
        if c == '<' && !in_tag {
            let skipped = [("<script", "</script>"), ("<style", "</style>")]
                .into_iter()
                .find(|(open, _)| rest.starts_with(open));
            if let Some((_, close)) = skipped {
                rest = rest.find(close).map_or("", |k| &rest[k + close.len()..]);
                continue;
            }
            if after.starts_with(|n: char| n.is_ascii_alphabetic() || n == '/' || n == '!') {
                in_tag = true;
                tag.clear();
                rest = after;
                continue;
            }
        }
        if c == '=' && after.starts_with('"') {
            let held = if in_tag { &mut tag } else { &mut out };
            // An attribute's name is ASCII: as many bytes as characters.
            let len = held
                .chars()
                .rev()
                .take_while(|n| n.is_ascii_alphanumeric() || *n == '-')
                .count();
            let name = held.split_off(held.len() - len);
            let value = &after[1..];
            let end = value.find('"').unwrap_or(value.len());
            if READ.contains(&name.as_str()) {
                out.push(' ');
                out.push_str(&value[..end]);
            }
            out.push(' ');
            rest = value.get(end + 1..).unwrap_or("");
            continue;
        }
        match c {
            '>' if in_tag => in_tag = false,
            // A tag's name and its attributes' names, kept only to read an attribute's name.
            _ if in_tag => tag.push(c),
            _ => out.push(c),
        }
        rest = after;
    }
    out
}

/// A literal that is not a message: an internal error, an attribute, a test's text.
fn is_exempt(l: &Literal) -> bool {
    const NOT_SHOWN: &[&str] = &[
        "expect(",
        "panic!(",
        "unreachable!(",
        "assert!(",
        "assert_eq!(",
        "debug_assert!(",
        "#[arg(",
        "#[command(",
        "doc =",
        "eprintln!(",
    ];
    NOT_SHOWN.iter().any(|n| l.before.contains(n)) || is_verbatim(&l.before)
}

/// Whether the literal is the argument of [`verbatim`] (directly, or as `format!`'s
/// template): a text the same in every language, marked so at the site.
fn is_verbatim(before: &str) -> bool {
    // A byte string (`verbatim(b"…")`) opens with the `b` before its quote.
    let before = before
        .strip_suffix("(b")
        .map_or(before, |h| &before[..h.len() + 1]);
    let head = before
        .strip_suffix("format!(")
        .or_else(|| before.strip_suffix("format! ("))
        .map_or(before, str::trim_end);
    let Some(head) = head.strip_suffix("verbatim(") else {
        return false;
    };
    !head.ends_with(|c: char| c.is_alphanumeric() || c == '_')
}

/// The files of the modules compiled for tests only (`#[cfg(test)] mod tests;`, the `echo`
/// exercise): test code, whose strings no user reads.
fn test_only_files(files: &[(String, String)]) -> Vec<String> {
    let mut out = Vec::new();
    for (rel, code) in files {
        let mut from = 0;
        while let Some(k) = code[from..].find("#[cfg(test)]").map(|k| from + k) {
            from = k + 1;
            let item = code[k + "#[cfg(test)]".len()..].trim_start();
            let line = item.lines().next().unwrap_or("").trim();
            let Some(name) = line
                .trim_start_matches("pub ")
                .strip_prefix("mod ")
                .and_then(|m| m.strip_suffix(';'))
            else {
                continue;
            };
            // `a/mod.rs`, `lib.rs` and `main.rs` hold their submodules beside them; `a/b.rs`
            // holds them in `a/b/`.
            let file = Path::new(rel);
            let dir = match file.file_name().and_then(|f| f.to_str()) {
                Some("mod.rs" | "lib.rs" | "main.rs") => file.parent().map(Path::to_path_buf),
                _ => Some(file.with_extension("")),
            }
            .unwrap_or_default();
            out.push(dir.join(format!("{name}.rs")).display().to_string());
            out.push(format!("{}/", dir.join(name).display()));
        }
    }
    out
}

/// Whether a catalog text is used here as a message without being translated: formatted,
/// or turned into a `String` (a declared check's texts are `&'static str` fields, translated
/// where they are shown).
fn used_untranslated(l: &Literal) -> bool {
    let after = l.after.trim_start();
    l.before.ends_with("format!(")
        || ["into()", "to_string()", "to_owned()"]
            .iter()
            .any(|m| after.starts_with(&format!(".{m}")))
}

/// The prose literals of `code`, outside its test module, that no language but English has.
fn bare_sentences(code: &str, zh: &Catalog) -> Vec<Literal> {
    literals(without_tests(code))
        .into_iter()
        .filter(|l| {
            !is_tr(&l.before)
                && is_prose(&l.text)
                && !is_exempt(l)
                && (!zh.contains_key(l.text.as_str()) || used_untranslated(l))
        })
        .collect()
}

/// The bare prose literals of each file outside test code: messages not going through
/// `tr!` (nor texts of the catalog, translated where they are shown), nor marked
/// [`verbatim`].
fn untranslated() -> BTreeMap<String, Vec<String>> {
    let zh = parse_catalog(ZH).expect("harness/locales/zh.toml");
    let files = sources();
    let tests = test_only_files(&files);
    let mut out = BTreeMap::new();
    for (rel, code) in &files {
        if tests
            .iter()
            .any(|t| rel == t || rel.starts_with(t.as_str()))
        {
            continue;
        }
        let found: Vec<String> = bare_sentences(code, &zh)
            .into_iter()
            .map(|l| format!("{rel}:{}: {:?}", l.line, l.text))
            .collect();
        if !found.is_empty() {
            out.insert(rel.clone(), found);
        }
    }
    out
}

/// Every sentence a user may read goes through `tr!` (or is a catalog text translated where
/// it is shown, or is marked [`verbatim`]): none is missing from the Chinese.
#[test]
fn i18n_messages_go_through_tr() {
    let now = untranslated();
    let list: Vec<String> = now.values().flatten().cloned().collect();
    assert!(
        list.is_empty(),
        "{} sentences do not go through tr! (wrap each in tr! and translate it in \
         harness/locales/zh.toml, or mark a text that reads the same in every language \
         verbatim; see the i18n module doc):\n  {}",
        list.len(),
        list.join("\n  ")
    );
}

#[test]
fn i18n_a_bare_sentence_is_found_and_a_translated_or_verbatim_one_is_not() {
    let zh = parse_catalog(ZH).expect("harness/locales/zh.toml");
    let code = r#"
fn f(x: u32) -> Vec<String> {
    vec![
        format!("the program printed {x} lines"),
        "must be at least 1".into(),
        tr!("must be at least 1").into(),
        tr!("child {n}", n = x),
        verbatim("Traceback (most recent call last)").into(),
        verbatim(format!("line {x}: the quick brown fox")),
        String::from_utf8_lossy(verbatim(b"hidden: never listed, never served")).into(),
    ]
}
#[cfg(test)]
mod tests {
    const T: &str = "a text of a test only";
}
"#;
    let found: Vec<String> = bare_sentences(code, &zh)
        .into_iter()
        .map(|l| l.text)
        .collect();
    assert_eq!(
        found,
        ["the program printed {x} lines", "must be at least 1"],
        "a message written with format!, and a catalog text made a String untranslated"
    );
}

#[test]
fn i18n_test_code_and_markup_are_not_messages() {
    let files = vec![
        (
            "a/mod.rs".to_string(),
            "#[cfg(test)]\nmod tests;\n".to_string(),
        ),
        (
            "b.rs".to_string(),
            "#[cfg(test)]\npub mod echo;\n".to_string(),
        ),
    ];
    assert_eq!(
        test_only_files(&files),
        ["a/tests.rs", "a/tests/", "b/echo.rs", "b/echo/"]
    );
    assert!(!is_prose(
        "<tr class=\"grader-error\"><td>{}</td><td>{name}</td></tr>"
    ));
    assert!(!is_prose(" class=\"grader-error\" data-kind=\"{}\""));
    assert!(!is_prose(
        "<style>p .a .b {x:1}</style><script>var a = b + c;</script><p>{}</p>"
    ));
    assert!(!is_prose("concurrent-up-<i>.bin"));
    assert!(is_prose("中 title=\"the program did not start\""));
    assert!(is_prose("<p>the program did not start</p>"));
    assert!(is_prose("<span title=\"the program did not start\">"));
    assert!(is_prose("the program did not start"));
}

#[test]
fn i18n_fill_is_format_for_named_placeholders() {
    let (who, n) = ("driver", 3);
    assert_eq!(
        fill(
            "{who} got {n} signals {{not}} {missing}",
            &[("who", &who), ("n", &n)]
        ),
        format!("{who} got {n} signals {{not}} {{missing}}")
    );
    assert_eq!(fill("中文 {who}。", &[("who", &"司机")]), "中文 司机。");
}

#[test]
fn i18n_tr_is_the_english_text_unless_chinese_is_chosen() {
    let n = 2;
    let en = with(Lang::En, || crate::tr!("{n} runs", n = n));
    assert_eq!(en, "2 runs");
    let zh = with(Lang::Zh, || crate::tr!("{n} runs", n = n));
    assert!(zh.contains('2') && zh != en, "{zh}");
    assert_eq!(with(Lang::Zh, || crate::tr!("hint:")), "提示：");
}

#[test]
fn i18n_pad_counts_wide_characters_twice() {
    assert_eq!(pad("通过", 5), "通过 ");
    assert_eq!(pad("PASS", 5), "PASS ");
}
