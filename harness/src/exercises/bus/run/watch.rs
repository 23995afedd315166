//! How a run is watched while it starts and while a step takes effect. Each watch is a
//! small state struct whose `look` the session's event loop calls after every event (and
//! every tick); what one look learns (when the processes last changed, how much CPU they
//! used since) is kept in the struct for the next.

use std::time::{Duration, Instant};

use nix::unistd::Pid;

use super::polling::{self, Polling};
use super::{masks_complete, Masks, Ready, Role, StartFailure, StepOutcome};
use crate::supervise::observe::{self, Activity, Expect, View};
use crate::supervise::procfs;
use crate::supervise::session::Session;
use crate::supervise::waiting::Wait;

/// Byte counters at one moment, to attribute output to a role. Read by one [`ByteMeter`]
/// over a run, each only goes up: a later reading minus an earlier one is what was written in
/// between, and cannot underflow.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Counters {
    pub(super) driver_own: u64,
    /// What the driver's reaped children wrote (whole minus own).
    pub(super) driver_children: u64,
    pub(super) conductor_own: u64,
}

impl Counters {
    /// What the conductor wrote since `base`: its own counter while readable; once the
    /// driver has reaped it, what the driver's reaped children wrote, less what it had
    /// written before.
    fn conductor_since(&self, base: &Counters) -> u64 {
        // Saturating: until the driver reaps the conductor, its children's count does not
        // hold what the conductor wrote before `base`.
        let by_reaping =
            (self.driver_children - base.driver_children).saturating_sub(base.conductor_own);
        (self.conductor_own - base.conductor_own).max(by_reaping)
    }

    /// What the driver wrote since `base`.
    fn driver_since(&self, base: &Counters) -> u64 {
        self.driver_own - base.driver_own
    }

    /// What the driver wrote since `base`, while the conductor has not been reaped: a
    /// driver thread that wrote and exited between two looks (a line printed by a
    /// short-lived thread) is missing from its own count and shows in whole minus own,
    /// where nothing else can come from until the conductor is reaped.
    fn driver_since_unreaped(&self, base: &Counters) -> u64 {
        self.driver_since(base) + (self.driver_children - base.driver_children)
    }

    /// What both processes wrote since `base`.
    fn written_since(&self, base: &Counters) -> u64 {
        self.driver_since(base) + self.conductor_since(base)
    }
}

/// Reads the [`Counters`] of a run, remembering what each thread of the two processes has
/// written, so that a thread that exits leaves its bytes on its own process's side.
#[derive(Debug, Default)]
pub(super) struct ByteMeter {
    driver: procfs::ThreadTally,
    conductor: procfs::ThreadTally,
    now: Counters,
}

impl ByteMeter {
    /// The counters now; a process that is gone keeps its last values.
    pub(super) fn read(&mut self, driver: Pid, conductor: Pid) -> Counters {
        // The whole count first: the driver's threads, counted after it, have written at
        // least what it holds of them, so whole minus own is never more than what reaped
        // children (and exited threads after their last look) wrote.
        let whole = procfs::whole_wchar(driver);
        if let Some(own) = procfs::tally_wchar(driver, &mut self.driver) {
            self.now.driver_own = own;
            if let Some(whole) = whole {
                // Saturating: a thread may write between the two reads. Each reading is a
                // lower bound of a count that only grows: keep the highest.
                let children = whole.saturating_sub(own);
                self.now.driver_children = self.now.driver_children.max(children);
            }
        }
        // The conductor's whole count: its threads that exited between two looks (a line
        // printed by a short-lived thread) are in it, and so is what its own reaped
        // children wrote, which is the conductor's side too. It only goes up.
        let conductor_whole = procfs::whole_wchar(conductor);
        let own = procfs::tally_wchar(conductor, &mut self.conductor);
        if let Some(best) = own.into_iter().chain(conductor_whole).max() {
            self.now.conductor_own = self.now.conductor_own.max(best);
        }
        self.now
    }

    /// The counters as last read.
    pub(super) fn last(&self) -> Counters {
        self.now
    }
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

/// When a [`step_signature`] last changed: what holds still for long enough has settled.
pub(super) struct Stillness {
    previous: Option<Vec<u64>>,
    since: Instant,
}

impl Stillness {
    pub(super) fn new() -> Self {
        Stillness {
            previous: None,
            since: Instant::now(),
        }
    }

    /// Notes the signature seen at `now`; returns whether it is the one seen last time.
    fn look(&mut self, sig: Vec<u64>, now: Instant) -> bool {
        let same = self.previous.as_ref() == Some(&sig);
        if !same {
            self.since = now;
        }
        self.previous = Some(sig);
        same
    }

    /// How long the signature has stayed the same, at `now`.
    fn still_for(&self, now: Instant) -> Duration {
        now.duration_since(self.since)
    }
}

fn cpu_of(pid: Pid) -> u64 {
    procfs::cpu_ns(pid).unwrap_or(0)
}

/// Start-up, looked at after every event until the run is ready or cannot become so.
pub(super) struct StartWatch {
    driver: Pid,
    quiet: Duration,
    /// The masks a previous run of the same program ended its start-up with.
    known_masks: Option<Masks>,
    still: Stillness,
    /// The rounds of polling loops, for a program whose handlers stay incomplete.
    polling: Polling,
    /// The lone conductor and both views as last seen, for when the deadline passes.
    last_seen: Option<(Pid, View, View)>,
}

impl StartWatch {
    pub(super) fn new(
        driver: Pid,
        quiet: Duration,
        longest_poll: Duration,
        known_masks: Option<Masks>,
    ) -> Self {
        StartWatch {
            driver,
            quiet,
            known_masks,
            still: Stillness::new(),
            polling: Polling::new(Instant::now(), longest_poll),
            last_seen: None,
        }
    }

    /// One look: a verdict once start-up is decided.
    pub(super) fn look(&mut self, s: &Session) -> Option<Result<Ready, StartFailure>> {
        if let Some(e) = s.not_run() {
            return Some(Err(StartFailure::NotExecuted(e)));
        }
        // The shim's report of the exit follows the pidfd's at once: wait for it, so the
        // status can be told.
        if s.program_exit().is_some() {
            return Some(Err(StartFailure::DriverExited(s.program_exit())));
        }
        if s.has_exited(self.driver) {
            return None;
        }
        let d = observe::view(self.driver);
        let kids: Vec<Pid> = procfs::children(self.driver)
            .into_iter()
            .filter(|k| !observe::view(*k).activity.exited())
            .collect();
        let received = s.transcript.total_bytes();
        match kids.as_slice() {
            [] => {
                // Waiting, with no child, unchanged for a quiet period: it will not fork.
                let still = self.held_still(&[&d], received);
                (d.activity == Activity::Waiting(Wait::Indefinite) && still)
                    .then_some(Err(StartFailure::NoChild))
            }
            [c] => self.one_child(d, *c, received),
            many => self
                .held_still(&[&d], received)
                .then_some(Err(StartFailure::TooMany(1 + many.len()))),
        }
    }

    /// Notes the processes and the output; returns whether nothing has changed for a quiet
    /// period.
    fn held_still(&mut self, views: &[&View], received: u64) -> bool {
        let pairs: Vec<(&View, bool)> = views.iter().map(|v| (*v, false)).collect();
        let now = Instant::now();
        self.still.look(step_signature(&pairs, received), now);
        self.still.still_for(now) >= self.quiet
    }

    /// A driver with one child `c`: ready once their handlers are in place (or known) and
    /// both wait or run.
    fn one_child(&mut self, d: View, c: Pid, received: u64) -> Option<Result<Ready, StartFailure>> {
        let cv = observe::view(c);
        let grandchildren = procfs::children(c).len();
        if grandchildren > 0 {
            return Some(Err(StartFailure::TooMany(2 + grandchildren)));
        }
        let still = self.held_still(&[&d, &cv], received);
        let mut visible = polling::visible([&d, &cv], received);
        visible.push(c.as_raw() as u64);
        for st in [&d.status, &cv.status].into_iter().flatten() {
            visible.extend([st.sig_ign, st.sig_cgt]);
        }
        let polled = self
            .polling
            .settled_at_start([&d, &cv], visible, Instant::now());
        let verdict = self.ready_if_settled(&d, c, &cv, (still, polled));
        self.last_seen = Some((c, d, cv));
        verdict
    }

    fn ready_if_settled(
        &self,
        d: &View,
        c: Pid,
        cv: &View,
        (still, polled): (bool, bool),
    ) -> Option<Result<Ready, StartFailure>> {
        let (Some(ds), Some(cs)) = (&d.status, &cv.status) else {
            return None;
        };
        let known = self.known_masks == Some((ds.sig_ign, ds.sig_cgt, cs.sig_ign, cs.sig_cgt));
        let waits_or_runs =
            |v: &View| matches!(v.activity, Activity::Waiting(_) | Activity::Active);
        let indefinite = |v: &View| v.activity == Activity::Waiting(Wait::Indefinite);
        let ready = if masks_complete(ds, cs) || known {
            // Handlers in place: each waits, or is a busy loop (never sleeps).
            waits_or_runs(d) && waits_or_runs(cv)
        } else {
            // Handlers incomplete: ready only once both wait for an outside event and
            // nothing changes (or both poll, round after round, with nothing changing), so
            // nothing more will be installed.
            indefinite(d) && indefinite(cv) && still || polled
        };
        ready.then(|| {
            Ok(Ready::new(
                self.driver,
                c,
                ds.clone(),
                cs.clone(),
                Vec::new(),
            ))
        })
    }

    /// The deadline passed: accept what is there, if it is a driver and a conductor; the
    /// checks then fail on behaviour, with the masks as a hint.
    pub(super) fn at_deadline(self) -> Result<Ready, StartFailure> {
        match self.last_seen {
            Some((c, d, cv)) if !cv.activity.exited() && !d.activity.exited() => {
                let (Some(ds), Some(cs)) = (d.status.clone(), cv.status.clone()) else {
                    return Err(StartFailure::ConductorExited);
                };
                let busy = [(Role::Driver, &d), (Role::Conductor, &cv)]
                    .iter()
                    .filter(|(_, v)| v.activity == Activity::Active)
                    .map(|(r, _)| *r)
                    .collect();
                Ok(Ready::new(self.driver, c, ds, cs, busy))
            }
            Some(_) => Err(StartFailure::ConductorExited),
            None => Err(StartFailure::NoChild),
        }
    }
}

/// How [`BusyWatch`] ended.
pub(super) enum BusyVerdict {
    /// Both processes decided: these roles are busy loops, the others wait.
    Confirmed(Vec<Role>),
    /// A process exited or stopped.
    Ended,
}

/// The running processes of a run whose handlers are complete, looked at until each has
/// fallen asleep or used `busy_cpu_ns` without sleeping.
pub(super) struct BusyWatch {
    /// CPU time of each process when it was first seen running in this stretch.
    running_since: Vec<(Pid, u64)>,
    /// Consecutive looks that found each process waiting: one look is not enough (a busy
    /// loop can be caught asleep for an instant), two in a row are.
    waiting_looks: [u32; 2],
    busy_cpu_ns: u64,
}

impl BusyWatch {
    pub(super) fn new(busy: Duration) -> Self {
        BusyWatch {
            running_since: Vec::new(),
            waiting_looks: [0; 2],
            busy_cpu_ns: busy.as_nanos() as u64,
        }
    }

    pub(super) fn look(&mut self, procs: [(Role, Pid); 2]) -> Option<BusyVerdict> {
        let mut busy = Vec::new();
        let mut undecided = false;
        for (i, (role, pid)) in procs.into_iter().enumerate() {
            match observe::view(pid).activity {
                Activity::Waiting(_) => {
                    self.running_since.retain(|(p, _)| *p != pid);
                    self.waiting_looks[i] += 1;
                    undecided |= self.waiting_looks[i] < 2;
                }
                Activity::Active => {
                    self.waiting_looks[i] = 0;
                    if !self.ran_busy(pid) {
                        return None;
                    }
                    busy.push(role);
                }
                _ => return Some(BusyVerdict::Ended),
            }
        }
        (!undecided).then_some(BusyVerdict::Confirmed(busy))
    }

    /// Whether `pid`, seen running, has used `busy_cpu_ns` since it was first seen so.
    fn ran_busy(&mut self, pid: Pid) -> bool {
        let cpu = cpu_of(pid);
        let since = match self.running_since.iter().find(|(p, _)| *p == pid) {
            Some((_, t)) => *t,
            None => {
                self.running_since.push((pid, cpu));
                cpu
            }
        };
        // Saturating: the CPU time of threads that have exited is no longer counted.
        cpu.saturating_sub(since) >= self.busy_cpu_ns
    }

    /// The roles running now that have not slept since first seen running.
    pub(super) fn never_slept(&self, procs: [(Role, Pid); 2]) -> Vec<Role> {
        procs
            .into_iter()
            .filter(|(_, pid)| {
                self.running_since.iter().any(|(p, _)| p == pid)
                    && observe::view(*pid).activity == Activity::Active
            })
            .map(|(role, _)| role)
            .collect()
    }
}

/// One of the two processes, as a step watches it.
pub(super) struct Watched {
    pub(super) pid: Pid,
    /// What the stimulus must make it do.
    pub(super) expect: Expect,
    /// Confirmed busy at readiness: judged by its output.
    pub(super) busy: bool,
    /// Its CPU time at the last change of the step's signature (set at the first look,
    /// which always sees one).
    pub(super) cpu_at_change: u64,
}

impl Watched {
    /// Whether it has used `ns` of CPU since the last change (a busy one must have: its
    /// handler may not have returned when the bytes arrived, and a starved process makes
    /// no progress however long the wall clock runs).
    fn ran_on(&self, ns: u64) -> bool {
        // Saturating: the CPU time of threads that have exited is no longer counted.
        !self.busy || cpu_of(self.pid).saturating_sub(self.cpu_at_change) >= ns
    }

    /// Whether the stimulus's effect on it is complete, as `v` shows it. A process that
    /// never sleeps gives no sign of having handled the signal (no wake-up to count): it
    /// is done when `busy_done` says its output is there and quiet. A busy loop can look
    /// asleep for an instant (in a non-blocking call): once known busy, a process is
    /// always judged this way until it exits or stops.
    fn done(&self, v: &View, busy_done: impl Fn() -> bool) -> bool {
        match v.activity {
            Activity::Gone | Activity::Zombie | Activity::Stopped => self.expect.met_by(v),
            Activity::Waiting(_) if !self.busy => self.expect.met_by(v),
            // Running, not a busy loop: still handling something.
            Activity::Active if !self.busy => false,
            Activity::Waiting(_) | Activity::Active => busy_done(),
        }
    }
}

/// A step under way: what the stimulus must cause, and what has been seen since.
pub(super) struct StepWatch<'o> {
    pub(super) driver: Watched,
    pub(super) conductor: Watched,
    pub(super) output_done: &'o dyn Fn(&[u8]) -> bool,
    pub(super) quiet: Duration,
    pub(super) busy_ns: u64,
    /// Where the step's output starts in the transcript, and the bytes received by then.
    pub(super) mark: usize,
    pub(super) received_at_start: u64,
    /// The byte counters at the start of the step, and the run's meter that reads them.
    pub(super) base: Counters,
    pub(super) meter: &'o mut ByteMeter,
    pub(super) still: Stillness,
    pub(super) last_views: Option<(View, View)>,
    /// The run's timed sleeps: a process that polls must come round its loop.
    pub(super) polling: Polling,
}

impl StepWatch<'_> {
    /// One look: whether the effect is complete.
    pub(super) fn look(&mut self, s: &Session) -> bool {
        let now = Instant::now();
        let vd = observe::view(self.driver.pid);
        let vc = observe::view(self.conductor.pid);
        let counters = self.meter.read(self.driver.pid, self.conductor.pid);
        let received = s.transcript.total_bytes();
        let sig = step_signature(
            &[(&vd, self.driver.busy), (&vc, self.conductor.busy)],
            received,
        );
        let stable = self.still.look(sig, now);
        if !stable {
            self.driver.cpu_at_change = cpu_of(self.driver.pid);
            self.conductor.cpu_at_change = cpu_of(self.conductor.pid);
        }
        let out = s.transcript.since(self.mark);
        // Once a process has exited in this step, the other may be on its way out too
        // (a busy driver reaps the conductor, then the interpreter shuts down: tens of
        // milliseconds of CPU with no output): it must run on for the whole busy
        // measure, or stay still far longer, so that where it ends up does not depend
        // on timing.
        let exiting = vd.activity.exited() || vc.activity.exited();
        let run_on_ns = if exiting {
            self.busy_ns
        } else {
            self.busy_ns / 10
        };
        let still_for = self.still.still_for(now);
        let quiet_enough = still_for >= self.quiet;
        let quiet_long = still_for >= self.quiet * if exiting { 20 } else { 5 };
        let ran_on = (
            self.driver.ran_on(run_on_ns),
            self.conductor.ran_on(run_on_ns),
        );
        let output_done = self.output_done;
        // Should the CPU measure not move (a process starved for long), a longer quiet
        // period ends the step all the same.
        let busy_done = || quiet_enough && (ran_on.0 && ran_on.1 || quiet_long) && output_done(out);
        // Everything written has come through the terminal, or the program wrote
        // elsewhere too and has been quiet long enough to tell.
        let drained = received - self.received_at_start >= counters.written_since(&self.base)
            || s.transcript.is_full();
        // A driver seen exited is done once the shim has reported how it ended.
        let reported = !vd.activity.exited() || s.program_exit().is_some();
        let come_round = self
            .polling
            .look([&vd, &vc], received, now, output_done(out));
        let done = self.driver.done(&vd, busy_done)
            && self.conductor.done(&vc, busy_done)
            && come_round
            && stable
            && reported
            && (drained || quiet_enough);
        self.last_views = Some((vd, vc));
        done
    }

    pub(super) fn outcome(self, s: &Session, timed_out: bool) -> StepOutcome {
        let (vd, vc) = self.last_views.unwrap_or_else(|| {
            (
                observe::view(self.driver.pid),
                observe::view(self.conductor.pid),
            )
        });
        let (now, base) = (self.meter.last(), self.base);
        let conductor_bytes = if vc.activity == Activity::Gone {
            now.conductor_since(&base)
        } else {
            now.conductor_own - base.conductor_own
        };
        let driver_bytes = if vc.activity == Activity::Gone {
            now.driver_since(&base)
        } else {
            now.driver_since_unreaped(&base)
        };
        StepOutcome {
            mark: self.mark,
            output: s.transcript.since(self.mark).to_vec(),
            driver_bytes,
            conductor_bytes,
            driver: vd,
            conductor: vc,
            timed_out,
        }
    }
}
