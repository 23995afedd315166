//! A process as the grader sees it at one instant: gone, stopped, waiting for something, or
//! doing work; plus the counters that tell whether it acted since the last look.

use crate::tr;
use nix::unistd::Pid;

use super::procfs::{self, RunState, Status};
use super::waiting::{self, Wait};

/// What a process is doing, from the grader's point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activity {
    /// Reaped: no trace left.
    Gone,
    /// Exited, not reaped.
    Zombie,
    /// Stopped by a signal (Ctrl-Z, SIGSTOP) or a tracer.
    Stopped,
    /// Asleep in a waiting call, nothing deliverable pending.
    Waiting(Wait),
    /// Running, or asleep in something other than a wait (a write, a page fault).
    Active,
}

impl Activity {
    /// No longer alive.
    pub fn exited(self) -> bool {
        matches!(self, Activity::Gone | Activity::Zombie)
    }

    pub fn describe(self) -> &'static str {
        match self {
            Activity::Gone => tr!("exited and reaped"),
            Activity::Zombie => tr!("exited, not reaped (zombie)"),
            Activity::Stopped => tr!("stopped"),
            Activity::Waiting(Wait::Indefinite) => tr!("waiting"),
            Activity::Waiting(_) => tr!("sleeping"),
            Activity::Active => tr!("running"),
        }
    }
}

/// Whether a thread other than the main one is running or busy outside a wait: a line
/// printed by a short-lived thread or a printer thread fed by a queue is still on its way
/// while the main thread already waits again. Threads asleep in waits (a daemon's sleep, a
/// Queue's feeder, a timer) change nothing.
fn others_at_work(pid: Pid) -> bool {
    procfs::other_threads(pid).iter().any(|t| match t.state {
        RunState::Sleeping => t
            .syscall
            .is_none_or(|c| waiting::classify_for(pid, &c) == Wait::NotWaiting),
        RunState::Stopped | RunState::Zombie => false,
        _ => true,
    })
}

/// One look at one process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct View {
    pub pid: Pid,
    pub activity: Activity,
    pub status: Option<Status>,
    /// Bytes written by its own threads so far.
    pub own_wchar: Option<u64>,
}

/// Looks at `pid` now.
pub fn view(pid: Pid) -> View {
    let Ok(status) = procfs::status(pid) else {
        return View {
            pid,
            activity: Activity::Gone,
            status: None,
            own_wchar: None,
        };
    };
    let activity = match status.state {
        RunState::Zombie => Activity::Zombie,
        RunState::Stopped => Activity::Stopped,
        RunState::Sleeping if status.deliverable_pending() == 0 => {
            match procfs::syscall(pid).map(|c| waiting::classify_for(pid, &c)) {
                Some(Wait::NotWaiting) | None => Activity::Active,
                Some(_) if others_at_work(pid) => Activity::Active,
                Some(w) => Activity::Waiting(w),
            }
        }
        _ => Activity::Active,
    };
    let own_wchar = procfs::own_wchar(pid);
    View {
        pid,
        activity,
        status: Some(status),
        own_wchar,
    }
}

/// What must change in a process before the effect of a signal sent to it is complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// The signal has no effect (ignored, blocked, or default-ignored).
    Nothing,
    /// A handler must run: the process must wake up (a voluntary switch) or exit or stop.
    Wake { switches_before: u64 },
    /// The default action ends it.
    Exit,
    /// The default action stops it.
    Stop,
}

/// The effect `sig` will have on a process whose status was `before`.
pub fn expect(before: &Status, sig: i32) -> Expect {
    if before.sig_blk & procfs::sig_bit(sig) != 0 {
        return Expect::Nothing;
    }
    match before.disposition(sig) {
        procfs::Disposition::Ignored => Expect::Nothing,
        procfs::Disposition::Caught => Expect::Wake {
            switches_before: before.voluntary_switches,
        },
        procfs::Disposition::Default => match sig {
            libc::SIGCHLD | libc::SIGURG | libc::SIGWINCH | libc::SIGCONT => Expect::Nothing,
            libc::SIGTSTP | libc::SIGTTIN | libc::SIGTTOU | libc::SIGSTOP => Expect::Stop,
            _ => Expect::Exit,
        },
    }
}

impl Expect {
    /// Whether `now` shows the effect.
    pub fn met_by(self, now: &View) -> bool {
        match self {
            Expect::Nothing => true,
            Expect::Wake { switches_before } => {
                now.activity.exited()
                    || now.activity == Activity::Stopped
                    || now
                        .status
                        .as_ref()
                        .is_some_and(|s| s.voluntary_switches > switches_before)
            }
            Expect::Exit => now.activity.exited(),
            Expect::Stop => now.activity.exited() || now.activity == Activity::Stopped,
        }
    }
}
