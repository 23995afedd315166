//! Ports and sockets as the kernel sees them: a free port to hand a server, where a server
//! (or a child of it) listens, whether the server itself listens yet, and whether it has
//! closed its end of a connection. Read from `/proc/<pid>/net/tcp{,6}`, which shows the
//! network namespace of that process, and `/proc/<pid>/fd`, which says whose a socket is.
//! Nothing here connects: a server is only spoken to once its socket is seen listening.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener};

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
    local_ip: IpAddr,
    local_port: u16,
    remote_port: u16,
    state: u8,
    inode: u64,
    /// Bytes sent and not yet acknowledged by the peer (`tx_queue`).
    tx: u64,
    /// Bytes received and not yet read (`rx_queue`); for a listener, connections not yet
    /// accepted.
    rx: u64,
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
    let (tx, rx) = f.get(4)?.split_once(':')?;
    let hex = |v: &str| u64::from_str_radix(v, 16).ok();
    Some(Socket {
        tx: hex(tx)?,
        rx: hex(rx)?,
        local_ip: parse_ip(f.get(1)?.split(':').next()?)?,
        local_port: port(f.get(1)?)?,
        remote_port: port(f.get(2)?)?,
        state: u8::from_str_radix(f.get(3)?, 16).ok()?,
        inode: f.get(9)?.parse().ok()?,
    })
}

/// An address of `/proc/net/tcp{,6}`: 8 or 32 hex digits, each 32-bit word in the machine's
/// byte order.
fn parse_ip(hex: &str) -> Option<IpAddr> {
    let words: Vec<u32> = (0..hex.len() / 8)
        .map(|i| u32::from_str_radix(hex.get(i * 8..i * 8 + 8)?, 16).ok())
        .collect::<Option<_>>()?;
    let mut bytes = Vec::with_capacity(16);
    for w in &words {
        bytes.extend_from_slice(&w.to_ne_bytes());
    }
    match bytes.len() {
        4 => Some(IpAddr::V4(Ipv4Addr::new(
            bytes[0], bytes[1], bytes[2], bytes[3],
        ))),
        16 => {
            let b: [u8; 16] = bytes.try_into().ok()?;
            Some(IpAddr::V6(Ipv6Addr::from(b)))
        }
        _ => None,
    }
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

/// The addresses the processes `tree` (a server and its descendants, all in the network
/// namespace of the first) listen on, by port; the unspecified address (`0.0.0.0`, `::`)
/// as it is.
pub fn listening(tree: &[Pid]) -> Vec<SocketAddr> {
    let Some(first) = tree.first() else {
        return Vec::new();
    };
    let listening: Vec<Socket> = sockets(*first)
        .into_iter()
        .filter(|s| s.state == LISTEN)
        .collect();
    if listening.is_empty() {
        return Vec::new();
    }
    let held: Vec<u64> = tree.iter().flat_map(|p| held_sockets(*p)).collect();
    let mut out: Vec<SocketAddr> = listening
        .iter()
        .filter(|s| held.contains(&s.inode))
        .map(|s| SocketAddr::new(s.local_ip, s.local_port))
        .collect();
    out.sort_by_key(|a| (a.port(), a.is_ipv6()));
    out.dedup();
    out
}

/// Where to connect to reach a server listening on `at`: its own address, the loopback
/// address of its family for an unspecified one. `None` for an address the grader cannot
/// reach from the loopback-only namespace.
pub fn reach(at: SocketAddr) -> Option<SocketAddr> {
    let ip = match at.ip() {
        IpAddr::V4(v4) if v4.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(v6) if v6.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip if ip.is_loopback() => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) if v4.is_loopback() => IpAddr::V4(v4),
            _ => return None,
        },
        _ => return None,
    };
    Some(SocketAddr::new(ip, at.port()))
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

/// How many bytes the client (`client_port`) has sent that the server (`server_port`) has
/// not read yet: the client side's send queue (`tx_queue` of `/proc/net/tcp`) plus the
/// server side's receive queue (`rx_queue`). `None` when the connection is gone.
pub fn unread_by_server(pid: Pid, server_port: u16, client_port: u16) -> Option<u64> {
    let mut found = false;
    let mut total = 0u64;
    for s in sockets(pid) {
        if s.local_port == server_port && s.remote_port == client_port {
            found = true;
            total += s.rx;
        } else if s.local_port == client_port && s.remote_port == server_port {
            total += s.tx;
        }
    }
    found.then_some(total)
}

/// Whether anything is on its way to or from the processes `tree` (all in the network
/// namespace of the first) over TCP: bytes unread or unacknowledged in a socket they hold
/// or at the other end of one of its connections, or a connection waiting to be accepted.
/// While nothing is, a process of `tree` blocked reading a socket stays blocked.
pub fn in_flight(tree: &[Pid]) -> bool {
    let Some(first) = tree.first() else {
        return false;
    };
    let held: Vec<u64> = tree.iter().flat_map(|p| held_sockets(*p)).collect();
    if held.is_empty() {
        return false;
    }
    let all = sockets(*first);
    let theirs: Vec<&Socket> = all.iter().filter(|s| held.contains(&s.inode)).collect();
    let peer_of = |s: &Socket, p: &Socket| {
        s.state != LISTEN && p.local_port == s.remote_port && p.remote_port == s.local_port
    };
    theirs.iter().any(|s| {
        s.tx > 0 || s.rx > 0 || all.iter().any(|p| peer_of(s, p) && (p.tx > 0 || p.rx > 0))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tree_s_listeners_are_found_with_their_addresses() {
        let me = nix::unistd::getpid();
        let l = TcpListener::bind("0.0.0.0:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let found = listening(&[me]);
        let at = SocketAddr::from(([0, 0, 0, 0], port));
        assert!(found.contains(&at), "{found:?}");
        assert_eq!(reach(at), Some(SocketAddr::from(([127, 0, 0, 1], port))));
        assert_eq!(reach(SocketAddr::from(([10, 0, 0, 1], port))), None);
        let v6 = SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), 8888);
        assert_eq!(
            reach(v6),
            Some(SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), 8888))
        );
        // Not held by the tree asked about: not its listener.
        assert!(!listening(&[Pid::from_raw(1)]).contains(&at));
    }

    #[test]
    fn a_proc_net_tcp6_address() {
        assert_eq!(
            parse_ip("00000000000000000000000001000000"),
            Some(IpAddr::V6(Ipv6Addr::LOCALHOST))
        );
        assert_eq!(
            parse_ip("00000000"),
            Some(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
        );
    }

    #[test]
    fn a_proc_net_tcp_line() {
        let line = "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 123456 1 0000000000000000 100 0 0 10 0";
        assert_eq!(
            parse_socket(line),
            Some(Socket {
                local_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
                local_port: 8080,
                remote_port: 0,
                state: LISTEN,
                inode: 123456,
                tx: 0,
                rx: 0,
            })
        );
    }
}
