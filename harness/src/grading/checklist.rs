//! Running a table of declared checks: prerequisites, skips with their reason, and the id,
//! title, points and visibility of every outcome, stamped from the declaration and the
//! config in one place.

use std::cell::Cell;
use std::panic::{self, AssertUnwindSafe};
use std::time::Instant;

use super::evidence::verdict;
use super::{Check, CheckDoc};
use crate::config::Scoring;
use crate::report::{CheckOutcome, EventLog, Status};
use crate::supervise::ending::{self, Ending};
use crate::supervise::events;
use crate::tr;

thread_local! {
    /// Set while a judge runs on this thread: a panic there is caught and becomes that
    /// check's `error` verdict, so the panic hook must not end the grading (see `main.rs`).
    static JUDGING: Cell<bool> = const { Cell::new(false) };
}

/// Whether this thread is inside a check's judge (whose panic will be caught).
pub fn judging() -> bool {
    JUDGING.with(Cell::get)
}

/// Runs a judge; a panic in it (a bug of the grader's) becomes an `error` verdict that says
/// so, and the grading goes on with the next check.
fn judge_guarded<C>(judge: fn(&mut C) -> CheckOutcome, state: &mut C) -> CheckOutcome {
    let was = JUDGING.with(|j| j.replace(true));
    let result = panic::catch_unwind(AssertUnwindSafe(|| judge(state)));
    JUDGING.with(|j| j.set(was));
    result.unwrap_or_else(|payload| {
        let what = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| tr!("a panic").into());
        verdict(
            Status::Error,
            tr!(
                "the grader failed in this check ({what}): this is a grader bug, please report it",
                what = what
            ),
        )
    })
}

/// The outcomes of one grading, in report order, and what stamps them.
pub struct Checklist<'a> {
    scoring: &'a Scoring,
    out: Vec<CheckOutcome>,
    /// The declarations of `out`, in the same order.
    docs_seen: Vec<CheckDoc>,
    /// The grading's wall deadline and its length in seconds (for the words).
    deadline: Option<(Instant, u64)>,
    /// A check was not judged because the deadline had passed.
    overran: bool,
    /// Where the next check's events start in the grading's event log.
    event_mark: usize,
}

impl<'a> Checklist<'a> {
    pub fn new(scoring: &'a Scoring) -> Self {
        Checklist {
            scoring,
            out: Vec::new(),
            docs_seen: Vec::new(),
            deadline: None,
            overran: false,
            event_mark: 0,
        }
    }

    /// From `at` on (a wall deadline, `secs` long), no check is judged any more: each fails
    /// as cut off by the deadline (see `Containment`). Of several deadlines set (the whole
    /// grading's, a part's sandbox's), the earliest holds.
    pub fn set_deadline(&mut self, at: Instant, secs: u64) {
        if self.deadline.is_none_or(|(was, _)| at < was) {
            self.deadline = Some((at, secs));
        }
    }

    /// The length of the wall deadline, if a check was cut off by it.
    pub fn overran(&self) -> Option<u64> {
        self.deadline.filter(|_| self.overran).map(|(_, secs)| secs)
    }

    /// Judges each check in turn on `state`, or skips it when a check it needs has not
    /// passed (with that check's reason).
    pub fn run<C>(&mut self, checks: &[Check<C>], state: &mut C) {
        for check in checks {
            let late = self.deadline.filter(|(at, _)| Instant::now() >= *at);
            let outcome = match (self.unmet(&check.doc), late) {
                (Some(why), _) => verdict(Status::Skipped, why),
                (None, Some((_, secs))) => {
                    self.overran = true;
                    let why = tr!(
                        "skipped: the grading reached its wall deadline ({secs} s)",
                        secs = secs
                    );
                    verdict(Status::Skipped, why)
                }
                (None, None) => {
                    ending::take();
                    let began = Instant::now();
                    let mut o = judge_guarded(check.judge, state);
                    o.ended = Some(ending::take().unwrap_or(Ending::Event));
                    self.attach_events(&mut o, began);
                    o
                }
            };
            self.push(&check.doc, outcome);
        }
    }

    /// Gives a judged check the events of the grading's log since the last one's (what
    /// happened between two checks, a run's start, belongs to the next).
    fn attach_events(&mut self, o: &mut CheckOutcome, began: Instant) {
        let Some(log) = events::current() else {
            return;
        };
        let slice = log.since(self.event_mark);
        self.event_mark += slice.events.len();
        if !slice.events.is_empty() {
            o.events = Some(EventLog::from_slice(&slice, began));
        }
    }

    /// Gives every one of `checks` the same verdict: a part of the submission that is
    /// missing, or could not be prepared.
    pub fn settle_all<C>(&mut self, checks: &[Check<C>], status: Status, why: &str) {
        for check in checks {
            self.push(&check.doc, verdict(status, why.to_string()));
        }
    }

    /// Records an outcome judged outside a table (the `build` check, judged by the driver).
    pub fn record(&mut self, doc: &CheckDoc, outcome: CheckOutcome) {
        self.push(doc, outcome);
    }

    /// Gives every check of `docs` the same verdict (the program did not build).
    pub fn settle_docs(&mut self, docs: &[CheckDoc], status: Status, why: &str) {
        for doc in docs {
            self.push(doc, verdict(status, why.to_string()));
        }
    }

    /// Why `doc` cannot be judged: a check it needs did not pass.
    fn unmet(&self, doc: &CheckDoc) -> Option<String> {
        doc.needs.iter().find_map(|need| {
            let prior = self.out.iter().find(|o| o.id == *need);
            match prior {
                Some(o) if o.status == Status::Passed => None,
                // A prerequisite that is itself skipped hands its reason on.
                Some(o) if o.status == Status::Skipped => Some(o.message.clone()),
                _ => Some(self.reason_of(need)),
            }
        })
    }

    fn reason_of(&self, need: &str) -> String {
        self.docs_seen
            .iter()
            .find(|d| d.id == need)
            .map(|d| crate::i18n::doc(d.unmet).to_string())
            .filter(|r| !r.is_empty())
            .unwrap_or_else(|| tr!("skipped: {need} did not pass (see {need})", need = need))
    }

    /// Adds an outcome under `doc`'s id and title, with the configured points.
    fn push(&mut self, doc: &CheckDoc, mut o: CheckOutcome) {
        let max = self.scoring.points(doc.id);
        o.id = doc.id.to_string();
        o.title = crate::i18n::doc(doc.title).to_string();
        o.max_points = max;
        o.points = if o.earns_points() { max } else { 0 };
        o.visibility = self.scoring.visibility(doc.id);
        self.docs_seen.push(*doc);
        self.out.push(o);
    }

    pub fn into_outcomes(self) -> Vec<CheckOutcome> {
        self.out
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::time::{Duration, Instant};

    use super::*;
    use crate::config::ExerciseInfo;

    fn scoring() -> Scoring {
        Scoring {
            exercise: ExerciseInfo {
                name: "t".into(),
                title: "T".into(),
            },
            checks: BTreeMap::from([("a".into(), 3), ("b".into(), 4)]),
            visibility: BTreeMap::new(),
            build: Default::default(),
        }
    }

    fn pass(judged: &mut Vec<&'static str>) -> CheckOutcome {
        judged.push("judged");
        CheckOutcome::new("", "", Status::Passed, 0, "fine")
    }

    fn fail(judged: &mut Vec<&'static str>) -> CheckOutcome {
        judged.push("judged");
        CheckOutcome::new("", "", Status::Failed, 0, "wrong")
    }

    fn table(first: fn(&mut Vec<&'static str>) -> CheckOutcome) -> [Check<Vec<&'static str>>; 2] {
        [
            Check {
                doc: CheckDoc::new("a", "A", "", &[], "").unmet("skipped: a failed (see a)"),
                judge: first,
            },
            Check {
                doc: CheckDoc::new("b", "B", "", &[], "").needing(&["a"]),
                judge: pass,
            },
        ]
    }

    #[test]
    fn outcomes_are_stamped_and_a_failed_need_skips_with_its_reason() {
        let s = scoring();
        let mut list = Checklist::new(&s);
        let mut judged = Vec::new();
        list.run(&table(pass), &mut judged);
        let out = list.into_outcomes();
        assert_eq!((out[0].id.as_str(), out[0].title.as_str()), ("a", "A"));
        assert_eq!((out[0].points, out[0].max_points), (3, 3));
        assert_eq!((out[1].status, out[1].points), (Status::Passed, 4));

        let mut list = Checklist::new(&s);
        let mut judged = Vec::new();
        list.run(&table(fail), &mut judged);
        let out = list.into_outcomes();
        assert_eq!(judged.len(), 1, "b is not judged");
        assert_eq!((out[0].points, out[0].max_points), (0, 3));
        assert_eq!(out[1].status, Status::Skipped);
        assert_eq!(out[1].message, "skipped: a failed (see a)");
        assert_eq!(out[1].max_points, 4);
    }

    #[test]
    fn past_the_wall_deadline_no_check_is_judged() {
        let s = scoring();
        let mut list = Checklist::new(&s);
        list.set_deadline(Instant::now() + Duration::from_secs(600), 600);
        let mut judged = Vec::new();
        list.run(&table(pass), &mut judged);
        assert_eq!((judged.len(), list.overran()), (2, None));

        let mut list = Checklist::new(&s);
        list.set_deadline(Instant::now(), 3);
        let mut judged = Vec::new();
        list.run(&table(pass), &mut judged);
        assert!(judged.is_empty());
        assert_eq!(list.overran(), Some(3));
        let out = list.into_outcomes();
        assert_eq!(
            out[0].message,
            "skipped: the grading reached its wall deadline (3 s)"
        );
        // The need is unmet too: its skip hands the reason on.
        assert_eq!(out[1].message, out[0].message);
    }

    /// The whole grading's wall and a part's later one: the earlier holds, whichever is set
    /// first; a judged check says how its waits ended, a skipped one does not.
    #[test]
    fn the_earliest_wall_deadline_holds_and_judged_checks_say_how_they_ended() {
        let s = scoring();
        let mut list = Checklist::new(&s);
        list.set_deadline(Instant::now(), 90);
        list.set_deadline(Instant::now() + Duration::from_secs(600), 600);
        list.run(&table(pass), &mut Vec::new());
        assert_eq!(list.overran(), Some(90));
        assert!(list.into_outcomes().iter().all(|o| o.ended.is_none()));

        let mut list = Checklist::new(&s);
        list.run(&table(fail), &mut Vec::new());
        let out = list.into_outcomes();
        assert_eq!(out[0].ended, Some(Ending::Event));
        assert_eq!(out[1].ended, None);
    }
}
