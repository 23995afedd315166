//! The state of one bus grading, shared by its checks: the run in progress (reused while
//! both processes are healthy, replaced by a fresh one when an earlier key killed one), and
//! what the runs did that concerns the grading as a whole.

use crate::tr;
use std::sync::Arc;
use std::time::Instant;

use super::checks::verdict;
use super::config::BusConfig;
use super::owners::{Claim, Owners};
use super::run::{BusRun, Ready, Role, StartFailure};
use crate::grading::containment::{Containment, Flood};
use crate::grading::idiom::Idiom;
use crate::report::{wording, CheckOutcome, Status};
use crate::supervise::cleanup;
use crate::supervise::exits::ExitWatch;
use crate::supervise::isolation::Sandbox;
use crate::supervise::session::TerminalChange;
use crate::supervise::spawn::Launch;

/// The run that `ctrl-z`, `exit-order` and `cleanup` share.
pub(super) struct Ending {
    /// The kernel's exit events, for the conductor's status.
    pub exits: Option<ExitWatch>,
    /// Set by `exit-order`, for `cleanup`.
    pub driver_exited: bool,
    /// The check that counted the conductor's fate or the driver's staying (for `cleanup`).
    pub judged_by: Option<&'static str>,
}

pub(super) struct Grader<'c> {
    pub cfg: &'c BusConfig,
    /// The calls hints name: the submission's language's.
    pub idiom: Idiom,
    /// The submission's launch, confined by the grading's sandbox.
    launch: Launch,
    pub sandbox: Arc<Sandbox>,
    /// The run the next check uses.
    pub current: Option<BusRun<'c>>,
    /// Tried for `ctrl-z`: `Some` when a healthy run was had.
    pub ending: Option<Option<Ending>>,
    /// Which check judged which fault (one fault, one check).
    pub owners: Owners,
    /// The first run's readiness: its dispositions, which `handlers` judges last.
    pub first_ready: Option<Ready>,
    /// The check whose fault made `ctrl-z` fail (itself, or the one it repeated).
    pub ctrl_z_fault: Option<&'static str>,
    /// Containment events over all runs: output flood (bytes), disk (bytes, limit), terminal
    /// changes, deadline.
    flood: Option<u64>,
    disk: Option<(u64, u64)>,
    terminal: Vec<TerminalChange>,
    overran: bool,
    pub runs: u32,
    known_masks: Option<(u64, u64, u64, u64)>,
    /// CPU used and wall time waited, summed over runs: (driver s, conductor s, wall s).
    cpu: (f64, f64, f64),
    pub busy_at_start: Vec<Role>,
    /// Leave run-to-run measurements out of messages.
    pub stable: bool,
}

impl<'c> Grader<'c> {
    pub fn new(
        cfg: &'c BusConfig,
        idiom: Idiom,
        launch: Launch,
        sandbox: Arc<Sandbox>,
        stable: bool,
    ) -> Self {
        Grader {
            cfg,
            idiom,
            launch,
            sandbox,
            current: None,
            ending: None,
            owners: Owners::default(),
            first_ready: None,
            ctrl_z_fault: None,
            flood: None,
            disk: None,
            terminal: Vec::new(),
            overran: false,
            runs: 0,
            known_masks: None,
            cpu: (0.0, 0.0, 0.0),
            busy_at_start: Vec::new(),
            stable,
        }
    }

    pub fn start(&mut self) -> Result<(BusRun<'c>, Result<Ready, StartFailure>), String> {
        self.runs += 1;
        let (run, result) = BusRun::start(self.cfg, &self.launch, self.known_masks)
            .map_err(|e| tr!("could not start the program: {e}", e = e))?;
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
    pub fn account_cpu(&mut self, run: &BusRun) {
        if let Some((d, c, wall)) = run.cpu_shares() {
            self.cpu.0 += d * wall;
            self.cpu.1 += c * wall;
            self.cpu.2 += wall;
        }
    }

    /// The CPU shares of (driver, conductor) over all the waiting time, and that time.
    pub fn cpu_shares(&self) -> Option<(f64, f64, f64)> {
        let (d, c, wall) = self.cpu;
        (wall > 0.0).then(|| (d / wall, c / wall, wall))
    }

    /// Notes what the run did that concerns containment.
    pub fn note_run(&mut self, run: &BusRun) {
        if let Some(b) = run.session.flood() {
            self.flood.get_or_insert(b);
        }
        if let Some(d) = run.session.disk_exceeded() {
            self.disk.get_or_insert(d);
        }
        for c in run.session.terminal_changes() {
            if !self.terminal.contains(c) {
                self.terminal.push(*c);
            }
        }
        self.overran |= run.session.overran();
    }

    /// Ends a run: its CPU and containment facts are kept, its processes killed.
    pub fn finish(&mut self, run: BusRun) {
        self.account_cpu(&run);
        self.retire(run);
    }

    /// Ends a run without counting its CPU (already counted: what follows is its exit).
    pub fn retire(&mut self, run: BusRun) {
        self.note_run(&run);
        let deadline = Instant::now() + cleanup::CLEANUP_TIME;
        run.session.finish(deadline);
    }

    /// Makes `current` a healthy run: the one there (false) or a fresh one (true), or why not.
    pub fn healthy(&mut self) -> Result<bool, String> {
        if self.current.as_ref().is_some_and(|r| r.healthy()) {
            return Ok(false);
        }
        if self.sandbox.past_deadline() {
            self.overran = true;
            return Err(tr!(
                "the grading reached its wall deadline ({cfg} s)",
                cfg = self.cfg.limits.wall_seconds
            ));
        }
        if let Some(old) = self.current.take() {
            self.finish(old);
        }
        let (run, result) = self.start()?;
        match result {
            Ok(_) => {
                self.current = Some(run);
                Ok(true)
            }
            Err(f) => {
                self.finish(run);
                let f = format!("{f:?}");
                Err(tr!(
                    "a fresh run did not start as the first did ({f})",
                    f = f
                ))
            }
        }
    }

    /// Runs check `id` on a healthy run, starting a fresh one if needed; what it claims
    /// is its from then on.
    pub fn with_run(
        &mut self,
        id: &'static str,
        check: impl FnOnce(&'c BusConfig, Idiom, &Owners, &mut BusRun<'c>) -> (CheckOutcome, Claim),
    ) -> CheckOutcome {
        match self.healthy() {
            Ok(fresh) => {
                let (cfg, idiom) = (self.cfg, self.idiom);
                let Some(run) = self.current.as_mut() else {
                    return verdict(Status::Error, tr!("no run"));
                };
                let (mut o, claim) = check(cfg, idiom, &self.owners, run);
                self.owners.claim(id, claim);
                note_flood(&mut o, run);
                if fresh {
                    o.details
                        .push(tr!("graded on a fresh run: the previous one had ended").into());
                }
                o
            }
            Err(why) => verdict(Status::Skipped, format!("skipped: {why}")),
        }
    }

    /// Ends whatever run is left (before `idle` is judged, and at the end).
    pub fn close(&mut self) {
        if let Some(run) = self.current.take() {
            // Its CPU was accounted before Ctrl-Z: the exit is not waiting time.
            self.retire(run);
        }
    }

    /// What the runs ran into, for the report's notes.
    pub fn containment(&self) -> Containment {
        let limits = &self.cfg.limits;
        Containment {
            flood: self.flood.map(|bytes| Flood {
                bytes,
                limit: limits.output_bytes,
            }),
            disk_limit: self.disk.map(|(_, limit)| limit),
            terminal: self.terminal.clone(),
            overran: self.overran.then_some(limits.wall_seconds),
        }
    }
}

/// Adds to a check graded on `run` that the run was cut off (a flood, the disk limit).
pub(super) fn note_flood(o: &mut CheckOutcome, run: &BusRun) {
    if let Some(why) = run.session.cut_off().as_ref().map(wording::cut_off) {
        if o.status != Status::Passed {
            let was = std::mem::replace(&mut o.message, why);
            o.details.insert(0, was);
        }
    }
}
