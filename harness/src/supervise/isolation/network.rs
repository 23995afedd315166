//! Reaching into the grading's network from the grader: [`Sandbox::bind_in`] and
//! [`Sandbox::connect_in`], whatever the namespace is made of.
//!
//! As root the grader holds a [`NetNs`](super::NetNs) and a thread of its own enters it. Without
//! root the namespace is a [`UserNs`]: a user namespace (the only way to a network namespace
//! without privileges) with a network namespace in it, one per grading, made by a forked
//! helper that hands both back as descriptors and exits. They live while the grader holds
//! them (and while a program runs in them); no process is kept for them, so nothing can
//! outlive the grading or show up among the submission's leftovers.
//!
//! The grader cannot enter them: `setns` into a user namespace needs a single-threaded
//! caller. A program joins them between `fork` and `exec` ([`UserNs::join`]). The grader's
//! own sockets there are made by a short-lived forked helper that joins and sends them back
//! over a socket pair (`SCM_RIGHTS`); a socket keeps the namespace it was made in wherever
//! its descriptor goes, so the grader binds and connects them itself. A few are made at a
//! time and kept for the next requests.

use crate::tr;
use std::ffi::CStr;
use std::io::{self, IoSliceMut};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::socket::{self as sock, AddressFamily, MsgFlags, SockFlag, SockType};

use super::confine::write_file;
use super::namespaces::loopback_up;
use super::{ConfineError, KeptFds, Sandbox, Step};

/// Sockets made by one helper.
const BATCH: usize = 8;
/// The most descriptors one helper sends.
const MAX_FDS: usize = 2 + BATCH;
/// How long a helper may take (it only makes system calls that do not wait).
const HELPER_TIME: Duration = Duration::from_secs(5);

/// A user namespace (the grader's user and group mapped to themselves) and a network
/// namespace owned by it with only loopback up, held by descriptors.
#[derive(Debug)]
pub struct UserNs {
    user: OwnedFd,
    net: OwnedFd,
    /// Sockets made inside and not used yet: IPv4, IPv6.
    spare: Mutex<[Vec<OwnedFd>; 2]>,
}

/// What a helper does, prepared before the fork.
enum Errand<'a> {
    /// Makes the namespaces and sends them.
    Create {
        uid_map: &'a CStr,
        gid_map: &'a CStr,
    },
    /// Joins them and sends `BATCH` new stream sockets of the family.
    Sockets {
        user: RawFd,
        net: RawFd,
        family: i32,
    },
}

impl UserNs {
    /// New namespaces; `uid_map` and `gid_map` are the map lines (`"ID ID 1\n"`). Fails with
    /// the step that failed ([`Step::UserNamespace`] where unprivileged user namespaces are
    /// not allowed) or, as `None`, when the helper could not run at all.
    pub(super) fn new(uid_map: &CStr, gid_map: &CStr) -> Result<UserNs, Option<ConfineError>> {
        let fds = run_helper(&Errand::Create { uid_map, gid_map }, &[])?;
        let [user, net]: [OwnedFd; 2] = fds.try_into().map_err(|_| None)?;
        Ok(UserNs {
            user,
            net,
            spare: Mutex::default(),
        })
    }

    /// The descriptors a child uses to join (see [`Sandbox::child_fds`]).
    pub(super) fn raw_fds(&self) -> [RawFd; 2] {
        [self.user.as_raw_fd(), self.net.as_raw_fd()]
    }

    /// Joins the user namespace, then the network namespace (the user namespace's
    /// capabilities allow it). The caller must be single-threaded and own the user
    /// namespace's user: a fork of the grader. 0 or -1 (errno set).
    ///
    /// # Safety
    /// Async-signal-safe: call it only in a forked child.
    pub(super) unsafe fn join(&self) -> i32 {
        join(self.user.as_raw_fd(), self.net.as_raw_fd())
    }

    /// A new TCP socket of `addr`'s family inside the network namespace.
    fn socket(&self, addr: SocketAddr) -> io::Result<OwnedFd> {
        let (slot, family) = match addr {
            SocketAddr::V4(_) => (0, libc::AF_INET),
            SocketAddr::V6(_) => (1, libc::AF_INET6),
        };
        let mut spare = self.spare.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(fd) = spare[slot].pop() {
            return Ok(fd);
        }
        let errand = Errand::Sockets {
            user: self.user.as_raw_fd(),
            net: self.net.as_raw_fd(),
            family,
        };
        let keep = self.raw_fds();
        let mut made = run_helper(&errand, &keep).map_err(|e| match e {
            Some(e) => io::Error::other(e.to_string()),
            None => io::Error::other(tr!("the helper that makes sockets there did not answer")),
        })?;
        let fd = made
            .pop()
            .ok_or_else(|| io::Error::other(tr!("the helper made no socket")))?;
        spare[slot] = made;
        Ok(fd)
    }

    fn bind(&self, addr: SocketAddr) -> io::Result<TcpListener> {
        let fd = self.socket(addr)?;
        sock::setsockopt(&fd, sock::sockopt::ReuseAddr, &true)?;
        sock::bind(fd.as_raw_fd(), &sock::SockaddrStorage::from(addr))?;
        sock::listen(&fd, sock::Backlog::MAXCONN)?;
        Ok(TcpListener::from(fd))
    }

    fn connect(&self, addr: SocketAddr, deadline: Instant) -> io::Result<TcpStream> {
        connect_until(TcpStream::from(self.socket(addr)?), addr, deadline)
    }
}

/// Connects `stream` (a new socket) to `addr`, giving up at `deadline`: what
/// `TcpStream::connect_timeout` does, on a socket made elsewhere.
fn connect_until(stream: TcpStream, addr: SocketAddr, deadline: Instant) -> io::Result<TcpStream> {
    stream.set_nonblocking(true)?;
    match sock::connect(stream.as_raw_fd(), &sock::SockaddrStorage::from(addr)) {
        Ok(()) => {}
        Err(Errno::EINPROGRESS) => {
            if !wait_ready(stream.as_fd(), PollFlags::POLLOUT, deadline)? {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    tr!("connection timed out"),
                ));
            }
            if let Some(e) = stream.take_error()? {
                return Err(e);
            }
        }
        Err(e) => return Err(e.into()),
    }
    stream.set_nonblocking(false)?;
    Ok(stream)
}

/// Waits until `fd` is ready for `what` (or hung up); false at the deadline.
fn wait_ready(
    fd: std::os::fd::BorrowedFd<'_>,
    what: PollFlags,
    deadline: Instant,
) -> io::Result<bool> {
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(false);
        }
        let ms = left.as_millis().clamp(1, i32::MAX as u128) as i32;
        let mut one = [PollFd::new(fd, what)];
        match poll(
            &mut one,
            PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX),
        ) {
            Ok(0) | Err(Errno::EINTR) => continue,
            Ok(_) => return Ok(true),
            Err(e) => return Err(e.into()),
        }
    }
}

/// Forks a helper for `errand` (keeping only `keep` of the grader's descriptors and its
/// end of a socket pair), waits at most [`HELPER_TIME`] for what it sends, reaps it.
fn run_helper(errand: &Errand, keep: &[RawFd]) -> Result<Vec<OwnedFd>, Option<ConfineError>> {
    let (mine, theirs) = sock::socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .map_err(|_| None)?;
    let out = theirs.as_raw_fd();
    let kept = KeptFds::new(keep.iter().copied().chain([out]));
    let permit = super::super::interrupt::permit_to_start().map_err(|_| None)?;
    // SAFETY: the child only makes system calls on memory prepared before the fork, and
    // never returns.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(None);
    }
    if pid == 0 {
        // SAFETY: in the forked child.
        unsafe { helper(errand, &kept, out) }
    }
    drop(permit);
    drop(theirs);
    let got = receive(&mine, Instant::now() + HELPER_TIME);
    if got.is_err() {
        // SAFETY: our own child, not reaped yet (we reap it below).
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
    // SAFETY: waiting for the child we forked; it has answered (or been killed) and exits.
    unsafe { libc::waitpid(pid, std::ptr::null_mut(), libc::__WALL) };
    got
}

/// The helper's answer: its descriptors, or the step that failed.
fn receive(from: &OwnedFd, deadline: Instant) -> Result<Vec<OwnedFd>, Option<ConfineError>> {
    if !wait_ready(from.as_fd(), PollFlags::POLLIN, deadline).map_err(|_| None)? {
        return Err(None);
    }
    let mut code = [0u8; 4];
    let mut iov = [IoSliceMut::new(&mut code)];
    let mut space = nix::cmsg_space!([RawFd; MAX_FDS]);
    let msg = sock::recvmsg::<()>(
        from.as_raw_fd(),
        &mut iov,
        Some(&mut space),
        MsgFlags::MSG_CMSG_CLOEXEC,
    )
    .map_err(|_| None)?;
    let mut fds = Vec::new();
    for c in msg.cmsgs().map_err(|_| None)? {
        if let sock::ControlMessageOwned::ScmRights(raw) = c {
            // SAFETY: descriptors just received: new, and owned by nobody else.
            fds.extend(
                raw.into_iter()
                    .map(|fd| unsafe { OwnedFd::from_raw_fd(fd) }),
            );
        }
    }
    if msg.bytes != 4 {
        return Err(None);
    }
    match i32::from_ne_bytes(code) {
        0 if !fds.is_empty() => Ok(fds),
        0 => Err(None),
        v => Err(ConfineError::decode(v)),
    }
}

/// The helper: does the errand, sends the descriptors (or the failure), exits.
///
/// # Safety
/// Only in a forked child of the grader: system calls on memory prepared before the fork.
unsafe fn helper(errand: &Errand, kept: &KeptFds, out: RawFd) -> ! {
    kept.close_others();
    libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong);
    let fail = |step: Step| ConfineError {
        step,
        errno: *libc::__errno_location(),
    };
    let mut fds = [-1 as RawFd; MAX_FDS];
    let result = match errand {
        Errand::Create { uid_map, gid_map } => (|| {
            if libc::unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWNET) != 0
                || write_file(c"/proc/self/setgroups", b"deny") != 0
                || write_file(c"/proc/self/uid_map", uid_map.to_bytes()) != 0
                || write_file(c"/proc/self/gid_map", gid_map.to_bytes()) != 0
            {
                return Err(fail(Step::UserNamespace));
            }
            if loopback_up() != 0 {
                return Err(fail(Step::Network));
            }
            for (i, path) in [c"/proc/self/ns/user", c"/proc/self/ns/net"]
                .iter()
                .enumerate()
            {
                fds[i] = libc::open(path.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC);
                if fds[i] < 0 {
                    return Err(fail(Step::UserNamespace));
                }
            }
            Ok(2)
        })(),
        Errand::Sockets { user, net, family } => (|| {
            if join(*user, *net) != 0 {
                return Err(fail(Step::Network));
            }
            for fd in fds.iter_mut().take(BATCH) {
                *fd = libc::socket(*family, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
                if *fd < 0 {
                    return Err(fail(Step::Network));
                }
            }
            Ok(BATCH)
        })(),
    };
    match result {
        Ok(n) => send(out, 0, &fds[..n]),
        Err(e) => send(out, e.encode(), &[]),
    }
    libc::_exit(0);
}

/// `setns` into the user namespace, then the network namespace. 0 or -1 (errno set).
unsafe fn join(user: RawFd, net: RawFd) -> i32 {
    if libc::setns(user, libc::CLONE_NEWUSER) != 0 {
        return -1;
    }
    libc::setns(net, libc::CLONE_NEWNET)
}

/// Sends `code` with `fds` attached. Async-signal-safe: the control buffer is on the stack.
unsafe fn send(to: RawFd, code: i32, fds: &[RawFd]) {
    #[repr(C, align(8))]
    struct Control([u8; 256]);
    let mut control = Control([0; 256]);
    let mut data = code.to_ne_bytes();
    let mut iov = libc::iovec {
        iov_base: data.as_mut_ptr().cast(),
        iov_len: data.len(),
    };
    let mut msg: libc::msghdr = std::mem::zeroed();
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    let bytes = std::mem::size_of_val(fds) as libc::c_uint;
    if !fds.is_empty() && (libc::CMSG_SPACE(bytes) as usize) <= control.0.len() {
        msg.msg_control = control.0.as_mut_ptr().cast();
        // `size_t` in glibc, `socklen_t` in musl.
        msg.msg_controllen = libc::CMSG_SPACE(bytes) as _;
        let c = libc::CMSG_FIRSTHDR(&msg);
        (*c).cmsg_level = libc::SOL_SOCKET;
        (*c).cmsg_type = libc::SCM_RIGHTS;
        (*c).cmsg_len = libc::CMSG_LEN(bytes) as _;
        std::ptr::copy_nonoverlapping(fds.as_ptr(), libc::CMSG_DATA(c).cast(), fds.len());
    }
    libc::sendmsg(to, &msg, libc::MSG_NOSIGNAL);
}

impl Sandbox {
    /// A listener on `addr` in the grading's network (where its programs connect), or in
    /// the grader's own when the programs share it.
    pub fn bind_in(&self, addr: SocketAddr) -> io::Result<TcpListener> {
        if let Some(ns) = self.netns() {
            return ns.enter(|| TcpListener::bind(addr))?;
        }
        match self.userns() {
            Some(ns) => ns.bind(addr),
            None => TcpListener::bind(addr),
        }
    }

    /// A connection to `addr` in the grading's network (a server a program runs listens
    /// there), given up at `deadline`.
    pub fn connect_in(&self, addr: SocketAddr, deadline: Instant) -> io::Result<TcpStream> {
        if let Some(ns) = self.netns() {
            return ns.enter(|| TcpStream::connect_timeout(&addr, left(deadline)))?;
        }
        match self.userns() {
            Some(ns) => ns.connect(addr, deadline),
            None => TcpStream::connect_timeout(&addr, left(deadline)),
        }
    }
}

/// [`Sandbox::bind_in`] where there may be no sandbox (the grader's own network then).
pub fn bind_in(sandbox: Option<&Sandbox>, addr: SocketAddr) -> io::Result<TcpListener> {
    match sandbox {
        Some(sb) => sb.bind_in(addr),
        None => TcpListener::bind(addr),
    }
}

/// [`Sandbox::connect_in`] where there may be no sandbox.
pub fn connect_in(
    sandbox: Option<&Sandbox>,
    addr: SocketAddr,
    deadline: Instant,
) -> io::Result<TcpStream> {
    match sandbox {
        Some(sb) => sb.connect_in(addr, deadline),
        None => TcpStream::connect_timeout(&addr, left(deadline)),
    }
}

/// What is left until `deadline`, at least a millisecond (`connect_timeout` refuses zero).
fn left(deadline: Instant) -> Duration {
    deadline
        .saturating_duration_since(Instant::now())
        .max(Duration::from_millis(1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    fn userns() -> Option<UserNs> {
        // SAFETY: getuid/getgid have no preconditions.
        let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
        let map = |id| std::ffi::CString::new(format!("{id} {id} 1\n")).unwrap();
        match UserNs::new(&map(uid), &map(gid)) {
            Ok(ns) => Some(ns),
            Err(e) => {
                eprintln!("skipped: no user namespace on this machine: {e:?}");
                None
            }
        }
    }

    #[test]
    fn sockets_made_inside_reach_each_other_and_not_the_graders_network() {
        let Some(ns) = userns() else { return };
        let deadline = Instant::now() + Duration::from_secs(5);
        let inside = ns.bind(([127, 0, 0, 1], 0).into()).unwrap();
        let at = inside.local_addr().unwrap();
        // More connections than one helper makes sockets: the spares are made again.
        for i in 0..2 * BATCH + 1 {
            let mut c = ns.connect(at, deadline).unwrap();
            let (mut s, _) = inside.accept().unwrap();
            s.write_all(&[i as u8]).unwrap();
            let mut b = [0u8; 1];
            c.read_exact(&mut b).unwrap();
            assert_eq!(b[0], i as u8);
        }
        let outside = TcpListener::bind("127.0.0.1:0").unwrap();
        let there = outside.local_addr().unwrap();
        if there.port() != at.port() {
            let e = ns.connect(there, deadline).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused, "{e}");
        }
    }

    #[test]
    fn a_forked_child_that_joins_reaches_a_listener_inside() {
        let Some(ns) = userns() else { return };
        if !std::path::Path::new("/usr/bin/python3").exists() {
            eprintln!("skipped: no /usr/bin/python3");
            return;
        }
        use std::os::unix::process::CommandExt;
        let inside = ns.bind(([127, 0, 0, 1], 0).into()).unwrap();
        let port = inside.local_addr().unwrap().port();
        let ns = std::sync::Arc::new(ns);
        let joined = ns.clone();
        let mut cmd = std::process::Command::new("/usr/bin/python3");
        cmd.args([
            "-c",
            &format!(
                "import socket; socket.create_connection(('127.0.0.1', {port})).sendall(b'in')"
            ),
        ]);
        // SAFETY: join only makes system calls.
        unsafe {
            cmd.pre_exec(move || match joined.join() {
                0 => Ok(()),
                _ => Err(io::Error::last_os_error()),
            });
        }
        let mut child = cmd.spawn().expect("start a program in the namespaces");
        let (mut s, _) = inside.accept().unwrap();
        let mut got = Vec::new();
        s.read_to_end(&mut got).unwrap();
        assert!(child.wait().unwrap().success());
        assert_eq!(got, b"in");
    }
}
