//! Exercise configuration: the TOML files in `exercises/<name>/`, read with serde, rejected
//! with the key path and line of the first problem. The shipped file is compiled in as the
//! default; `--config FILE` is laid over it (see [`layered`]). What every exercise's config
//! holds (`[exercise]`, `[checks]`, `[visibility]`, `[build]`) is read here ([`Scoring`]); the
//! rest is the exercise's own, typed by the exercise (`exercises/<name>/config.rs`).

pub mod build;

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use serde::Deserialize;

use crate::report::Visibility;

/// A configuration that cannot be used, with where and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub source_name: String,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid config {}: {}", self.source_name, self.message)
    }
}

impl std::error::Error for ConfigError {}

/// Parses `text` into `T`; errors carry the line, column and key that toml reports.
pub fn parse<T: serde::de::DeserializeOwned>(
    text: &str,
    source_name: &str,
) -> Result<T, ConfigError> {
    toml::from_str(text).map_err(|e| ConfigError {
        source_name: source_name.to_string(),
        message: e.to_string().trim_end().to_string(),
    })
}

/// Reads a config file from disk.
pub fn read_file(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|e| ConfigError {
        source_name: path.display().to_string(),
        message: format!("cannot read: {e}"),
    })
}

/// A semantic error at `key`.
pub fn invalid(source_name: &str, key: &str, why: impl fmt::Display) -> ConfigError {
    ConfigError {
        source_name: source_name.to_string(),
        message: format!("key `{key}`: {why}"),
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
                return Err(invalid(src, &format!("{table}.{k}"), "no such check"));
            }
        }
        if let Some(id) = ids.iter().find(|id| !self.checks.contains_key(**id)) {
            return Err(invalid(
                src,
                &format!("checks.{id}"),
                "missing: give it points (0 for a warning)",
            ));
        }
        self.build.validate(src)
    }
}

/// Splits a config into what every exercise has ([`Scoring`]) and the exercise's own
/// tables (returned as TOML text for the exercise's typed parse).
pub fn split(text: &str, source_name: &str) -> Result<(Scoring, String), ConfigError> {
    let mut all: toml::Table = parse(text, source_name)?;
    let mut common = toml::Table::new();
    for key in ["exercise", "checks", "visibility", "build"] {
        if let Some(v) = all.remove(key) {
            common.insert(key.to_string(), v);
        }
    }
    let scoring: Scoring =
        toml::Value::Table(common)
            .try_into()
            .map_err(|e: toml::de::Error| ConfigError {
                source_name: source_name.to_string(),
                message: e.to_string().trim_end().to_string(),
            })?;
    let own = toml::to_string(&all).map_err(|e| ConfigError {
        source_name: source_name.to_string(),
        message: e.to_string(),
    })?;
    Ok((scoring, own))
}

/// The shipped config with an instructor's file laid over it: tables merge key by key, any
/// other value (a number, a string, a list) replaces the shipped one. A key the shipped
/// config does not have is refused with its path and line, before merging.
pub fn layered(shipped: &str, overlay: &str, overlay_name: &str) -> Result<String, ConfigError> {
    let base: toml::Table = parse(shipped, "the shipped config")?;
    let top: toml::Table = parse(overlay, overlay_name)?;
    let mut merged = base;
    merge(&mut merged, top, "", overlay, overlay_name)?;
    toml::to_string(&merged).map_err(|e| ConfigError {
        source_name: overlay_name.to_string(),
        message: e.to_string(),
    })
}

/// The 1-based line of the overlay where `key` is set, for error messages.
fn line_of(text: &str, key: &str) -> Option<usize> {
    text.lines()
        .position(|l| {
            let l = l.trim_start();
            l.strip_prefix(key)
                .or_else(|| l.strip_prefix(&format!("\"{key}\"")))
                .is_some_and(|rest| rest.trim_start().starts_with('='))
        })
        .map(|i| i + 1)
}

fn merge(
    base: &mut toml::Table,
    top: toml::Table,
    path: &str,
    text: &str,
    name: &str,
) -> Result<(), ConfigError> {
    for (key, value) in top {
        let full = if path.is_empty() {
            key.clone()
        } else {
            format!("{path}.{key}")
        };
        // Tables whose keys are open-ended (points and visibility per check) take any key;
        // the typed parse checks them.
        let open = matches!(path, "checks" | "visibility");
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(b)), toml::Value::Table(t)) => merge(b, t, &full, text, name)?,
            (Some(slot), v) => *slot = v,
            (None, v) if open || path.is_empty() && key == "visibility" => {
                base.insert(key, v);
            }
            (None, _) => {
                let at = line_of(text, &key)
                    .map(|l| format!(" (line {l})"))
                    .unwrap_or_default();
                return Err(invalid(name, &full, format!("no such setting{at}")));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHIPPED: &str = "[exercise]\nname = \"x\"\ntitle = \"X\"\n\n[timing]\nstep_ms = 5\nexit_ms = 7\n\n[checks]\nstart = 10\nctrl-z = 15\n";

    #[test]
    fn an_overlay_changes_only_what_it_names() {
        let merged = layered(SHIPPED, "[checks]\nctrl-z = 50\n", "o.toml").unwrap();
        let (scoring, own) = split(&merged, "o.toml").unwrap();
        assert_eq!(scoring.points("ctrl-z"), 50);
        assert_eq!(scoring.points("start"), 10);
        let own: toml::Table = parse(&own, "o").unwrap();
        assert_eq!(own["timing"]["step_ms"].as_integer(), Some(5));
        assert!(!own.contains_key("checks"));
    }

    #[test]
    fn an_unknown_overlay_key_is_named_with_its_line() {
        let err = layered(SHIPPED, "[timing]\n\nstep_msec = 5\n", "o.toml")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("timing.step_msec") && err.contains("line 3"),
            "{err}"
        );
    }

    #[test]
    fn visibility_is_set_per_check_and_checked() {
        let docs = ["start", "ctrl-z"];
        let merged = layered(SHIPPED, "[visibility]\nctrl-z = \"hidden\"\n", "o").unwrap();
        let (scoring, _) = split(&merged, "o").unwrap();
        scoring.validate(&docs, "o").unwrap();
        assert_eq!(scoring.visibility("ctrl-z"), Some(Visibility::Hidden));
        let bad = layered(SHIPPED, "[visibility]\nctrl-q = \"hidden\"\n", "o").unwrap();
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
