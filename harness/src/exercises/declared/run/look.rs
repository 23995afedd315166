//! One look at a run, apart from the steps that call for it: the process tree read from
//! `/proc`, each new line of output credited to the processes whose `wchar` counters rose as
//! it arrived, and whether the tree is at rest. Kept apart because attribution and rest are
//! the delicate part of the engine, and the step runner only asks for a look.

use std::time::{Duration, Instant};

use super::{Line, Proc, Role, Seen, MAX_LINES, MAX_PROCS, TRANSCRIPT_BYTES};
use crate::supervise::observe::{self, Activity, Expect};
use crate::supervise::procfs;
use crate::supervise::rest::{self, Stillness, Whom};
use crate::supervise::session::{Exit, Session};
use crate::supervise::waiting::Wait;

/// A process asleep this long in one timed wait is not polling (the bus's longest period).
const LONGEST_POLL: Duration = Duration::from_secs(1);

impl Seen<'_> {
    /// The share of one CPU the tree used since the current check's steps began (its own
    /// waits: the program's start-up, in an earlier check or this one, is not waiting).
    pub fn cpu_share(&self) -> f64 {
        let (cpu0, t0) = self.check_began;
        let wall = t0.elapsed().as_secs_f64();
        if wall <= 0.0 {
            return 0.0;
        }
        self.cpu_total.saturating_sub(cpu0) as f64 / 1e9 / wall
    }

    /// The processes a role names now.
    pub fn members(&self, role: &Role) -> Vec<usize> {
        let idx = 0..self.procs.len();
        match role {
            Role::Program => idx.filter(|i| *i == 0).collect(),
            Role::Child(n) => idx
                .filter(|i| self.procs[*i].child_no == Some(*n))
                .collect(),
            Role::Children => idx.filter(|i| self.procs[*i].parent == Some(0)).collect(),
            Role::Every => idx.collect(),
            Role::Prints(re) => idx
                .filter(|i| {
                    self.lines
                        .iter()
                        .any(|l| l.by.contains(i) && re.is_match(&l.text))
                })
                .collect(),
        }
    }

    /// Reads the tree, the counters and the new output.
    pub(super) fn look(&mut self, session: &mut Session) {
        let now = Instant::now();
        if self.procs.is_empty() {
            if let Some(pid) = session.program_pid() {
                self.procs.push(Proc::new(pid, None, None));
            }
        }
        // New processes: children of every process followed that is still there.
        let mut i = 0;
        while i < self.procs.len() && self.procs.len() < MAX_PROCS {
            if !self.procs[i].gone {
                for c in procfs::children(self.procs[i].pid) {
                    if !self.procs.iter().any(|p| p.pid == c) {
                        let child_no = (i == 0)
                            .then(|| self.procs.iter().filter(|p| p.parent == Some(0)).count() + 1);
                        if let Some(w) = &self.exits {
                            w.watch(c);
                        }
                        session.watch(c);
                        self.procs.push(Proc::new(c, Some(i), child_no));
                    }
                }
            }
            i += 1;
        }
        let mut writers = Vec::new();
        let mut reapers = Vec::new();
        let was_gone: Vec<bool> = self.procs.iter().map(|p| p.gone).collect();
        let program_exit = session.program_exit();
        let me = nix::unistd::getpid().as_raw();
        for (i, p) in self.procs.iter_mut().enumerate() {
            if p.gone {
                continue;
            }
            let whole = procfs::whole_wchar(p.pid);
            let own = procfs::tally_wchar(p.pid, &mut p.tally);
            match procfs::stat(p.pid) {
                Ok(st) => {
                    if st.ppid == me && p.parent.is_some() {
                        p.orphaned = true;
                    }
                    if st.state == procfs::RunState::Zombie && p.exited_at.is_none() {
                        p.exited_at = Some(now);
                        p.exit = procfs::zombie_exit_code(p.pid).map(Exit::from_wait_status);
                    }
                    p.stopped = st.state == procfs::RunState::Stopped;
                }
                Err(_) => {
                    p.gone = true;
                    p.exited_at.get_or_insert(now);
                }
            }
            if let Some(own) = own {
                if own > p.written {
                    p.written = own;
                    writers.push(i);
                }
                if let Some(whole) = whole {
                    let kids = whole.saturating_sub(own);
                    if kids > p.children_written {
                        p.children_written = kids;
                        reapers.push(i);
                    }
                }
            }
            if !p.gone {
                if let Some(t) = procfs::task_count(p.pid) {
                    p.threads = t;
                }
                if let Some(c) = procfs::cpu_ns(p.pid) {
                    if c > p.cpu_ns {
                        self.cpu_total += c - p.cpu_ns;
                        p.cpu_ns = c;
                    }
                }
            }
        }
        // Exit statuses: the program's from the shim, the others' from the kernel's events.
        if let (Some(e), Some(p)) = (program_exit, self.procs.first_mut()) {
            p.exit = Some(e);
            p.exited_at.get_or_insert(now);
        }
        if let Some(w) = &self.exits {
            for p in self
                .procs
                .iter_mut()
                .filter(|p| p.ended() && p.exit.is_none())
            {
                p.exit = w.status(p.pid, now).map(Exit::from_wait_status);
            }
        }
        // A process whose whole count rose beyond its threads': a child of it reaped lately
        // wrote, or else one of its own threads that wrote and exited between two looks.
        for r in reapers {
            let mut kid = false;
            for (k, p) in self.procs.iter().enumerate() {
                let lately = p
                    .exited_at
                    .is_some_and(|t| now.duration_since(t) < Duration::from_millis(100));
                if p.parent == Some(r) && p.gone && lately {
                    kid = true;
                    if !writers.contains(&k) {
                        writers.push(k);
                    }
                }
            }
            if !kid && !writers.contains(&r) {
                writers.push(r);
            }
        }
        writers.sort_unstable();
        writers.dedup();
        writers.sort_unstable();
        let alive = self
            .procs
            .iter()
            .filter(|p| p.parent == Some(0) && !p.ended())
            .count();
        self.max_children = self.max_children.max(alive);
        self.claim(&writers);
        for i in std::mem::take(&mut self.fresh) {
            if let Some(l) = self.lines.get_mut(i) {
                l.by.extend(&writers);
                l.by.sort_unstable();
                l.by.dedup();
            }
        }
        self.read_output(session, &writers);
        self.prev_writers = writers;
        // Gone from /proc (reaped by the grader's shim, or adopted and reaped): its counters
        // can no longer rise, so a line no counter has claimed, arriving as it or just after
        // it went, is its last output.
        let vanished: Vec<usize> = (0..self.procs.len())
            .filter(|&i| self.procs[i].gone && !was_gone.get(i).copied().unwrap_or(false))
            .collect();
        let lately: Vec<usize> = vanished
            .iter()
            .chain(&self.prev_vanished)
            .copied()
            .collect();
        self.claim(&lately);
        self.prev_vanished = vanished;
        self.update_activity(session, now);
    }

    /// Credits the lines no writer had claimed to the processes whose counters rose now.
    /// The terminal can hand a line over before its writer's `wchar` rises (the kernel adds
    /// the bytes when `write` returns, and a loaded machine may run the writer again only
    /// later): that rise, not a longer wait, is the event that names the writer. (Seen
    /// under load: "thread 1 running" credited to nobody, so gate's `go` failed.)
    pub(super) fn claim(&mut self, writers: &[usize]) {
        if writers.is_empty() {
            return;
        }
        let mut by = writers.to_vec();
        by.sort_unstable();
        by.dedup();
        for i in std::mem::take(&mut self.unclaimed) {
            if let Some(l) = self.lines.get_mut(i) {
                l.by = by.clone();
            }
        }
    }

    /// Splits new output into lines, each credited to the processes writing as it came
    /// (in this look or the one before: the bytes cross the terminal after the counter
    /// rose; and in the next, see `fresh`: a writer's counter rises when its `write`
    /// returns, which a loaded machine may let the terminal's reader overtake).
    pub(super) fn read_output(&mut self, session: &Session, writers: &[usize]) {
        let new = session.transcript.since(self.read_mark).to_vec();
        self.read_mark = session.transcript.mark();
        if new.is_empty() {
            return;
        }
        if self.partial.is_empty() {
            self.partial_by.clear();
        }
        // Every line of this output, not only the first, may be from a writer whose counter
        // rose at the look before: a loaded machine hands several lines over at once.
        let mut candidates: Vec<usize> =
            writers.iter().chain(&self.prev_writers).copied().collect();
        candidates.sort_unstable();
        candidates.dedup();
        for w in &candidates {
            if !self.partial_by.contains(w) {
                self.partial_by.push(*w);
            }
        }
        self.partial.extend_from_slice(&new);
        while let Some(end) = self.partial.iter().position(|b| *b == b'\n') {
            let raw: Vec<u8> = self.partial.drain(..=end).collect();
            let text = String::from_utf8_lossy(&raw)
                .trim_end_matches(['\n', '\r'])
                .to_string();
            let mut by = self.partial_by.clone();
            by.sort_unstable();
            // The terminal echoes what was typed: nobody wrote that line.
            let typed = self.typed.iter().filter(|t| **t == text).count();
            let echoed = self
                .lines
                .iter()
                .filter(|l| l.by.is_empty() && l.text == text)
                .count();
            if echoed < typed {
                by.clear();
            } else if by.is_empty() && self.lines.len() < MAX_LINES {
                self.unclaimed.push(self.lines.len());
            } else if self.lines.len() < MAX_LINES {
                self.fresh.push(self.lines.len());
            }
            if self.lines.len() < MAX_LINES {
                self.lines.push(Line {
                    text,
                    step: self.step,
                    by,
                });
            }
            self.partial_by = candidates.clone();
        }
        if self.partial.len() > TRANSCRIPT_BYTES {
            self.partial.clear();
        }
    }

    /// Notes each process's activity, busy loops, and the stillness signature.
    pub(super) fn update_activity(&mut self, session: &Session, now: Instant) {
        let busy_ns = self.spec.timing.busy_ms * 1_000_000;
        let mut sig = vec![session.transcript.total_bytes()];
        let mut unmet = false;
        for p in &mut self.procs {
            if p.gone {
                sig.push(0);
                continue;
            }
            let v = observe::view(p.pid);
            let switches = v.status.as_ref().map_or(0, |s| s.voluntary_switches);
            if v.activity == Activity::Waiting(Wait::Timed) {
                match p.timed {
                    Some((_, sw)) if sw == switches => {}
                    Some(_) => {
                        p.rounds += 1;
                        p.timed = Some((now, switches));
                    }
                    None => p.timed = Some((now, switches)),
                }
            } else if v.activity != Activity::Active {
                p.timed = None;
            }
            if v.activity == Activity::Active {
                match p.busy_watch {
                    Some((_, cpu0, sw0)) if sw0 == switches => {
                        if p.cpu_ns.saturating_sub(cpu0) >= busy_ns {
                            p.busy = true;
                            p.was_busy = true;
                        }
                    }
                    _ => p.busy_watch = Some((now, p.cpu_ns, switches)),
                }
            } else {
                p.busy_watch = None;
                p.busy = false;
            }
            // A busy process never sleeps, so a handler's run cannot be told by a wake-up:
            // its output falling quiet says it has reacted, as the bus judges it.
            if p.busy || p.expect.met_by(&v) {
                p.expect = Expect::Nothing;
            } else {
                unmet = true;
            }
            sig.push(p.written);
            if !p.busy {
                sig.push(activity_code(v.activity));
                sig.push(switches);
            }
            p.last = Some((v.activity, switches));
        }
        let changed = unmet || self.still.as_ref().is_none_or(|(prev, _)| *prev != sig);
        if changed {
            for p in &mut self.procs {
                p.cpu_at_change = p.cpu_ns;
            }
        }
        if unmet {
            self.still = None;
        } else if changed {
            self.still = Some((sig, now));
        }
    }

    /// Every process asleep, stopped, ended or busy, and every signal's effect seen; then
    /// at rest once nothing changed for `quiet_ms`, or sooner where the tree cannot move by
    /// itself any more (see [`Seen::cannot_move`]): a program that waits in `pause`, `wait`
    /// or a read pays no quiet time; a polling or busy one does.
    pub(super) fn at_rest(&mut self, session: &Session) -> bool {
        if !self.settled(session) {
            self.restart_stillness();
            return false;
        }
        if self.starting && !self.done_starting() {
            return false;
        }
        let quiet = Duration::from_millis(self.spec.timing.quiet_ms);
        let quiet_long = self
            .still
            .as_ref()
            .is_some_and(|(_, since)| since.elapsed() >= quiet);
        quiet_long || self.threads_still()
    }

    /// No process in a one-off timed sleep (a `sleep` before it installs its handlers): one
    /// asleep in a timed wait is done starting once it has come round it twice (a polling
    /// loop), or has slept [`LONGEST_POLL`] in one (a long `sleep` as its way to wait).
    fn done_starting(&self) -> bool {
        self.procs.iter().all(|p| {
            p.ended()
                || !matches!(p.last, Some((Activity::Waiting(Wait::Timed), _)))
                || p.rounds >= 2
                || p.timed
                    .is_some_and(|(since, _)| since.elapsed() >= LONGEST_POLL)
        })
    }

    /// Every process asleep, stopped, ended or busy; every signal's effect seen.
    fn settled(&self, session: &Session) -> bool {
        if self.procs.is_empty() {
            return session.program_exit().is_some() || session.not_run().is_some();
        }
        // A busy process gives no sign of having handled a signal but its output: it is
        // done once it has run on without writing, for a tenth of the busy measure of its
        // own CPU time (a wall-clock quiet would end early where it was not scheduled).
        // Once a process has ended, a busy one may be on its way out too (a driver that
        // reaped its child, then the interpreter's shutdown: tens of milliseconds of CPU
        // and no output): it must run on for the whole measure, as the bus judges it.
        let busy_ns = self.spec.timing.busy_ms * 1_000_000;
        let exiting = self.procs.iter().any(|p| p.ended());
        let ran_on_ns = if exiting { busy_ns } else { busy_ns / 10 };
        let asleep = self.procs.iter().all(|p| {
            p.ended()
                || p.busy && p.cpu_ns.saturating_sub(p.cpu_at_change) >= ran_on_ns
                || matches!(
                    p.last,
                    Some((
                        Activity::Waiting(_)
                            | Activity::Stopped
                            | Activity::Zombie
                            | Activity::Gone,
                        _
                    ))
                )
        });
        // The shim's report of the program's end is what records that end (its status, the
        // event log's `ended`): a program seen ended in /proc waits for it.
        let reported = !self.procs[0].ended()
            || session.program_exit().is_some()
            || session.not_run().is_some();
        // `still` is reset while an expected effect of a signal is missing.
        reported && asleep && self.still.is_some()
    }

    /// The processes still in `/proc` (zombies included).
    pub(super) fn live_pids(&self) -> Vec<nix::unistd::Pid> {
        self.procs
            .iter()
            .filter(|p| !p.gone)
            .map(|p| p.pid)
            .collect()
    }

    /// A wait begins: stillness is judged from its own looks.
    pub(super) fn restart_stillness(&mut self) {
        self.stillness = Stillness::default();
    }

    /// Whether the program can no longer move by itself, so that a line or an exit it has
    /// not produced will not come: settled (above) and [`Seen::threads_still`]. A process in
    /// a timed wait (a polling loop, a `sleep`) or a busy one may still act: for those a
    /// wait runs to its deadline, so where it ends never depends on how fast a look came.
    pub(super) fn cannot_move(&mut self, session: &Session) -> bool {
        if !self.settled(session) {
            self.restart_stillness();
            return false;
        }
        self.threads_still()
    }

    /// Thread by thread (`supervise::rest`): every thread asleep in a wait only an outside
    /// event ends, no signal pending, no thread run between this look and the last; and
    /// what was last typed taken: a thread asleep in a terminal read has read since, and
    /// some thread of the tree has (a reader that polls its terminal first shows only so).
    fn threads_still(&mut self) -> bool {
        let pids = self.live_pids();
        if let Some(typed) = &self.typed_look {
            if !rest::read_since(typed, &pids) {
                return false;
            }
        }
        let whom = Whom {
            programs: &pids,
            grader_threads: false,
        };
        self.stillness.still(whom, self.typed_look.as_ref(), false)
    }

    /// A zombie while the program is at rest: a child its parent has not reaped.
    pub(super) fn note_zombies(&mut self) {
        for (i, p) in self.procs.iter().enumerate() {
            if p.ended() && !p.gone && !self.zombies_at_rest.iter().any(|z| z.0 == i) {
                let parent_alive = p.parent.is_some_and(|q| !self.procs[q].ended());
                if parent_alive || p.orphaned {
                    self.zombies_at_rest.push((i, self.step));
                }
            }
        }
    }
}

fn activity_code(a: Activity) -> u64 {
    match a {
        Activity::Gone => 0,
        Activity::Zombie => 1,
        Activity::Stopped => 2,
        Activity::Waiting(crate::supervise::waiting::Wait::Indefinite) => 3,
        Activity::Waiting(_) => 4,
        Activity::Active => 5,
    }
}
