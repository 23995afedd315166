//! The course's policy: what it requires beyond its protocol. The exact protocol of the
//! exercise's README asks for more than most courses do (status 0 on SIGTERM, atomic
//! replacement, no partial file from a cut-off upload, a handler that ends with its client,
//! no symbolic link listed, a client that quits with status 0); a course's dialect asks for
//! less, and that is its right. Each shipped dialect says what its course asks
//! (`[policy]` in `exercises/fileserver/dialects/*.toml`), and a config's own `[policy]`
//! table overrides it key by key. What a check sees beyond the policy is reported as a note
//! worth nothing, never hidden and never failed.

use crate::tr;
use serde::Deserialize;

use crate::config::{invalid, parse, ConfigError};

/// How the server may end on SIGTERM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Sigterm {
    /// It exits with status 0 (the exact protocol's requirement).
    #[serde(rename = "exit-0")]
    Exit0,
    /// Killed by SIGTERM's default action is a clean end too.
    DefaultAction,
}

/// How an upload replaces a file that exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Replace {
    /// Atomically: a cut-off upload leaves the old file whole, downloads see the old file.
    Atomic,
    /// In place (`open(path, 'wb')`): the old file is truncated when the upload starts.
    InPlace,
}

/// How the client must end on its quit command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClientQuit {
    /// With status 0, on quit and on end of input alike.
    #[serde(rename = "status-0")]
    Status0,
    /// With any status once it said goodbye (`sys.exit("再见")` ends with 1), but not by a
    /// crash; how it takes end of input is noted, not judged.
    AnyStatus,
}

/// What a cut-off upload of a new file may leave.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PartialUploads {
    /// Nothing: the partial file is removed (or never had the name).
    Removed,
    /// The partial file under its name (a `##`-framed upload cannot tell a cut from an end).
    Kept,
}

/// What a handler must do when its client vanishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum VanishedClient {
    /// End: close the connection (a receive of nothing is the end of the client).
    Closed,
    /// Spinning on the closed connection is not judged (the course's own code does it).
    MaySpin,
}

/// Whether a symbolic link in the library may be listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Links {
    /// Regular files only (`os.path.isfile and not os.path.islink`).
    NotListed,
    /// As `os.path.isfile` does (it follows links); serving one that leaves the library is
    /// still `traversal`'s fault.
    Listed,
}

/// What the course requires beyond its protocol, every key settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    pub sigterm: Sigterm,
    pub replace: Replace,
    pub client_quit: ClientQuit,
    pub partial_uploads: PartialUploads,
    pub vanished_client: VanishedClient,
    pub links: Links,
}

/// A config's `[policy]`: each key it names overrides the dialect's.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyOverrides {
    pub sigterm: Option<Sigterm>,
    pub replace: Option<Replace>,
    pub client_quit: Option<ClientQuit>,
    pub partial_uploads: Option<PartialUploads>,
    pub vanished_client: Option<VanishedClient>,
    pub links: Option<Links>,
}

impl Policy {
    /// The exact protocol's: everything the exercise's README asks.
    pub const STRICT: Policy = Policy {
        sigterm: Sigterm::Exit0,
        replace: Replace::Atomic,
        client_quit: ClientQuit::Status0,
        partial_uploads: PartialUploads::Removed,
        vanished_client: VanishedClient::Closed,
        links: Links::NotListed,
    };

    /// A dialect file's `[policy]` table (every key), named `source` in errors.
    pub fn from_table(table: toml::Table, source: &str) -> Result<Policy, ConfigError> {
        let text = toml::to_string(&table).map_err(|e| invalid(source, "policy", e))?;
        parse(&text, source).map_err(|mut e| {
            e.key = Some(match e.key.take() {
                Some(k) => format!("policy.{k}"),
                None => "policy".into(),
            });
            e.at = None;
            e
        })
    }

    /// This policy with the keys `o` names laid over it.
    pub fn overridden(self, o: &PolicyOverrides) -> Policy {
        Policy {
            sigterm: o.sigterm.unwrap_or(self.sigterm),
            replace: o.replace.unwrap_or(self.replace),
            client_quit: o.client_quit.unwrap_or(self.client_quit),
            partial_uploads: o.partial_uploads.unwrap_or(self.partial_uploads),
            vanished_client: o.vanished_client.unwrap_or(self.vanished_client),
            links: o.links.unwrap_or(self.links),
        }
    }

    /// Each key and its value as a config writes them, for `harness explain`.
    pub fn shown(&self) -> String {
        let v = |x: &dyn std::fmt::Debug| kebab(&format!("{x:?}"));
        [
            ("sigterm", v(&self.sigterm)),
            ("replace", v(&self.replace)),
            ("client_quit", v(&self.client_quit)),
            ("partial_uploads", v(&self.partial_uploads)),
            ("vanished_client", v(&self.vanished_client)),
            ("links", v(&self.links)),
        ]
        .map(|(key, value)| format!("{key} = \"{value}\""))
        .join(", ")
    }
}

/// How the course's policy changes check `id`, for `harness explain --config`: the keys
/// that bear on it, their values here, and what they mean.
pub fn explain(p: &Policy, id: &str) -> Option<String> {
    // `key = "value" (meaning)`: a config's syntax, the meaning in the course's language.
    let says = |key: &str, value: &str, meaning: &str| {
        [key, " = \"", value, "\" (", meaning, ")"].concat()
    };
    let sigterm = match p.sigterm {
        Sigterm::Exit0 => says(
            "sigterm",
            "exit-0",
            tr!("SIGTERM must end the server with status 0"),
        ),
        Sigterm::DefaultAction => says(
            "sigterm",
            "default-action",
            tr!("killed by SIGTERM is a clean end; zombies and leftovers still fail"),
        ),
    };
    let replace = match p.replace {
        Replace::Atomic => says(
            "replace",
            "atomic",
            tr!(
                "a cut-off upload must leave the old file whole; concurrent's stalled upload \
             replaces the file the others download"
            ),
        ),
        Replace::InPlace => says(
            "replace",
            "in-place",
            tr!(
                "a file damaged by a cut-off upload replacing it is noted; concurrent's stalled \
             upload writes a file of its own"
            ),
        ),
    };
    let partial = match p.partial_uploads {
        PartialUploads::Removed => says(
            "partial_uploads",
            "removed",
            tr!("a cut-off upload must leave no file"),
        ),
        PartialUploads::Kept => says(
            "partial_uploads",
            "kept",
            tr!("the part a cut-off upload leaves under its name is noted"),
        ),
    };
    let vanished = match p.vanished_client {
        VanishedClient::Closed => says(
            "vanished_client",
            "closed",
            tr!("a handler must end when its client vanishes"),
        ),
        VanishedClient::MaySpin => says(
            "vanished_client",
            "may-spin",
            tr!("a handler left receiving nothing forever is noted, and the grader stops it"),
        ),
    };
    let links = match p.links {
        Links::NotListed => says(
            "links",
            "not-listed",
            tr!("a symbolic link must not be listed"),
        ),
        Links::Listed => says(
            "links",
            "listed",
            tr!(
                "a listed link is noted; serving one that leads out of the library is \
             traversal's fault"
            ),
        ),
    };
    let quit = match p.client_quit {
        ClientQuit::Status0 => says(
            "client_quit",
            "status-0",
            tr!("quit and end of input must end the client with status 0"),
        ),
        ClientQuit::AnyStatus => says(
            "client_quit",
            "any-status",
            tr!(
                "quit may end the client with any status but a crash; another status, and how \
             it takes end of input, are noted"
            ),
        ),
    };
    let keys = match id {
        "list" => vec![links],
        "concurrent" => vec![replace],
        "disconnect" => vec![replace, partial, vanished],
        "cleanup" => vec![sigterm, vanished],
        "client-quit" | "pair-quit" => vec![quit],
        _ => return None,
    };
    Some(tr!(
        "This config's policy (its dialect's, with [policy] laid over it): {keys}. What is seen \
         beyond it is reported as a note worth no points.",
        keys = keys.join(tr!("; "))
    ))
}

/// `ExitZero`-style names as a config spells them (`exit-0`, `in-place`).
fn kebab(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if i > 0 && (c.is_ascii_uppercase() || c.is_ascii_digit()) {
            out.push('-');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// A note for what a check saw beyond the policy: what was seen, and the key that makes it
/// worth nothing here (`seen`: a sentence without its full stop).
pub fn beyond(seen: &str, key: &str, value: &str) -> String {
    tr!(
        "{seen}: not required by this course ([policy] {key} = \"{value}\"), worth no points",
        seen = seen,
        key = key,
        value = value
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_shown_as_a_config_writes_them() {
        assert_eq!(
            Policy::STRICT.shown(),
            "sigterm = \"exit-0\", replace = \"atomic\", client_quit = \"status-0\", \
             partial_uploads = \"removed\", vanished_client = \"closed\", links = \"not-listed\""
        );
        let lenient = Policy::STRICT.overridden(&PolicyOverrides {
            sigterm: Some(Sigterm::DefaultAction),
            client_quit: Some(ClientQuit::AnyStatus),
            vanished_client: Some(VanishedClient::MaySpin),
            ..Default::default()
        });
        let shown = lenient.shown();
        assert!(shown.contains("sigterm = \"default-action\""), "{shown}");
        assert!(shown.contains("client_quit = \"any-status\""), "{shown}");
        assert!(shown.contains("vanished_client = \"may-spin\""), "{shown}");
        assert!(shown.contains("replace = \"atomic\""), "{shown}");
    }

    #[test]
    fn a_bad_value_names_its_key() {
        let t: toml::Table = toml::from_str(
            "sigterm = \"exit0\"\nreplace = \"atomic\"\nclient_quit = \"status-0\"\n\
             partial_uploads = \"removed\"\nvanished_client = \"closed\"\nlinks = \"listed\"\n",
        )
        .unwrap();
        let err = Policy::from_table(t, "d").unwrap_err();
        assert_eq!(err.key.as_deref(), Some("policy.sigterm"), "{err}");
    }
}
