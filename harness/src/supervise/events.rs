//! The grading's event log: what happened to the submission's processes and what the grader
//! did to them, each with the moment it was seen. Recorded where the engine already observes
//! it (the session's terminal and shim reports, the pidfds it polls, the protocol client's
//! sends and reads), so there is no second observer; the check list cuts it into one log per
//! check, and the report turns pids into roles.
//!
//! The log of a grading is reached through [`current`], set by the grading driver for the
//! whole grading ([`Recorder::install`]): a session or a connection made anywhere in a check
//! records into it without every check handing it along. A thread that is not grading (a
//! tool, a unit test) has none, and recording is then a no-op.
//!
//! Bounded: at most [`MAX_EVENTS`] events per grading (the rest only counted), a line's text
//! at most [`MAX_TEXT`] bytes.

use std::cell::RefCell;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// The most events one grading keeps; later ones are counted as dropped.
pub const MAX_EVENTS: usize = 20_000;
/// The most bytes of one line or request kept (the rest is cut, marked `…`).
pub const MAX_TEXT: usize = 240;

/// How a process ended, as the event log tells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    Code(i32),
    Signal(i32),
}

/// One thing that happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum What {
    /// A key typed at the terminal (its label).
    Key(String),
    /// A line typed at the terminal.
    Typed(String),
    /// A signal the grader sent (`SIGUSR1`) to a process.
    Signal {
        signal: String,
        to: i32,
    },
    /// A line the terminal showed (or the text before the grader's next action, a prompt);
    /// `by` is the pid that wrote it, when known.
    Line {
        text: String,
        by: Option<i32>,
    },
    Started(i32),
    Stopped(i32),
    Continued(i32),
    /// A process ended; how, when known (the program's from the shim).
    Ended(i32, Option<Ending>),
    /// An ended process was reaped (its zombie is gone).
    Reaped(i32),
    /// A connection of the grader's to the server opened (numbered from 1 per grading).
    Connected(u32),
    /// A request line sent on a connection (or data: `text` empty, `bytes` counted).
    Sent {
        conn: u32,
        text: String,
        bytes: u64,
    },
    /// A reply line read on a connection.
    Reply {
        conn: u32,
        text: String,
    },
    /// Data read on a connection.
    Received {
        conn: u32,
        bytes: u64,
    },
    /// The server closed a connection.
    Closed(u32),
    /// Something the grader noted (an output flood cut off).
    Note(String),
}

/// One event and when it was seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub at: Instant,
    pub what: What,
}

/// The log itself.
#[derive(Debug, Default)]
pub struct Log {
    events: Vec<Event>,
    dropped: u64,
    /// Roles named by the exercise (`driver`, `conductor`, `client`), by pid.
    names: Vec<(i32, String)>,
    /// Terminal output not yet ended by a newline (at most `MAX_TEXT` bytes kept).
    partial: Vec<u8>,
    partial_cut: bool,
    connections: u32,
}

impl Log {
    fn push(&mut self, what: What) {
        if self.events.len() >= MAX_EVENTS {
            self.dropped += 1;
            return;
        }
        self.events.push(Event {
            at: Instant::now(),
            what,
        });
    }

    /// Ends the terminal's partial line (a prompt before an action) as a line of its own.
    fn flush_partial(&mut self) {
        if self.partial.is_empty() {
            return;
        }
        let bytes = std::mem::take(&mut self.partial);
        let cut = std::mem::replace(&mut self.partial_cut, false);
        self.push(What::Line {
            text: line_text(&bytes, cut),
            by: None,
        });
    }

    fn output(&mut self, bytes: &[u8]) {
        for piece in bytes.split_inclusive(|b| *b == b'\n') {
            let (body, ended) = match piece.strip_suffix(b"\n") {
                Some(b) => (b.strip_suffix(b"\r").unwrap_or(b), true),
                None => (piece, false),
            };
            let room = MAX_TEXT.saturating_sub(self.partial.len());
            self.partial
                .extend_from_slice(&body[..body.len().min(room)]);
            self.partial_cut |= body.len() > room;
            if ended {
                let bytes = std::mem::take(&mut self.partial);
                let cut = std::mem::replace(&mut self.partial_cut, false);
                self.push(What::Line {
                    text: line_text(&bytes, cut),
                    by: None,
                });
            }
        }
    }
}

/// `bytes` as the text of one line a report can show: short, UTF-8, no control character
/// but a `\r`.
fn one_line(bytes: &[u8]) -> Option<&str> {
    Some(bytes)
        .filter(|l| l.len() <= MAX_TEXT)
        .and_then(|l| std::str::from_utf8(l).ok())
        .filter(|l| !l.chars().any(|c| c.is_control() && c != '\r'))
}

/// A line's text: decoded lossily (a read may split a character; each renderer escapes it),
/// `…` when it was cut.
fn line_text(bytes: &[u8], cut: bool) -> String {
    let mut s = String::from_utf8_lossy(bytes).into_owned();
    if cut {
        s.push('…');
    }
    s
}

/// A shared handle on one grading's log.
#[derive(Debug, Clone, Default)]
pub struct Recorder(Arc<Mutex<Log>>);

thread_local! {
    static CURRENT: RefCell<Option<Recorder>> = const { RefCell::new(None) };
}

/// The log of the grading this thread is carrying out, if any.
pub fn current() -> Option<Recorder> {
    CURRENT.with(|c| c.borrow().clone())
}

/// Records into the current grading's log, if there is one.
pub fn record(what: What) {
    if let Some(r) = current() {
        r.record(what);
    }
}

/// Keeps a recorder installed until dropped (then the previous one, if any, is back).
pub struct Installed {
    previous: Option<Recorder>,
}

impl Drop for Installed {
    fn drop(&mut self) {
        let previous = self.previous.take();
        CURRENT.with(|c| *c.borrow_mut() = previous);
    }
}

/// A part of a log: the events from a mark on, and how many were dropped in all.
#[derive(Debug, Clone, Default)]
pub struct Slice {
    pub events: Vec<Event>,
    pub names: Vec<(i32, String)>,
    /// Events not kept because the grading's log was full.
    pub dropped: u64,
}

impl Recorder {
    /// Makes this the log of what this thread does until the guard is dropped.
    pub fn install(&self) -> Installed {
        let previous = CURRENT.with(|c| c.borrow_mut().replace(self.clone()));
        Installed { previous }
    }

    fn with<T>(&self, f: impl FnOnce(&mut Log) -> T) -> T {
        // A panic while recording (a grader bug caught as an `error` verdict) leaves the
        // log as it was: take it as it is.
        let mut log = self.0.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut log)
    }

    pub fn record(&self, what: What) {
        self.with(|l| {
            if !matches!(what, What::Line { .. }) {
                l.flush_partial();
            }
            l.push(what)
        });
    }

    /// Terminal output: split into lines as it comes.
    pub fn output(&self, bytes: &[u8]) {
        self.with(|l| l.output(bytes));
    }

    /// Names the role a process plays, for the report.
    pub fn name(&self, pid: i32, role: &str) {
        self.with(|l| {
            l.names.retain(|(p, _)| *p != pid);
            l.names.push((pid, role.to_string()));
        });
    }

    /// One whole message sent on connection `conn` (a command of a dialect whose messages
    /// are sends, with no newline): a request shown as its text when it reads as one line,
    /// so that a path in it is redacted like a request line's; data otherwise.
    pub fn sent_message(&self, conn: u32, bytes: &[u8]) {
        let text = one_line(bytes).filter(|t| !t.is_empty() && !t.contains('\r'));
        match text {
            Some(text) => self.with(|l| {
                l.push(What::Sent {
                    conn,
                    text: text.to_string(),
                    bytes: bytes.len() as u64,
                })
            }),
            None => self.traffic(conn, bytes, true, true),
        }
    }

    /// Bytes sent or received on connection `conn`: a request or reply line when `framed`
    /// (a message of the protocol) and `bytes` reads as one line, else data, added to the data event just before it on the same connection (an
    /// upload sent in pieces is one event).
    pub fn traffic(&self, conn: u32, bytes: &[u8], sent: bool, framed: bool) {
        let line = Some(bytes)
            .filter(|_| framed)
            .and_then(|b| b.strip_suffix(b"\n"))
            .and_then(one_line);
        self.with(|l| {
            let n = bytes.len() as u64;
            if let Some(text) = line {
                let text = text.trim_end_matches('\r').to_string();
                return l.push(match sent {
                    true => What::Sent {
                        conn,
                        text,
                        bytes: n,
                    },
                    false => What::Reply { conn, text },
                });
            }
            match (l.events.last_mut().map(|e| &mut e.what), sent) {
                (
                    Some(What::Sent {
                        conn: c,
                        text,
                        bytes,
                    }),
                    true,
                ) if *c == conn && text.is_empty() => *bytes += n,
                (Some(What::Received { conn: c, bytes }), false) if *c == conn => *bytes += n,
                (_, true) => l.push(What::Sent {
                    conn,
                    text: String::new(),
                    bytes: n,
                }),
                (_, false) => l.push(What::Received { conn, bytes: n }),
            }
        });
    }

    /// A new connection's number.
    pub fn connection(&self) -> u32 {
        self.with(|l| {
            l.connections += 1;
            let n = l.connections;
            l.push(What::Connected(n));
            n
        })
    }

    /// A position in the log, to cut it at later.
    pub fn mark(&self) -> usize {
        self.with(|l| {
            l.flush_partial();
            l.events.len()
        })
    }

    /// Says that the lines recorded since `mark` that nobody claimed were written by `pid`.
    pub fn attribute_since(&self, mark: usize, pid: i32) {
        self.with(|l| {
            l.flush_partial();
            for e in l.events.iter_mut().skip(mark) {
                if let What::Line { by: by @ None, .. } = &mut e.what {
                    *by = Some(pid);
                }
            }
        });
    }

    /// The events from `mark` on.
    pub fn since(&self, mark: usize) -> Slice {
        self.with(|l| {
            l.flush_partial();
            Slice {
                events: l.events.get(mark..).unwrap_or(&[]).to_vec(),
                names: l.names.clone(),
                dropped: l.dropped,
            }
        })
    }
}

/// What a session has told the log about its processes' ends: each end once, and the
/// reaping of those left as zombies when it happens.
pub struct ExitNotes {
    pub log: Recorder,
    ended: Vec<i32>,
    zombies: Vec<i32>,
    program_ended: bool,
}

impl ExitNotes {
    pub fn new(log: Recorder) -> Self {
        ExitNotes {
            log,
            ended: Vec::new(),
            zombies: Vec::new(),
            program_ended: false,
        }
    }

    /// Whether the end of `pid` has been recorded.
    pub fn is_noted(&self, pid: i32) -> bool {
        self.ended.contains(&pid)
    }

    /// The processes of `watched` (pid and pidfd) that have ended since last noted.
    pub fn newly_ended<'a>(
        &self,
        watched: impl Iterator<Item = (i32, &'a std::os::fd::OwnedFd)>,
    ) -> Vec<i32> {
        watched
            .filter(|(p, fd)| !self.is_noted(*p) && super::pidfd::exited(fd))
            .map(|(p, _)| p)
            .collect()
    }

    /// Records the program's end (once, with its status), the ends of `exited`, and the
    /// reaping of every recorded zombie that is gone from `/proc`.
    pub fn note(&mut self, program: Option<(i32, Ending)>, exited: impl IntoIterator<Item = i32>) {
        self.note_with(program, exited, |p| {
            let st = super::procfs::stat(nix::unistd::Pid::from_raw(p)).map(|s| s.state);
            matches!(st, Ok(super::procfs::RunState::Zombie))
        })
    }

    /// [`ExitNotes::note`], with `is_zombie` telling a zombie from a reaped process.
    fn note_with(
        &mut self,
        program: Option<(i32, Ending)>,
        exited: impl IntoIterator<Item = i32>,
        is_zombie: impl Fn(i32) -> bool,
    ) {
        if let (Some((pid, how)), false) = (program, self.program_ended) {
            self.program_ended = true;
            self.log.record(What::Ended(pid, Some(how)));
        }
        for pid in exited {
            self.ended.push(pid);
            self.log.record(What::Ended(pid, None));
            self.zombies.push(pid);
        }
        let (reaped, still): (Vec<i32>, Vec<i32>) =
            self.zombies.iter().partition(|p| !is_zombie(**p));
        self.zombies = still;
        for pid in reaped {
            self.log.record(What::Reaped(pid));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(s: &Slice) -> Vec<(String, Option<i32>)> {
        s.events
            .iter()
            .filter_map(|e| match &e.what {
                What::Line { text, by } => Some((text.clone(), *by)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn output_becomes_lines_and_a_prompt_ends_at_the_next_action() {
        let r = Recorder::default();
        r.output(b"one\r\ntw");
        r.output(b"o\r\n> ");
        r.record(What::Typed("list".into()));
        let s = r.since(0);
        assert_eq!(
            lines(&s),
            vec![
                ("one".into(), None),
                ("two".into(), None),
                ("> ".into(), None)
            ]
        );
        assert_eq!(
            s.events.last().map(|e| &e.what),
            Some(&What::Typed("list".into()))
        );
    }

    #[test]
    fn lines_and_the_log_are_bounded() {
        let r = Recorder::default();
        r.output(&vec![b'x'; 10 * MAX_TEXT]);
        r.output(b"\n");
        let s = r.since(0);
        let text = &lines(&s)[0].0;
        assert_eq!(text.len(), MAX_TEXT + '…'.len_utf8());
        for _ in 0..MAX_EVENTS + 5 {
            r.record(What::Note("n".into()));
        }
        let s = r.since(0);
        assert_eq!(s.events.len(), MAX_EVENTS);
        assert_eq!(s.dropped, 6);
    }

    /// A dialect's command is a send of its own, with no newline: shown as a request (so a
    /// path in it is redacted in stable logs), while data stays data.
    #[test]
    fn a_whole_message_is_a_request_and_data_is_data() {
        let r = Recorder::default();
        r.sent_message(1, b"/tmp/run/escaped.txt");
        r.sent_message(1, b"\x00\x01binary");
        r.traffic(1, b"no newline", true, true);
        let s = r.since(0);
        assert_eq!(
            s.events.iter().map(|e| e.what.clone()).collect::<Vec<_>>(),
            vec![
                What::Sent {
                    conn: 1,
                    text: "/tmp/run/escaped.txt".into(),
                    bytes: 20
                },
                What::Sent {
                    conn: 1,
                    text: String::new(),
                    bytes: 18
                },
            ]
        );
    }

    #[test]
    fn attribution_claims_only_unclaimed_lines_since_the_mark() {
        let r = Recorder::default();
        r.output(b"a\n");
        let m = r.mark();
        r.output(b"b\n");
        r.attribute_since(m, 7);
        assert_eq!(
            lines(&r.since(0)),
            vec![("a".into(), None), ("b".into(), Some(7))]
        );
    }

    #[test]
    fn ends_are_noted_once_and_reaping_when_the_zombie_is_gone() {
        let r = Recorder::default();
        let mut n = ExitNotes::new(r.clone());
        n.note_with(Some((1, Ending::Code(0))), [2], |_| true);
        n.note_with(Some((1, Ending::Code(0))), [], |_| true);
        n.note_with(None, [], |_| false);
        let whats: Vec<What> = r.since(0).events.into_iter().map(|e| e.what).collect();
        assert_eq!(
            whats,
            vec![
                What::Ended(1, Some(Ending::Code(0))),
                What::Ended(2, None),
                What::Reaped(2)
            ]
        );
        assert!(n.is_noted(2) && !n.is_noted(1));
    }

    #[test]
    fn recording_without_a_grading_does_nothing_and_install_restores() {
        record(What::Note("lost".into()));
        let r = Recorder::default();
        {
            let _g = r.install();
            record(What::Note("kept".into()));
        }
        record(What::Note("lost".into()));
        assert_eq!(r.since(0).events.len(), 1);
        assert!(current().is_none());
    }
}
