//! The file server exercise's own settings (`exercises/fileserver/exercise.toml`, less the
//! `[exercise]`, `[checks]` and `[visibility]` tables every exercise has).

use std::time::Duration;

use serde::Deserialize;

use crate::config::{invalid, parse, split, ConfigError};

/// The shipped configuration, compiled in.
pub const DEFAULT_TOML: &str = include_str!("../../../../exercises/fileserver/exercise.toml");

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileserverConfig {
    pub submission: Names,
    pub client: ClientRules,
    pub timing: Timing,
    pub library: LibrarySizes,
    pub limits: Limits,
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

impl FileserverConfig {
    pub fn shipped() -> Result<Self, ConfigError> {
        Self::from_toml(
            DEFAULT_TOML,
            "exercises/fileserver/exercise.toml (built in)",
        )
    }

    /// Parses and validates a whole configuration file (its `[checks]` and the other
    /// tables every exercise has are the driver's, and left out here).
    pub fn from_toml(text: &str, source_name: &str) -> Result<Self, ConfigError> {
        let (_, own) = split(text, source_name)?;
        let cfg: FileserverConfig = parse(&own, source_name)?;
        cfg.validate(source_name)?;
        Ok(cfg)
    }

    pub(super) fn validate(&self, source_name: &str) -> Result<(), ConfigError> {
        let cfg = self;
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
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_config_is_valid() {
        let cfg = FileserverConfig::shipped().unwrap();
        assert!(cfg.library.concurrent_clients >= 1);
    }

    #[test]
    fn a_bad_value_is_named() {
        let text = DEFAULT_TOML.replace("op_ms = ", "op_ms = 0 #");
        let err = FileserverConfig::from_toml(&text, "x")
            .unwrap_err()
            .to_string();
        assert!(err.contains("timing.op_ms"), "{err}");
    }
}
