//! `[build]`: how a submission of sources (C, a Makefile, a Cargo project) is built before it
//! is graded. Read for every exercise, like `[checks]`; the building is `grading::build`'s.

use crate::i18n::verbatim;
use crate::tr;
use serde::Deserialize;

use super::{invalid, ConfigError};

/// The build commands and what a build may use. Each command is run with `sh -c` in the
/// submission's private copy, inside the sandbox.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BuildSettings {
    /// For C sources without a Makefile, once per program: `{source}` (`bus.c`) and
    /// `{binary}` (`bus`) are replaced, shell-quoted.
    pub c: String,
    /// When the submission has a Makefile (`Makefile`, `makefile` or `GNUmakefile`).
    pub make: String,
    /// When the submission has a `Cargo.toml`; the program is then taken from
    /// `target/release/`.
    pub cargo: String,
    /// The whole build, every command included.
    pub deadline_seconds: u64,
    /// CPU time per process of the build.
    pub cpu_seconds: u64,
    /// Address space per process of the build (a compiler needs more than a program).
    pub memory_mb: u64,
}

impl Default for BuildSettings {
    fn default() -> Self {
        BuildSettings {
            c: verbatim("cc -std=gnu11 -O2 -Wall -o {binary} {source}").into(),
            make: "make".into(),
            cargo: verbatim("cargo build --release --offline").into(),
            deadline_seconds: 60,
            cpu_seconds: 60,
            memory_mb: 2048,
        }
    }
}

impl BuildSettings {
    /// Every command given, every limit at least 1.
    pub fn validate(&self, src: &str) -> Result<(), ConfigError> {
        for (key, command) in [("c", &self.c), ("make", &self.make), ("cargo", &self.cargo)] {
            if command.trim().is_empty() {
                return Err(invalid(
                    src,
                    &format!("build.{key}"),
                    tr!("must not be empty"),
                ));
            }
        }
        for (key, v) in [
            ("deadline_seconds", self.deadline_seconds),
            ("cpu_seconds", self.cpu_seconds),
            ("memory_mb", self.memory_mb),
        ] {
            if v == 0 {
                return Err(invalid(
                    src,
                    &format!("build.{key}"),
                    tr!("must be at least 1"),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(text: &str) -> toml::Table {
        text.parse().unwrap()
    }

    #[test]
    fn an_overlay_sets_a_command_and_a_bad_limit_is_named() {
        let shipped = "[exercise]\nname = \"x\"\ntitle = \"X\"\n\n[build]\nmake = \"make\"\ndeadline_seconds = 60\n\n[checks]\nbuild = 0\n";
        let merged =
            crate::config::layered(shipped, &table("[build]\nmake = \"make -j2\"\n"), "o").unwrap();
        let (scoring, own) = crate::config::split(&merged, "o").unwrap();
        assert_eq!(scoring.build.make, "make -j2");
        assert_eq!(scoring.build.deadline_seconds, 60);
        assert_eq!(
            scoring.build.c,
            BuildSettings::default().c,
            "absent keys keep their default"
        );
        assert!(!own.contains("build"), "{own}");
        let bad = crate::config::layered(shipped, &table("[build]\ndeadline_seconds = 0\n"), "o")
            .unwrap();
        let err = crate::config::split(&bad, "o")
            .unwrap()
            .0
            .validate(&["build"], "o");
        assert!(
            err.unwrap_err()
                .to_string()
                .contains("build.deadline_seconds"),
            "a zero deadline is refused"
        );
        let err = crate::config::layered(shipped, &table("[build]\nmake_command = \"x\"\n"), "o");
        assert!(err.unwrap_err().to_string().contains("build.make_command"));
    }
}
