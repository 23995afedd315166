//! Starting a submission in a pseudo-terminal the way a shell does.
//!
//! A small middle process (the *shim*, a fork of the grader) becomes the session leader and
//! takes the terminal; the student program runs in a process group of its own that is the
//! terminal's foreground group. Were the student itself the session leader, its group would
//! be orphaned (its parent outside the session) and the kernel would silently discard the
//! SIGTSTP that Ctrl-Z generates; and a driver that exits first would SIGHUP its conductor.
//!
//! The shim reports over a pipe: the driver's pid, an `exec` failure, the driver's exit
//! (leaving it a zombie so its counters stay readable). It then stays alive (keeping the session) until the grader releases it, so that
//! leftovers are found as they are, not killed by a hangup.
//!
//! When the launch carries a [`Sandbox`], the student's process is confined (control groups,
//! namespaces, file system view, limits, its own user) between `fork` and `exec`; a failure
//! there is reported like an `exec` failure, with the step that failed.
//!
//! The shim closes every descriptor of the grader's but the terminal, its two pipes and
//! those the sandbox needs ([`KeptFds`]): it never `exec`s, and would otherwise hold the
//! grader's sockets and files for as long as the program runs.
//!
//! Everything between `fork` and `exec` is raw `libc` on memory prepared before the fork:
//! nothing there may allocate or take a lock.

use crate::tr;
use std::ffi::{CString, OsStr};
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::Arc;

use nix::pty::{openpty, Winsize};
use nix::sys::termios::{self, LocalFlags, SetArg};
use nix::unistd::Pid;

use super::isolation::{ConfineError, Identity, KeptFds, Sandbox};

/// What to run: program, arguments, environment, working directory, and how to confine it.
#[derive(Debug, Clone)]
pub struct Launch {
    pub program: CString,
    pub argv: Vec<CString>,
    pub env: Vec<CString>,
    pub cwd: CString,
    /// The grading's sandbox; `None` runs the program unconfined (tests, tools).
    pub sandbox: Option<Arc<Sandbox>>,
}

fn cstring(bytes: &[u8]) -> io::Result<CString> {
    CString::new(bytes)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, tr!("NUL in argument")))
}

impl Launch {
    /// `program` with `args`, in `cwd`, with exactly the environment `env`.
    pub fn new<'a>(
        program: &Path,
        args: impl IntoIterator<Item = &'a OsStr>,
        env: &[(String, String)],
        cwd: &Path,
    ) -> io::Result<Self> {
        let program_c = cstring(program.as_os_str().as_bytes())?;
        let mut argv = vec![program_c.clone()];
        for a in args {
            argv.push(cstring(a.as_bytes())?);
        }
        let env = env
            .iter()
            .map(|(k, v)| cstring(format!("{k}={v}").as_bytes()))
            .collect::<io::Result<Vec<_>>>()?;
        Ok(Launch {
            program: program_c,
            argv,
            env,
            cwd: cstring(cwd.as_os_str().as_bytes())?,
            sandbox: None,
        })
    }

    /// The same launch, confined by `sandbox`.
    pub fn confined(mut self, sandbox: Arc<Sandbox>) -> Self {
        self.sandbox = Some(sandbox);
        self
    }

    /// Confines the calling process as this launch says (nothing without a sandbox), then
    /// changes to its directory: for `Command::pre_exec` of programs started without a
    /// terminal. `run_group` is [`super::isolation::RunGroup::procs_fd`] of the run, if any.
    ///
    /// # Safety
    /// Async-signal-safe: call it only between `fork` and `exec`.
    pub unsafe fn enter_sandbox(&self, run_group: Option<RawFd>) -> Result<(), ConfineError> {
        match &self.sandbox {
            Some(sb) => sb.enter_child(&self.cwd, run_group),
            None => {
                if libc::chdir(self.cwd.as_ptr()) != 0 {
                    return Err(ConfineError {
                        step: super::isolation::Step::Directory,
                        errno: *libc::__errno_location(),
                    });
                }
                Ok(())
            }
        }
    }
}

/// A started submission: the terminal's master side and the shim's channels.
#[derive(Debug)]
pub struct Spawned {
    pub master: OwnedFd,
    pub shim: Pid,
    /// Records from the shim (non-blocking).
    pub reports: OwnedFd,
    /// Dropping it lets the shim exit.
    pub release: Option<OwnedFd>,
    /// The terminal's settings as the grader made them, read before the program could run.
    pub termios: Option<termios::Termios>,
}

/// A record from the shim: one tag byte and a native-endian i32.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShimReport {
    /// The pid of the program the shim started.
    ProgramPid(i32),
    ExecFailed(i32),
    /// Confining the program failed (a [`ConfineError`], encoded): it never ran.
    ConfineFailed(i32),
    /// The program exited (wait status); it stays a zombie until the shim is released.
    ProgramExited(i32),
}

pub const REPORT_LEN: usize = 5;

impl ShimReport {
    pub fn decode(rec: &[u8; REPORT_LEN]) -> Option<Self> {
        let v = i32::from_ne_bytes([rec[1], rec[2], rec[3], rec[4]]);
        match rec[0] {
            b'P' => Some(ShimReport::ProgramPid(v)),
            b'E' => Some(ShimReport::ExecFailed(v)),
            b'C' => Some(ShimReport::ConfineFailed(v)),
            b'Z' => Some(ShimReport::ProgramExited(v)),
            _ => None,
        }
    }
}

fn pipe_cloexec() -> io::Result<(OwnedFd, OwnedFd)> {
    let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)?;
    Ok((r, w))
}

/// Puts the terminal into the state a grader needs: no echo (typed keys would otherwise show
/// up as `^C` in the transcript), `NOFLSH` (a signal key must not discard output not yet
/// read), signal keys on.
fn configure_terminal(slave: &OwnedFd) -> io::Result<()> {
    let mut t = termios::tcgetattr(slave)?;
    t.local_flags.remove(
        LocalFlags::ECHO
            | LocalFlags::ECHOE
            | LocalFlags::ECHOK
            | LocalFlags::ECHONL
            | LocalFlags::ECHOCTL,
    );
    t.local_flags
        .insert(LocalFlags::ISIG | LocalFlags::ICANON | LocalFlags::NOFLSH);
    termios::tcsetattr(slave, SetArg::TCSANOW, &t)?;
    Ok(())
}

/// Starts `launch` under a shim in a new pseudo-terminal.
pub fn spawn(launch: &Launch) -> io::Result<Spawned> {
    spawn_in(launch, None)
}

/// Starts `launch` under a shim in a new pseudo-terminal; the program joins the freezer
/// group whose `cgroup.procs` is open as `run_group`.
pub fn spawn_in(launch: &Launch, run_group: Option<RawFd>) -> io::Result<Spawned> {
    let ws = Winsize {
        ws_row: 24,
        ws_col: 80,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    let pty = openpty(Some(&ws), None)?;
    configure_terminal(&pty.slave)?;
    let baseline = termios::tcgetattr(&pty.slave).ok();
    // The program owns its terminal, as after a login: it may `stty` it or open /dev/tty.
    if let Some(Identity::Own { uid, gid }) = launch.sandbox.as_ref().map(|s| s.identity()) {
        nix::unistd::fchown(&pty.slave, Some(uid.into()), Some(gid.into()))?;
    }
    set_cloexec(pty.master.as_raw_fd())?;
    set_cloexec(pty.slave.as_raw_fd())?;
    let (reports_r, reports_w) = pipe_cloexec()?;
    let (release_r, release_w) = pipe_cloexec()?;

    // Everything the post-fork code touches is prepared here.
    let mut argv: Vec<*const libc::c_char> = launch.argv.iter().map(|a| a.as_ptr()).collect();
    argv.push(std::ptr::null());
    let mut envp: Vec<*const libc::c_char> = launch.env.iter().map(|a| a.as_ptr()).collect();
    envp.push(std::ptr::null());
    let slave = pty.slave.as_raw_fd();
    let reports = reports_w.as_raw_fd();
    let release = release_r.as_raw_fd();
    let sandbox_fds = launch.sandbox.as_ref().map(|sb| sb.child_fds());
    let plan = ChildPlan {
        slave,
        reports,
        release,
        keep: KeptFds::new(
            [slave, reports, release]
                .into_iter()
                .chain(sandbox_fds.into_iter().flatten())
                .chain(run_group),
        ),
        grader: nix::unistd::getpid().as_raw(),
        program: launch.program.as_ptr(),
        argv: argv.as_ptr(),
        envp: envp.as_ptr(),
        cwd: launch.cwd.as_ptr(),
        launch,
        run_group,
    };

    // Held until the shim exists, so that an interrupt's kill finds it.
    let _permit = super::interrupt::permit_to_start()?;
    // SAFETY: the child branch only calls async-signal-safe libc functions on memory
    // prepared above, and never returns.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(io::Error::last_os_error());
    }
    if pid == 0 {
        unsafe { run_shim(&plan) }
    }
    drop(pty.slave);
    drop(reports_w);
    drop(release_r);
    nix::fcntl::fcntl(
        &pty.master,
        nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK),
    )?;
    nix::fcntl::fcntl(
        &reports_r,
        nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK),
    )?;
    Ok(Spawned {
        master: pty.master,
        shim: Pid::from_raw(pid),
        reports: reports_r,
        release: Some(release_w),
        termios: baseline,
    })
}

/// The foreground process group of the terminal whose master side is `master` (a key typed
/// there signals that group), or `None` if it cannot be read.
pub fn foreground_group(master: RawFd) -> Option<Pid> {
    // SAFETY: the descriptor is only borrowed for this one call; a stale number makes
    // `tcgetpgrp` fail with EBADF, nothing else.
    let fd = unsafe { std::os::fd::BorrowedFd::borrow_raw(master) };
    nix::unistd::tcgetpgrp(fd).ok()
}

fn set_cloexec(fd: RawFd) -> io::Result<()> {
    // SAFETY: fcntl on a descriptor we own.
    let r = unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

struct ChildPlan {
    slave: RawFd,
    reports: RawFd,
    release: RawFd,
    /// Everything the shim and the program's process use of the grader's descriptors; the
    /// shim closes the rest (the master side and the grader's ends of the pipes included).
    keep: KeptFds,
    grader: libc::pid_t,
    program: *const libc::c_char,
    argv: *const *const libc::c_char,
    envp: *const *const libc::c_char,
    cwd: *const libc::c_char,
    launch: *const Launch,
    run_group: Option<RawFd>,
}

unsafe fn report(fd: RawFd, tag: u8, value: i32) {
    let v = value.to_ne_bytes();
    let rec = [tag, v[0], v[1], v[2], v[3]];
    libc::write(fd, rec.as_ptr().cast(), REPORT_LEN);
}

/// Every signal to its default action, nothing blocked: what a fresh login shell gives a job.
///
/// # Safety
/// Async-signal-safe, for use between fork and exec: it changes the whole process's signal
/// state, which is only right in a child about to `exec`.
pub unsafe fn reset_signals() {
    for sig in 1..libc::SIGRTMAX() {
        if sig != libc::SIGKILL && sig != libc::SIGSTOP {
            libc::signal(sig, libc::SIG_DFL);
        }
    }
    let mut empty: libc::sigset_t = std::mem::zeroed();
    libc::sigemptyset(&mut empty);
    libc::sigprocmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut());
}

/// The shim: session leader, terminal owner, parent and reporter of the driver.
unsafe fn run_shim(p: &ChildPlan) -> ! {
    // It never `exec`s: without this it would hold every descriptor the grader had open
    // (a listening socket of the reference server, say) for as long as the program runs.
    p.keep.close_others();
    // Die with the grader, so nothing outlives it through us.
    libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong);
    if libc::getppid() != p.grader {
        libc::_exit(1);
    }
    reset_signals();
    libc::setsid();
    libc::ioctl(p.slave, libc::TIOCSCTTY as _, 0);
    // The namespaces live in the shim, which outlives the program (see `isolation`).
    if let Some(sb) = &(*p.launch).sandbox {
        if let Err(e) = sb.enter_namespaces() {
            report(p.reports, b'C', e.encode());
            libc::_exit(1);
        }
    }

    let pid = libc::fork();
    if pid == 0 {
        run_student(p);
    }
    if pid < 0 {
        report(p.reports, b'E', *libc::__errno_location());
        libc::_exit(1);
    }
    libc::setpgid(pid, pid);
    report(p.reports, b'P', pid);
    libc::close(p.slave);

    // Wait for the driver's exit but leave it a zombie (WNOWAIT): while it is one, the
    // grader can still read its byte counters, which include those of every child it reaped.
    let mut info: libc::siginfo_t = std::mem::zeroed();
    loop {
        let r = libc::waitid(
            libc::P_PID,
            pid as libc::id_t,
            &mut info,
            libc::WEXITED | libc::WNOWAIT,
        );
        if r == 0 || *libc::__errno_location() != libc::EINTR {
            break;
        }
    }
    let status = match info.si_code {
        libc::CLD_EXITED => (info.si_status() & 0xff) << 8,
        _ => info.si_status() & 0x7f,
    };
    report(p.reports, b'Z', status);
    // Hold the session (and the zombie) until the grader lets go.
    let mut buf = [0u8; 16];
    loop {
        let r = libc::read(p.release, buf.as_mut_ptr().cast(), buf.len());
        if r == 0 || (r < 0 && *libc::__errno_location() != libc::EINTR) {
            break;
        }
    }
    let mut st: libc::c_int = 0;
    libc::waitpid(pid, &mut st, 0);
    libc::_exit(0);
}

/// The student's process: own process group in the foreground, the terminal as stdio, the
/// signal state a fresh login shell would give, then `exec`.
unsafe fn run_student(p: &ChildPlan) -> ! {
    libc::close(p.release);
    libc::setpgid(0, 0);
    // Becoming the foreground group from a background group raises SIGTTOU unless ignored.
    libc::signal(libc::SIGTTOU, libc::SIG_IGN);
    libc::tcsetpgrp(p.slave, libc::getpid());
    for fd in 0..3 {
        libc::dup2(p.slave, fd);
    }
    if p.slave > 2 {
        libc::close(p.slave);
    }
    let launch = &*p.launch;
    if let Some(sb) = &launch.sandbox {
        if let Err(e) = sb.enter_process(&launch.cwd, p.run_group) {
            report(p.reports, b'C', e.encode());
            libc::_exit(127);
        }
    } else if libc::chdir(p.cwd) != 0 {
        report(p.reports, b'E', *libc::__errno_location());
        libc::_exit(127);
    }
    reset_signals();
    libc::execve(p.program, p.argv, p.envp);
    report(p.reports, b'E', *libc::__errno_location());
    libc::_exit(127);
}
