//! The reference server (from the `reference` crate), run in this process on a free port,
//! for the client checks: the student's client talks to a server known to be right, and
//! the server keeps a log of the requests it got, so a client that prints the expected
//! output without asking the server earns nothing.

use std::io;
use std::net::TcpListener;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::net::client::{Connector, FileProtocol};
use crate::supervise::isolation::Sandbox;

/// At most this many requests are logged (a client looping on requests stays bounded).
const LOG_CAP: usize = 10_000;

/// The requests the server got, in order, as protocol lines (`L`, `G name`, `P size name`).
#[derive(Default)]
struct RequestLog {
    lines: Vec<String>,
    /// Requests not logged once the log was full.
    dropped: u64,
}

pub struct RefServer {
    port: u16,
    log: Arc<Mutex<RequestLog>>,
    stop: OwnedFd,
    thread: Option<JoinHandle<()>>,
    _stop_read: Arc<OwnedFd>,
    connector: Connector,
}

impl RefServer {
    /// Starts serving `library` on 127.0.0.1 at `port` (0: a free one), in the grading's
    /// network namespace when there is one (so a sandboxed client can reach it, and a port a
    /// course's client hard-codes is free).
    pub fn start(library: &Path, port: u16, sandbox: Option<&Arc<Sandbox>>) -> io::Result<Self> {
        let at = ([127, 0, 0, 1], port).into();
        let listener: TcpListener =
            crate::supervise::isolation::bind_in(sandbox.map(|s| &**s), at)?;
        let connector = Connector {
            dialect: None,
            server_pid: None,
            addr: listener.local_addr()?,
            sandbox: sandbox.cloned(),
        };
        listener.set_nonblocking(true)?;
        let port = listener.local_addr()?.port();
        let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)?;
        let r = Arc::new(r);
        let r2 = r.clone();
        let lib = Arc::new(PathBuf::from(library));
        let log = Arc::new(Mutex::new(RequestLog::default()));
        let sink = log.clone();
        let observer: reference::fileserver::Observer = Arc::new(move |r| {
            let mut log = sink.lock().unwrap_or_else(|e| e.into_inner());
            if log.lines.len() < LOG_CAP {
                log.lines.push(request_line(r));
            } else {
                log.dropped += 1;
            }
        });
        let thread = std::thread::Builder::new()
            .name("reference-server".into())
            .spawn(move || {
                reference::fileserver::accept_loop_observed(
                    &listener,
                    r2.as_raw_fd(),
                    &lib,
                    Some(observer),
                )
            })?;
        Ok(RefServer {
            port,
            log,
            stop: w,
            thread: Some(thread),
            _stop_read: r,
            connector,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// A mark in the request log, for [`RefServer::requests_since`].
    pub fn log_mark(&self) -> usize {
        let log = self.log.lock().unwrap_or_else(|e| e.into_inner());
        log.lines.len()
    }

    /// The requests received since `mark` (each logged before it was answered).
    pub fn requests_since(&self, mark: usize) -> Vec<String> {
        let log = self.log.lock().unwrap_or_else(|e| e.into_inner());
        log.lines.get(mark..).unwrap_or_default().to_vec()
    }

    /// The reason the server gives for a missing file, asked directly.
    pub fn reason_for_missing(&self, name: &str) -> String {
        self.connector
            .connect(Instant::now() + Duration::from_secs(5))
            .ok()
            .and_then(|mut c| c.get(name, &mut |_| Ok(())).ok())
            .and_then(|r| r.err())
            .unwrap_or_default()
    }

    /// Whether the log filled up (requests after that are not seen).
    pub fn log_full(&self) -> bool {
        self.log.lock().unwrap_or_else(|e| e.into_inner()).dropped > 0
    }

    /// Stops accepting and waits for the accept loop to end.
    pub fn stop(mut self) {
        let _ = nix::unistd::write(&self.stop, &[1u8]);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A request as its protocol line.
fn request_line(r: &reference::fileproto::Request) -> String {
    use reference::fileproto::Request;
    match r {
        Request::List => "L".into(),
        Request::Get(name) => format!("G {name}"),
        Request::Put { size, name } => format!("P {size} {name}"),
        Request::Quit => "Q".into(),
    }
}
