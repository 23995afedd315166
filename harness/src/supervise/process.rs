//! Programs started with pipes instead of a terminal (a student's server, the grading child
//! of a class run), and the one way a process is ended: [`Process::terminate`], which asks
//! (SIGTERM), waits a grace period on the process's pidfd, kills (SIGKILL) and reaps.
//!
//! Programs in a terminal are started by [`super::spawn`]; what a submission leaves behind
//! is swept by [`super::cleanup`].

use std::io;
use std::os::fd::{OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, ChildStderr, ChildStdout, Command, ExitStatus};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::signal::{kill, killpg, Signal};
use nix::unistd::Pid;

use super::interrupt::{self, StartPermit};
use super::pidfd;
use super::spawn::{self, Launch};

/// A started program, its pidfd, and its exit status once reaped.
#[derive(Debug)]
pub struct Process {
    child: Child,
    pid: Pid,
    pidfd: Option<OwnedFd>,
    status: Option<ExitStatus>,
    /// Whether it leads a process group that a kill must reach as a whole.
    kill_group: bool,
}

impl Process {
    /// Starts a student's program without a terminal (a server): every signal at its
    /// default, in a session of its own (no terminal to take, no keyboard signal of the
    /// grader's terminal reaches it), confined as `launch` says (its sandbox, or just its
    /// directory) and in the freezer group whose `cgroup.procs` is open as `run_group`.
    /// `cmd` carries the program, arguments, environment and pipes. Takes a start permit.
    pub fn start_confined(
        cmd: &mut Command,
        launch: &Launch,
        run_group: Option<RawFd>,
    ) -> io::Result<Process> {
        let confined = launch.clone();
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                spawn::reset_signals();
                libc::setsid();
                confined.enter_sandbox(run_group).map_err(|e| e.to_io())
            });
        }
        let permit = interrupt::permit_to_start()?;
        Process::spawn(cmd, &permit, false)
    }

    /// Starts a program of the grader's own (a grading child of a class run) as the leader of
    /// a new process group, so that one kill reaches it and whatever it started that stayed
    /// in its group. The caller holds `permit` until it has noted the pid (an interrupt
    /// must find every grader it started).
    pub fn start_group_leader(cmd: &mut Command, permit: &StartPermit) -> io::Result<Process> {
        cmd.process_group(0);
        Process::spawn(cmd, permit, true)
    }

    fn spawn(cmd: &mut Command, _permit: &StartPermit, kill_group: bool) -> io::Result<Process> {
        let child = cmd.spawn()?;
        let pid = Pid::from_raw(child.id() as i32);
        // Not reaped before we do it, so the pid still names this process.
        let pidfd = pidfd::open(pid.as_raw()).ok();
        Ok(Process {
            child,
            pid,
            pidfd,
            status: None,
            kill_group,
        })
    }

    pub fn pid(&self) -> Pid {
        self.pid
    }

    /// Its standard output pipe, if it was piped and not taken yet.
    pub fn take_stdout(&mut self) -> Option<ChildStdout> {
        self.child.stdout.take()
    }

    /// Its standard error pipe, if it was piped and not taken yet.
    pub fn take_stderr(&mut self) -> Option<ChildStderr> {
        self.child.stderr.take()
    }

    /// The exit status once it has exited (reaps it then); `None` while it runs.
    pub fn status(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            if let Ok(Some(st)) = self.child.try_wait() {
                self.status = Some(st);
            }
        }
        self.status
    }

    /// Waits until it has exited (reaping nothing) or `deadline` passes; whether it exited.
    /// Without a pidfd (a kernel older than 5.3) it cannot wait and says true: the caller's
    /// [`Self::wait`] decides.
    pub fn wait_for_exit(&self, deadline: Instant) -> bool {
        match &self.pidfd {
            Some(fd) => pidfd::wait(fd, deadline),
            None => true,
        }
    }

    /// Waits for the exit, however long it takes, and reaps.
    pub fn wait(&mut self) -> io::Result<ExitStatus> {
        if let Some(st) = self.status {
            return Ok(st);
        }
        let st = self.child.wait()?;
        self.status = Some(st);
        Ok(st)
    }

    /// Sends `sig` to the process alone (not its group). Nothing once it has been reaped.
    pub fn signal(&self, sig: Signal) -> nix::Result<()> {
        if self.status.is_some() {
            return Err(Errno::ESRCH);
        }
        kill(self.pid, sig)
    }

    /// Ends the process: SIGTERM, up to `grace` for it to exit by itself, then SIGKILL (to
    /// its whole group when it leads one); reaps it. A zero `grace` kills at once. The exit
    /// status, or the error of the final wait.
    pub fn terminate(&mut self, grace: Duration) -> io::Result<ExitStatus> {
        if let Some(st) = self.status() {
            return Ok(st);
        }
        if !grace.is_zero() {
            let _ = kill(self.pid, Signal::SIGTERM);
            self.wait_for_exit(Instant::now() + grace);
        }
        if self.status().is_none() {
            if self.kill_group {
                // The group first, then the leader (it may have left its group).
                let _ = killpg(self.pid, Signal::SIGKILL);
            }
            let _ = kill(self.pid, Signal::SIGKILL);
        }
        self.wait()
    }
}

/// A process dropped before it was reaped (an early return) is killed, not left behind.
impl Drop for Process {
    fn drop(&mut self) {
        if self.status().is_none() {
            let _ = self.terminate(Duration::ZERO);
        }
    }
}

/// Whether a process `pid` exists (a zombie counts, and so does one we may not signal).
pub fn exists(pid: i32) -> bool {
    !matches!(kill(Pid::from_raw(pid), None), Err(Errno::ESRCH))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Stdio;

    /// `sh -c script`, once it has printed its first line (its setup is done).
    fn started(script: &str) -> Process {
        use std::io::BufRead;
        let mut cmd = Command::new("sh");
        cmd.args(["-c", script])
            .stdin(Stdio::null())
            .stdout(Stdio::piped());
        let permit = interrupt::permit_to_start().unwrap();
        let mut p = Process::start_group_leader(&mut cmd, &permit).unwrap();
        let mut line = String::new();
        std::io::BufReader::new(p.take_stdout().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line, "ready\n");
        p
    }

    #[test]
    fn terminate_asks_first_and_the_process_may_leave_by_itself() {
        let mut p = started("echo ready; exec sleep 30");
        let st = p.terminate(Duration::from_secs(10)).unwrap();
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(st.signal(), Some(libc::SIGTERM));
    }

    #[test]
    fn terminate_kills_what_ignores_the_request_after_the_grace_period() {
        let mut p = started("trap '' TERM; echo ready; sleep 30 & wait");
        let started = Instant::now();
        let st = p.terminate(Duration::from_millis(50)).unwrap();
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(st.signal(), Some(libc::SIGKILL));
        assert!(started.elapsed() >= Duration::from_millis(50));
    }

    #[test]
    fn a_process_exists_until_it_is_reaped() {
        let mut p = started("echo ready; exec sleep 30");
        let pid = p.pid().as_raw();
        assert!(exists(pid));
        p.terminate(Duration::ZERO).unwrap();
        assert!(
            p.signal(Signal::SIGTERM).is_err(),
            "reaped: never signalled again"
        );
    }
}
