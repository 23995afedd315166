//! A check's event log as the report holds it: the engine's events (`supervise::events`)
//! with pids turned into roles and times into milliseconds since the check began. Text is
//! kept as data (lossily decoded, not escaped): each renderer escapes it for its medium.

use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::supervise::events::{Ending, Slice, What};
use crate::text::pids;

/// The most events one check's log holds; the rest are counted in `dropped`.
pub const MAX_CHECK_EVENTS: usize = 600;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventKind {
    Key,
    Typed,
    Signal,
    Line,
    Started,
    Stopped,
    Continued,
    Ended,
    Reaped,
    Connected,
    Sent,
    Reply,
    Received,
    Closed,
    Note,
}

impl EventKind {
    /// Done by the grader to the program (a key, a signal, typed input): what a timeline
    /// marks, and what divides a log into the stretches `--stable` orders.
    pub fn is_stimulus(self) -> bool {
        matches!(self, EventKind::Key | EventKind::Typed | EventKind::Signal)
    }

    /// A change of a process's life, seen from outside.
    pub fn is_process_change(self) -> bool {
        matches!(
            self,
            EventKind::Started
                | EventKind::Stopped
                | EventKind::Continued
                | EventKind::Ended
                | EventKind::Reaped
        )
    }
}

/// One event of a check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventRecord {
    /// Milliseconds since the check began (left out of `--stable` reports).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_ms: Option<u64>,
    pub kind: EventKind,
    /// The role concerned: who printed a line (absent: not known, the terminal's), whom a
    /// signal was sent to, whose life changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub who: Option<String>,
    /// A key's label, a line's or request's text, a signal's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// The grader's connection to the server, numbered from 1 in a grading.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conn: Option<u32>,
    /// Bytes sent or received.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    /// How a process ended: `exit 0`, `SIGINT`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

/// A check's events, bounded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct EventLog {
    pub events: Vec<EventRecord>,
    /// The pids of the processes the log names, for `--stable` to hide in lines printed.
    #[serde(skip)]
    pub pids: Vec<i32>,
    /// Events beyond the cap (of the check, or of the grading's log), counted, not kept.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub dropped: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

fn signal_name(n: i32) -> String {
    nix::sys::signal::Signal::try_from(n)
        .map(|s| s.as_str().to_string())
        .unwrap_or_else(|_| format!("signal {n}"))
}

impl EventLog {
    /// A check's log from the engine's `slice`; times counted from `began` (or the first
    /// event, if earlier: what happened between two checks belongs to the second).
    pub fn from_slice(slice: &Slice, began: Instant) -> Self {
        let origin = slice.events.first().map_or(began, |e| e.at.min(began));
        let role = |pid: i32| {
            slice
                .names
                .iter()
                .find(|(p, _)| *p == pid)
                .map_or("process", |(_, r)| r.as_str())
                .to_string()
        };
        let events = slice
            .events
            .iter()
            .take(MAX_CHECK_EVENTS)
            .map(|e| {
                let mut r = EventRecord {
                    at_ms: Some(e.at.duration_since(origin).as_millis() as u64),
                    kind: EventKind::Note,
                    who: None,
                    text: None,
                    conn: None,
                    bytes: None,
                    status: None,
                };
                let (kind, pid) = match &e.what {
                    What::Key(k) => {
                        r.text = Some(k.clone());
                        (EventKind::Key, None)
                    }
                    What::Typed(t) => {
                        r.text = Some(t.clone());
                        (EventKind::Typed, None)
                    }
                    What::Signal { signal, to } => {
                        r.text = Some(signal.clone());
                        (EventKind::Signal, Some(*to))
                    }
                    What::Line { text, by } => {
                        r.text = Some(text.clone());
                        (EventKind::Line, *by)
                    }
                    What::Started(p) => (EventKind::Started, Some(*p)),
                    What::Stopped(p) => (EventKind::Stopped, Some(*p)),
                    What::Continued(p) => (EventKind::Continued, Some(*p)),
                    What::Ended(p, how) => {
                        r.status = how.map(|h| match h {
                            Ending::Code(c) => format!("exit {c}"),
                            Ending::Signal(s) => signal_name(s),
                        });
                        (EventKind::Ended, Some(*p))
                    }
                    What::Reaped(p) => (EventKind::Reaped, Some(*p)),
                    What::Connected(c) => {
                        r.conn = Some(*c);
                        (EventKind::Connected, None)
                    }
                    What::Sent { conn, text, bytes } => {
                        r.conn = Some(*conn);
                        r.bytes = Some(*bytes);
                        r.text = (!text.is_empty()).then(|| text.clone());
                        (EventKind::Sent, None)
                    }
                    What::Reply { conn, text } => {
                        r.conn = Some(*conn);
                        r.text = Some(text.clone());
                        (EventKind::Reply, None)
                    }
                    What::Received { conn, bytes } => {
                        r.conn = Some(*conn);
                        r.bytes = Some(*bytes);
                        (EventKind::Received, None)
                    }
                    What::Closed(c) => {
                        r.conn = Some(*c);
                        (EventKind::Closed, None)
                    }
                    What::Note(n) => {
                        r.text = Some(n.clone());
                        (EventKind::Note, None)
                    }
                };
                r.kind = kind;
                r.who = pid.map(role);
                r
            })
            .collect();
        let kept = slice.events.len().min(MAX_CHECK_EVENTS);
        let mut pids: Vec<i32> = slice.names.iter().map(|(p, _)| *p).collect();
        pids.extend(slice.events.iter().filter_map(|e| match &e.what {
            What::Started(p) | What::Stopped(p) | What::Continued(p) | What::Reaped(p) => Some(*p),
            What::Ended(p, _) => Some(*p),
            What::Signal { to, .. } => Some(*to),
            What::Line { by, .. } => *by,
            _ => None,
        }));
        pids.sort_unstable();
        pids.dedup();
        EventLog {
            events,
            pids,
            dropped: (slice.events.len() - kept) as u64 + slice.dropped,
        }
    }

    /// For `--stable`: times left out, and the events between two of the grader's actions
    /// put in an order that does not depend on timing: output and connections first (by
    /// connection), then the processes' changes grouped by role name, each in its life's
    /// order (started, stopped, continued, ended, reaped). Two processes that end in one stretch are
    /// seen in either order (whichever pidfd the watcher reads first), so their order there
    /// is not evidence: `exit-order` judges it from the kernel's facts, not from this log.
    pub fn make_stable(&mut self) {
        for e in &mut self.events {
            e.at_ms = None;
            if e.kind == EventKind::Line {
                // A pid a program printed ("reaped 30146") differs in every run.
                if let Some(t) = e.text.as_deref().and_then(|t| pids::hide(t, &self.pids)) {
                    e.text = Some(t);
                }
                // Who wrote a line is read from the processes' write counters at the step's
                // end; a process that prints and exits at once may be gone by then (two
                // gradings of correct-queue-logging differed on the Ctrl-Z line).
                e.who = None;
            }
        }
        // The grader's cleanup ends what is left with SIGKILL after the last step; whether
        // the watcher saw that before the check's log was cut depends on timing (two
        // gradings of conductor-stopped-by-ctrl-z differed), so stable logs leave it out.
        self.events
            .retain(|e| !(e.kind == EventKind::Ended && e.status.as_deref() == Some("SIGKILL")));
        for stretch in self.events.split_mut(|e| e.kind.is_stimulus()) {
            stretch.sort_by(|a, b| {
                // Processes of one role name (a declared exercise's unnamed children) are
                // told apart by what happened to them; a process's own changes are causal in
                // this order (started, stopped, continued, ended, reaped).
                let rank = |e: &EventRecord| {
                    let change = e.kind.is_process_change();
                    let who = if change { e.who.clone() } else { None };
                    let life = if change { e.kind as u8 } else { 0 };
                    let status = if change { e.status.clone() } else { None };
                    (change, e.conn.unwrap_or(0), who, life, status)
                };
                rank(a).cmp(&rank(b))
            });
            // Lines of one stretch in text order, in the places lines held: processes that
            // print at once (a declared exercise's workers, threads) interleave in any order,
            // which the exercise allows; an order it judges is judged from the run, not here.
            let at: Vec<usize> = (0..stretch.len())
                .filter(|&i| stretch[i].kind == EventKind::Line)
                .collect();
            let mut lines: Vec<EventRecord> = at.iter().map(|&i| stretch[i].clone()).collect();
            lines.sort_by(|a, b| (&a.text, &a.who).cmp(&(&b.text, &b.who)));
            for (i, line) in at.into_iter().zip(lines) {
                stretch[i] = line;
            }
        }
        // A listing's lines after its first, in name order: a server lists in directory
        // order, which differs from one run to the next (its names are the same).
        let mut i = 0;
        while i < self.events.len() {
            let same_reply = |e: &EventRecord, conn| e.kind == EventKind::Reply && e.conn == conn;
            let conn = self.events[i].conn;
            if self.events[i].kind != EventKind::Reply {
                i += 1;
                continue;
            }
            let end = (i..self.events.len())
                .find(|&j| !same_reply(&self.events[j], conn))
                .unwrap_or(self.events.len());
            if end > i + 1 {
                self.events[i + 1..end].sort_by(|a, b| a.text.cmp(&b.text));
            }
            i = end;
        }
    }

    /// Replaces `from` with `to` in every text (a temporary path), and counts a request's
    /// bytes as those of the text shown: the run directory's path is as long as the
    /// grader's pid and `TMPDIR` make it, so a shard's log and a single grading's would
    /// differ by its length (CI saw it) when `--stable` logs must be byte-identical.
    pub fn redact(&mut self, from: &str, to: &str) {
        for e in &mut self.events {
            let Some(t) = e.text.as_mut() else { continue };
            let times = t.matches(from).count() as u64;
            if times == 0 {
                continue;
            }
            *t = t.replace(from, to);
            if let Some(b) = e.bytes.as_mut() {
                *b = b.saturating_sub(times * from.len() as u64) + times * to.len() as u64;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::supervise::events::Event;

    fn slice(whats: Vec<(u64, What)>) -> Slice {
        let t0 = Instant::now();
        Slice {
            events: whats
                .into_iter()
                .map(|(ms, what)| Event {
                    at: t0 + Duration::from_millis(ms),
                    what,
                })
                .collect(),
            names: vec![(10, "driver".into()), (11, "conductor".into())],
            dropped: 0,
        }
    }

    #[test]
    fn pids_become_roles_and_times_milliseconds() {
        let s = slice(vec![
            (0, What::Key("Ctrl-C".into())),
            (
                5,
                What::Line {
                    text: "bye".into(),
                    by: Some(11),
                },
            ),
            (7, What::Ended(11, Some(Ending::Signal(2)))),
            (9, What::Reaped(12)),
        ]);
        let log = EventLog::from_slice(&s, s.events[0].at);
        let e = &log.events;
        assert_eq!(e[1].who.as_deref(), Some("conductor"));
        assert_eq!(e[1].at_ms, Some(5));
        assert_eq!(e[2].status.as_deref(), Some("SIGINT"));
        assert_eq!(e[3].who.as_deref(), Some("process"));
    }

    /// The bus's Ctrl-Z: the conductor ends and is reaped, the driver ends; the watcher may
    /// read the driver's pidfd first (seen in CI: two gradings of c-correct differed).
    #[test]
    fn stable_logs_do_not_depend_on_which_end_was_read_first() {
        let key = || (0, What::Key("Ctrl-Z".into()));
        let one = slice(vec![
            key(),
            (1, What::Ended(11, None)),
            (2, What::Reaped(11)),
            (3, What::Ended(10, Some(Ending::Code(0)))),
        ]);
        let other = slice(vec![
            key(),
            (1, What::Ended(10, Some(Ending::Code(0)))),
            (2, What::Ended(11, None)),
            (3, What::Reaped(11)),
        ]);
        let stable = |s: &Slice| {
            let mut l = EventLog::from_slice(s, s.events[0].at);
            l.make_stable();
            serde_json::to_string(&l).unwrap()
        };
        assert_eq!(stable(&one), stable(&other));
        // Each process's own changes keep their order: ended, then reaped.
        let log = stable(&one);
        assert!(log.find("\"ended\"").unwrap() < log.find("\"reaped\"").unwrap());
    }

    #[test]
    fn stable_logs_do_not_depend_on_timing() {
        let early = slice(vec![
            (0, What::Key("Ctrl-Z".into())),
            (1, What::Ended(11, None)),
            (
                2,
                What::Line {
                    text: "a".into(),
                    by: None,
                },
            ),
        ]);
        let late = slice(vec![
            (0, What::Key("Ctrl-Z".into())),
            (
                3,
                What::Line {
                    text: "a".into(),
                    by: None,
                },
            ),
            (4, What::Ended(11, None)),
        ]);
        let stable = |s: &Slice| {
            let mut l = EventLog::from_slice(s, s.events[0].at);
            l.make_stable();
            serde_json::to_string(&l).unwrap()
        };
        assert_eq!(stable(&early), stable(&late));
        assert!(!stable(&early).contains("at_ms"));
    }

    /// A request naming a path in the run directory: its byte count is that of the request
    /// as shown, whatever the directory's length.
    #[test]
    fn redacted_requests_count_the_bytes_shown() {
        let sent = |dir: &str| {
            let text = format!("P 6 {dir}/escaped.txt");
            let bytes = text.len() as u64 + 1;
            let s = slice(vec![(
                0,
                What::Sent {
                    conn: 1,
                    text,
                    bytes,
                },
            )]);
            let mut l = EventLog::from_slice(&s, s.events[0].at);
            l.make_stable();
            l.redact(dir, "<workdir>");
            serde_json::to_string(&l).unwrap()
        };
        let (short, long) = (
            sent("/tmp/harness-run-7-a"),
            sent("/tmp/ci/harness-run-123456-a"),
        );
        assert_eq!(short, long);
        assert!(short.contains("\"bytes\":26"), "{short}");
    }

    /// Two threads that print at once after one key: either order, one stable log.
    #[test]
    fn stable_logs_do_not_depend_on_which_line_came_first() {
        let line = |ms, text: &str| {
            (
                ms,
                What::Line {
                    text: text.into(),
                    by: None,
                },
            )
        };
        let key = || (0, What::Typed("go".into()));
        let one = slice(vec![key(), line(1, "thread 2"), line(2, "thread 1")]);
        let other = slice(vec![key(), line(1, "thread 1"), line(2, "thread 2")]);
        let stable = |s: &Slice| {
            let mut l = EventLog::from_slice(s, s.events[0].at);
            l.make_stable();
            serde_json::to_string(&l).unwrap()
        };
        assert_eq!(stable(&one), stable(&other));
        let log = stable(&one);
        assert!(log.find("thread 1").unwrap() < log.find("thread 2").unwrap());
    }

    #[test]
    fn a_check_keeps_at_most_its_cap() {
        let s = slice(
            (0..MAX_CHECK_EVENTS as u64 + 3)
                .map(|i| (i, What::Note("n".into())))
                .collect(),
        );
        let log = EventLog::from_slice(&s, s.events[0].at);
        assert_eq!(log.events.len(), MAX_CHECK_EVENTS);
        assert_eq!(log.dropped, 3);
    }
}
