//! The end of the ride: `ctrl-z` (the conductor's line), `exit-order` (the conductor gets
//! off first and is reaped, then the driver) and `cleanup` (nothing is left behind).

use crate::tr;
use std::time::{Duration, Instant};

use super::checks::{line_step, note, note_coarse, transcript_view, verdict, Expect, Line};
use super::config::BusConfig;
use super::faults::{ExitFault, Leftovers};
use super::owners::{Claim, Owners};
use super::run::{BusRun, Role, Stimulus};
use crate::grading::evidence::{judged, judged_in};
use crate::grading::idiom::Idiom;
use crate::report::{CheckOutcome, ProcessNote, Status};
use crate::supervise::cleanup;
use crate::supervise::exits::ExitWatch;
use crate::supervise::observe::{self, Activity};
use crate::supervise::session::{Exit, Key};
use crate::text::escape;

pub(super) fn ctrl_z(
    cfg: &BusConfig,
    idiom: Idiom,
    owners: &Owners,
    run: &mut BusRun,
) -> (CheckOutcome, Claim) {
    let expect = Expect {
        line: Line::Arrive,
        printer: Role::Conductor,
        others: &[Line::Go, Line::Seatbelt],
        allow_exit: true,
    };
    let Some((step, j)) = line_step(cfg, idiom, run, Stimulus::Key(Key::CtrlZ), &expect) else {
        return (
            verdict(Status::Error, tr!("the run was not ready")),
            Claim::default(),
        );
    };
    let (mut o, claim) = j.outcome(
        owners,
        tr!("the conductor printed line 3 once; nothing was stopped"),
    );
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
    (o, claim)
}

/// What `exit-order` tells `cleanup`.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct ExitSeen {
    /// The driver exited.
    pub driver_exited: bool,
    /// The check whose fault the conductor's fate (left running, or a zombie) or the
    /// driver's staying is: `cleanup` does not count it again.
    pub judged_by: Option<&'static str>,
}

/// `exit-order`; also what `cleanup` needs. `ctrl_z_fault`: the check whose fault made
/// Ctrl-Z fail (`ctrl-z`, or the check it was a consequence of): a ride that cannot end
/// because of it (the conductor never told to get off) is skipped, not failed: nothing of
/// the ending could be seen. A stopped conductor is not continued: after a group stop the
/// pending SIGUSR1 may go to any thread of a threaded conductor, whose main thread then never
/// runs its handler (measured in the matrix), so what came next would be left to chance.
pub(super) fn exit_order(
    cfg: &BusConfig,
    idiom: Idiom,
    run: &mut BusRun,
    exits: Option<&ExitWatch>,
    ctrl_z_fault: Option<&'static str>,
) -> (CheckOutcome, ExitSeen) {
    let Some(ready) = run.ready.clone() else {
        return (
            verdict(Status::Error, tr!("the run was not ready")),
            ExitSeen::default(),
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
    let mut judged_by = None;
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
            o = match ctrl_z_fault {
                Some(by) => verdict(
                    Status::Skipped,
                    tr!(
                        "skipped because of {by}: {stuck}; the end of the ride could not be seen",
                        by = by,
                        stuck = stuck
                    ),
                ),
                None => judged_in(&[stuck], "", idiom.0),
            };
            judged_by = Some(ctrl_z_fault.unwrap_or("exit-order"));
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
            if faults
                .iter()
                .any(|f| matches!(f, ExitFault::NotReaped | ExitFault::DriverFirst))
            {
                judged_by = Some("exit-order");
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
    (
        o,
        ExitSeen {
            driver_exited: exit.is_some(),
            judged_by,
        },
    )
}

/// `cleanup`: what is left once the driver has exited. The conductor is `exit-order`'s to
/// judge: when `conductor_judged_by` names the check that counted it (left running, or a
/// zombie that exists only because the grader, as subreaper, holds the orphans a shell's
/// init would reap), it is not counted again.
pub(super) fn cleanup_check(
    run: &mut BusRun,
    conductor_judged_by: Option<&'static str>,
) -> CheckOutcome {
    let mut keep = vec![run.session.shim()];
    keep.extend(run.session.program_pid());
    let conductor = run.ready.as_ref().map(|r| r.conductor.as_raw());
    let (judged_conductor, left): (Vec<_>, Vec<_>) = cleanup::descendants_except(&keep)
        .into_iter()
        .partition(|l| conductor_judged_by.is_some() && Some(l.pid) == conductor);
    let counted = conductor_judged_by.filter(|_| !judged_conductor.is_empty());
    if left.is_empty() {
        return match counted {
            Some(by) => CheckOutcome::consequence(
                by,
                tr!(
                    "because of {by}: only the conductor was left, and {by} counted it",
                    by = by
                ),
            ),
            None => verdict(Status::Passed, tr!("no process of the submission remained")),
        };
    }
    let mut o = judged(&[Leftovers(left.len())], "");
    if let Some(by) = counted {
        o.details.push(tr!(
            "the conductor was left too (the fault of {by}, counted there)",
            by = by
        ));
    }
    o.processes = left
        .iter()
        .map(|l| ProcessNote {
            role: if Some(l.pid) == conductor {
                "conductor".into()
            } else {
                escape::quoted(&l.command)
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
    o
}
