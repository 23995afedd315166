//! The reference server (from the `reference` crate), run in this process on a free port,
//! for the client checks: the student's client talks to a server known to be right, and
//! the server keeps a log of the requests it got, so a client that prints the expected
//! output without asking the server earns nothing. A course whose protocol is a dialect
//! gets a reference server speaking that dialect (`net::dialect_server`), with the same log.

use std::io;
use std::net::TcpListener;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::net::client::{Connector, FileProtocol};
use crate::net::dialect::Dialect;
use crate::net::dialect_server;
use crate::supervise::isolation::Sandbox;

/// At most this many requests are logged (a client looping on requests stays bounded).
const LOG_CAP: usize = 10_000;

/// The requests the server got, in order, as protocol lines (`L`, `G name`, `P size name`).
#[derive(Default)]
struct RequestLog {
    lines: Vec<String>,
    /// Requests not logged once the log was full.
    dropped: u64,
    /// Uploads begun and not ended (a dialect's server).
    uploading: usize,
}

pub struct RefServer {
    port: u16,
    log: Arc<Mutex<RequestLog>>,
    /// Told of every request logged.
    logged: Arc<Condvar>,
    stop: OwnedFd,
    thread: Option<JoinHandle<()>>,
    _stop_read: Arc<OwnedFd>,
    connector: Connector,
    /// The protocol it speaks (the exact one: the `reference` crate's server).
    dialect: Arc<Dialect>,
    /// The client's pid, whose network namespace shows how much of a reply it has read.
    client_pid: Arc<AtomicI32>,
    /// The library served (a numbered listing's numbers come from it).
    library: PathBuf,
}

impl RefServer {
    /// Starts serving `library` in `dialect` on 127.0.0.1 at `port` (0: a free one), in the
    /// grading's network namespace when there is one (so a sandboxed client can reach it,
    /// and a port a course's client hard-codes is free).
    pub fn start(
        library: &Path,
        port: u16,
        sandbox: Option<&Arc<Sandbox>>,
        dialect: Arc<Dialect>,
    ) -> io::Result<Self> {
        let at = ([127, 0, 0, 1], port).into();
        let listener: TcpListener =
            crate::supervise::isolation::bind_in(sandbox.map(|s| &**s), at)?;
        let connector = Connector {
            dialect: None,
            server_pid: None,
            unanswered: None,
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
        let logged = Arc::new(Condvar::new());
        let tell = logged.clone();
        let observer: reference::fileserver::Observer = Arc::new(move |r| {
            let mut log = sink.lock().unwrap_or_else(|e| e.into_inner());
            if log.lines.len() < LOG_CAP {
                log.lines.push(request_line(r));
            } else {
                log.dropped += 1;
            }
            tell.notify_all();
        });
        let client_pid = Arc::new(AtomicI32::new(0));
        let serve_one = match dialect.is_exact() {
            true => None,
            false => Some(dialect_server::handler(
                dialect.clone(),
                library.to_path_buf(),
                observer.clone(),
                unread_by_client(client_pid.clone()),
                uploads_counted(log.clone(), logged.clone()),
            )),
        };
        let thread = std::thread::Builder::new()
            .name("reference-server".into())
            .spawn(move || match serve_one {
                Some(serve_one) => {
                    reference::fileserver::accept_loop_with(&listener, r2.as_raw_fd(), serve_one)
                }
                None => reference::fileserver::accept_loop_observed(
                    &listener,
                    r2.as_raw_fd(),
                    &lib,
                    Some(observer),
                ),
            })?;
        Ok(RefServer {
            port,
            log,
            logged,
            stop: w,
            thread: Some(thread),
            _stop_read: r,
            connector,
            dialect,
            client_pid,
            library: library.to_path_buf(),
        })
    }

    /// The client now at work (`pid`): its sockets show what it has read.
    pub fn watch_client(&self, pid: i32) {
        self.client_pid.store(pid, Ordering::Relaxed);
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

    /// The reason the server gives for a missing file, asked directly; none in a dialect
    /// (a course's refusal is a word, and its clients print their own message).
    pub fn reason_for_missing(&self, name: &str) -> String {
        if !self.dialect.is_exact() {
            return String::new();
        }
        self.connector
            .connect(Instant::now() + Duration::from_secs(5))
            .ok()
            .and_then(|mut c| c.get(name, &mut |_| Ok(())).ok())
            .and_then(|r| r.err())
            .unwrap_or_default()
    }

    /// The end markers of the data this server frames by marker: a file uploaded to it
    /// holds none of them.
    pub fn data_markers(&self) -> crate::net::transfer::Markers {
        self.dialect.data_markers()
    }

    /// Whether a download names the file by its number in the listing.
    pub fn numbers_downloads(&self) -> bool {
        self.dialect.numbered_get()
    }

    /// The number the server's listing gives `name` now, or (`Err`) one past the
    /// listing's end when it is not listed.
    pub fn number_of(&self, name: &str) -> Result<usize, usize> {
        let names = reference::fileserver::library_names(&self.library).unwrap_or_default();
        match names.iter().position(|n| n == name) {
            Some(i) => Ok(i + 1),
            None => Err(names.len() + 1),
        }
    }

    /// How a logged request (`L`, `G name`, `P size name`, `Q`) reads in the protocol the
    /// server speaks, for a report.
    pub fn shown(&self, request: &str) -> String {
        let d = &self.dialect;
        match request.split_once(' ') {
            None if request == "L" => d.show_list(),
            None if request == "Q" => d.show_quit(),
            Some(("G", name)) if d.numbered_get() => {
                // A download by number shows the number the listing gives the file.
                let number = match self.number_of(name) {
                    Ok(n) => Some((n, true)),
                    Err(_) => name.parse().ok().map(|n| (n, false)),
                };
                d.show_get_sent(name, number)
            }
            Some(("G", name)) => d.show_get(name),
            Some(("P", rest)) => match rest.split_once(' ') {
                Some((size, name)) => d.show_put(name, size.parse().unwrap_or(0)),
                None => request.to_string(),
            },
            _ => request.to_string(),
        }
    }

    /// Waits until no upload is under way (or `deadline`): an upload in a dialect may end
    /// with a marker and no reply, so its client can prompt again before the server has
    /// stored the file. A client that never began one does not wait.
    pub fn await_uploads(&self, deadline: Instant) {
        let mut log = self.log.lock().unwrap_or_else(|e| e.into_inner());
        while log.uploading > 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            log = match self.logged.wait_timeout(log, left) {
                Ok((guard, _)) => guard,
                Err(e) => e.into_inner().0,
            };
        }
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

/// How much of what a connection sent its peer, the client with `pid` (0: none yet), has
/// not read: the connection's own send queue and the client's receive queue, as the
/// client's network namespace shows them.
fn unread_by_client(pid: Arc<AtomicI32>) -> dialect_server::Unread {
    Arc::new(move |stream: &std::net::TcpStream| {
        let pid = match pid.load(Ordering::Relaxed) {
            0 => return None,
            p => nix::unistd::Pid::from_raw(p),
        };
        let (ours, theirs) = (stream.local_addr().ok()?, stream.peer_addr().ok()?);
        // The client's socket plays the "server" part of `unread_by_server`: what it has
        // not read of what this connection sent.
        crate::net::listen::unread_by_server(pid, theirs.port(), ours.port())
    })
}

/// Counts a dialect server's uploads under way in `log`, telling `logged` of each end.
fn uploads_counted(log: Arc<Mutex<RequestLog>>, logged: Arc<Condvar>) -> dialect_server::Uploads {
    Arc::new(move |begins: bool| {
        let mut log = log.lock().unwrap_or_else(|e| e.into_inner());
        match begins {
            true => log.uploading += 1,
            false => log.uploading = log.uploading.saturating_sub(1),
        }
        logged.notify_all();
    })
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::dialect::Dialect;

    fn dialect(name: &str) -> Arc<Dialect> {
        crate::exercises::fileserver::dialect::resolve(&name.into(), "test").unwrap()
    }

    #[test]
    fn logged_requests_are_shown_in_the_server_s_protocol() {
        let dir = tempfile::tempdir().unwrap();
        for (name, request, shown) in [
            ("exact", "P 3 my notes.txt", "P 3 my notes.txt"),
            ("exact", "L", "L"),
            ("words", "G a.txt", "DOWNLOAD a.txt"),
            ("ftp-words", "Q", "EXIT"),
            ("length", "P 3 a.txt", "U + 3 a.txt"),
            ("numbered", "G 11", "G + 11 (11 is not listed)"),
        ] {
            let server = RefServer::start(dir.path(), 0, None, dialect(name)).unwrap();
            assert_eq!(server.shown(request), shown, "{name}");
            server.stop();
        }
    }

    /// The grader's own client of each shipped dialect (`net::legacy`) and the reference
    /// server speaking it agree on every command: two sides written apart, one protocol.
    #[test]
    fn every_shipped_dialect_is_served_as_the_grader_speaks_it() {
        let text = b"hello\nworld\n".to_vec();
        // Every byte value, with the markers of every dialect inside.
        let mut binary: Vec<u8> = (0..=255u8).chain((0..=255u8).rev()).collect();
        binary.extend_from_slice(b"##--#,\r\n");
        binary.extend((0..=255u8).cycle().take(3000));
        for (name, _) in crate::exercises::fileserver::dialect::SHIPPED {
            let d = dialect(name);
            let dir = tempfile::tempdir().unwrap();
            std::fs::write(dir.path().join("a b.txt"), &text).unwrap();
            std::fs::write(dir.path().join("bin.bin"), &binary).unwrap();
            std::fs::write(dir.path().join("empty.txt"), b"").unwrap();
            std::fs::write(dir.path().join(".hidden"), b"x").unwrap();
            let server = RefServer::start(dir.path(), 0, None, d.clone()).unwrap();
            let me = std::process::id() as i32;
            server.watch_client(me);
            let connector = Connector {
                addr: ([127, 0, 0, 1], server.port()).into(),
                sandbox: None,
                dialect: (!d.is_exact()).then(|| d.clone()),
                server_pid: Some(me),
                unanswered: None,
            };
            let mut c = connector
                .connect(Instant::now() + Duration::from_secs(20))
                .unwrap();
            let listed = c.list().unwrap().unwrap();
            assert_eq!(
                listed,
                [
                    b"a b.txt".to_vec(),
                    b"bin.bin".to_vec(),
                    b"empty.txt".to_vec()
                ],
                "{name}: list"
            );
            for (file, want) in [
                ("a b.txt", &text),
                ("bin.bin", &binary),
                ("empty.txt", &vec![]),
            ] {
                let mut got = Vec::new();
                c.expect_len(want.len() as u64);
                let r = c.get(file, &mut |b| {
                    got.extend_from_slice(b);
                    Ok(())
                });
                assert_eq!(r.unwrap(), Ok(want.len() as u64), "{name}: get {file}");
                assert_eq!(&got, want, "{name}: get {file}");
            }
            let refused = c.get("missing.txt", &mut |_| Ok(())).unwrap();
            assert!(refused.is_err(), "{name}: get missing: {refused:?}");
            let r = c.put("up.bin", binary.len() as u64, &mut &binary[..]);
            assert_eq!(r.unwrap(), Ok(()), "{name}: put");
            // The server stores before it answers, or (no final reply) once the data ends:
            // the next command's answer comes after the store.
            assert_eq!(
                c.list().unwrap().unwrap().len(),
                4,
                "{name}: list after put"
            );
            assert_eq!(
                std::fs::read(dir.path().join("up.bin")).unwrap(),
                binary,
                "{name}: stored"
            );
            assert!(c.quit().unwrap(), "{name}: quit closes");
            let log = server.requests_since(0);
            assert!(
                log.contains(&format!("P {} up.bin", binary.len())),
                "{name}: {log:?}"
            );
            assert!(log.contains(&"G a b.txt".to_string()), "{name}: {log:?}");
            server.stop();
        }
    }
}
