//! Who the program runs as: a user of its own (as root), picked from a range no real user
//! has, and given its files.

use std::fs;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// The first uid (and gid) of the range the programs run as, as root: one per grading
/// process, `UID_BASE + pid`. Far above any real user, below `(uid_t)-1`.
pub const UID_BASE: u32 = 1_800_000_000;

/// Who the program runs as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Identity {
    /// A user (and group) of its own; no supplementary groups.
    Own { uid: u32, gid: u32 },
    /// The grader's own user.
    Grader,
}

/// A uid nobody uses: `UID_BASE + pid`, or further along if that one runs something.
pub(super) fn pick_uid() -> Option<u32> {
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

pub(super) fn chown_tree(path: &Path, uid: u32, gid: u32) -> io::Result<()> {
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
pub(super) fn searchable(meta: &fs::Metadata, uid: u32, gid: u32) -> bool {
    let mode = meta.mode();
    if meta.uid() == uid {
        mode & 0o100 != 0
    } else if meta.gid() == gid {
        mode & 0o010 != 0
    } else {
        mode & 0o001 != 0
    }
}
