//! Exercise configuration: the TOML files in `exercises/<name>/`, read with serde, rejected
//! with the key path and line of the first problem. The shipped file is compiled in as the
//! default; `--config FILE` replaces it.

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
