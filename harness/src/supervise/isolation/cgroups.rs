//! Control groups (v1): a `pids` group per grading bounds its processes, a `freezer` group per
//! run kills everything in it without a race. Groups of graders that died are swept.

use std::fs;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::super::cleanup;

/// A cgroup v1 hierarchy: where it is mounted and where this process sits in it.
pub(super) fn cgroup_v1_dir(controller: &str) -> Option<PathBuf> {
    let info = fs::read_to_string("/proc/self/mountinfo").ok()?;
    let mount = info.lines().find_map(|l| {
        let (pre, post) = l.split_once(" - ")?;
        let mut post = post.split_whitespace();
        if post.next()? != "cgroup" {
            return None;
        }
        let _source = post.next()?;
        let opts = post.next()?;
        if !opts.split(',').any(|o| o == controller) {
            return None;
        }
        let fields: Vec<&str> = pre.split_whitespace().collect();
        // Only a hierarchy mounted at its root can be used by path.
        if fields.get(3) != Some(&"/") {
            return None;
        }
        fields.get(4).map(PathBuf::from)
    })?;
    let own = fs::read_to_string("/proc/self/cgroup").ok()?;
    let rel = own.lines().find_map(|l| {
        let mut parts = l.splitn(3, ':');
        let _id = parts.next()?;
        let ctrls = parts.next()?;
        let path = parts.next()?;
        ctrls
            .split(',')
            .any(|c| c == controller)
            .then(|| path.to_string())
    })?;
    Some(mount.join(rel.trim_start_matches('/')))
}

/// A control group this grading made; removed (once empty) when dropped.
#[derive(Debug)]
pub(super) struct Cgroup {
    pub(super) dir: PathBuf,
    /// `cgroup.procs`, open for writing: a child writes "0" to join.
    pub(super) procs: OwnedFd,
}

impl Cgroup {
    pub(super) fn create(dir: PathBuf) -> io::Result<Cgroup> {
        match fs::create_dir(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
        let procs = fs::OpenOptions::new()
            .write(true)
            .open(dir.join("cgroup.procs"))
            .map(OwnedFd::from)
            .inspect_err(|_| {
                let _ = fs::remove_dir(&dir);
            })?;
        set_cloexec(procs.as_raw_fd());
        Ok(Cgroup { dir, procs })
    }

    fn members(&self) -> Vec<i32> {
        fs::read_to_string(self.dir.join("cgroup.procs"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .collect()
    }

    pub(super) fn remove(&self, deadline: Instant) {
        loop {
            match fs::remove_dir(&self.dir) {
                Ok(()) => return,
                Err(e) if e.kind() == io::ErrorKind::NotFound => return,
                Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(1)),
                Err(_) => return,
            }
        }
    }
}

impl Drop for Cgroup {
    fn drop(&mut self) {
        self.remove(Instant::now() + Duration::from_millis(500));
    }
}

/// A directory in a cgroup hierarchy this grading made (the parent of its run groups);
/// removed when dropped.
#[derive(Debug)]
pub(super) struct CgroupDir(pub(super) PathBuf);

impl Drop for CgroupDir {
    fn drop(&mut self) {
        let deadline = Instant::now() + Duration::from_millis(500);
        while fs::remove_dir(&self.0).is_err() && self.0.exists() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

/// Kills what is left in the groups of graders that are gone (a grader killed before it
/// could clean up), then removes the groups. A frozen group is thawed so the kills land.
pub(super) fn sweep_stale(hierarchy: &Path) {
    // `harness-<pid>-<n>` (or `harness-<pid>`).
    for stale in cleanup::left_by_dead_graders(hierarchy, "harness-") {
        let mut groups: Vec<PathBuf> = fs::read_dir(&stale)
            .map(|runs| {
                runs.filter_map(|r| r.ok())
                    .map(|r| r.path())
                    .filter(|p| p.is_dir())
                    .collect()
            })
            .unwrap_or_default();
        groups.push(stale);
        let deadline = Instant::now() + Duration::from_millis(500);
        for g in &groups {
            let state = g.join("freezer.state");
            if state.exists() {
                let _ = fs::write(&state, "FROZEN");
            }
            for _ in 0..50 {
                let members: Vec<i32> = fs::read_to_string(g.join("cgroup.procs"))
                    .unwrap_or_default()
                    .lines()
                    .filter_map(|l| l.trim().parse().ok())
                    .collect();
                for pid in &members {
                    // SAFETY: kill has no memory effects.
                    unsafe {
                        libc::kill(*pid, libc::SIGKILL);
                    }
                }
                if state.exists() {
                    let _ = fs::write(&state, "THAWED");
                }
                if fs::remove_dir(g).is_ok() || members.is_empty() || Instant::now() >= deadline {
                    break;
                }
                std::thread::sleep(Duration::from_millis(2));
            }
        }
    }
}

fn set_cloexec(fd: RawFd) {
    // SAFETY: fcntl on a descriptor we own.
    unsafe {
        libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC);
    }
}

/// The freezer group of one run: everything the run starts is in it, and is killed without
/// a race by freezing it first.
#[derive(Debug)]
pub struct RunGroup {
    pub(super) group: Cgroup,
}

impl RunGroup {
    /// The descriptor the child writes "0" to, to join.
    pub fn procs_fd(&self) -> RawFd {
        self.group.procs.as_raw_fd()
    }

    /// Processes in the group now.
    pub fn members(&self) -> Vec<i32> {
        self.group.members()
    }

    fn set_state(&self, state: &str) -> io::Result<()> {
        fs::write(self.group.dir.join("freezer.state"), state)
    }

    fn state(&self) -> String {
        fs::read_to_string(self.group.dir.join("freezer.state"))
            .unwrap_or_default()
            .trim()
            .to_string()
    }

    /// Freezes the group, kills every member, thaws it (so the kills take effect). Returns
    /// how many were killed. Frozen processes cannot fork, so none escapes the kill.
    pub fn kill_all(&self, deadline: Instant) -> usize {
        let members = self.members();
        if members.is_empty() {
            return 0;
        }
        let frozen = self.set_state("FROZEN").is_ok() && {
            // Freezing is asynchronous: FREEZING until every task has stopped.
            loop {
                let s = self.state();
                if s == "FROZEN" {
                    break true;
                }
                if Instant::now() >= deadline {
                    break false;
                }
                std::thread::sleep(Duration::from_micros(200));
            }
        };
        let _ = frozen;
        let members = self.members();
        for pid in &members {
            // SAFETY: kill has no memory effects.
            unsafe {
                libc::kill(*pid, libc::SIGKILL);
            }
        }
        let _ = self.set_state("THAWED");
        members.len()
    }

    /// Removes the group once it is empty (or the deadline passes).
    pub fn remove(&self, deadline: Instant) {
        self.group.remove(deadline);
    }
}
