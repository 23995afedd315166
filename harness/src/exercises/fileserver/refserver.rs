//! The reference server (from the `reference` crate), run in this process on a free port,
//! for the client checks: the student's client talks to a server known to be right.

use std::io;
use std::net::TcpListener;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::net::client::{Conn, FileProtocol};

pub struct RefServer {
    port: u16,
    stop: OwnedFd,
    thread: Option<JoinHandle<()>>,
    _stop_read: Arc<OwnedFd>,
}

impl RefServer {
    /// Starts serving `library` on 127.0.0.1 at a free port.
    pub fn start(library: &Path) -> io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
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
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The reason the server gives for a missing file, asked directly.
    pub fn reason_for_missing(&self, name: &str) -> String {
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], self.port));
        Conn::connect(addr, Instant::now() + Duration::from_secs(5))
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
