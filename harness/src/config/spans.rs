//! Where each key of a TOML text is written. A config is merged and re-serialised before its
//! typed parse, so the positions of that parse's errors mean nothing to the instructor: the
//! error's key is found in the merged text ([`Spans::key_at`]) and reported at that key's
//! line and column in the instructor's own file ([`Spans::position`]).

use std::ops::Range;

use toml::de::{DeTable, DeValue};

/// Every key of a TOML document: its dotted path, where the key is and where its value is.
#[derive(Debug, Clone, Default)]
pub struct Spans {
    text: String,
    keys: Vec<KeySpan>,
}

#[derive(Debug, Clone)]
struct KeySpan {
    path: String,
    key: Range<usize>,
    value: Range<usize>,
}

impl Spans {
    /// The keys of `text`; a text that is not TOML is refused with toml's error.
    pub fn of(text: &str) -> Result<Spans, toml::de::Error> {
        let doc = DeTable::parse(text)?;
        let mut keys = Vec::new();
        walk(doc.get_ref(), "", &mut keys);
        Ok(Spans {
            text: text.to_string(),
            keys,
        })
    }

    /// The 1-based line and column (in characters) where `path` is written, if it is.
    pub fn position(&self, path: &str) -> Option<(usize, usize)> {
        let k = self.keys.iter().find(|k| k.path == path)?;
        Some(line_col(&self.text, k.key.start))
    }

    /// The deepest key whose key or value holds byte `offset`.
    pub fn key_at(&self, offset: usize) -> Option<&str> {
        let holds = |r: &Range<usize>| r.start <= offset && offset < r.end.max(r.start + 1);
        self.keys
            .iter()
            .filter(|k| holds(&k.key) || holds(&k.value))
            .max_by_key(|k| k.path.matches('.').count())
            .map(|k| k.path.as_str())
    }

    /// Every path that is set to a value other than a table (the settings the text makes).
    pub fn leaves(&self) -> impl Iterator<Item = &str> {
        self.keys
            .iter()
            // An array's elements are its value, not settings of their own.
            .filter(|k| !k.path.contains('['))
            .filter(|k| {
                !self
                    .keys
                    .iter()
                    .any(|o| o.path.starts_with(&format!("{}.", k.path)))
            })
            .map(|k| k.path.as_str())
    }
}

fn walk(table: &DeTable<'_>, prefix: &str, out: &mut Vec<KeySpan>) {
    for (key, value) in table.iter() {
        let path = if prefix.is_empty() {
            key.get_ref().to_string()
        } else {
            format!("{prefix}.{}", key.get_ref())
        };
        out.push(KeySpan {
            path: path.clone(),
            key: key.span(),
            value: value.span(),
        });
        walk_value(value.get_ref(), &path, out);
    }
}

/// Into a table's keys, and an array's elements (`check[2].steps[0]`).
fn walk_value(value: &DeValue<'_>, path: &str, out: &mut Vec<KeySpan>) {
    match value {
        DeValue::Table(t) => walk(t, path, out),
        DeValue::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let path = format!("{path}[{i}]");
                out.push(KeySpan {
                    path: path.clone(),
                    key: item.span(),
                    value: item.span(),
                });
                walk_value(item.get_ref(), &path, out);
            }
        }
        _ => {}
    }
}

/// The 1-based line and column (in characters) of byte `offset` of `text`.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[start..].chars().count() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "# a class\n[bus.timing]\nstep_ms = 5\n\n[fileserver]\nchecks.list = 2\nlimits = { output_bytes = 9 }\n";

    #[test]
    fn keys_are_found_where_they_are_written() {
        let s = Spans::of(TEXT).unwrap();
        assert_eq!(s.position("bus.timing.step_ms"), Some((3, 1)));
        assert_eq!(s.position("bus.timing"), Some((2, 6)));
        assert_eq!(s.position("fileserver.checks.list"), Some((6, 8)));
        assert_eq!(s.position("fileserver.limits.output_bytes"), Some((7, 12)));
        assert_eq!(s.position("bus.checks"), None);
    }

    #[test]
    fn an_offset_names_its_deepest_key() {
        let s = Spans::of(TEXT).unwrap();
        let at = |needle: &str| s.key_at(TEXT.find(needle).unwrap()).map(String::from);
        assert_eq!(at("5\n").as_deref(), Some("bus.timing.step_ms"));
        assert_eq!(at("9 }").as_deref(), Some("fileserver.limits.output_bytes"));
        let mut leaves: Vec<&str> = s.leaves().collect();
        leaves.sort_unstable();
        assert_eq!(
            leaves,
            [
                "bus.timing.step_ms",
                "fileserver.checks.list",
                "fileserver.limits.output_bytes"
            ]
        );
    }

    #[test]
    fn columns_count_characters() {
        let text = "a = \"老司机\"\nb";
        assert_eq!(line_col(text, 14), (1, 9));
        assert_eq!(line_col(text, 16), (2, 1));
    }
}
