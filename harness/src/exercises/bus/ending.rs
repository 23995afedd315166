//! The end of the ride: `ctrl-z` (the conductor's line), `exit-order` (the conductor gets
//! off first and is reaped, then the driver) and `cleanup` (nothing is left behind).

use crate::tr;
use std::time::{Duration, Instant};

use super::checks::{line_step, note, note_coarse, transcript_view, verdict, Expect, Line};
use super::config::BusConfig;
use super::faults::{ExitFault, Leftovers};
use super::run::{BusRun, Role, Stimulus};
use crate::grading::evidence::{judged, judged_in};
use crate::grading::idiom::Idiom;
use crate::report::{CheckOutcome, ProcessNote, Status};
use crate::supervise::cleanup;
use crate::supervise::exits::ExitWatch;
use crate::supervise::observe::{self, Activity};
use crate::supervise::session::{Exit, Key};
use crate::text::escape;

pub(super) fn ctrl_z(cfg: &BusConfig, idiom: Idiom, run: &mut BusRun) -> CheckOutcome {
    let expect = Expect {
        line: Line::Arrive,
        printer: Role::Conductor,
        others: &[Line::Go, Line::Seatbelt],
        allow_exit: true,
    };
    let Some((step, j)) = line_step(cfg, idiom, run, Stimulus::Key(Key::CtrlZ), &expect) else {
        return verdict(Status::Error, tr!("the run was not ready"));
    };
    let mut o = j.outcome(tr!(
        "the conductor printed line 3 once; nothing was stopped"
    ));
    o.actions = vec![tr!("typed Ctrl-Z").into()];
    o.expected = Some(tr!(
        "the conductor prints \"{text}\" exactly once; no process is stopped",
        text = Line::Arrive.text(cfg)
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
    idiom: Idiom,
    run: &mut BusRun,
    exits: Option<&ExitWatch>,
) -> (CheckOutcome, bool) {
    let Some(ready) = run.ready.clone() else {
        return (verdict(Status::Error, tr!("the run was not ready")), false);
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
            let stuck = if vd.activity == Activity::Stopped || vc.activity == Activity::Stopped {
                ExitFault::Stopped
            } else {
                ExitFault::DriverStayed {
                    ms: cfg.timing.exit_ms,
                }
            };
            o = judged_in(&[stuck], "", idiom.0);
        }
        (Some(e), Some(ca)) => {
            let mut faults = Vec::new();
            match ca {
                Activity::Gone => {}
                Activity::Zombie => faults.push(ExitFault::NotReaped),
                _ => faults.push(ExitFault::DriverFirst),
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
                    Exit::Signal(signal) => faults.push(ExitFault::Killed { role, signal }),
                    Exit::Code(0) => {}
                    Exit::Code(code) if cfg.rules.nonzero_exit_costs_points => {
                        faults.push(ExitFault::Status { role, code })
                    }
                    Exit::Code(code) => free_codes.push(tr!(
                        "the {role} exited with status {code} (costs no points)",
                        role = role.name(),
                        code = code
                    )),
                }
            }
            if ca == Activity::Gone && conductor_exit.is_none() {
                free_codes.push(match exits {
                    Some(w) if w.lost_events() => tr!("the conductor's exit status was not seen (the kernel dropped exit events)").to_string(),
                    Some(_) => tr!("the conductor's exit status was not seen").to_string(),
                    None => tr!("the conductor's exit status cannot be seen here: the kernel's process events connector is not available to the grader (older kernels give it to root only)").to_string(),
                });
            }
            o = judged_in(
                &faults,
                tr!("the conductor exited first and was reaped by the driver, which then exited"),
                idiom.0,
            );
            o.details.extend(free_codes);
        }
        (Some(_), None) => {
            o = verdict(
                Status::Error,
                tr!("the driver's exit was reported without the conductor's state"),
            );
        }
    }
    o.expected =
        Some(tr!("the conductor exits and is reaped by the driver; then the driver exits").into());
    o.processes = vec![
        note_coarse(run, Role::Driver, &vd),
        note_coarse(run, Role::Conductor, &vc),
    ];
    (o, exit.is_some())
}

pub(super) fn cleanup_check(run: &mut BusRun) -> CheckOutcome {
    let mut keep = vec![run.session.shim()];
    keep.extend(run.session.program_pid());
    let left = cleanup::descendants_except(&keep);
    if left.is_empty() {
        return verdict(Status::Passed, tr!("no process of the submission remained"));
    }
    let mut o = judged(&[Leftovers(left.len())], "");
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
                    crate::supervise::procfs::RunState::Zombie =>
                        tr!("exited, not reaped (zombie)"),
                    crate::supervise::procfs::RunState::Stopped => "stopped",
                    _ => tr!("still running"),
                },
                if l.session != run.session.shim().as_raw() {
                    tr!(", outside the session")
                } else {
                    ""
                }
            ),
        })
        .collect();
    o
}
