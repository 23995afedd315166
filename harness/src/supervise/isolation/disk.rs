//! Disk: the run's directory as a sized tmpfs (as root) or watched by walking it, and the
//! private tmpfs a grading's files live on.

use std::cell::Cell;
use std::ffi::CString;
use std::fs;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use super::Sandbox;

/// Entries of a run's directory beyond which the disk watch gives up counting.
const MAX_WATCHED_ENTRIES: usize = 20_000;

impl Sandbox {
    /// What the program has added to its directory (code, home, tmp) so far, in bytes of
    /// disk: from the tmpfs's own count where it is one (as root: it cannot grow past the
    /// limit, but a full one means the program is filling it), else by walking it. A
    /// directory of more than `MAX_WATCHED_ENTRIES` entries counts as over any limit.
    pub fn disk_used(&self) -> Option<u64> {
        let now = if self.disk_limited {
            let st = nix::sys::statvfs::statvfs(&self.workdir).ok()?;
            // Saturating: a file system's statistics are its own word, not a proof.
            (st.blocks().saturating_sub(st.blocks_free())) as u64 * st.fragment_size() as u64
        } else {
            self.du()?
        };
        // Saturating: the program may delete what was there at the start.
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
}

/// Sets a tmpfs's size to what it holds now plus `extra` bytes.
pub fn limit_tmpfs(dir: &Path, extra: u64) -> io::Result<()> {
    let st = nix::sys::statvfs::statvfs(dir)?;
    // Saturating: a file system's statistics are its own word, not a proof.
    let used = (st.blocks().saturating_sub(st.blocks_free())) as u64 * st.fragment_size() as u64;
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

/// A tmpfs mounted on a run's directory, unmounted when dropped.
#[derive(Debug)]
pub struct TmpfsMount {
    target: CString,
}

impl Drop for TmpfsMount {
    fn drop(&mut self) {
        // SAFETY: umount2 on a path we mounted.
        unsafe {
            libc::umount2(self.target.as_ptr(), libc::MNT_DETACH);
        }
    }
}

thread_local! {
    /// Whether this thread has its own mount namespace already.
    static PRIVATE_MOUNTS: Cell<bool> = const { Cell::new(false) };
}

/// As root: a private mount namespace for this thread (once), and a tmpfs of `size` bytes
/// on `dir`, owned by root, mode 0700. The mount is seen by no other process and vanishes
/// with the grader whatever happens. `None` where that is not possible.
pub fn private_tmpfs(dir: &Path, size: u64) -> Option<TmpfsMount> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return None;
    }
    if !PRIVATE_MOUNTS.get() {
        // SAFETY: unshare and mount with constant arguments. In a multi-threaded process
        // this gives the calling thread (and the threads and processes it starts) the new
        // namespace.
        unsafe {
            if libc::unshare(libc::CLONE_NEWNS) != 0 {
                return None;
            }
            if libc::mount(
                c"none".as_ptr(),
                c"/".as_ptr(),
                std::ptr::null(),
                libc::MS_REC | libc::MS_PRIVATE,
                std::ptr::null(),
            ) != 0
            {
                return None;
            }
        }
        PRIVATE_MOUNTS.set(true);
    }
    let target = CString::new(dir.as_os_str().as_bytes()).ok()?;
    let opts = CString::new(format!("size={size},nr_inodes=16384,mode=0700")).ok()?;
    // SAFETY: mount with prepared C strings.
    let r = unsafe {
        libc::mount(
            c"harness-run".as_ptr(),
            target.as_ptr(),
            c"tmpfs".as_ptr(),
            libc::MS_NOSUID | libc::MS_NODEV,
            opts.as_ptr().cast(),
        )
    };
    (r == 0).then_some(TmpfsMount { target })
}
