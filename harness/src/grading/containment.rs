//! What a grading as a whole ran into (an output flood, the disk allowance, a terminal the
//! program reconfigured, the wall deadline), worded once for every exercise, and the
//! verdicts it changes.

use crate::report::{wording, CheckOutcome, Status};
use crate::supervise::session::TerminalChange;
use crate::tr;

/// Facts an exercise gathered over all its runs; the driver words them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Containment {
    /// The program wrote more than `limit` bytes to its terminal (`bytes` when stopped).
    pub flood: Option<Flood>,
    /// The program wrote more than `limit` bytes to its disk allowance.
    pub disk_limit: Option<u64>,
    /// Terminal settings the program changed.
    pub terminal: Vec<TerminalChange>,
    /// The grading reached its wall deadline of this many seconds.
    pub overran: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flood {
    pub bytes: u64,
    pub limit: u64,
}

impl Containment {
    /// The report's notes, and the verdicts they change: after an output flood, a full disk
    /// or the wall deadline, a check that could not be graded failed (the program's doing),
    /// it was not merely skipped.
    pub fn apply(&self, out: &mut [CheckOutcome]) -> Vec<String> {
        let mut notes = Vec::new();
        let mut reason = None;
        if let Some(f) = self.flood {
            notes.push(tr!("output flood: the program wrote more than {limit} bytes to its terminal ({bytes} by the time it was stopped); the run was cut off and its processes killed", limit = f.limit, bytes = f.bytes));
            reason = Some(tr!("the program flooded its terminal (see the note)").to_string());
        }
        if let Some(limit) = self.disk_limit {
            notes.push(tr!("disk: the program wrote more than {limit} MiB (its directory, home and /tmp); the run was cut off and its processes killed", limit = limit >> 20));
            reason.get_or_insert_with(|| {
                tr!("the program filled its disk allowance (see the note)").to_string()
            });
        }
        if !self.terminal.is_empty() {
            let changes: Vec<String> = self.terminal.iter().map(wording::terminal_change).collect();
            notes.push(tr!(
                "the program changed its terminal: {changes}",
                changes = changes.join("; ")
            ));
        }
        if let Some(secs) = self.overran {
            notes.push(tr!("the grading reached its wall deadline of {secs} s: what was not done by then failed", secs = secs));
            reason.get_or_insert_with(|| tr!("the grading reached its wall deadline").to_string());
        }
        if let Some(reason) = reason {
            for c in out.iter_mut().filter(|c| c.status == Status::Skipped) {
                c.status = Status::Failed;
                c.points = 0;
                c.details.insert(0, c.message.clone());
                c.message = tr!("not graded: {reason}", reason = reason);
            }
        }
        notes
    }
}
