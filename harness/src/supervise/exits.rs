//! Exit statuses of processes the grader is not the parent of, from the kernel's process
//! events connector (netlink; root only on older kernels, open to all users on recent ones).
//!
//! The conductor is the driver's child: the driver reaps it, and its status goes with the
//! zombie, usually within microseconds, before anyone else can read it. The connector
//! reports every exit as it happens (before the zombie is even visible to the parent),
//! with its wait status, so the grader can say exactly "the conductor was killed by
//! SIGKILL". Only the pids asked for are kept, so memory stays bounded whatever the
//! submission does. Where the connector is not available nothing is claimed.

use std::collections::HashMap;
use std::io;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Instant;

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::unistd::Pid;

/// `NETLINK_CONNECTOR`, and the connector id of process events (`CN_IDX_PROC`/`CN_VAL_PROC`).
const NETLINK_CONNECTOR: i32 = 11;
const CN_IDX_PROC: u32 = 1;
const CN_VAL_PROC: u32 = 1;
/// `PROC_CN_MCAST_LISTEN`: start sending events to this socket.
const MCAST_LISTEN: u32 = 1;
/// `PROC_EVENT_EXIT`.
const EVENT_EXIT: u32 = 0x8000_0000;
/// Sizes of `struct nlmsghdr` and `struct cn_msg`; the event follows them.
const NLMSG_HDR: usize = 16;
const CN_MSG: usize = 20;
/// Receive buffer asked for: some 100 000 events of backlog.
const RECEIVE_BUFFER: libc::c_int = 8 << 20;

/// Exits seen for the pids asked for: `None` until the process exits, then its wait status.
#[derive(Default)]
struct Seen {
    statuses: Mutex<HashMap<i32, Option<i32>>>,
    arrived: Condvar,
    /// The kernel dropped events (the socket's buffer overflowed, as under a fork bomb).
    lost: AtomicBool,
}

/// A listener for exit events; stops when dropped.
pub struct ExitWatch {
    seen: Arc<Seen>,
    /// Dropping it wakes the listener thread, which then ends.
    _stop: OwnedFd,
}

impl ExitWatch {
    /// Starts listening; `None` where the connector is not available.
    pub fn start() -> Option<ExitWatch> {
        let sock = open_listener().ok()?;
        let (stop_r, stop_w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).ok()?;
        let seen = Arc::new(Seen::default());
        let seen2 = seen.clone();
        std::thread::Builder::new()
            .name("exit-events".into())
            .spawn(move || listen(sock, stop_r, &seen2))
            .ok()?;
        Some(ExitWatch {
            seen,
            _stop: stop_w,
        })
    }

    /// Keep the exit status of `pid` when it exits (call before it can).
    pub fn watch(&self, pid: Pid) {
        self.seen
            .statuses
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(pid.as_raw())
            .or_insert(None);
    }

    /// The wait status `pid` exited with, waiting for its event until `deadline` (the event
    /// is sent before the process becomes a zombie, but this thread may read it later).
    pub fn status(&self, pid: Pid, deadline: Instant) -> Option<i32> {
        let mut statuses = self.seen.statuses.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(Some(st)) = statuses.get(&pid.as_raw()) {
                return Some(*st);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            statuses = self
                .seen
                .arrived
                .wait_timeout(statuses, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// Whether the kernel dropped events, so a missing status may be one of them.
    pub fn lost_events(&self) -> bool {
        self.seen.lost.load(Ordering::Relaxed)
    }
}

/// A netlink socket subscribed to process events.
fn open_listener() -> io::Result<OwnedFd> {
    // SAFETY: plain system calls on memory owned here.
    unsafe {
        let fd = libc::socket(
            libc::AF_NETLINK,
            libc::SOCK_DGRAM | libc::SOCK_CLOEXEC,
            NETLINK_CONNECTOR,
        );
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        let sock = OwnedFd::from_raw_fd(fd);
        // Every exit on the machine comes through here: room for a long backlog, so that a
        // busy machine (a parallel test run, a fork bomb elsewhere) does not make the kernel
        // drop the one event that matters. FORCE needs root; the plain option is capped.
        let room: libc::c_int = RECEIVE_BUFFER;
        for opt in [libc::SO_RCVBUFFORCE, libc::SO_RCVBUF] {
            if libc::setsockopt(
                fd,
                libc::SOL_SOCKET,
                opt,
                (&room as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as u32,
            ) == 0
            {
                break;
            }
        }
        let mut addr: libc::sockaddr_nl = std::mem::zeroed();
        addr.nl_family = libc::AF_NETLINK as u16;
        addr.nl_groups = CN_IDX_PROC;
        if libc::bind(
            fd,
            (&addr as *const libc::sockaddr_nl).cast(),
            std::mem::size_of::<libc::sockaddr_nl>() as u32,
        ) != 0
        {
            return Err(io::Error::last_os_error());
        }
        let msg = listen_request();
        if libc::send(fd, msg.as_ptr().cast(), msg.len(), 0) < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(sock)
    }
}

/// `nlmsghdr` + `cn_msg` + `PROC_CN_MCAST_LISTEN`, in native byte order.
fn listen_request() -> Vec<u8> {
    let total = NLMSG_HDR + CN_MSG + 4;
    let mut m = Vec::with_capacity(total);
    m.extend_from_slice(&(total as u32).to_ne_bytes());
    m.extend_from_slice(&(libc::NLMSG_DONE as u16).to_ne_bytes());
    m.extend_from_slice(&0u16.to_ne_bytes()); // flags
    m.extend_from_slice(&0u32.to_ne_bytes()); // seq
    m.extend_from_slice(&std::process::id().to_ne_bytes());
    m.extend_from_slice(&CN_IDX_PROC.to_ne_bytes());
    m.extend_from_slice(&CN_VAL_PROC.to_ne_bytes());
    m.extend_from_slice(&0u32.to_ne_bytes()); // seq
    m.extend_from_slice(&0u32.to_ne_bytes()); // ack
    m.extend_from_slice(&4u16.to_ne_bytes()); // len
    m.extend_from_slice(&0u16.to_ne_bytes()); // flags
    m.extend_from_slice(&MCAST_LISTEN.to_ne_bytes());
    m
}

/// An exit event in one netlink message: (pid, tgid, wait status).
fn parse_exit(msg: &[u8]) -> Option<(i32, i32, i32)> {
    let at = |off: usize| -> Option<u32> {
        Some(u32::from_ne_bytes(msg.get(off..off + 4)?.try_into().ok()?))
    };
    let ev = NLMSG_HDR + CN_MSG;
    if at(ev)? != EVENT_EXIT {
        return None;
    }
    // what, cpu, timestamp (8 bytes), then pid, tgid, exit_code.
    let data = ev + 16;
    Some((at(data)? as i32, at(data + 4)? as i32, at(data + 8)? as i32))
}

/// The listener thread: records the exits of watched pids until `stop` hangs up.
fn listen(sock: OwnedFd, stop: OwnedFd, seen: &Seen) {
    let mut buf = vec![0u8; 8192];
    loop {
        let mut fds = [
            PollFd::new(sock.as_fd(), PollFlags::POLLIN),
            PollFd::new(stop.as_fd(), PollFlags::POLLIN),
        ];
        if poll(&mut fds, PollTimeout::NONE).is_err() {
            continue;
        }
        if fds[1].revents().is_some_and(|r| !r.is_empty()) {
            return;
        }
        // SAFETY: recv into a buffer we own, of its length.
        let n = unsafe {
            libc::recv(
                sock.as_raw_fd(),
                buf.as_mut_ptr().cast(),
                buf.len(),
                libc::MSG_DONTWAIT,
            )
        };
        if n < 0 {
            if io::Error::last_os_error().raw_os_error() == Some(libc::ENOBUFS) {
                seen.lost.store(true, Ordering::Relaxed);
            }
            continue;
        }
        // One event per datagram (the connector sends each on its own).
        let Some((pid, tgid, status)) = parse_exit(&buf[..n as usize]) else {
            continue;
        };
        if pid != tgid {
            continue; // a thread, not the process
        }
        let mut statuses = seen.statuses.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(slot) = statuses.get_mut(&pid) {
            *slot = Some(status);
            seen.arrived.notify_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn listen_request_layout() {
        let m = listen_request();
        assert_eq!(m.len(), 40);
        assert_eq!(u32::from_ne_bytes(m[0..4].try_into().unwrap()), 40);
        assert_eq!(
            u32::from_ne_bytes(m[16..20].try_into().unwrap()),
            CN_IDX_PROC
        );
        assert_eq!(
            u32::from_ne_bytes(m[36..40].try_into().unwrap()),
            MCAST_LISTEN
        );
    }

    #[test]
    fn statuses_of_a_child_are_seen_as_root() {
        let Some(w) = ExitWatch::start() else {
            // SAFETY: geteuid has no preconditions.
            assert_ne!(
                unsafe { libc::geteuid() },
                0,
                "root must have the connector"
            );
            return;
        };
        for (script, expected) in [("exit 3", 3 << 8), ("kill -KILL $$", libc::SIGKILL)] {
            let mut child = std::process::Command::new("sh")
                .args(["-c", &format!("read x; {script}")])
                .stdin(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            let pid = Pid::from_raw(child.id() as i32);
            w.watch(pid);
            drop(child.stdin.take()); // `read` ends: the shell goes on to exit
            child.wait().unwrap();
            let st = w.status(pid, Instant::now() + Duration::from_secs(10));
            assert_eq!(st, Some(expected), "{script}");
        }
    }
}
