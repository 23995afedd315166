//! The protocol dialects the file server checks can speak: the shipped ones (one file per
//! family of the course's protocols in `exercises/fileserver/dialects/`, compiled in) and
//! one a config describes itself. `[server] dialect` is a shipped dialect's name, or a table
//! (`[server.dialect]`) laid key by key over the shipped dialect its `base` names (`exact`
//! when it names none). The format is `net::dialect`'s and the exercise README's.

use std::sync::Arc;

use crate::config::{invalid, parse, ConfigError};
use crate::net::dialect::Dialect;

use super::policy::Policy;

/// The shipped dialects: name and file text.
pub const SHIPPED: &[(&str, &str)] = &[
    (
        "exact",
        include_str!("../../../../exercises/fileserver/dialects/exact.toml"),
    ),
    (
        "lgpq-hash",
        include_str!("../../../../exercises/fileserver/dialects/lgpq-hash.toml"),
    ),
    (
        "lgpq-per-send",
        include_str!("../../../../exercises/fileserver/dialects/lgpq-per-send.toml"),
    ),
    (
        "ldu",
        include_str!("../../../../exercises/fileserver/dialects/ldu.toml"),
    ),
    (
        "lowercase",
        include_str!("../../../../exercises/fileserver/dialects/lowercase.toml"),
    ),
    (
        "numbered",
        include_str!("../../../../exercises/fileserver/dialects/numbered.toml"),
    ),
    (
        "words",
        include_str!("../../../../exercises/fileserver/dialects/words.toml"),
    ),
    (
        "ftp-words",
        include_str!("../../../../exercises/fileserver/dialects/ftp-words.toml"),
    ),
    (
        "length",
        include_str!("../../../../exercises/fileserver/dialects/length.toml"),
    ),
];

/// The config key of the dialect.
const KEY: &str = "server.dialect";

/// How many `base`s deep a dialect may start from another.
const MAX_DEPTH: usize = 8;

fn names() -> String {
    SHIPPED
        .iter()
        .map(|(n, _)| *n)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The table of shipped dialect `name`, its bases laid under it.
fn shipped_table(name: &str, source: &str, depth: usize) -> Result<toml::Table, ConfigError> {
    let Some((_, text)) = SHIPPED.iter().find(|(n, _)| *n == name) else {
        return Err(invalid(
            source,
            KEY,
            format!("no such dialect \"{name}\" (shipped: {})", names()),
        ));
    };
    let own: toml::Table = parse(text, &format!("dialects/{name}.toml (built in)"))?;
    based(own, source, depth)
}

/// `own` laid over the dialect its `base` names (`exact` for an inline table without one).
fn based(mut own: toml::Table, source: &str, depth: usize) -> Result<toml::Table, ConfigError> {
    let base = match own.remove("base") {
        None => return Ok(own),
        Some(toml::Value::String(b)) => b,
        Some(_) => {
            return Err(invalid(
                source,
                &format!("{KEY}.base"),
                "must be a dialect's name",
            ))
        }
    };
    if depth >= MAX_DEPTH {
        return Err(invalid(
            source,
            &format!("{KEY}.base"),
            "bases nest too deep (a circle?)",
        ));
    }
    let mut table = shipped_table(&base, source, depth + 1)?;
    lay_over(&mut table, own);
    Ok(table)
}

/// Tables merge key by key; any other value replaces.
fn lay_over(base: &mut toml::Table, top: toml::Table) {
    for (k, v) in top {
        match (base.get_mut(&k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(t)) => lay_over(b, t),
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}

/// The dialect `value` (of `[server] dialect`) chooses; errors name the key.
pub fn resolve(value: &toml::Value, source: &str) -> Result<Arc<Dialect>, ConfigError> {
    let mut table = whole_table(value, source)?;
    table.remove("policy");
    dialect_of(table, source)
}

/// The policy of the course the dialect `value` chooses (its `[policy]` table: what the
/// course asks beyond its protocol); errors name the key.
pub fn policy(value: &toml::Value, source: &str) -> Result<Policy, ConfigError> {
    let mut table = whole_table(value, source)?;
    match table.remove("policy") {
        Some(toml::Value::Table(t)) => Policy::from_table(t, source).map_err(|mut e| {
            e.key = e.key.map(|k| format!("{KEY}.{k}"));
            e
        }),
        Some(_) => Err(invalid(source, &format!("{KEY}.policy"), "must be a table")),
        None => Err(invalid(
            source,
            &format!("{KEY}.policy"),
            "the dialect states no policy",
        )),
    }
}

/// The table of the dialect `value` chooses, its bases laid under it.
fn whole_table(value: &toml::Value, source: &str) -> Result<toml::Table, ConfigError> {
    Ok(match value {
        toml::Value::String(name) => shipped_table(name, source, 0)?,
        toml::Value::Table(t) => {
            let mut t = t.clone();
            t.entry("base")
                .or_insert_with(|| toml::Value::String("exact".into()));
            based(t, source, 0)?
        }
        _ => {
            return Err(invalid(
                source,
                KEY,
                format!("a shipped dialect's name ({}) or a table", names()),
            ))
        }
    })
}

/// The dialect described by `table` (without its policy).
fn dialect_of(table: toml::Table, source: &str) -> Result<Arc<Dialect>, ConfigError> {
    let text = toml::to_string(&table).map_err(|e| invalid(source, KEY, e))?;
    let d: Dialect = parse(&text, source).map_err(|mut e| {
        e.key = Some(match e.key.take() {
            Some(k) => format!("{KEY}.{k}"),
            None => KEY.to_string(),
        });
        e.at = None;
        e
    })?;
    if let Some((key, why)) = d.problem() {
        return Err(invalid(source, &format!("{KEY}.{key}"), why));
    }
    Ok(Arc::new(d))
}

/// What a dialect does to server check `id`, whatever the config's (for `harness explain`).
fn dialect_note(id: &str) -> Option<&'static str> {
    Some(match id {
        "list" => {
            "A dialect's listing is read with its own framing (a separator, one send per name, \
             numbered entries, an end marker or a quiet gap); the names must be the same."
        }
        "get-binary" | "put-binary" => {
            "Where data ends with an end marker (`##`), a file holding the marker is still \
             carried whole (the grader ends the data by its size); a course whose own spec cannot \
             carry such a file lists the check under not_in_protocol."
        }
        "get-missing" => {
            "The refusal is the dialect's: ERR, N, or any reply but the OK word where the dialect \
             has no error word (the report then says \"a refusal\"); a numbered dialect asks for \
             the number one past the end of the listing."
        }
        "put-replace" => {
            "Where the dialect refuses replacing (upload.replace = \"refused\"), the upload must \
             be refused instead, and hello.txt stay as it was."
        }
        "traversal" => {
            "A numbered dialect cannot name a path in a download: its downloads ask for numbers \
             past the end of the listing; its uploads still send the names above."
        }
        "concurrent" => {
            "Under a numbered dialect the uploads start only once every download has begun \
             receiving its data, so that a server reading its directory again at G is not \
             renumbered under a download by them."
        }
        "disconnect" | "quit" => {
            "Its requests are the dialect's own commands (QUIT, EXIT, q… for quit); where \
             messages are sends, half a request is the listing command whose reply is never read."
        }
        _ => return None,
    })
}

/// How `cfg` changes check `id`, for `harness explain`: the protocol the server checks speak
/// (the dialect, and a check it leaves out of the protocol), and that the client checks'
/// reference server speaks it too.
pub fn notes(cfg: &super::FileserverConfig, id: &str) -> Vec<String> {
    let server: Vec<&str> = super::server_checks::table()
        .iter()
        .map(|c| c.doc.id)
        .collect();
    let client: Vec<&str> = super::client_checks::table()
        .iter()
        .map(|c| c.doc.id)
        .collect();
    if client.contains(&id) {
        let d = cfg.server.dialect();
        return vec![format!(
            "The client talks to the grader's reference server, which speaks the same protocol \
             as the server checks ([server] dialect; here: {}): a course's client is graded \
             unmodified, with [client] port and [client.menu] saying how it is reached and \
             driven.",
            d.title
        )];
    }
    if !server.contains(&id) {
        return Vec::new();
    }
    let d = cfg.server.dialect();
    let mut notes = Vec::new();
    if let Some(why) = d.not_in_protocol(id) {
        notes.push(format!(
            "Under this config's dialect ({}) the check is not part of this protocol: {}. It is \
             skipped and worth no points (Gradescope shows it as passed, 0 of 0).",
            d.title, why
        ));
    }
    if d.is_exact() && d.speaks_exact_words() {
        notes.push(
            "This config speaks the exact protocol described above. Under another [server] \
             dialect the check is made in that dialect's words (its commands, its OK and refusal, \
             its framing); a check the dialect lists under not_in_protocol is skipped as \"not \
             part of this protocol\" and worth no points."
                .into(),
        );
    } else {
        notes.push(format!(
            "This config's dialect: {}. Its requests are {}, {}, {} and {}; it accepts with {} \
             and {}.",
            d.title,
            d.show_list(),
            Dialect::show_template(&d.commands.get),
            Dialect::show_template(&d.commands.put),
            d.show_quit(),
            d.show_ok(),
            if d.replies.error.is_empty() {
                "any other reply refuses".to_string()
            } else {
                format!("refuses with {}", d.replies.error)
            },
        ));
    }
    notes.extend(dialect_note(id).map(String::from));
    notes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(text: &str) -> toml::Value {
        toml::Value::Table(parse(text, "t").unwrap())
    }

    #[test]
    fn every_shipped_dialect_is_coherent() {
        for (name, _) in SHIPPED {
            let d = resolve(&toml::Value::String(name.to_string()), "t")
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(d.is_exact(), *name == "exact", "{name}");
        }
    }

    #[test]
    fn a_dialect_file_per_family_is_shipped() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../exercises/fileserver/dialects");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(|e| {
                e.ok()?
                    .file_name()
                    .to_str()?
                    .strip_suffix(".toml")
                    .map(String::from)
            })
            .collect();
        on_disk.sort();
        let mut shipped: Vec<&str> = SHIPPED.iter().map(|(n, _)| *n).collect();
        shipped.sort();
        assert_eq!(
            on_disk, shipped,
            "compile every file of dialects/ into SHIPPED"
        );
    }

    #[test]
    fn an_inline_dialect_is_laid_over_its_base() {
        let d = resolve(
            &table("base = \"lgpq-hash\"\n[list]\nseparator = \",\"\n"),
            "t",
        )
        .unwrap();
        assert_eq!(d.list.separator, ",");
        assert_eq!(d.download.end, "##");
        // Without a base: over the exact protocol.
        let d = resolve(&table("[commands]\nlist = \"LS\"\n"), "t").unwrap();
        assert!(d.is_exact());
        assert_eq!(d.show_list(), "LS");
    }

    #[test]
    fn mistakes_are_named_with_their_key() {
        let err = resolve(&toml::Value::String("lgpq".into()), "c.toml").unwrap_err();
        assert_eq!(err.key.as_deref(), Some("server.dialect"));
        assert!(err.message.contains("lgpq-hash"), "{err}");
        let err = resolve(
            &table("base = \"lgpq-hash\"\n[list]\nseperator = \",\"\n"),
            "c",
        )
        .unwrap_err();
        assert_eq!(
            err.key.as_deref(),
            Some("server.dialect.list.seperator"),
            "{err}"
        );
        let err = resolve(
            &table("base = \"lgpq-hash\"\n[download]\nend = \"\"\n"),
            "c",
        )
        .unwrap_err();
        assert_eq!(
            err.key.as_deref(),
            Some("server.dialect.download.end"),
            "{err}"
        );
        let err = resolve(
            &table("base = \"lgpq-hash\"\n[commands]\nget = \"G {file}\"\n"),
            "c",
        )
        .unwrap_err();
        assert!(err.message.contains("{file}"), "{err}");
        let err = resolve(&table("base = \"lgpq-hash\"\nmessages = \"lines\"\n"), "c").unwrap_err();
        assert_eq!(err.key.as_deref(), Some("server.dialect.messages"), "{err}");
    }
}
