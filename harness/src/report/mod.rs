//! The outcome of a grading, as data. Renderers (`human`, `json`) are pure functions of it,
//! so every format says the same thing. Student-controlled text enters this model only
//! escaped (messages) or as lossily decoded data (transcripts) that each renderer escapes
//! for its own medium.

pub mod events;
pub mod gradescope;
pub mod html;
pub mod human;
pub mod json;
pub mod junit;
pub mod machine_paths;
pub mod markdown;
pub mod output;
pub mod timeline;
pub mod wording;

use serde::{Deserialize, Serialize};

pub use events::EventLog;

/// The id of the check that builds a submission of sources (`grading::build`).
pub const BUILD_CHECK: &str = "build";

/// How the message of a check the configured protocol cannot carry starts: it is skipped,
/// worth nothing, and out of the grading rather than lost (see [`CheckOutcome::out_of_protocol`]).
pub const NOT_IN_PROTOCOL: &str = "not part of this protocol";

/// Version of the JSON schema; bump on any incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

/// What became of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Passed,
    Failed,
    /// Not run, because something it depends on did not happen; the message says what.
    Skipped,
    /// The grader itself could not carry the check out.
    Error,
}

impl Status {
    pub fn label(self) -> &'static str {
        match self {
            Status::Passed => "PASS",
            Status::Failed => "FAIL",
            Status::Skipped => "SKIP",
            Status::Error => "ERROR",
        }
    }
}

/// A process as a report names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessNote {
    pub role: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<i32>,
    pub state: String,
}

/// One piece of a transcript: output (lossily decoded, not yet escaped) or a grader action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "text", rename_all = "lowercase")]
pub enum TranscriptPiece {
    Output(String),
    Action(String),
}

/// What the terminal showed during a check, with the grader's actions marked inline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct TranscriptView {
    pub pieces: Vec<TranscriptPiece>,
    /// Output bytes beyond the transcript cap, counted but not kept.
    pub dropped_bytes: u64,
}

impl TranscriptView {
    /// The part of a run's transcript from `mark` on: output decoded lossily (escaped by
    /// each renderer), actions as they are; the dropped-byte count with the whole of it.
    pub fn from_transcript(t: &crate::supervise::transcript::Transcript, mark: usize) -> Self {
        use crate::supervise::transcript::Piece;
        TranscriptView {
            pieces: t
                .pieces_since(mark)
                .into_iter()
                .map(|p| match p {
                    Piece::Output(b) => TranscriptPiece::Output(crate::text::escape::lossy(b)),
                    Piece::Action(a) => TranscriptPiece::Action(a.to_string()),
                })
                .collect(),
            dropped_bytes: if mark == 0 { t.dropped_bytes() } else { 0 },
        }
    }
}

/// The result of one check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckOutcome {
    pub id: String,
    pub title: String,
    pub status: Status,
    pub points: u32,
    pub max_points: u32,
    /// One sentence: what happened.
    pub message: String,
    /// The keys typed and signals sent, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seen: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub processes: Vec<ProcessNote>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// What was seen beyond what the course requires (its policy): reported, worth nothing.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transcript: Option<TranscriptView>,
    /// What happened during the check, in time: keys, signals, lines, processes' lives,
    /// the connections' requests and replies (docs/report-schema.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<EventLog>,
    /// Who may see this check (Gradescope's `visibility`); absent means visible.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visibility: Option<Visibility>,
    /// The check whose fault this one only repeats (a `skipped` check that keeps its
    /// points: one fault costs one check). See [`CheckOutcome::is_consequence`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub because_of: Option<String>,
    /// How the check's waits ended: on events, on finding the programs unable to move, or
    /// by waiting out a deadline. Absent for a check that was not judged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended: Option<crate::supervise::ending::Ending>,
}

/// Who may see a check, in Gradescope's terms. Hidden checks still count towards the score;
/// renderers meant for students (Gradescope, Markdown) leave their details out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    Visible,
    Hidden,
    AfterDueDate,
    AfterPublished,
}

impl Visibility {
    /// Gradescope's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Visible => "visible",
            Visibility::Hidden => "hidden",
            Visibility::AfterDueDate => "after_due_date",
            Visibility::AfterPublished => "after_published",
        }
    }
}

impl CheckOutcome {
    /// A check outcome with nothing but its verdict and message.
    pub fn new(
        id: &str,
        title: &str,
        status: Status,
        max_points: u32,
        message: impl Into<String>,
    ) -> Self {
        CheckOutcome {
            id: id.to_string(),
            title: title.to_string(),
            status,
            points: if status == Status::Passed {
                max_points
            } else {
                0
            },
            max_points,
            message: message.into(),
            actions: Vec::new(),
            expected: None,
            seen: None,
            details: Vec::new(),
            processes: Vec::new(),
            hint: None,
            notes: Vec::new(),
            transcript: None,
            events: None,
            visibility: None,
            because_of: None,
            ended: None,
        }
    }

    /// A check not judged on its own because what it would have shown is the fault of
    /// another check (`because_of`), which alone costs the points: it keeps its own.
    pub fn consequence(of: &str, message: impl Into<String>) -> Self {
        let mut o = CheckOutcome::new("", "", Status::Skipped, 0, message);
        o.because_of = Some(of.to_string());
        o
    }

    /// Whether this check only repeats another check's fault (see [`CheckOutcome::consequence`]).
    pub fn is_consequence(&self) -> bool {
        self.status == Status::Skipped && self.because_of.is_some()
    }

    /// Whether the check earns its points: it passed, or it only repeats another check's
    /// fault.
    pub fn earns_points(&self) -> bool {
        self.status == Status::Passed || self.is_consequence()
    }

    /// A failure that costs no points: a warning. A failed build never is one, whatever its
    /// points: every other check was skipped for it.
    pub fn is_warning(&self) -> bool {
        self.status == Status::Failed && self.max_points == 0 && self.id != BUILD_CHECK
    }

    /// Whether a report labels it a warning (`WARN`, ⚠️): any failed check worth no points,
    /// the build included, so a label never says FAIL beside `0/0`. (A failed build still
    /// fails the grading: [`is_warning`](Self::is_warning) decides the verdicts.)
    pub fn shown_as_warning(&self) -> bool {
        self.status == Status::Failed && self.max_points == 0
    }

    /// A check the configured protocol cannot carry: skipped, worth nothing, out of the
    /// grading (Gradescope shows it as not failed).
    pub fn out_of_protocol(&self) -> bool {
        self.status == Status::Skipped
            && self.max_points == 0
            && crate::i18n::every_form(NOT_IN_PROTOCOL).any(|p| self.message.starts_with(p))
    }

    /// Whether a report shows more than the one line: a check that did not pass, or one that
    /// passed with advice (a build's warnings) or with notes (what the course does not require).
    pub fn shows_details(&self) -> bool {
        self.status != Status::Passed || self.hint.is_some() || !self.notes.is_empty()
    }
}

/// What was graded and how it was run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubmissionInfo {
    /// The path as given.
    pub path: String,
    /// The folder inside it where the programs were found (`src`, `hw1`), relative to
    /// `path`; absent when they are at its top.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub folder: Option<String>,
    /// The file found and run.
    pub entry: String,
    /// How it was run (interpreter and file, or the executable).
    pub command: String,
}

/// The interpreter used for a script.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Interpreter {
    pub path: String,
    pub version: String,
}

/// A whole grading.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub schema_version: u32,
    pub exercise: String,
    pub submission: SubmissionInfo,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interpreter: Option<Interpreter>,
    pub checks: Vec<CheckOutcome>,
    pub score: u32,
    pub max_score: u32,
    /// The check to fix first: the first, in report order, that failed on a fault of its
    /// own and costs points (a check that is a consequence of it names it in `because_of`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fix_first: Option<String>,
    /// How many times the program was started.
    pub runs: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    /// The isolation the program ran under, one item each (left out of stable reports: it
    /// depends on the machine, not on the submission).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub isolation: Vec<String>,
    /// What concerns the grading as a whole: an output flood cut off, a terminal the
    /// program reconfigured, the wall deadline reached.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// The temporary directories the programs ran in (`<workdir>` once stable): machine
    /// paths that renderers for students take out of what they show. Not part of the
    /// schema.
    #[serde(skip)]
    pub run_dirs: Vec<String>,
}

impl Report {
    /// Adds up the points, and names the check to fix first.
    pub fn total(&mut self) {
        self.score = self.checks.iter().map(|c| c.points).sum();
        self.max_score = self.checks.iter().map(|c| c.max_points).sum();
        self.fix_first = self
            .checks
            .iter()
            .find(|c| c.status == Status::Failed && !c.is_warning())
            .map(|c| c.id.clone());
    }

    /// The check to fix first, when one fault shows in several checks (a check is a
    /// consequence of another): what the human and Markdown reports call out. With the
    /// faults each in a check of its own the verdicts say it all, and no line is added.
    pub fn first_fix(&self) -> Option<&CheckOutcome> {
        if !self.checks.iter().any(CheckOutcome::is_consequence) {
            return None;
        }
        let id = self.fix_first.as_deref()?;
        self.checks.iter().find(|c| c.id == id)
    }

    /// True when a check could not be carried out (an `error` verdict: the grader's fault).
    pub fn incomplete(&self) -> bool {
        self.checks.iter().any(|c| c.status == Status::Error)
    }

    /// True when every check worth points passed.
    pub fn all_passed(&self) -> bool {
        self.checks
            .iter()
            .all(|c| c.status == Status::Passed || c.is_warning() || c.is_consequence())
    }

    /// Removes what differs from run to run (pids, times, the temporary directory the
    /// program ran in), for snapshots and diffs.
    pub fn make_stable(&mut self, workdir: &str) {
        self.duration_ms = None;
        self.isolation.clear();
        for d in &mut self.run_dirs {
            if d == workdir {
                *d = "<workdir>".to_string();
            }
        }
        let redact = |s: &mut String| {
            if !workdir.is_empty() && s.contains(workdir) {
                *s = s.replace(workdir, "<workdir>");
            }
        };
        for c in &mut self.checks {
            for p in &mut c.processes {
                p.pid = None;
            }
            redact(&mut c.message);
            c.actions.iter_mut().for_each(redact);
            c.details.iter_mut().for_each(redact);
            c.notes.iter_mut().for_each(redact);
            if let Some(seen) = &mut c.seen {
                redact(seen);
            }
            if let Some(ev) = &mut c.events {
                ev.make_stable();
                if !workdir.is_empty() {
                    ev.redact(workdir, "<workdir>");
                }
            }
            if let Some(t) = &mut c.transcript {
                for piece in &mut t.pieces {
                    match piece {
                        TranscriptPiece::Output(s) | TranscriptPiece::Action(s) => redact(s),
                    }
                }
            }
        }
    }
}
