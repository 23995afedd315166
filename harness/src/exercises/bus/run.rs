//! One run of a bus program: start it, find the driver and the conductor, wait until both
//! are ready, then apply one stimulus at a time (a key, or a signal to one process) and wait
//! until its effect is complete. "Complete" is read from the processes themselves: every
//! process that had to react has woken up, every process is asleep again (or gone, or
//! stopped), no deliverable signal is pending, and every byte they wrote has arrived from
//! the terminal. Only a busy process, which never sleeps, is judged by its output falling
//! quiet.

use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use nix::unistd::Pid;

use crate::config::bus::BusConfig;
use crate::supervise::observe::{self, Activity, Expect, View};
use crate::supervise::procfs::{self, Status};
use crate::supervise::session::{Exit, Key, NotRun, Session};
use crate::supervise::spawn::Launch;
use crate::supervise::waiting::Wait;

/// The two roles of the exercise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Driver,
    Conductor,
}

impl Role {
    pub fn name(self) -> &'static str {
        match self {
            Role::Driver => "driver",
            Role::Conductor => "conductor",
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
    let mut out = Vec::new();
    let word = |d: procfs::Disposition| match d {
        procfs::Disposition::Ignored => "ignores it",
        procfs::Disposition::Caught => "catches it",
        procfs::Disposition::Default => "leaves the default action",
    };
    for s in ignore {
        let d = st.disposition(*s as i32);
        if d != procfs::Disposition::Ignored {
            out.push(format!(
                "{} must ignore {} but {}",
                role.name(),
                s.as_str(),
                word(d)
            ));
        }
    }
    for s in catch {
        let d = st.disposition(*s as i32);
        if d != procfs::Disposition::Caught {
            out.push(format!(
                "{} must catch {} but {}",
                role.name(),
                s.as_str(),
                word(d)
            ));
        }
    }
    out
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

/// Byte counters at one moment, to attribute output to a role.
#[derive(Debug, Clone, Copy, Default)]
struct Counters {
    driver_own: u64,
    /// What the driver's reaped children wrote (whole minus own).
    driver_children: u64,
    conductor_own: u64,
}

/// A run of the submission.
pub struct BusRun<'c> {
    cfg: &'c BusConfig,
    pub session: Session,
    pub ready: Option<Ready>,
    counters: Counters,
    /// CPU time of each role at readiness, for the busy-loop measure.
    cpu_at_ready: Option<(Instant, u64, u64)>,
}

/// What must stay the same for a process set to count as settled. A busy process changes
/// state and switch counts all the time: only its output counts.
fn step_signature(views: &[(&View, bool)], received: u64) -> Vec<u64> {
    let mut sig = vec![received];
    for (v, busy) in views {
        sig.push(v.own_wchar.unwrap_or(0));
        if *busy && !v.activity.exited() && v.activity != Activity::Stopped {
            continue;
        }
        sig.push(match v.activity {
            Activity::Gone => 0,
            Activity::Zombie => 1,
            Activity::Stopped => 2,
            Activity::Waiting(Wait::Indefinite) => 3,
            Activity::Waiting(_) => 4,
            Activity::Active => 5,
        });
        sig.push(v.status.as_ref().map_or(0, |s| s.voluntary_switches));
    }
    sig
}

impl<'c> BusRun<'c> {
    /// Starts the program and waits until it is ready or cannot become so. `known_masks`
    /// are the handler masks a previous run of the same program ended its start-up with; a
    /// program that never completes its handlers is accepted as soon as it reaches them
    /// again, instead of paying the start-up deadline on every run.
    pub fn start(
        cfg: &'c BusConfig,
        launch: &Launch,
        known_masks: Option<(u64, u64, u64, u64)>,
    ) -> Result<(Self, Result<Ready, StartFailure>), std::io::Error> {
        let deadline = Instant::now() + cfg.timing.startup();
        let session = Session::start(launch, cfg.limits.transcript_bytes, deadline)?;
        let mut run = BusRun {
            cfg,
            session,
            ready: None,
            counters: Counters::default(),
            cpu_at_ready: None,
        };
        let result = run.await_ready(deadline, known_masks);
        if let Ok(ready) = &result {
            run.ready = Some(ready.clone());
            run.session.watch(ready.conductor);
            run.counters = run.read_counters();
            run.cpu_at_ready = Some((
                Instant::now(),
                procfs::cpu_ns(ready.driver).unwrap_or(0),
                procfs::cpu_ns(ready.conductor).unwrap_or(0),
            ));
        }
        Ok((run, result))
    }

    fn await_ready(
        &mut self,
        deadline: Instant,
        known_masks: Option<(u64, u64, u64, u64)>,
    ) -> Result<Ready, StartFailure> {
        if let Some(e) = self.session.not_run() {
            return Err(StartFailure::NotExecuted(e));
        }
        let Some(driver) = self.session.program_pid() else {
            return Err(StartFailure::NoDriver);
        };
        let mut previous: Option<Vec<u64>> = None;
        let mut unchanged_since = Instant::now();
        let quiet = self.cfg.timing.quiet();
        let mut last_seen: Option<(Pid, View, View)> = None;
        let verdict = self.session.wait_until(deadline, |s| {
            if let Some(e) = s.not_run() {
                return Some(Err(StartFailure::NotExecuted(e)));
            }
            // The shim's report of the exit follows the pidfd's at once: wait for it, so the
            // status can be told.
            if s.program_exit().is_some() {
                return Some(Err(StartFailure::DriverExited(s.program_exit())));
            }
            if s.has_exited(driver) {
                return None;
            }
            let d = observe::view(driver);
            let kids: Vec<Pid> = procfs::children(driver)
                .into_iter()
                .filter(|k| !observe::view(*k).activity.exited())
                .collect();
            let sig_now = |views: &[&View]| {
                let pairs: Vec<(&View, bool)> = views.iter().map(|v| (*v, false)).collect();
                step_signature(&pairs, s.transcript.total_bytes())
            };
            match kids.as_slice() {
                [] => {
                    let sig = sig_now(&[&d]);
                    if previous.as_ref() != Some(&sig) {
                        unchanged_since = Instant::now();
                    }
                    // Waiting, with no child, unchanged for a quiet period: it will not fork.
                    let settled = d.activity == Activity::Waiting(Wait::Indefinite)
                        && unchanged_since.elapsed() >= quiet;
                    previous = Some(sig);
                    settled.then_some(Err(StartFailure::NoChild))
                }
                [c] => {
                    let cv = observe::view(*c);
                    if !procfs::children(*c).is_empty() {
                        return Some(Err(StartFailure::TooMany(2 + procfs::children(*c).len())));
                    }
                    let sig = sig_now(&[&d, &cv]);
                    if previous.as_ref() != Some(&sig) {
                        unchanged_since = Instant::now();
                    }
                    let stable = unchanged_since.elapsed() >= quiet;
                    previous = Some(sig);
                    last_seen = Some((*c, d.clone(), cv.clone()));
                    let (Some(ds), Some(cs)) = (&d.status, &cv.status) else {
                        return None;
                    };
                    let complete = wrong_dispositions(Role::Driver, ds).is_empty()
                        && wrong_dispositions(Role::Conductor, cs).is_empty();
                    let known =
                        known_masks == Some((ds.sig_ign, ds.sig_cgt, cs.sig_ign, cs.sig_cgt));
                    let waiting = |v: &View| matches!(v.activity, Activity::Waiting(_));
                    let indefinite = |v: &View| v.activity == Activity::Waiting(Wait::Indefinite);
                    let ready = if complete || known {
                        // Handlers in place: each waits, or is a busy loop (never sleeps).
                        (waiting(&d) || matches!(d.activity, Activity::Active))
                            && (waiting(&cv) || matches!(cv.activity, Activity::Active))
                    } else {
                        // Handlers incomplete: ready only once both wait for an outside
                        // event and nothing changes, so nothing more will be installed.
                        indefinite(&d) && indefinite(&cv) && stable
                    };
                    ready.then(|| {
                        Ok(Ready {
                            driver,
                            conductor: *c,
                            driver_status: ds.clone(),
                            conductor_status: cs.clone(),
                            masks_complete: complete,
                            busy: Vec::new(),
                        })
                    })
                }
                many => {
                    let sig = sig_now(&[&d]);
                    if previous.as_ref() != Some(&sig) {
                        unchanged_since = Instant::now();
                    }
                    let stable = unchanged_since.elapsed() >= quiet;
                    previous = Some(sig);
                    stable.then_some(Err(StartFailure::TooMany(1 + many.len())))
                }
            }
        });
        // A process found `Active` must have stayed so for `busy_ms` to count as a busy
        // loop rather than a program still starting: confirm before declaring it ready.
        match verdict {
            Some(Ok(ready)) => self.confirm_busy(ready, deadline),
            Some(Err(e)) => Err(e),
            None => {
                // The deadline passed: accept what is there, if it is a driver and a
                // conductor; the checks then fail on behaviour, with the masks as a hint.
                match last_seen {
                    Some((c, d, cv)) if !cv.activity.exited() && !d.activity.exited() => {
                        let (Some(ds), Some(cs)) = (d.status.clone(), cv.status.clone()) else {
                            return Err(StartFailure::ConductorExited);
                        };
                        let complete = wrong_dispositions(Role::Driver, &ds).is_empty()
                            && wrong_dispositions(Role::Conductor, &cs).is_empty();
                        let busy = [(Role::Driver, &d), (Role::Conductor, &cv)]
                            .iter()
                            .filter(|(_, v)| v.activity == Activity::Active)
                            .map(|(r, _)| *r)
                            .collect();
                        Ok(Ready {
                            driver,
                            conductor: c,
                            driver_status: ds,
                            conductor_status: cs,
                            masks_complete: complete,
                            busy,
                        })
                    }
                    Some(_) => Err(StartFailure::ConductorExited),
                    None => Err(StartFailure::NoChild),
                }
            }
        }
    }

    /// With handlers complete, a process that is running must either fall asleep (it was
    /// still starting) or use `busy_ms` of CPU time without ever sleeping (a busy loop)
    /// before the run is ready. CPU time, not wall time, so that a correct program starved
    /// of CPU on a loaded machine is not taken for a busy one.
    fn confirm_busy(&mut self, mut ready: Ready, deadline: Instant) -> Result<Ready, StartFailure> {
        let (d, c) = (ready.driver, ready.conductor);
        // CPU time of each process when it was first seen running in this stretch.
        let mut tracker: Vec<(Pid, u64)> = Vec::new();
        // Consecutive looks that found each process waiting: one look is not enough (a busy
        // loop can be caught asleep for an instant), two in a row are.
        let mut waiting_looks = [0u32; 2];
        let busy_cpu_ns = self.cfg.timing.busy().as_nanos() as u64;
        let outcome = self.session.wait_until(deadline, |_| {
            let mut busy = Vec::new();
            let mut undecided = false;
            for (i, (role, pid)) in [(Role::Driver, d), (Role::Conductor, c)]
                .into_iter()
                .enumerate()
            {
                let v = observe::view(pid);
                if !matches!(v.activity, Activity::Waiting(_)) {
                    waiting_looks[i] = 0;
                }
                match v.activity {
                    Activity::Waiting(_) => {
                        tracker.retain(|(p, _)| *p != pid);
                        waiting_looks[i] += 1;
                        undecided |= waiting_looks[i] < 2;
                    }
                    Activity::Active => {
                        let cpu = procfs::cpu_ns(pid).unwrap_or(0);
                        let since = match tracker.iter().find(|(p, _)| *p == pid) {
                            Some((_, t)) => *t,
                            None => {
                                tracker.push((pid, cpu));
                                cpu
                            }
                        };
                        if cpu.saturating_sub(since) < busy_cpu_ns {
                            return None;
                        }
                        busy.push(role);
                    }
                    _ => return Some(Err(())),
                }
            }
            (!undecided).then_some(Ok(busy))
        });
        match outcome {
            Some(Ok(busy)) => {
                ready.busy = busy;
                // Dispositions as they are now (a starting process may have changed them).
                if let (Ok(ds), Ok(cs)) = (procfs::status(d), procfs::status(c)) {
                    ready.driver_status = ds;
                    ready.conductor_status = cs;
                }
                Ok(ready)
            }
            Some(Err(())) => {
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
                ready.busy = [(Role::Driver, d), (Role::Conductor, c)]
                    .into_iter()
                    .filter(|(_, pid)| {
                        tracker.iter().any(|(p, _)| p == pid)
                            && observe::view(*pid).activity == Activity::Active
                    })
                    .map(|(role, _)| role)
                    .collect();
                Ok(ready)
            }
        }
    }

    fn read_counters(&self) -> Counters {
        let Some(r) = &self.ready else {
            return Counters::default();
        };
        let own = procfs::own_wchar(r.driver);
        let whole = procfs::whole_wchar(r.driver);
        Counters {
            driver_own: own.unwrap_or(self.counters.driver_own),
            driver_children: match (own, whole) {
                (Some(o), Some(w)) => w.saturating_sub(o),
                _ => self.counters.driver_children,
            },
            conductor_own: procfs::own_wchar(r.conductor).unwrap_or(self.counters.conductor_own),
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
        let base = self.read_counters();
        self.counters = base;
        let mark = self.session.transcript.mark();
        let received_at_start = self.session.transcript.total_bytes();
        let (sig, targets): (i32, Vec<Pid>) = match stimulus {
            Stimulus::Key(k) => {
                let fg = nix::unistd::tcgetpgrp(unsafe {
                    std::os::fd::BorrowedFd::borrow_raw(self.session.master_fd())
                })
                .ok();
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
        let expect_for = |v: &View, pid: Pid| -> Expect {
            match (&v.status, targets.contains(&pid)) {
                (Some(st), true) => observe::expect(st, sig),
                _ => Expect::Nothing,
            }
        };
        let exp_d = expect_for(&before_d, d);
        let exp_c = expect_for(&before_c, c);
        // Only a process confirmed busy at readiness is judged by its output: a correct one
        // can be caught running for an instant on a loaded machine.
        let busy_d = ready.busy.contains(&Role::Driver);
        let busy_c = ready.busy.contains(&Role::Conductor);
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
        let quiet = self.cfg.timing.quiet();
        let mut previous: Option<Vec<u64>> = None;
        let mut last_change = Instant::now();
        // CPU time of each process at the last change: a busy process must have run on for a
        // while after its output (its handler may not have returned when the bytes arrived,
        // and a starved process makes no progress however long the wall clock runs).
        let cpu_of = |p: Pid| procfs::cpu_ns(p).unwrap_or(0);
        let mut cpu_at_change = (cpu_of(d), cpu_of(c));
        let busy_ns = self.cfg.timing.busy().as_nanos() as u64;
        let mut last_views: Option<(View, View)> = None;
        let mut counters = base;
        let settled = self.session.wait_until(deadline, |s| {
            let now = Instant::now();
            let vd = observe::view(d);
            let vc = observe::view(c);
            // Counters are read while readable; a reaped process keeps its last value.
            if let Some(w) = vd.own_wchar {
                counters.driver_own = w;
                if let Some(whole) = procfs::whole_wchar(d) {
                    counters.driver_children = whole.saturating_sub(w);
                }
            }
            if let Some(w) = vc.own_wchar {
                counters.conductor_own = w;
            }
            let received = s.transcript.total_bytes();
            let sig = step_signature(&[(&vd, busy_d), (&vc, busy_c)], received);
            let stable = previous.as_ref() == Some(&sig);
            if !stable {
                last_change = now;
                cpu_at_change = (cpu_of(d), cpu_of(c));
            }
            previous = Some(sig);
            let out = s.transcript.since(mark).to_vec();
            // Once a process has exited in this step, the other may be on its way out too
            // (a busy driver reaps the conductor, then the interpreter shuts down: tens of
            // milliseconds of CPU with no output): it must run on for the whole busy
            // measure, or stay still far longer, so that where it ends up does not depend
            // on timing.
            let exiting = vd.activity.exited() || vc.activity.exited();
            let run_on_ns = if exiting { busy_ns } else { busy_ns / 10 };
            let quiet_enough = now.duration_since(last_change) >= quiet;
            let quiet_long =
                now.duration_since(last_change) >= quiet * if exiting { 20 } else { 5 };
            let ran_on = |pid: Pid, at: u64| cpu_of(pid).saturating_sub(at) >= run_on_ns;
            let ran_on_d = !busy_d || ran_on(d, cpu_at_change.0);
            let ran_on_c = !busy_c || ran_on(c, cpu_at_change.1);
            // A process that never sleeps gives no sign of having handled the signal (no
            // wake-up to count): it is done when the expected output is there and quiet.
            // A busy loop can look asleep for an instant (in a non-blocking call): once known
            // busy, a process is always judged this way until it exits or stops.
            let ok = |v: &View, e: Expect, busy: bool| -> bool {
                match v.activity {
                    Activity::Gone | Activity::Zombie | Activity::Stopped => e.met_by(v),
                    Activity::Waiting(_) if !busy => e.met_by(v),
                    // Running, not a busy loop: still handling something.
                    Activity::Active if !busy => false,
                    // Should the CPU measure not move (a process starved for long), a longer
                    // quiet period ends the step all the same.
                    Activity::Waiting(_) | Activity::Active => {
                        quiet_enough && (ran_on_d && ran_on_c || quiet_long) && output_done(&out)
                    }
                }
            };
            // A reaped conductor's lifetime bytes move into the driver's children count.
            let written = (counters.driver_own - base.driver_own)
                + (counters.conductor_own - base.conductor_own).max(
                    (counters.driver_children - base.driver_children)
                        .saturating_sub(base.conductor_own),
                );
            // Everything written has come through the terminal, or the program wrote
            // elsewhere too and has been quiet long enough to tell.
            let drained = received - received_at_start >= written || s.transcript.is_full();
            // A driver seen exited is done once the shim has reported how it ended.
            let reported = !vd.activity.exited() || s.program_exit().is_some();
            let done = ok(&vd, exp_d, busy_d)
                && ok(&vc, exp_c, busy_c)
                && stable
                && reported
                && (drained || quiet_enough);
            last_views = Some((vd, vc));
            done.then_some(())
        });
        self.session.pump();
        let (vd, vc) = last_views.unwrap_or_else(|| (observe::view(d), observe::view(c)));
        self.counters = counters;
        // Bytes of the conductor: its own counter while readable; once the driver has reaped
        // it, what the driver's reaped children wrote, less what it had written before.
        let conductor_bytes = if vc.activity == Activity::Gone {
            (counters.driver_children - base.driver_children)
                .saturating_sub(base.conductor_own)
                .max(counters.conductor_own - base.conductor_own)
        } else {
            counters.conductor_own - base.conductor_own
        };
        Some(StepOutcome {
            mark,
            output: self.session.transcript.since(mark).to_vec(),
            driver_bytes: counters.driver_own - base.driver_own,
            conductor_bytes,
            driver: vd,
            conductor: vc,
            timed_out: settled.is_none(),
        })
    }

    /// CPU share of one CPU used by each role since readiness: (driver, conductor, seconds).
    pub fn cpu_shares(&self) -> Option<(f64, f64, f64)> {
        let (t0, d0, c0) = self.cpu_at_ready?;
        let r = self.ready.as_ref()?;
        let wall = t0.elapsed().as_secs_f64();
        let d = procfs::cpu_ns(r.driver)?.saturating_sub(d0) as f64 / 1e9;
        let c = procfs::cpu_ns(r.conductor)?.saturating_sub(c0) as f64 / 1e9;
        (wall > 0.0).then(|| (d / wall, c / wall, wall))
    }

    pub fn config(&self) -> &BusConfig {
        self.cfg
    }
}

/// What the grader does to the program in one step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stimulus {
    Key(Key),
    Signal(Role, Signal),
}
