//! Sockets: finding a free port, waiting for a server to listen, the protocol client, and
//! byte-exact transfer comparison.

pub mod answer;
pub mod client;
pub mod dialect;
pub mod dialect_server;
mod legacy;
pub mod listen;
pub mod listing;
pub mod transfer;

use std::io::{self, Read};
use std::net::TcpStream;
use std::time::Instant;

/// One read from `stream` that waits at most until `until`: the bytes read (0: the
/// connection ended, a reset included), or `None` when nothing came by then.
pub fn read_by(
    stream: &mut TcpStream,
    buf: &mut [u8],
    until: Instant,
) -> io::Result<Option<usize>> {
    loop {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(None);
        }
        stream.set_read_timeout(Some(left))?;
        match stream.read(buf) {
            Ok(n) => return Ok(Some(n)),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return Ok(None)
            }
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => return Ok(Some(0)),
            Err(e) => return Err(e),
        }
    }
}

/// Looks at `done` every 2 ms until it holds (true) or the deadline passes (false). For
/// states with no descriptor to wait on: the kernel's socket table, a directory's
/// contents, another process's children.
pub fn poll_until(deadline: Instant, mut done: impl FnMut() -> bool) -> bool {
    loop {
        if done() {
            return true;
        }
        if Instant::now() >= deadline {
            crate::supervise::ending::note(crate::supervise::ending::Ending::Deadline);
            return false;
        }
        let mut none: [nix::poll::PollFd; 0] = [];
        let _ = nix::poll::poll(&mut none, nix::poll::PollTimeout::from(2u16));
    }
}
