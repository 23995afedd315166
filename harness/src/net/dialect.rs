//! A protocol dialect as data: the words a course's file protocol uses and how its replies
//! are framed (see `exercises/fileserver/dialects/` and the exercise README). The exact
//! protocol of the README is one dialect among others; the course's legacy protocols frame
//! messages by pauses (each `send` is one message, read by one `recv(1024)`) and end data
//! with a marker (`##`) sent as its own message. Which dialect a grading speaks is the
//! exercise's config; this module only describes one and checks that it is coherent.

use crate::tr;
use std::collections::BTreeMap;

use serde::Deserialize;

pub use super::listing::{split_listing, unglue};

/// One command: a single message, or several sent one after the other (a two-step command
/// whose argument is a second message).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum Messages {
    One(String),
    Many(Vec<String>),
}

impl Messages {
    pub fn parts(&self) -> &[String] {
        match self {
            Messages::One(s) => std::slice::from_ref(s),
            Messages::Many(v) => v,
        }
    }
}

/// How the grader's messages reach the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Framing {
    /// Each request is one line ending in `\n`; data follows at once (the exact protocol).
    Lines,
    /// Each message is its own send, and the next one waits until the server has read it
    /// (what a client that sleeps between sends relies on).
    Sends,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Commands {
    pub list: Messages,
    pub get: Messages,
    pub put: Messages,
    pub quit: Messages,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Replies {
    /// What accepts a request (`OK`, `ok`, `Y`).
    pub ok: String,
    /// How a refusal starts (`ERR`); "" when any other reply refuses.
    pub error: String,
    /// A course whose accepting word differs by command (`ok` to list and get, `OK` to
    /// put): the word for `list`, `get` or `put`, over `ok`.
    #[serde(default)]
    pub ok_for: BTreeMap<String, String>,
}

/// A command the server accepts with an OK word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accepting {
    List,
    Get,
    Put,
}

impl Accepting {
    /// Its key in `[replies.ok_for]`.
    pub fn key(self) -> &'static str {
        match self {
            Accepting::List => "list",
            Accepting::Get => "get",
            Accepting::Put => "put",
        }
    }

    const ALL: [Accepting; 3] = [Accepting::List, Accepting::Get, Accepting::Put];
}

impl Replies {
    /// The word that accepts `command`.
    pub fn ok_to(&self, command: Accepting) -> &str {
        self.ok_for.get(command.key()).unwrap_or(&self.ok)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ListFraming {
    /// `OK <n>`, then n lines (the exact protocol).
    Count,
    /// Names joined by a separator and/or sent one per send, until an end marker or a
    /// quiet gap.
    Entries,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListRules {
    pub framing: ListFraming,
    /// The listing comes after the OK word.
    pub ok: bool,
    /// Between names ("" = none: one send per name).
    pub separator: String,
    /// Each name is its own send (a pause between them).
    pub per_send: bool,
    /// Sent after the last name ("" = none: a quiet gap ends the listing).
    pub end: String,
    /// Entries read `1:name`; a download asks for the number (`{number}`).
    pub numbered: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DataFraming {
    /// `OK <size>` on a line, then exactly size bytes (the exact protocol's download).
    SizeLine,
    /// The data, then the end marker as its own send.
    Marker,
    /// The OK word and the size (`Y 1234`), then exactly size bytes.
    Length,
    /// The size is in the command (`P {size} {name}`); exactly size bytes follow.
    Size,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DownloadRules {
    pub framing: DataFraming,
    /// The OK word comes before the data (glued to it or not).
    pub ok: bool,
    /// The end marker (`marker` framing).
    pub end: String,
}

/// What a dialect asks of an upload under a name that exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Replace {
    Required,
    Refused,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UploadRules {
    pub framing: DataFraming,
    /// The server answers the OK word before the data comes.
    pub ok: bool,
    /// The end marker the grader sends as its own message (`marker` framing).
    pub end: String,
    /// The server answers once the file is stored.
    pub final_reply: bool,
    pub replace: Replace,
}

/// A file protocol, as a course speaks it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dialect {
    /// The shipped dialect this one starts from (inline dialects; see the exercise).
    #[serde(default)]
    pub base: Option<String>,
    pub title: String,
    pub messages: Framing,
    /// A reply without an end marker ends when nothing more arrives for this long after
    /// its last byte.
    pub quiet_ms: u64,
    pub commands: Commands,
    pub replies: Replies,
    pub list: ListRules,
    pub download: DownloadRules,
    pub upload: UploadRules,
    /// Checks the course's protocol cannot carry, with why: skipped, worth nothing.
    #[serde(default)]
    pub not_in_protocol: BTreeMap<String, String>,
}

/// The placeholders a command may use.
pub const PLACEHOLDERS: &[&str] = &["name", "size", "number"];

impl Dialect {
    /// The exact protocol of the README: every reply is a line, sizes say where data ends.
    pub fn is_exact(&self) -> bool {
        self.messages == Framing::Lines
    }

    /// The end markers of the data this dialect frames by marker: generated files hold
    /// none of them (see [`Markers`](super::transfer::Markers)).
    pub fn data_markers(&self) -> super::transfer::Markers {
        let marked = |framing: DataFraming, end: &str| {
            (framing == DataFraming::Marker).then(|| end.to_string())
        };
        super::transfer::Markers::new(
            [
                marked(self.download.framing, &self.download.end),
                marked(self.upload.framing, &self.upload.end),
            ]
            .into_iter()
            .flatten(),
        )
    }

    pub fn quiet(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.quiet_ms)
    }

    /// Why the dialect cannot be spoken, with the key at fault.
    pub fn problem(&self) -> Option<(&'static str, String)> {
        let lines = self.messages == Framing::Lines;
        if lines
            && (self.list.framing != ListFraming::Count
                || self.download.framing != DataFraming::SizeLine
                || self.upload.framing != DataFraming::Size
                || !self.upload.final_reply
                || !self.upload.ok)
        {
            return Some((
                "messages",
                tr!("\"lines\" is the exact protocol: list framing \"count\", download \"size-line\", \
                 upload \"size\" with ok and final_reply")
                .into(),
            ));
        }
        if lines
            && (self.replies.ok != "OK"
                || self.replies.error != "ERR"
                || Accepting::ALL
                    .iter()
                    .any(|c| self.replies.ok_to(*c) != "OK"))
        {
            return Some((
                "replies",
                tr!("\"lines\" (the exact protocol) answers OK and ERR").into(),
            ));
        }
        if !lines && self.list.framing == ListFraming::Count {
            return Some((
                "list.framing",
                tr!("\"count\" needs messages = \"lines\"").into(),
            ));
        }
        if !lines && self.download.framing == DataFraming::SizeLine {
            return Some((
                "download.framing",
                tr!("\"size-line\" needs messages = \"lines\"").into(),
            ));
        }
        if self.download.framing == DataFraming::Size {
            return Some((
                "download.framing",
                tr!("\"size\" is for uploads: use \"length\" or \"marker\"").into(),
            ));
        }
        if matches!(
            self.upload.framing,
            DataFraming::SizeLine | DataFraming::Length
        ) {
            return Some((
                "upload.framing",
                tr!("an upload is \"size\" (the size in the command) or \"marker\"").into(),
            ));
        }
        for (key, framing, end) in [
            ("download.end", self.download.framing, &self.download.end),
            ("upload.end", self.upload.framing, &self.upload.end),
        ] {
            if framing == DataFraming::Marker && end.is_empty() {
                return Some((key, tr!("the marker framing needs an end marker").into()));
            }
        }
        if self.upload.framing == DataFraming::Size
            && !self
                .commands
                .put
                .parts()
                .iter()
                .any(|p| p.contains("{size}"))
        {
            return Some((
                "commands.put",
                tr!("the \"size\" framing needs {size} in the command").into(),
            ));
        }
        if self.replies.ok.is_empty() {
            return Some(("replies.ok", tr!("must not be empty").into()));
        }
        for (key, word) in &self.replies.ok_for {
            if !Accepting::ALL.iter().any(|c| c.key() == key) {
                return Some((
                    "replies.ok_for",
                    crate::tr!(
                        "\"{key}\" is not a command that is accepted: list, get or put",
                        key = key
                    ),
                ));
            }
            if word.is_empty() {
                return Some((
                    "replies.ok_for",
                    crate::tr!("{key}: must not be empty", key = key),
                ));
            }
        }
        if self.length_ok_conflict() {
            return Some((
                "download.ok",
                tr!("the \"length\" framing starts with the OK word and the size: ok = true")
                    .into(),
            ));
        }
        if !self.download.ok && self.replies.error.is_empty() {
            return Some((
                "replies.error",
                tr!("a download without OK needs the start of a refusal to tell it from data")
                    .into(),
            ));
        }
        if self.list.framing == ListFraming::Entries
            && self.list.separator.is_empty()
            && !self.list.per_send
        {
            return Some((
                "list.separator",
                tr!("names need a separator, or per_send = true").into(),
            ));
        }
        if self
            .commands
            .get
            .parts()
            .iter()
            .any(|p| p.contains("{number}"))
            && !self.list.numbered
        {
            return Some((
                "commands.get",
                tr!("{number} needs a numbered listing (list.numbered = true)").into(),
            ));
        }
        if !(1..=10_000).contains(&self.quiet_ms) {
            return Some((
                "quiet_ms",
                tr!("{quiet_ms} is outside 1..=10000", quiet_ms = self.quiet_ms),
            ));
        }
        for (key, m) in [
            ("commands.list", &self.commands.list),
            ("commands.get", &self.commands.get),
            ("commands.put", &self.commands.put),
            ("commands.quit", &self.commands.quit),
        ] {
            if m.parts().is_empty() || m.parts().iter().any(|p| p.is_empty()) {
                return Some((key, tr!("a message may not be empty").into()));
            }
            if let Some(bad) = m.parts().iter().find_map(|p| unknown(p)) {
                return Some((
                    key,
                    tr!(
                        "unknown placeholder {{{bad}}} (known: {known})",
                        bad = bad,
                        known = PLACEHOLDERS.join(", ")
                    ),
                ));
            }
        }
        None
    }

    fn length_ok_conflict(&self) -> bool {
        self.download.framing == DataFraming::Length && !self.download.ok
    }

    /// The messages of command `m` with its placeholders filled.
    pub fn fill(m: &Messages, name: &str, size: u64, number: Option<usize>) -> Vec<String> {
        let number =
            number.map_or_else(|| tr!("<number of {name}>", name = name), |n| n.to_string());
        m.parts()
            .iter()
            .map(|p| {
                p.replace("{name}", name)
                    .replace("{size}", &size.to_string())
                    .replace("{number}", &number)
            })
            .collect()
    }

    /// How a report shows a command: its messages, ` + ` between two sends. The exact
    /// protocol's `G hello.txt` shows as it always has.
    pub fn show(m: &Messages, name: &str, size: u64) -> String {
        Dialect::fill(m, name, size, None)
            .iter()
            .map(|s| crate::text::escape::one_line(s.trim_end_matches('\n').as_bytes()))
            .collect::<Vec<_>>()
            .join(" + ")
    }

    pub fn show_get(&self, name: &str) -> String {
        Dialect::show(&self.commands.get, name, 0)
    }

    pub fn show_put(&self, name: &str, size: u64) -> String {
        Dialect::show(&self.commands.put, name, size)
    }

    pub fn show_list(&self) -> String {
        Dialect::show(&self.commands.list, "", 0)
    }

    pub fn show_quit(&self) -> String {
        Dialect::show(&self.commands.quit, "", 0)
    }

    /// How a report shows the download of `name` as sent: a numbered dialect's command
    /// with the number it sent (`G + 3 (hello.txt)`; `G + 8 (x is not listed)` for a name
    /// the listing lacks, asked for by the number one past its end), or with
    /// `<number of name>` when no number was looked up.
    pub fn show_get_sent(&self, name: &str, number: Option<(usize, bool)>) -> String {
        let Some((n, listed)) = number else {
            return self.show_get(name);
        };
        let shown = Dialect::fill(&self.commands.get, name, 0, Some(n))
            .iter()
            .map(|s| crate::text::escape::one_line(s.trim_end_matches('\n').as_bytes()))
            .collect::<Vec<_>>()
            .join(" + ");
        let name = crate::text::escape::one_line(name.as_bytes());
        if listed {
            format!("{shown} ({name})")
        } else {
            tr!("{shown} ({name} is not listed)", shown = shown, name = name)
        }
    }

    /// Whether a download asks for a file by its number in the listing.
    pub fn numbered_get(&self) -> bool {
        self.commands
            .get
            .parts()
            .iter()
            .any(|p| p.contains("{number}"))
    }

    /// Whether the commands and replies are the exact protocol's (`L`, `G name`,
    /// `P size name`, `Q`, `OK`, `ERR`): then reports word things as they always have.
    pub fn speaks_exact_words(&self) -> bool {
        let exact = [
            ("L", &self.commands.list),
            ("G {name}", &self.commands.get),
            ("P {size} {name}", &self.commands.put),
            ("Q", &self.commands.quit),
        ];
        exact.iter().all(|(w, m)| m.parts() == [w.to_string()])
            && Accepting::ALL
                .iter()
                .all(|c| self.replies.ok_to(*c) == "OK")
            && self.replies.error == "ERR"
    }

    /// The first word of command `m`, for short mentions (`client 3 (G)`, `the reply to
    /// DOWNLOAD`).
    pub fn word(m: &Messages) -> String {
        let first = m.parts().first().map(String::as_str).unwrap_or("");
        let word = first.split_whitespace().next().unwrap_or(first);
        // A template without a space (`g{name}`): the word is what comes before the name.
        match word.find('{') {
            Some(0) | None => word.to_string(),
            Some(i) => word[..i].to_string(),
        }
    }

    /// How documentation shows command `m`: its messages with their placeholders named
    /// (`U + <size> <name>`, `U + <name> <size>`, `G + <number>`).
    pub fn show_template(m: &Messages) -> String {
        m.parts()
            .iter()
            .map(|p| {
                let p = p
                    .replace("{name}", "<name>")
                    .replace("{size}", "<size>")
                    .replace("{number}", "<number>");
                crate::text::escape::one_line(p.trim_end_matches('\n').as_bytes())
            })
            .collect::<Vec<_>>()
            .join(" + ")
    }

    /// The accepting words, as documentation shows them: `OK`, or `ok (OK to put)` for a
    /// course whose word differs by command.
    pub fn show_ok(&self) -> String {
        let other: Vec<String> = Accepting::ALL
            .iter()
            .filter(|c| self.replies.ok_to(**c) != self.replies.ok)
            .map(|c| format!("{} to {}", self.replies.ok_to(*c), c.key()))
            .collect();
        if other.is_empty() {
            self.replies.ok.clone()
        } else {
            format!("{} ({})", self.replies.ok, other.join(", "))
        }
    }

    /// How a report names the refusal this protocol answers: its word (`ERR`, `N`), or "a
    /// refusal" when any reply but the OK word refuses.
    pub fn refusal(&self) -> String {
        if self.replies.error.is_empty() {
            tr!("a refusal").into()
        } else {
            self.replies.error.clone()
        }
    }

    /// The refusal as a noun after "the" (`the ERR`, `the refusal`).
    pub fn the_refusal(&self) -> String {
        if self.replies.error.is_empty() {
            tr!("the refusal").into()
        } else {
            tr!("the {error}", error = self.replies.error)
        }
    }

    /// A refusal received with `reason` (what followed the error word, or the whole reply
    /// when the protocol has no such word), as a report says it: `refused with ERR <reason>`,
    /// `refused: "<reply>"`.
    pub fn refused(&self, reason: &str) -> String {
        let other_ok = self.other_ok_word(reason);
        let reason = crate::text::escape::one_line(reason.as_bytes());
        let refused = match self.replies.error.as_str() {
            "" if reason.is_empty() => tr!("refused").into(),
            "" => tr!("refused: \"{reason}\"", reason = reason),
            word => tr!("refused with {word} {reason}", word = word, reason = reason),
        };
        match other_ok {
            Some(ok) => crate::tr!(
                "{refused} (an accepting word, but not the one this dialect expects here, {ok}: \
                 a course that accepts some commands with another word says so in \
                 [server.dialect.replies.ok_for])",
                refused = refused,
                ok = ok
            ),
            None => refused,
        }
    }

    /// Whether a reply taken for a refusal is an accepting word all the same (`OK` where
    /// the dialect says `ok`): the word this dialect expected, to name in a hint.
    fn other_ok_word(&self, reply: &str) -> Option<String> {
        let reply = reply.trim();
        let mut words = std::iter::once(self.replies.ok.as_str())
            .chain(Accepting::ALL.iter().map(|c| self.replies.ok_to(*c)));
        words
            .any(|w| reply.eq_ignore_ascii_case(w))
            .then(|| self.show_ok())
    }

    /// What a download that was answered with `n` bytes of data was answered, as a report
    /// says it: `OK 28` (the exact protocol, or `Y 28`), `OK and 28 bytes`, `28 bytes of data`
    /// (no OK before the data).
    pub fn answered_data(&self, n: u64) -> String {
        match self.download.framing {
            DataFraming::SizeLine | DataFraming::Length | DataFraming::Size => {
                format!("{} {n}", self.replies.ok_to(Accepting::Get))
            }
            DataFraming::Marker if self.download.ok => tr!(
                "{ok} and {n} bytes",
                ok = self.replies.ok_to(Accepting::Get),
                n = n
            ),
            DataFraming::Marker => tr!("{n} bytes of data", n = n),
        }
    }

    /// How the server took an upload it did not refuse: `answered OK` (a reply once the
    /// file is stored), `answered OK and took the data` (an OK before the data only), `took
    /// the data` (no reply at all).
    pub fn accepted_upload(&self) -> String {
        if self.upload.final_reply {
            tr!("answered {ok}", ok = self.replies.ok_to(Accepting::Put))
        } else if self.upload.ok {
            tr!(
                "answered {ok} and took the data",
                ok = self.replies.ok_to(Accepting::Put)
            )
        } else {
            tr!("took the data").into()
        }
    }

    /// Why check `id` is not part of this protocol, if it is not.
    pub fn not_in_protocol(&self, id: &str) -> Option<&str> {
        self.not_in_protocol.get(id).map(String::as_str)
    }
}

/// The first `{placeholder}` in `text` that a command may not use.
fn unknown(text: &str) -> Option<String> {
    let mut rest = text;
    while let Some(i) = rest.find('{') {
        let after = &rest[i + 1..];
        let j = after.find('}')?;
        let name = &after[..j];
        if !PLACEHOLDERS.contains(&name) {
            return Some(name.to_string());
        }
        rest = &after[j + 1..];
    }
    None
}

/// Where the end marker is, if `tail` (the last bytes held back from the sink) ends with
/// it: the number of bytes of data in `tail` before it.
pub fn ends_with_marker(tail: &[u8], marker: &[u8]) -> Option<usize> {
    (!marker.is_empty() && tail.ends_with(marker)).then(|| tail.len() - marker.len())
}

#[cfg(test)]
mod tests;
