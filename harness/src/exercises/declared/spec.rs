//! The declared exercise file as written (serde), and its compiled form: every name, role,
//! key, signal and pattern checked once, before anything runs. A mistake is a
//! [`ConfigError`] at the key's `FILE:line:column`, as class configs are refused.

use std::collections::BTreeMap;

use nix::sys::signal::Signal;
use regex::Regex;
use serde::Deserialize;

use crate::config::{invalid, ConfigError, Spans};
use crate::text::matching::{MatchPolicy, Phrase};

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

/// One step. Exactly one of `rest`, `line`, `exit`, `type`, `raw`, `key`, `signal`,
/// `pass_ms`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepSpec {
    pub rest: Option<bool>,
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

/// Reads and checks the text of a declared exercise file named `source`.
pub fn compile(text: &str, source: &str) -> Result<Compiled, ConfigError> {
    let file: File = crate::config::parse(text, source)?;
    let spans = Spans::of(text).unwrap_or_default();
    let at = |key: &str, why: String| {
        let mut e = invalid(source, key, why);
        e.at = spans.position(key);
        e
    };
    check_name(&file.exercise.name).map_err(|w| at("exercise.name", w))?;
    for (key, v) in [
        ("program.python", &file.program.python),
        ("program.binary", &file.program.binary),
    ] {
        if v.is_empty() || v.contains('/') {
            return Err(at(key, "must be a file name (not empty, no `/`)".into()));
        }
    }
    let t = &file.timing;
    for (key, v) in [
        ("timing.rest_ms", t.rest_ms),
        ("timing.wait_ms", t.wait_ms),
        ("timing.quiet_ms", t.quiet_ms),
        ("timing.busy_ms", t.busy_ms),
        ("timing.wall_seconds", t.wall_seconds),
    ] {
        if v == 0 {
            return Err(at(key, "must be at least 1".into()));
        }
    }
    if !(t.busy_share > 0.0 && t.busy_share <= 1.0) {
        return Err(at("timing.busy_share", "must be in (0, 1]".into()));
    }
    let mut roles = BTreeMap::new();
    for (name, spec) in &file.roles {
        let key = format!("roles.{name}");
        let role = match spec {
            RoleSpec::Place(p) => place(p).ok_or_else(|| at(&key, bad_place(p)))?,
            RoleSpec::Prints { prints } => Role::Prints(
                Regex::new(prints)
                    .map_err(|e| at(&key, format!("not a regular expression: {e}")))?,
            ),
        };
        roles.insert(name.clone(), role);
    }
    let role = |key: &str, name: &str| -> Result<Named, ConfigError> {
        let role = match roles.get(name) {
            Some(r) => r.clone(),
            None => place(name).ok_or_else(|| {
                at(
                    key,
                    format!(
                        "unknown role `{name}`: name one of [roles] ({}) or a place: {PLACES}",
                        roles.keys().cloned().collect::<Vec<_>>().join(", ")
                    ),
                )
            })?,
        };
        Ok(Named {
            name: name.to_string(),
            role,
        })
    };
    if file.checks.is_empty() {
        return Err(at("check", "declare at least one [[check]]".into()));
    }
    let mut docs: Vec<DocSpec> = Vec::new();
    let mut scenarios = Vec::new();
    for (i, c) in file.checks.iter().enumerate() {
        let k = |rest: &str| format!("check[{i}].{rest}");
        check_name(&c.id).map_err(|w| at(&k("id"), w))?;
        if c.id == crate::report::BUILD_CHECK || docs.iter().any(|d| d.id == c.id) {
            return Err(at(
                &k("id"),
                format!("`{}` is declared twice (or is the build check's)", c.id),
            ));
        }
        for (j, n) in c.needs.iter().enumerate() {
            if !docs.iter().any(|d| &d.id == n) {
                return Err(at(
                    &k(&format!("needs[{j}]")),
                    format!("`{n}` is not a check declared before this one"),
                ));
            }
        }
        let mut steps = Vec::new();
        for (j, s) in c.steps.iter().enumerate() {
            steps.push(step(
                s,
                &|w| at(&k(&format!("steps[{j}]")), w),
                &|name: &str| role(&k(&format!("steps[{j}]")), name),
            )?);
        }
        let mut lines = Vec::new();
        for (j, l) in c.lines.iter().enumerate() {
            let key = k(&format!("lines[{j}]"));
            let matcher =
                matcher(&l.text, &l.variants, l.policy.as_deref()).map_err(|w| at(&key, w))?;
            let by = l.by.as_deref().map(|b| role(&key, b)).transpose()?;
            let (at_least, at_most) = match (l.count, l.at_least, l.at_most) {
                (Some(n), None, None) => (n, Some(n)),
                (None, lo, hi) => (lo.unwrap_or(1), hi),
                _ => {
                    return Err(at(
                        &key,
                        "give `count`, or `at_least`/`at_most`, not both".into(),
                    ))
                }
            };
            let after = l.after_step.unwrap_or(0);
            if after > steps.len() {
                return Err(at(
                    &key,
                    format!("after_step {after}: the check has {} steps", steps.len()),
                ));
            }
            lines.push(LineExpect {
                shown: l.text.clone(),
                matcher,
                by,
                at_least,
                at_most,
                after_step: after,
                group: l.group.unwrap_or(j as u32 + 1_000_000),
            });
        }
        let mut exits = Vec::new();
        for (j, e) in c.exits.iter().enumerate() {
            let key = k(&format!("exits[{j}]"));
            let ending = match (e.status, &e.signal) {
                (None, None) => Ending::Any,
                (Some(s), None) => Ending::Status(s),
                (None, Some(s)) => Ending::Signal(signal(s).map_err(|w| at(&key, w))?),
                _ => return Err(at(&key, "give `status` or `signal`, not both".into())),
            };
            exits.push(ExitExpect {
                who: role(&key, &e.who)?,
                ending,
                reaped: e.reaped,
            });
        }
        let names = |list: &[String], what: &str| -> Result<Vec<Named>, ConfigError> {
            list.iter()
                .enumerate()
                .map(|(j, n)| role(&k(&format!("{what}[{j}]")), n))
                .collect()
        };
        let inside = match &c.inside {
            None => None,
            Some(s) => {
                let re = |p: &str, key: &str| {
                    Regex::new(p).map_err(|e| at(&k(key), format!("not a regular expression: {e}")))
                };
                Some(Inside {
                    enter: re(&s.enter, "inside.enter")?,
                    leave: re(&s.leave, "inside.leave")?,
                    at_least: s.at_least,
                    at_most: s.at_most,
                })
            }
        };
        let threads = match &c.threads {
            None => None,
            Some(t) => Some((role(&k("threads.who"), &t.who)?, t.at_least)),
        };
        let hints = c
            .hints
            .iter()
            .map(|h| Hint {
                when: h.when.clone(),
                say: h.say.clone(),
                python: h.python.clone(),
                c: h.c.clone(),
            })
            .collect();
        let scenario = Scenario {
            steps,
            lines,
            ordered: c.ordered,
            exits,
            exit_order: names(&c.exit_order, "exit_order")?,
            alive: names(&c.alive, "alive")?,
            no_zombie: c.no_zombie,
            no_leftover: c.no_leftover,
            children: c.children.as_ref().map(|n| (n.at_least, n.at_most)),
            inside,
            threads,
            idle: c.idle,
            hints,
        };
        if scenario.steps.is_empty() && expects_nothing(&scenario) {
            return Err(at(
                &k("id"),
                "a check with no steps and no expectation judges nothing".into(),
            ));
        }
        docs.push(DocSpec {
            id: c.id.clone(),
            points: c.points,
            title: c.title.clone(),
            what: c.what.clone(),
            why: c.why.clone(),
            fix: c.fix.clone(),
            needs: c.needs.clone(),
            unmet: if c.unmet.is_empty() {
                format!("skipped: {} did not pass (see {})", c.id, c.id)
            } else {
                c.unmet.clone()
            },
        });
        scenarios.push(scenario);
    }
    Ok(Compiled {
        name: file.exercise.name,
        title: file.exercise.title,
        python: file.program.python,
        binary: file.program.binary,
        args: file.program.args,
        timing: file.timing,
        docs,
        scenarios,
    })
}

fn expects_nothing(s: &Scenario) -> bool {
    s.lines.is_empty()
        && s.exits.is_empty()
        && s.exit_order.is_empty()
        && s.alive.is_empty()
        && !s.no_zombie
        && !s.no_leftover
        && s.children.is_none()
        && s.inside.is_none()
        && s.threads.is_none()
        && !s.idle
}

/// Names of exercises and checks: config keys and `harness explain` words.
fn check_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 40
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{name}`: use 1 to 40 lowercase letters, digits, `-` or `_`"
        ))
    }
}

const PLACES: &str = "\"program\", \"child\", \"child N\", \"children\", \"every\"";

fn bad_place(p: &str) -> String {
    format!("`{p}` is not a place in the tree: {PLACES}, or {{ prints = \"regex\" }}")
}

fn place(p: &str) -> Option<Role> {
    match p.trim() {
        "program" => Some(Role::Program),
        "child" => Some(Role::Child(1)),
        "children" => Some(Role::Children),
        "every" => Some(Role::Every),
        other => other
            .strip_prefix("child ")
            .and_then(|n| n.trim().parse().ok())
            .filter(|n| *n >= 1)
            .map(Role::Child),
    }
}

fn signal(name: &str) -> Result<Signal, String> {
    let full = if name.starts_with("SIG") {
        name.to_string()
    } else {
        format!("SIG{name}")
    };
    full.parse::<Signal>()
        .map_err(|_| format!("`{name}` is not a signal (SIGINT, SIGUSR1, …)"))
}

fn matcher(text: &str, variants: &[String], policy: Option<&str>) -> Result<Matcher, String> {
    let all = || std::iter::once(text.to_string()).chain(variants.iter().cloned());
    match policy.unwrap_or("normal") {
        "normal" => Ok(Matcher::Phrase(Phrase::new(all()), MatchPolicy::Normalized)),
        "exact" => Ok(Matcher::Phrase(Phrase::new(all()), MatchPolicy::Exact)),
        "regex" => {
            let joined = all()
                .map(|v| format!("(?:{v})"))
                .collect::<Vec<_>>()
                .join("|");
            Regex::new(&joined)
                .map(Matcher::Regex)
                .map_err(|e| format!("not a regular expression: {e}"))
        }
        other => Err(format!(
            "match = \"{other}\": use \"normal\", \"exact\" or \"regex\""
        )),
    }
}

fn press(name: &str) -> Result<Press, String> {
    match name.to_ascii_lowercase().as_str() {
        "ctrl-c" => Ok(Press::CtrlC),
        "ctrl-\\" | "ctrl-backslash" => Ok(Press::CtrlBackslash),
        "ctrl-z" => Ok(Press::CtrlZ),
        "ctrl-d" => Ok(Press::CtrlD),
        _ => Err(format!(
            "key `{name}`: use \"ctrl-c\", \"ctrl-\\\\\", \"ctrl-z\" or \"ctrl-d\""
        )),
    }
}

fn step(
    s: &StepSpec,
    at: &dyn Fn(String) -> ConfigError,
    role: &dyn Fn(&str) -> Result<Named, ConfigError>,
) -> Result<Step, ConfigError> {
    let given: Vec<&str> = [
        ("rest", s.rest.is_some()),
        ("line", s.line.is_some()),
        ("exit", s.exit.is_some()),
        ("type", s.typed.is_some()),
        ("raw", s.raw.is_some()),
        ("key", s.key.is_some()),
        ("signal", s.signal.is_some()),
        ("pass_ms", s.pass_ms.is_some()),
    ]
    .into_iter()
    .filter(|(_, set)| *set)
    .map(|(k, _)| k)
    .collect();
    if given.len() != 1 {
        return Err(at(format!(
            "a step does one thing: rest, line, exit, type, raw, key, signal or pass_ms (found {})",
            if given.is_empty() {
                "none".to_string()
            } else {
                given.join(", ")
            }
        )));
    }
    let settle = s.settle.unwrap_or(true);
    let misplaced = |k: &str| at(format!("`{k}` does not go with `{}`", given[0]));
    if s.to.is_some() && given[0] != "signal" {
        return Err(misplaced("to"));
    }
    if s.policy.is_some() && given[0] != "line" {
        return Err(misplaced("match"));
    }
    if s.settle.is_some() && !matches!(given[0], "type" | "raw" | "key" | "signal") {
        return Err(misplaced("settle"));
    }
    Ok(match given[0] {
        "rest" => Step::Rest,
        "line" => Step::Line(
            matcher(s.line.as_deref().unwrap_or(""), &[], s.policy.as_deref()).map_err(at)?,
        ),
        "exit" => Step::Exit(role(s.exit.as_deref().unwrap_or(""))?),
        "type" => Step::Type {
            text: format!("{}\n", s.typed.as_deref().unwrap_or("")),
            settle,
        },
        "raw" => Step::Type {
            text: s.raw.clone().unwrap_or_default(),
            settle,
        },
        "key" => Step::Key {
            key: press(s.key.as_deref().unwrap_or("")).map_err(at)?,
            settle,
        },
        "signal" => Step::Signal {
            signal: signal(s.signal.as_deref().unwrap_or("")).map_err(at)?,
            to: role(
                s.to.as_deref()
                    .ok_or_else(|| at("a signal step names its target: to = \"role\"".into()))?,
            )?,
            settle,
        },
        _ => Step::Pass(s.pass_ms.unwrap_or(0)),
    })
}
