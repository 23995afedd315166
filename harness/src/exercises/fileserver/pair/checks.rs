//! The pair checks, one function each: it types the client's menu and says what landed
//! where, and how many bytes the command must have moved through the relay for that to
//! count; [`Turn::judged`] makes the outcome.

use std::path::Path;
use std::time::{Duration, Instant};

use super::super::client_checks::{
    compare_file, judge_quit, judged_client, typed_actions, Action, ClientFault, ClientRun, Typed,
    PUT_TEXT,
};
use super::super::config::{FileserverConfig, GetBy};
use super::super::library::{self, Content, Library};
use super::relay::{Relay, Traffic};
use crate::net::dialect::{split_listing, Accepting, Dialect, ListRules};
use crate::report::CheckOutcome;
use crate::submission::Language;

/// The name asked for in `pair-get-missing`.
const MISSING: &str = "no-such-file.txt";
const PUT_TEXT_NAME: &str = "pair-up.txt";
const PUT_BINARY_NAME: &str = "pair-up.bin";

/// One pair check at work.
pub struct Turn<'t> {
    pub cfg: &'t FileserverConfig,
    pub run: &'t mut ClientRun,
    /// The server's library, as seeded.
    pub lib: &'t Library,
    /// Where the server's uploads land.
    pub uploads: &'t Path,
    pub relay: &'t Relay,
    /// The student's server (its network shows what it has read).
    pub server_pid: nix::unistd::Pid,
}

/// How long the next command waits for the server to read what the last one sent.
const SETTLE: Duration = Duration::from_secs(2);

/// What one pair check's command did.
pub struct Seen {
    lines: Vec<String>,
    mark: usize,
    prompted: bool,
    /// What the command achieved (the message of a pass), or the first thing wrong.
    result: Result<String, ClientFault>,
    /// The bytes that must have crossed the connection, each way, for the result to count.
    needs: Traffic,
    /// What did.
    moved: Traffic,
    /// What it did beyond the course's policy (reported, worth nothing).
    notes: Vec<String>,
}

impl Turn<'_> {
    /// Types `action` with `name` and waits for the prompt again: what was typed, and the
    /// traffic it caused.
    fn act(&mut self, action: Action, name: Option<&str>, within: Duration) -> (Typed, Traffic) {
        // What the last command sent (an upload's end marker) is read by the server before
        // the next command is typed.
        let client = self.run.session.program_pid();
        self.relay
            .settle(client, self.server_pid, Instant::now() + SETTLE);
        let before = self.relay.traffic();
        let typed = self.run.act(self.cfg, action, name, within);
        (typed, self.relay.traffic().since(before))
    }

    fn seen(
        &self,
        typed: Typed,
        moved: Traffic,
        needs: Traffic,
        result: Result<String, ClientFault>,
    ) -> Seen {
        let result = match typed.lines.first() {
            Some(action) if !typed.name_asked => Err(ClientFault::NoNamePrompt {
                action: action.clone(),
                prompt: self.cfg.client.menu.name_prompt_ends_with.clone(),
            }),
            _ => result,
        };
        Seen {
            lines: typed.lines,
            mark: typed.mark,
            prompted: typed.prompted,
            result,
            needs,
            moved,
            notes: Vec::new(),
        }
    }

    /// The outcome: what the command achieved counts only if its bytes crossed the
    /// connection and the client prompted again.
    pub fn judged(&self, seen: Seen, lang: Language) -> CheckOutcome {
        let (passed, fault) = match seen.result {
            Err(f) => (String::new(), Some(f)),
            Ok(msg) => {
                let (m, n) = (seen.moved, seen.needs);
                let fault = if m.to_server < n.to_server {
                    Some(ClientFault::TooLittleTraffic {
                        to_server: true,
                        needed: n.to_server,
                        moved: m.to_server,
                    })
                } else if m.to_client < n.to_client {
                    Some(ClientFault::TooLittleTraffic {
                        to_server: false,
                        needed: n.to_client,
                        moved: m.to_client,
                    })
                } else {
                    (!seen.prompted).then_some(ClientFault::NoPromptAgain)
                };
                (msg, fault)
            }
        };
        let mut o = judged_client(fault.as_slice(), passed, lang, self.cfg);
        o.notes = seen.notes;
        o.actions = typed_actions(&seen.lines);
        if o.status != crate::report::Status::Passed {
            o.transcript = Some(self.run.transcript(seen.mark));
        }
        o
    }
}

/// `pair-list`: every name of the server's library printed; at least the names came from
/// the server.
pub fn list(t: &mut Turn) -> Result<Seen, String> {
    let (typed, moved) = t.act(Action::List, None, t.cfg.timing.op());
    let text = String::from_utf8_lossy(t.run.session.transcript.since(typed.mark)).into_owned();
    let names: Vec<&String> = t.lib.files.iter().map(|(n, _)| n).collect();
    let missing: Vec<String> = names
        .iter()
        .filter(|n| !text.contains(n.as_str()))
        .map(|n| n.to_string())
        .collect();
    let result = if missing.is_empty() {
        Ok("every file of the server's library was listed".to_string())
    } else {
        Err(ClientFault::NotListed(missing))
    };
    let needs = Traffic {
        to_server: 1,
        to_client: names.iter().map(|n| n.len() as u64).sum(),
    };
    Ok(t.seen(typed, moved, needs, result))
}

/// `pair-get`.
pub fn get_text(t: &mut Turn) -> Result<Seen, String> {
    get(t, library::TEXT)
}

/// `pair-get-binary`.
pub fn get_binary(t: &mut Turn) -> Result<Seen, String> {
    get(t, library::BINARY)
}

/// `pair-get-large`.
pub fn get_large(t: &mut Turn) -> Result<Seen, String> {
    get(t, library::LARGE)
}

/// What to type to download `name`: the name, or (`get_by = "number"`) the number the
/// student's server gives it, read from the listing the server sends when the client lists
/// first (as a person looks at the list before picking a number); the lines typed for that.
fn asked_as(t: &mut Turn, name: &str) -> (String, Option<Typed>) {
    if t.cfg.client.menu.get_by == GetBy::Name {
        return (name.to_string(), None);
    }
    t.relay.capture();
    let (listed, _) = t.act(Action::List, None, t.cfg.timing.op());
    let number = number_in_listing(&t.cfg.server.dialect(), &t.relay.captured(), name);
    (number.to_string(), Some(listed))
}

/// The number a server's numbered listing (its reads, as sent) gives `name`: the number
/// written before it (`3:name`), or its place; one past the last for a name not listed.
fn number_in_listing(d: &Dialect, reads: &[Vec<u8>], name: &str) -> u64 {
    let mut reads = reads.to_vec();
    let ok = d.replies.ok_to(Accepting::List).as_bytes();
    if d.list.ok {
        if let Some(first) = reads.first_mut().filter(|r| r.starts_with(ok)) {
            first.drain(..ok.len());
        }
    }
    // The entries with their numbers: split as the dialect says, numbers kept.
    let rules = ListRules {
        numbered: false,
        ..d.list.clone()
    };
    let mut last = 0;
    for (i, entry) in split_listing(&rules, &reads).iter().enumerate() {
        let (number, listed) = match entry.iter().position(|b| *b == b':') {
            Some(k) if k > 0 && entry[..k].iter().all(u8::is_ascii_digit) => (
                std::str::from_utf8(&entry[..k])
                    .ok()
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(i as u64 + 1),
                &entry[k + 1..],
            ),
            _ => (i as u64 + 1, &entry[..]),
        };
        if listed == name.as_bytes() {
            return number;
        }
        last = last.max(number);
    }
    last + 1
}

/// A download: the file saved in the client's directory equals the server's.
fn get(t: &mut Turn, name: &str) -> Result<Seen, String> {
    let _ = std::fs::remove_file(t.run.cwd.join(name));
    let within = if name == library::LARGE {
        t.cfg.timing.large()
    } else {
        t.cfg.timing.op()
    };
    let (asked, listed) = asked_as(t, name);
    let (typed, moved) = t.act(Action::Get, Some(&asked), within);
    let typed = after_listing(listed, typed);
    let content = t
        .lib
        .content(name)
        .cloned()
        .unwrap_or(Content::Bytes(Vec::new()));
    let result = compared(&t.run.cwd.join(name), &content, &format!("{name} saved"));
    let needs = Traffic {
        to_server: 1,
        to_client: content.len(),
    };
    Ok(t.seen(typed, moved, needs, result))
}

/// `pair-put`.
pub fn put_text(t: &mut Turn) -> Result<Seen, String> {
    put(t, PUT_TEXT_NAME, PUT_TEXT.as_bytes().to_vec())
}

/// `pair-put-binary`.
pub fn put_binary(t: &mut Turn) -> Result<Seen, String> {
    let mut b = library::binary_bytes();
    b.rotate_left(200);
    put(t, PUT_BINARY_NAME, b)
}

/// An upload of a local file holding `bytes`: the server's copy (where its uploads land)
/// equals it, once the server has written it.
fn put(t: &mut Turn, name: &str, bytes: Vec<u8>) -> Result<Seen, String> {
    std::fs::write(t.run.cwd.join(name), &bytes)
        .map_err(|e| format!("cannot create the file to upload: {e}"))?;
    let _ = std::fs::remove_file(t.uploads.join(name));
    let (typed, moved) = t.act(Action::Put, Some(name), t.cfg.timing.op());
    let content = Content::Bytes(bytes);
    let there = t.uploads.join(name);
    let what = format!("{name} on the server");
    // The client may prompt before the server has written the last bytes (an end marker
    // sent after a pause): the copy is looked at until it is complete or time is up.
    let deadline = Instant::now() + t.cfg.timing.op();
    let mut result = compared(&there, &content, &what);
    while result.is_err() && typed.prompted && Instant::now() < deadline {
        let mut none: [nix::poll::PollFd; 0] = [];
        let _ = nix::poll::poll(&mut none, nix::poll::PollTimeout::from(5u16));
        result = compared(&there, &content, &what);
    }
    let needs = Traffic {
        to_server: content.len(),
        to_client: 0,
    };
    Ok(t.seen(typed, moved, needs, result))
}

/// `pair-get-missing`: no local file, the client goes on.
pub fn get_missing(t: &mut Turn) -> Result<Seen, String> {
    let _ = std::fs::remove_file(t.run.cwd.join(MISSING));
    let (asked, listed) = asked_as(t, MISSING);
    let (typed, moved) = t.act(Action::Get, Some(&asked), t.cfg.timing.op());
    let typed = after_listing(listed, typed);
    let result = if t.run.cwd.join(MISSING).exists() {
        Err(ClientFault::LocalFileCreated(MISSING))
    } else if !typed.prompted {
        Err(ClientFault::NoPromptAfterError)
    } else {
        Ok("no file was created, the client goes on".into())
    };
    let needs = Traffic {
        to_server: 1,
        to_client: 0,
    };
    Ok(t.seen(typed, moved, needs, result))
}

/// `pair-quit`: the client ends with status 0.
pub fn quit(t: &mut Turn) -> Result<Seen, String> {
    let word = ClientRun::word(t.cfg, Action::Quit).to_string();
    let session = &mut t.run.session;
    let mark = session.transcript.mark();
    session.type_text(&format!("{word}\n"));
    let deadline = Instant::now() + t.cfg.timing.exit();
    let exit = session.wait_until(deadline, |s| s.program_exit());
    let (result, note) = judge_quit(
        &t.cfg.policy(),
        exit,
        session.transcript.since(mark),
        t.cfg.timing.exit_ms,
    );
    Ok(Seen {
        lines: vec![word],
        mark,
        prompted: true,
        result,
        notes: note.into_iter().collect(),
        needs: Traffic::default(),
        moved: Traffic::default(),
    })
}

/// A command typed after a listing that found its number: both commands' lines, the
/// output from the listing on.
fn after_listing(listed: Option<Typed>, typed: Typed) -> Typed {
    match listed {
        Some(l) => Typed {
            lines: l.lines.into_iter().chain(typed.lines).collect(),
            mark: l.mark,
            ..typed
        },
        None => typed,
    }
}

/// The file at `path` compared with `content`: the summary, or what differs.
fn compared(path: &Path, content: &Content, what: &str) -> Result<String, ClientFault> {
    compare_file(path, content).and_then(|c| {
        if c.identical() {
            Ok(format!("{what}: {}", c.summary()))
        } else {
            Err(ClientFault::Differs {
                what: what.to_string(),
                summary: c.summary(),
            })
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dialect(name: &str) -> std::sync::Arc<Dialect> {
        super::super::super::dialect::resolve(&toml::Value::String(name.into()), "test").unwrap()
    }

    fn reads(parts: &[&str]) -> Vec<Vec<u8>> {
        parts.iter().map(|p| p.as_bytes().to_vec()).collect()
    }

    #[test]
    fn a_number_is_read_from_the_students_own_listing() {
        let d = dialect("numbered");
        // Directory order, not sorted: the numbers the server wrote count.
        let listing = reads(&["3:c.txt\n1:hello.txt\n2:报告.txt\n", "##"]);
        assert_eq!(number_in_listing(&d, &listing, "hello.txt"), 1);
        assert_eq!(number_in_listing(&d, &listing, "报告.txt"), 2);
        assert_eq!(number_in_listing(&d, &listing, "c.txt"), 3);
        // A name not listed: one past the last number.
        assert_eq!(number_in_listing(&d, &listing, "no-such-file.txt"), 4);
        // Entries without numbers count by their place.
        let plain = reads(&["b.txt\na.txt\n##"]);
        assert_eq!(number_in_listing(&d, &plain, "a.txt"), 2);
    }

    #[test]
    fn the_ok_word_before_a_listing_is_not_an_entry() {
        let mut d = (*dialect("numbered")).clone();
        d.list.ok = true;
        let listing = reads(&["OK", "1:x\n2:hello.txt\n", "##"]);
        assert_eq!(number_in_listing(&d, &listing, "hello.txt"), 2);
        let glued = reads(&["OK1:hello.txt\n##"]);
        assert_eq!(number_in_listing(&d, &glued, "hello.txt"), 1);
    }
}
