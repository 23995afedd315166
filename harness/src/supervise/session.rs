//! One run of a submission: the terminal, the shim's reports, pidfds of the processes being
//! watched, and the one event loop that waits on all of them with a deadline.
//!
//! The loop sleeps in `poll` on the terminal, the shim's pipe and the pidfds, so output and
//! exits wake it at once; process *states* (asleep, stopped, handlers installed) have no
//! descriptor, so it also looks at `/proc` every `tick`. Nothing here waits a fixed time.
//!
//! Containment (when the launch carries a sandbox): the run's processes are in a freezer
//! group of their own; terminal output beyond the sandbox's `output_bytes` is a flood, and
//! the run is cut off at once (its processes killed, a `⟨…⟩` mark in the transcript); no wait
//! goes past the grading's wall deadline; the size of the program's directory is looked at
//! every `DISK_WATCH` (a sized tmpfs as root, a walk otherwise) and a run that fills its
//! allowance is cut off too; and the terminal's settings are read at every step,
//! so a program that turns off signal keys or echo is reported as such.

mod terminal;

use crate::tr;
use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::sync::Arc;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{kill, Signal};
use nix::sys::termios::{LocalFlags, SpecialCharacterIndices, Termios};
use nix::unistd::Pid;

use super::events::{self, Ending, ExitNotes, Recorder, What};
use super::isolation::{ConfineError, RunGroup, Sandbox};
use super::spawn::{self, Launch, ShimReport, Spawned, REPORT_LEN};
use super::transcript::Transcript;
use super::{cleanup, pidfd, procfs};
use procfs::RunState;
use terminal::slave_termios;
pub use terminal::{termios_changes, TerminalChange};

/// How a process ended: the program from the shim's `waitid`, others from exit events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Code(i32),
    Signal(i32),
}

impl Exit {
    /// From a wait status (`waitid`, or the exit code of a process event).
    pub fn from_wait_status(st: i32) -> Self {
        if libc::WIFSIGNALED(st) {
            Exit::Signal(libc::WTERMSIG(st))
        } else {
            Exit::Code(libc::WEXITSTATUS(st))
        }
    }
}

/// How often a run's directory is measured where its size is watched, not bounded.
const DISK_WATCH: Duration = Duration::from_millis(25);

/// How long cutting a run off may take, and at most how many rounds of stopping and killing
/// it takes (a process may fork while the others die).
const KILL_RUN_TIME: Duration = Duration::from_secs(2);
const KILL_RUN_ROUNDS: usize = 100;

/// A key typed at the terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    CtrlC,
    CtrlBackslash,
    CtrlZ,
}

impl Key {
    pub fn byte(self) -> u8 {
        match self {
            Key::CtrlC => 0x03,
            Key::CtrlBackslash => 0x1c,
            Key::CtrlZ => 0x1a,
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            Key::CtrlC => "Ctrl-C",
            Key::CtrlBackslash => "Ctrl-\\",
            Key::CtrlZ => "Ctrl-Z",
        }
    }
    /// Where the terminal's settings hold the character that sends this key's signal.
    fn control_char(self) -> SpecialCharacterIndices {
        match self {
            Key::CtrlC => SpecialCharacterIndices::VINTR,
            Key::CtrlBackslash => SpecialCharacterIndices::VQUIT,
            Key::CtrlZ => SpecialCharacterIndices::VSUSP,
        }
    }
    /// The signal the terminal sends the foreground group for this key.
    pub fn signal(self) -> Signal {
        match self {
            Key::CtrlC => Signal::SIGINT,
            Key::CtrlBackslash => Signal::SIGQUIT,
            Key::CtrlZ => Signal::SIGTSTP,
        }
    }
}

/// Why the program never ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotRun {
    /// The grader could not confine it: the step that failed.
    Confine(ConfineError),
    /// `exec` (or `chdir`) failed.
    Exec(Errno),
}

/// Why a run was cut off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CutOff {
    /// Its terminal output passed `limit` bytes; `bytes` had arrived by then.
    Flood { bytes: u64, limit: u64 },
    /// Its directory held `used` bytes, its whole allowance of `limit`.
    Disk { used: u64, limit: u64 },
}

/// What the shim has reported about the program it started.
#[derive(Default)]
struct ShimReports {
    /// The start of a record not read whole yet.
    partial: Vec<u8>,
    pid: Option<Pid>,
    exec_error: Option<Errno>,
    confine_error: Option<ConfineError>,
    exit: Option<Exit>,
}

impl ShimReports {
    /// Reads every record that is ready on `fd`.
    fn read(&mut self, fd: &OwnedFd) {
        loop {
            let mut rec = [0u8; 64];
            match nix::unistd::read(fd, &mut rec) {
                Ok(0) | Err(_) => break,
                Ok(n) => self.partial.extend_from_slice(&rec[..n]),
            }
        }
        while self.partial.len() >= REPORT_LEN {
            let mut rec = [0u8; REPORT_LEN];
            rec.copy_from_slice(&self.partial[..REPORT_LEN]);
            self.partial.drain(..REPORT_LEN);
            match ShimReport::decode(&rec) {
                Some(ShimReport::ProgramPid(p)) => self.pid = Some(Pid::from_raw(p)),
                Some(ShimReport::ExecFailed(e)) => self.exec_error = Some(Errno::from_raw(e)),
                Some(ShimReport::ConfineFailed(v)) => {
                    self.confine_error = ConfineError::decode(v);
                    self.exec_error = Some(Errno::from_raw(v & 0xffff));
                }
                Some(ShimReport::ProgramExited(st)) => self.exit = Some(Exit::from_wait_status(st)),
                None => {}
            }
        }
    }
}

/// The run's bounds (from its sandbox, if any) and what it ran into.
struct Containment {
    sandbox: Option<Arc<Sandbox>>,
    /// The run's freezer group, when there are control groups.
    group: Option<RunGroup>,
    /// Output beyond this many bytes is a flood.
    output_limit: Option<u64>,
    /// No wait goes past this (the grading's wall deadline).
    wall: Option<Instant>,
    /// Set when the run was cut off for a flood: the bytes received by then.
    flood: Option<u64>,
    /// Set when the run was cut off for writing too much: the bytes its directory held.
    disk: Option<u64>,
    disk_checked: Instant,
    /// A wait was cut short by `wall`.
    overran: bool,
}

/// The terminal as the grader set it up, and what the program changed since.
struct TerminalWatch {
    baseline: Option<Termios>,
    changes: Vec<TerminalChange>,
}

/// A running submission.
pub struct Session {
    spawned: Spawned,
    pub transcript: Transcript,
    shim: ShimReports,
    master_eof: bool,
    pidfds: Vec<(Pid, OwnedFd)>,
    started: Instant,
    /// How often process states are looked at while nothing else happens.
    pub tick: Duration,
    containment: Containment,
    terminal: TerminalWatch,
    /// The grading's event log, when there is one, and what it has been told of exits.
    events: Option<ExitNotes>,
    /// Processes of the same grading that must outlive this session (see [`Session::spare`]).
    spared: Vec<Pid>,
}

impl Session {
    /// Starts `launch` in a new terminal and waits for the shim to report the program's pid
    /// (or the failure to start it).
    pub fn start(launch: &Launch, transcript_cap: usize, deadline: Instant) -> io::Result<Self> {
        let group = launch.sandbox.as_ref().and_then(|sb| sb.run_group());
        let spawned = spawn::spawn_in(launch, group.as_ref().map(|g| g.procs_fd()))?;
        let baseline = spawned.termios.clone();
        let mut s = Session {
            spawned,
            transcript: Transcript::with_cap(transcript_cap),
            shim: ShimReports::default(),
            master_eof: false,
            pidfds: Vec::new(),
            started: Instant::now(),
            tick: Duration::from_millis(1),
            containment: Containment {
                output_limit: launch.sandbox.as_ref().map(|sb| sb.limits().output_bytes),
                wall: launch.sandbox.as_ref().map(|sb| sb.deadline()),
                sandbox: launch.sandbox.clone(),
                group,
                flood: None,
                disk: None,
                disk_checked: Instant::now(),
                overran: false,
            },
            terminal: TerminalWatch {
                baseline,
                changes: Vec::new(),
            },
            events: events::current().map(ExitNotes::new),
            spared: Vec::new(),
        };
        s.wait_until(deadline, |s| {
            (s.shim.pid.is_some() || s.shim.exec_error.is_some()).then_some(())
        });
        if let Some(pid) = s.shim.pid {
            s.record(What::Started(pid.as_raw()));
            s.watch(pid);
        }
        Ok(s)
    }

    /// Records an event in the grading's log, if there is one.
    pub fn record(&self, what: What) {
        if let Some(e) = &self.events {
            e.log.record(what);
        }
    }

    /// The grading's event log, if there is one.
    pub fn event_log(&self) -> Option<&Recorder> {
        self.events.as_ref().map(|e| &e.log)
    }

    /// The middle process that holds the session.
    pub fn shim(&self) -> Pid {
        self.spawned.shim
    }

    pub fn started(&self) -> Instant {
        self.started
    }

    /// The program the shim started: the submission itself, whatever part it plays in an
    /// exercise. "Program", not "leader": the shim is the session's leader.
    pub fn program_pid(&self) -> Option<Pid> {
        self.shim.pid
    }

    /// Set once the program has exited and the shim reaped it.
    pub fn program_exit(&self) -> Option<Exit> {
        self.shim.exit
    }

    /// Set when `exec` (or `chdir`) failed: the program never ran.
    pub fn exec_error(&self) -> Option<Errno> {
        self.shim.exec_error
    }

    /// Why the program never ran: the confinement step that failed, or the `exec` error.
    pub fn not_run(&self) -> Option<NotRun> {
        match self.shim.confine_error {
            Some(c) => Some(NotRun::Confine(c)),
            None => self.shim.exec_error.map(NotRun::Exec),
        }
    }

    /// Set when the run was cut off because its output went beyond the limit: the bytes
    /// received by then.
    pub fn flood(&self) -> Option<u64> {
        self.containment.flood
    }

    /// Set when the run was cut off because it filled its disk allowance: the bytes it had
    /// written, and the limit.
    pub fn disk_exceeded(&self) -> Option<(u64, u64)> {
        let limit = self.containment.sandbox.as_ref()?.limits().disk_bytes;
        self.containment.disk.map(|d| (d, limit))
    }

    /// Why the run was cut off, if it was (a flood first, should it have been both).
    pub fn cut_off(&self) -> Option<CutOff> {
        if let (Some(bytes), Some(limit)) = (self.containment.flood, self.containment.output_limit)
        {
            return Some(CutOff::Flood { bytes, limit });
        }
        self.disk_exceeded()
            .map(|(used, limit)| CutOff::Disk { used, limit })
    }

    /// The output limit of a run, if any.
    pub fn output_limit(&self) -> Option<u64> {
        self.containment.output_limit
    }

    /// Whether a wait was cut short by the grading's wall deadline.
    pub fn overran(&self) -> bool {
        self.containment.overran
    }

    /// What the program changed in its terminal's settings, each once, in the order seen
    /// (read at every key and signal, and when the run ends).
    pub fn terminal_changes(&self) -> &[TerminalChange] {
        &self.terminal.changes
    }

    /// Watches `pid` with a pidfd so that its exit wakes the event loop.
    pub fn watch(&mut self, pid: Pid) {
        if self.pidfds.iter().any(|(p, _)| *p == pid) {
            return;
        }
        if let Ok(fd) = pidfd::open(pid.as_raw()) {
            self.pidfds.push((pid, fd));
        }
    }

    /// Whether a watched process has exited (its pidfd is readable). Unwatched: by /proc.
    pub fn has_exited(&self, pid: Pid) -> bool {
        if let Some((_, fd)) = self.pidfds.iter().find(|(p, _)| *p == pid) {
            return pidfd::exited(fd);
        }
        match procfs::stat(pid) {
            Ok(st) => st.state == RunState::Zombie,
            Err(_) => true,
        }
    }

    /// Reads everything that is ready: terminal output and shim reports. The exits seen
    /// before reading are recorded after the output, so a process's last line comes before
    /// its end in the event log whenever the two are read in one go.
    pub fn pump(&mut self) {
        // Watched processes (not the program: the shim tells its end) that have ended.
        let program = self.shim.pid;
        let watched = self.pidfds.iter().filter(|(p, _)| Some(*p) != program);
        let watched = watched.map(|(p, fd)| (p.as_raw(), fd));
        let exited = self.events.as_ref().map(|e| e.newly_ended(watched));
        let had_exit = self.shim.exit.is_some();
        self.read_terminal();
        self.shim.read(&self.spawned.reports);
        if let Some(exited) = exited {
            if !had_exit && self.shim.exit.is_some() {
                // What the program wrote before it ended is in the terminal by now.
                self.read_terminal();
            }
            let how = self.shim.exit.map(|x| match x {
                Exit::Code(c) => Ending::Code(c),
                Exit::Signal(s) => Ending::Signal(s),
            });
            if let Some(e) = &mut self.events {
                e.note(program.map(Pid::as_raw).zip(how), exited);
            }
        }
    }

    fn read_terminal(&mut self) {
        let mut buf = [0u8; 16 * 1024];
        while !self.master_eof {
            match nix::unistd::read(&self.spawned.master, &mut buf) {
                Ok(0) => self.master_eof = true,
                Ok(n) => {
                    self.transcript.push_output(&buf[..n]);
                    if let Some(e) = &self.events {
                        e.log.output(&buf[..n]);
                    }
                    self.check_flood();
                }
                Err(Errno::EAGAIN) => break,
                Err(Errno::EINTR) => continue,
                // EIO: every slave descriptor is closed.
                Err(_) => self.master_eof = true,
            }
        }
    }

    /// Cuts the run off once its output passes the limit.
    fn check_flood(&mut self) {
        let (Some(limit), None) = (self.containment.output_limit, self.containment.flood) else {
            return;
        };
        let total = self.transcript.total_bytes();
        if total <= limit {
            return;
        }
        self.containment.flood = Some(total);
        let what = tr!("output cut off: more than {limit} bytes", limit = limit);
        self.record(What::Note(what.clone()));
        self.transcript.push_action(what);
        self.kill_run();
    }

    /// Kills every process of this run now (not the shim, which reports the program's end):
    /// the freezer group if there is one, else the shim's descendants and its session.
    pub fn kill_run(&mut self) {
        let deadline = Instant::now() + KILL_RUN_TIME;
        if let Some(g) = &self.containment.group {
            g.kill_all(deadline);
        }
        for _ in 0..KILL_RUN_ROUNDS {
            let targets = self.live_processes();
            if targets.is_empty() || Instant::now() >= deadline {
                break;
            }
            cleanup::stop_kill_and_await(&targets, deadline);
            cleanup::reap_exited();
        }
    }

    /// The run's processes that have not exited: the shim's descendants, and whatever else
    /// is in its session (a process that escaped the tree but not the session).
    fn live_processes(&self) -> Vec<i32> {
        let shim = self.spawned.shim.as_raw();
        let mut targets: Vec<i32> = procfs::descendants(self.spawned.shim)
            .iter()
            .map(|s| s.pid)
            .collect();
        for p in procfs::all_processes() {
            if p.session == shim && p.pid != shim && !targets.contains(&p.pid) {
                targets.push(p.pid);
            }
        }
        targets.retain(|p| {
            !matches!(
                procfs::stat(Pid::from_raw(*p)).map(|s| s.state),
                Ok(RunState::Zombie) | Err(_)
            )
        });
        targets
    }

    /// Cuts the run off once its directory holds its whole disk allowance. Looked at every
    /// `DISK_WATCH`.
    fn check_disk(&mut self) {
        let c = &mut self.containment;
        if c.disk.is_some() || c.disk_checked.elapsed() < DISK_WATCH {
            return;
        }
        c.disk_checked = Instant::now();
        let Some(sb) = c.sandbox.clone() else {
            return;
        };
        let Some(used) = sb.disk_used() else {
            return;
        };
        let limit = sb.limits().disk_bytes;
        // A sized tmpfs never holds more than the limit: nearly full is full.
        if used >= limit - limit / 64 {
            c.disk = Some(used);
            let what = tr!(
                "cut off: more than {limit} MiB written",
                limit = limit >> 20
            );
            self.record(What::Note(what.clone()));
            self.transcript.push_action(what);
            self.kill_run();
        }
    }

    /// Runs `probe` after every event (and every `tick`) until it returns a value or the
    /// deadline (never later than the grading's wall deadline) passes.
    pub fn wait_until<T>(
        &mut self,
        deadline: Instant,
        probe: impl FnMut(&mut Session) -> Option<T>,
    ) -> Option<T> {
        let capped = match self.containment.wall {
            Some(w) if w < deadline => w,
            _ => deadline,
        };
        let r = self.wait_until_uncapped(capped, probe);
        if r.is_none() && capped < deadline {
            self.containment.overran = true;
        }
        r
    }

    fn wait_until_uncapped<T>(
        &mut self,
        deadline: Instant,
        mut probe: impl FnMut(&mut Session) -> Option<T>,
    ) -> Option<T> {
        loop {
            self.pump();
            self.check_disk();
            if let Some(v) = probe(self) {
                return Some(v);
            }
            let now = Instant::now();
            if now >= deadline {
                return None;
            }
            self.block((deadline - now).min(self.tick));
        }
    }

    /// Sleeps in `poll` until output, a shim report, an exit, or `timeout`.
    fn block(&self, timeout: Duration) {
        let master = self.spawned.master.as_fd();
        let reports = self.spawned.reports.as_fd();
        let mut fds: Vec<PollFd> = Vec::with_capacity(2 + self.pidfds.len());
        if !self.master_eof {
            fds.push(PollFd::new(master, PollFlags::POLLIN));
        }
        fds.push(PollFd::new(reports, PollFlags::POLLIN));
        // A pidfd that is already readable would make poll return at once for ever; only
        // live ones are waited on.
        for (_, fd) in &self.pidfds {
            if !pidfd::exited(fd) {
                fds.push(PollFd::new(fd.as_fd(), PollFlags::POLLIN));
            }
        }
        let ms = timeout.as_millis().clamp(1, i32::MAX as u128) as i32;
        let _ = poll(
            &mut fds,
            PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX),
        );
    }

    /// Reads the terminal's settings and notes what the program changed. Returns whether
    /// the key would still send its signal.
    fn check_terminal(&mut self, key: Option<Key>) -> bool {
        let (Some(base), Some(now)) =
            (&self.terminal.baseline, slave_termios(&self.spawned.master))
        else {
            return true;
        };
        for change in termios_changes(base, &now) {
            if !self.terminal.changes.contains(&change) {
                self.terminal.changes.push(change);
            }
        }
        match key {
            Some(k) => {
                now.local_flags.contains(LocalFlags::ISIG)
                    && now.control_chars[k.control_char() as usize] == k.byte()
            }
            None => true,
        }
    }

    /// Types a key at the terminal and marks it in the transcript (noting it when the
    /// program's terminal settings keep the key from sending its signal).
    pub fn type_key(&mut self, key: Key) {
        self.pump();
        let label = if self.check_terminal(Some(key)) {
            key.label().to_string()
        } else {
            tr!(
                "{key} (the program turned this key's signal off)",
                key = key.label()
            )
        };
        self.record(What::Key(label.clone()));
        self.transcript.push_action(label);
        let _ = nix::unistd::write(&self.spawned.master, &[key.byte()]);
    }

    /// Types text (a line of input) at the terminal.
    pub fn type_text(&mut self, text: &str) {
        let label = tr!("typed {text}", text = format!("{text:?}"));
        self.type_labelled(text.as_bytes(), &label);
    }

    /// Types `bytes` (a key without a signal, such as Ctrl-D) marked as `label`.
    pub fn type_labelled(&mut self, bytes: &[u8], label: &str) {
        self.pump();
        self.record(What::Typed(
            String::from_utf8_lossy(bytes)
                .trim_end_matches('\n')
                .to_string(),
        ));
        self.transcript.push_action(label.to_string());
        let mut rest = bytes;
        while !rest.is_empty() {
            match nix::unistd::write(&self.spawned.master, rest) {
                Ok(n) => rest = &rest[n..],
                Err(Errno::EAGAIN) | Err(Errno::EINTR) => {
                    self.pump();
                    continue;
                }
                Err(_) => break,
            }
        }
    }

    /// Sends `sig` to one process and marks it in the transcript as `label`.
    pub fn send_signal(&mut self, pid: Pid, sig: Signal, label: &str) -> nix::Result<()> {
        self.pump();
        self.check_terminal(None);
        self.record(What::Signal {
            signal: sig.as_str().to_string(),
            to: pid.as_raw(),
        });
        self.transcript.push_action(label.to_string());
        kill(pid, sig)
    }

    /// Descriptor of the terminal, for callers that need to inspect its settings.
    pub fn master_fd(&self) -> i32 {
        self.spawned.master.as_raw_fd()
    }

    /// Ends the run: lets the shim go, kills everything the submission left (however it
    /// escaped), reaps it all, and reads the terminal to its end. Returns what was killed.
    /// Keeps `pids` (each with its descendants and session) alive when this session
    /// finishes: pair mode's client ends while the student's server serves on.
    pub fn spare(&mut self, pids: Vec<Pid>) {
        self.spared = pids;
    }

    pub fn finish(mut self, deadline: Instant) -> Vec<cleanup::Leftover> {
        self.pump();
        self.check_terminal(None);
        // Closing our end of the release pipe lets the shim exit once the program has.
        drop(self.spawned.release.take());
        if let Some(g) = &self.containment.group {
            g.kill_all(deadline);
        }
        let killed = cleanup::kill_descendants_sparing(&self.spared, deadline);
        // Every slave descriptor is gone with the processes: read what is left, up to EOF.
        self.wait_until_uncapped(deadline, |s| s.master_eof.then_some(()));
        self.pump();
        if let Some(g) = &self.containment.group {
            g.remove(deadline);
        }
        killed
    }
}
