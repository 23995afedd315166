//! The seam where an exercise meets the rest of the grader.
//!
//! An exercise implements [`Exercise`] once: its name, how it recognises a submission, its
//! config (defaults from its shipped `exercise.toml`), the programs it runs, and its table
//! of checks, each declared once ([`CheckDoc`] + the function that judges, [`Check`]). The
//! registry (`exercises::REGISTRY`) lists the exercises; the grading driver ([`driver`]),
//! the catalog (`harness list`/`explain`), the CLI and the class runner go through it and
//! name no exercise.

pub mod build;
pub mod checklist;
pub mod containment;
pub mod driver;
pub mod evidence;
pub mod idiom;
pub mod programs;

use serde::de::DeserializeOwned;

use crate::config::{ConfigError, Scoring};
use crate::report::{CheckOutcome, Interpreter};

pub use checklist::Checklist;
pub use containment::Containment;
pub use programs::{Found, Program};

/// One check as instructors and students read it: `harness explain`, the JSON `title`, the
/// exercise README's table. Declared beside the code that judges it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckDoc {
    /// Stable id (`ctrl-z`): config keys, reports, `harness explain`.
    pub id: &'static str,
    /// One line: what passing means.
    pub title: &'static str,
    /// What the grader does and requires.
    pub what: &'static str,
    /// The usual reasons a submission fails it.
    pub why: &'static [&'static str],
    /// How to fix a failing submission.
    pub fix: &'static str,
    /// Checks that must have passed first; while one has not, this check is skipped with
    /// that check's [`unmet`](CheckDoc::unmet) reason.
    pub needs: &'static [&'static str],
    /// What a check that needs this one says when this one did not pass (empty: nothing
    /// needs it).
    pub unmet: &'static str,
}

impl CheckDoc {
    /// A declaration with no prerequisites; chain [`CheckDoc::needing`] for some.
    pub const fn new(
        id: &'static str,
        title: &'static str,
        what: &'static str,
        why: &'static [&'static str],
        fix: &'static str,
    ) -> Self {
        CheckDoc {
            id,
            title,
            what,
            why,
            fix,
            needs: &[],
            unmet: "",
        }
    }

    pub const fn needing(mut self, needs: &'static [&'static str]) -> Self {
        self.needs = needs;
        self
    }

    pub const fn unmet(mut self, why: &'static str) -> Self {
        self.unmet = why;
        self
    }
}

/// A declared check and the function that judges it on the exercise's grading state `C`.
/// The outcome's id, title and points are stamped from the declaration and the config
/// (see [`Checklist::run`]), so a judge says only what it saw.
pub struct Check<C> {
    pub doc: CheckDoc,
    pub judge: fn(&mut C) -> CheckOutcome,
}

/// What a grading job gives an exercise.
pub struct Job<'a> {
    /// The submission's programs, in the order of [`Exercise::programs`]: `None` when absent.
    pub found: Vec<Option<Found>>,
    /// Leave run-to-run measurements out of messages.
    pub stable: bool,
    /// The checks, their points and visibility.
    pub checks: Checklist<'a>,
}

/// What an exercise hands back to the driver.
pub struct Graded {
    /// What was run; the driver adds the path.
    pub entry: String,
    pub command: String,
    pub interpreter: Option<Interpreter>,
    /// How many times the program was started.
    pub runs: u32,
    /// The isolation in force, one item each.
    pub isolation: Vec<String>,
    /// What the grading as a whole ran into (worded once, by the driver).
    pub containment: Containment,
    /// Directories whose paths differ from run to run (redacted in `--stable` reports).
    pub workdirs: Vec<String>,
}

/// An exercise. Implemented once per exercise, by a unit struct named in the registry.
pub trait Exercise: Sync + 'static {
    /// The exercise's own settings (everything but `[exercise]`, `[checks]` and
    /// `[visibility]`, which the driver reads for every exercise).
    type Config: DeserializeOwned;

    /// The name in reports, `--exercise` and `harness explain bus:ctrl-z`.
    const NAME: &'static str;
    /// The shipped `exercises/<name>/exercise.toml`, compiled in: the defaults every
    /// `--config` is laid over.
    const SHIPPED: &'static str;

    /// The checks, in report order.
    fn checks() -> Vec<CheckDoc>;

    /// The checks a grading with `cfg` may report (a config can leave some out: the file
    /// server's pair checks); all of them unless the exercise says otherwise.
    fn checks_for(_cfg: &Self::Config) -> Vec<CheckDoc> {
        Self::checks()
    }

    /// The programs a submission of this exercise holds (a bus, a server and a client).
    fn programs(cfg: &Self::Config) -> Vec<Program>;

    /// Semantic checks of a parsed config; errors name the key.
    fn validate(cfg: &Self::Config, source: &str) -> Result<(), ConfigError>;

    /// Checks this config makes meaningless (a protocol that cannot carry them): worth no
    /// points in its gradings, whatever `[checks]` says.
    fn waived(_cfg: &Self::Config) -> Vec<String> {
        Vec::new()
    }

    /// How `cfg` changes check `id`, for `harness explain` (the file server's protocol
    /// dialect); one sentence each, none by default.
    fn notes(_cfg: &Self::Config, _id: &str) -> Vec<String> {
        Vec::new()
    }

    /// Runs the checks (pushing outcomes into `job.checks`). An error means the submission
    /// could not be graded at all.
    fn grade(cfg: &Self::Config, job: &mut Job) -> Result<Graded, String>;
}

/// An exercise as the registry holds it: [`Exercise`] without its types, so one list can
/// hold them all. Implemented for every `Exercise`.
pub trait Registered: Sync {
    fn name(&self) -> &'static str;
    fn shipped(&self) -> &'static str;
    /// The checks a report may hold, in order: `build` (for submissions of sources) and the
    /// exercise's own.
    fn checks(&self) -> Vec<CheckDoc>;
    /// The programs of the shipped config (`harness grade` recognises submissions by them).
    fn shipped_programs(&self) -> Vec<Program>;
    /// Parses and validates a merged config (shipped + overlays).
    fn load(&self, merged: &str, source: &str) -> Result<Loaded, ConfigError>;
}

/// An exercise's grading with its typed config captured.
pub type Grader = Box<dyn Fn(&mut Job) -> Result<Graded, String>>;

/// An exercise's [`Exercise::notes`] with its typed config captured.
type Notes = Box<dyn Fn(&str) -> Vec<String>>;

/// A config read and validated for one exercise, ready to grade with.
pub struct Loaded {
    pub scoring: Scoring,
    grade: Grader,
    programs: Vec<Program>,
    /// The exercise's own checks (all skipped when the build failed).
    checks: Vec<CheckDoc>,
    notes: Notes,
    /// The checks this config makes meaningless ([`Exercise::waived`]).
    pub waived: Vec<String>,
}

impl Loaded {
    /// A config loaded by an exercise that is data, not a type (a declared one): no notes,
    /// nothing waived.
    pub fn new(
        scoring: Scoring,
        programs: Vec<Program>,
        checks: Vec<CheckDoc>,
        grade: Grader,
    ) -> Self {
        Loaded {
            scoring,
            grade,
            programs,
            checks,
            notes: Box::new(|_| Vec::new()),
            waived: Vec::new(),
        }
    }

    pub fn programs(&self) -> &[Program] {
        &self.programs
    }

    pub fn checks(&self) -> &[CheckDoc] {
        &self.checks
    }

    /// How this config changes check `id` ([`Exercise::notes`]).
    pub fn notes(&self, id: &str) -> Vec<String> {
        (self.notes)(id)
    }

    pub fn grade(&self, job: &mut Job) -> Result<Graded, String> {
        (self.grade)(job)
    }
}

impl<E: Exercise> Registered for E {
    fn name(&self) -> &'static str {
        E::NAME
    }

    fn shipped(&self) -> &'static str {
        E::SHIPPED
    }

    fn checks(&self) -> Vec<CheckDoc> {
        std::iter::once(build::DOC).chain(E::checks()).collect()
    }

    fn shipped_programs(&self) -> Vec<Program> {
        crate::config::split(E::SHIPPED, E::NAME)
            .and_then(|(_, own)| crate::config::parse::<E::Config>(&own, E::NAME))
            .map(|c| E::programs(&c))
            .unwrap_or_default()
    }

    fn load(&self, merged: &str, source: &str) -> Result<Loaded, ConfigError> {
        let (mut scoring, own) = crate::config::split(merged, source)?;
        let ids: Vec<&str> = self.checks().iter().map(|c| c.id).collect();
        scoring.validate(&ids, source)?;
        let cfg: E::Config = crate::config::parse(&own, source)?;
        E::validate(&cfg, source)?;
        let waived = E::waived(&cfg);
        for id in &waived {
            scoring.checks.insert(id.clone(), 0);
        }
        let programs = E::programs(&cfg);
        let checks = E::checks_for(&cfg);
        let cfg = std::sync::Arc::new(cfg);
        let for_notes = cfg.clone();
        Ok(Loaded {
            scoring,
            programs,
            grade: Box::new(move |job| E::grade(&cfg, job)),
            checks,
            notes: Box::new(move |id| E::notes(&for_notes, id)),
            waived,
        })
    }
}
