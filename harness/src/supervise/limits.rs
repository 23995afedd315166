//! Resource limits of a submission's processes, and the grading-wide budgets (output, wall
//! time) the grader enforces itself.
//!
//! The per-process limits are `setrlimit` calls made in the student's process between `fork`
//! and `exec` (so they bind the program and everything it starts, never the grader). They
//! are the fallback that is always there; where the kernel allows, `isolation` adds
//! group-wide ones (a pids cgroup, a size-limited tmpfs for everything the program can
//! write).

use crate::tr;
use std::time::Duration;

/// What a submission may use. Built from the exercise config's `[limits]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunLimits {
    /// CPU seconds per process (`RLIMIT_CPU`): SIGXCPU at the limit, SIGKILL a second later.
    pub cpu_seconds: u64,
    /// Address space per process, bytes (`RLIMIT_AS` and `RLIMIT_DATA`): allocations fail
    /// beyond it (Python raises `MemoryError`).
    pub memory_bytes: u64,
    /// Processes and threads at once. A pids cgroup when there is one; `RLIMIT_NPROC` when
    /// the program runs as a user of its own (as root); otherwise `RLIMIT_NPROC` counted on
    /// top of what the user already runs.
    pub processes: u64,
    /// Largest file the program can write, bytes (`RLIMIT_FSIZE`; SIGXFSZ beyond it).
    pub file_bytes: u64,
    /// Open descriptors per process (`RLIMIT_NOFILE`).
    pub open_files: u64,
    /// Everything the program can write to disk (its directory, home, `/tmp`), bytes, where
    /// those live on a tmpfs of that size (as root).
    pub disk_bytes: u64,
    /// Terminal output of one run, bytes: beyond it the run is a flood and is cut off.
    pub output_bytes: u64,
    /// The whole grading, all runs included.
    pub wall: Duration,
}

impl Default for RunLimits {
    fn default() -> Self {
        RunLimits {
            cpu_seconds: 10,
            memory_bytes: 512 << 20,
            processes: 64,
            file_bytes: 16 << 20,
            open_files: 256,
            disk_bytes: 64 << 20,
            output_bytes: 1 << 20,
            wall: Duration::from_secs(120),
        }
    }
}

/// A resource number of `setrlimit`: glibc declares its own type, musl a plain `int`.
#[cfg(target_env = "gnu")]
pub type Resource = libc::__rlimit_resource_t;
/// A resource number of `setrlimit`: glibc declares its own type, musl a plain `int`.
#[cfg(not(target_env = "gnu"))]
pub type Resource = libc::c_int;

/// One `setrlimit` call, prepared before `fork`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rlimit {
    pub resource: Resource,
    pub soft: libc::rlim_t,
    pub hard: libc::rlim_t,
}

impl Rlimit {
    fn both(resource: Resource, v: u64) -> Self {
        Rlimit {
            resource,
            soft: v as libc::rlim_t,
            hard: v as libc::rlim_t,
        }
    }

    pub fn name(&self) -> &'static str {
        match self.resource {
            libc::RLIMIT_CPU => "cpu",
            libc::RLIMIT_AS => "as",
            libc::RLIMIT_DATA => "data",
            libc::RLIMIT_NPROC => "nproc",
            libc::RLIMIT_FSIZE => "fsize",
            libc::RLIMIT_CORE => "core",
            libc::RLIMIT_NOFILE => "nofile",
            _ => "other",
        }
    }
}

/// How `RLIMIT_NPROC` can be used: it counts every process of the real user id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcessCount {
    /// The program runs as a user of its own: the limit is the count.
    OwnUser,
    /// The program runs as the grader's user, which already runs this many processes.
    Shared(u64),
}

impl RunLimits {
    /// The `setrlimit` calls for the student's process. Never raises a hard limit the grader
    /// itself has (that would fail without privilege): each value is capped by it.
    pub fn rlimits(&self, count: ProcessCount) -> Vec<Rlimit> {
        let mut v = vec![
            Rlimit {
                resource: libc::RLIMIT_CPU,
                soft: self.cpu_seconds as libc::rlim_t,
                hard: (self.cpu_seconds + 1) as libc::rlim_t,
            },
            Rlimit::both(libc::RLIMIT_AS, self.memory_bytes),
            Rlimit::both(libc::RLIMIT_DATA, self.memory_bytes),
            Rlimit::both(libc::RLIMIT_FSIZE, self.file_bytes),
            Rlimit::both(libc::RLIMIT_CORE, 0),
            Rlimit::both(libc::RLIMIT_NOFILE, self.open_files),
        ];
        let nproc = match count {
            ProcessCount::OwnUser => self.processes,
            ProcessCount::Shared(already) => already + self.processes,
        };
        v.push(Rlimit::both(libc::RLIMIT_NPROC, nproc));
        for r in &mut v {
            if let Ok((_, hard)) = current(r.resource) {
                if hard != libc::RLIM_INFINITY {
                    r.hard = r.hard.min(hard);
                    r.soft = r.soft.min(r.hard);
                }
            }
        }
        v
    }

    /// One line for reports: the limits in force.
    pub fn describe(&self, nproc_own_user: bool) -> String {
        let more = if nproc_own_user {
            ""
        } else {
            tr!(" (more than the user already runs)")
        };
        tr!(
            "limits per process: {cpu} s CPU, {memory} MiB memory, {file} MiB per file, {files} open files, {processes} processes{more}; {output} KiB of terminal output per run; {wall} s for the whole grading",
            cpu = self.cpu_seconds,
            memory = self.memory_bytes >> 20,
            file = self.file_bytes >> 20,
            files = self.open_files,
            processes = self.processes,
            more = more,
            output = self.output_bytes >> 10,
            wall = self.wall.as_secs()
        )
    }
}

fn current(resource: Resource) -> std::io::Result<(libc::rlim_t, libc::rlim_t)> {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit fills the struct it is given.
    if unsafe { libc::getrlimit(resource, &mut r) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok((r.rlim_cur, r.rlim_max))
}

/// Applies the limits. Async-signal-safe: for use between `fork` and `exec`. Returns the
/// first failing resource and errno.
///
/// # Safety
/// Only plain system calls on the slice given.
pub unsafe fn apply(limits: &[Rlimit]) -> Result<(), (Resource, i32)> {
    for l in limits {
        let r = libc::rlimit {
            rlim_cur: l.soft,
            rlim_max: l.hard,
        };
        if libc::setrlimit(l.resource, &r) != 0 {
            return Err((l.resource, *libc::__errno_location()));
        }
    }
    Ok(())
}

/// How many processes the user `uid` runs now (from `/proc`), for `ProcessCount::Shared`.
pub fn processes_of(uid: u32) -> u64 {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0;
    };
    let mut n = 0;
    for e in dir.filter_map(|e| e.ok()) {
        let name = e.file_name();
        let Some(name) = name.to_str() else { continue };
        if !name.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(format!("/proc/{name}/status")) else {
            continue;
        };
        let real = text
            .lines()
            .find_map(|l| l.strip_prefix("Uid:"))
            .and_then(|l| l.split_whitespace().next())
            .and_then(|u| u.parse::<u32>().ok());
        let threads = text
            .lines()
            .find_map(|l| l.strip_prefix("Threads:"))
            .and_then(|t| t.trim().parse::<u64>().ok())
            .unwrap_or(1);
        if real == Some(uid) {
            n += threads;
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_user_counts_what_is_already_running() {
        let l = RunLimits::default();
        let own = l.rlimits(ProcessCount::OwnUser);
        let shared = l.rlimits(ProcessCount::Shared(100));
        let nproc = |v: &[Rlimit]| {
            v.iter()
                .find(|r| r.resource == libc::RLIMIT_NPROC)
                .unwrap()
                .soft
        };
        assert!(nproc(&own) <= l.processes);
        assert!(nproc(&shared) >= nproc(&own));
        assert!(own
            .iter()
            .any(|r| r.resource == libc::RLIMIT_CORE && r.hard == 0));
    }

    #[test]
    fn counts_own_processes() {
        // SAFETY: getuid has no preconditions.
        let me = unsafe { libc::getuid() };
        assert!(processes_of(me) >= 1);
    }
}
