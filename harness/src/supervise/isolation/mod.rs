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
//!   A directory shown at a path a course hard-codes is made the same way; where not even its
//!   top directory exists (`/Users/apple/Desktop/test/`), the program gets a root of its own
//!   (see `root`: a tmpfs with the system's directories bound read-only) in which it is made.
//! - **a network namespace**, one per grading, with only loopback up: nothing reaches a
//!   network, and ports never collide between parallel gradings. The grader can use the same
//!   namespace through [`Sandbox::connect_in`] and [`Sandbox::bind_in`] (a server the
//!   student runs is reachable from there).
//! - **control groups** (v1 here): a `pids` group per grading (fork bombs hit `pids.max`) and a
//!   `freezer` group per run ([`RunGroup`]): cleanup freezes the group, kills every member and
//!   thaws it, which no fork can race.
//!
//! Not root: the program runs as the grader's user; where unprivileged user namespaces are
//! allowed it joins the grading's user and network namespaces (loopback only, one pair per
//! sandbox, see `network`) and gets mount namespaces of its own (its own `/tmp`). The grader
//! reaches that network through [`Sandbox::bind_in`] and [`Sandbox::connect_in`], as it does
//! as root. Process limits are rlimits counted on top of what the user already runs.
//!
//! No pid namespace: the student's process would be its init, and init ignores signals whose
//! default action would kill it, which would falsify every signal check. The grader's child
//! subreaper (see `cleanup`) plus the freezer group find and kill everything instead.
//!
//! Everything the child side touches is prepared before `fork`: it only makes system calls.

mod cgroups;
mod confine;
mod disk;
mod identity;
mod namespaces;
mod network;
mod probe;
mod root;

pub use cgroups::RunGroup;
pub use confine::{ConfineError, KeptFds, Step};
pub use disk::{limit_tmpfs, private_tmpfs, TmpfsMount};
pub use identity::{Identity, UID_BASE};
pub use namespaces::NetNs;
pub use network::{bind_in, connect_in};

use crate::tr;
use std::ffi::CString;
use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Instant;

use super::limits::{self, ProcessCount, Rlimit, RunLimits};
use cgroups::{cgroup_v1_dir, sweep_stale, Cgroup, CgroupDir};
use identity::{chown_tree, pick_uid};
use namespaces::{mount_plan, MountPlan};
use network::UserNs;

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
    /// This, `userns` and `pids` are used by a child being confined: listed in
    /// [`Sandbox::child_fds`].
    netns: Option<NetNs>,
    /// The grading's user and network namespaces (not root).
    userns: Option<UserNs>,
    /// Dropped before `freezer_parent` (declaration order) so it is empty when removed.
    pids: Option<Cgroup>,
    freezer_parent: Option<CgroupDir>,
    freezer_next: AtomicU32,
    plan: MountPlan,
    rlimits: Vec<Rlimit>,
    enabled: Enabled,
    disk_limited: bool,
    /// Why some isolation is missing, for the report.
    missing: Vec<String>,
}

/// Why there is no user namespace (so none of what needs one), for the report.
fn no_userns(errno: i32) -> String {
    let why = if errno == libc::ENOSPC {
        tr!("the limit of user namespaces is reached (user.max_user_namespaces)")
    } else if errno == 0 {
        tr!("the helper that makes it did not answer")
    } else {
        nix::errno::Errno::from_raw(errno).desc()
    };
    tr!(
        "no user namespace (so no network or mount namespace): {why}",
        why = why
    )
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
    /// Directories shown at another path in the program's view: (the directory, the
    /// absolute path the program sees it at). A course's hard-coded library path, say.
    pub binds: Vec<(PathBuf, PathBuf)>,
}

#[cfg(test)]
impl Layout {
    /// A plain directory `workdir` (not a tmpfs) for `program`, nothing outside to reach.
    pub(crate) fn for_test(workdir: &Path, program: &str) -> Layout {
        Layout {
            workdir: workdir.to_path_buf(),
            workdir_is_tmpfs: false,
            reach: vec![],
            program: PathBuf::from(program),
            binds: vec![],
        }
    }
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
                missing.push(tr!("could not size its directory: {e}", e = e));
                disk_limited = false;
            }
        }

        let identity = if root {
            match pick_uid() {
                Some(uid) => Identity::Own { uid, gid: uid },
                None => {
                    missing.push(tr!("no free user id to run the program as").into());
                    Identity::Grader
                }
            }
        } else {
            Identity::Grader
        };
        if let Identity::Own { uid, gid } = identity {
            if let Err(e) = chown_tree(&layout.workdir, uid, gid) {
                missing.push(tr!("could not give the program its directory: {e}", e = e));
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
                    missing.push(tr!("no network namespace: {e}", e = e));
                    None
                }
            }
        } else {
            None
        };
        // SAFETY: getuid/getgid have no preconditions.
        let (me, my_gid) = unsafe { (libc::getuid(), libc::getgid()) };
        let uid_map = CString::new(format!("{me} {me} 1\n")).unwrap_or_default();
        let gid_map = CString::new(format!("{my_gid} {my_gid} 1\n")).unwrap_or_default();
        let userns = if root {
            None
        } else {
            match UserNs::new(&uid_map, &gid_map) {
                Ok(ns) => Some(ns),
                Err(e) => {
                    missing.push(no_userns(e.map_or(0, |e| e.errno)));
                    None
                }
            }
        };
        enabled.userns = userns.is_some();
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
                    Err(e) => missing.push(tr!("no pids cgroup: {e}", e = e)),
                },
                None => missing.push(tr!("no pids cgroup (v1) hierarchy").into()),
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
                        Err(e) => missing.push(tr!("no freezer cgroup: {e}", e = e)),
                    }
                }
                None => missing.push(tr!("no freezer cgroup (v1) hierarchy").into()),
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
        let mut sb = Sandbox {
            limits: limits.clone(),
            workdir: layout.workdir.clone(),
            disk_base: 0,
            deadline: Instant::now() + limits.wall,
            identity,
            netns,
            userns,
            pids,
            freezer_parent,
            freezer_next: AtomicU32::new(0),
            plan,
            rlimits: limits.rlimits(count),
            enabled,
            disk_limited,
            missing,
        };
        sb.probe(layout);
        sb.disk_base = sb.disk_used().unwrap_or(0);
        sb
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

    /// Whether the wall deadline has passed.
    pub fn past_deadline(&self) -> bool {
        Instant::now() >= self.deadline
    }

    /// The grading's network namespace, when the grader can enter it (as root).
    fn netns(&self) -> Option<&NetNs> {
        self.netns.as_ref().filter(|_| self.enabled.netns)
    }

    /// The grading's user and network namespaces, which programs join (not root).
    fn userns(&self) -> Option<&UserNs> {
        self.userns.as_ref().filter(|_| self.enabled.userns)
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
                tr!("runs as a user of its own (no groups, no new privileges)").to_string()
            }
            Identity::Grader => tr!("runs as the grader's user").to_string(),
        });
        if self.netns().is_some() {
            out.push(tr!("network namespace of its own per grading (loopback only)").into());
        } else if self.userns().is_some() {
            out.push(
                tr!("user and network namespace of its own per grading (loopback only)").into(),
            );
        } else {
            out.push(tr!("shares the machine's network").into());
        }
        if self.enabled.mounts
            && (self.enabled.userns || self.enabled.identity || self.netns.is_some())
        {
            let mut s = tr!(
                "own mount and IPC namespaces: private {dirs}",
                dirs = self.plan.writable_dirs.join(", ")
            );
            if self.enabled.identity && !self.plan.hidden.is_empty() {
                s.push_str(&tr!("; hidden: {dirs}", dirs = self.plan.hidden.join(", ")));
            }
            out.push(s);
            if let Some(own) = &self.plan.own_root {
                let binds: Vec<String> = self
                    .plan
                    .binds
                    .iter()
                    .map(|b| b.display().to_string())
                    .collect();
                out.push(tr!(
                    "a root of its own (tmpfs; {read_only} bound read-only) holding {binds}",
                    read_only = own.read_only.join(", "),
                    binds = binds.join(", ")
                ));
            }
        } else {
            out.push(tr!("shares /tmp with the machine").into());
        }
        if self.disk_limited {
            out.push(tr!(
                "writes limited to {mib} MiB (tmpfs; a run that fills it is cut off)",
                mib = self.limits.disk_bytes >> 20
            ));
        } else {
            out.push(tr!(
                "its directory watched: a run is cut off past {mib} MiB ({file} MiB per file)",
                mib = self.limits.disk_bytes >> 20,
                file = self.limits.file_bytes >> 20
            ));
        }
        match (self.enabled.cgroup_pids, self.enabled.cgroup_freezer) {
            (true, true) => out.push(tr!(
                "pids cgroup (at most {n} tasks) and freezer cgroup per run",
                n = self.limits.processes
            )),
            (true, false) => out.push(tr!(
                "pids cgroup (at most {n} tasks)",
                n = self.limits.processes
            )),
            (false, true) => out.push(tr!("freezer cgroup per run").into()),
            (false, false) => out.push(
                tr!("no control groups: processes found through the grader's subreaper").into(),
            ),
        }
        out.push(self.limits.describe(self.identity != Identity::Grader));
        out
    }

    /// Why the directories of [`Layout::binds`] are not where the program looks for them;
    /// `None` when they are (in the program's own mount namespace).
    pub fn binds_problem(&self) -> Option<String> {
        if let Some(why) = self.plan.unbound.first() {
            return Some(why.clone());
        }
        let own_view = self.enabled.mounts
            && (self.enabled.userns || self.enabled.identity || self.netns.is_some());
        if !own_view && !self.plan.binds.is_empty() {
            let why = self
                .missing
                .iter()
                // The words in the language the items were written in.
                .find(|m| m.contains(tr!("file system")) || m.contains(tr!("namespace")))
                .cloned()
                .unwrap_or_else(|| tr!("no mount namespace on this machine").into());
            return Some(tr!(
                "the program has no file system view of its own here ({why})",
                why = why
            ));
        }
        None
    }

    /// What could not be had, and why.
    pub fn missing(&self) -> &[String] {
        &self.missing
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::ffi::OsStrExt;
    use std::time::Duration;

    /// A course path with no directory on its way on the machine: with a mount namespace of
    /// its own, the program gets a root of its own holding it; without one, that is said.
    /// Either way nothing is made on the machine.
    #[test]
    fn a_course_path_without_a_way_gets_a_root_of_its_own_or_is_refused_saying_why() {
        let tmp = tempfile::tempdir().unwrap();
        let w = tmp.path().join("w");
        fs::create_dir_all(w.join("submission")).unwrap();
        fs::create_dir_all(w.join("library")).unwrap();
        let top = Path::new("/no-such-top-dir-of-a-course");
        let mut layout = Layout::for_test(&w, "/bin/true");
        layout
            .binds
            .push((w.join("library"), top.join("apple/Desktop/test")));
        let mut sb = Sandbox::new(&RunLimits::default(), &layout);
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } == 0 {
            assert_eq!(sb.binds_problem(), None, "{:?}", sb.missing());
            let own = sb
                .describe()
                .into_iter()
                .find(|d| d.contains("a root of its own"));
            let own = own.expect("the report says the program has a root of its own");
            assert!(
                own.contains("/usr") && own.contains("apple/Desktop/test"),
                "{own}"
            );
        }
        // Where no namespace can be had (no root, user namespaces off).
        sb.enabled = Enabled::default();
        sb.netns = None;
        sb.userns = None;
        sb.missing.push(no_userns(libc::ENOSPC));
        let why = sb.binds_problem().expect("refused");
        assert!(why.contains("no file system view of its own"), "{why}");
        assert!(why.contains("user.max_user_namespaces"), "{why}");
        drop(sb);
        assert!(!top.exists(), "{} was made on the machine", top.display());
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
        let layout = Layout::for_test(&w, "/usr/bin/python3");
        let sb = std::sync::Arc::new(Sandbox::new(&RunLimits::default(), &layout));
        assert!(
            sb.netns().is_some(),
            "root, but no network namespace: {:?}",
            sb.missing()
        );
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
            let got = sb
                .connect_in(([127, 0, 0, 1], 8888).into(), deadline)
                .and_then(|mut s| {
                    let mut text = String::new();
                    s.read_to_string(&mut text)?;
                    Ok(text)
                });
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
}
