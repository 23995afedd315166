//! The bus checks, one function each. Each turns what a run observed into a verdict with
//! the facts behind it: what was done, what was expected, what was seen, who did it.

use super::config::BusConfig;
use super::faults::{exit_words, key_hint, BusyLoop, Python2, StepFault};
use super::run::{wrong_dispositions, BusRun, Ready, Role, StartFailure, StepOutcome, Stimulus};
use crate::grading::evidence::{judged, Fault};
use crate::report::{CheckOutcome, ProcessNote, Status, TranscriptView};
use crate::supervise::observe::{Activity, View};
use crate::supervise::session::{Exit, Key};
use crate::supervise::transcript::lines;
use crate::text::escape;
use crate::text::matching::{closest, count_in_line, Phrase};

pub use crate::grading::evidence::verdict;

/// The three expected lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Line {
    Go,
    Seatbelt,
    Arrive,
}

impl Line {
    pub fn phrase(self, cfg: &BusConfig) -> Phrase {
        match self {
            Line::Go => cfg.lines.go.phrase(),
            Line::Seatbelt => cfg.lines.seatbelt.phrase(),
            Line::Arrive => cfg.lines.arrive.phrase(),
        }
    }
    pub fn text(self, cfg: &BusConfig) -> String {
        self.phrase(cfg)
            .variants
            .first()
            .cloned()
            .unwrap_or_default()
    }
    pub fn number(self) -> u8 {
        match self {
            Line::Go => 1,
            Line::Seatbelt => 2,
            Line::Arrive => 3,
        }
    }
}

/// How many times `line` appears in `output`, and the byte length of the longest line
/// holding it (to attribute it by byte counters).
pub fn occurrences(cfg: &BusConfig, line: Line, output: &[u8]) -> (usize, usize) {
    let phrase = line.phrase(cfg);
    let policy = cfg.lines.policy();
    let mut count = 0;
    let mut longest = 0;
    for l in lines(output) {
        let n = count_in_line(&phrase, &l, policy);
        if n > 0 {
            count += n;
            longest = longest.max(l.len());
        }
    }
    (count, longest)
}

/// The nearest miss of `line` in `output`, described for a report.
pub fn near_miss(cfg: &BusConfig, line: Line, output: &[u8]) -> Option<String> {
    let all = lines(output);
    let refs: Vec<&str> = all.iter().map(|s| s.as_str()).collect();
    let m = closest(&line.phrase(cfg), &refs, cfg.lines.policy())?;
    let diffs: Vec<String> = m.differences.iter().map(|d| d.to_string()).collect();
    Some(format!(
        "closest line: \"{}\" ({})",
        escape::one_line(m.line.as_bytes()),
        diffs.join(", ")
    ))
}

/// The transcript of a run from `mark`, for a report.
pub fn transcript_view(run: &BusRun, mark: usize) -> TranscriptView {
    TranscriptView::from_transcript(&run.session.transcript, mark)
}

/// A process note for the report.
pub fn note(run: &BusRun, role: Role, v: &View) -> ProcessNote {
    let mut state = v.activity.describe().to_string();
    if role == Role::Driver && v.activity.exited() {
        if let Some(e) = run.session.program_exit() {
            state = exit_words(e);
        }
    }
    ProcessNote {
        role: role.name().to_string(),
        pid: Some(v.pid.as_raw()),
        state,
    }
}

/// A process note for a moment when it may be anywhere in its life (after Ctrl-Z): alive
/// processes are "still running" whatever they are doing at that instant.
pub fn note_coarse(run: &BusRun, role: Role, v: &View) -> ProcessNote {
    let mut n = note(run, role, v);
    if matches!(v.activity, Activity::Waiting(_) | Activity::Active) {
        n.state = "still running".into();
    }
    n
}

/// `start`.
pub fn start(run: &BusRun, result: &Result<Ready, StartFailure>) -> CheckOutcome {
    match result {
        Ok(r) => {
            let mut o = verdict(
                Status::Passed,
                "a driver and one conductor started and are waiting",
            );
            if !r.busy.is_empty() {
                let who: Vec<String> = r.busy.iter().map(|r| format!("the {}", r.name())).collect();
                let verb = if who.len() > 1 {
                    "never sleep"
                } else {
                    "never sleeps"
                };
                o.details
                    .push(format!("{} {verb} (see idle)", who.join(" and ")));
            }
            if !r.masks_complete {
                o.details
                    .push("handlers incomplete when the grader went on (see handlers)".into());
            }
            o
        }
        Err(f) => {
            let mut o = judged(std::slice::from_ref(f), "");
            if let Some(py2) = Python2::seen_in(run.session.transcript.since(0)) {
                o.details.push(py2.to_string());
                o.hint = py2.hint();
            }
            o.transcript = Some(transcript_view(run, 0));
            o
        }
    }
}

/// `handlers`.
pub fn handlers(ready: &Ready) -> CheckOutcome {
    let mut wrong = wrong_dispositions(Role::Driver, &ready.driver_status);
    wrong.extend(wrong_dispositions(Role::Conductor, &ready.conductor_status));
    if wrong.is_empty() {
        return verdict(Status::Passed, "every disposition is as required");
    }
    let mut o = verdict(
        Status::Failed,
        format!("{} disposition(s) wrong", wrong.len()),
    );
    o.expected = Some(
        "driver ignores SIGINT, SIGQUIT and catches SIGUSR1, SIGUSR2, SIGTSTP; conductor ignores SIGTSTP and catches SIGINT, SIGQUIT, SIGUSR1"
            .into(),
    );
    o.details = wrong;
    o.hint = Some(
        "install handlers with signal.signal(SIG, handler) and ignore with signal.signal(SIG, signal.SIG_IGN), in the right process (after fork for the conductor)"
            .into(),
    );
    o
}

/// What one step showed: its faults, the lines seen, and which processes ended in it
/// (whether or not they were allowed to: the key's advice depends on it).
pub struct StepJudgement {
    pub faults: Vec<StepFault>,
    pub seen: String,
    pub ended: Vec<Role>,
}

impl StepJudgement {
    /// The step's verdict: `passed` when nothing went wrong, otherwise its first fault, the
    /// others as details, and `key`'s advice (for a key step).
    pub fn outcome(&self, passed: impl Into<String>, key: Option<Key>) -> CheckOutcome {
        let mut o = judged(&self.faults, passed);
        if let (Status::Failed, Some(key)) = (o.status, key) {
            o.hint = Some(key_hint(key, &self.ended));
        }
        o
    }
}

/// Judges one step that must print `line` exactly once, by `printer`, with both processes
/// alive (or, for `allow_exit`, ending as the exercise wants) and none stopped.
fn judge_line_step(
    cfg: &BusConfig,
    step: &StepOutcome,
    expect: &Expect,
    driver_exit: Option<Exit>,
) -> StepJudgement {
    let Expect {
        line,
        printer,
        others,
        allow_exit,
    } = *expect;
    let mut faults = Vec::new();
    let mut ended = Vec::new();
    for (role, v) in [
        (Role::Driver, &step.driver),
        (Role::Conductor, &step.conductor),
    ] {
        if v.activity.exited() {
            ended.push(role);
        }
        match v.activity {
            Activity::Stopped => faults.push(StepFault::Stopped(role)),
            a if a.exited() && !allow_exit => faults.push(match (role, driver_exit) {
                (Role::Driver, Some(e)) => StepFault::DriverEnded(e),
                _ => StepFault::Exited(role),
            }),
            _ => {}
        }
    }
    let (count, longest) = occurrences(cfg, line, &step.output);
    match count {
        0 => faults.push(StepFault::Missing {
            number: line.number(),
            text: line.text(cfg),
            near_miss: near_miss(cfg, line, &step.output),
        }),
        1 => {}
        times => faults.push(StepFault::Repeated {
            number: line.number(),
            times,
        }),
    }
    for other in others {
        let (times, _) = occurrences(cfg, *other, &step.output);
        if times > 0 {
            faults.push(StepFault::Stray {
                number: other.number(),
                times,
            });
        }
    }
    if count >= 1 {
        let need = longest as u64;
        let (mine, theirs, other_role) = match printer {
            Role::Driver => (step.driver_bytes, step.conductor_bytes, Role::Conductor),
            Role::Conductor => (step.conductor_bytes, step.driver_bytes, Role::Driver),
        };
        if mine < need && theirs >= need {
            faults.push(StepFault::WrongPrinter {
                number: line.number(),
                by: other_role,
                not: printer,
            });
        }
    }
    if step.timed_out && faults.is_empty() {
        faults.push(StepFault::Unsettled);
    }
    let seen_lines: Vec<String> = lines(&step.output)
        .iter()
        .map(|l| format!("\"{}\"", escape::one_line(l.as_bytes())))
        .collect();
    StepJudgement {
        faults,
        seen: if seen_lines.is_empty() {
            "no output".into()
        } else {
            seen_lines.join(", ")
        },
        ended,
    }
}

/// What a step must show: `line`, printed once by `printer`, none of `others`; for
/// `allow_exit`, processes may end (Ctrl-Z ends the ride).
pub struct Expect<'a> {
    pub line: Line,
    pub printer: Role,
    pub others: &'a [Line],
    pub allow_exit: bool,
}

impl Expect<'_> {
    /// The driver prints `line` and not `other`; both keep running.
    pub fn driver(line: Line, other: &[Line]) -> Expect<'_> {
        Expect {
            line,
            printer: Role::Driver,
            others: other,
            allow_exit: false,
        }
    }
}

/// Applies `stimulus` and judges the step against `expect` (`None`: the run was not ready).
pub fn line_step(
    cfg: &BusConfig,
    run: &mut BusRun,
    stimulus: Stimulus,
    expect: &Expect,
) -> Option<(StepOutcome, StepJudgement)> {
    let done = |out: &[u8]| occurrences(cfg, expect.line, out).0 >= 1;
    let step = run.step(stimulus, &done, cfg.timing.step())?;
    let j = judge_line_step(cfg, &step, expect, run.session.program_exit());
    Some((step, j))
}

/// `ctrl-c` and `ctrl-backslash`: one key, one line by the driver.
pub fn key_line(
    cfg: &BusConfig,
    run: &mut BusRun,
    key: Key,
    line: Line,
    other: Line,
) -> CheckOutcome {
    let expect = Expect::driver(line, std::slice::from_ref(&other));
    let Some((step, j)) = line_step(cfg, run, Stimulus::Key(key), &expect) else {
        return verdict(Status::Error, "the run was not ready");
    };
    let mut o = j.outcome(
        format!("the driver printed line {} once", line.number()),
        Some(key),
    );
    o.actions = vec![format!("typed {}", key.label())];
    o.expected = Some(format!(
        "the driver prints \"{}\" exactly once; both keep running",
        line.text(cfg)
    ));
    o.seen = Some(j.seen);
    o.processes = vec![
        note(run, Role::Driver, &step.driver),
        note(run, Role::Conductor, &step.conductor),
    ];
    o.transcript = Some(transcript_view(run, step.mark));
    o
}

/// `idle`, from the CPU used between readiness and the last step before Ctrl-Z.
pub fn idle(
    cfg: &BusConfig,
    shares: Option<(f64, f64, f64)>,
    busy_at_start: &[Role],
    stable: bool,
) -> CheckOutcome {
    let limit = cfg.rules.busy_cpu_share;
    let Some((d, c, wall)) = shares else {
        return verdict(Status::Skipped, "no waiting period was observed");
    };
    let mut busy: Vec<Role> = busy_at_start.to_vec();
    if wall >= 0.02 {
        if d > limit && !busy.contains(&Role::Driver) {
            busy.push(Role::Driver);
        }
        if c > limit && !busy.contains(&Role::Conductor) {
            busy.push(Role::Conductor);
        }
    }
    busy.sort_by_key(|r| *r as u8);
    let faults: Vec<BusyLoop> = (!busy.is_empty())
        .then_some(BusyLoop(busy))
        .into_iter()
        .collect();
    let mut o = judged(&faults, "both processes slept while waiting");
    if !stable {
        o.details.push(format!(
            "CPU share while waiting ({wall:.2} s): driver {:.0}%, conductor {:.0}% (limit {:.0}%)",
            d * 100.0,
            c * 100.0,
            limit * 100.0
        ));
    }
    o
}
