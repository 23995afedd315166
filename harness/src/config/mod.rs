//! Exercise configuration: the TOML files in `exercises/<name>/`, read with serde, rejected
//! with the key path and line of the first problem. The shipped file is compiled in as the
//! default; `--config FILE` is laid over it (see [`layered`]). What every exercise's config
//! holds (`[exercise]`, `[checks]`, `[visibility]`, `[build]`) is read here ([`Scoring`]); the
//! rest is the exercise's own, typed by the exercise (`exercises/<name>/config.rs`).

pub mod build;
pub mod file;
pub mod spans;

use crate::tr;
use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use serde::Deserialize;

use crate::report::Visibility;

pub use file::{ConfigFile, Find, ReportSettings};
pub use spans::Spans;

/// A configuration that cannot be used, with where and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub source_name: String,
    /// The dotted key at fault (`timing.step_ms`), when known.
    pub key: Option<String>,
    /// The 1-based line and column in `source_name`, when known.
    pub at: Option<(usize, usize)>,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&tr!(
            "invalid config {source_name}",
            source_name = self.source_name
        ))?;
        if let Some((line, col)) = self.at {
            write!(f, ":{line}:{col}")?;
        }
        if let Some(key) = &self.key {
            f.write_str(&tr!(": key `{key}`", key = key))?;
        }
        f.write_str(&tr!(": {message}", message = self.message))
    }
}

impl std::error::Error for ConfigError {}

impl ConfigError {
    /// The same error in the words of another file: `key` (relative to that file's
    /// `prefix`) at its position in `spans`; a position in some other text is dropped.
    pub fn relocated(mut self, source_name: &str, prefix: &str, spans: &Spans) -> Self {
        self.source_name = source_name.to_string();
        self.at = None;
        if let Some(key) = self.key.take() {
            let full = format!("{prefix}{key}");
            self.at = spans.position(&full);
            self.key = Some(full);
        }
        self
    }
}

/// Parses `text` into `T`; errors carry the key at fault and its line and column in `text`.
pub fn parse<T: serde::de::DeserializeOwned>(
    text: &str,
    source_name: &str,
) -> Result<T, ConfigError> {
    toml::from_str(text).map_err(|e| from_toml(&e, text, source_name))
}

/// A toml error in `text` as a [`ConfigError`]: toml's message, without its snippet.
pub fn from_toml(e: &toml::de::Error, text: &str, source_name: &str) -> ConfigError {
    let span = e.span();
    let key = span.as_ref().and_then(|s| {
        Spans::of(text)
            .ok()
            .and_then(|k| k.key_at(s.start).map(String::from))
    });
    ConfigError {
        source_name: source_name.to_string(),
        key,
        at: span.map(|s| spans::line_col(text, s.start)),
        message: e.message().trim_end().replace('\n', "; "),
    }
}

/// Reads a config file from disk.
pub fn read_file(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|e| ConfigError {
        source_name: path.display().to_string(),
        key: None,
        at: None,
        message: tr!("cannot read: {e}", e = e),
    })
}

/// A semantic error at `key`.
pub fn invalid(source_name: &str, key: &str, why: impl fmt::Display) -> ConfigError {
    ConfigError {
        source_name: source_name.to_string(),
        key: Some(key.to_string()),
        at: None,
        message: why.to_string(),
    }
}

/// The exercise's name and title (`[exercise]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExerciseInfo {
    pub name: String,
    pub title: String,
}

/// What every exercise's config holds: its name and title, the points of each check
/// (`[checks]`, every declared check, 0 for a warning) and who sees it (`[visibility]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scoring {
    pub exercise: ExerciseInfo,
    pub checks: BTreeMap<String, u32>,
    /// Who sees each check in student-facing reports (Gradescope); absent = visible.
    #[serde(default)]
    pub visibility: BTreeMap<String, Visibility>,
    /// How a submission of sources is built (absent: the defaults).
    #[serde(default)]
    pub build: build::BuildSettings,
}

impl Scoring {
    /// The points of check `id`.
    pub fn points(&self, id: &str) -> u32 {
        self.checks.get(id).copied().unwrap_or(0)
    }

    pub fn visibility(&self, id: &str) -> Option<Visibility> {
        self.visibility.get(id).copied()
    }

    /// Every key names a declared check (`ids`), and every declared check has points.
    pub fn validate(&self, ids: &[&str], src: &str) -> Result<(), ConfigError> {
        let known = |id: &str| ids.contains(&id);
        for (table, keys) in [
            ("checks", self.checks.keys().collect::<Vec<_>>()),
            ("visibility", self.visibility.keys().collect()),
        ] {
            if let Some(k) = keys.into_iter().find(|k| !known(k)) {
                let hint = crate::text::suggest::did_you_mean(k, ids.iter().copied());
                return Err(invalid(
                    src,
                    &format!("{table}.{k}"),
                    tr!("no such check{hint}", hint = hint),
                ));
            }
        }
        if let Some(id) = ids.iter().find(|id| !self.checks.contains_key(**id)) {
            return Err(invalid(
                src,
                &format!("checks.{id}"),
                tr!("missing: give it points (0 for a warning)"),
            ));
        }
        self.build.validate(src)
    }
}

/// The tables every exercise's config has, read by [`split`] into [`Scoring`].
pub const COMMON_TABLES: &[&str] = &["exercise", "checks", "visibility", "build"];

/// Splits a config into what every exercise has ([`Scoring`]) and the exercise's own
/// tables (returned as TOML text for the exercise's typed parse).
pub fn split(text: &str, source_name: &str) -> Result<(Scoring, String), ConfigError> {
    let mut all: toml::Table = parse(text, source_name)?;
    let mut common = toml::Table::new();
    for key in COMMON_TABLES {
        if let Some(v) = all.remove(*key) {
            common.insert(key.to_string(), v);
        }
    }
    let scoring: Scoring = parse(&to_text(&common, source_name)?, source_name)?;
    Ok((scoring, to_text(&all, source_name)?))
}

/// A table as TOML text.
fn to_text(table: &toml::Table, source_name: &str) -> Result<String, ConfigError> {
    toml::to_string(table).map_err(|e| ConfigError {
        source_name: source_name.to_string(),
        key: None,
        at: None,
        message: e.to_string(),
    })
}

/// The shipped config with an instructor's settings laid over it: tables merge key by
/// key, any other value (a number, a string, a list) replaces the shipped one. A key the
/// shipped config does not have is refused with its path, before merging. Errors name keys
/// relative to `overlay` (see [`ConfigError::relocated`]).
pub fn layered(
    shipped: &str,
    overlay: &toml::Table,
    overlay_name: &str,
) -> Result<String, ConfigError> {
    let mut merged: toml::Table = parse(shipped, tr!("the shipped config"))?;
    merge(&mut merged, overlay.clone(), "", overlay_name)?;
    to_text(&merged, overlay_name)
}

fn merge(
    base: &mut toml::Table,
    top: toml::Table,
    path: &str,
    name: &str,
) -> Result<(), ConfigError> {
    for (key, value) in top {
        let full = if path.is_empty() {
            key.clone()
        } else {
            format!("{path}.{key}")
        };
        // Tables whose keys are open-ended (points and visibility per check), or all left
        // unset in the shipped file (a course's policy: unset follows its dialect), take
        // any key; the typed parse checks them.
        let open = matches!(path, "checks" | "visibility" | "policy");
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(b)), toml::Value::Table(t)) => merge(b, t, &full, name)?,
            (Some(toml::Value::Table(_)), _) => {
                return Err(invalid(name, &full, tr!("must be a table of settings")));
            }
            (Some(slot), v) => *slot = v,
            (None, v) if open || path.is_empty() && key == "visibility" => {
                base.insert(key, v);
            }
            (None, _) => {
                let hint =
                    crate::text::suggest::did_you_mean(&key, base.keys().map(|k| k.as_str()));
                return Err(invalid(
                    name,
                    &full,
                    tr!("no such setting{hint}", hint = hint),
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHIPPED: &str = "[exercise]\nname = \"x\"\ntitle = \"X\"\n\n[timing]\nstep_ms = 5\nexit_ms = 7\n\n[checks]\nstart = 10\nctrl-z = 15\n";

    fn table(text: &str) -> toml::Table {
        parse(text, "o").unwrap()
    }

    #[test]
    fn an_overlay_changes_only_what_it_names() {
        let merged = layered(SHIPPED, &table("[checks]\nctrl-z = 50\n"), "o.toml").unwrap();
        let (scoring, own) = split(&merged, "o.toml").unwrap();
        assert_eq!(scoring.points("ctrl-z"), 50);
        assert_eq!(scoring.points("start"), 10);
        let own: toml::Table = parse(&own, "o").unwrap();
        assert_eq!(own["timing"]["step_ms"].as_integer(), Some(5));
        assert!(!own.contains_key("checks"));
    }

    #[test]
    fn an_unknown_overlay_key_is_named_at_its_line_and_column() {
        let text = "[timing]\n\n  step_msec = 5\n";
        let err = layered(SHIPPED, &table(text), "o.toml").unwrap_err();
        assert_eq!(err.key.as_deref(), Some("timing.step_msec"));
        let err = err.relocated("o.toml", "", &Spans::of(text).unwrap());
        assert_eq!(
            err.to_string(),
            "invalid config o.toml:3:3: key `timing.step_msec`: no such setting (did you mean `step_ms`?)"
        );
    }

    #[test]
    fn a_typed_error_in_merged_text_names_its_key() {
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct Timing {
            step_ms: u32,
            exit_ms: u32,
        }
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct Own {
            timing: Timing,
        }
        let text = "\n[timing]\nexit_ms = \"soon\"\n";
        let merged = layered(SHIPPED, &table(text), "o.toml").unwrap();
        let (_, own) = split(&merged, "o.toml").unwrap();
        let err = parse::<Own>(&own, "o.toml").unwrap_err();
        assert_eq!(err.key.as_deref(), Some("timing.exit_ms"), "{err}");
        let err = err.relocated("o.toml", "", &Spans::of(text).unwrap());
        assert!(
            err.to_string()
                .starts_with("invalid config o.toml:3:1: key `timing.exit_ms`: invalid type"),
            "{err}"
        );
        // Points that are not numbers, in the common tables.
        let bad = layered(SHIPPED, &table("[checks]\nstart = \"ten\"\n"), "o").unwrap();
        let err = split(&bad, "o").unwrap_err();
        assert_eq!(err.key.as_deref(), Some("checks.start"), "{err}");
    }

    #[test]
    fn a_table_cannot_become_a_value() {
        let err = layered(SHIPPED, &table("timing = 5\n"), "o").unwrap_err();
        assert_eq!(err.key.as_deref(), Some("timing"));
    }

    #[test]
    fn visibility_is_set_per_check_and_checked() {
        let docs = ["start", "ctrl-z"];
        let merged = layered(SHIPPED, &table("[visibility]\nctrl-z = \"hidden\"\n"), "o").unwrap();
        let (scoring, _) = split(&merged, "o").unwrap();
        scoring.validate(&docs, "o").unwrap();
        assert_eq!(scoring.visibility("ctrl-z"), Some(Visibility::Hidden));
        let bad = layered(SHIPPED, &table("[visibility]\nctrl-q = \"hidden\"\n"), "o").unwrap();
        let err = split(&bad, "o")
            .unwrap()
            .0
            .validate(&docs, "o")
            .unwrap_err();
        assert!(err.to_string().contains("visibility.ctrl-q"), "{err}");
    }

    #[test]
    fn every_declared_check_needs_points_and_no_other() {
        let docs = ["start", "ctrl-z", "idle"];
        let (scoring, _) = split(SHIPPED, "s").unwrap();
        let err = scoring.validate(&docs, "s").unwrap_err().to_string();
        assert!(
            err.contains("checks.idle") && err.contains("missing"),
            "{err}"
        );
        let err = scoring.validate(&docs[..1], "s").unwrap_err().to_string();
        assert!(
            err.contains("checks.ctrl-z") && err.contains("no such check"),
            "{err}"
        );
    }
}
