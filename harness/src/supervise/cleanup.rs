//! Making sure nothing of a submission survives its grading.
//!
//! The grader is a child subreaper, so every orphan of the submission (a double fork, a
//! `setsid` escape) is re-parented to it instead of to init and stays in its process tree.
//! Cleanup walks that tree, stops everything first (so nothing can fork while being killed),
//! kills it, waits on pidfds for the deaths, reaps, and repeats until the tree is empty.
//! A process-wide subreaper means one grading per grading process.

use std::collections::HashSet;
use std::io;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::{getpid, Pid};

use super::procfs::{self, RunState, Stat};
use super::{pidfd, process};

/// How long the clean-up after a run (or after a whole grading) may take: stop, kill and
/// reap what is left, remove its group, read the terminal to its end.
pub const CLEANUP_TIME: Duration = Duration::from_secs(3);

/// A process found when it should not have existed any more.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leftover {
    pub pid: i32,
    pub ppid: i32,
    pub session: i32,
    pub state: RunState,
    /// Command line (or name), raw bytes: student-controlled.
    pub command: Vec<u8>,
}

impl Leftover {
    fn from_stat(st: &Stat) -> Self {
        Leftover {
            pid: st.pid,
            ppid: st.ppid,
            session: st.session,
            state: st.state,
            command: procfs::cmdline(Pid::from_raw(st.pid))
                .filter(|c| !c.is_empty())
                .unwrap_or_else(|| st.comm.as_bytes().to_vec()),
        }
    }
}

/// Makes this process the reaper of its descendants' orphans.
pub fn become_subreaper() -> io::Result<()> {
    // SAFETY: prctl with integer arguments.
    let r = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1 as libc::c_ulong) };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Makes the grader immune to the signals student code sends its parent: once a driver has
/// died, a conductor's `os.kill(os.getppid(), SIGUSR1)` reaches the grader, its new parent.
/// Dispositions are reset to the default in the student's process before `exec`.
pub fn ignore_student_signals() {
    for sig in [
        libc::SIGUSR1,
        libc::SIGUSR2,
        libc::SIGPIPE,
        libc::SIGTTOU,
        libc::SIGTTIN,
    ] {
        // SAFETY: installing SIG_IGN has no memory effects.
        unsafe {
            libc::signal(sig, libc::SIG_IGN);
        }
    }
}

fn pids(procs: &[Leftover]) -> Vec<i32> {
    procs.iter().map(|p| p.pid).collect()
}

/// Every process below the grader right now, except `keep`.
pub fn descendants_except(keep: &[Pid]) -> Vec<Leftover> {
    procfs::descendants(getpid())
        .iter()
        .filter(|s| !keep.contains(&Pid::from_raw(s.pid)))
        .map(Leftover::from_stat)
        .collect()
}

/// Reaps every child of the grader that has exited.
pub fn reap_exited() {
    loop {
        match waitpid(
            Pid::from_raw(-1),
            Some(WaitPidFlag::WNOHANG | WaitPidFlag::__WALL),
        ) {
            Ok(WaitStatus::StillAlive) | Err(_) => break,
            Ok(_) => continue,
        }
    }
}

/// Reaps the children of the grader that have exited and belong to session `session`:
/// orphans of a server's family (a double fork's grandchildren) that the grader adopted as
/// their subreaper, collected while the server runs so they hold no process slot. Other
/// children of the grader (the server itself, a client in its own session) are left to
/// their own waits.
pub fn reap_adopted(session: Pid) {
    for child in procfs::children(getpid()) {
        let adopted_and_exited = procfs::stat(child).is_ok_and(|s| {
            s.session == session.as_raw()
                && s.pid != session.as_raw()
                && s.state == RunState::Zombie
        });
        if adopted_and_exited {
            let _ = waitpid(child, Some(WaitPidFlag::WNOHANG | WaitPidFlag::__WALL));
        }
    }
}

/// Stops, kills and reaps every descendant until none is left or the deadline passes.
/// Returns the processes found (as first seen), for reports.
pub fn kill_all_descendants(deadline: Instant) -> Vec<Leftover> {
    kill_descendants_sparing(&[], deadline)
}

/// [`kill_all_descendants`] but for the processes of `spare`, each with its descendants and
/// the members of its session (orphans the grader adopted): another program of the same
/// grading that must outlive this one (pair mode's server when a client ends). Spared
/// children are not reaped here: their own waits must find them.
pub fn kill_descendants_sparing(spare: &[Pid], deadline: Instant) -> Vec<Leftover> {
    let mut seen: Vec<Leftover> = Vec::new();
    loop {
        let spared = spared_with_theirs(spare);
        reap_exited_except(&spared);
        let now = descendants_except(&spared);
        if now.is_empty() || Instant::now() >= deadline {
            break;
        }
        for p in &now {
            if !seen.iter().any(|s| s.pid == p.pid) {
                seen.push(p.clone());
            }
        }
        stop_kill_and_await(&pids(&now), deadline);
    }
    reap_exited_except(&spared_with_theirs(spare));
    seen
}

/// `spare`, their descendants, and the grader's descendants in their sessions.
fn spared_with_theirs(spare: &[Pid]) -> Vec<Pid> {
    if spare.is_empty() {
        return Vec::new();
    }
    let sessions: Vec<i32> = spare
        .iter()
        .filter_map(|p| procfs::stat(*p).ok().map(|s| s.session))
        .collect();
    let mut out: Vec<Pid> = spare.to_vec();
    for p in spare {
        out.extend(procfs::descendants(*p).iter().map(|s| Pid::from_raw(s.pid)));
    }
    out.extend(
        procfs::descendants(getpid())
            .iter()
            .filter(|s| sessions.contains(&s.session))
            .map(|s| Pid::from_raw(s.pid)),
    );
    out
}

/// Reaps every child of the grader that has exited, but those in `spared`.
fn reap_exited_except(spared: &[Pid]) {
    if spared.is_empty() {
        return reap_exited();
    }
    for child in procfs::children(getpid()) {
        if spared.contains(&child) {
            continue;
        }
        if procfs::stat(child).is_ok_and(|s| s.state == RunState::Zombie) {
            let _ = waitpid(child, Some(WaitPidFlag::WNOHANG | WaitPidFlag::__WALL));
        }
    }
}

/// Stops all of `pids` first (so none can fork or react while the others die), then kills
/// them, and waits on their pidfds until every one has exited or the deadline passes.
pub fn stop_kill_and_await(pids: &[i32], deadline: Instant) {
    let fds: Vec<OwnedFd> = pids.iter().filter_map(|p| pidfd::open(*p).ok()).collect();
    for p in pids {
        let _ = kill(Pid::from_raw(*p), Signal::SIGSTOP);
    }
    for p in pids {
        let _ = kill(Pid::from_raw(*p), Signal::SIGKILL);
    }
    pidfd::wait_all(&fds, deadline);
}

/// Stops and kills every live descendant but `spare`, again and again, until none is alive
/// or the deadline passes. Reaps nothing: it runs beside a grading whose own waits must
/// still find their children (they reap them, or init does once the grader has gone).
pub fn kill_live_descendants(spare: &[Pid], deadline: Instant) {
    loop {
        let live: Vec<Leftover> = descendants_except(spare)
            .into_iter()
            .filter(|p| p.state != RunState::Zombie)
            .collect();
        if live.is_empty() || Instant::now() >= deadline {
            return;
        }
        stop_kill_and_await(&pids(&live), deadline);
    }
}

/// Kills and reaps every child of the grader that is not in `keep`, with its descendants:
/// for a class run, the orphans of a grading child that was killed (or that left
/// something behind), while the other grading children run on. At most
/// [`ORPHAN_SWEEPS`] rounds (an orphan that forks while being killed needs another).
pub fn kill_orphans(keep: &HashSet<i32>) {
    let me = getpid();
    for _round in 0..ORPHAN_SWEEPS {
        let orphans: Vec<Pid> = procfs::children(me)
            .into_iter()
            .filter(|p| !keep.contains(&p.as_raw()))
            .collect();
        if orphans.is_empty() {
            return;
        }
        for o in &orphans {
            for d in procfs::descendants(*o) {
                let _ = kill(Pid::from_raw(d.pid), Signal::SIGKILL);
            }
            let _ = kill(*o, Signal::SIGKILL);
        }
        for o in &orphans {
            let _ = waitpid(*o, None);
        }
    }
}

/// The entries of `dir` that graders now gone left behind (killed before they could clean
/// up): those named `<prefix><pid>` or `<prefix><pid>-…` after a grader whose process no
/// longer exists.
pub fn left_by_dead_graders(dir: &Path, prefix: &str) -> Vec<PathBuf> {
    left_by(dir, prefix, |pid| !process::exists(pid))
}

/// The entries of `dir` named after a grader (`<prefix><pid>` or `<prefix><pid>-…`) whose
/// pid `whose` accepts.
fn left_by(dir: &Path, prefix: &str, whose: impl Fn(i32) -> bool) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_str()
                .and_then(|n| n.strip_prefix(prefix))
                .and_then(|r| r.split('-').next())
                .and_then(|p| p.parse::<i32>().ok())
                .is_some_and(&whose)
        })
        .map(|e| e.path())
        .collect()
}

/// Removes the run directories (`harness-run-<pid>-…` in the temporary directory) of the
/// grading child `pid`, waited for: one killed, or stopped by a signal before its unwinding
/// finished, could not remove its own (CI saw one left by a class stopped with SIGTERM on a
/// loaded machine), and without root it holds the submission's copy.
pub fn remove_run_dirs_of(pid: i32) {
    if process::exists(pid) {
        return;
    }
    for dir in left_by(&std::env::temp_dir(), "harness-run-", |p| p == pid) {
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// Rounds of [`kill_orphans`].
const ORPHAN_SWEEPS: usize = 50;

#[cfg(test)]
mod tests {
    use super::*;

    /// Entries are told apart by the pid in their name: `<prefix><pid>` or
    /// `<prefix><pid>-…`, nothing else.
    #[test]
    fn run_directories_are_found_by_their_graders_pid() {
        let dir = tempfile::tempdir().unwrap();
        for name in [
            "harness-run-41-abc",
            "harness-run-41",
            "harness-run-411-abc",
            "harness-run-x-41",
            "other-41-abc",
        ] {
            std::fs::create_dir(dir.path().join(name)).unwrap();
        }
        let mut found: Vec<String> = left_by(dir.path(), "harness-run-", |p| p == 41)
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        found.sort();
        assert_eq!(found, ["harness-run-41", "harness-run-41-abc"]);
        let me = nix::unistd::getpid().as_raw();
        std::fs::create_dir(dir.path().join(format!("harness-run-{me}-live"))).unwrap();
        let dead = left_by_dead_graders(dir.path(), "harness-run-");
        assert!(dead
            .iter()
            .all(|p| !p.ends_with(format!("harness-run-{me}-live"))));
    }
}
