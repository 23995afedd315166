//! Stopping on Ctrl-C (SIGINT), a cancelled CI job (SIGTERM) or a closed terminal (SIGHUP).
//!
//! Left to their default action these signals end the grader at once, and the submission's
//! processes, which live in sessions, process groups and control groups of their own, run
//! on. Instead a watcher thread takes them: no new program starts, the graders of a class
//! are told to stop (each cleans up after its own student), every process still below the
//! grader is killed, and the grading unwinds as usual (temporary directories and control
//! groups removed) to end with status 128 + the signal, writing no report. A second signal,
//! or a grading that has not unwound within [`UNWIND_GRACE`], ends it at once.

use crate::tr;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Mutex, RwLock, RwLockReadGuard};
use std::time::{Duration, Instant};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{kill, SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::unistd::Pid;

use super::{cleanup, pidfd, procfs};

/// The signal that interrupted the grading; 0 while none has.
static SIGNAL: AtomicI32 = AtomicI32::new(0);
/// Read-held while a process is being started; the watcher write-locks it once, so that
/// every start either finished before the kill or is refused.
static STARTING: RwLock<()> = RwLock::new(());
/// The grading child processes of a class run (they get SIGTERM and clean up themselves).
static GRADERS: Mutex<Vec<i32>> = Mutex::new(Vec::new());

/// How long the graders of a class get to clean up after their students.
const GRADERS_GRACE: Duration = Duration::from_secs(15);
/// How long the killing of what is left may take.
const KILL_GRACE: Duration = Duration::from_secs(5);
/// How long the grading gets to unwind once everything it started is dead.
pub const UNWIND_GRACE: Duration = Duration::from_secs(10);

/// Takes SIGINT, SIGTERM and SIGHUP away from their default action for the whole process
/// and starts the watcher. Call first in `main`, before any other thread exists: threads
/// inherit the blocked mask. A signal the grader was started with ignored (`nohup`, a
/// background job of a script) stays ignored. Programs started later get a clean mask.
pub fn install() -> io::Result<()> {
    let mut set = SigSet::empty();
    for sig in [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP] {
        if !ignored(sig) {
            set.add(sig);
        }
    }
    set.thread_block().map_err(io::Error::from)?;
    let fd = SignalFd::with_flags(&set, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK)
        .map_err(io::Error::from)?;
    std::thread::Builder::new()
        .name("interrupt".into())
        .spawn(move || watch(fd))?;
    Ok(())
}

/// Whether `sig` is ignored in this process now.
fn ignored(sig: Signal) -> bool {
    // SAFETY: sigaction with a null new action only reads the current one.
    unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        libc::sigaction(sig as libc::c_int, std::ptr::null(), &mut old) == 0
            && old.sa_sigaction == libc::SIG_IGN
    }
}

/// The signal that interrupted the grading, if one has.
pub fn interrupted() -> Option<Signal> {
    Signal::try_from(SIGNAL.load(Ordering::SeqCst)).ok()
}

/// Permission to start a process; hold it until the process exists (its pid is known).
pub struct StartPermit(#[allow(dead_code)] RwLockReadGuard<'static, ()>);

/// A permit, or an error once the grading has been interrupted.
pub fn permit_to_start() -> io::Result<StartPermit> {
    let guard = STARTING.read().unwrap_or_else(|e| e.into_inner());
    match interrupted() {
        // Not ErrorKind::Interrupted: callers retry on EINTR.
        Some(sig) => Err(io::Error::other(tr!(
            "not started: the grading was interrupted by {sig}",
            sig = sig
        ))),
        None => Ok(StartPermit(guard)),
    }
}

/// Notes a grading child process of a class run; call while holding the start permit.
pub fn register_grader(pid: i32) {
    GRADERS.lock().unwrap_or_else(|e| e.into_inner()).push(pid);
}

/// Forgets a grading child process once it has been waited for.
pub fn unregister_grader(pid: i32) {
    GRADERS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .retain(|p| *p != pid);
}

/// The exit status for a grading interrupted by `sig` (as shells report it).
pub fn exit_status(sig: Signal) -> u8 {
    128u8.saturating_add(sig as u8)
}

/// The watcher: waits for the first signal, stops everything, then waits for a second one
/// (or the unwind grace) to end the process at once.
fn watch(fd: SignalFd) {
    let Some(sig) = next_signal(&fd, &[], None) else {
        return;
    };
    SIGNAL.store(sig as i32, Ordering::SeqCst);
    // Starts in flight finish; every later one sees SIGNAL and is refused.
    drop(STARTING.write().unwrap_or_else(|e| e.into_inner()));
    let graders = GRADERS.lock().unwrap_or_else(|e| e.into_inner()).clone();
    for g in &graders {
        let _ = kill(Pid::from_raw(*g), Signal::SIGTERM);
    }
    // The graders exit once clean; a second signal cuts the wait short.
    let grader_fds: Vec<OwnedFd> = graders
        .iter()
        .filter_map(|p| pidfd::open(*p).ok())
        .collect();
    let hurry = !grader_fds.is_empty()
        && next_signal(&fd, &grader_fds, Some(Instant::now() + GRADERS_GRACE)).is_some();
    // The shims stay: each reports its program's end, so the grading unwinds at once.
    let shims = if hurry { Vec::new() } else { shims(&graders) };
    cleanup::kill_live_descendants(&shims, Instant::now() + KILL_GRACE);
    if !hurry {
        // The main thread unwinds and exits; this thread only acts if it does not.
        next_signal(&fd, &[], Some(Instant::now() + UNWIND_GRACE));
        cleanup::kill_live_descendants(&[], Instant::now() + KILL_GRACE);
    }
    eprintln!("harness: interrupted by {sig}; stopped before the clean-up had finished");
    std::process::exit(exit_status(sig) as i32);
}

/// The grader's own forks among its children (shims of terminal runs), graders aside: they
/// run no student code, and they die with the grader (`PR_SET_PDEATHSIG`).
fn shims(graders: &[i32]) -> Vec<Pid> {
    let me = nix::unistd::getpid();
    let Ok(exe) = std::fs::read_link("/proc/self/exe") else {
        return Vec::new();
    };
    procfs::children(me)
        .into_iter()
        .filter(|p| !graders.contains(&p.as_raw()))
        .filter(|p| std::fs::read_link(format!("/proc/{p}/exe")).is_ok_and(|e| e == exe))
        .collect()
}

/// The next pending signal not sent by the submission: a student's program (which, without
/// root, runs as the grader's user and may be the grader's child) must not be able to stop
/// its own grading with `os.kill(os.getppid(), SIGTERM)`. Such signals are dropped.
fn read_from_outside(fd: &SignalFd) -> Option<Signal> {
    while let Ok(Some(info)) = fd.read_signal() {
        let sender = info.ssi_pid as i32;
        let graders = GRADERS.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let from_submission = sender > 0
            && !graders.contains(&sender)
            && procfs::descendants(nix::unistd::getpid())
                .iter()
                .any(|p| p.pid == sender);
        if !from_submission {
            return Signal::try_from(info.ssi_signo as i32).ok();
        }
    }
    None
}

/// The next signal from outside (see [`read_from_outside`]), waiting until `deadline`
/// (`None`: for ever) or, when `exits` holds pidfds, until all of their processes have
/// exited (then `None`, as at the deadline).
fn next_signal(fd: &SignalFd, exits: &[OwnedFd], deadline: Option<Instant>) -> Option<Signal> {
    loop {
        if let Some(sig) = read_from_outside(fd) {
            return Some(sig);
        }
        let mut polled = vec![PollFd::new(fd.as_fd(), PollFlags::POLLIN)];
        polled.extend(
            exits
                .iter()
                .filter(|f| !pidfd::exited(*f))
                .map(|f| PollFd::new(f.as_fd(), PollFlags::POLLIN)),
        );
        if !exits.is_empty() && polled.len() == 1 {
            return None;
        }
        let timeout = match deadline {
            None => PollTimeout::NONE,
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return None;
                }
                PollTimeout::from(left.as_millis().clamp(1, u16::MAX as u128) as u16)
            }
        };
        if let Err(e) = poll(&mut polled, timeout) {
            if e != nix::errno::Errno::EINTR {
                return None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_status_follows_the_shell_convention() {
        assert_eq!(exit_status(Signal::SIGINT), 130);
        assert_eq!(exit_status(Signal::SIGTERM), 143);
        assert_eq!(exit_status(Signal::SIGHUP), 129);
    }

    #[test]
    fn a_permit_is_given_while_not_interrupted() {
        assert!(permit_to_start().is_ok());
        assert!(interrupted().is_none());
    }
}
