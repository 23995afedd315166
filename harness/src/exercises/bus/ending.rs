//! The end of the ride: `ctrl-z` (the conductor's line), `exit-order` (the conductor gets
//! off first and is reaped, then the driver) and `cleanup` (nothing is left behind).

use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use super::checks::{
    self, judge_line_step, key_hint, note, note_coarse, outcome, transcript_view, Line,
};
use super::config::BusConfig;
use super::run::{BusRun, Role, Stimulus};
use crate::report::{CheckOutcome, ProcessNote, Status};
use crate::supervise::cleanup;
use crate::supervise::exits::ExitWatch;
use crate::supervise::observe::{self, Activity};
use crate::supervise::session::{Exit, Key};
use crate::text::escape;

pub(super) fn ctrl_z(cfg: &BusConfig, run: &mut BusRun) -> CheckOutcome {
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
pub(super) fn exit_order(
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

pub(super) fn cleanup_check(cfg: &BusConfig, run: &mut BusRun) -> CheckOutcome {
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
