//! Process descriptors (`pidfd_open`): a descriptor that becomes readable when its process
//! exits. Waiting on one needs no polling loop and reaps nothing, and it names one process
//! for good: a pid can be reused once its process is reaped, a pidfd cannot.

use std::io;
use std::os::fd::{AsFd, FromRawFd, OwnedFd};
use std::time::Instant;

use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

/// A pidfd for `pid`. Fails if the process is gone (or the kernel is older than 5.3).
pub fn open(pid: i32) -> io::Result<OwnedFd> {
    // SAFETY: a plain system call with integer arguments.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a non-negative result is a new descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// Whether the process behind `fd` has exited (a zombie counts), without waiting.
pub fn exited(fd: &impl AsFd) -> bool {
    let mut one = [PollFd::new(fd.as_fd(), PollFlags::POLLIN)];
    matches!(poll(&mut one, PollTimeout::ZERO), Ok(n) if n > 0)
}

/// Waits until the process behind `fd` has exited or `deadline` passes; whether it exited.
pub fn wait(fd: &impl AsFd, deadline: Instant) -> bool {
    wait_all(std::slice::from_ref(&fd.as_fd()), deadline)
}

/// Waits until every process of `fds` has exited or `deadline` passes; whether all did.
/// A failing `poll` (other than an interruption) ends the wait as at the deadline.
pub fn wait_all(fds: &[impl AsFd], deadline: Instant) -> bool {
    loop {
        let mut pending: Vec<PollFd> = fds
            .iter()
            .filter(|f| !exited(*f))
            .map(|f| PollFd::new(f.as_fd(), PollFlags::POLLIN))
            .collect();
        if pending.is_empty() {
            return true;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        let ms = left.as_millis().clamp(1, i32::MAX as u128) as i32;
        match poll(
            &mut pending,
            PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX),
        ) {
            Ok(_) | Err(Errno::EINTR) => continue,
            Err(_) => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_pidfd_becomes_readable_when_its_process_exits() {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let fd = open(child.id() as i32).unwrap();
        assert!(wait(&fd, Instant::now() + Duration::from_secs(10)));
        assert!(exited(&fd));
        child.wait().unwrap();
    }

    #[test]
    fn the_wait_ends_at_the_deadline_for_a_live_process() {
        let fd = open(std::process::id() as i32).unwrap();
        assert!(!exited(&fd));
        assert!(!wait(&fd, Instant::now() + Duration::from_millis(5)));
    }
}
