//! One run of a declared scenario on the engine: the program in a terminal (`Session`), its
//! process tree followed through `/proc` at every look, each line credited to the processes
//! whose per-thread `wchar` counters rose as it arrived, the steps applied one at a time,
//! and "at rest" read from the processes (asleep, stopped or gone; every signal sent has had
//! its effect; nothing changed for `quiet_ms`), never from elapsed time. A busy process,
//! which never sleeps, is judged by its output falling quiet, as the bus does. This module
//! holds the run's state and the step runner; `look` reads the tree and credits the lines.

mod look;

use std::time::{Duration, Instant};

use nix::unistd::Pid;

use super::spec::{Compiled, Matcher, Named, Press, Role, Step};
use crate::supervise::exits::ExitWatch;
use crate::supervise::observe::{self, Activity, Expect};
use crate::supervise::procfs::{self, ThreadTally};
use crate::supervise::rest::{self, Stillness};
use crate::supervise::session::{Exit, Key, Session};
use crate::supervise::spawn::Launch;
use crate::tr;

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
    /// Its threads at the last look: what a step that waits judges (a count taken over
    /// the step would catch threads that start and end at once, or not, by timing).
    pub threads: usize,
    /// The CPU time it has used, at the last look.
    pub cpu_ns: u64,
    /// Its CPU time when what the looks see last changed (a busy process's running on).
    cpu_at_change: u64,
    busy_watch: Option<(Instant, u64, u64)>,
    /// Its current timed sleep (when first seen in it, with its voluntary switches then),
    /// and how often it came round one since the `ready` step began: a polling loop.
    timed: Option<(Instant, u64)>,
    rounds: u32,
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
            threads: 0,
            cpu_ns: 0,
            cpu_at_change: 0,
            busy_watch: None,
            timed: None,
            rounds: 0,
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
    /// Steps of earlier checks played on this run (a shared run): this check's come after.
    pub base: usize,
    /// Where this check's part of the actions and the transcript starts.
    pub actions_mark: usize,
    pub transcript_mark: usize,
    pub missed: Vec<Missed>,
    /// Zombies seen while the program was at rest: (proc, step).
    pub zombies_at_rest: Vec<(usize, usize)>,
    pub max_children: usize,
    exits: Option<ExitWatch>,
    still: Option<(Vec<u64>, Instant)>,
    /// CPU time of the whole tree, and the wall time it was measured over.
    cpu_total: u64,
    /// The tree's CPU time when the current check's steps began (`idle` is judged over them).
    check_began: (u64, Instant),
    /// Waiting for the program to be done starting (the `ready` step).
    starting: bool,
    /// Steps done, as words, for the report.
    pub actions: Vec<String>,
    /// The threads' reads and CPU times just before the grader last typed (text or
    /// Ctrl-D): a thread asleep in a terminal read has had it once a read returned since.
    typed_look: Option<rest::Look>,
    /// Whether the tree can still move by itself (see [`Seen::cannot_move`]).
    stillness: Stillness,
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
            base: 0,
            actions_mark: 0,
            transcript_mark: 0,
            missed: Vec::new(),
            zombies_at_rest: Vec::new(),
            max_children: 0,
            exits,
            still: None,
            cpu_total: 0,
            check_began: (0, Instant::now()),
            starting: false,
            actions: Vec::new(),
            typed_look: None,
            stillness: Stillness::default(),
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
    /// On a shared run, the steps are numbered on from the earlier checks' and what is judged
    /// is what came from this check's first step on.
    pub fn play(&mut self, steps: &[Step]) {
        let base = self.seen.step;
        self.seen.base = base;
        self.seen.actions_mark = self.seen.actions.len();
        self.seen.transcript_mark = self.session.transcript.mark();
        self.seen.check_began = (self.seen.cpu_total, Instant::now());
        for (i, step) in steps.iter().enumerate() {
            self.seen.step = base + i + 1;
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
                self.seen.actions.push(tr!("waited until at rest").into());
                self.settle(rest);
            }
            Step::Ready => {
                self.seen
                    .actions
                    .push(tr!("waited until ready (at rest, done starting)").into());
                for p in &mut self.seen.procs {
                    (p.timed, p.rounds) = (None, 0);
                }
                self.seen.starting = true;
                self.settle(rest);
                self.seen.starting = false;
            }
            Step::Line(m) => {
                self.seen.actions.push(tr!("waited for a line").into());
                self.await_line(m, wait);
            }
            Step::Exit(who) => {
                self.seen
                    .actions
                    .push(tr!("waited for {name} to end", name = who.name));
                self.await_exit(who, wait);
            }
            Step::Type { text, settle } => {
                self.seen.look(&mut self.session);
                self.expect_all(None);
                self.seen
                    .typed
                    .push(text.trim_end_matches('\n').to_string());
                self.seen.typed_look = Some(rest::before_typing(&self.seen.live_pids()));
                self.session.type_text(text);
                self.seen
                    .actions
                    .push(tr!("typed {text}", text = format!("{text:?}")));
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
                        self.seen.typed_look = Some(rest::before_typing(&self.seen.live_pids()));
                        self.session.type_labelled(&[0x04], "Ctrl-D");
                    }
                }
                self.seen
                    .actions
                    .push(tr!("typed {key}", key = press_label(*key)));
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
                self.seen.actions.push(tr!(
                    "sent {signal} to {name}",
                    signal = signal.as_str(),
                    name = to.name
                ));
                if sent == 0 {
                    let step = self.seen.step;
                    self.seen.missed.push(Missed {
                        step,
                        what: tr!(
                            "no live process is {name} to send {signal} to",
                            name = to.name,
                            signal = signal.as_str()
                        ),
                        code: format!("missing.{}", to.name),
                    });
                }
                if *settle {
                    self.settle(rest);
                }
            }
            Step::Pass(ms) => {
                self.seen.actions.push(tr!("let {ms} ms pass", ms = ms));
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
                    what: tr!(
                        "the program did not come to rest within {ms} ms{running}",
                        ms = within.as_millis(),
                        running = if running.is_empty() {
                            String::new()
                        } else {
                            tr!(" (still running: {pids})", pids = running.join(", "))
                        }
                    ),
                    code: "rest".into(),
                });
            }
        }
    }

    /// Waits for a line; a program that can no longer move without it will not print it,
    /// so the wait ends there rather than at the deadline.
    fn await_line(&mut self, m: &Matcher, within: Duration) {
        let deadline = Instant::now() + within;
        let seen = &mut self.seen;
        let from = seen.lines.len();
        seen.restart_stillness();
        let found = self.session.wait_until(deadline, |s| {
            seen.look(s);
            if seen.lines[from..]
                .iter()
                .any(|l| !l.by.is_empty() && m.matches(&l.text))
            {
                return Some(true);
            }
            seen.cannot_move(s).then_some(false)
        });
        let what = match found {
            Some(true) => return,
            Some(false) => {
                tr!("the program came to rest without printing the line awaited").to_string()
            }
            None => tr!(
                "the line awaited did not appear within {ms} ms",
                ms = within.as_millis()
            ),
        };
        let step = self.seen.step;
        self.seen.missed.push(Missed {
            step,
            what,
            code: "line.awaited".into(),
        });
    }

    /// Waits for `who` to end; as for a line, a program that can no longer move will not.
    fn await_exit(&mut self, who: &Named, within: Duration) {
        let deadline = Instant::now() + within;
        let seen = &mut self.seen;
        seen.restart_stillness();
        let ended = self.session.wait_until(deadline, |s| {
            seen.look(s);
            let m = seen.members(&who.role);
            if !m.is_empty() && m.iter().all(|i| seen.procs[*i].ended()) {
                return Some(true);
            }
            seen.cannot_move(s).then_some(false)
        });
        if ended != Some(true) {
            let step = self.seen.step;
            let what = match ended {
                Some(_) => tr!(
                    "the program came to rest with {name} still running",
                    name = who.name
                ),
                None => tr!(
                    "{name} did not end within {ms} ms",
                    name = who.name,
                    ms = within.as_millis()
                ),
            };
            self.seen.missed.push(Missed {
                step,
                what,
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
