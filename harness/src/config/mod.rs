//! Exercise configuration: the TOML files in `exercises/<name>/`, read with serde, rejected
//! with the key path and line of the first problem. The shipped file is compiled in as the
//! default; `--config FILE` is laid over it (see [`layered`]).

pub mod bus;
pub mod fileserver;

use std::fmt;
use std::path::Path;

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

    #[test]
    fn an_overlay_changes_only_what_it_names() {
        let merged = layered(bus::DEFAULT_TOML, "[checks]\nctrl-z = 50\n", "o.toml").unwrap();
        let cfg = bus::BusConfig::from_toml(&merged, "o.toml").unwrap();
        assert_eq!(cfg.checks.of("ctrl-z"), 50);
        assert_eq!(cfg.checks.of("start"), 10);
        assert_eq!(
            cfg.timing.step_ms,
            bus::BusConfig::shipped().unwrap().timing.step_ms
        );
    }

    #[test]
    fn an_unknown_overlay_key_is_named_with_its_line() {
        let err = layered(bus::DEFAULT_TOML, "[timing]\n\nstep_msec = 5\n", "o.toml")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("timing.step_msec") && err.contains("line 3"),
            "{err}"
        );
    }

    #[test]
    fn visibility_is_set_per_check_and_checked() {
        let merged = layered(
            bus::DEFAULT_TOML,
            "[visibility]\nctrl-z = \"hidden\"\n",
            "o",
        )
        .unwrap();
        let cfg = bus::BusConfig::from_toml(&merged, "o").unwrap();
        assert_eq!(
            cfg.visibility.get("ctrl-z"),
            Some(&crate::report::Visibility::Hidden)
        );
        let bad = layered(
            bus::DEFAULT_TOML,
            "[visibility]\nctrl-q = \"hidden\"\n",
            "o",
        )
        .unwrap();
        let err = bus::BusConfig::from_toml(&bad, "o")
            .unwrap_err()
            .to_string();
        assert!(err.contains("visibility.ctrl-q"), "{err}");
    }
}
