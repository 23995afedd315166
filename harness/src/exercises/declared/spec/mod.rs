//! The declared exercise file as written (serde), and its compiled form: every name, role,
//! key, signal and pattern checked once by [`compile`], before anything runs. A mistake is a
//! [`ConfigError`](crate::config::ConfigError) at the key's `FILE:line:column`, as class
//! configs are refused.

mod compile;

use std::collections::BTreeMap;

use nix::sys::signal::Signal;
use regex::Regex;
use serde::Deserialize;

use crate::text::matching::{MatchPolicy, Phrase};

pub use compile::compile;

/// The file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct File {
    pub exercise: Info,
    pub program: ProgramSpec,
    #[serde(default)]
    pub timing: Timing,
    #[serde(default)]
    pub roles: BTreeMap<String, RoleSpec>,
    #[serde(rename = "check")]
    pub checks: Vec<CheckSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Info {
    pub name: String,
    pub title: String,
}

/// The program a submission holds: `python` (run with Python 3) or `binary` (an
/// executable, or built from `<binary>.c`, a Makefile or a Cargo project).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProgramSpec {
    pub python: String,
    pub binary: String,
    #[serde(default)]
    pub args: Vec<String>,
}

/// Deadlines (only a faulty program waits them out) and the measures of stillness.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Timing {
    /// For the program to be at rest (start-up, the effect of a key or a signal).
    pub rest_ms: u64,
    /// For a line to appear, or a process to exit.
    pub wait_ms: u64,
    /// How long everything must hold still to be at rest.
    pub quiet_ms: u64,
    /// CPU time a process uses without ever sleeping to count as a busy loop.
    pub busy_ms: u64,
    /// Share of one CPU above which waiting is not sleeping (`idle`).
    pub busy_share: f64,
    /// The whole grading, every run included.
    pub wall_seconds: u64,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            rest_ms: 5000,
            wait_ms: 5000,
            quiet_ms: 40,
            busy_ms: 200,
            busy_share: 0.3,
            wall_seconds: 120,
        }
    }
}

/// A role: a place in the tree (`"program"`, `"child"`, `"child 2"`, `"children"`,
/// `"every"`) or the processes that print a line matching `prints` (a regular expression).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum RoleSpec {
    Place(String),
    Prints { prints: String },
}

/// One check as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckSpec {
    pub id: String,
    pub points: u32,
    pub title: String,
    #[serde(default)]
    pub what: String,
    #[serde(default)]
    pub why: Vec<String>,
    #[serde(default)]
    pub fix: String,
    #[serde(default)]
    pub needs: Vec<String>,
    #[serde(default)]
    pub unmet: String,
    /// Checks declared before this one whose fault this one's failure repeats: when one of
    /// them failed and this one fails too, it is reported "because of" it and keeps its
    /// points (one fault, one check).
    #[serde(default)]
    pub consequence_of: Vec<String>,
    /// Checks naming the same run play their steps one after the other on one run of the
    /// program, while each passes; after a failure the next one starts a fresh run.
    pub run: Option<String>,
    #[serde(default)]
    pub steps: Vec<StepSpec>,
    #[serde(default)]
    pub lines: Vec<LineSpec>,
    /// The `lines` appear in the order listed (lines of one `group` in any order).
    #[serde(default)]
    pub ordered: bool,
    #[serde(default)]
    pub exits: Vec<ExitSpec>,
    /// Roles that end in this order: every process of one before any of the next.
    #[serde(default)]
    pub exit_order: Vec<String>,
    /// Roles still running (not ended, not stopped) at the end.
    #[serde(default)]
    pub alive: Vec<String>,
    /// No process is left a zombie while the program is at rest.
    #[serde(default)]
    pub no_zombie: bool,
    /// Once the program has exited, nothing it started remains.
    #[serde(default)]
    pub no_leftover: bool,
    pub children: Option<CountSpec>,
    pub inside: Option<InsideSpec>,
    pub threads: Option<ThreadsSpec>,
    /// Waiting is sleeping: no busy loop.
    #[serde(default)]
    pub idle: bool,
    #[serde(default)]
    pub hints: Vec<HintSpec>,
}

/// One step. Exactly one of `rest`, `ready`, `line`, `exit`, `type`, `raw`, `key`,
/// `signal`, `pass_ms`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepSpec {
    pub rest: Option<bool>,
    /// At rest, and done starting: no process in a one-off timed sleep.
    pub ready: Option<bool>,
    pub line: Option<String>,
    #[serde(rename = "match")]
    pub policy: Option<String>,
    pub exit: Option<String>,
    #[serde(rename = "type")]
    pub typed: Option<String>,
    pub raw: Option<String>,
    pub key: Option<String>,
    pub signal: Option<String>,
    pub to: Option<String>,
    pub pass_ms: Option<u64>,
    /// After a key, a signal or text: wait until at rest (default true).
    pub settle: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LineSpec {
    pub text: String,
    #[serde(default)]
    pub variants: Vec<String>,
    /// `normal` (default: as the bus compares), `exact`, or `regex`.
    #[serde(rename = "match")]
    pub policy: Option<String>,
    pub by: Option<String>,
    pub count: Option<u32>,
    pub at_least: Option<u32>,
    pub at_most: Option<u32>,
    /// Only lines after this step (1-based) count.
    pub after_step: Option<usize>,
    pub group: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExitSpec {
    pub who: String,
    pub status: Option<i32>,
    pub signal: Option<String>,
    /// Reaped by its parent (not left a zombie, not adopted by the grader).
    pub reaped: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CountSpec {
    pub at_least: Option<u32>,
    pub at_most: Option<u32>,
}

/// Lines that say a process entered and left a guarded section; how many were inside at
/// once, counted in the order the lines appeared.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InsideSpec {
    pub enter: String,
    pub leave: String,
    pub at_least: Option<u32>,
    pub at_most: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThreadsSpec {
    pub who: String,
    pub at_least: u32,
}

/// Advice when a finding's code starts with `when` (`exit.driver.signal.SIGINT`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HintSpec {
    pub when: String,
    pub say: String,
    pub python: Option<String>,
    pub c: Option<String>,
}

// ---- the compiled form ----

/// Who a role is.
#[derive(Debug, Clone)]
pub enum Role {
    Program,
    /// The program's n-th child (1-based, in the order they appeared).
    Child(usize),
    Children,
    Every,
    Prints(Regex),
}

/// A role with the name it is reported under.
#[derive(Debug, Clone)]
pub struct Named {
    pub name: String,
    pub role: Role,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Press {
    CtrlC,
    CtrlBackslash,
    CtrlZ,
    CtrlD,
}

#[derive(Debug, Clone)]
pub enum Step {
    Rest,
    Ready,
    Line(Matcher),
    Exit(Named),
    Type {
        text: String,
        settle: bool,
    },
    Key {
        key: Press,
        settle: bool,
    },
    Signal {
        signal: Signal,
        to: Named,
        settle: bool,
    },
    Pass(u64),
}

/// How a line is recognised.
#[derive(Debug, Clone)]
pub enum Matcher {
    Phrase(Phrase, MatchPolicy),
    Regex(Regex),
}

impl Matcher {
    pub fn matches(&self, line: &str) -> bool {
        match self {
            Matcher::Phrase(p, pol) => crate::text::matching::count_in_line(p, line, *pol) > 0,
            Matcher::Regex(r) => r.is_match(line.trim_end_matches('\r')),
        }
    }
}

#[derive(Debug, Clone)]
pub struct LineExpect {
    pub shown: String,
    pub matcher: Matcher,
    pub by: Option<Named>,
    pub at_least: u32,
    pub at_most: Option<u32>,
    pub after_step: usize,
    pub group: u32,
}

#[derive(Debug, Clone)]
pub enum Ending {
    Any,
    Status(i32),
    Signal(Signal),
}

#[derive(Debug, Clone)]
pub struct ExitExpect {
    pub who: Named,
    pub ending: Ending,
    pub reaped: Option<bool>,
}

#[derive(Debug, Clone)]
pub struct Inside {
    pub enter: Regex,
    pub leave: Regex,
    pub at_least: Option<u32>,
    pub at_most: Option<u32>,
}

#[derive(Debug, Clone)]
pub struct Hint {
    pub when: String,
    pub say: String,
    pub python: Option<String>,
    pub c: Option<String>,
}

/// A check ready to run.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Its failure is a consequence of these checks' when one of them failed.
    pub consequence_of: Vec<String>,
    /// The run it shares with the checks naming the same one (see [`CheckSpec::run`]).
    pub run: Option<String>,
    pub steps: Vec<Step>,
    pub lines: Vec<LineExpect>,
    pub ordered: bool,
    pub exits: Vec<ExitExpect>,
    pub exit_order: Vec<Named>,
    pub alive: Vec<Named>,
    pub no_zombie: bool,
    pub no_leftover: bool,
    pub children: Option<(Option<u32>, Option<u32>)>,
    pub inside: Option<Inside>,
    pub threads: Option<(Named, u32)>,
    pub idle: bool,
    pub hints: Vec<Hint>,
}

/// A declared exercise, checked and compiled.
#[derive(Debug, Clone)]
pub struct Compiled {
    pub name: String,
    pub title: String,
    pub python: String,
    pub binary: String,
    pub args: Vec<String>,
    pub timing: Timing,
    /// (id, points, title, what, why, fix, needs, unmet) as written.
    pub docs: Vec<DocSpec>,
    pub scenarios: Vec<Scenario>,
}

#[derive(Debug, Clone)]
pub struct DocSpec {
    pub id: String,
    pub points: u32,
    pub title: String,
    pub what: String,
    pub why: Vec<String>,
    pub fix: String,
    pub needs: Vec<String>,
    pub unmet: String,
}
