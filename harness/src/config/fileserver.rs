//! The file server exercise's configuration (`exercises/fileserver/exercise.toml`).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use super::{invalid, parse, ConfigError};

/// The shipped configuration, compiled in.
pub const DEFAULT_TOML: &str = include_str!("../../../exercises/fileserver/exercise.toml");

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileserverConfig {
    pub exercise: super::bus::ExerciseInfo,
    pub submission: Names,
    pub client: ClientRules,
    pub timing: Timing,
    pub library: LibrarySizes,
    pub limits: Limits,
    pub checks: BTreeMap<String, u32>,
    /// Who sees each check in student-facing reports (Gradescope); absent = visible.
    #[serde(default)]
    pub visibility: BTreeMap<String, crate::report::Visibility>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Names {
    pub server_python: String,
    pub server_binary: String,
    pub client_python: String,
    pub client_binary: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientRules {
    pub prompt_ends_with: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Timing {
    pub startup_ms: u64,
    pub op_ms: u64,
    pub large_ms: u64,
    pub concurrent_ms: u64,
    pub exit_ms: u64,
}

impl Timing {
    pub fn startup(&self) -> Duration {
        Duration::from_millis(self.startup_ms)
    }
    pub fn op(&self) -> Duration {
        Duration::from_millis(self.op_ms)
    }
    pub fn large(&self) -> Duration {
        Duration::from_millis(self.large_ms)
    }
    pub fn concurrent(&self) -> Duration {
        Duration::from_millis(self.concurrent_ms)
    }
    pub fn exit(&self) -> Duration {
        Duration::from_millis(self.exit_ms)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LibrarySizes {
    pub large_bytes: u64,
    pub concurrent_clients: usize,
    pub concurrent_bytes: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    pub output_bytes: usize,
}

/// Check ids, titles, in report order.
pub const CHECKS: &[(&str, &str)] = &[
    (
        "server-start",
        "the server starts and listens on the given port",
    ),
    ("list", "L lists the regular, non-hidden files"),
    ("get-text", "G of a text file, byte for byte"),
    (
        "get-binary",
        "G of a file holding every byte value and ## sequences",
    ),
    ("get-empty", "G of an empty file"),
    ("get-large", "G of a large file"),
    ("get-names", "G of names with spaces and Chinese characters"),
    (
        "get-missing",
        "G of a missing file: ERR, connection still usable",
    ),
    ("put-text", "P of a text file, stored byte for byte"),
    ("put-binary", "P of a binary file"),
    ("put-empty", "P of an empty file"),
    ("put-large", "P of a large file"),
    ("put-replace", "P of an existing name replaces it"),
    ("traversal", "names leading outside the library are refused"),
    (
        "concurrent",
        "clients transfer at once while one is stalled",
    ),
    (
        "disconnect",
        "a client vanishing mid-transfer leaves no partial file",
    ),
    ("quit", "Q closes the connection, the server goes on"),
    ("cleanup", "no zombie children; exits on SIGTERM"),
    ("client-list", "the client's list shows the library"),
    ("client-get", "the client's get saves a text file"),
    ("client-get-binary", "the client's get saves a binary file"),
    ("client-put", "the client's put uploads a text file"),
    (
        "client-put-binary",
        "the client's put uploads a binary file",
    ),
    (
        "client-get-missing",
        "the client shows the server's error and goes on",
    ),
    ("client-quit", "quit ends the client with status 0"),
];

pub fn title(id: &str) -> &'static str {
    CHECKS.iter().find(|(i, _)| *i == id).map_or("", |(_, t)| t)
}

impl FileserverConfig {
    pub fn shipped() -> Result<Self, ConfigError> {
        Self::from_toml(
            DEFAULT_TOML,
            "exercises/fileserver/exercise.toml (built in)",
        )
    }

    pub fn from_toml(text: &str, source_name: &str) -> Result<Self, ConfigError> {
        let cfg: FileserverConfig = parse(text, source_name)?;
        for key in cfg.checks.keys() {
            if !CHECKS.iter().any(|(id, _)| id == key) {
                return Err(invalid(
                    source_name,
                    &format!("checks.{key}"),
                    "no such check",
                ));
            }
        }
        for key in cfg.visibility.keys() {
            if !CHECKS.iter().any(|(id, _)| id == key) {
                return Err(invalid(
                    source_name,
                    &format!("visibility.{key}"),
                    "no such check",
                ));
            }
        }
        for (id, _) in CHECKS {
            if !cfg.checks.contains_key(*id) {
                return Err(invalid(
                    source_name,
                    &format!("checks.{id}"),
                    "missing: give it points (0 for a warning)",
                ));
            }
        }
        let t = &cfg.timing;
        for (key, v) in [
            ("timing.startup_ms", t.startup_ms),
            ("timing.op_ms", t.op_ms),
            ("timing.large_ms", t.large_ms),
            ("timing.concurrent_ms", t.concurrent_ms),
            ("timing.exit_ms", t.exit_ms),
        ] {
            if !(1..=600_000).contains(&v) {
                return Err(invalid(
                    source_name,
                    key,
                    format!("{v} is outside 1..=600000"),
                ));
            }
        }
        if cfg.library.concurrent_clients == 0 || cfg.library.concurrent_clients > 64 {
            return Err(invalid(
                source_name,
                "library.concurrent_clients",
                "must be between 1 and 64",
            ));
        }
        if cfg.library.large_bytes > 1 << 32 {
            return Err(invalid(source_name, "library.large_bytes", "at most 4 GiB"));
        }
        if cfg.client.prompt_ends_with.trim().is_empty() {
            return Err(invalid(
                source_name,
                "client.prompt_ends_with",
                "must not be empty",
            ));
        }
        Ok(cfg)
    }

    pub fn points(&self, id: &str) -> u32 {
        self.checks.get(id).copied().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_config_is_valid_and_covers_every_check() {
        let cfg = FileserverConfig::shipped().unwrap();
        assert_eq!(cfg.checks.len(), CHECKS.len());
    }

    #[test]
    fn unknown_check_is_named() {
        let text = DEFAULT_TOML.replace("\nquit = 3", "\nquit = 3\nqiut = 1");
        let err = FileserverConfig::from_toml(&text, "x")
            .unwrap_err()
            .to_string();
        assert!(err.contains("checks.qiut"), "{err}");
    }
}
