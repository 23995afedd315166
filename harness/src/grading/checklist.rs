//! Running a table of declared checks: prerequisites, skips with their reason, and the id,
//! title, points and visibility of every outcome, stamped from the declaration and the
//! config in one place.

use super::{Check, CheckDoc};
use crate::config::Scoring;
use crate::report::{CheckOutcome, Status};

/// The outcomes of one grading, in report order, and what stamps them.
pub struct Checklist<'a> {
    scoring: &'a Scoring,
    out: Vec<CheckOutcome>,
    /// The declarations of `out`, in the same order.
    docs_seen: Vec<CheckDoc>,
}

impl<'a> Checklist<'a> {
    pub fn new(scoring: &'a Scoring) -> Self {
        Checklist {
            scoring,
            out: Vec::new(),
            docs_seen: Vec::new(),
        }
    }

    /// Judges each check in turn on `state`, or skips it when a check it needs has not
    /// passed (with that check's reason).
    pub fn run<C>(&mut self, checks: &[Check<C>], state: &mut C) {
        for check in checks {
            let outcome = match self.unmet(&check.doc) {
                Some(why) => CheckOutcome::new("", "", Status::Skipped, 0, why),
                None => (check.judge)(state),
            };
            self.push(&check.doc, outcome);
        }
    }

    /// Gives every one of `checks` the same verdict: a part of the submission that is
    /// missing, or could not be prepared.
    pub fn settle_all<C>(&mut self, checks: &[Check<C>], status: Status, why: &str) {
        for check in checks {
            self.push(
                &check.doc,
                CheckOutcome::new("", "", status, 0, why.to_string()),
            );
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
            .map(|d| d.unmet.to_string())
            .filter(|r| !r.is_empty())
            .unwrap_or_else(|| format!("skipped: {need} did not pass (see {need})"))
    }

    /// Adds an outcome under `doc`'s id and title, with the configured points.
    fn push(&mut self, doc: &CheckDoc, mut o: CheckOutcome) {
        let max = self.scoring.points(doc.id);
        o.id = doc.id.to_string();
        o.title = doc.title.to_string();
        o.max_points = max;
        o.points = if o.status == Status::Passed { max } else { 0 };
        o.visibility = self.scoring.visibility(doc.id);
        self.docs_seen.push(*doc);
        self.out.push(o);
    }

    /// The outcomes so far.
    pub fn outcomes(&self) -> &[CheckOutcome] {
        &self.out
    }

    pub fn outcomes_mut(&mut self) -> &mut [CheckOutcome] {
        &mut self.out
    }

    pub fn into_outcomes(self) -> Vec<CheckOutcome> {
        self.out
    }
}
