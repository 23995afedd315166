//! Measuring what the machine allows: a forked probe tries every step of the confinement, and
//! what fails is turned off (and noted for the report) before any program runs.

use crate::tr;
use std::ffi::{CStr, CString};
use std::fs;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::time::{Duration, Instant};

use super::super::limits::{self, ProcessCount};
use super::{ConfineError, Enabled, Identity, KeptFds, Layout, RunGroup, Sandbox, Step};

impl Sandbox {
    /// Forks a child that tries every step, keeps the ones that worked, and checks the
    /// program can still be reached and run.
    pub(super) fn probe(&mut self, layout: &Layout) {
        let program = CString::new(layout.program.as_os_str().as_bytes()).unwrap_or_default();
        let cwd = CString::new(layout.workdir.join("submission").as_os_str().as_bytes())
            .unwrap_or_default();
        let group = self.run_group();
        for _ in 0..4 {
            let failures = self.probe_once(&cwd, &program, group.as_ref());
            let Some(failures) = failures else {
                self.missing
                    .push(tr!("the isolation probe could not run").to_string());
                self.enabled = Enabled {
                    no_new_privs: true,
                    ..Default::default()
                };
                return;
            };
            if failures.is_empty() {
                break;
            }
            for (step, errno) in failures {
                let why = nix::errno::Errno::from_raw(errno).desc();
                match step {
                    ProbeFailure::Step(Step::Cgroup) => {
                        self.enabled.cgroup_pids = false;
                        self.enabled.cgroup_freezer = false;
                        self.missing
                            .push(tr!("cannot join control groups: {why}", why = why));
                    }
                    ProbeFailure::Step(Step::Network) => {
                        self.enabled.netns = false;
                        self.netns = None;
                        self.missing
                            .push(tr!("cannot enter a network namespace: {why}", why = why));
                    }
                    ProbeFailure::Step(Step::UserNamespace) => {
                        self.enabled.userns = false;
                        self.userns = None;
                        self.missing.push(super::no_userns(errno));
                    }
                    ProbeFailure::Step(Step::Root) => {
                        // The rest of the view stays; what needed the root is said.
                        let made = self.plan.binds.clone();
                        self.plan.own_root = None;
                        self.plan.unbound.push(tr!("{made}: no directory on its way exists on this machine, and the program could not be given a root of its own here ({why})", made = made.iter().map(|b| b.display().to_string()).collect::<Vec<_>>().join(", "), why = why));
                    }
                    ProbeFailure::Step(Step::Mounts) => {
                        self.enabled.mounts = false;
                        self.missing
                            .push(tr!("no private file system view: {why}", why = why));
                    }
                    ProbeFailure::Step(Step::Identity) | ProbeFailure::Unreachable => {
                        self.enabled.identity = false;
                        self.identity = Identity::Grader;
                        self.rlimits = self.limits.rlimits(ProcessCount::Shared(
                            // SAFETY: getuid has no preconditions.
                            limits::processes_of(unsafe { libc::getuid() }),
                        ));
                        self.missing.push(if step == ProbeFailure::Unreachable {
                            tr!("runs as the grader's user: its program is not reachable by an unprivileged user").into()
                        } else {
                            tr!("cannot switch to a user of its own: {why}", why = why)
                        });
                    }
                    ProbeFailure::Step(Step::NoNewPrivileges) => {
                        self.enabled.no_new_privs = false;
                    }
                    ProbeFailure::Step(Step::Limits) => {
                        self.missing
                            .push(tr!("resource limits not set: {why}", why = why));
                        self.rlimits.clear();
                    }
                    ProbeFailure::Step(Step::Directory) => {
                        // Nothing to turn off: the run itself will report it.
                        return;
                    }
                }
            }
        }
        if let Some(g) = group {
            g.remove(Instant::now() + Duration::from_millis(200));
        }
    }

    /// One probe: the failures seen (`None`: the probe itself failed).
    fn probe_once(
        &self,
        cwd: &CStr,
        program: &CStr,
        group: Option<&RunGroup>,
    ) -> Option<Vec<(ProbeFailure, i32)>> {
        let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).ok()?;
        let wfd = w.as_raw_fd();
        let group_fd = group.map(|g| g.procs_fd());
        let keep = KeptFds::new(self.child_fds().into_iter().chain([wfd]).chain(group_fd));
        let _permit = super::super::interrupt::permit_to_start().ok()?;
        // SAFETY: the child only makes system calls on memory prepared before the fork.
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            return None;
        }
        if pid == 0 {
            unsafe {
                // The probe never `exec`s: it holds none of the grader's other descriptors.
                keep.close_others();
                let failure = match self.enter_child(cwd, group_fd) {
                    Err(e) => e.encode(),
                    Ok(()) if libc::access(program.as_ptr(), libc::X_OK) != 0 => PROBE_UNREACHABLE,
                    Ok(()) => 0,
                };
                let b = failure.to_ne_bytes();
                libc::write(wfd, b.as_ptr().cast(), 4);
                libc::_exit(0);
            }
        }
        drop(w);
        let mut buf = [0u8; 4];
        let mut got = 0;
        let file = fs::File::from(r);
        while got < 4 {
            match nix::unistd::read(&file, &mut buf[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(nix::errno::Errno::EINTR) => continue,
                Err(_) => break,
            }
        }
        let mut st = 0;
        // SAFETY: waiting for the child we forked.
        unsafe {
            libc::waitpid(pid, &mut st, 0);
        }
        if got < 4 {
            return None;
        }
        let v = i32::from_ne_bytes(buf);
        Some(match v {
            0 => Vec::new(),
            PROBE_UNREACHABLE => vec![(ProbeFailure::Unreachable, 0)],
            v => match ConfineError::decode(v) {
                Some(e) => vec![(ProbeFailure::Step(e.step), e.errno)],
                None => Vec::new(),
            },
        })
    }
}

const PROBE_UNREACHABLE: i32 = 0x7f00_0000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ProbeFailure {
    Step(Step),
    /// Confined, the program (or interpreter) could not be executed.
    Unreachable,
}
