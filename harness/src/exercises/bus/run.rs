//! One run of a bus program: start it, find the driver and the conductor, wait until both
//! are ready, then apply one stimulus at a time (a key, or a signal to one process) and wait
//! until its effect is complete. "Complete" is read from the processes themselves: every
//! process that had to react has woken up, every process is asleep again (or gone, or
//! stopped), no deliverable signal is pending, and every byte they wrote has arrived from
//! the terminal. Only a busy process, which never sleeps, is judged by its output falling
//! quiet.

use crate::tr;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use nix::unistd::Pid;

use super::config::BusConfig;
use crate::supervise::events::What;
use crate::supervise::observe::{self, Activity, Expect, View};
use crate::supervise::procfs::{self, Status};
use crate::supervise::session::{Exit, Key, NotRun, Session};
use crate::supervise::spawn::Launch;

mod polling;
mod watch;

use polling::Polling;
use watch::{BusyVerdict, BusyWatch, ByteMeter, StartWatch, StepWatch, Stillness, Watched};

/// The two roles of the exercise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Driver,
    Conductor,
}

impl Role {
    pub fn name(self) -> &'static str {
        match self {
            Role::Driver => tr!("driver"),
            Role::Conductor => tr!("conductor"),
        }
    }
}

/// Signals each role must ignore and must catch.
pub fn required(role: Role) -> (&'static [Signal], &'static [Signal]) {
    match role {
        Role::Driver => (
            &[Signal::SIGINT, Signal::SIGQUIT],
            &[Signal::SIGUSR1, Signal::SIGUSR2, Signal::SIGTSTP],
        ),
        Role::Conductor => (
            &[Signal::SIGTSTP],
            &[Signal::SIGINT, Signal::SIGQUIT, Signal::SIGUSR1],
        ),
    }
}

/// Dispositions that differ from what `role` needs, one sentence each.
pub fn wrong_dispositions(role: Role, st: &Status) -> Vec<String> {
    let (ignore, catch) = required(role);
    let word = |d: procfs::Disposition| match d {
        procfs::Disposition::Ignored => tr!("ignores it"),
        procfs::Disposition::Caught => tr!("catches it"),
        procfs::Disposition::Default => tr!("leaves the default action"),
    };
    let wanted = (ignore
        .iter()
        .map(|s| (s, procfs::Disposition::Ignored, tr!("ignore"))))
    .chain(
        catch
            .iter()
            .map(|s| (s, procfs::Disposition::Caught, tr!("catch"))),
    );
    let mut out = Vec::new();
    for (s, want, verb) in wanted {
        let d = st.disposition(*s as i32);
        if d != want {
            out.push(tr!(
                "{role} must {verb} {s} but {word}",
                role = role.name(),
                verb = verb,
                s = s.as_str(),
                word = word(d)
            ));
        }
    }
    out
}

/// Whether both processes have every disposition their role needs.
fn masks_complete(driver: &Status, conductor: &Status) -> bool {
    wrong_dispositions(Role::Driver, driver).is_empty()
        && wrong_dispositions(Role::Conductor, conductor).is_empty()
}

/// Why a run did not reach the ready state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartFailure {
    /// `exec` (or confining it) failed: not a program.
    NotExecuted(NotRun),
    /// The shim never reported the driver.
    NoDriver,
    /// The driver exited during start-up.
    DriverExited(Option<Exit>),
    /// The driver waits, but made no child.
    NoChild,
    /// More processes than a driver and one conductor.
    TooMany(usize),
    /// The conductor exited during start-up.
    ConductorExited,
}

/// A run that reached the ready state.
#[derive(Debug, Clone)]
pub struct Ready {
    pub driver: Pid,
    pub conductor: Pid,
    pub driver_status: Status,
    pub conductor_status: Status,
    /// Handlers complete when readiness was declared.
    pub masks_complete: bool,
    /// Roles found busy (running without ever sleeping) at start-up.
    pub busy: Vec<Role>,
}

impl Ready {
    fn new(driver: Pid, conductor: Pid, ds: Status, cs: Status, busy: Vec<Role>) -> Self {
        Ready {
            driver,
            conductor,
            masks_complete: masks_complete(&ds, &cs),
            driver_status: ds,
            conductor_status: cs,
            busy,
        }
    }
}

/// Byte counts written by each role during a step, and the final views.
#[derive(Debug, Clone)]
pub struct StepOutcome {
    pub mark: usize,
    pub output: Vec<u8>,
    pub driver_bytes: u64,
    pub conductor_bytes: u64,
    pub driver: View,
    pub conductor: View,
    /// The deadline passed before the effect was complete.
    pub timed_out: bool,
}

/// Handler masks of both processes (ignored and caught, driver then conductor).
type Masks = (u64, u64, u64, u64);

/// A run of the submission.
pub struct BusRun<'c> {
    cfg: &'c BusConfig,
    pub session: Session,
    pub ready: Option<Ready>,
    /// Bytes written by each role, read at every look of a step.
    meter: ByteMeter,
    /// CPU time of each role at readiness, for the busy-loop measure.
    cpu_at_ready: Option<(Instant, u64, u64)>,
    /// The same, when both processes were last seen healthy: CPU spent dying (a traceback,
    /// interpreter shutdown) is not waiting.
    cpu_healthy: Option<(Instant, u64, u64)>,
    /// The processes' timed sleeps, followed over the steps.
    polling: Polling,
}

impl<'c> BusRun<'c> {
    /// Starts the program and waits until it is ready or cannot become so. `known_masks`
    /// are the handler masks a previous run of the same program ended its start-up with; a
    /// program that never completes its handlers is accepted as soon as it reaches them
    /// again, instead of paying the start-up deadline on every run.
    pub fn start(
        cfg: &'c BusConfig,
        launch: &Launch,
        known_masks: Option<Masks>,
    ) -> Result<(Self, Result<Ready, StartFailure>), std::io::Error> {
        let deadline = Instant::now() + cfg.timing.startup();
        let session = Session::start(launch, cfg.limits.transcript_bytes, deadline)?;
        let mut run = BusRun {
            cfg,
            session,
            ready: None,
            meter: ByteMeter::default(),
            cpu_at_ready: None,
            cpu_healthy: None,
            polling: Polling::new(Instant::now(), cfg.timing.poll()),
        };
        let result = run.await_ready(deadline, known_masks);
        if let Ok(ready) = &result {
            run.ready = Some(ready.clone());
            if let Some(log) = run.session.event_log() {
                log.name(ready.driver.as_raw(), Role::Driver.name());
                log.name(ready.conductor.as_raw(), Role::Conductor.name());
                log.record(What::Started(ready.conductor.as_raw()));
            }
            run.session.watch(ready.conductor);
            run.meter.read(ready.driver, ready.conductor);
            run.cpu_at_ready = Some((
                Instant::now(),
                procfs::cpu_ns(ready.driver).unwrap_or(0),
                procfs::cpu_ns(ready.conductor).unwrap_or(0),
            ));
            run.cpu_healthy = run.cpu_at_ready;
            run.polling = Polling::new(Instant::now(), cfg.timing.poll());
        }
        Ok((run, result))
    }

    fn await_ready(
        &mut self,
        deadline: Instant,
        known_masks: Option<Masks>,
    ) -> Result<Ready, StartFailure> {
        if let Some(e) = self.session.not_run() {
            return Err(StartFailure::NotExecuted(e));
        }
        let Some(driver) = self.session.program_pid() else {
            return Err(StartFailure::NoDriver);
        };
        let mut watch = StartWatch::new(
            driver,
            self.cfg.timing.quiet(),
            self.cfg.timing.poll(),
            known_masks,
        );
        let verdict = self.session.wait_until(deadline, |s| watch.look(s));
        // A process found `Active` must have stayed so for `busy_ms` to count as a busy
        // loop rather than a program still starting: confirm before declaring it ready.
        match verdict {
            Some(Ok(ready)) => self.confirm_busy(ready, deadline),
            Some(Err(e)) => Err(e),
            None => watch.at_deadline(),
        }
    }

    /// With handlers complete, a process that is running must either fall asleep (it was
    /// still starting) or use `busy_ms` of CPU time without ever sleeping (a busy loop)
    /// before the run is ready. CPU time, not wall time, so that a correct program starved
    /// of CPU on a loaded machine is not taken for a busy one.
    fn confirm_busy(&mut self, mut ready: Ready, deadline: Instant) -> Result<Ready, StartFailure> {
        let (d, c) = (ready.driver, ready.conductor);
        let procs = [(Role::Driver, d), (Role::Conductor, c)];
        let mut watch = BusyWatch::new(self.cfg.timing.busy());
        match self.session.wait_until(deadline, |_| watch.look(procs)) {
            Some(BusyVerdict::Confirmed(busy)) => {
                ready.busy = busy;
                // Dispositions as they are now (a starting process may have changed them).
                if let (Ok(ds), Ok(cs)) = (procfs::status(d), procfs::status(c)) {
                    ready.driver_status = ds;
                    ready.conductor_status = cs;
                }
                Ok(ready)
            }
            Some(BusyVerdict::Ended) => {
                if self.session.has_exited(d) {
                    Err(StartFailure::DriverExited(self.session.program_exit()))
                } else {
                    Err(StartFailure::ConductorExited)
                }
            }
            None => {
                // The deadline passed before a process used `busy_ms` of CPU (a loaded
                // machine starves it): one that never slept all this time is a busy loop
                // all the same, and the steps must judge it as one.
                ready.busy = watch.never_slept(procs);
                Ok(ready)
            }
        }
    }

    /// Both processes alive, not stopped: the run can take another stimulus.
    pub fn healthy(&self) -> bool {
        let Some(r) = &self.ready else {
            return false;
        };
        [r.driver, r.conductor].iter().all(|p| {
            let a = observe::view(*p).activity;
            !a.exited() && a != Activity::Stopped
        })
    }

    /// Types `key` (or sends `signal` to `to`) and waits until its effect is complete.
    /// `output_done` says whether the output so far is all that is expected; it only
    /// matters for busy processes, which give no other sign of having finished.
    pub fn step(
        &mut self,
        stimulus: Stimulus,
        output_done: &dyn Fn(&[u8]) -> bool,
        within: Duration,
    ) -> Option<StepOutcome> {
        let ready = self.ready.clone()?;
        let (d, c) = (ready.driver, ready.conductor);
        self.session.pump();
        let before_d = observe::view(d);
        let before_c = observe::view(c);
        let base = self.meter.read(d, c);
        let mark = self.session.transcript.mark();
        let event_mark = self.session.event_log().map(|l| l.mark());
        let received_at_start = self.session.transcript.total_bytes();
        let (sig, targets): (i32, Vec<Pid>) = match stimulus {
            Stimulus::Key(k) => {
                let fg = crate::supervise::spawn::foreground_group(self.session.master_fd());
                let in_fg = |p: Pid| {
                    procfs::stat(p).ok().map(|s| Pid::from_raw(s.pgrp)) == fg || fg.is_none()
                };
                (
                    k.signal() as i32,
                    [d, c].into_iter().filter(|p| in_fg(*p)).collect(),
                )
            }
            Stimulus::Signal(role, s) => (s as i32, vec![if role == Role::Driver { d } else { c }]),
        };
        // Only a process confirmed busy at readiness is judged by its output: a correct one
        // can be caught running for an instant on a loaded machine.
        let watched = |role: Role, pid: Pid, before: &View| Watched {
            pid,
            expect: match (&before.status, targets.contains(&pid)) {
                (Some(st), true) => observe::expect(st, sig),
                _ => Expect::Nothing,
            },
            busy: ready.busy.contains(&role),
            cpu_at_change: 0,
        };
        let driver = watched(Role::Driver, d, &before_d);
        let conductor = watched(Role::Conductor, c, &before_c);
        match stimulus {
            Stimulus::Key(k) => self.session.type_key(k),
            Stimulus::Signal(role, s) => {
                let pid = if role == Role::Driver { d } else { c };
                let _ =
                    self.session
                        .send_signal(pid, s, &format!("{} → {}", s.as_str(), role.name()));
            }
        }
        let deadline = Instant::now() + within;
        let mut watch = StepWatch {
            driver,
            conductor,
            output_done,
            quiet: self.cfg.timing.quiet(),
            busy_ns: self.cfg.timing.busy().as_nanos() as u64,
            mark,
            received_at_start,
            base,
            meter: &mut self.meter,
            still: Stillness::new(),
            last_views: None,
            polling: std::mem::take(&mut self.polling),
        };
        watch.polling.restart([&before_d, &before_c]);
        let settled = self
            .session
            .wait_until(deadline, |s| watch.look(s).then_some(()));
        self.session.pump();
        self.polling = std::mem::take(&mut watch.polling);
        let outcome = watch.outcome(&self.session, settled.is_none());
        if let Some(m) = event_mark {
            self.record_step(
                [
                    (&before_d, &outcome.driver_bytes, &outcome.driver),
                    (&before_c, &outcome.conductor_bytes, &outcome.conductor),
                ],
                m,
            );
        }
        if let Some(cpu) = cpu_if_healthy([&outcome.driver, &outcome.conductor]) {
            self.cpu_healthy = Some(cpu);
        }
        Some(outcome)
    }

    /// Tells the event log what a step showed: who wrote its lines, when only one role
    /// wrote (both writing, the lines stay the terminal's), and which process a key stopped
    /// or continued (seen at the step's end: a state has no descriptor to wake on).
    fn record_step(&self, roles: [(&View, &u64, &View); 2], mark: usize) {
        let Some(log) = self.session.event_log() else {
            return;
        };
        if let [(_, 0, _), (_, n, v)] | [(_, n, v), (_, 0, _)] = roles {
            if *n > 0 {
                log.attribute_since(mark, v.pid.as_raw());
            }
        }
        for (before, _, after) in roles {
            let pid = after.pid.as_raw();
            match (before.activity, after.activity) {
                (b, Activity::Stopped) if b != Activity::Stopped => log.record(What::Stopped(pid)),
                (Activity::Stopped, a) if a != Activity::Stopped && !a.exited() => {
                    log.record(What::Continued(pid))
                }
                _ => {}
            }
        }
    }

    /// CPU share of one CPU used by each role from readiness to the last moment both were
    /// seen healthy (now, if they are): (driver, conductor, seconds).
    pub fn cpu_shares(&self) -> Option<(f64, f64, f64)> {
        let (t0, d0, c0) = self.cpu_at_ready?;
        let r = self.ready.as_ref()?;
        let now = cpu_if_healthy([&observe::view(r.driver), &observe::view(r.conductor)]);
        let (t1, d1, c1) = now.or(self.cpu_healthy)?;
        let wall = t1.duration_since(t0).as_secs_f64();
        // Saturating: the CPU time of threads that have exited is no longer counted.
        let d = d1.saturating_sub(d0) as f64 / 1e9;
        let c = c1.saturating_sub(c0) as f64 / 1e9;
        (wall > 0.0).then(|| (d / wall, c / wall, wall))
    }

    pub fn config(&self) -> &BusConfig {
        self.cfg
    }
}

/// Both processes' CPU time now, if `views` (driver, conductor) show both alive and not
/// stopped, and neither is on its way out.
fn cpu_if_healthy(views: [&View; 2]) -> Option<(Instant, u64, u64)> {
    let healthy = |v: &View| {
        !v.activity.exited()
            && v.activity != Activity::Stopped
            && procfs::threads(v.pid).is_some_and(|t| !t.any_exiting)
    };
    if !views.iter().all(|v| healthy(v)) {
        return None;
    }
    Some((
        Instant::now(),
        procfs::cpu_ns(views[0].pid)?,
        procfs::cpu_ns(views[1].pid)?,
    ))
}

/// What the grader does to the program in one step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stimulus {
    Key(Key),
    Signal(Role, Signal),
}
