//! Entering the sandbox, in the child between `fork` and `exec`: control groups, namespaces,
//! file system view, directory, limits, user. Only system calls on memory prepared before the
//! fork; a failing step is reported as a [`ConfineError`] (step and errno) through a pipe.

use std::ffi::CStr;
use std::io;
use std::os::fd::{AsRawFd, RawFd};

use super::super::limits;
use super::namespaces::loopback_up;
use super::{Identity, Sandbox};

/// A step of the confinement, for error reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Step {
    Cgroup = 1,
    Network = 2,
    UserNamespace = 3,
    Mounts = 4,
    Directory = 5,
    Limits = 6,
    Identity = 7,
    NoNewPrivileges = 8,
}

impl Step {
    pub fn from_code(c: u8) -> Option<Self> {
        Some(match c {
            1 => Step::Cgroup,
            2 => Step::Network,
            3 => Step::UserNamespace,
            4 => Step::Mounts,
            5 => Step::Directory,
            6 => Step::Limits,
            7 => Step::Identity,
            8 => Step::NoNewPrivileges,
            _ => return None,
        })
    }

    pub fn describe(self) -> &'static str {
        match self {
            Step::Cgroup => "joining its control groups",
            Step::Network => "entering its network namespace",
            Step::UserNamespace => "creating its user namespace",
            Step::Mounts => "setting up its file system view",
            Step::Directory => "changing to its directory",
            Step::Limits => "setting its resource limits",
            Step::Identity => "switching to its own user",
            Step::NoNewPrivileges => "forbidding new privileges",
        }
    }
}

/// Why the child could not be confined: the step and the errno.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConfineError {
    pub step: Step,
    pub errno: i32,
}

impl ConfineError {
    /// Packs into one i32 (for a pipe record): step in bits 16..24, errno below.
    pub fn encode(self) -> i32 {
        ((self.step as i32) << 16) | (self.errno & 0xffff)
    }

    pub fn decode(v: i32) -> Option<Self> {
        Some(ConfineError {
            step: Step::from_code(((v >> 16) & 0xff) as u8)?,
            errno: v & 0xffff,
        })
    }

    /// For `Command::pre_exec`, which wants an `io::Error` (made without allocating).
    pub fn to_io(self) -> io::Error {
        io::Error::from_raw_os_error(self.errno)
    }
}

impl std::fmt::Display for ConfineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} failed: {}",
            self.step.describe(),
            nix::errno::Errno::from_raw(self.errno).desc()
        )
    }
}

impl Sandbox {
    /// Confines the calling process: to be called between `fork` and `exec`, after the
    /// terminal is set up and before signals are reset. Joins the control groups (and the
    /// run's freezer group `run_group`, from [`RunGroup::procs_fd`]), enters the network
    /// namespace, sets up the file system view, changes to `cwd`, sets the resource limits
    /// and drops to the program's user: [`Self::enter_namespaces`] then
    /// [`Self::enter_process`] (for a program started without a shim).
    ///
    /// # Safety
    /// Async-signal-safe (only system calls, no allocation): call it only in a forked child.
    pub unsafe fn enter_child(
        &self,
        cwd: &CStr,
        run_group: Option<RawFd>,
    ) -> Result<(), ConfineError> {
        self.join_groups(run_group)?;
        self.enter_namespaces()?;
        self.enter_process(cwd, None)
    }

    unsafe fn join_groups(&self, run_group: Option<RawFd>) -> Result<(), ConfineError> {
        let fail = |step: Step| ConfineError {
            step,
            errno: *libc::__errno_location(),
        };
        let e = &self.enabled;
        if e.cgroup_pids {
            if let Some(g) = &self.pids {
                if libc::write(g.procs.as_raw_fd(), b"0".as_ptr().cast(), 1) != 1 {
                    return Err(fail(Step::Cgroup));
                }
            }
        }
        if e.cgroup_freezer {
            if let Some(fd) = run_group {
                if libc::write(fd, b"0".as_ptr().cast(), 1) != 1 {
                    return Err(fail(Step::Cgroup));
                }
            }
        }
        Ok(())
    }

    /// The namespaces and the file system view. Done by the shim (a process that outlives
    /// the program), so that tearing a mount namespace down never lengthens the program's own
    /// exit, which the grader times.
    ///
    /// # Safety
    /// Async-signal-safe: call it only in a forked child.
    pub unsafe fn enter_namespaces(&self) -> Result<(), ConfineError> {
        let fail = |step: Step| ConfineError {
            step,
            errno: *libc::__errno_location(),
        };
        let e = &self.enabled;
        let mut own_mount_ns = false;
        if e.netns {
            if let Some(ns) = &self.netns {
                if libc::setns(ns.raw_fd(), libc::CLONE_NEWNET) != 0 {
                    return Err(fail(Step::Network));
                }
            }
        } else if e.userns {
            let flags = libc::CLONE_NEWUSER
                | libc::CLONE_NEWNET
                | if e.mounts {
                    libc::CLONE_NEWNS | libc::CLONE_NEWIPC
                } else {
                    0
                };
            if libc::unshare(flags) != 0 {
                return Err(fail(Step::UserNamespace));
            }
            if write_file(c"/proc/self/setgroups", b"deny") != 0
                || write_file(c"/proc/self/uid_map", self.uid_map.as_bytes()) != 0
                || write_file(c"/proc/self/gid_map", self.gid_map.as_bytes()) != 0
            {
                return Err(fail(Step::UserNamespace));
            }
            if loopback_up() != 0 {
                return Err(fail(Step::UserNamespace));
            }
            own_mount_ns = e.mounts;
        }
        if e.mounts && (own_mount_ns || e.identity || e.netns) {
            // An IPC namespace too: SysV segments and message queues would otherwise outlive
            // the grading; they go with the namespace.
            if !own_mount_ns && libc::unshare(libc::CLONE_NEWNS | libc::CLONE_NEWIPC) != 0 {
                return Err(fail(Step::Mounts));
            }
            self.apply_mounts().map_err(|_| fail(Step::Mounts))?;
        }
        Ok(())
    }

    /// The program's own process, in the namespaces already: joins the control groups,
    /// changes to `cwd`, sets the limits, drops to the program's user.
    ///
    /// # Safety
    /// Async-signal-safe: call it only in a forked child.
    pub unsafe fn enter_process(
        &self,
        cwd: &CStr,
        run_group: Option<RawFd>,
    ) -> Result<(), ConfineError> {
        let fail = |step: Step| ConfineError {
            step,
            errno: *libc::__errno_location(),
        };
        let e = &self.enabled;
        self.join_groups(run_group)?;
        // No descriptor of the grader's may reach the program, whoever forgot `CLOEXEC`.
        libc::close_range(
            3,
            libc::c_uint::MAX,
            libc::CLOSE_RANGE_CLOEXEC as libc::c_int,
        );
        if libc::chdir(cwd.as_ptr()) != 0 {
            return Err(fail(Step::Directory));
        }
        if limits::apply(&self.rlimits).is_err() {
            return Err(fail(Step::Limits));
        }
        if e.identity {
            if let Identity::Own { uid, gid } = self.identity {
                if libc::setgroups(0, std::ptr::null()) != 0
                    || libc::setresgid(gid, gid, gid) != 0
                    || libc::setresuid(uid, uid, uid) != 0
                {
                    return Err(fail(Step::Identity));
                }
            }
        }
        if e.no_new_privs && libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
            return Err(fail(Step::NoNewPrivileges));
        }
        Ok(())
    }
}

/// Writes `data` to a file. Async-signal-safe. 0 or -1.
unsafe fn write_file(path: &CStr, data: &[u8]) -> i32 {
    let fd = libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
    if fd < 0 {
        return -1;
    }
    let r = libc::write(fd, data.as_ptr().cast(), data.len());
    libc::close(fd);
    if r == data.len() as isize {
        0
    } else {
        -1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confine_errors_round_trip() {
        let e = ConfineError {
            step: Step::Mounts,
            errno: libc::EPERM,
        };
        assert_eq!(ConfineError::decode(e.encode()), Some(e));
    }
}
