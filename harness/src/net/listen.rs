//! Ports and sockets as the kernel sees them: a free port to hand a server, whether a server
//! listens yet, and whether it has closed its end of a connection. Read from
//! `/proc/<pid>/net/tcp`, which shows the network namespace of that process.

use std::net::TcpListener;

use nix::unistd::Pid;

/// A port that was free a moment ago on 127.0.0.1.
pub fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// TCP states of `/proc/net/tcp`.
const LISTEN: u8 = 0x0a;
const ESTABLISHED: u8 = 0x01;
const CLOSE_WAIT: u8 = 0x08;

/// (local port, remote port, state) of every IPv4 and IPv6 TCP socket in `pid`'s namespace.
fn sockets(pid: Pid) -> Vec<(u16, u16, u8)> {
    let mut out = Vec::new();
    for file in ["tcp", "tcp6"] {
        let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/net/{file}")) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() < 4 {
                continue;
            }
            let port = |s: &str| {
                s.rsplit(':')
                    .next()
                    .and_then(|p| u16::from_str_radix(p, 16).ok())
            };
            if let (Some(l), Some(r), Ok(st)) =
                (port(f[1]), port(f[2]), u8::from_str_radix(f[3], 16))
            {
                out.push((l, r, st));
            }
        }
    }
    out
}

/// Whether something listens on `port` in `pid`'s network namespace.
pub fn listening(pid: Pid, port: u16) -> bool {
    sockets(pid)
        .iter()
        .any(|(l, _, st)| *l == port && *st == LISTEN)
}

/// Whether the server side (`server_port`) of the connection from `client_port` is still
/// open: established, or half-closed by the client and not yet closed by the server.
pub fn server_side_open(pid: Pid, server_port: u16, client_port: u16) -> bool {
    sockets(pid).iter().any(|(l, r, st)| {
        *l == server_port && *r == client_port && (*st == ESTABLISHED || *st == CLOSE_WAIT)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listener_is_seen() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        assert!(listening(nix::unistd::getpid(), port));
        drop(l);
        assert!(!listening(nix::unistd::getpid(), port));
    }
}
