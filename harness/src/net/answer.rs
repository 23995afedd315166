//! Waiting for a server's answer without waiting out deadlines it can no longer meet: a
//! server whose every thread waits for an outside event while nothing is queued in its
//! sockets will not answer ([`Answerer::cannot_answer`]), and a request it left unanswered
//! that way once in a grading is not waited for again in the same grading ([`Unanswered`]):
//! the later checks are judged from the first. (A request that merely timed out is not
//! remembered: a server serving one client at a time answers it once the other leaves.)

use std::sync::Mutex;

use nix::unistd::Pid;

use super::listen;
use crate::supervise::rest::{Stillness, Whom};
use crate::supervise::spin;

/// The server a connection waits on, looked at between slices of a read.
#[derive(Debug)]
pub struct Answerer {
    pid: Pid,
    stillness: Stillness,
    /// The server's family as last found, and how many looks ago.
    family: Vec<Pid>,
    looks: u32,
}

impl Answerer {
    pub fn new(pid: Pid) -> Answerer {
        Answerer {
            pid,
            stillness: Stillness::default(),
            family: Vec::new(),
            looks: 0,
        }
    }

    /// One more look: true once the server (its whole family) and the grader's other
    /// threads can no longer move and nothing is on its way to or from the server.
    ///
    /// A look at the whole family reads all of `/proc`, which takes a while on a busy
    /// machine (and a reader that looks instead of reading may then get two of a server's
    /// sends as one): the family is found once, and again only when the looks say it is
    /// still, to make sure they covered every process of it.
    pub fn cannot_answer(&mut self) -> bool {
        if self.looks == 0 {
            self.refresh();
        }
        self.looks += 1;
        let queued = listen::in_flight(&self.family);
        let whom = Whom {
            programs: &self.family,
            grader_threads: true,
        };
        // Still only if the looks covered the whole family as it is now.
        self.stillness.still(whom, None, queued) && !self.refresh()
    }

    /// Finds the family again; true when a process came or went (the looks before it do
    /// not count).
    fn refresh(&mut self) -> bool {
        let family = spin::family_pids(self.pid);
        let changed = family != self.family;
        if changed {
            self.stillness = Stillness::default();
            self.family = family;
        }
        changed
    }
}

/// The requests a grading's server left unanswered, each with the check that saw it
/// first; shared by every connection of that grading.
#[derive(Debug, Default)]
pub struct Unanswered {
    /// The check now being judged.
    judging: Mutex<String>,
    /// What was waited for in vain (`the reply to P`), and in which check.
    seen: Mutex<Vec<(String, String)>>,
}

impl Unanswered {
    /// The check whose connections ask from now on.
    pub fn judging(&self, check: &str) {
        *self.judging.lock().unwrap_or_else(|e| e.into_inner()) = check.to_string();
    }

    /// The check in which `what` went unanswered, if it did.
    pub fn first(&self, what: &str) -> Option<String> {
        let seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        seen.iter().find(|(w, _)| w == what).map(|(_, c)| c.clone())
    }

    /// Notes that `what` got no answer (a first reply to a request only: the bytes of a
    /// file are not one request's answer that a later check would ask again).
    pub fn note(&self, what: &str) {
        if !what.starts_with("the reply to ") || self.first(what).is_some() {
            return;
        }
        let check = self
            .judging
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        self.seen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((what.to_string(), check));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_first_replies_are_remembered_with_their_check() {
        let u = Unanswered::default();
        u.judging("put-text");
        u.note("the reply to P");
        u.note("the file's bytes");
        u.judging("put-binary");
        u.note("the reply to P");
        assert_eq!(u.first("the reply to P").as_deref(), Some("put-text"));
        assert_eq!(u.first("the file's bytes"), None);
    }
}
