//! The bus checks, one function each. Each turns what a run observed into a verdict with
//! the facts behind it: what was done, what was expected, what was seen, who did it.

use super::config::BusConfig;
use crate::tr;
use nix::sys::signal::Signal;

use super::blame::{exercised_wrong, stimulus_signal, unhandled};
use super::faults::{exit_words, BusyLoop, Python2, PythonError, StepFault};
use super::hints::{self, StepFacts, WrongDisposition};
use super::owners::{counted_in, Claim, Owners};
use super::run::{BusRun, Ready, Role, StartFailure, StepOutcome, Stimulus};
use crate::grading::evidence::{judged, judged_in, Fault};
use crate::grading::idiom::Idiom;
use crate::report::{CheckOutcome, ProcessNote, Status, TranscriptView};
use crate::submission::Language;
use crate::supervise::observe::{self, Activity, View};
use crate::supervise::procfs::Disposition;
use crate::supervise::session::{Exit, Key};
use crate::supervise::transcript::lines;
use crate::supervise::waiting::Wait;
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

/// Where `line` appears in a step's output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Occurrences {
    /// On complete lines (ended by a newline).
    pub complete: usize,
    /// On the last line, still without its newline when the step ended.
    pub unterminated: usize,
    /// The byte length of the longest line holding it (to attribute it by byte counters).
    pub longest: usize,
}

impl Occurrences {
    pub fn total(&self) -> usize {
        self.complete + self.unterminated
    }
}

/// How many times `line` appears in `output`, on complete lines and on an unterminated last
/// one.
pub fn occurrences(cfg: &BusConfig, line: Line, output: &[u8]) -> Occurrences {
    let phrase = line.phrase(cfg);
    let policy = cfg.lines.policy();
    let all = lines(output);
    let open = !output.is_empty() && !output.ends_with(b"\n");
    let mut o = Occurrences::default();
    for (i, l) in all.iter().enumerate() {
        let n = count_in_line(&phrase, l, policy);
        if n > 0 {
            if open && i + 1 == all.len() {
                o.unterminated += n;
            } else {
                o.complete += n;
            }
            o.longest = o.longest.max(l.len());
        }
    }
    o
}

/// How many of the occurrences of `early` in `output` came first on the line that holds
/// `line`, ahead of it: text printed without a newline, held in the buffer until `line`'s
/// newline pushed both out.
pub fn held_back(cfg: &BusConfig, early: Line, line: Line, output: &[u8]) -> usize {
    // Lines longer than this are not searched (a flood).
    const LONGEST: usize = 4096;
    let (want, before) = (line.phrase(cfg), early.phrase(cfg));
    let policy = cfg.lines.policy();
    let mut held = 0;
    for l in lines(output) {
        if l.len() > LONGEST
            || count_in_line(&want, &l, policy) == 0
            || count_in_line(&before, &l, policy) == 0
        {
            continue;
        }
        // The shortest start of the line that holds `line`: what comes before it is there.
        let end = l
            .char_indices()
            .map(|(i, c)| i + c.len_utf8())
            .find(|&i| count_in_line(&want, &l[..i], policy) > 0)
            .unwrap_or(l.len());
        held += count_in_line(&before, &l[..end], policy);
    }
    held
}

/// The nearest miss of `line` in `output`, described for a report.
pub fn near_miss(cfg: &BusConfig, line: Line, output: &[u8]) -> Option<String> {
    let all = lines(output);
    let refs: Vec<&str> = all.iter().map(|s| s.as_str()).collect();
    let m = closest(&line.phrase(cfg), &refs, cfg.lines.policy())?;
    let diffs: Vec<String> = m.differences.iter().map(|d| d.to_string()).collect();
    Some(tr!(
        "closest line: {escape} ({diffs})",
        escape = escape::quoted(m.line.as_bytes()),
        diffs = diffs.join(", ")
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
        n.state = tr!("still running").into();
    }
    n
}

/// `start`.
pub fn start(idiom: Idiom, run: &BusRun, result: &Result<Ready, StartFailure>) -> CheckOutcome {
    match result {
        Ok(r) => {
            // Whether they wait asleep is `idle`'s to judge: a busy pair is not "waiting" here.
            let words = if r.busy.is_empty() {
                tr!("a driver and one conductor started and are waiting")
            } else {
                tr!("a driver and one conductor started; see idle")
            };
            let mut o = verdict(Status::Passed, words);
            if !r.busy.is_empty() {
                let who: Vec<String> = r
                    .busy
                    .iter()
                    .map(|r| tr!("the {role}", role = r.name()))
                    .collect();
                let verb = if who.len() > 1 {
                    tr!("never sleep")
                } else {
                    tr!("never sleeps")
                };
                o.details.push(tr!(
                    "{who} {verb} (see idle)",
                    who = who.join(tr!(" and ")),
                    verb = verb
                ));
            }
            if !r.masks_complete {
                o.details
                    .push(tr!("handlers incomplete when the grader went on (see handlers)").into());
            }
            o
        }
        Err(f) => {
            let mut o = judged_in(std::slice::from_ref(f), "", idiom.0);
            let output = run.session.transcript.since(0);
            // A Python program that died of an exception: its error, and where, in the message.
            let error = match (f, idiom.0) {
                (StartFailure::DriverExited(_), Language::Python) => PythonError::last_in(output),
                _ => None,
            };
            if let Some(e) = error {
                o.message = format!("{}: {e}", o.message);
                o.hint = e.hint();
            }
            if let Some(py2) = Python2::seen_in(output) {
                o.details.push(py2.to_string());
                o.hint = py2.hint();
            }
            o.transcript = Some(transcript_view(run, 0));
            o
        }
    }
}

/// `handlers`: the dispositions read at readiness. One a key check already showed wrong
/// (the driver killed by Ctrl-C) is that check's fault, named here but not charged again.
pub fn handlers(idiom: Idiom, ready: &Ready, owners: &Owners) -> CheckOutcome {
    let mut wrong = hints::wrong_dispositions(Role::Driver, &ready.driver_status);
    wrong.extend(hints::wrong_dispositions(
        Role::Conductor,
        &ready.conductor_status,
    ));
    if wrong.is_empty() {
        return verdict(Status::Passed, tr!("every disposition is as required"));
    }
    let owner = |w: &WrongDisposition| owners.disposition_owner(w.role, w.signal);
    let (owned, own): (Vec<WrongDisposition>, Vec<WrongDisposition>) =
        wrong.iter().partition(|w| owner(w).is_some());
    let words = |w: &WrongDisposition| hints::disposition_words(idiom, w);
    let counted: Vec<String> = owned
        .iter()
        .map(|w| counted_in(&words(w), owner(w).unwrap_or("")))
        .collect();
    let mut o = match own.first() {
        None => {
            let first = &owned[0];
            let by = owner(first).unwrap_or("");
            let mut o = CheckOutcome::consequence(
                by,
                tr!("because of {by}: {words}", by = by, words = words(first)),
            );
            o.details = counted.into_iter().skip(1).collect();
            o
        }
        Some(_) => {
            let mut o = verdict(
                Status::Failed,
                tr!("{wrong} disposition(s) wrong", wrong = own.len()),
            );
            o.details = own.iter().map(words).collect();
            o.details.extend(counted);
            o.hint = hints::handlers_advice(idiom, &own);
            o
        }
    };
    o.expected = Some(
        tr!("driver ignores SIGINT, SIGQUIT and catches SIGUSR1, SIGUSR2, SIGTSTP; conductor ignores SIGTSTP and catches SIGINT, SIGQUIT, SIGUSR1")
            .into(),
    );
    o
}

/// What one step showed: its faults, the lines seen, which processes ended in it (whether
/// or not they were allowed to), the advice its faults call for, and notes that cost nothing.
pub struct StepJudgement {
    pub faults: Vec<StepFault>,
    pub seen: String,
    pub ended: Vec<Role>,
    pub advice: Option<String>,
    pub notes: Vec<String>,
    /// What the advice is chosen from.
    facts: StepFacts,
    idiom: Idiom,
    /// The dispositions the step exercised that are wrong (when it failed).
    blamed: Vec<(Role, Signal)>,
}

impl StepJudgement {
    /// The faults no earlier check has judged, and those it has (with that check).
    pub fn split(&self, owners: &Owners) -> (Vec<StepFault>, Vec<(StepFault, &'static str)>) {
        owners.split(&self.faults)
    }

    /// The advice for `own`, the faults of the step that are the check's own.
    pub fn advice_for(&self, own: &[StepFault]) -> Option<String> {
        hints::step_advice(self.idiom, &self.facts, own)
    }

    /// What the check claims when `own` are its faults.
    pub fn claim(&self, own: Vec<StepFault>) -> Claim {
        if own.is_empty() {
            return Claim::default();
        }
        Claim {
            faults: own,
            dispositions: self.blamed.clone(),
        }
    }

    /// The step's verdict: `passed` when nothing went wrong; its first fault of its own, the
    /// others as details, and the advice for them; a consequence of the check that judged
    /// its fault first when it has none of its own. And what it claims.
    pub fn outcome(&self, owners: &Owners, passed: impl Into<String>) -> (CheckOutcome, Claim) {
        let (own, owned) = self.split(owners);
        let counted = owned.iter().map(|(f, c)| counted_in(f, c));
        let mut o = match owned.first() {
            Some((f, by)) if own.is_empty() => {
                let mut o =
                    CheckOutcome::consequence(by, tr!("because of {by}: {f}", by = by, f = f));
                o.details.extend(counted.skip(1));
                o
            }
            _ => {
                let mut o = judged(&own, passed);
                if o.status == Status::Failed {
                    o.hint = self.advice_for(&own);
                }
                o.details.extend(counted);
                o
            }
        };
        o.details.extend(self.notes.iter().cloned());
        (o, self.claim(own))
    }
}

/// The process states just before a step, for its advice: (driver, conductor).
pub type Before = (Option<View>, Option<View>);

/// Whether `role` woke up during the step (a handler ran), where that can be told: it
/// waited without a timeout before and after, and the stimulus itself did not wake it.
fn woke(before: Option<&View>, after: &View, stimulus_wakes_it: bool) -> Option<bool> {
    let b = before?;
    let waiting = |v: &View| v.activity == Activity::Waiting(Wait::Indefinite);
    if stimulus_wakes_it || !waiting(b) || !waiting(after) {
        return None;
    }
    Some(after.status.as_ref()?.voluntary_switches > b.status.as_ref()?.voluntary_switches)
}

/// Judges one step that must print `line` exactly once, by `printer`, with both processes
/// alive (or, for `allow_exit`, ending as the exercise wants) and none stopped.
fn judge_line_step(
    cfg: &BusConfig,
    idiom: Idiom,
    step: &StepOutcome,
    expect: &Expect,
    stimulus: Stimulus,
    before: &Before,
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
    let mut notes = Vec::new();
    let interrupt = idiom.0 == Language::Python
        && stimulus_signal(stimulus) == Signal::SIGINT
        && step
            .output
            .windows(b"KeyboardInterrupt".len())
            .any(|w| w == b"KeyboardInterrupt");
    let driver_ended = step.driver.activity.exited();
    for (role, v, b) in [
        (Role::Driver, &step.driver, before.0.as_ref()),
        (Role::Conductor, &step.conductor, before.1.as_ref()),
    ] {
        if v.activity.exited() {
            ended.push(role);
        }
        match v.activity {
            Activity::Stopped => faults.push(StepFault::Stopped(role)),
            a if a.exited() && !allow_exit => {
                // The conductor's KeyboardInterrupt only when the driver did not end too.
                let interrupt = interrupt && (role == Role::Driver || !driver_ended);
                faults.push(unhandled(role, stimulus, b, interrupt).unwrap_or(
                    match (role, driver_exit) {
                        (Role::Driver, Some(e)) => StepFault::DriverEnded(e),
                        _ => StepFault::Exited(role),
                    },
                ))
            }
            _ => {}
        }
    }
    let seen_line = occurrences(cfg, line, &step.output);
    match (seen_line.complete, seen_line.unterminated) {
        (0, 0) => faults.push(StepFault::Missing {
            number: line.number(),
            text: line.text(cfg),
            near_miss: near_miss(cfg, line, &step.output),
        }),
        (0, _) => faults.push(StepFault::Unterminated {
            number: line.number(),
            text: line.text(cfg),
        }),
        (1, 0) => {}
        _ => faults.push(StepFault::Repeated {
            number: line.number(),
            times: seen_line.total(),
        }),
    }
    for other in others {
        let times = occurrences(cfg, *other, &step.output).total();
        if times == 0 {
            continue;
        }
        // Text of the same process's that came out ahead of this step's line, on its line:
        // printed earlier without a newline. Its fault is the earlier step's, not this one's.
        let same_printer = hints::printer(*other) == printer;
        if same_printer
            && seen_line.complete == 1
            && held_back(cfg, *other, line, &step.output) == times
        {
            notes.push(tr!("line {other} arrived here too, late, at the start of line {line}'s line: it had been printed without a newline and stayed in the {printer}'s output buffer until this newline pushed it out (it counts where it was due, not here)", other = other.number(), line = line.number(), printer = printer.name()));
        } else {
            faults.push(StepFault::Stray {
                number: other.number(),
                times,
            });
        }
    }
    let (mine, theirs, other_role) = match printer {
        Role::Driver => (step.driver_bytes, step.conductor_bytes, Role::Conductor),
        Role::Conductor => (step.conductor_bytes, step.driver_bytes, Role::Driver),
    };
    let need = seen_line.longest as u64;
    if seen_line.total() >= 1 && mine < need && theirs >= need {
        faults.push(StepFault::WrongPrinter {
            number: line.number(),
            by: other_role,
            not: printer,
        });
    }
    if step.timed_out && faults.is_empty() {
        faults.push(StepFault::Unsettled);
    }
    let seen_lines: Vec<String> = lines(&step.output)
        .iter()
        .map(|l| escape::quoted(l.as_bytes()))
        .collect();
    let facts = {
        let (bd, bc) = before;
        let (printer_before, printer_after) = match printer {
            Role::Driver => (bd.as_ref(), &step.driver),
            Role::Conductor => (bc.as_ref(), &step.conductor),
        };
        let (_, _, notice) = hints::relay(line);
        let stimulus_wakes_it = match stimulus {
            Stimulus::Key(k) => {
                k.signal() != notice
                    && printer_before
                        .and_then(|v| v.status.as_ref())
                        .is_some_and(|s| s.disposition(k.signal() as i32) == Disposition::Caught)
            }
            Stimulus::Signal(to, s) => to == printer && s != notice,
        };
        StepFacts {
            stimulus,
            line,
            driver_before: bd.as_ref().and_then(|v| v.status.clone()),
            conductor_before: bc.as_ref().and_then(|v| v.status.clone()),
            printer_woke: woke(printer_before, printer_after, stimulus_wakes_it),
            // The view after the step is the one taken as it settled, every process asleep.
            printer_polls: [printer_before, Some(printer_after)]
                .into_iter()
                .flatten()
                .any(|v| v.activity == Activity::Waiting(Wait::Timed)),
            silent: step.output.is_empty(),
            other_wrote_line: seen_line.total() >= 1 && need > 0 && theirs >= need,
            also: line
                .phrase(cfg)
                .variants
                .iter()
                .skip(1)
                .map(|v| escape::one_line(v.as_bytes()))
                .collect(),
        }
    };
    let advice = hints::step_advice(idiom, &facts, &faults);
    let blamed = if faults.is_empty() {
        Vec::new()
    } else {
        exercised_wrong(stimulus, line, before)
    };
    StepJudgement {
        faults,
        seen: if seen_lines.is_empty() {
            tr!("no output").into()
        } else {
            seen_lines.join(", ")
        },
        ended,
        advice,
        notes,
        facts,
        idiom,
        blamed,
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

/// Applies `stimulus` and judges the step against `expect` (`None`: the run was not ready);
/// its advice is worded in `idiom`.
pub fn line_step(
    cfg: &BusConfig,
    idiom: Idiom,
    run: &mut BusRun,
    stimulus: Stimulus,
    expect: &Expect,
) -> Option<(StepOutcome, StepJudgement)> {
    let done = |out: &[u8]| occurrences(cfg, expect.line, out).total() >= 1;
    let before: Before = match &run.ready {
        Some(r) => (
            Some(observe::view(r.driver)),
            Some(observe::view(r.conductor)),
        ),
        None => (None, None),
    };
    let step = run.step(stimulus, &done, cfg.timing.step())?;
    let j = judge_line_step(
        cfg,
        idiom,
        &step,
        expect,
        stimulus,
        &before,
        run.session.program_exit(),
    );
    Some((step, j))
}

/// `ctrl-c` and `ctrl-backslash`: one key, one line by the driver.
pub fn key_line(
    cfg: &BusConfig,
    idiom: Idiom,
    owners: &Owners,
    run: &mut BusRun,
    key: Key,
    line: Line,
    other: Line,
) -> (CheckOutcome, Claim) {
    let expect = Expect::driver(line, std::slice::from_ref(&other));
    let Some((step, j)) = line_step(cfg, idiom, run, Stimulus::Key(key), &expect) else {
        return (
            verdict(Status::Error, tr!("the run was not ready")),
            Claim::default(),
        );
    };
    let (mut o, claim) = j.outcome(
        owners,
        tr!("the driver printed line {line} once", line = line.number()),
    );
    o.actions = vec![tr!("typed {key}", key = key.label())];
    o.expected = Some(tr!(
        "the driver prints \"{line}\" exactly once; both keep running",
        line = line.text(cfg)
    ));
    o.seen = Some(j.seen);
    o.processes = vec![
        note(run, Role::Driver, &step.driver),
        note(run, Role::Conductor, &step.conductor),
    ];
    o.transcript = Some(transcript_view(run, step.mark));
    (o, claim)
}

/// `idle`, from the CPU used between readiness and the last step before Ctrl-Z.
pub fn idle(
    cfg: &BusConfig,
    idiom: Idiom,
    shares: Option<(f64, f64, f64)>,
    busy_at_start: &[Role],
    stable: bool,
) -> CheckOutcome {
    let limit = cfg.rules.busy_cpu_share;
    let Some((d, c, wall)) = shares else {
        return verdict(Status::Skipped, tr!("no waiting period was observed"));
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
    let mut o = judged_in(&faults, tr!("both processes slept while waiting"), idiom.0);
    if !stable {
        let (wall, driver, conductor, limit) = (
            format!("{wall:.2}"),
            format!("{:.0}", d * 100.0),
            format!("{:.0}", c * 100.0),
            format!("{:.0}", limit * 100.0),
        );
        o.details.push(tr!(
            "CPU share while waiting ({wall} s): driver {driver}%, conductor {conductor}% (limit {limit}%)",
            wall = wall,
            driver = driver,
            conductor = conductor,
            limit = limit
        ));
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_counts_once_its_newline_is_there() {
        let cfg = BusConfig::shipped().unwrap();
        let done = occurrences(&cfg, Line::Go, "老司机开车了\r\n".as_bytes());
        assert_eq!((done.complete, done.unterminated), (1, 0));
        let open = occurrences(&cfg, Line::Go, "老司机开车了".as_bytes());
        assert_eq!((open.complete, open.unterminated), (0, 1));
        let both = occurrences(&cfg, Line::Go, "老司机开车了\r\n老司机开车了".as_bytes());
        assert_eq!((both.complete, both.unterminated, both.total()), (1, 1, 2));
    }

    #[test]
    fn text_held_back_is_told_from_a_line_printed_after() {
        let cfg = BusConfig::shipped().unwrap();
        let glued = "老司机开车了老司机开车了系好安全带，车速有点快\r\n".as_bytes();
        assert_eq!(held_back(&cfg, Line::Go, Line::Seatbelt, glued), 2);
        let after = "系好安全带，车速有点快老司机开车了\r\n".as_bytes();
        assert_eq!(held_back(&cfg, Line::Go, Line::Seatbelt, after), 0);
        let apart = "老司机开车了\r\n系好安全带，车速有点快\r\n".as_bytes();
        assert_eq!(held_back(&cfg, Line::Go, Line::Seatbelt, apart), 0);
    }
}
