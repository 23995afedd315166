//! Entering the sandbox, in the child between `fork` and `exec`: control groups, namespaces,
//! file system view, directory, limits, user. Only system calls on memory prepared before the
//! fork; a failing step is reported as a [`ConfineError`] (step and errno) through a pipe.

use crate::tr;
use std::ffi::CStr;
use std::io;
use std::os::fd::{AsRawFd, RawFd};

use super::super::limits;
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
    Root = 9,
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
            9 => Step::Root,
            _ => return None,
        })
    }

    pub fn describe(self) -> &'static str {
        match self {
            Step::Cgroup => tr!("joining its control groups"),
            Step::Network => tr!("entering its network namespace"),
            Step::UserNamespace => tr!("entering its user namespace"),
            Step::Mounts => tr!("setting up its file system view"),
            Step::Directory => tr!("changing to its directory"),
            Step::Limits => tr!("setting its resource limits"),
            Step::Identity => tr!("switching to its own user"),
            Step::NoNewPrivileges => tr!("forbidding new privileges"),
            Step::Root => tr!("making its own root directory"),
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
        let mut joined = false;
        if e.netns {
            if let Some(ns) = &self.netns {
                if libc::setns(ns.raw_fd(), libc::CLONE_NEWNET) != 0 {
                    return Err(fail(Step::Network));
                }
            }
        } else if e.userns {
            // The grading's namespaces (one per sandbox, so the grader reaches its servers);
            // joining the user namespace gives the capabilities for the rest.
            if let Some(ns) = &self.userns {
                if ns.join() != 0 {
                    return Err(fail(Step::UserNamespace));
                }
                joined = true;
            }
        }
        if e.mounts && (joined || e.identity || e.netns) {
            // An IPC namespace too: SysV segments and message queues would otherwise outlive
            // the grading; they go with the namespace.
            if libc::unshare(libc::CLONE_NEWNS | libc::CLONE_NEWIPC) != 0 {
                return Err(fail(Step::Mounts));
            }
            self.apply_mounts().map_err(fail)?;
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
        close_range(3, libc::c_uint::MAX, CLOSE_RANGE_CLOEXEC);
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

impl Sandbox {
    /// The grader's descriptors that confining a child uses: the network namespace to
    /// enter and the `pids` group to join. A fork that closes the grader's other
    /// descriptors ([`KeptFds`]) must keep these (a new one here belongs in this list).
    pub fn child_fds(&self) -> Vec<RawFd> {
        let mut fds = Vec::new();
        fds.extend(self.netns.as_ref().map(|ns| ns.raw_fd()));
        fds.extend(self.userns.iter().flat_map(|ns| ns.raw_fds()));
        fds.extend(self.pids.as_ref().map(|g| g.procs.as_raw_fd()));
        fds
    }
}

/// The descriptors a fork of the grader that does not `exec` at once keeps (the shim for
/// as long as the program runs, the sandbox's probe): every other descriptor of the grader
/// is closed in the child right after the fork. Such a child would otherwise hold a copy of
/// whatever the grader had open at that moment (a listening socket of the reference server,
/// a test's socket), keeping it alive and seen as held by someone else. Made before the
/// fork, sorted.
#[derive(Debug, Clone)]
pub struct KeptFds(Vec<RawFd>);

impl KeptFds {
    pub fn new(fds: impl IntoIterator<Item = RawFd>) -> KeptFds {
        let mut fds: Vec<RawFd> = fds.into_iter().filter(|fd| *fd > 2).collect();
        fds.sort_unstable();
        fds.dedup();
        KeptFds(fds)
    }

    /// Closes every descriptor from 3 up that is not kept; standard input, output and error
    /// stay. Where `close_range` is missing (Linux before 5.9) nothing is closed.
    ///
    /// # Safety
    /// Async-signal-safe (only `close_range`): call it only in a forked child, which then
    /// uses no descriptor but the kept ones and 0, 1, 2.
    pub unsafe fn close_others(&self) {
        let mut from: libc::c_uint = 3;
        for &fd in &self.0 {
            let fd = fd as libc::c_uint;
            if fd > from {
                close_range(from, fd - 1, 0);
            }
            from = fd + 1;
        }
        close_range(from, libc::c_uint::MAX, 0);
    }
}

/// `close_range(2)` made directly: musl has no wrapper for it (nor glibc before 2.34, which
/// a statically linked build must not need). Async-signal-safe; the result is not needed
/// (where it is missing, Linux before 5.9, nothing is closed).
unsafe fn close_range(first: libc::c_uint, last: libc::c_uint, flags: libc::c_uint) {
    libc::syscall(libc::SYS_close_range, first, last, flags);
}

/// `CLOSE_RANGE_CLOEXEC` (Linux 5.11): mark the descriptors close-on-exec instead of closing.
const CLOSE_RANGE_CLOEXEC: libc::c_uint = 1 << 2;

/// Writes `data` to a file. Async-signal-safe. 0 or -1.
pub(super) unsafe fn write_file(path: &CStr, data: &[u8]) -> i32 {
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
    fn a_fork_keeps_only_the_kept_descriptors() {
        use std::os::fd::AsRawFd;
        let keep = std::fs::File::open("/dev/null").unwrap();
        let gone = std::fs::File::open("/dev/null").unwrap();
        let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).unwrap();
        let (rk, gk, wk) = (keep.as_raw_fd(), gone.as_raw_fd(), w.as_raw_fd());
        let kept = KeptFds::new([wk, rk, wk, 1]);
        // SAFETY: the child makes only system calls on memory prepared before the fork.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            unsafe {
                kept.close_others();
                let alive = |fd| libc::fcntl(fd, libc::F_GETFD) >= 0;
                let b = [alive(rk) as u8, alive(gk) as u8];
                libc::write(wk, b.as_ptr().cast(), 2);
                libc::_exit(0);
            }
        }
        drop(w);
        let mut got = [9u8; 2];
        let n = nix::unistd::read(&r, &mut got).unwrap();
        // SAFETY: waiting for the child we forked.
        unsafe { libc::waitpid(pid, std::ptr::null_mut(), 0) };
        assert_eq!(
            (n, got),
            (2, [1, 0]),
            "kept descriptor open, the other closed"
        );
    }

    #[test]
    fn confine_errors_round_trip() {
        let e = ConfineError {
            step: Step::Mounts,
            errno: libc::EPERM,
        };
        assert_eq!(ConfineError::decode(e.encode()), Some(e));
    }
}
