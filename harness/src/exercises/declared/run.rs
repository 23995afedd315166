//! One run of a declared scenario on the engine: the program in a terminal (`Session`), its
//! process tree followed through `/proc` at every look, each line credited to the processes
//! whose per-thread `wchar` counters rose as it arrived, the steps applied one at a time,
//! and "at rest" read from the processes (asleep, stopped or gone; every signal sent has had
//! its effect; nothing changed for `quiet_ms`), never from elapsed time. A busy process,
//! which never sleeps, is judged by its output falling quiet, as the bus does.

use std::time::{Duration, Instant};

use nix::unistd::Pid;

use super::spec::{Compiled, Matcher, Named, Press, Role, Step};
use crate::supervise::exits::ExitWatch;
use crate::supervise::observe::{self, Activity, Expect};
use crate::supervise::procfs::{self, ThreadTally};
use crate::supervise::session::{Exit, Key, Session};
use crate::supervise::spawn::Launch;

/// At most this many processes are followed (the pids limit bounds the tree anyway).
const MAX_PROCS: usize = 256;
/// At most this many lines are kept (the transcript cap bounds them too).
const MAX_LINES: usize = 4096;
/// Terminal output kept per run.
pub const TRANSCRIPT_BYTES: usize = 1 << 16;

/// One process of the run.
#[derive(Debug)]
pub struct Proc {
    pub pid: Pid,
    /// Index of its parent in [`Scenario::procs`]; `None` for the program.
    pub parent: Option<usize>,
    /// Its number among the program's children (1-based, in the order they appeared).
    pub child_no: Option<usize>,
    tally: ThreadTally,
    written: u64,
    /// What its reaped children wrote (whole count minus own).
    children_written: u64,
    pub exit: Option<Exit>,
    pub exited_at: Option<Instant>,
    /// Gone from /proc: reaped by someone.
    pub gone: bool,
    /// Its parent had exited before it ended: the grader adopted it.
    pub orphaned: bool,
    pub stopped: bool,
    pub max_threads: usize,
    cpu_ns: u64,
    busy_watch: Option<(Instant, u64, u64)>,
    pub busy: bool,
    /// Found busy at some look of the run.
    pub was_busy: bool,
    expect: Expect,
    last: Option<(Activity, u64)>,
}

impl Proc {
    fn new(pid: Pid, parent: Option<usize>, child_no: Option<usize>) -> Self {
        Proc {
            pid,
            parent,
            child_no,
            tally: ThreadTally::default(),
            written: 0,
            children_written: 0,
            exit: None,
            exited_at: None,
            gone: false,
            orphaned: false,
            stopped: false,
            max_threads: 0,
            cpu_ns: 0,
            busy_watch: None,
            busy: false,
            was_busy: false,
            expect: Expect::Nothing,
            last: None,
        }
    }

    pub fn ended(&self) -> bool {
        self.exited_at.is_some()
    }
}

/// A line of output and who was writing when it arrived.
#[derive(Debug, Clone)]
pub struct Line {
    pub text: String,
    /// Steps begun when it arrived (0: before the first).
    pub step: usize,
    /// Indexes in [`Scenario::procs`]; empty: nobody wrote it (the terminal's echo).
    pub by: Vec<usize>,
}

/// What one wait ran into.
#[derive(Debug, Clone)]
pub struct Missed {
    pub step: usize,
    pub what: String,
    pub code: String,
}

/// A run of one scenario: the session, and what has been seen of it.
pub struct Run<'a> {
    pub session: Session,
    pub seen: Seen<'a>,
}

/// What the looks at a run have found.
pub struct Seen<'a> {
    spec: &'a Compiled,
    pub procs: Vec<Proc>,
    pub lines: Vec<Line>,
    read_mark: usize,
    partial: Vec<u8>,
    partial_by: Vec<usize>,
    prev_writers: Vec<usize>,
    /// Lines that arrived before any writer's counter had risen (see [`Seen::claim`]).
    unclaimed: Vec<usize>,
    /// Processes found gone from /proc at the last look.
    prev_vanished: Vec<usize>,
    /// Lines the last look read (not echoes): the writers of the next look are theirs too.
    fresh: Vec<usize>,
    typed: Vec<String>,
    pub step: usize,
    pub missed: Vec<Missed>,
    /// Zombies seen while the program was at rest: (proc, step).
    pub zombies_at_rest: Vec<(usize, usize)>,
    pub max_children: usize,
    exits: Option<ExitWatch>,
    started: Instant,
    still: Option<(Vec<u64>, Instant)>,
    /// CPU time of the whole tree, and the wall time it was measured over.
    cpu_total: u64,
    /// Steps done, as words, for the report.
    pub actions: Vec<String>,
}

impl<'a> Run<'a> {
    /// Starts the program in a terminal.
    pub fn start(spec: &'a Compiled, launch: &Launch) -> std::io::Result<Self> {
        let deadline = Instant::now() + Duration::from_millis(spec.timing.rest_ms);
        let exits = ExitWatch::start();
        let session = Session::start(launch, TRANSCRIPT_BYTES, deadline)?;
        let mut seen = Seen {
            spec,
            procs: Vec::new(),
            lines: Vec::new(),
            read_mark: 0,
            partial: Vec::new(),
            partial_by: Vec::new(),
            prev_writers: Vec::new(),
            unclaimed: Vec::new(),
            prev_vanished: Vec::new(),
            fresh: Vec::new(),
            typed: Vec::new(),
            step: 0,
            missed: Vec::new(),
            zombies_at_rest: Vec::new(),
            max_children: 0,
            exits,
            started: Instant::now(),
            still: None,
            cpu_total: 0,
            actions: Vec::new(),
        };
        if let Some(pid) = session.program_pid() {
            if let Some(w) = &seen.exits {
                w.watch(pid);
            }
            seen.procs.push(Proc::new(pid, None, None));
        }
        Ok(Run { session, seen })
    }

    /// Runs every step of `steps` in turn; a wait that is not met is noted and the run goes
    /// on (a later expectation says what it means).
    pub fn play(&mut self, steps: &[Step]) {
        for (i, step) in steps.iter().enumerate() {
            self.seen.step = i + 1;
            self.apply(step);
        }
        self.session.pump();
        self.seen.look(&mut self.session);
    }

    fn apply(&mut self, step: &Step) {
        let t = &self.seen.spec.timing;
        let rest = Duration::from_millis(t.rest_ms);
        let wait = Duration::from_millis(t.wait_ms);
        match step {
            Step::Rest => {
                self.seen.actions.push("waited until at rest".into());
                self.settle(rest);
            }
            Step::Line(m) => {
                self.seen.actions.push("waited for a line".into());
                self.await_line(m, wait);
            }
            Step::Exit(who) => {
                self.seen
                    .actions
                    .push(format!("waited for {} to end", who.name));
                self.await_exit(who, wait);
            }
            Step::Type { text, settle } => {
                self.seen.look(&mut self.session);
                self.expect_all(None);
                self.seen
                    .typed
                    .push(text.trim_end_matches('\n').to_string());
                self.session.type_text(text);
                self.seen.actions.push(format!("typed {text:?}"));
                if *settle {
                    self.settle(rest);
                }
            }
            Step::Key { key, settle } => {
                self.seen.look(&mut self.session);
                match press_key(*key) {
                    Some(k) => {
                        self.expect_all(Some(k.signal() as i32));
                        self.session.type_key(k);
                    }
                    None => {
                        self.expect_all(None);
                        self.session.type_labelled(&[0x04], "Ctrl-D");
                    }
                }
                self.seen
                    .actions
                    .push(format!("typed {}", press_label(*key)));
                if *settle {
                    self.settle(rest);
                }
            }
            Step::Signal { signal, to, settle } => {
                self.seen.look(&mut self.session);
                let targets = self.seen.members(&to.role);
                self.expect_all(None);
                let mut sent = 0;
                for i in targets {
                    let p = &mut self.seen.procs[i];
                    if p.ended() {
                        continue;
                    }
                    if let Ok(st) = procfs::status(p.pid) {
                        p.expect = observe::expect(&st, *signal as i32);
                    }
                    let label = format!("{} → {}", signal.as_str(), to.name);
                    let pid = p.pid;
                    let _ = self.session.send_signal(pid, *signal, &label);
                    sent += 1;
                }
                self.seen
                    .actions
                    .push(format!("sent {} to {}", signal.as_str(), to.name));
                if sent == 0 {
                    let step = self.seen.step;
                    self.seen.missed.push(Missed {
                        step,
                        what: format!(
                            "no live process is {} to send {} to",
                            to.name,
                            signal.as_str()
                        ),
                        code: format!("missing.{}", to.name),
                    });
                }
                if *settle {
                    self.settle(rest);
                }
            }
            Step::Pass(ms) => {
                self.seen.actions.push(format!("let {ms} ms pass"));
                let until = Instant::now() + Duration::from_millis(*ms);
                let seen = &mut self.seen;
                let _: Option<()> = self.session.wait_until(until, |s| {
                    seen.look(s);
                    None
                });
            }
        }
    }

    /// What a key must change: every live process in the terminal's foreground group must
    /// show the signal's effect (`sig`); text requires nothing beyond stillness.
    fn expect_all(&mut self, sig: Option<i32>) {
        let fg = crate::supervise::spawn::foreground_group(self.session.master_fd());
        for p in &mut self.seen.procs {
            p.expect = Expect::Nothing;
            let Some(sig) = sig else { continue };
            if p.ended() {
                continue;
            }
            let in_fg =
                fg.is_none() || procfs::stat(p.pid).ok().map(|s| Pid::from_raw(s.pgrp)) == fg;
            if let (true, Ok(st)) = (in_fg, procfs::status(p.pid)) {
                p.expect = observe::expect(&st, sig);
            }
        }
        self.seen.still = None;
    }

    /// Waits until at rest; notes it when the deadline passed first.
    fn settle(&mut self, within: Duration) {
        let deadline = Instant::now() + within;
        let seen = &mut self.seen;
        seen.still = None;
        let rested = self.session.wait_until(deadline, |s| {
            seen.look(s);
            seen.at_rest(s).then_some(())
        });
        for p in &mut self.seen.procs {
            p.expect = Expect::Nothing;
        }
        match rested {
            Some(()) => self.seen.note_zombies(),
            None => {
                let running: Vec<String> = self
                    .seen
                    .procs
                    .iter()
                    .filter(|p| !p.ended() && p.last.is_some_and(|l| l.0 == Activity::Active))
                    .map(|p| format!("pid {}", p.pid))
                    .collect();
                let step = self.seen.step;
                self.seen.missed.push(Missed {
                    step,
                    what: format!(
                        "the program did not come to rest within {} ms{}",
                        within.as_millis(),
                        if running.is_empty() {
                            String::new()
                        } else {
                            format!(" (still running: {})", running.join(", "))
                        }
                    ),
                    code: "rest".into(),
                });
            }
        }
    }

    fn await_line(&mut self, m: &Matcher, within: Duration) {
        let deadline = Instant::now() + within;
        let seen = &mut self.seen;
        let from = seen.lines.len();
        let found = self.session.wait_until(deadline, |s| {
            seen.look(s);
            seen.lines[from..]
                .iter()
                .any(|l| !l.by.is_empty() && m.matches(&l.text))
                .then_some(())
        });
        if found.is_none() {
            let step = self.seen.step;
            self.seen.missed.push(Missed {
                step,
                what: format!(
                    "the line awaited did not appear within {} ms",
                    within.as_millis()
                ),
                code: "line.awaited".into(),
            });
        }
    }

    fn await_exit(&mut self, who: &Named, within: Duration) {
        let deadline = Instant::now() + within;
        let seen = &mut self.seen;
        let ended = self.session.wait_until(deadline, |s| {
            seen.look(s);
            let m = seen.members(&who.role);
            (!m.is_empty() && m.iter().all(|i| seen.procs[*i].ended())).then_some(())
        });
        if ended.is_none() {
            let step = self.seen.step;
            self.seen.missed.push(Missed {
                step,
                what: format!("{} did not end within {} ms", who.name, within.as_millis()),
                code: format!("running.{}", who.name),
            });
        } else {
            // What it wrote on its way out, and its parent's reaction, arrive now.
            self.settle(Duration::from_millis(self.seen.spec.timing.rest_ms));
        }
    }

    /// Ends the run: kills what is left and reads the terminal to its end.
    pub fn finish(self) {
        let deadline = Instant::now() + crate::supervise::cleanup::CLEANUP_TIME;
        self.session.finish(deadline);
    }
}

impl Seen<'_> {
    /// The share of one CPU the tree used since it started.
    pub fn cpu_share(&self) -> f64 {
        let wall = self.started.elapsed().as_secs_f64();
        if wall <= 0.0 {
            return 0.0;
        }
        self.cpu_total as f64 / 1e9 / wall
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
    fn look(&mut self, session: &mut Session) {
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
                    p.max_threads = p.max_threads.max(t);
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
    fn claim(&mut self, writers: &[usize]) {
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
    fn read_output(&mut self, session: &Session, writers: &[usize]) {
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
    fn update_activity(&mut self, session: &Session, now: Instant) {
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
            if p.expect.met_by(&v) {
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
        if unmet {
            self.still = None;
            return;
        }
        match &self.still {
            Some((prev, _)) if *prev == sig => {}
            _ => self.still = Some((sig, now)),
        }
    }

    /// Every process asleep, stopped, ended or busy; every signal's effect seen; nothing
    /// changed for `quiet_ms`.
    fn at_rest(&self, session: &Session) -> bool {
        if self.procs.is_empty() {
            return session.program_exit().is_some() || session.not_run().is_some();
        }
        let settled = self.procs.iter().all(|p| {
            p.ended()
                || p.busy
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
        let quiet = Duration::from_millis(self.spec.timing.quiet_ms);
        reported
            && settled
            && self
                .still
                .as_ref()
                .is_some_and(|(_, since)| since.elapsed() >= quiet)
    }

    /// A zombie while the program is at rest: a child its parent has not reaped.
    fn note_zombies(&mut self) {
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

fn press_key(p: Press) -> Option<Key> {
    match p {
        Press::CtrlC => Some(Key::CtrlC),
        Press::CtrlBackslash => Some(Key::CtrlBackslash),
        Press::CtrlZ => Some(Key::CtrlZ),
        Press::CtrlD => None,
    }
}

pub fn press_label(p: Press) -> &'static str {
    match p {
        Press::CtrlC => "Ctrl-C",
        Press::CtrlBackslash => "Ctrl-\\",
        Press::CtrlZ => "Ctrl-Z",
        Press::CtrlD => "Ctrl-D",
    }
}
