//! The bus exercise's own settings (`exercises/bus/exercise.toml`, less the `[exercise]`,
//! `[checks]` and `[visibility]` tables every exercise has: see `config::Scoring`).

use crate::tr;
use std::time::Duration;

use serde::Deserialize;

use crate::config::{invalid, parse, split, ConfigError};
use crate::supervise::limits::RunLimits;
use crate::text::matching::{MatchPolicy, Phrase};

/// The shipped configuration, compiled in.
pub const DEFAULT_TOML: &str = include_str!("../../../../exercises/bus/exercise.toml");

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BusConfig {
    pub submission: SubmissionNames,
    pub lines: Lines,
    pub timing: Timing,
    pub limits: Limits,
    pub rules: Rules,
    pub repeat: Repeat,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubmissionNames {
    pub python_entry: String,
    pub binary_entry: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Policy {
    Normalized,
    Exact,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lines {
    pub policy: Policy,
    pub go: Line,
    pub seatbelt: Line,
    pub arrive: Line,
}

/// One expected line and the other spellings accepted for it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Line {
    pub text: String,
    #[serde(default)]
    pub also: Vec<String>,
}

impl Line {
    pub fn phrase(&self) -> Phrase {
        let mut variants = vec![self.text.clone()];
        variants.extend(self.also.iter().cloned());
        Phrase { variants }
    }
}

impl Lines {
    pub fn policy(&self) -> MatchPolicy {
        match self.policy {
            Policy::Normalized => MatchPolicy::Normalized,
            Policy::Exact => MatchPolicy::Exact,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Timing {
    pub startup_ms: u64,
    pub step_ms: u64,
    pub exit_ms: u64,
    pub quiet_ms: u64,
    pub busy_ms: u64,
    /// The longest polling period a correct program may use (a loop that sleeps between
    /// looks at its flags): a process seen waking within it may still act on a key.
    #[serde(default = "defaults::poll_ms")]
    pub poll_ms: u64,
}

impl Timing {
    pub fn startup(&self) -> Duration {
        Duration::from_millis(self.startup_ms)
    }
    pub fn step(&self) -> Duration {
        Duration::from_millis(self.step_ms)
    }
    pub fn exit(&self) -> Duration {
        Duration::from_millis(self.exit_ms)
    }
    pub fn quiet(&self) -> Duration {
        Duration::from_millis(self.quiet_ms)
    }
    pub fn busy(&self) -> Duration {
        Duration::from_millis(self.busy_ms)
    }
    pub fn poll(&self) -> Duration {
        Duration::from_millis(self.poll_ms)
    }
}

/// What a submission may use (`[limits]`). Every key but `transcript_bytes` may be left out
/// (older configs stay valid): the default is `supervise::limits::RunLimits::default()`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    pub transcript_bytes: usize,
    #[serde(default = "defaults::output_bytes")]
    pub output_bytes: u64,
    #[serde(default = "defaults::cpu_seconds")]
    pub cpu_seconds: u64,
    #[serde(default = "defaults::memory_mb")]
    pub memory_mb: u64,
    #[serde(default = "defaults::processes")]
    pub processes: u64,
    #[serde(default = "defaults::file_mb")]
    pub file_mb: u64,
    #[serde(default = "defaults::open_files")]
    pub open_files: u64,
    #[serde(default = "defaults::disk_mb")]
    pub disk_mb: u64,
    #[serde(default = "defaults::wall_seconds")]
    pub wall_seconds: u64,
}

mod defaults {
    use crate::supervise::limits::RunLimits;
    /// Polling loops of the exercise sleep 0.1-1 s.
    pub fn poll_ms() -> u64 {
        1000
    }
    fn d() -> RunLimits {
        RunLimits::default()
    }
    pub fn output_bytes() -> u64 {
        d().output_bytes
    }
    pub fn cpu_seconds() -> u64 {
        d().cpu_seconds
    }
    pub fn memory_mb() -> u64 {
        d().memory_bytes >> 20
    }
    pub fn processes() -> u64 {
        d().processes
    }
    pub fn file_mb() -> u64 {
        d().file_bytes >> 20
    }
    pub fn open_files() -> u64 {
        d().open_files
    }
    pub fn disk_mb() -> u64 {
        d().disk_bytes >> 20
    }
    pub fn wall_seconds() -> u64 {
        d().wall.as_secs()
    }
}

impl Limits {
    /// The limits the supervisor applies.
    pub fn run_limits(&self) -> RunLimits {
        RunLimits {
            cpu_seconds: self.cpu_seconds,
            memory_bytes: self.memory_mb << 20,
            processes: self.processes,
            file_bytes: self.file_mb << 20,
            open_files: self.open_files,
            disk_bytes: self.disk_mb << 20,
            output_bytes: self.output_bytes,
            wall: Duration::from_secs(self.wall_seconds),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rules {
    pub nonzero_exit_costs_points: bool,
    pub busy_cpu_share: f64,
}

/// A key of the `repeat` sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RepeatKey {
    CtrlC,
    CtrlBackslash,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Repeat {
    pub keys: Vec<RepeatKey>,
}

impl BusConfig {
    /// The shipped configuration.
    pub fn shipped() -> Result<Self, ConfigError> {
        Self::from_toml(DEFAULT_TOML, tr!("exercises/bus/exercise.toml (built in)"))
    }

    /// Parses and validates a whole configuration file (its `[checks]` and the other
    /// tables every exercise has are the driver's, and left out here).
    pub fn from_toml(text: &str, source_name: &str) -> Result<Self, ConfigError> {
        let (_, own) = split(text, source_name)?;
        let cfg: BusConfig = parse(&own, source_name)?;
        cfg.validate(source_name)?;
        Ok(cfg)
    }

    pub(super) fn validate(&self, src: &str) -> Result<(), ConfigError> {
        for (key, line) in [
            ("lines.go", &self.lines.go),
            ("lines.seatbelt", &self.lines.seatbelt),
            ("lines.arrive", &self.lines.arrive),
        ] {
            if line.text.trim().is_empty() {
                return Err(invalid(
                    src,
                    &format!("{key}.text"),
                    tr!("must not be empty"),
                ));
            }
            if self.lines.policy == Policy::Normalized
                && crate::text::matching::normalize(&line.text).is_empty()
            {
                return Err(invalid(
                    src,
                    &format!("{key}.text"),
                    tr!("is only whitespace and punctuation, which normalized matching ignores"),
                ));
            }
        }
        let t = &self.timing;
        for (key, v) in [
            ("timing.startup_ms", t.startup_ms),
            ("timing.step_ms", t.step_ms),
            ("timing.exit_ms", t.exit_ms),
            ("timing.quiet_ms", t.quiet_ms),
            ("timing.busy_ms", t.busy_ms),
            ("timing.poll_ms", t.poll_ms),
        ] {
            if !(1..=600_000).contains(&v) {
                return Err(invalid(src, key, tr!("{v} is outside 1..=600000", v = v)));
            }
        }
        if self.repeat.keys.len() < 6 {
            return Err(invalid(
                src,
                "repeat.keys",
                tr!(
                    "needs at least 6 keys, has {repeat}",
                    repeat = self.repeat.keys.len()
                ),
            ));
        }
        if !(0.0..=1.0).contains(&self.rules.busy_cpu_share) {
            return Err(invalid(
                src,
                "rules.busy_cpu_share",
                tr!("must be between 0 and 1"),
            ));
        }
        if self.limits.transcript_bytes < 1024 || self.limits.transcript_bytes > 16 << 20 {
            return Err(invalid(
                src,
                "limits.transcript_bytes",
                tr!("must be between 1024 and 16777216"),
            ));
        }
        let l = &self.limits;
        for (key, v, range) in [
            ("limits.output_bytes", l.output_bytes, 1024..=1 << 30),
            ("limits.cpu_seconds", l.cpu_seconds, 1..=3600),
            ("limits.memory_mb", l.memory_mb, 32..=1 << 20),
            ("limits.processes", l.processes, 4..=100_000),
            ("limits.file_mb", l.file_mb, 1..=1 << 20),
            ("limits.open_files", l.open_files, 16..=1 << 20),
            ("limits.disk_mb", l.disk_mb, 1..=1 << 20),
            ("limits.wall_seconds", l.wall_seconds, 1..=86_400),
        ] {
            if !range.contains(&v) {
                return Err(invalid(
                    src,
                    key,
                    tr!(
                        "{v} is outside {range}..={end}",
                        v = v,
                        range = range.start(),
                        end = range.end()
                    ),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_config_is_valid() {
        let cfg = BusConfig::shipped().unwrap();
        assert!(cfg.repeat.keys.len() >= 6);
    }

    #[test]
    fn unknown_key_is_named_with_its_path() {
        let text = DEFAULT_TOML.replace("busy_ms", "bussy_ms");
        let err = BusConfig::from_toml(&text, "x.toml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("key `timing.bussy_ms`"), "{err}");
    }

    #[test]
    fn limits_may_be_left_out_and_are_checked() {
        let text = DEFAULT_TOML.replace("wall_seconds = 120", "");
        let cfg = BusConfig::from_toml(&text, "x.toml").unwrap();
        assert_eq!(cfg.limits.wall_seconds, 120);
        let text = DEFAULT_TOML.replace("processes = 64", "processes = 1");
        let err = BusConfig::from_toml(&text, "x.toml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("limits.processes"), "{err}");
    }

    #[test]
    fn poll_period_defaults_and_is_checked() {
        let old = DEFAULT_TOML.replace("poll_ms = 1000", "");
        let cfg = BusConfig::from_toml(&old, "x.toml").unwrap();
        assert_eq!(cfg.timing.poll(), Duration::from_secs(1));
        let text = DEFAULT_TOML.replace("poll_ms = 1000", "poll_ms = 0");
        let err = BusConfig::from_toml(&text, "x.toml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("timing.poll_ms"), "{err}");
    }

    #[test]
    fn semantic_errors_name_the_key() {
        let text = DEFAULT_TOML.replace("step_ms = 5000", "step_ms = 0");
        let err = BusConfig::from_toml(&text, "x.toml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("timing.step_ms"), "{err}");
    }
}
