//! Namespaces: the grading's network namespace (loopback only) and the child's view of the
//! file system (a private `/tmp`, hidden directories its user could not pass), planned in the
//! grader and applied in the child.

use crate::tr;
use std::ffi::CString;
use std::fs;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::identity::searchable;
use super::root::{self, OwnRoot};
use super::{Identity, Layout, Sandbox, Step};

/// Directories anyone may write to, replaced by the program's own `tmp/`.
const SHARED_WRITABLE: &[&str] = &["/tmp", "/var/tmp", "/dev/shm", "/run/lock"];

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
            .unwrap_or_else(|_| Err(io::Error::other(tr!("netns thread panicked"))))
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
            .unwrap_or_else(|_| Err(io::Error::other(tr!("a thread in the namespace panicked"))))
        })
    }

    /// The namespace descriptor (for `setns` in a child).
    pub fn raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

/// Brings `lo` up in the current network namespace. Async-signal-safe. 0 or -1 (errno set).
pub(super) unsafe fn loopback_up() -> i32 {
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
#[derive(Debug, Default)]
pub(super) struct MountPlan {
    /// Opened `O_PATH` right after the mount namespace is made, before any mount.
    sources: Vec<CString>,
    steps: Vec<MountStep>,
    /// Private tmp: source index of the program's `tmp/`.
    pub(super) writable_dirs: Vec<String>,
    pub(super) hidden: Vec<String>,
    /// Where [`Layout::binds`] put their directories.
    pub(super) binds: Vec<PathBuf>,
    /// Why a bind of [`Layout::binds`] cannot be made (none are then made).
    pub(super) unbound: Vec<String>,
    /// A root of its own, for binds whose way has no directory on the machine: the view
    /// the steps make is bound into it, then the child turns into it.
    pub(super) own_root: Option<OwnRoot>,
}

const MAX_SOURCES: usize = 16;

impl Sandbox {
    /// The mount steps, in a fresh mount namespace; the step that failed ([`Step::Mounts`],
    /// or [`Step::Root`] for the program's own root).
    pub(super) unsafe fn apply_mounts(&self) -> Result<(), Step> {
        let none = std::ptr::null::<libc::c_char>();
        if libc::mount(
            c"none".as_ptr(),
            c"/".as_ptr(),
            none,
            libc::MS_REC | libc::MS_PRIVATE,
            std::ptr::null(),
        ) != 0
        {
            return Err(Step::Mounts);
        }
        let mut fds = [-1i32; MAX_SOURCES];
        let close_all = |fds: &[i32; MAX_SOURCES]| {
            let saved = *libc::__errno_location();
            for fd in fds.iter().filter(|fd| **fd >= 0) {
                libc::close(*fd);
            }
            *libc::__errno_location() = saved;
        };
        for (i, src) in self.plan.sources.iter().enumerate().take(MAX_SOURCES) {
            fds[i] = libc::open(
                src.as_ptr(),
                libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC,
            );
            if fds[i] < 0 {
                close_all(&fds);
                return Err(Step::Mounts);
            }
        }
        // The new root's tmpfs first, while its staging directory is still in sight.
        let root = match &self.plan.own_root {
            Some(own) => {
                let fd = own.mount_tmpfs();
                if fd < 0 {
                    close_all(&fds);
                    return Err(Step::Root);
                }
                fd
            }
            None => -1,
        };
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
        let mut result = if ok { Ok(()) } else { Err(Step::Mounts) };
        if let (true, Some(own)) = (ok, &self.plan.own_root) {
            if own.enter(root, |i, out| fd_path(fds[i.min(MAX_SOURCES - 1)], out)) != 0 {
                result = Err(Step::Root);
            }
        }
        if root >= 0 {
            let saved = *libc::__errno_location();
            libc::close(root);
            *libc::__errno_location() = saved;
        }
        close_all(&fds);
        result
    }
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

/// `tmp/`; directories its user cannot pass on the way to what it needs become an empty
/// tmpfs with only that way in it.
pub(super) fn mount_plan(layout: &Layout, identity: Identity) -> MountPlan {
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
    // A directory shown at a path that does not exist: the deepest directory on the way that
    // does becomes an empty tmpfs (nothing is created on the machine's disk) in which the way
    // is made, unless it is the program's own already (its directory, a private tmp).
    // Where not even its top directory exists (a macOS course's `/Users/...`), the way is made
    // in a root of the program's own (see `root`).
    let mut binds = Vec::new();
    let mut in_own_root = Vec::new();
    for (source, target) in &layout.binds {
        match bind_way(target) {
            Err(why) => plan.unbound.push(why),
            Ok((existing, rest)) if existing == Path::new("/") => {
                in_own_root.push((canon(source), existing.join(rest)));
            }
            Ok((existing, rest)) => {
                let own = existing.starts_with(&workdir)
                    || masks.iter().any(|(m, w)| *w && existing.starts_with(m));
                if !rest.as_os_str().is_empty()
                    && !own
                    && !masks.iter().any(|(m, _)| *m == existing)
                {
                    masks.push((existing.clone(), false));
                }
                binds.push((canon(source), existing, rest));
            }
        }
    }
    if !plan.unbound.is_empty() {
        binds.clear();
        in_own_root.clear();
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
    for (source, existing, rest) in binds {
        let index = plan.sources.len();
        plan.sources.push(c(&source));
        let mut cur = existing;
        for comp in rest.components() {
            cur.push(comp);
            plan.steps.push(MountStep::Mkdir(c(&cur)));
        }
        plan.steps.push(MountStep::Bind(index, c(&cur)));
        plan.binds.push(cur);
    }
    if !in_own_root.is_empty() {
        let mut made = Vec::new();
        for (source, target) in in_own_root {
            made.push((plan.sources.len(), target.clone()));
            plan.sources.push(c(&source));
            plan.binds.push(target);
        }
        let sources: Vec<PathBuf> = plan
            .sources
            .iter()
            .map(|s| PathBuf::from(std::ffi::OsStr::from_bytes(s.as_bytes())))
            .collect();
        let roots: Vec<PathBuf> = roots.into_iter().map(|(r, _)| r).collect();
        match root::plan(&roots, &keep, &made, &sources) {
            Ok(own) => plan.own_root = Some(own),
            Err(e) => plan.unbound.push(tr!("{made}: no directory on its way exists on this machine, and a root of the program's own could not be planned: {e}", made = made.iter().map(|(_, t)| t.display().to_string()).collect::<Vec<_>>().join(", "), e = e)),
        }
    }
    plan
}

/// The way to a bind's `target`: its deepest existing directory (`/` when not even its top
/// directory exists) and the rest of the path (empty when the target exists). Lexical: `..`
/// and `.` are resolved before looking.
fn bind_way(target: &Path) -> Result<(PathBuf, PathBuf), String> {
    let shown = target.display();
    if !target.is_absolute() {
        return Err(tr!("{shown} is not an absolute path", shown = shown));
    }
    let mut clean = PathBuf::from("/");
    for comp in target.components() {
        match comp {
            std::path::Component::ParentDir => {
                clean.pop();
            }
            std::path::Component::Normal(n) => clean.push(n),
            _ => {}
        }
    }
    let mut existing = clean.clone();
    while !existing.is_dir() {
        if existing.exists() {
            return Err(tr!(
                "{existing} exists on this machine and is not a directory",
                existing = existing.display()
            ));
        }
        existing.pop();
    }
    if clean == Path::new("/") {
        return Err(tr!(
            "{shown} is the machine's root directory",
            shown = shown
        ));
    }
    let rest = clean
        .strip_prefix(&existing)
        .map(Path::to_path_buf)
        .unwrap_or_default();
    Ok((existing, rest))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

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
    fn the_workdir_is_rebuilt_inside_a_private_tmp() {
        let tmp = tempfile::tempdir_in("/tmp").unwrap();
        let w = tmp.path().join("w");
        fs::create_dir_all(w.join("tmp")).unwrap();
        let layout = Layout::for_test(&w, "/bin/true");
        let plan = mount_plan(&layout, Identity::Grader);
        let w = fs::canonicalize(&w).unwrap();
        let target = CString::new(w.as_os_str().as_bytes()).unwrap();
        assert!(plan
            .steps
            .iter()
            .any(|s| matches!(s, MountStep::Bind(1, t) if *t == target)));
        assert!(plan.writable_dirs.iter().any(|d| d == "/tmp"));
    }

    #[test]
    fn a_missing_bind_target_is_made_in_an_empty_tmpfs_over_its_deepest_directory() {
        let tmp = tempfile::tempdir_in("/tmp").unwrap();
        let w = tmp.path().join("w");
        fs::create_dir_all(w.join("tmp")).unwrap();
        let outside = tempfile::tempdir_in("/var").unwrap();
        let target = outside.path().join("tarena/桌面/love");
        let mut layout = Layout::for_test(&w, "/bin/true");
        layout.binds.push((w.join("library"), target.clone()));
        let plan = mount_plan(&layout, Identity::Grader);
        let hidden = CString::new(outside.path().as_os_str().as_bytes()).unwrap();
        assert!(plan
            .steps
            .iter()
            .any(|s| matches!(s, MountStep::Hide(t) if *t == hidden)));
        let last = CString::new(target.as_os_str().as_bytes()).unwrap();
        assert!(matches!(plan.steps.last(), Some(MountStep::Bind(_, t)) if *t == last));
        assert_eq!(plan.binds, vec![target]);
        // Under the program's own private tmp: made there, nothing hidden.
        let mut layout = Layout::for_test(&w, "/bin/true");
        layout
            .binds
            .push((w.join("library"), PathBuf::from("/tmp/day07/../day07/code")));
        let plan = mount_plan(&layout, Identity::Grader);
        assert!(!plan.steps.iter().any(|s| matches!(s, MountStep::Hide(_))));
        assert_eq!(plan.binds, vec![PathBuf::from("/tmp/day07/code")]);
        assert!(plan.unbound.is_empty());
    }

    #[test]
    fn an_impossible_bind_target_is_said() {
        assert!(bind_way(Path::new("relative/x")).is_err());
        assert!(bind_way(Path::new("/../")).is_err());
        assert_eq!(
            bind_way(Path::new("/no-such-top-dir-here/ftp")).unwrap(),
            (
                PathBuf::from("/"),
                PathBuf::from("no-such-top-dir-here/ftp")
            )
        );
        assert_eq!(
            bind_way(Path::new("/tmp/a/b")).unwrap(),
            (PathBuf::from("/tmp"), PathBuf::from("a/b"))
        );
    }
}
