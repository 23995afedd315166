//! The words of reports and `explain` in the course's language (`--lang en|zh`, or the
//! config's `[report] lang`): gettext-style, the English text is the key and its translation
//! lives in one catalog per language (`harness/locales/zh.toml`), compiled in. English needs
//! no catalog, so the English output is exactly the format string written at the site.
//! Ids, statuses and the JSON's keys are never translated; neither are student output and
//! program names, which enter a message only as arguments.
//!
//! **Adding a message**: write it with [`tr!`](crate::tr) instead of `format!`, every
//! placeholder a named argument (`tr!("{role} exited with status {code}", role = r, code = c)`,
//! no `{}` or `{x:>3}`: format such values first), then add the English text as a key with
//! its Chinese translation to `harness/locales/zh.toml` (same placeholders). A fixed text
//! with no placeholders is `tr!("…")` (a `&'static str`). A declared check's title, what,
//! why, fix and unmet are translated where they are shown ([`doc`]), so they only need their
//! catalog entries. `cargo nextest run -p harness -E 'test(i18n)'` lists any text missing
//! from a catalog, any entry no longer used, and any message outside the mechanism. A text
//! that must read the same in every language (code, a text matched in student output) is
//! written [`verbatim`]`("…")`, which says so to the reader and to that test.

use std::cell::Cell;
use std::collections::HashMap;
use std::fmt::Display;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::OnceLock;

#[cfg(test)]
mod tests;

/// A language reports can be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    /// English (the default).
    #[default]
    En,
    /// Chinese (simplified).
    Zh,
}

impl Lang {
    fn code(self) -> u8 {
        match self {
            Lang::En => 0,
            Lang::Zh => 1,
        }
    }

    fn from_code(c: u8) -> Lang {
        if c == 1 {
            Lang::Zh
        } else {
            Lang::En
        }
    }

    /// The name on the command line and in configs (`en`, `zh`).
    pub fn name(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Zh => "zh",
        }
    }
}

/// The process's language, chosen once at start-up (`main`).
static LANG: AtomicU8 = AtomicU8::new(0);

thread_local! {
    /// A language for this thread only ([`with`]): tests of both languages side by side.
    static OVERRIDE: Cell<Option<Lang>> = const { Cell::new(None) };
}

/// Chooses the language of everything this process writes from now on.
pub fn set(lang: Lang) {
    LANG.store(lang.code(), Ordering::Relaxed);
}

/// The language messages are written in now.
pub fn current() -> Lang {
    OVERRIDE
        .with(Cell::get)
        .unwrap_or_else(|| Lang::from_code(LANG.load(Ordering::Relaxed)))
}

/// Runs `f` with messages of this thread in `lang`.
pub fn with<T>(lang: Lang, f: impl FnOnce() -> T) -> T {
    let was = OVERRIDE.with(|o| o.replace(Some(lang)));
    let out = f();
    OVERRIDE.with(|o| o.set(was));
    out
}

/// The Chinese catalog's text: English template = translation, one per line.
const ZH: &str = include_str!("../../locales/zh.toml");

/// A catalog: English template → translation.
type Catalog = HashMap<&'static str, &'static str>;

fn parse_catalog(text: &'static str) -> Result<Catalog, String> {
    let table: toml::Table = toml::from_str(text).map_err(|e| e.to_string())?;
    let mut out = HashMap::with_capacity(table.len());
    for (k, v) in table {
        let toml::Value::String(v) = v else {
            return Err(format!("`{k}`: a translation must be a string"));
        };
        // Leaked once per process: the catalog lives as long as the program.
        out.insert(
            &*Box::leak(k.into_boxed_str()),
            &*Box::leak(v.into_boxed_str()),
        );
    }
    Ok(out)
}

fn zh() -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    // A catalog that does not parse is refused by the tests; in a build it means English.
    CATALOG.get_or_init(|| parse_catalog(ZH).unwrap_or_default())
}

/// The translation of `template` into the current language; `None` in English or when the
/// catalog lacks it (then the English text is used).
pub fn translated(template: &str) -> Option<&'static str> {
    match current() {
        Lang::En => None,
        Lang::Zh => zh().get(template).copied(),
    }
}

/// A fixed text (a declared check's words, a label) in the current language.
pub fn doc(text: &'static str) -> &'static str {
    translated(text).unwrap_or(text)
}

/// A text that is the same in every language, said so where it is written: code a hint
/// quotes (`signal(SIGINT, SIG_IGN)`), a text searched for in student output (Python's
/// `SyntaxError` wording), a machine-readable fallback. It returns its argument; the i18n
/// test does not count a literal written as `verbatim("…")`, `verbatim(b"…")` or
/// `verbatim(format!("…"))`. A `const fn`, so that a constant's text can say so too.
pub const fn verbatim<T>(text: T) -> T {
    text
}

/// `text` and its translations: what a message that starts with it may start with.
pub fn every_form(text: &'static str) -> impl Iterator<Item = &'static str> {
    std::iter::once(text).chain(zh().get(text).copied())
}

/// `template` with each `{name}` replaced by its argument and `{{` `}}` by braces, as
/// `format!` would; a placeholder without an argument is left as it is.
pub fn fill(template: &str, args: &[(&str, &dyn Display)]) -> String {
    let mut out = String::with_capacity(template.len() + 16);
    let mut rest = template;
    while let Some(i) = rest.find(['{', '}']) {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        if tail.starts_with("{{") || tail.starts_with("}}") {
            out.push_str(&tail[..1]);
            rest = &tail[2..];
            continue;
        }
        if tail.starts_with('{') {
            if let Some(end) = tail.find('}') {
                let name = &tail[1..end];
                if let Some((_, v)) = args.iter().find(|(n, _)| *n == name) {
                    use std::fmt::Write;
                    let _ = write!(out, "{v}");
                    rest = &tail[end + 1..];
                    continue;
                }
            }
        }
        out.push_str(&tail[..1]);
        rest = &tail[1..];
    }
    out.push_str(rest);
    out
}

/// Pads `text` with spaces to `width` terminal columns (a CJK character takes two).
pub fn pad(text: &str, width: usize) -> String {
    let cols: usize = text.chars().map(columns).sum();
    format!("{text}{}", " ".repeat(width.saturating_sub(cols)))
}

/// The columns a character takes in a terminal: two for the wide East Asian ranges.
pub fn columns(c: char) -> usize {
    match c as u32 {
        0x1100..=0x115F
        | 0x2E80..=0x303E
        | 0x3041..=0x33FF
        | 0x3400..=0x4DBF
        | 0x4E00..=0x9FFF
        | 0xA000..=0xA4CF
        | 0xAC00..=0xD7A3
        | 0xF900..=0xFAFF
        | 0xFE30..=0xFE4F
        | 0xFF00..=0xFF60
        | 0xFFE0..=0xFFE6
        | 0x20000..=0x3FFFD => 2,
        _ => 1,
    }
}

/// A message in the current language: `tr!("text")` is a fixed text (`&'static str`);
/// `tr!("{who} left", who = x)` formats like `format!` (named placeholders only). The
/// English text is the catalog key (see the module doc of `i18n`).
#[macro_export]
macro_rules! tr {
    ($template:literal $(,)?) => {
        $crate::i18n::doc($template)
    };
    ($template:literal, $($name:ident = $value:expr),+ $(,)?) => {
        match $crate::i18n::translated($template) {
            ::std::option::Option::None => ::std::format!($template, $($name = $value),+),
            ::std::option::Option::Some(t) => $crate::i18n::fill(
                t,
                &[$((::std::stringify!($name), &$value as &dyn ::std::fmt::Display)),+],
            ),
        }
    };
}
