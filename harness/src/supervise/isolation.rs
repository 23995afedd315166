//! Isolation of a submission: who it runs as, what it can see and write, which network it is
//! on, and the control groups that bound and kill it.
//!
//! A [`Sandbox`] is made once per grading (after `submission::prepare`) and applies to every
//! process of the submission, through [`Sandbox::enter_child`], called between `fork` and
//! `exec` (by `spawn` for programs in a terminal, or from a `Command::pre_exec` for servers).
//! What can be had depends on the machine, so the sandbox *measures*: it forks a probe that
//! tries every step, and keeps only the steps that worked. What is in force is listed by
//! [`Sandbox::describe`] and goes into the report.
//!
//! As root (CI):
//! - **a user of its own**: uid and gid `UID_BASE + the grader's pid` (no supplementary
//!   groups, `no_new_privs`), so it cannot read what only root may (`/etc/shadow`), cannot
//!   signal the grader or another grading's processes, and `RLIMIT_NPROC` counts exactly its
//!   processes. Its directory is a tmpfs of `disk_bytes` owned by it (see
//!   `submission::prepare`).
//! - **a mount namespace of its own**: `/tmp`, `/var/tmp`, `/dev/shm`, `/run/lock` are its own
//!   directory's `tmp/` (so whatever it writes there is inside the size-limited tmpfs and
//!   vanishes with it); directories on the way to its directory or to the interpreter that
//!   its user could not pass through (a `TMPDIR` of mode 0700, pyenv under `/root`) are
//!   replaced by an empty tmpfs holding only that way, which also hides their other contents.
//! - **a network namespace**, one per grading, with only loopback up: nothing reaches a
//!   network, and ports never collide between parallel gradings. The grader can use the same
//!   namespace through [`NetNs::enter`] (a server the student runs is reachable from there).
//! - **control groups** (v1 here): a `pids` group per grading (fork bombs hit `pids.max`) and a
//!   `freezer` group per run ([`RunGroup`]): cleanup freezes the group, kills every member and
//!   thaws it, which no fork can race.
//!
//! Not root: the program runs as the grader's user; where unprivileged user namespaces are
//! allowed it gets its own user, network (loopback only) and mount namespaces (its own
//! `/tmp`). That network namespace is per run and cannot be entered by the grader
//! ([`Sandbox::netns`] is `None`). Process limits are rlimits counted on top of what the user
//! already runs.
//!
//! No pid namespace: the student's process would be its init, and init ignores signals whose
//! default action would kill it, which would falsify every signal check. The grader's child
//! subreaper (see `cleanup`) plus the freezer group find and kill everything instead.
//!
//! Everything the child side touches is prepared before `fork`: it only makes system calls.

use std::ffi::{CStr, CString};
use std::fs;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use super::limits::{self, ProcessCount, Rlimit, RunLimits};

/// The first uid (and gid) of the range the programs run as, as root: one per grading
/// process, `UID_BASE + pid`. Far above any real user, below `(uid_t)-1`.
pub const UID_BASE: u32 = 1_800_000_000;

/// Directories anyone may write to, replaced by the program's own `tmp/`.
const SHARED_WRITABLE: &[&str] = &["/tmp", "/var/tmp", "/dev/shm", "/run/lock"];

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

/// A network namespace the grader holds open (as root): loopback only.
#[derive(Debug)]
pub struct NetNs {
    fd: OwnedFd,
}

impl NetNs {
    /// A new network namespace with loopback up. Needs `CAP_SYS_ADMIN`.
    pub fn new() -> io::Result<NetNs> {
        std::thread::scope(|s| {
            s.spawn(|| -> io::Result<NetNs> {
                // SAFETY: unshare of the network namespace affects this thread only; the
                // thread ends right after.
                if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
                    return Err(io::Error::last_os_error());
                }
                let fd = fs::File::open("/proc/thread-self/ns/net")?;
                // SAFETY: a plain system call sequence on a socket we own.
                if unsafe { loopback_up() } != 0 {
                    return Err(io::Error::last_os_error());
                }
                Ok(NetNs {
                    fd: OwnedFd::from(fd),
                })
            })
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("netns thread panicked")))
        })
    }

    /// Runs `f` on a thread that has entered this namespace, and returns what it returns.
    /// Sockets made inside keep the namespace they were made in, so a connection opened in
    /// `f` can be used anywhere afterwards:
    ///
    /// ```no_run
    /// # fn demo(ns: &harness::supervise::isolation::NetNs) -> std::io::Result<()> {
    /// let stream = ns.enter(|| std::net::TcpStream::connect(("127.0.0.1", 8888)))??;
    /// # Ok(()) }
    /// ```
    ///
    /// The calling thread never changes namespace.
    pub fn enter<T: Send>(&self, f: impl FnOnce() -> T + Send) -> io::Result<T> {
        let fd = self.fd.as_raw_fd();
        std::thread::scope(|s| {
            s.spawn(move || {
                // SAFETY: setns on a namespace descriptor we hold; affects this thread only.
                if unsafe { libc::setns(fd, libc::CLONE_NEWNET) } != 0 {
                    return Err(io::Error::last_os_error());
                }
                Ok(f())
            })
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("a thread in the namespace panicked")))
        })
    }

    /// The namespace descriptor (for `setns` in a child).
    pub fn raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

/// Brings `lo` up in the current network namespace. Async-signal-safe. 0 or -1 (errno set).
unsafe fn loopback_up() -> i32 {
    let s = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
    if s < 0 {
        return -1;
    }
    let mut req: libc::ifreq = std::mem::zeroed();
    req.ifr_name[0] = b'l' as libc::c_char;
    req.ifr_name[1] = b'o' as libc::c_char;
    let mut r = libc::ioctl(s, libc::SIOCGIFFLAGS as _, &mut req);
    if r == 0 {
        req.ifr_ifru.ifru_flags |= (libc::IFF_UP | libc::IFF_RUNNING) as libc::c_short;
        r = libc::ioctl(s, libc::SIOCSIFFLAGS as _, &req);
    }
    let saved = *libc::__errno_location();
    libc::close(s);
    *libc::__errno_location() = saved;
    if r == 0 {
        0
    } else {
        -1
    }
}

/// A cgroup v1 hierarchy: where it is mounted and where this process sits in it.
fn cgroup_v1_dir(controller: &str) -> Option<PathBuf> {
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
struct Cgroup {
    dir: PathBuf,
    /// `cgroup.procs`, open for writing: a child writes "0" to join.
    procs: OwnedFd,
}

impl Cgroup {
    fn create(dir: PathBuf) -> io::Result<Cgroup> {
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

    fn remove(&self, deadline: Instant) {
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
struct CgroupDir(PathBuf);

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
fn sweep_stale(hierarchy: &Path) {
    let Ok(dir) = fs::read_dir(hierarchy) else {
        return;
    };
    for e in dir.filter_map(|e| e.ok()) {
        let name = e.file_name();
        // `harness-<pid>-<n>` (or `harness-<pid>`).
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix("harness-"))
            .and_then(|p| p.split('-').next())
            .and_then(|p| p.parse::<i32>().ok())
        else {
            continue;
        };
        // SAFETY: kill with signal 0 only checks for existence.
        let alive = unsafe { libc::kill(pid, 0) } == 0
            || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM);
        if alive {
            continue;
        }
        let mut groups: Vec<PathBuf> = fs::read_dir(e.path())
            .map(|runs| {
                runs.filter_map(|r| r.ok())
                    .map(|r| r.path())
                    .filter(|p| p.is_dir())
                    .collect()
            })
            .unwrap_or_default();
        groups.push(e.path());
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
    group: Cgroup,
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

/// One mount operation in the child, prepared in the grader.
#[derive(Debug, Clone)]
enum MountStep {
    /// An empty tmpfs over the directory: hides what is there.
    Hide(CString),
    /// The directory opened as source `usize` (before any step) bound on the target.
    Bind(usize, CString),
    /// `mkdir` (an existing directory is fine).
    Mkdir(CString),
}

/// The child's view of the file system.
#[derive(Debug, Clone, Default)]
struct MountPlan {
    /// Opened `O_PATH` right after the mount namespace is made, before any mount.
    sources: Vec<CString>,
    steps: Vec<MountStep>,
    /// Private tmp: source index of the program's `tmp/`.
    writable_dirs: Vec<String>,
    hidden: Vec<String>,
}

const MAX_SOURCES: usize = 16;

/// Entries of a run's directory beyond which the disk watch gives up counting.
const MAX_WATCHED_ENTRIES: usize = 20_000;

/// Who the program runs as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Identity {
    /// A user (and group) of its own; no supplementary groups.
    Own { uid: u32, gid: u32 },
    /// The grader's own user.
    Grader,
}

/// Which parts of the confinement are applied. The probe turns off what fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Enabled {
    cgroup_pids: bool,
    cgroup_freezer: bool,
    netns: bool,
    userns: bool,
    mounts: bool,
    identity: bool,
    no_new_privs: bool,
}

/// Everything about how a grading's programs are confined.
#[derive(Debug)]
pub struct Sandbox {
    limits: RunLimits,
    /// The run's directory, watched for size where it is not a sized tmpfs, and what it
    /// held when the sandbox was made (the copy of the submission).
    workdir: PathBuf,
    disk_base: u64,
    /// The grading's wall deadline.
    deadline: Instant,
    identity: Identity,
    netns: Option<NetNs>,
    /// Dropped before `freezer_parent` (declaration order) so it is empty when removed.
    pids: Option<Cgroup>,
    freezer_parent: Option<CgroupDir>,
    freezer_next: AtomicU32,
    plan: MountPlan,
    rlimits: Vec<Rlimit>,
    enabled: Enabled,
    /// The uid map lines written in a user namespace (not root).
    uid_map: CString,
    gid_map: CString,
    disk_limited: bool,
    /// Why some isolation is missing, for the report.
    missing: Vec<String>,
}

/// Where the program runs from, and what outside it must stay reachable.
#[derive(Debug, Clone)]
pub struct Layout {
    /// The run's private directory (holds `submission/`, `home/`, `tmp/`).
    pub workdir: PathBuf,
    /// Whether `workdir` is a tmpfs of `disk_bytes` (see `submission::prepare`).
    pub workdir_is_tmpfs: bool,
    /// Directories outside `workdir` the program needs (the interpreter's prefix).
    pub reach: Vec<PathBuf>,
    /// The program to run, to check it can be run as the program's user.
    pub program: PathBuf,
}

impl Sandbox {
    /// Sets up what this machine allows and measures it with a probe.
    pub fn new(limits: &RunLimits, layout: &Layout) -> Sandbox {
        // SAFETY: geteuid has no preconditions.
        let root = unsafe { libc::geteuid() } == 0;
        let mut missing = Vec::new();
        let mut enabled = Enabled {
            no_new_privs: true,
            ..Default::default()
        };
        let tmp = layout.workdir.join("tmp");
        let _ = fs::create_dir(&tmp);
        let mut disk_limited = layout.workdir_is_tmpfs;
        if disk_limited {
            if let Err(e) = limit_tmpfs(&layout.workdir, limits.disk_bytes) {
                missing.push(format!("could not size its directory: {e}"));
                disk_limited = false;
            }
        }

        let identity = if root {
            match pick_uid() {
                Some(uid) => Identity::Own { uid, gid: uid },
                None => {
                    missing.push("no free user id to run the program as".into());
                    Identity::Grader
                }
            }
        } else {
            Identity::Grader
        };
        if let Identity::Own { uid, gid } = identity {
            if let Err(e) = chown_tree(&layout.workdir, uid, gid) {
                missing.push(format!("could not give the program its directory: {e}"));
            }
            enabled.identity = true;
        }
        let _ = fs::set_permissions(&tmp, fs::Permissions::from_mode(0o1777));

        let netns = if root {
            match NetNs::new() {
                Ok(ns) => {
                    enabled.netns = true;
                    Some(ns)
                }
                Err(e) => {
                    missing.push(format!("no network namespace: {e}"));
                    None
                }
            }
        } else {
            None
        };
        enabled.userns = !root;
        enabled.mounts = true;

        let mut pids = None;
        let mut freezer_parent = None;
        if root {
            // One group per sandbox: a grader may hold several (a server's and a client's).
            static SANDBOXES: AtomicU32 = AtomicU32::new(0);
            let name = format!(
                "harness-{}-{}",
                std::process::id(),
                SANDBOXES.fetch_add(1, Ordering::Relaxed)
            );
            match cgroup_v1_dir("pids") {
                Some(dir) => match {
                    sweep_stale(&dir);
                    Cgroup::create(dir.join(&name))
                }
                .and_then(|g| {
                    fs::write(g.dir.join("pids.max"), limits.processes.to_string())?;
                    Ok(g)
                }) {
                    Ok(g) => {
                        enabled.cgroup_pids = true;
                        pids = Some(g);
                    }
                    Err(e) => missing.push(format!("no pids cgroup: {e}")),
                },
                None => missing.push("no pids cgroup (v1) hierarchy".into()),
            }
            match cgroup_v1_dir("freezer") {
                Some(dir) => {
                    sweep_stale(&dir);
                    let parent = dir.join(&name);
                    match fs::create_dir(&parent) {
                        Ok(()) => {
                            enabled.cgroup_freezer = true;
                            freezer_parent = Some(CgroupDir(parent));
                        }
                        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                            enabled.cgroup_freezer = true;
                            freezer_parent = Some(CgroupDir(parent));
                        }
                        Err(e) => missing.push(format!("no freezer cgroup: {e}")),
                    }
                }
                None => missing.push("no freezer cgroup (v1) hierarchy".into()),
            }
        }

        let count = match identity {
            Identity::Own { .. } => ProcessCount::OwnUser,
            // SAFETY: getuid has no preconditions.
            Identity::Grader => {
                ProcessCount::Shared(limits::processes_of(unsafe { libc::getuid() }))
            }
        };
        let plan = mount_plan(layout, identity);
        // SAFETY: getuid/getgid have no preconditions.
        let (me, my_gid) = unsafe { (libc::getuid(), libc::getgid()) };
        let mut sb = Sandbox {
            limits: limits.clone(),
            workdir: layout.workdir.clone(),
            disk_base: 0,
            deadline: Instant::now() + limits.wall,
            identity,
            netns,
            pids,
            freezer_parent,
            freezer_next: AtomicU32::new(0),
            plan,
            rlimits: limits.rlimits(count),
            enabled,
            uid_map: CString::new(format!("{me} {me} 1\n")).unwrap_or_default(),
            gid_map: CString::new(format!("{my_gid} {my_gid} 1\n")).unwrap_or_default(),
            disk_limited,
            missing,
        };
        sb.probe(layout);
        sb.disk_base = sb.disk_used().unwrap_or(0);
        sb
    }

    /// Forks a child that tries every step, keeps the ones that worked, and checks the
    /// program can still be reached and run.
    fn probe(&mut self, layout: &Layout) {
        let program = CString::new(layout.program.as_os_str().as_bytes()).unwrap_or_default();
        let cwd = CString::new(layout.workdir.join("submission").as_os_str().as_bytes())
            .unwrap_or_default();
        let group = self.run_group();
        for _ in 0..4 {
            let failures = self.probe_once(&cwd, &program, group.as_ref());
            let Some(failures) = failures else {
                self.missing
                    .push("the isolation probe could not run".to_string());
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
                            .push(format!("cannot join control groups: {why}"));
                    }
                    ProbeFailure::Step(Step::Network) => {
                        self.enabled.netns = false;
                        self.netns = None;
                        self.missing
                            .push(format!("cannot enter a network namespace: {why}"));
                    }
                    ProbeFailure::Step(Step::UserNamespace) => {
                        self.enabled.userns = false;
                        let why = if errno == libc::ENOSPC {
                            "the limit of user namespaces is reached (user.max_user_namespaces)"
                        } else {
                            why
                        };
                        self.missing.push(format!(
                            "no user namespace (so no network or mount namespace): {why}"
                        ));
                    }
                    ProbeFailure::Step(Step::Mounts) => {
                        self.enabled.mounts = false;
                        self.missing
                            .push(format!("no private file system view: {why}"));
                    }
                    ProbeFailure::Step(Step::Identity) | ProbeFailure::Unreachable => {
                        self.enabled.identity = false;
                        self.identity = Identity::Grader;
                        self.rlimits = self.limits.rlimits(ProcessCount::Shared(
                            // SAFETY: getuid has no preconditions.
                            limits::processes_of(unsafe { libc::getuid() }),
                        ));
                        self.missing.push(if step == ProbeFailure::Unreachable {
                            "runs as the grader's user: its program is not reachable by an unprivileged user".into()
                        } else {
                            format!("cannot switch to a user of its own: {why}")
                        });
                    }
                    ProbeFailure::Step(Step::NoNewPrivileges) => {
                        self.enabled.no_new_privs = false;
                    }
                    ProbeFailure::Step(Step::Limits) => {
                        self.missing.push(format!("resource limits not set: {why}"));
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
        let _permit = super::interrupt::permit_to_start().ok()?;
        // SAFETY: the child only makes system calls on memory prepared before the fork.
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            return None;
        }
        if pid == 0 {
            unsafe {
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

    /// Who the program runs as.
    pub fn identity(&self) -> Identity {
        self.identity
    }

    /// The limits in force.
    pub fn limits(&self) -> &RunLimits {
        &self.limits
    }

    /// The grading's wall deadline: no wait of a run goes past it.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// What the program has added to its directory (code, home, tmp) so far, in bytes of
    /// disk: from the tmpfs's own count where it is one (as root: it cannot grow past the
    /// limit, but a full one means the program is filling it), else by walking it. A
    /// directory of more than `MAX_WATCHED_ENTRIES` entries counts as over any limit.
    pub fn disk_used(&self) -> Option<u64> {
        let now = if self.disk_limited {
            let st = nix::sys::statvfs::statvfs(&self.workdir).ok()?;
            (st.blocks() - st.blocks_free()) as u64 * st.fragment_size() as u64
        } else {
            self.du()?
        };
        Some(now.saturating_sub(self.disk_base))
    }

    fn du(&self) -> Option<u64> {
        let mut total = 0u64;
        let mut entries = 0usize;
        let mut stack = vec![self.workdir.clone()];
        while let Some(d) = stack.pop() {
            let Ok(dir) = fs::read_dir(&d) else { continue };
            for e in dir.filter_map(|e| e.ok()) {
                entries += 1;
                if entries > MAX_WATCHED_ENTRIES {
                    return Some(u64::MAX);
                }
                let Ok(m) = e.metadata() else { continue };
                total += m.blocks() * 512;
                if m.is_dir() {
                    stack.push(e.path());
                }
            }
        }
        Some(total)
    }

    /// Whether the wall deadline has passed.
    pub fn past_deadline(&self) -> bool {
        Instant::now() >= self.deadline
    }

    /// The grading's network namespace, when the grader can enter it (as root). A server the
    /// program runs listens in it; connect from inside [`NetNs::enter`].
    pub fn netns(&self) -> Option<&NetNs> {
        self.netns.as_ref().filter(|_| self.enabled.netns)
    }

    /// A freezer group for one run (as root, where there is a freezer hierarchy).
    pub fn run_group(&self) -> Option<RunGroup> {
        if !self.enabled.cgroup_freezer {
            return None;
        }
        let parent = &self.freezer_parent.as_ref()?.0;
        let n = self.freezer_next.fetch_add(1, Ordering::Relaxed);
        Cgroup::create(parent.join(format!("run-{n}")))
            .ok()
            .map(|group| RunGroup { group })
    }

    /// Gives the program's user a file or directory tree the grader made (a library
    /// directory for a server, say). Nothing to do when it runs as the grader's user.
    pub fn give(&self, path: &Path) -> io::Result<()> {
        match self.identity {
            Identity::Own { uid, gid } => chown_tree(path, uid, gid),
            Identity::Grader => Ok(()),
        }
    }

    /// The isolation in force, one item each, for the report. Stable across runs on the same
    /// machine (no pids or uids).
    pub fn describe(&self) -> Vec<String> {
        let mut out = Vec::new();
        out.push(match self.identity {
            Identity::Own { .. } => {
                "runs as a user of its own (no groups, no new privileges)".to_string()
            }
            Identity::Grader => "runs as the grader's user".to_string(),
        });
        if self.netns().is_some() {
            out.push("network namespace of its own per grading (loopback only)".into());
        } else if self.enabled.userns {
            out.push("user and network namespace of its own per run (loopback only)".into());
        } else {
            out.push("shares the machine's network".into());
        }
        if self.enabled.mounts
            && (self.enabled.userns || self.enabled.identity || self.netns.is_some())
        {
            let mut s = format!(
                "own mount and IPC namespaces: private {}",
                self.plan.writable_dirs.join(", ")
            );
            if self.enabled.identity && !self.plan.hidden.is_empty() {
                s.push_str(&format!("; hidden: {}", self.plan.hidden.join(", ")));
            }
            out.push(s);
        } else {
            out.push("shares /tmp with the machine".into());
        }
        if self.disk_limited {
            out.push(format!(
                "writes limited to {} MiB (tmpfs; a run that fills it is cut off)",
                self.limits.disk_bytes >> 20
            ));
        } else {
            out.push(format!(
                "its directory watched: a run is cut off past {} MiB ({} MiB per file)",
                self.limits.disk_bytes >> 20,
                self.limits.file_bytes >> 20
            ));
        }
        match (self.enabled.cgroup_pids, self.enabled.cgroup_freezer) {
            (true, true) => out.push(format!(
                "pids cgroup (at most {} tasks) and freezer cgroup per run",
                self.limits.processes
            )),
            (true, false) => out.push(format!(
                "pids cgroup (at most {} tasks)",
                self.limits.processes
            )),
            (false, true) => out.push("freezer cgroup per run".into()),
            (false, false) => {
                out.push("no control groups: processes found through the grader's subreaper".into())
            }
        }
        out.push(self.limits.describe(self.identity != Identity::Grader));
        out
    }

    /// What could not be had, and why.
    pub fn missing(&self) -> &[String] {
        &self.missing
    }

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

    /// The mount steps, in a fresh mount namespace.
    unsafe fn apply_mounts(&self) -> Result<(), ()> {
        let none = std::ptr::null::<libc::c_char>();
        if libc::mount(
            c"none".as_ptr(),
            c"/".as_ptr(),
            none,
            libc::MS_REC | libc::MS_PRIVATE,
            std::ptr::null(),
        ) != 0
        {
            return Err(());
        }
        let mut fds = [-1i32; MAX_SOURCES];
        for (i, src) in self.plan.sources.iter().enumerate().take(MAX_SOURCES) {
            fds[i] = libc::open(
                src.as_ptr(),
                libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC,
            );
            if fds[i] < 0 {
                return Err(());
            }
        }
        let mut ok = true;
        for step in &self.plan.steps {
            let r = match step {
                MountStep::Hide(target) => libc::mount(
                    c"tmpfs".as_ptr(),
                    target.as_ptr(),
                    c"tmpfs".as_ptr(),
                    libc::MS_NOSUID | libc::MS_NODEV,
                    c"size=64k,nr_inodes=256,mode=0755".as_ptr().cast(),
                ),
                MountStep::Bind(i, target) => {
                    let mut path = [0u8; 40];
                    fd_path(fds[*i], &mut path);
                    libc::mount(
                        path.as_ptr().cast(),
                        target.as_ptr(),
                        none,
                        libc::MS_BIND,
                        std::ptr::null(),
                    )
                }
                MountStep::Mkdir(path) => {
                    let r = libc::mkdir(path.as_ptr(), 0o755);
                    if r != 0 && *libc::__errno_location() == libc::EEXIST {
                        0
                    } else {
                        r
                    }
                }
            };
            if r != 0 {
                ok = false;
                break;
            }
        }
        let saved = *libc::__errno_location();
        for fd in fds.iter().filter(|fd| **fd >= 0) {
            libc::close(*fd);
        }
        *libc::__errno_location() = saved;
        if ok {
            Ok(())
        } else {
            Err(())
        }
    }
}

const PROBE_UNREACHABLE: i32 = 0x7f00_0000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ProbeFailure {
    Step(Step),
    /// Confined, the program (or interpreter) could not be executed.
    Unreachable,
}

/// Sets a tmpfs's size to what it holds now plus `extra` bytes.
pub fn limit_tmpfs(dir: &Path, extra: u64) -> io::Result<()> {
    let st = nix::sys::statvfs::statvfs(dir)?;
    let used = (st.blocks() - st.blocks_free()) as u64 * st.fragment_size() as u64;
    let target = CString::new(dir.as_os_str().as_bytes())?;
    let opts = CString::new(format!("size={}", used + extra))?;
    // SAFETY: mount with prepared C strings.
    let r = unsafe {
        libc::mount(
            std::ptr::null(),
            target.as_ptr(),
            std::ptr::null(),
            libc::MS_REMOUNT | libc::MS_NOSUID | libc::MS_NODEV,
            opts.as_ptr().cast(),
        )
    };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// "/proc/self/fd/N" into `out`, NUL-terminated. Async-signal-safe.
fn fd_path(fd: i32, out: &mut [u8; 40]) {
    let prefix = b"/proc/self/fd/";
    out[..prefix.len()].copy_from_slice(prefix);
    let mut digits = [0u8; 12];
    let mut n = fd.max(0) as u32;
    let mut len = 0;
    loop {
        digits[len] = b'0' + (n % 10) as u8;
        len += 1;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for i in 0..len {
        out[prefix.len() + i] = digits[len - 1 - i];
    }
    out[prefix.len() + len] = 0;
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

/// A uid nobody uses: `UID_BASE + pid`, or further along if that one runs something.
fn pick_uid() -> Option<u32> {
    let pid = std::process::id();
    let in_use = uids_in_use();
    (0..8u32)
        .map(|k| UID_BASE.wrapping_add(pid).wrapping_add(k << 22))
        .find(|u| *u >= UID_BASE && *u < u32::MAX - 1 && !in_use.contains(u))
}

fn uids_in_use() -> Vec<u32> {
    let mut out = Vec::new();
    let Ok(dir) = fs::read_dir("/proc") else {
        return out;
    };
    for e in dir.filter_map(|e| e.ok()) {
        if let Ok(m) = e.metadata() {
            if e.file_name().as_bytes().iter().all(|b| b.is_ascii_digit()) {
                out.push(m.uid());
            }
        }
    }
    out
}

fn chown_tree(path: &Path, uid: u32, gid: u32) -> io::Result<()> {
    std::os::unix::fs::lchown(path, Some(uid), Some(gid))?;
    let meta = fs::symlink_metadata(path)?;
    if meta.is_dir() {
        for e in fs::read_dir(path)? {
            chown_tree(&e?.path(), uid, gid)?;
        }
    }
    Ok(())
}

/// Whether `uid`/`gid` (no supplementary groups) may pass through directory `meta`.
fn searchable(meta: &fs::Metadata, uid: u32, gid: u32) -> bool {
    let mode = meta.mode();
    if meta.uid() == uid {
        mode & 0o100 != 0
    } else if meta.gid() == gid {
        mode & 0o010 != 0
    } else {
        mode & 0o001 != 0
    }
}

/// Builds the child's mount steps: shared writable directories become the program's own
/// `tmp/`; directories its user cannot pass on the way to what it needs become an empty
/// tmpfs with only that way in it.
fn mount_plan(layout: &Layout, identity: Identity) -> MountPlan {
    let mut plan = MountPlan::default();
    let canon = |p: &Path| fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let workdir = canon(&layout.workdir);
    let mut keep = vec![workdir.clone()];
    for r in &layout.reach {
        let r = canon(r);
        if !keep.iter().any(|k| r.starts_with(k)) {
            keep.push(r);
        }
    }
    // (mask root, writable?)
    let mut masks: Vec<(PathBuf, bool)> = Vec::new();
    for d in SHARED_WRITABLE {
        let p = canon(Path::new(d));
        let Ok(m) = fs::metadata(&p) else { continue };
        if m.is_dir() && m.mode() & 0o002 != 0 && !masks.iter().any(|(q, _)| *q == p) {
            masks.push((p, true));
        }
    }
    if let Identity::Own { uid, gid } = identity {
        for k in &keep {
            let mut cur = PathBuf::from("/");
            for comp in k.components().skip(1) {
                let Ok(m) = fs::metadata(&cur) else { break };
                if !searchable(&m, uid, gid) {
                    if !masks.iter().any(|(q, _)| *q == cur) {
                        masks.push((cur.clone(), false));
                    }
                    break;
                }
                cur.push(comp);
            }
        }
    }
    masks.sort_by_key(|(p, _)| p.components().count());
    let mut roots: Vec<(PathBuf, bool)> = Vec::new();
    for (p, w) in masks {
        if !roots.iter().any(|(r, _)| p.starts_with(r)) {
            roots.push((p, w));
        }
    }
    let c = |p: &Path| CString::new(p.as_os_str().as_bytes()).unwrap_or_default();
    plan.sources.push(c(&workdir.join("tmp")));
    let mut source_of = Vec::new();
    for k in &keep {
        source_of.push(plan.sources.len());
        plan.sources.push(c(k));
    }
    for (root, writable) in &roots {
        if *writable {
            plan.steps.push(MountStep::Bind(0, c(root)));
            plan.writable_dirs.push(root.display().to_string());
        } else {
            plan.steps.push(MountStep::Hide(c(root)));
            plan.hidden.push(root.display().to_string());
        }
        for (i, k) in keep.iter().enumerate() {
            let Ok(rel) = k.strip_prefix(root) else {
                continue;
            };
            if rel.as_os_str().is_empty() {
                continue;
            }
            let mut cur = root.clone();
            for comp in rel.components() {
                cur.push(comp);
                plan.steps.push(MountStep::Mkdir(c(&cur)));
            }
            plan.steps.push(MountStep::Bind(source_of[i], c(&cur)));
        }
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fd_paths_are_spelled_out() {
        let mut b = [0u8; 40];
        fd_path(7, &mut b);
        assert_eq!(CStr::from_bytes_until_nul(&b).unwrap(), c"/proc/self/fd/7");
        fd_path(1234, &mut b);
        assert_eq!(
            CStr::from_bytes_until_nul(&b).unwrap(),
            c"/proc/self/fd/1234"
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

    /// The fileserver's use: a server started with `Command` + `pre_exec` in the sandbox,
    /// reached by the grader through the grading's network namespace, and nowhere else.
    #[test]
    fn a_server_in_the_sandbox_is_reached_through_its_namespace() {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 || !Path::new("/usr/bin/python3").exists() {
            eprintln!("skipped: needs root (a network namespace the grader can enter)");
            return;
        }
        use std::io::Read;
        use std::os::unix::process::CommandExt;
        let tmp = tempfile::tempdir().unwrap();
        let w = tmp.path().join("w");
        fs::create_dir_all(w.join("submission")).unwrap();
        fs::create_dir_all(w.join("home")).unwrap();
        let layout = Layout {
            workdir: w.clone(),
            workdir_is_tmpfs: false,
            reach: vec![],
            program: PathBuf::from("/usr/bin/python3"),
        };
        let sb = std::sync::Arc::new(Sandbox::new(&RunLimits::default(), &layout));
        let Some(ns) = sb.netns() else {
            panic!("root, but no network namespace: {:?}", sb.missing());
        };
        let group = sb.run_group();
        let group_fd = group.as_ref().map(|g| g.procs_fd());
        let cwd = CString::new(w.join("submission").as_os_str().as_bytes()).unwrap();
        let inner = sb.clone();
        let server = "import os, socket\n\
            s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n\
            s.bind(('127.0.0.1', 8888)); s.listen()\n\
            c, _ = s.accept(); c.sendall(b'uid %d' % os.getuid()); c.close()\n";
        let mut cmd = std::process::Command::new("/usr/bin/python3");
        cmd.args(["-c", server]);
        // SAFETY: enter_child is async-signal-safe.
        unsafe {
            cmd.pre_exec(move || inner.enter_child(&cwd, group_fd).map_err(|e| e.to_io()));
        }
        let mut child = cmd.spawn().expect("spawn in the sandbox");
        let deadline = Instant::now() + Duration::from_secs(10);
        let greeting = loop {
            let got = ns
                .enter(|| -> io::Result<String> {
                    let mut s = std::net::TcpStream::connect(("127.0.0.1", 8888))?;
                    let mut text = String::new();
                    s.read_to_string(&mut text)?;
                    Ok(text)
                })
                .unwrap();
            match got {
                Ok(text) => break text,
                Err(_) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                Err(e) => panic!("the server was never reachable: {e}"),
            }
        };
        let _ = child.wait();
        match sb.identity() {
            Identity::Own { uid, .. } => assert_eq!(greeting, format!("uid {uid}")),
            Identity::Grader => panic!("root, but no user of its own: {:?}", sb.missing()),
        }
        if let Some(g) = group {
            g.remove(Instant::now() + Duration::from_secs(1));
        }
    }

    #[test]
    fn the_workdir_is_rebuilt_inside_a_private_tmp() {
        let tmp = tempfile::tempdir_in("/tmp").unwrap();
        let w = tmp.path().join("w");
        fs::create_dir_all(w.join("tmp")).unwrap();
        let layout = Layout {
            workdir: w.clone(),
            workdir_is_tmpfs: false,
            reach: vec![],
            program: PathBuf::from("/bin/true"),
        };
        let plan = mount_plan(&layout, Identity::Grader);
        let w = fs::canonicalize(&w).unwrap();
        let target = CString::new(w.as_os_str().as_bytes()).unwrap();
        assert!(plan
            .steps
            .iter()
            .any(|s| matches!(s, MountStep::Bind(1, t) if *t == target)));
        assert!(plan.writable_dirs.iter().any(|d| d == "/tmp"));
    }
}
