//! The bus exercise: a driver (the program started) and its child, the conductor.
//!
//! Grading reuses one run for as long as both processes are healthy; a check that finds
//! them dead or stopped (because an earlier key killed one) gets a fresh run, so a driver
//! that dies on Ctrl-C still has its Ctrl-Z behaviour graded.

pub mod checks;
pub mod run;

use std::sync::Arc;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use crate::config::bus::{BusConfig, RepeatKey};
use crate::report::{wording, CheckOutcome, ProcessNote, Report, Status, SCHEMA_VERSION};
use crate::submission::Prepared;
use crate::supervise::cleanup;
use crate::supervise::exits::ExitWatch;
use crate::supervise::isolation::Sandbox;
use crate::supervise::observe::{self, Activity};
use crate::supervise::session::{Exit, Key};
use crate::supervise::spawn::Launch;
use crate::text::escape;
use checks::{
    judge_line_step, key_hint, key_line, note, note_coarse, outcome, transcript_view, Line,
};
use run::{BusRun, Ready, Role, StartFailure, Stimulus};

/// How long the final cleanup of a run may take.
const CLEANUP_MS: u64 = 3000;

struct Grader<'c> {
    cfg: &'c BusConfig,
    /// The submission's launch, confined by the grading's sandbox.
    launch: Launch,
    sandbox: Arc<Sandbox>,
    /// Containment events over all runs: output flood (bytes), disk (bytes, limit), terminal
    /// changes, deadline.
    flood: Option<u64>,
    disk: Option<(u64, u64)>,
    terminal: Vec<String>,
    overran: bool,
    runs: u32,
    known_masks: Option<(u64, u64, u64, u64)>,
    /// CPU used and wall time waited, summed over runs: (driver s, conductor s, wall s).
    cpu: (f64, f64, f64),
    busy_at_start: Vec<Role>,
    /// Leave run-to-run measurements out of messages.
    stable: bool,
}

impl<'c> Grader<'c> {
    fn start(&mut self) -> Result<(BusRun<'c>, Result<Ready, StartFailure>), String> {
        self.runs += 1;
        let (run, result) = BusRun::start(self.cfg, &self.launch, self.known_masks)
            .map_err(|e| format!("could not start the program: {e}"))?;
        if let Ok(r) = &result {
            if self.known_masks.is_none() {
                self.known_masks = Some((
                    r.driver_status.sig_ign,
                    r.driver_status.sig_cgt,
                    r.conductor_status.sig_ign,
                    r.conductor_status.sig_cgt,
                ));
            }
            for b in &r.busy {
                if !self.busy_at_start.contains(b) {
                    self.busy_at_start.push(*b);
                }
            }
        }
        Ok((run, result))
    }

    /// Adds the run's CPU use since readiness to the busy-loop measure.
    fn account_cpu(&mut self, run: &BusRun) {
        if let Some((d, c, wall)) = run.cpu_shares() {
            self.cpu.0 += d * wall;
            self.cpu.1 += c * wall;
            self.cpu.2 += wall;
        }
    }

    /// Notes what the run did that concerns containment.
    fn note_run(&mut self, run: &BusRun) {
        if let Some(b) = run.session.flood() {
            self.flood.get_or_insert(b);
        }
        if let Some(d) = run.session.disk_exceeded() {
            self.disk.get_or_insert(d);
        }
        for c in run.session.terminal_changes() {
            let c = wording::terminal_change(c);
            if !self.terminal.contains(&c) {
                self.terminal.push(c);
            }
        }
        self.overran |= run.session.overran();
    }

    fn finish(&mut self, run: BusRun) {
        self.account_cpu(&run);
        self.note_run(&run);
        let deadline = Instant::now() + std::time::Duration::from_millis(CLEANUP_MS);
        run.session.finish(deadline);
    }

    /// The current run if both processes are healthy, else a fresh one (or why not).
    fn healthy(&mut self, current: &mut Option<BusRun<'c>>) -> Result<bool, String> {
        if current.as_ref().is_some_and(|r| r.healthy()) {
            return Ok(false);
        }
        if self.sandbox.past_deadline() {
            self.overran = true;
            return Err(format!(
                "the grading reached its wall deadline ({} s)",
                self.cfg.limits.wall_seconds
            ));
        }
        if let Some(old) = current.take() {
            self.finish(old);
        }
        let (run, result) = self.start()?;
        match result {
            Ok(_) => {
                *current = Some(run);
                Ok(true)
            }
            Err(f) => {
                self.finish(run);
                Err(format!(
                    "a fresh run did not start as the first did ({f:?})"
                ))
            }
        }
    }
}

/// Grades a bus submission.
pub fn grade(cfg: &BusConfig, prepared: &Prepared, stable: bool) -> Report {
    let t0 = Instant::now();
    cleanup::become_subreaper().ok();
    cleanup::ignore_student_signals();
    let sandbox = Arc::new(Sandbox::new(&cfg.limits.run_limits(), &prepared.layout()));
    let mut g = Grader {
        cfg,
        launch: prepared.launch.clone().confined(sandbox.clone()),
        sandbox: sandbox.clone(),
        flood: None,
        disk: None,
        terminal: Vec::new(),
        overran: false,
        runs: 0,
        known_masks: None,
        cpu: (0.0, 0.0, 0.0),
        busy_at_start: Vec::new(),
        stable,
    };
    let mut out: Vec<CheckOutcome> = Vec::new();
    grade_checks(&mut g, &mut out);
    let notes = containment(&g, &mut out);
    for o in &mut out {
        o.visibility = cfg.visibility.get(&o.id).copied();
    }
    let mut isolation = sandbox.describe();
    isolation.extend(
        sandbox
            .missing()
            .iter()
            .map(|m| format!("not available: {m}")),
    );
    let mut report = Report {
        schema_version: SCHEMA_VERSION,
        exercise: cfg.exercise.name.clone(),
        submission: prepared.info.clone(),
        interpreter: prepared.interpreter.clone(),
        checks: out,
        score: 0,
        max_score: 0,
        runs: g.runs,
        duration_ms: Some(t0.elapsed().as_millis() as u64),
        isolation,
        notes,
    };
    report.total();
    if stable {
        report.make_stable(&prepared.workdir.path().display().to_string());
    }
    report
}

/// What the grading as a whole must say about containment, and the verdicts it changes: after
/// an output flood or the wall deadline, a check that could not be graded failed (the
/// program's doing), it was not merely skipped.
fn containment(g: &Grader, out: &mut [CheckOutcome]) -> Vec<String> {
    let mut notes = Vec::new();
    let mut reason = None;
    if let Some(bytes) = g.flood {
        notes.push(format!(
            "output flood: the program wrote more than {} bytes to its terminal ({bytes} by the time it was stopped); the run was cut off and its processes killed",
            g.cfg.limits.output_bytes
        ));
        reason = Some("the program flooded its terminal (see the note)".to_string());
    }
    if let Some((used, limit)) = g.disk {
        notes.push(format!(
            "disk: the program wrote more than {} MiB (its directory, home and /tmp); the run was cut off and its processes killed",
            limit >> 20
        ));
        let _ = used;
        reason.get_or_insert_with(|| {
            "the program filled its disk allowance (see the note)".to_string()
        });
    }
    if !g.terminal.is_empty() {
        notes.push(format!(
            "the program changed its terminal: {}",
            g.terminal.join("; ")
        ));
    }
    if g.overran {
        notes.push(format!(
            "the grading reached its wall deadline of {} s: what was not done by then failed",
            g.cfg.limits.wall_seconds
        ));
        reason.get_or_insert_with(|| "the grading reached its wall deadline".to_string());
    }
    if let Some(reason) = reason {
        for c in out.iter_mut().filter(|c| c.status == Status::Skipped) {
            c.status = Status::Failed;
            c.points = 0;
            c.details.insert(0, c.message.clone());
            c.message = format!("not graded: {reason}");
        }
    }
    notes
}

/// Adds to a check graded on `run` that the run was cut off (a flood, the disk limit).
fn note_flood(o: &mut CheckOutcome, run: &BusRun) {
    if let Some(why) = run.session.cut_off().as_ref().map(wording::cut_off) {
        if o.status != Status::Passed {
            let was = std::mem::replace(&mut o.message, why);
            o.details.insert(0, was);
        }
    }
}

fn skip_rest(cfg: &BusConfig, out: &mut Vec<CheckOutcome>, why: &str) {
    for (id, _) in checks::CHECKS {
        if !out.iter().any(|c| c.id == *id) {
            out.push(outcome(cfg, id, Status::Skipped, why.to_string()));
        }
    }
}

fn grade_checks(g: &mut Grader, out: &mut Vec<CheckOutcome>) {
    let cfg = g.cfg;
    let (run, first) = match g.start() {
        Ok(x) => x,
        Err(e) => {
            out.push(outcome(cfg, "start", Status::Error, e));
            skip_rest(cfg, out, "the program could not be started");
            return;
        }
    };
    let mut o = checks::start(cfg, &run, &first);
    note_flood(&mut o, &run);
    out.push(o);
    let ready = match first {
        Ok(r) => r,
        Err(_) => {
            g.finish(run);
            skip_rest(
                cfg,
                out,
                "skipped: the program did not start as a driver with one conductor (see start)",
            );
            return;
        }
    };
    out.push(checks::handlers(cfg, &ready));
    let mut current = Some(run);

    // ctrl-c, ctrl-backslash
    for (id, key, line, other) in [
        ("ctrl-c", Key::CtrlC, Line::Go, Line::Seatbelt),
        (
            "ctrl-backslash",
            Key::CtrlBackslash,
            Line::Seatbelt,
            Line::Go,
        ),
    ] {
        out.push(with_run(g, &mut current, id, |run| {
            key_line(cfg, run, id, key, line, other)
        }));
    }
    out.push(with_run(g, &mut current, "repeat", |run| repeat(cfg, run)));
    out.push(roles(g, &mut current));
    // ctrl-z, exit-order and cleanup share one run.
    let fresh = g.healthy(&mut current);
    let run = match (fresh, current.as_mut()) {
        (Ok(fresh), Some(run)) => {
            g.account_cpu(run);
            Some((fresh, run))
        }
        _ => None,
    };
    match run {
        None => {
            skip_rest(
                cfg,
                out,
                "skipped: the program could not be restarted for Ctrl-Z",
            );
        }
        Some((fresh, run)) => {
            // The conductor's exit status (the driver reaps it), from the kernel's exit
            // events: listened to from here on only, since every exit on the machine comes in.
            let exits = ExitWatch::start();
            if let (Some(w), Some(ready)) = (&exits, &run.ready) {
                w.watch(ready.conductor);
            }
            let mut z = ctrl_z(cfg, run);
            note_flood(&mut z, run);
            if fresh {
                z.details
                    .push("graded on a fresh run: the previous one had ended".into());
            }
            out.push(z);
            let (mut order, driver_exited) = exit_order(cfg, run, exits.as_ref());
            note_flood(&mut order, run);
            out.push(order);
            out.push(if driver_exited {
                cleanup_check(cfg, run)
            } else {
                outcome(
                    cfg,
                    "cleanup",
                    Status::Skipped,
                    "skipped: the driver did not exit (see exit-order)",
                )
            });
        }
    }
    if let Some(run) = current.take() {
        g.note_run(&run);
        // CPU was accounted before Ctrl-Z: the exit is not waiting time.
        let deadline = Instant::now() + std::time::Duration::from_millis(CLEANUP_MS);
        run.session.finish(deadline);
    }
    let shares = (g.cpu.2 > 0.0).then(|| (g.cpu.0 / g.cpu.2, g.cpu.1 / g.cpu.2, g.cpu.2));
    out.push(checks::idle(cfg, shares, &g.busy_at_start, g.stable));
}

/// Runs `check` on a healthy run, starting a fresh one if needed.
fn with_run<'c>(
    g: &mut Grader<'c>,
    current: &mut Option<BusRun<'c>>,
    id: &str,
    check: impl FnOnce(&mut BusRun<'c>) -> CheckOutcome,
) -> CheckOutcome {
    match g.healthy(current) {
        Ok(fresh) => {
            let Some(run) = current.as_mut() else {
                return outcome(g.cfg, id, Status::Error, "no run");
            };
            let mut o = check(run);
            note_flood(&mut o, run);
            if fresh {
                o.details
                    .push("graded on a fresh run: the previous one had ended".into());
            }
            o
        }
        Err(why) => outcome(g.cfg, id, Status::Skipped, format!("skipped: {why}")),
    }
}

fn repeat(cfg: &BusConfig, run: &mut BusRun) -> CheckOutcome {
    let mark = run.session.transcript.mark();
    let mut actions = Vec::new();
    let mut failure: Option<(usize, String, String, Key)> = None;
    let mut last = None;
    for (i, k) in cfg.repeat.keys.iter().enumerate() {
        let (key, line, other) = match k {
            RepeatKey::CtrlC => (Key::CtrlC, Line::Go, Line::Seatbelt),
            RepeatKey::CtrlBackslash => (Key::CtrlBackslash, Line::Seatbelt, Line::Go),
        };
        actions.push(format!("typed {}", key.label()));
        let done = |o: &[u8]| checks::occurrences(cfg, line, o).0 >= 1;
        let Some(step) = run.step(Stimulus::Key(key), &done, cfg.timing.step()) else {
            break;
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
        if let Some(p) = j.problems.first() {
            failure = Some((i, p.clone(), j.seen, key));
            last = Some(step);
            break;
        }
        last = Some(step);
    }
    let n = cfg.repeat.keys.len();
    let mut o = match &failure {
        None => outcome(
            cfg,
            "repeat",
            Status::Passed,
            format!("all {n} keys gave their line once, in order"),
        ),
        Some((i, p, seen, key)) => {
            let mut o = outcome(
                cfg,
                "repeat",
                Status::Failed,
                format!("key {} of {n} ({}): {p}", i + 1, key.label()),
            );
            o.seen = Some(format!("after key {}: {seen}", i + 1));
            if let Some(step) = &last {
                o.hint = Some(key_hint(*key, step));
            }
            o
        }
    };
    o.actions = actions;
    o.expected = Some(
        "each Ctrl-C prints line 1 and each Ctrl-\\ line 2, exactly once, in the order typed"
            .into(),
    );
    if let Some(step) = &last {
        o.processes = vec![
            note(run, Role::Driver, &step.driver),
            note(run, Role::Conductor, &step.conductor),
        ];
    }
    if failure.is_some() {
        o.transcript = Some(transcript_view(run, mark));
    }
    o
}

fn roles<'c>(g: &mut Grader<'c>, current: &mut Option<BusRun<'c>>) -> CheckOutcome {
    let cfg = g.cfg;
    let subs = [
        (Role::Conductor, Signal::SIGINT, Line::Go, Line::Seatbelt),
        (Role::Conductor, Signal::SIGQUIT, Line::Seatbelt, Line::Go),
        (Role::Driver, Signal::SIGUSR1, Line::Go, Line::Seatbelt),
        (Role::Driver, Signal::SIGUSR2, Line::Seatbelt, Line::Go),
    ];
    let mut actions = Vec::new();
    let mut problems = Vec::new();
    let mut seen = Vec::new();
    let mut processes = Vec::new();
    let mut fresh_runs = 0;
    for (to, sig, line, other) in subs {
        let label = format!("{} → {}", sig.as_str(), to.name());
        match g.healthy(current) {
            Ok(fresh) => {
                if fresh {
                    fresh_runs += 1;
                }
            }
            Err(why) => {
                problems.push(format!("{label}: not sent: {why}"));
                continue;
            }
        }
        let Some(run) = current.as_mut() else {
            continue;
        };
        actions.push(format!("sent {label}"));
        let done = |o: &[u8]| checks::occurrences(cfg, line, o).0 >= 1;
        let Some(step) = run.step(Stimulus::Signal(to, sig), &done, cfg.timing.step()) else {
            continue;
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
        seen.push(format!("after {label}: {}", j.seen));
        for p in j.problems {
            problems.push(format!("{label}: {p}"));
        }
        processes = vec![
            note(run, Role::Driver, &step.driver),
            note(run, Role::Conductor, &step.conductor),
        ];
    }
    let mut o = if problems.is_empty() {
        outcome(
            cfg,
            "roles",
            Status::Passed,
            "the driver printed lines 1 and 2 for each single-process signal",
        )
    } else {
        let mut o = outcome(cfg, "roles", Status::Failed, problems[0].clone());
        o.details = problems[1..].to_vec();
        o.seen = Some(seen.join("; "));
        o.processes = processes;
        o.hint = Some("SIGINT/SIGQUIT to the conductor must make it signal the driver (SIGUSR1/SIGUSR2); the driver alone prints lines 1 and 2".into());
        o
    };
    if fresh_runs > 0 {
        o.details.push(format!(
            "{fresh_runs} fresh run(s) were needed: a signal ended the previous one"
        ));
    }
    o.actions = actions;
    o.expected = Some("SIGINT → conductor and SIGUSR1 → driver each make the driver print line 1; SIGQUIT → conductor and SIGUSR2 → driver line 2".into());
    o
}

fn ctrl_z(cfg: &BusConfig, run: &mut BusRun) -> CheckOutcome {
    let done = |o: &[u8]| checks::occurrences(cfg, Line::Arrive, o).0 >= 1;
    let Some(step) = run.step(Stimulus::Key(Key::CtrlZ), &done, cfg.timing.step()) else {
        return outcome(cfg, "ctrl-z", Status::Error, "the run was not ready");
    };
    let j = judge_line_step(
        cfg,
        &step,
        Line::Arrive,
        Role::Conductor,
        &[Line::Go, Line::Seatbelt],
        true,
        run.session.program_exit(),
    );
    let mut o = if j.problems.is_empty() {
        outcome(
            cfg,
            "ctrl-z",
            Status::Passed,
            "the conductor printed line 3 once; nothing was stopped",
        )
    } else {
        let mut o = outcome(cfg, "ctrl-z", Status::Failed, j.problems[0].clone());
        o.details = j.problems[1..].to_vec();
        o.hint = Some(key_hint(Key::CtrlZ, &step));
        o
    };
    o.actions = vec!["typed Ctrl-Z".into()];
    o.expected = Some(format!(
        "the conductor prints \"{}\" exactly once; no process is stopped",
        Line::Arrive.text(cfg)
    ));
    o.seen = Some(j.seen);
    o.processes = vec![
        note(run, Role::Driver, &step.driver),
        note(run, Role::Conductor, &step.conductor),
    ];
    o.transcript = Some(transcript_view(run, step.mark));
    o
}

/// `exit-order`; also says whether the driver exited (for `cleanup`).
fn exit_order(
    cfg: &BusConfig,
    run: &mut BusRun,
    exits: Option<&ExitWatch>,
) -> (CheckOutcome, bool) {
    let Some(ready) = run.ready.clone() else {
        return (
            outcome(cfg, "exit-order", Status::Error, "the run was not ready"),
            false,
        );
    };
    let (d, c) = (ready.driver, ready.conductor);
    let deadline = Instant::now() + cfg.timing.exit();
    let mut conductor_at_driver_exit = None;
    run.session.wait_until(deadline, |s| {
        let vc = observe::view(c);
        if s.program_exit().is_some() {
            conductor_at_driver_exit = Some(vc.activity);
            return Some(());
        }
        let vd = observe::view(d);
        // A stopped process will not move again by itself: no use waiting.
        (vd.activity == Activity::Stopped || vc.activity == Activity::Stopped).then_some(())
    });
    let vd = observe::view(d);
    let vc = observe::view(c);
    let mut o;
    let exit = run.session.program_exit();
    match (exit, conductor_at_driver_exit) {
        (None, _) => {
            o = outcome(
                cfg,
                "exit-order",
                Status::Failed,
                if vd.activity == Activity::Stopped || vc.activity == Activity::Stopped {
                    "a process is stopped, so the program cannot end".to_string()
                } else {
                    format!(
                        "the driver did not exit within {} ms after Ctrl-Z",
                        cfg.timing.exit_ms
                    )
                },
            );
            o.hint = Some("after printing line 3 the conductor exits; the driver waits for it (os.wait() / p.join()) and then exits".into());
        }
        (Some(e), Some(ca)) => {
            let mut problems = Vec::new();
            match ca {
                Activity::Gone => {}
                Activity::Zombie => problems.push("the conductor exited but the driver never reaped it (a zombie was left)".to_string()),
                _ => problems.push("the driver exited while the conductor was still running: the conductor must get off first".to_string()),
            }
            // The conductor's status, where the kernel told it (it is the driver's to reap).
            let conductor_exit = match (ca, exits) {
                (Activity::Gone, Some(w)) => w
                    .status(c, Instant::now() + Duration::from_secs(2))
                    .map(Exit::from_wait_status),
                _ => None,
            };
            let mut exits_seen = vec![(Role::Driver, e)];
            exits_seen.extend(conductor_exit.map(|x| (Role::Conductor, x)));
            let mut free_codes = Vec::new();
            for (role, exit) in exits_seen {
                match exit {
                    Exit::Signal(s) => problems.push(format!(
                        "the {} was killed by {}",
                        role.name(),
                        Signal::try_from(s)
                            .map(|s| s.as_str())
                            .unwrap_or("a signal")
                    )),
                    Exit::Code(0) => {}
                    Exit::Code(code) if cfg.rules.nonzero_exit_costs_points => problems.push(
                        format!("the {} exited with status {code}, not 0", role.name()),
                    ),
                    Exit::Code(code) => free_codes.push(format!(
                        "the {} exited with status {code} (costs no points)",
                        role.name()
                    )),
                }
            }
            if ca == Activity::Gone && conductor_exit.is_none() {
                free_codes.push(match exits {
                    Some(w) if w.lost_events() => "the conductor's exit status was not seen (the kernel dropped exit events)".to_string(),
                    Some(_) => "the conductor's exit status was not seen".to_string(),
                    None => "the conductor's exit status cannot be seen here: the kernel's process events connector is not available to the grader (older kernels give it to root only)".to_string(),
                });
            }
            o = if problems.is_empty() {
                outcome(
                    cfg,
                    "exit-order",
                    Status::Passed,
                    "the conductor exited first and was reaped by the driver, which then exited",
                )
            } else {
                let mut o = outcome(cfg, "exit-order", Status::Failed, problems[0].clone());
                o.details = problems[1..].to_vec();
                o.hint = Some(if ca == Activity::Gone {
                    // Order and reaping were right: the fault is how a process ended.
                    "end each process by exiting with status 0 (sys.exit(0), or os._exit(0) in the conductor once line 3 is printed), not by a signal".into()
                } else {
                    "the driver must wait for the conductor (os.wait() or p.join()) before it exits"
                        .into()
                });
                o
            };
            o.details.extend(free_codes);
        }
        (Some(_), None) => {
            o = outcome(
                cfg,
                "exit-order",
                Status::Error,
                "the driver's exit was reported without the conductor's state",
            );
        }
    }
    o.expected =
        Some("the conductor exits and is reaped by the driver; then the driver exits".into());
    o.processes = vec![
        note_coarse(run, Role::Driver, &vd),
        note_coarse(run, Role::Conductor, &vc),
    ];
    (o, exit.is_some())
}

fn cleanup_check(cfg: &BusConfig, run: &mut BusRun) -> CheckOutcome {
    let mut keep = vec![run.session.shim()];
    keep.extend(run.session.program_pid());
    let left = cleanup::descendants_except(&keep);
    if left.is_empty() {
        return outcome(
            cfg,
            "cleanup",
            Status::Passed,
            "no process of the submission remained",
        );
    }
    let mut o = outcome(
        cfg,
        "cleanup",
        Status::Failed,
        format!(
            "{} process(es) remained after the driver exited",
            left.len()
        ),
    );
    let conductor = run.ready.as_ref().map(|r| r.conductor.as_raw());
    o.processes = left
        .iter()
        .map(|l| ProcessNote {
            role: if Some(l.pid) == conductor {
                "conductor".into()
            } else {
                format!("\"{}\"", escape::one_line(&l.command))
            },
            pid: Some(l.pid),
            state: format!(
                "{}{}",
                match l.state {
                    crate::supervise::procfs::RunState::Zombie => "exited, not reaped (zombie)",
                    crate::supervise::procfs::RunState::Stopped => "stopped",
                    _ => "still running",
                },
                if l.session != run.session.shim().as_raw() {
                    ", outside the session"
                } else {
                    ""
                }
            ),
        })
        .collect();
    o.hint = Some(
        "every process the program starts must have exited, and been reaped, when the driver exits"
            .into(),
    );
    o
}
