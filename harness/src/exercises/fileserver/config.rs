//! The file server exercise's own settings (`exercises/fileserver/exercise.toml`, less the
//! `[exercise]`, `[checks]` and `[visibility]` tables every exercise has).

use std::time::Duration;

use serde::Deserialize;

use super::policy::{Policy, PolicyOverrides};
use crate::config::{invalid, parse, split, ConfigError};

/// The shipped configuration, compiled in.
pub const DEFAULT_TOML: &str = include_str!("../../../../exercises/fileserver/exercise.toml");

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileserverConfig {
    pub submission: Names,
    pub server: ServerRules,
    pub client: ClientRules,
    pub timing: Timing,
    pub library: LibrarySizes,
    pub limits: Limits,
    /// Pair mode: the student's client against the student's own server.
    pub pair: PairRules,
    /// What the course requires beyond its protocol, where it differs from its dialect's.
    #[serde(default)]
    pub policy: PolicyOverrides,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Names {
    pub server_python: String,
    pub server_binary: String,
    pub client_python: String,
    pub client_binary: String,
}

/// How the server is started and where the course puts its library (`[server]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerRules {
    /// The arguments after the program; `{port}` and `{library}` are filled in.
    pub args: Vec<String>,
    /// The readiness line (`{port}`: the port found); empty when none is asked for.
    pub ready_line: String,
    /// The path the course hard-codes for the library; empty for a fresh directory.
    pub library: String,
    pub uploads: Uploads,
    /// The protocol the server checks speak: a shipped dialect's name, or a table laid over
    /// one (see `dialect`).
    pub dialect: toml::Value,
}

/// Where a server stores uploads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Uploads {
    Library,
    /// The server's working directory.
    Workdir,
}

impl ServerRules {
    /// The dialect the server checks speak (checked by `validate`; the exact protocol if
    /// it could not be resolved).
    pub fn dialect(&self) -> std::sync::Arc<crate::net::dialect::Dialect> {
        super::dialect::resolve(&self.dialect, "config")
            .or_else(|_| super::dialect::resolve(&toml::Value::String("exact".into()), "config"))
            .expect("the shipped exact dialect is valid")
    }

    /// Whether the arguments hand the server a port.
    pub fn gives_port(&self) -> bool {
        self.args.iter().any(|a| a.contains("{port}"))
    }

    /// The configured library path when it is a Windows path (`D:\...`, `C:/...`): it
    /// cannot exist on Linux.
    pub fn windows_library(&self) -> bool {
        let b = self.library.as_bytes();
        self.library.contains('\\') || (b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':')
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientRules {
    pub prompt_ends_with: String,
    /// The arguments after the program; `{host}` and `{port}` are filled in.
    pub args: Vec<String>,
    /// The reference server's port: 0 for a free one.
    pub port: u16,
    /// What is typed for each action.
    pub menu: Menu,
}

/// The client's menu (`[client.menu]`): what the grader types for each action, and where
/// a file name goes. The default is the exercise's own `list`, `get NAME`, `put NAME`, `quit`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Menu {
    pub list: String,
    pub get: String,
    pub put: String,
    pub quit: String,
    pub name: NamePlace,
    /// The prompt asking for a name ends with this (trailing spaces ignored), when the
    /// name is asked for.
    pub name_prompt_ends_with: String,
    /// What a download is asked by (older configs have no such key: by name).
    #[serde(default)]
    pub get_by: GetBy,
}

/// What the grader types to download a file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GetBy {
    /// Its name.
    #[default]
    Name,
    /// Its number in the reference server's numbered listing (a numbered dialect's client
    /// whose user picks a file by number).
    Number,
}

/// Where the file name of `get` and `put` goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NamePlace {
    /// On the action's line: `get hello.txt`.
    Line,
    /// Typed at a second prompt the client shows after the action.
    Prompt,
}

/// Pair mode (`[pair]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PairRules {
    pub mode: PairMode,
}

/// When the pair checks run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PairMode {
    /// Never: the report has no pair checks.
    Off,
    /// After the server and client checks.
    Also,
    /// Instead of them: for a course whose protocol the grader is not told.
    Only,
}

impl PairMode {
    /// Whether the server and client checks run.
    pub fn parts_graded(self) -> bool {
        self != PairMode::Only
    }

    /// Whether the pair checks run.
    pub fn pair_graded(self) -> bool {
        self != PairMode::Off
    }
}

/// `template` with each `{key}` replaced by its value (unknown braces stay as they are).
pub fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut s = template.to_string();
    for (k, v) in values {
        s = s.replace(&format!("{{{k}}}"), v);
    }
    s
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
    /// What the course requires beyond its protocol: its dialect's policy, with the keys of
    /// `[policy]` laid over it (checked by `validate`; the exact protocol's when the
    /// dialect's could not be read).
    pub fn policy(&self) -> Policy {
        super::dialect::policy(&self.server.dialect, "config")
            .unwrap_or(Policy::STRICT)
            .overridden(&self.policy)
    }

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
        for (key, args, known) in [
            ("server.args", &cfg.server.args, &["port", "library"][..]),
            ("client.args", &cfg.client.args, &["host", "port"][..]),
        ] {
            if let Some(bad) = args.iter().find_map(|a| unknown_placeholder(a, known)) {
                return Err(invalid(
                    source_name,
                    key,
                    format!(
                        "unknown placeholder {{{bad}}} (known: {})",
                        known.join(", ")
                    ),
                ));
            }
        }
        if let Some(bad) = unknown_placeholder(&cfg.server.ready_line, &["port"]) {
            return Err(invalid(
                source_name,
                "server.ready_line",
                format!("unknown placeholder {{{bad}}} (known: port)"),
            ));
        }
        if cfg.server.library.contains('\0') {
            return Err(invalid(source_name, "server.library", "holds a NUL byte"));
        }
        let dialect = super::dialect::resolve(&cfg.server.dialect, source_name)?;
        super::dialect::policy(&cfg.server.dialect, source_name)?;
        let ids: Vec<&str> = super::server_checks::table()
            .iter()
            .map(|c| c.doc.id)
            .collect();
        if let Some(bad) = dialect
            .not_in_protocol
            .keys()
            .find(|k| !ids.contains(&k.as_str()))
        {
            return Err(invalid(
                source_name,
                &format!("server.dialect.not_in_protocol.{bad}"),
                "not a server check",
            ));
        }
        if cfg.client.prompt_ends_with.trim().is_empty() {
            return Err(invalid(
                source_name,
                "client.prompt_ends_with",
                "must not be empty",
            ));
        }
        let menu = &cfg.client.menu;
        for (key, word) in [
            ("client.menu.list", &menu.list),
            ("client.menu.get", &menu.get),
            ("client.menu.put", &menu.put),
            ("client.menu.quit", &menu.quit),
        ] {
            if word.trim().is_empty() || word.contains(['\n', '\r']) {
                return Err(invalid(
                    source_name,
                    key,
                    "must be a word or a number on one line",
                ));
            }
        }
        if menu.name == NamePlace::Prompt && menu.name_prompt_ends_with.trim().is_empty() {
            return Err(invalid(
                source_name,
                "client.menu.name_prompt_ends_with",
                "must not be empty when the name is asked for at a prompt",
            ));
        }
        if menu.get_by == GetBy::Number && !dialect.list.numbered {
            return Err(invalid(
                source_name,
                "client.menu.get_by",
                "\"number\" needs a dialect with a numbered listing (list.numbered = true)",
            ));
        }
        Ok(())
    }
}

/// The first `{name}` in `text` whose name is not `known`.
fn unknown_placeholder(text: &str, known: &[&str]) -> Option<String> {
    let mut rest = text;
    while let Some(i) = rest.find('{') {
        let after = &rest[i + 1..];
        let Some(j) = after.find('}') else { break };
        let name = &after[..j];
        if !name.is_empty()
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !known.contains(&name)
        {
            return Some(name.to_string());
        }
        rest = &after[j + 1..];
    }
    None
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

    #[test]
    fn argument_templates_are_filled_and_checked() {
        assert_eq!(
            fill("{host}:{port}", &[("host", "127.0.0.1"), ("port", "8888")]),
            "127.0.0.1:8888"
        );
        let text =
            DEFAULT_TOML.replace(r#"args = ["{port}", "{library}"]"#, r#"args = ["{prot}"]"#);
        let err = FileserverConfig::from_toml(&text, "x")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("server.args") && err.contains("{prot}"),
            "{err}"
        );
    }

    #[test]
    fn downloads_by_number_need_a_numbered_dialect_and_no_pair_mode() {
        assert_eq!(
            FileserverConfig::shipped().unwrap().client.menu.get_by,
            GetBy::Name
        );
        let by_number = DEFAULT_TOML.replace(r#"get_by = "name""#, r#"get_by = "number""#);
        let err = FileserverConfig::from_toml(&by_number, "x")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("client.menu.get_by") && err.contains("numbered"),
            "{err}"
        );
        let numbered = by_number.replace(r#"dialect = "exact""#, r#"dialect = "numbered""#);
        assert_ne!(numbered, by_number, "the shipped config names its dialect");
        let cfg = FileserverConfig::from_toml(&numbered, "x").unwrap();
        assert_eq!(cfg.client.menu.get_by, GetBy::Number);
        // Pair mode reads the numbers from the student's server's listing.
        let paired = numbered.replace(r#"mode = "off""#, r#"mode = "also""#);
        assert_ne!(paired, numbered, "the shipped config names its pair mode");
        let cfg = FileserverConfig::from_toml(&paired, "x").unwrap();
        assert!(cfg.pair.mode.pair_graded());
    }

    #[test]
    fn the_menu_defaults_to_the_exercise_s_words_and_is_checked() {
        let cfg = FileserverConfig::shipped().unwrap();
        let m = &cfg.client.menu;
        assert_eq!(
            (&*m.list, &*m.get, &*m.put, &*m.quit, m.name),
            ("list", "get", "put", "quit", NamePlace::Line)
        );
        assert_eq!(cfg.pair.mode, PairMode::Off);
        let text = DEFAULT_TOML
            .replace(r#"name = "line""#, r#"name = "prompt""#)
            .replace(
                r#"name_prompt_ends_with = ":""#,
                r#"name_prompt_ends_with = " ""#,
            );
        let err = FileserverConfig::from_toml(&text, "x")
            .unwrap_err()
            .to_string();
        assert!(err.contains("client.menu.name_prompt_ends_with"), "{err}");
        let text = DEFAULT_TOML.replace(r#"get = "get""#, r#"get = """#);
        let err = FileserverConfig::from_toml(&text, "x")
            .unwrap_err()
            .to_string();
        assert!(err.contains("client.menu.get"), "{err}");
    }

    #[test]
    fn windows_paths_are_told_apart() {
        let mut s = FileserverConfig::shipped().unwrap().server;
        for (path, windows) in [
            (r"D:\ftp\files\", true),
            ("C:/ftp/", true),
            ("/home/tarena/ftp/", false),
            ("../../day07/code/", false),
        ] {
            s.library = path.into();
            assert_eq!(s.windows_library(), windows, "{path}");
        }
    }
}
