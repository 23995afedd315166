//! The line between the student's client and the student's server: a listener where the
//! client connects (in the client's network namespace), each connection passed on to the
//! server (in the server's) byte for byte, as it comes. The two programs run in sandboxes
//! of their own; the relay also counts the bytes each way, so a result counts only when the
//! data crossed the connection (whatever the protocol).

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::net::listen::unread_by_server;
use crate::supervise::isolation::{self, Sandbox};
use nix::unistd::Pid;

/// Bytes passed on each way so far.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Traffic {
    pub to_server: u64,
    pub to_client: u64,
}

impl Traffic {
    /// What passed since `before`.
    pub fn since(self, before: Traffic) -> Traffic {
        Traffic {
            to_server: self.to_server - before.to_server,
            to_client: self.to_client - before.to_client,
        }
    }
}

#[derive(Default)]
struct Counts {
    to_server: AtomicU64,
    to_client: AtomicU64,
    /// Bytes read from one side and not yet written to the other.
    in_flight: AtomicU64,
    /// The ports of each connection: the client's; the relay's own towards the server, and
    /// the server's.
    ports: Mutex<Vec<(u16, u16, u16)>>,
    /// What the server sent since [`Relay::capture`].
    captured: Capture,
}

/// What the server sent, read by read (a listing sent one name per send is told apart by
/// them), and its size: at most [`CAPTURE`] bytes, kept only while `on` (a download passes
/// uncopied).
#[derive(Default)]
struct Capture {
    on: AtomicBool,
    kept: Mutex<(Vec<Vec<u8>>, usize)>,
}

/// The most server bytes kept for [`Relay::captured`]: a listing, not a download.
const CAPTURE: usize = 256 << 10;

/// Where connections are passed on to: the server's address and sandbox (its network).
#[derive(Clone)]
pub struct Target {
    pub addr: SocketAddr,
    pub sandbox: Option<Arc<Sandbox>>,
}

pub struct Relay {
    port: u16,
    counts: Arc<Counts>,
    target: Arc<Mutex<Target>>,
    /// Closed to stop the accept loop.
    stop: Option<OwnedFd>,
    thread: Option<JoinHandle<()>>,
}

/// How long connecting to the server may take.
const CONNECT: Duration = Duration::from_secs(5);

impl Relay {
    /// Listens on 127.0.0.1:`port` (0: a free one) in the network of `client` (its
    /// sandbox), passing connections on to `target`.
    pub fn start(client: Option<&Arc<Sandbox>>, port: u16, target: Target) -> io::Result<Relay> {
        let listener = isolation::bind_in(client.map(|s| &**s), ([127, 0, 0, 1], port).into())?;
        let port = listener.local_addr()?.port();
        let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)?;
        let counts = Arc::new(Counts::default());
        let target = Arc::new(Mutex::new(target));
        let (c, t) = (counts.clone(), target.clone());
        let thread = std::thread::Builder::new()
            .name("pair-relay".into())
            .spawn(move || accept_loop(listener, r, c, t))?;
        Ok(Relay {
            port,
            counts,
            target,
            stop: Some(w),
            thread: Some(thread),
        })
    }

    /// The port the client is told.
    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn traffic(&self) -> Traffic {
        Traffic {
            to_server: self.counts.to_server.load(Ordering::SeqCst),
            to_client: self.counts.to_client.load(Ordering::SeqCst),
        }
    }

    /// Waits until everything the client sent has reached the server and the server has
    /// read it (or `deadline`): a course's protocol ends an upload with a marker the
    /// server must read on its own, so the next command waits for it, as a person at the
    /// keyboard would. `client` and `server` are processes in each side's network.
    pub fn settle(&self, client: Option<Pid>, server: Pid, deadline: Instant) {
        let settled = || {
            if self.counts.in_flight.load(Ordering::SeqCst) > 0 {
                return false;
            }
            let ports = self.counts.ports.lock().unwrap_or_else(|e| e.into_inner());
            ports.iter().all(|&(client_port, relay_port, server_port)| {
                let sent = client.map_or(Some(0), |c| unread_by_server(c, self.port, client_port));
                let passed = unread_by_server(server, server_port, relay_port);
                // A connection gone (None) has nothing left to deliver.
                sent.unwrap_or(0) == 0 && passed.unwrap_or(0) == 0
            })
        };
        crate::net::poll_until(deadline, settled);
    }

    /// Starts keeping what the server sends from now on (what was kept before is dropped).
    pub fn capture(&self) {
        let c = &self.counts.captured;
        *c.kept.lock().unwrap_or_else(|e| e.into_inner()) = (Vec::new(), 0);
        c.on.store(true, Ordering::SeqCst);
    }

    /// What the server sent since [`Relay::capture`], read by read; keeping stops here.
    pub fn captured(&self) -> Vec<Vec<u8>> {
        let c = &self.counts.captured;
        c.on.store(false, Ordering::SeqCst);
        let kept = c.kept.lock().unwrap_or_else(|e| e.into_inner());
        kept.0.clone()
    }

    /// New connections go to `target` (a server started again).
    pub fn retarget(&self, target: Target) {
        *self.target.lock().unwrap_or_else(|e| e.into_inner()) = target;
    }

    /// Stops accepting and cuts every connection.
    pub fn stop(mut self) {
        self.stop.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.stop.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Accepts until `stop` reports its end (the write end closed); then shuts every
/// connection down, which ends their pumps.
fn accept_loop(
    listener: TcpListener,
    stop: OwnedFd,
    counts: Arc<Counts>,
    target: Arc<Mutex<Target>>,
) {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    let mut open: Vec<TcpStream> = Vec::new();
    let mut pumps: Vec<JoinHandle<()>> = Vec::new();
    loop {
        let mut fds = [
            PollFd::new(listener.as_fd(), PollFlags::POLLIN),
            PollFd::new(stop.as_fd(), PollFlags::POLLIN),
        ];
        if poll(&mut fds, PollTimeout::NONE).is_err() {
            continue;
        }
        if fds[1].any().unwrap_or(true) {
            break;
        }
        let Ok((client, _)) = listener.accept() else {
            continue;
        };
        let to = target.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let Ok(server) = connect(&to) else {
            // The client sees its connection closed, as with no server listening.
            continue;
        };
        let _ = client.set_nodelay(true);
        let _ = server.set_nodelay(true);
        let (Ok(c2), Ok(s2)) = (client.try_clone(), server.try_clone()) else {
            continue;
        };
        if let (Ok(c), Ok(r)) = (client.peer_addr(), server.local_addr()) {
            let mut ports = counts.ports.lock().unwrap_or_else(|e| e.into_inner());
            ports.push((c.port(), r.port(), to.addr.port()));
        }
        open.extend(client.try_clone().ok());
        open.extend(server.try_clone().ok());
        let (up, down) = (counts.clone(), counts.clone());
        pumps.push(std::thread::spawn(move || {
            pump(client, server, &up.to_server, &up.in_flight, None)
        }));
        pumps.push(std::thread::spawn(move || {
            pump(
                s2,
                c2,
                &down.to_client,
                &down.in_flight,
                Some(&down.captured),
            )
        }));
    }
    for s in &open {
        let _ = s.shutdown(Shutdown::Both);
    }
    for p in pumps {
        let _ = p.join();
    }
}

/// Connects to the server, in its network.
fn connect(to: &Target) -> io::Result<TcpStream> {
    isolation::connect_in(to.sandbox.as_deref(), to.addr, Instant::now() + CONNECT)
}

/// Passes what `from` sends on to `to`, counted (and kept in `capture`, up to
/// [`CAPTURE`]) before it is written, so neither is ever behind what the other side got;
/// at the end of `from`, ends `to`'s direction.
fn pump(
    mut from: TcpStream,
    mut to: TcpStream,
    count: &AtomicU64,
    in_flight: &AtomicU64,
    capture: Option<&Capture>,
) {
    let mut buf = vec![0u8; 64 << 10];
    loop {
        match from.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                if let Some(c) = capture.filter(|c| c.on.load(Ordering::SeqCst)) {
                    let (pieces, size) = &mut *c.kept.lock().unwrap_or_else(|e| e.into_inner());
                    let take = n.min(CAPTURE - *size);
                    if take > 0 {
                        pieces.push(buf[..take].to_vec());
                        *size += take;
                    }
                }
                count.fetch_add(n as u64, Ordering::SeqCst);
                in_flight.fetch_add(n as u64, Ordering::SeqCst);
                let written = to.write_all(&buf[..n]);
                in_flight.fetch_sub(n as u64, Ordering::SeqCst);
                if written.is_err() {
                    // The other side is gone: so is this connection.
                    let _ = from.shutdown(Shutdown::Both);
                    return;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => {
                let _ = to.shutdown(Shutdown::Both);
                return;
            }
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_pass_both_ways_and_are_counted() {
        let server = TcpListener::bind(("127.0.0.1", 0)).unwrap();
        let target = Target {
            addr: server.local_addr().unwrap(),
            sandbox: None,
        };
        let relay = Relay::start(None, 0, target).unwrap();
        let echo = std::thread::spawn(move || {
            let (mut c, _) = server.accept().unwrap();
            let mut got = Vec::new();
            c.read_to_end(&mut got).unwrap();
            c.write_all(&got).unwrap();
            c.write_all(b"!").unwrap();
        });
        let mut c = TcpStream::connect(("127.0.0.1", relay.port())).unwrap();
        c.write_all(b"hello").unwrap();
        c.shutdown(Shutdown::Write).unwrap();
        let mut back = Vec::new();
        c.read_to_end(&mut back).unwrap();
        echo.join().unwrap();
        assert_eq!(back, b"hello!");
        assert_eq!(
            relay.traffic(),
            Traffic {
                to_server: 5,
                to_client: 6
            }
        );
        relay.stop();
    }

    /// `settle` returns once the server has read what the client sent, not before: until
    /// then it waits out its deadline.
    #[test]
    fn settling_waits_until_the_server_has_read() {
        let server = TcpListener::bind(("127.0.0.1", 0)).unwrap();
        let target = Target {
            addr: server.local_addr().unwrap(),
            sandbox: None,
        };
        let relay = Relay::start(None, 0, target).unwrap();
        let (go, read) = std::sync::mpsc::channel::<()>();
        let (done, finished) = std::sync::mpsc::channel::<Vec<u8>>();
        let reader = std::thread::spawn(move || {
            let (mut c, _) = server.accept().unwrap();
            read.recv().unwrap();
            let mut got = vec![0u8; 3];
            c.read_exact(&mut got).unwrap();
            done.send(got).unwrap();
            // Held open until the test ends, so the connection stays in the table.
            let _ = read.recv();
        });
        let mut c = TcpStream::connect(("127.0.0.1", relay.port())).unwrap();
        c.write_all(b"abc").unwrap();
        let me = Pid::from_raw(std::process::id() as i32);
        // Until the three bytes have crossed the relay, the server has not read them.
        let crossed = Instant::now() + Duration::from_secs(10);
        while relay.traffic().to_server < 3 && Instant::now() < crossed {
            relay.settle(Some(me), me, Instant::now() + Duration::from_millis(10));
        }
        let t0 = Instant::now();
        relay.settle(Some(me), me, t0 + Duration::from_millis(300));
        assert!(
            t0.elapsed() >= Duration::from_millis(300),
            "settled while the server had not read"
        );
        go.send(()).unwrap();
        assert_eq!(finished.recv().unwrap(), b"abc");
        let t1 = Instant::now();
        relay.settle(Some(me), me, t1 + Duration::from_secs(20));
        assert!(
            t1.elapsed() < Duration::from_secs(20),
            "did not settle once the server had read"
        );
        drop(go);
        drop(c);
        relay.stop();
        reader.join().unwrap();
    }
}
