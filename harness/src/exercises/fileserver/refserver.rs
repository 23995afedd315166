//! The reference server (from the `reference` crate), run in this process on a free port,
//! for the client checks: the student's client talks to a server known to be right.

use std::io;
use std::net::TcpListener;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::net::client::{Connector, FileProtocol};
use crate::supervise::isolation::Sandbox;

pub struct RefServer {
    port: u16,
    stop: OwnedFd,
    thread: Option<JoinHandle<()>>,
    _stop_read: Arc<OwnedFd>,
    connector: Connector,
}

impl RefServer {
    /// Starts serving `library` on 127.0.0.1 at a free port, in the grading's network
    /// namespace when there is one (so a sandboxed client can reach it).
    pub fn start(library: &Path, sandbox: Option<&Arc<Sandbox>>) -> io::Result<Self> {
        let bind = || TcpListener::bind("127.0.0.1:0");
        let listener = match sandbox.and_then(|s| s.netns()) {
            Some(ns) => ns.enter(bind)??,
            None => bind()?,
        };
        let connector = Connector {
            addr: listener.local_addr()?,
            sandbox: sandbox.cloned(),
        };
        listener.set_nonblocking(true)?;
        let port = listener.local_addr()?.port();
        let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)?;
        let r = Arc::new(r);
        let r2 = r.clone();
        let lib = Arc::new(PathBuf::from(library));
        let thread = std::thread::Builder::new()
            .name("reference-server".into())
            .spawn(move || reference::fileserver::accept_loop(&listener, r2.as_raw_fd(), &lib))?;
        Ok(RefServer {
            port,
            stop: w,
            thread: Some(thread),
            _stop_read: r,
            connector,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
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

    /// Stops accepting and waits for the accept loop to end.
    pub fn stop(mut self) {
        let _ = nix::unistd::write(&self.stop, &[1u8]);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
