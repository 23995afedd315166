//! Ports and sockets as the kernel sees them: a free port to hand a server, whether the
//! server itself listens yet, and whether it has closed its end of a connection. Read from
//! `/proc/<pid>/net/tcp`, which shows the network namespace of that process, and
//! `/proc/<pid>/fd`, which says whose a socket is.

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

/// One TCP socket of `/proc/<pid>/net/tcp{,6}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Socket {
    local_port: u16,
    remote_port: u16,
    state: u8,
    inode: u64,
}

/// Every IPv4 and IPv6 TCP socket in `pid`'s network namespace.
fn sockets(pid: Pid) -> Vec<Socket> {
    let mut out = Vec::new();
    for file in ["tcp", "tcp6"] {
        let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/net/{file}")) else {
            continue;
        };
        out.extend(text.lines().skip(1).filter_map(parse_socket));
    }
    out
}

/// A line of `/proc/net/tcp`: `sl local rem st tx:rx tr:when retrnsmt uid timeout inode …`.
fn parse_socket(line: &str) -> Option<Socket> {
    let f: Vec<&str> = line.split_whitespace().collect();
    let port = |s: &str| u16::from_str_radix(s.rsplit(':').next()?, 16).ok();
    Some(Socket {
        local_port: port(f.get(1)?)?,
        remote_port: port(f.get(2)?)?,
        state: u8::from_str_radix(f.get(3)?, 16).ok()?,
        inode: f.get(9)?.parse().ok()?,
    })
}

/// The socket inodes `pid` holds open (`/proc/<pid>/fd/* -> socket:[inode]`).
fn held_sockets(pid: Pid) -> Vec<u64> {
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return Vec::new();
    };
    fds.filter_map(|e| e.ok())
        .filter_map(|e| std::fs::read_link(e.path()).ok())
        .filter_map(|target| {
            let t = target.to_str()?;
            t.strip_prefix("socket:[")?.strip_suffix(']')?.parse().ok()
        })
        .collect()
}

/// Who listens on `port` in `pid`'s network namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listener {
    /// `pid` itself holds a listening socket on the port.
    Itself,
    /// Only other processes do (a child of the server squatting on its port, say).
    Others,
    Nobody,
}

/// Whether `pid` itself listens on `port`. The process started as the server must be the
/// one that listens: a listener held only by some other process (a child that took the
/// port before the server could) does not count.
pub fn listener(pid: Pid, port: u16) -> Listener {
    let listening: Vec<u64> = sockets(pid)
        .iter()
        .filter(|s| s.local_port == port && s.state == LISTEN)
        .map(|s| s.inode)
        .collect();
    if listening.is_empty() {
        return Listener::Nobody;
    }
    if held_sockets(pid).iter().any(|i| listening.contains(i)) {
        Listener::Itself
    } else {
        Listener::Others
    }
}

/// Whether the server side (`server_port`) of the connection from `client_port` is still
/// open: established, or half-closed by the client and not yet closed by the server.
pub fn server_side_open(pid: Pid, server_port: u16, client_port: u16) -> bool {
    sockets(pid).iter().any(|s| {
        s.local_port == server_port
            && s.remote_port == client_port
            && (s.state == ESTABLISHED || s.state == CLOSE_WAIT)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listener_is_seen_with_its_holder() {
        let me = nix::unistd::getpid();
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        assert_eq!(listener(me, port), Listener::Itself);
        // Seen from another process of the same namespace, the listener is someone else's.
        let mut cmd = std::process::Command::new("sleep");
        cmd.arg("30").stdin(std::process::Stdio::null());
        let permit = crate::supervise::interrupt::permit_to_start().unwrap();
        let mut other =
            crate::supervise::process::Process::start_group_leader(&mut cmd, &permit).unwrap();
        drop(permit);
        assert_eq!(listener(other.pid(), port), Listener::Others);
        other.terminate(std::time::Duration::ZERO).unwrap();
        // A port with a socket on it but none listening: a connection's own end.
        let client = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        let client_port = client.local_addr().unwrap().port();
        assert_eq!(listener(me, client_port), Listener::Nobody);
        // Once closed, the listener is no longer ours. (Not `Nobody` at once: a process
        // another test is starting may hold a copy of every descriptor of this one between
        // its `fork` and its `exec`, which keeps the socket listening for that long.)
        drop(l);
        assert_ne!(listener(me, port), Listener::Itself);
    }

    #[test]
    fn a_proc_net_tcp_line() {
        let line = "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 123456 1 0000000000000000 100 0 0 10 0";
        assert_eq!(
            parse_socket(line),
            Some(Socket {
                local_port: 8080,
                remote_port: 0,
                state: LISTEN,
                inode: 123456
            })
        );
    }
}
