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
use crate::tr;

/// What a connection waits for after request `word` (`the reply to P`), in the report's
/// language: the requests [`Unanswered`] remembers.
pub fn reply_to(word: &str) -> String {
    tr!("the reply to {word}", word = word)
}

/// Whether `what` is the reply to a request ([`reply_to`]), in whichever language it was
/// written.
fn is_reply(what: &str) -> bool {
    crate::i18n::every_form("the reply to {word}").any(|form| {
        form.split_once("{word}").is_some_and(|(before, after)| {
            what.len() > before.len() + after.len()
                && what.starts_with(before)
                && what.ends_with(after)
        })
    })
}

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
        if !is_reply(what) || self.first(what).is_some() {
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

    #[test]
    fn replies_are_told_apart_from_other_waits_in_chinese_too() {
        use crate::i18n::{with, Lang};
        let u = Unanswered::default();
        u.judging("list");
        let (reply, bytes, after) = with(Lang::Zh, || {
            (
                reply_to("L"),
                tr!("the file's bytes"),
                tr!("the reply after the upload"),
            )
        });
        assert_ne!(reply, "the reply to L");
        u.note(&reply);
        u.note(bytes);
        u.note(after);
        assert_eq!(u.first(&reply).as_deref(), Some("list"));
        assert_eq!(u.first(bytes), None);
        assert_eq!(u.first(after), None);
    }
}
