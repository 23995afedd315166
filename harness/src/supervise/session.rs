//! One run of a submission: the terminal, the shim's reports, pidfds of the processes being
//! watched, and the one event loop that waits on all of them with a deadline.
//!
//! The loop sleeps in `poll` on the terminal, the shim's pipe and the pidfds, so output and
//! exits wake it at once; process *states* (asleep, stopped, handlers installed) have no
//! descriptor, so it also looks at `/proc` every `tick`. Nothing here waits a fixed time.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use super::cleanup;
use super::spawn::{self, Launch, ShimReport, Spawned, REPORT_LEN};
use super::transcript::Transcript;

/// How the driver (the program started) ended, from the shim's `waitid`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Code(i32),
    Signal(i32),
}

impl Exit {
    fn from_wait_status(st: i32) -> Self {
        if libc::WIFSIGNALED(st) {
            Exit::Signal(libc::WTERMSIG(st))
        } else {
            Exit::Code(libc::WEXITSTATUS(st))
        }
    }
}

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
    /// The signal the terminal sends the foreground group for this key.
    pub fn signal(self) -> Signal {
        match self {
            Key::CtrlC => Signal::SIGINT,
            Key::CtrlBackslash => Signal::SIGQUIT,
            Key::CtrlZ => Signal::SIGTSTP,
        }
    }
}

/// A running submission.
pub struct Session {
    spawned: Spawned,
    pub transcript: Transcript,
    driver: Option<Pid>,
    exec_error: Option<Errno>,
    driver_exit: Option<Exit>,
    master_eof: bool,
    report_buf: Vec<u8>,
    pidfds: Vec<(Pid, OwnedFd)>,
    started: Instant,
    /// How often process states are looked at while nothing else happens.
    pub tick: Duration,
}

impl Session {
    /// Starts `launch` in a new terminal and waits for the shim to report the driver's pid
    /// (or the failure to start it).
    pub fn start(launch: &Launch, transcript_cap: usize, deadline: Instant) -> io::Result<Self> {
        let spawned = spawn::spawn(launch)?;
        let mut s = Session {
            spawned,
            transcript: Transcript::with_cap(transcript_cap),
            driver: None,
            exec_error: None,
            driver_exit: None,
            master_eof: false,
            report_buf: Vec::new(),
            pidfds: Vec::new(),
            started: Instant::now(),
            tick: Duration::from_millis(1),
        };
        s.wait_until(deadline, |s| s.driver.is_some().then_some(()));
        if let Some(pid) = s.driver {
            s.watch(pid);
        }
        Ok(s)
    }

    /// The middle process that holds the session.
    pub fn shim(&self) -> Pid {
        self.spawned.shim
    }

    pub fn started(&self) -> Instant {
        self.started
    }

    /// The program started (the driver, in the bus exercise).
    pub fn driver(&self) -> Option<Pid> {
        self.driver
    }

    /// Set when `exec` (or `chdir`) failed: the program never ran.
    pub fn exec_error(&self) -> Option<Errno> {
        self.exec_error
    }

    /// Set once the driver has exited and the shim reaped it.
    pub fn driver_exit(&self) -> Option<Exit> {
        self.driver_exit
    }

    /// Watches `pid` with a pidfd so that its exit wakes the event loop.
    pub fn watch(&mut self, pid: Pid) {
        if self.pidfds.iter().any(|(p, _)| *p == pid) {
            return;
        }
        // SAFETY: plain system call; a non-negative result is a new descriptor we own.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid.as_raw(), 0) };
        if fd >= 0 {
            self.pidfds
                .push((pid, unsafe { OwnedFd::from_raw_fd(fd as i32) }));
        }
    }

    /// Whether a watched process has exited (its pidfd is readable). Unwatched: by /proc.
    pub fn has_exited(&self, pid: Pid) -> bool {
        if let Some((_, fd)) = self.pidfds.iter().find(|(p, _)| *p == pid) {
            let mut fds = [PollFd::new(fd.as_fd(), PollFlags::POLLIN)];
            return matches!(poll(&mut fds, PollTimeout::ZERO), Ok(n) if n > 0);
        }
        match super::procfs::stat(pid) {
            Ok(st) => st.state == super::procfs::RunState::Zombie,
            Err(_) => true,
        }
    }

    /// Reads everything that is ready: terminal output and shim reports.
    pub fn pump(&mut self) {
        let mut buf = [0u8; 16 * 1024];
        while !self.master_eof {
            match nix::unistd::read(&self.spawned.master, &mut buf) {
                Ok(0) => self.master_eof = true,
                Ok(n) => self.transcript.push_output(&buf[..n]),
                Err(Errno::EAGAIN) => break,
                Err(Errno::EINTR) => continue,
                // EIO: every slave descriptor is closed.
                Err(_) => self.master_eof = true,
            }
        }
        loop {
            let mut rec = [0u8; 64];
            match nix::unistd::read(&self.spawned.reports, &mut rec) {
                Ok(0) | Err(_) => break,
                Ok(n) => self.report_buf.extend_from_slice(&rec[..n]),
            }
        }
        while self.report_buf.len() >= REPORT_LEN {
            let mut rec = [0u8; REPORT_LEN];
            rec.copy_from_slice(&self.report_buf[..REPORT_LEN]);
            self.report_buf.drain(..REPORT_LEN);
            match ShimReport::decode(&rec) {
                Some(ShimReport::DriverPid(p)) => self.driver = Some(Pid::from_raw(p)),
                Some(ShimReport::ExecFailed(e)) => self.exec_error = Some(Errno::from_raw(e)),
                Some(ShimReport::DriverExited(st)) => {
                    self.driver_exit = Some(Exit::from_wait_status(st))
                }
                None => {}
            }
        }
    }

    /// Runs `probe` after every event (and every `tick`) until it returns a value or the
    /// deadline passes.
    pub fn wait_until<T>(
        &mut self,
        deadline: Instant,
        mut probe: impl FnMut(&mut Session) -> Option<T>,
    ) -> Option<T> {
        loop {
            self.pump();
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
        for (pid, fd) in &self.pidfds {
            if !self.exited_quick(*pid, fd.as_fd()) {
                fds.push(PollFd::new(fd.as_fd(), PollFlags::POLLIN));
            }
        }
        let ms = timeout.as_millis().clamp(1, i32::MAX as u128) as i32;
        let _ = poll(
            &mut fds,
            PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX),
        );
    }

    fn exited_quick(&self, _pid: Pid, fd: BorrowedFd<'_>) -> bool {
        let mut fds = [PollFd::new(fd, PollFlags::POLLIN)];
        matches!(poll(&mut fds, PollTimeout::ZERO), Ok(n) if n > 0)
    }

    /// Types a key at the terminal and marks it in the transcript.
    pub fn type_key(&mut self, key: Key) {
        self.pump();
        self.transcript.push_action(key.label());
        let _ = nix::unistd::write(&self.spawned.master, &[key.byte()]);
    }

    /// Types text (a line of input) at the terminal.
    pub fn type_text(&mut self, text: &str) {
        self.pump();
        self.transcript.push_action(format!("typed {text:?}"));
        let mut rest = text.as_bytes();
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
        self.transcript.push_action(label.to_string());
        kill(pid, sig)
    }

    /// Descriptor of the terminal, for callers that need to inspect its settings.
    pub fn master_fd(&self) -> i32 {
        self.spawned.master.as_raw_fd()
    }

    /// Ends the run: lets the shim go, kills everything the submission left (however it
    /// escaped), reaps it all, and reads the terminal to its end. Returns what was killed.
    pub fn finish(mut self, deadline: Instant) -> Vec<cleanup::Leftover> {
        self.pump();
        // Closing our end of the release pipe lets the shim exit once the driver has.
        drop(self.spawned.release.take());
        let killed = cleanup::kill_all_descendants(deadline);
        // Every slave descriptor is gone with the processes: read what is left, up to EOF.
        self.wait_until(deadline, |s| s.master_eof.then_some(()));
        self.pump();
        killed
    }
}
