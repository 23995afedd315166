//! The bus checks, one function each. Each turns what a run observed into a verdict with
//! the facts behind it: what was done, what was expected, what was seen, who did it.

use nix::sys::signal::Signal;

use super::config::BusConfig;
use super::run::{wrong_dispositions, BusRun, Ready, Role, StartFailure, StepOutcome, Stimulus};
use crate::report::{wording, CheckOutcome, ProcessNote, Status, TranscriptView};
use crate::supervise::observe::{Activity, View};
use crate::supervise::session::{Exit, Key};
use crate::supervise::transcript::lines;
use crate::text::escape;
use crate::text::matching::{closest, count_in_line, Phrase};

/// A fresh outcome for check `id`; its title and points are stamped from the check's
/// declaration and the config when it is recorded (`grading::Checklist`).
pub fn outcome(
    _cfg: &BusConfig,
    id: &str,
    status: Status,
    message: impl Into<String>,
) -> CheckOutcome {
    CheckOutcome::new(id, "", status, 0, message)
}

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

fn exit_words(e: Exit) -> String {
    match e {
        Exit::Code(c) => format!("exited with status {c}"),
        Exit::Signal(s) => format!(
            "killed by {}",
            Signal::try_from(s)
                .map(|s| s.as_str().to_string())
                .unwrap_or(format!("signal {s}"))
        ),
    }
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
pub fn start(cfg: &BusConfig, run: &BusRun, result: &Result<Ready, StartFailure>) -> CheckOutcome {
    match result {
        Ok(r) => {
            let mut o = outcome(
                cfg,
                "start",
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
            let (msg, hint) = match f {
                StartFailure::NotExecuted(why) => (
                    format!("the program could not be executed: {}", wording::not_run(why)),
                    "a compiled program must be an executable for this machine; a script must start with #! or be named bus.py",
                ),
                StartFailure::NoDriver => (
                    "the program did not start".to_string(),
                    "check that it runs at all",
                ),
                StartFailure::DriverExited(e) => (
                    format!(
                        "the program {} during start-up",
                        e.map(exit_words).unwrap_or_else(|| "exited".into())
                    ),
                    "run it by hand: it must keep running until Ctrl-Z; the transcript shows what it printed",
                ),
                StartFailure::NoChild => (
                    "the driver waits but never started a conductor (no child process)".to_string(),
                    "the driver must create the conductor with os.fork() or multiprocessing.Process",
                ),
                StartFailure::TooMany(n) => (
                    format!("the program made {n} processes, not a driver and one conductor"),
                    "fork exactly once, in the driver only",
                ),
                StartFailure::ConductorExited => (
                    "the conductor exited during start-up".to_string(),
                    "the conductor must wait for signals (signal.pause()) instead of ending",
                ),
            };
            let mut o = outcome(cfg, "start", Status::Failed, msg);
            o.hint = Some(hint.to_string());
            o.transcript = Some(transcript_view(run, 0));
            o
        }
    }
}

/// `handlers`.
pub fn handlers(cfg: &BusConfig, ready: &Ready) -> CheckOutcome {
    let mut wrong = wrong_dispositions(Role::Driver, &ready.driver_status);
    wrong.extend(wrong_dispositions(Role::Conductor, &ready.conductor_status));
    if wrong.is_empty() {
        return outcome(
            cfg,
            "handlers",
            Status::Passed,
            "every disposition is as required",
        );
    }
    let mut o = outcome(
        cfg,
        "handlers",
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

/// A problem found in one step, if any.
pub struct StepJudgement {
    pub problems: Vec<String>,
    pub seen: String,
}

/// Judges one step that must print `line` exactly once, by `printer`, with both processes
/// alive (or, for `allow_exit`, ending as the exercise wants) and none stopped.
pub fn judge_line_step(
    cfg: &BusConfig,
    step: &StepOutcome,
    line: Line,
    printer: Role,
    others: &[Line],
    allow_exit: bool,
    driver_exit: Option<Exit>,
) -> StepJudgement {
    let mut problems = Vec::new();
    for (role, v) in [
        (Role::Driver, &step.driver),
        (Role::Conductor, &step.conductor),
    ] {
        match v.activity {
            Activity::Stopped => problems.push(format!("the {} is stopped", role.name())),
            a if a.exited() && !allow_exit => problems.push(match (role, driver_exit) {
                (Role::Driver, Some(e @ Exit::Signal(_))) => {
                    format!("the driver was {}", exit_words(e))
                }
                (Role::Driver, Some(e)) => format!("the driver {}", exit_words(e)),
                _ => format!("the {} exited", role.name()),
            }),
            _ => {}
        }
    }
    let (count, longest) = occurrences(cfg, line, &step.output);
    let text = line.text(cfg);
    match count {
        0 => {
            let mut p = format!("line {} \"{}\" was not printed", line.number(), text);
            if let Some(m) = near_miss(cfg, line, &step.output) {
                p.push_str(&format!("; {m}"));
            }
            problems.push(p);
        }
        1 => {}
        n => problems.push(format!(
            "line {} was printed {n} times, not once",
            line.number()
        )),
    }
    for other in others {
        let (n, _) = occurrences(cfg, *other, &step.output);
        if n > 0 {
            problems.push(format!("line {} was printed too ({n}×)", other.number()));
        }
    }
    if count >= 1 {
        let need = longest as u64;
        let (mine, theirs, other_role) = match printer {
            Role::Driver => (step.driver_bytes, step.conductor_bytes, Role::Conductor),
            Role::Conductor => (step.conductor_bytes, step.driver_bytes, Role::Driver),
        };
        if mine < need && theirs >= need {
            problems.push(format!(
                "line {} was printed by the {}, not the {}",
                line.number(),
                other_role.name(),
                printer.name()
            ));
        }
    }
    if step.timed_out && problems.is_empty() {
        problems.push("the processes did not settle before the step deadline".into());
    }
    let seen_lines: Vec<String> = lines(&step.output)
        .iter()
        .map(|l| format!("\"{}\"", escape::one_line(l.as_bytes())))
        .collect();
    StepJudgement {
        problems,
        seen: if seen_lines.is_empty() {
            "no output".into()
        } else {
            seen_lines.join(", ")
        },
    }
}

/// Hints for the usual causes of a failed key step.
pub fn key_hint(key: Key, step: &StepOutcome) -> String {
    let sig = key.signal().as_str();
    if step.driver.activity.exited() {
        return format!(
            "the driver must ignore {sig}: signal.signal(signal.{sig}, signal.SIG_IGN)"
        );
    }
    if step.conductor.activity.exited() {
        return format!("the conductor must catch {sig} with a handler, or it dies of it");
    }
    match key {
        Key::CtrlZ => "the driver catches SIGTSTP and sends SIGUSR1 to the conductor, which prints line 3; the conductor must ignore SIGTSTP or Ctrl-Z stops it".into(),
        Key::CtrlC => "the conductor catches SIGINT and sends SIGUSR1 to the driver (os.kill(os.getppid(), signal.SIGUSR1)); the driver prints line 1 in its SIGUSR1 handler".into(),
        Key::CtrlBackslash => "the conductor catches SIGQUIT and sends SIGUSR2 to the driver; the driver prints line 2 in its SIGUSR2 handler".into(),
    }
}

/// `ctrl-c` and `ctrl-backslash`: one key, one line by the driver.
pub fn key_line(
    cfg: &BusConfig,
    run: &mut BusRun,
    id: &str,
    key: Key,
    line: Line,
    other: Line,
) -> CheckOutcome {
    let phrase_done = |out: &[u8]| occurrences(cfg, line, out).0 >= 1;
    let Some(step) = run.step(Stimulus::Key(key), &phrase_done, cfg.timing.step()) else {
        return outcome(cfg, id, Status::Error, "the run was not ready");
    };
    let j = judge_line_step(
        cfg,
        &step,
        line,
        Role::Driver,
        &[other],
        false,
        run.session.program_exit(),
    );
    let mut o = if j.problems.is_empty() {
        outcome(
            cfg,
            id,
            Status::Passed,
            format!("the driver printed line {} once", line.number()),
        )
    } else {
        let mut o = outcome(cfg, id, Status::Failed, j.problems[0].clone());
        o.details = j.problems[1..].to_vec();
        o.hint = Some(key_hint(key, &step));
        o
    };
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
        return outcome(
            cfg,
            "idle",
            Status::Skipped,
            "no waiting period was observed",
        );
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
    let mut o = if busy.is_empty() {
        outcome(
            cfg,
            "idle",
            Status::Passed,
            "both processes slept while waiting",
        )
    } else {
        let who: Vec<&str> = busy.iter().map(|r| r.name()).collect();
        let mut o = outcome(
            cfg,
            "idle",
            Status::Failed,
            format!(
                "busy loop: the {} kept a CPU busy while waiting",
                who.join(" and the ")
            ),
        );
        o.hint = Some(
            "wait with signal.pause(), os.wait() or p.join() instead of a loop that polls".into(),
        );
        o
    };
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
