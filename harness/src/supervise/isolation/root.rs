//! A root of its own for the program, as bubblewrap builds one: an empty tmpfs holding the
//! machine's system directories bound read-only (`/usr`, `/bin`, `/lib*`, `/etc`), `/proc`,
//! `/dev`, the program's private tmp directories, its own directory and the interpreter it
//! needs. Made only where a path a course hard-codes has no directory on its way on this
//! machine (a macOS course's `/Users/apple/Desktop/test/`): its way is then made inside that
//! tmpfs, so the program finds it and nothing is created on the machine's disk.
//!
//! Planned in the grader ([`plan`]), applied in the child after the other mount steps of
//! `namespaces` (so what is bound here is the view they made: the private `/tmp`, hidden
//! directories with their ways), then `pivot_root` into it and the machine's root detached.

use crate::tr;
use std::collections::BTreeSet;
use std::ffi::CString;
use std::fs;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// The machine's directories every program needs, bound read-only (a symbolic link, as on a
/// merged-`/usr` system, is made as the same link).
const SYSTEM: &[&str] = &[
    "usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32", "etc",
];
/// Bound as they are (writable where the machine's are): the processes and the devices.
const KERNEL: &[&str] = &["proc", "dev"];

/// One step in the new root, paths relative to it (the child works from inside it).
#[derive(Debug)]
enum RootStep {
    Mkdir(CString),
    /// (what the link says, where it is made)
    Symlink(CString, CString),
    /// A directory of the view built so far (absolute), bound with what is mounted under it.
    Bind {
        from: CString,
        at: CString,
        read_only: bool,
        /// The flags a read-only remount must keep where `mount_setattr` is missing.
        keep_flags: libc::c_ulong,
    },
    /// A directory opened before any mount step (`MountPlan::sources`, by index).
    BindSource(usize, CString),
}

/// The program's own root, planned.
#[derive(Debug)]
pub(super) struct OwnRoot {
    /// An empty directory of the grader's, in the temp directory and outside everything that
    /// is bound: the new root's tmpfs is mounted on it (in the child's namespace only) before
    /// any other mount step. Removed with the sandbox.
    _staging: tempfile::TempDir,
    staging_c: CString,
    steps: Vec<RootStep>,
    /// The system directories bound read-only, for the report.
    pub(super) read_only: Vec<String>,
}

/// The new root for a view whose mask roots are `roots` (from `namespaces::mount_plan`),
/// which keeps `keep` (the program's directory first) and shows each source of `made` (by
/// index) at its absolute path, none of which has a directory on its way on the machine.
pub(super) fn plan(
    roots: &[PathBuf],
    keep: &[PathBuf],
    made: &[(usize, PathBuf)],
    sources: &[PathBuf],
) -> io::Result<OwnRoot> {
    let staging = tempfile::Builder::new().prefix("harness-root-").tempdir()?;
    let staging_path = fs::canonicalize(staging.path())?;
    if let Some(s) = sources.iter().find(|s| staging_path.starts_with(s)) {
        return Err(io::Error::other(tr!(
            "{s} holds the temp directory, so a root cannot be made outside it",
            s = s.display()
        )));
    }
    let c = |p: &Path| CString::new(p.as_os_str().as_bytes()).unwrap_or_default();
    let mut root = OwnRoot {
        staging_c: c(&staging_path),
        _staging: staging,
        steps: Vec::new(),
        read_only: Vec::new(),
    };
    let mut dirs = BTreeSet::new();
    let mut covered: Vec<PathBuf> = Vec::new();
    for name in SYSTEM.iter().chain(KERNEL) {
        let from = Path::new("/").join(name);
        let Ok(meta) = fs::symlink_metadata(&from) else {
            continue;
        };
        if meta.file_type().is_symlink() {
            let to = fs::read_link(&from)?;
            root.steps
                .push(RootStep::Symlink(c(&to), c(Path::new(name))));
        } else if meta.is_dir() {
            let read_only = SYSTEM.contains(name);
            root.bind(&mut dirs, &from, read_only);
            if read_only {
                root.read_only.push(from.display().to_string());
            }
            covered.push(from);
        }
    }
    for dir in roots.iter().chain(keep) {
        if !covered.iter().any(|c| dir.starts_with(c)) {
            root.bind(&mut dirs, dir, false);
            covered.push(dir.clone());
        }
    }
    for (index, target) in made {
        let rel = relative(target);
        root.mkdirs(&mut dirs, &rel);
        root.steps.push(RootStep::BindSource(*index, c(&rel)));
    }
    Ok(root)
}

/// `p` without its leading `/`.
fn relative(p: &Path) -> PathBuf {
    p.strip_prefix("/").unwrap_or(p).to_path_buf()
}

impl OwnRoot {
    /// Binds `from` (absolute) at the same path in the new root, making the way to it.
    fn bind(&mut self, dirs: &mut BTreeSet<PathBuf>, from: &Path, read_only: bool) {
        let rel = relative(from);
        self.mkdirs(dirs, &rel);
        let c = |p: &Path| CString::new(p.as_os_str().as_bytes()).unwrap_or_default();
        self.steps.push(RootStep::Bind {
            from: c(from),
            at: c(&rel),
            read_only,
            keep_flags: locked_flags(from),
        });
    }

    /// `mkdir` of `rel` and every directory on its way, each once.
    fn mkdirs(&mut self, dirs: &mut BTreeSet<PathBuf>, rel: &Path) {
        let mut cur = PathBuf::new();
        for comp in rel.components() {
            cur.push(comp);
            if dirs.insert(cur.clone()) {
                let c = CString::new(cur.as_os_str().as_bytes()).unwrap_or_default();
                self.steps.push(RootStep::Mkdir(c));
            }
        }
    }

    /// The tmpfs of the new root on the staging directory, opened: the first mount step,
    /// while the staging directory is still in sight. A descriptor or -1 (errno set).
    ///
    /// # Safety
    /// Async-signal-safe: call it only in a forked child, in its own mount namespace.
    pub(super) unsafe fn mount_tmpfs(&self) -> i32 {
        if libc::mount(
            c"tmpfs".as_ptr(),
            self.staging_c.as_ptr(),
            c"tmpfs".as_ptr(),
            libc::MS_NOSUID | libc::MS_NODEV,
            c"size=1m,nr_inodes=4096,mode=0755".as_ptr().cast(),
        ) != 0
        {
            return -1;
        }
        libc::open(
            self.staging_c.as_ptr(),
            libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC,
        )
    }

    /// Fills the new root (opened as `root`) from the view built so far, turns into it and
    /// detaches the machine's root. `source` gives the `/proc/self/fd/N` path of a source
    /// opened before the mounts. 0 or -1 (errno set).
    ///
    /// # Safety
    /// Async-signal-safe: call it only in a forked child, in its own mount namespace.
    pub(super) unsafe fn enter(&self, root: i32, source: impl Fn(usize, &mut [u8; 40])) -> i32 {
        let none = std::ptr::null::<libc::c_char>();
        if libc::fchdir(root) != 0 {
            return -1;
        }
        for step in &self.steps {
            let r = match step {
                RootStep::Mkdir(at) => libc::mkdir(at.as_ptr(), 0o755),
                RootStep::Symlink(to, at) => libc::symlink(to.as_ptr(), at.as_ptr()),
                RootStep::Bind {
                    from,
                    at,
                    read_only,
                    keep_flags,
                } => {
                    let mut r = libc::mount(
                        from.as_ptr(),
                        at.as_ptr(),
                        none,
                        libc::MS_BIND | libc::MS_REC,
                        std::ptr::null(),
                    );
                    if r == 0 && *read_only {
                        r = read_only_mount(at.as_ptr(), libc::AT_RECURSIVE, *keep_flags);
                    }
                    r
                }
                RootStep::BindSource(index, at) => {
                    let mut path = [0u8; 40];
                    source(*index, &mut path);
                    libc::mount(
                        path.as_ptr().cast(),
                        at.as_ptr(),
                        none,
                        libc::MS_BIND | libc::MS_REC,
                        std::ptr::null(),
                    )
                }
            };
            if r != 0 {
                return -1;
            }
        }
        // The machine's root goes on top of the new one and is detached from there.
        if libc::syscall(libc::SYS_pivot_root, c".".as_ptr(), c".".as_ptr()) != 0
            || libc::umount2(c".".as_ptr(), libc::MNT_DETACH) != 0
            || libc::chdir(c"/".as_ptr()) != 0
        {
            return -1;
        }
        // Nothing new at the top: the ways are made, the root itself is read-only.
        read_only_mount(c"/".as_ptr(), 0, libc::MS_NOSUID | libc::MS_NODEV)
    }
}

/// `mount_attr` of `mount_setattr(2)` (not in every libc this builds with).
#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

const MOUNT_ATTR_RDONLY: u64 = 1;

/// Makes the mount at `path` read-only (with `AT_RECURSIVE`, every mount under it too),
/// leaving its other flags alone; where `mount_setattr` is missing (Linux before 5.12), a
/// remount of that one mount keeping `keep_flags`. 0 or -1.
unsafe fn read_only_mount(
    path: *const libc::c_char,
    recursive: libc::c_int,
    keep_flags: libc::c_ulong,
) -> i32 {
    let attr = MountAttr {
        attr_set: MOUNT_ATTR_RDONLY,
        attr_clr: 0,
        propagation: 0,
        userns_fd: 0,
    };
    let r = libc::syscall(
        libc::SYS_mount_setattr,
        libc::AT_FDCWD,
        path,
        recursive as libc::c_uint,
        &attr as *const MountAttr,
        std::mem::size_of::<MountAttr>(),
    );
    if r == 0 {
        return 0;
    }
    if *libc::__errno_location() != libc::ENOSYS {
        return -1;
    }
    libc::mount(
        std::ptr::null(),
        path,
        std::ptr::null(),
        libc::MS_BIND | libc::MS_REMOUNT | libc::MS_RDONLY | keep_flags,
        std::ptr::null(),
    )
}

/// The flags of the mount holding `path` that a remount inside a user namespace may not
/// drop (`nosuid`, `nodev`, `noexec`, the atime ones).
fn locked_flags(path: &Path) -> libc::c_ulong {
    use nix::sys::statvfs::{statvfs, FsFlags};
    let Ok(st) = statvfs(path) else { return 0 };
    let f = st.flags();
    let mut out = 0;
    for (have, flag) in [
        (FsFlags::ST_NOSUID, libc::MS_NOSUID),
        (FsFlags::ST_NODEV, libc::MS_NODEV),
        (FsFlags::ST_NOEXEC, libc::MS_NOEXEC),
        (FsFlags::ST_NOATIME, libc::MS_NOATIME),
        (FsFlags::ST_NODIRATIME, libc::MS_NODIRATIME),
    ] {
        if f.contains(have) {
            out |= flag;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_root_binds_the_system_and_makes_the_way_to_a_course_path() {
        let keep = vec![
            PathBuf::from("/tmp/harness-run-x"),
            PathBuf::from("/usr/lib"),
        ];
        let made = vec![(3, PathBuf::from("/Users/apple/Desktop/test"))];
        let root = plan(&[PathBuf::from("/tmp")], &keep, &made, &[]).unwrap();
        let shown: Vec<String> = root.steps.iter().map(|s| format!("{s:?}")).collect();
        let has = |needle: &str| shown.iter().any(|s| s.contains(needle));
        assert!(root.read_only.iter().any(|d| d == "/usr"), "{shown:#?}");
        assert!(
            has(r#"from: "/usr", at: "usr", read_only: true"#),
            "{shown:#?}"
        );
        assert!(
            has(r#"from: "/proc", at: "proc", read_only: false"#),
            "{shown:#?}"
        );
        // The private tmp is bound whole (it holds the program's directory); /usr/lib is in
        // /usr already.
        assert!(has(r#"from: "/tmp", at: "tmp""#), "{shown:#?}");
        assert!(
            !has("harness-run-x") && !has(r#"from: "/usr/lib""#),
            "{shown:#?}"
        );
        for way in [
            "Users",
            "Users/apple",
            "Users/apple/Desktop",
            "Users/apple/Desktop/test",
        ] {
            assert!(has(&format!("Mkdir({way:?})")), "{way}: {shown:#?}");
        }
        assert!(
            matches!(root.steps.last(), Some(RootStep::BindSource(3, at)) if at.as_bytes() == b"Users/apple/Desktop/test"),
            "{shown:#?}"
        );
        assert!(root._staging.path().is_dir());
    }

    #[test]
    fn a_source_holding_the_temp_directory_is_refused() {
        let tmp = fs::canonicalize(std::env::temp_dir()).unwrap();
        let err = plan(&[], &[], &[], &[tmp]).unwrap_err();
        assert!(
            err.to_string().contains("holds the temp directory"),
            "{err}"
        );
    }
}
