//! The grader's side of the file protocol (`L`, `G`, `P`, `Q`), behind the small
//! [`FileProtocol`] trait. A connection speaks a [`Dialect`]: the exact protocol here, the
//! course's legacy ones (other words, pauses between messages, `##` end markers) in
//! `legacy`, so the checks do not change with the protocol.
//!
//! Every read has a deadline (the socket's read timeout is set to what is left of it), a
//! reply header is read through a 4 KiB cap, and a header announcing a huge size allocates
//! nothing: data is streamed through a fixed buffer into the caller's sink.

use crate::tr;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::answer::{reply_to, Answerer, Unanswered};
use super::dialect::Dialect;
use crate::supervise::ending::{self, Ending};
use crate::supervise::events::{self, Recorder, What};
use crate::supervise::isolation;

/// How often a read waiting for a server's answer looks whether the server can still move.
const LOOK_EVERY: Duration = Duration::from_millis(10);

/// The longest reply header accepted.
pub const MAX_HEADER: usize = 4096;
/// The most names a listing may announce before it is refused as absurd.
pub const MAX_LISTED: u64 = 100_000;

/// What went wrong talking to a server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProtoError {
    /// The deadline passed while waiting for `what`.
    Timeout(String),
    /// The server closed the connection while `what` was expected.
    Closed(String),
    /// The reply does not follow the protocol.
    Malformed(String),
    /// Connecting or another socket error.
    Io(String),
    /// While waiting for `what`, the server could no longer move: every process of it
    /// waited for an outside event with nothing on its way (no answer can come).
    Stuck(String),
    /// `what` went unanswered in check `first` of this grading: not waited for again.
    NeverAnswered { what: String, first: String },
}

impl std::fmt::Display for ProtoError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProtoError::Timeout(w) => f.write_str(&tr!("no answer in time while waiting for {w}", w = w)),
            ProtoError::Closed(w) => {
                f.write_str(&tr!("the server closed the connection while waiting for {w}", w = w))
            }
            ProtoError::Malformed(w) => f.write_str(&tr!("reply not in the protocol: {w}", w = w)),
            ProtoError::Io(w) => write!(f, "{w}"),
            ProtoError::Stuck(w) => f.write_str(&tr!("no answer while waiting for {w}: the server waits for more input with nothing on its way, so none can come", w = w)),
            ProtoError::NeverAnswered { what, first } => f.write_str(&tr!("no answer: {what} never came in `{first}` (see there), not waited for again", what = what, first = first)),
        }
    }
}

/// A reply header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Header {
    Ok(Option<u64>),
    Err(String),
}

/// The operations the checks need, whatever the wire format.
pub trait FileProtocol {
    fn list(&mut self) -> Result<Result<Vec<Vec<u8>>, String>, ProtoError>;
    /// Downloads `name` into `sink`; `Ok(Err(reason))` is a refusal.
    fn get(
        &mut self,
        name: &str,
        sink: &mut dyn FnMut(&[u8]) -> io::Result<()>,
    ) -> Result<Result<u64, String>, ProtoError>;
    /// Uploads `size` bytes from `source` as `name`; `Ok(Err(reason))` is a refusal (before
    /// or after the data).
    fn put(
        &mut self,
        name: &str,
        size: u64,
        source: &mut dyn Read,
    ) -> Result<Result<(), String>, ProtoError>;
    /// Ends the session; true if the server then closed the connection.
    fn quit(&mut self) -> Result<bool, ProtoError>;
}

/// Where a server is, and how to reach it: from the grader's own network, or from inside
/// the grading's network namespace (a socket keeps the namespace it was made in).
#[derive(Clone)]
pub struct Connector {
    pub addr: SocketAddr,
    pub sandbox: Option<std::sync::Arc<crate::supervise::isolation::Sandbox>>,
    /// The protocol spoken (`None`: the exact one).
    pub dialect: Option<Arc<Dialect>>,
    /// The server's pid: its network namespace shows when it has read what was sent, its
    /// processes whether it can still answer.
    pub server_pid: Option<i32>,
    /// The requests the grading's server left unanswered so far (shared).
    pub unanswered: Option<Arc<Unanswered>>,
}

impl Connector {
    /// Reaches `addr` (inside `sandbox`'s network, when given) with the exact protocol.
    pub fn new(
        addr: SocketAddr,
        sandbox: Option<std::sync::Arc<crate::supervise::isolation::Sandbox>>,
    ) -> Self {
        Connector {
            addr,
            sandbox,
            dialect: None,
            server_pid: None,
            unanswered: None,
        }
    }

    pub fn connect(&self, deadline: Instant) -> Result<Conn, ProtoError> {
        let stream = isolation::connect_in(self.sandbox.as_deref(), self.addr, deadline)
            .map_err(|e| ProtoError::Io(tr!("cannot connect: {e}", e = e)))?;
        let mut conn = Conn::over(stream, deadline);
        conn.unanswered = self.unanswered.clone();
        conn.answerer = self
            .server_pid
            .map(|p| Answerer::new(nix::unistd::Pid::from_raw(p)));
        Ok(match &self.dialect {
            Some(d) => conn.speaking(d.clone(), self.server_pid),
            None => conn,
        })
    }
}

/// One connection speaking the exercise's protocol.
pub struct Conn {
    pub(super) stream: TcpStream,
    pub(super) deadline: Instant,
    /// Bytes read past a header (kept for the data that follows).
    pub(super) pending: Vec<u8>,
    /// The protocol spoken; `None` is the exact one.
    pub(super) dialect: Option<Arc<Dialect>>,
    /// A process in the server's network namespace (see [`Connector::server_pid`]).
    pub(super) server_pid: Option<i32>,
    /// The size the next download should have, when the caller knows it: a download ended
    /// by a marker ends at once when it has that size.
    pub(super) expect: Option<u64>,
    /// The number a numbered dialect's last download asked for, and whether the listing
    /// held the name (see [`Conn::shown_get`]).
    pub(super) number: Option<(usize, bool)>,
    /// The server, looked at while a read waits: whether it can still answer.
    answerer: Option<Answerer>,
    /// The requests the grading's server left unanswered (see [`Unanswered`]).
    unanswered: Option<Arc<Unanswered>>,
    /// Whether a byte came since the last request was sent.
    replied: bool,
    /// The grading's event log and this connection's number in it, when there is one.
    log: Option<(Recorder, u32)>,
}

impl Conn {
    pub fn connect(addr: SocketAddr, deadline: Instant) -> Result<Self, ProtoError> {
        let left = deadline
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(1));
        let stream = TcpStream::connect_timeout(&addr, left)
            .map_err(|e| ProtoError::Io(tr!("cannot connect: {e}", e = e)))?;
        Ok(Conn::over(stream, deadline))
    }

    /// The exact protocol over a connected `stream`.
    fn over(stream: TcpStream, deadline: Instant) -> Self {
        let _ = stream.set_nodelay(true);
        Conn {
            stream,
            deadline,
            pending: Vec::new(),
            dialect: None,
            server_pid: None,
            expect: None,
            number: None,
            answerer: None,
            unanswered: None,
            replied: false,
            log: events::current().map(|r| {
                let n = r.connection();
                (r, n)
            }),
        }
    }

    /// Tells the event log what went over the connection.
    pub(super) fn log_traffic(&self, bytes: &[u8], sent: bool, framed: bool) {
        if let Some((r, n)) = &self.log {
            r.traffic(*n, bytes, sent, framed);
        }
    }

    /// This connection speaking `dialect` (the exact protocol's stays on its own path);
    /// `server_pid` lets it see when the server has read a message.
    pub fn speaking(mut self, dialect: Arc<Dialect>, server_pid: Option<i32>) -> Self {
        self.dialect = (!dialect.is_exact() || !dialect.speaks_exact_words()).then_some(dialect);
        self.server_pid = server_pid;
        self
    }

    /// The size the next download should have (see [`Conn::expect`]).
    pub fn expect_len(&mut self, len: u64) {
        self.expect = Some(len);
    }

    /// Moves the deadline of the following operations.
    pub fn set_deadline(&mut self, deadline: Instant) {
        self.deadline = deadline;
    }

    /// The raw stream, for checks that misbehave on purpose (stall, vanish).
    pub fn stream(&mut self) -> &mut TcpStream {
        &mut self.stream
    }

    pub(super) fn arm(&self, what: &str) -> Result<(), ProtoError> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(ProtoError::Timeout(what.into()));
        }
        self.stream
            .set_read_timeout(Some(left))
            .map_err(|e| ProtoError::Io(e.to_string()))
    }

    /// Like [`Conn::arm`], for at most one slice when the server is looked at meanwhile.
    fn arm_slice(&mut self, what: &str) -> Result<(), ProtoError> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            // Not remembered as unanswered: a server busy with another client (one at a
            // time) answers later; only one that can no longer move never will.
            ending::note(Ending::Deadline);
            return Err(ProtoError::Timeout(what.into()));
        }
        let slice = match self.answerer {
            Some(_) => left.min(LOOK_EVERY),
            None => left,
        };
        self.stream
            .set_read_timeout(Some(slice))
            .map_err(|e| ProtoError::Io(e.to_string()))
    }

    /// After a slice without data: whether the server can no longer answer (noted, and
    /// remembered when it was a request's first reply).
    fn stuck(&mut self, what: &str) -> bool {
        let Some(a) = self.answerer.as_mut() else {
            return false;
        };
        if !a.cannot_answer() {
            return false;
        }
        ending::note(Ending::Stuck);
        if !self.replied {
            if let Some(u) = &self.unanswered {
                u.note(what);
            }
        }
        true
    }

    fn read_some(&mut self, buf: &mut [u8], what: &str) -> Result<usize, ProtoError> {
        if !self.pending.is_empty() {
            let n = buf.len().min(self.pending.len());
            buf[..n].copy_from_slice(&self.pending[..n]);
            self.pending.drain(..n);
            return Ok(n);
        }
        self.read_stream(buf, what)
    }

    /// One read from the socket within the deadline, retried when interrupted.
    pub(super) fn read_stream(&mut self, buf: &mut [u8], what: &str) -> Result<usize, ProtoError> {
        if !self.replied {
            if let Some(first) = self.unanswered.as_ref().and_then(|u| u.first(what)) {
                ending::note(Ending::Stuck);
                return Err(ProtoError::NeverAnswered {
                    what: what.into(),
                    first,
                });
            }
        }
        loop {
            self.arm_slice(what)?;
            match self.stream.read(buf) {
                Ok(n) => {
                    self.replied |= n > 0;
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    if self.stuck(what) {
                        return Err(ProtoError::Stuck(what.into()));
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::ConnectionReset => {
                    return Err(ProtoError::Closed(what.into()))
                }
                Err(e) => return Err(ProtoError::Io(e.to_string())),
            }
        }
    }

    /// Sends bytes, within the deadline.
    pub fn send(&mut self, bytes: &[u8]) -> Result<(), ProtoError> {
        self.log_traffic(bytes, true, true);
        self.write_within_deadline(bytes)
    }

    /// Sends one whole message of a dialect whose messages are sends (a command, or a
    /// two-step command's argument): the event log shows it as a request.
    pub fn send_message(&mut self, bytes: &[u8]) -> Result<(), ProtoError> {
        if let Some((r, n)) = &self.log {
            r.sent_message(*n, bytes);
        }
        self.write_within_deadline(bytes)
    }

    fn write_within_deadline(&mut self, bytes: &[u8]) -> Result<(), ProtoError> {
        self.replied = false;
        let left = self
            .deadline
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(1));
        let _ = self.stream.set_write_timeout(Some(left));
        self.stream.write_all(bytes).map_err(|e| match e.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => {
                ProtoError::Timeout(tr!("the server to take the data").into())
            }
            io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset => {
                ProtoError::Closed(tr!("the server to take the data").into())
            }
            _ => ProtoError::Io(e.to_string()),
        })
    }

    /// Reads one line (without its `\n`), at most [`MAX_HEADER`] bytes.
    pub fn read_line(&mut self, what: &str) -> Result<Vec<u8>, ProtoError> {
        let mut line = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            if let Some(i) = self.pending.iter().position(|b| *b == b'\n') {
                line.extend_from_slice(&self.pending[..i]);
                self.pending.drain(..=i);
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                let mut shown = line.clone();
                shown.push(b'\n');
                self.log_traffic(&shown, false, true);
                return Ok(line);
            }
            line.append(&mut self.pending);
            if line.len() > MAX_HEADER {
                return Err(ProtoError::Malformed(tr!(
                    "{what}: a line longer than {max} bytes",
                    what = what,
                    max = MAX_HEADER
                )));
            }
            let n = self.read_stream(&mut buf, what)?;
            if n == 0 {
                return Err(ProtoError::Closed(what.into()));
            }
            self.pending.extend_from_slice(&buf[..n]);
        }
    }

    /// Reads a reply header: `OK`, `OK <n>` or `ERR <reason>`.
    pub fn read_header(&mut self, what: &str) -> Result<Header, ProtoError> {
        let line = self.read_line(what)?;
        let text = String::from_utf8_lossy(&line).into_owned();
        if let Some(reason) = text.strip_prefix("ERR") {
            return Ok(Header::Err(reason.trim().to_string()));
        }
        let Some(rest) = text.strip_prefix("OK") else {
            return Err(ProtoError::Malformed(tr!(
                "expected OK or ERR, got \"{line}\"",
                line = crate::text::escape::one_line(&line)
            )));
        };
        let rest = rest.trim();
        if rest.is_empty() {
            return Ok(Header::Ok(None));
        }
        match rest.parse::<u64>() {
            Ok(n) => Ok(Header::Ok(Some(n))),
            Err(_) => Err(ProtoError::Malformed(tr!(
                "expected a size after OK, got \"{line}\"",
                line = crate::text::escape::one_line(&line)
            ))),
        }
    }

    /// Sends one request line and reads the header of the reply.
    pub fn request(&mut self, line: &str, what: &str) -> Result<Header, ProtoError> {
        let mut bytes = line.as_bytes().to_vec();
        bytes.push(b'\n');
        self.send(&bytes)?;
        self.read_header(what)
    }

    /// Reads exactly `n` bytes into `sink` through a fixed buffer.
    pub fn read_exact_into(
        &mut self,
        n: u64,
        what: &str,
        sink: &mut dyn FnMut(&[u8]) -> io::Result<()>,
    ) -> Result<(), ProtoError> {
        let mut left = n;
        let mut buf = vec![0u8; 64 * 1024];
        while left > 0 {
            let want = buf.len().min(left as usize);
            let k = self.read_some(&mut buf[..want], what)?;
            if k == 0 {
                return Err(ProtoError::Closed(tr!(
                    "{what} ({left} of {n} bytes received)",
                    what = what,
                    left = n - left,
                    n = n
                )));
            }
            self.log_traffic(&buf[..k], false, false);
            sink(&buf[..k]).map_err(|e| ProtoError::Io(e.to_string()))?;
            left -= k as u64;
        }
        Ok(())
    }

    /// Sends the command that starts an upload of `size` bytes as `name` and reads the first
    /// reply (`Ok(Err(reason))`: anything but the plain acceptance, `OK <n>` included); the
    /// data is the caller's to send, or not.
    pub fn begin_put(&mut self, name: &str, size: u64) -> Result<Result<(), String>, ProtoError> {
        if let Some(d) = self.dialect.clone() {
            return super::legacy::begin_put(self, &d, name, size);
        }
        match self.request(&format!("P {size} {name}"), &reply_to("P"))? {
            Header::Ok(None) => Ok(Ok(())),
            Header::Err(r) => Ok(Err(r)),
            Header::Ok(Some(n)) => Ok(Err(format!("OK {n}"))),
        }
    }

    /// Sends the command that starts a download of `name` and reads the reply that comes
    /// before the data; the data is then on [`Conn::stream`].
    pub fn begin_get(&mut self, name: &str) -> Result<Result<(), String>, ProtoError> {
        if let Some(d) = self.dialect.clone() {
            return super::legacy::begin_get(self, &d, name);
        }
        match self.request(&format!("G {name}"), &reply_to("G"))? {
            Header::Ok(Some(_)) => Ok(Ok(())),
            Header::Err(r) => Ok(Err(r)),
            Header::Ok(None) => Err(ProtoError::Malformed(
                tr!("G must be answered with OK <size>").into(),
            )),
        }
    }

    /// Sends the command that uploads `size` bytes as `name` (a two-step command's messages
    /// each as the dialect frames them) and reads no reply: for a client that stalls at once.
    pub fn send_put_command(&mut self, name: &str, size: u64) -> Result<(), ProtoError> {
        match self.dialect.clone() {
            Some(d) => super::legacy::send_put_only(self, &d, name, size),
            None => self.send(format!("P {size} {name}\n").as_bytes()),
        }
    }

    /// Sends the command that downloads `name` (a numbered dialect looks the number up
    /// first) and reads nothing after it: for a client that never reads the data.
    pub fn send_get_command(&mut self, name: &str) -> Result<(), ProtoError> {
        match self.dialect.clone() {
            Some(d) => super::legacy::send_get(self, &d, name).map(|_| ()),
            None => self.send(format!("G {name}\n").as_bytes()),
        }
    }

    /// How a report shows the download of `name` this connection last asked for: the
    /// command as sent, a numbered dialect's with the number it sent (`G + 3 (hello.txt)`).
    pub fn shown_get(&self, name: &str) -> String {
        match &self.dialect {
            Some(d) => d.show_get_sent(name, self.number),
            None => format!("G {}", crate::text::escape::one_line(name.as_bytes())),
        }
    }

    /// Reads and drops what the server has sent so far, without waiting: a client that
    /// closes then leaves with a FIN, as one that read the replies does, not with the reset
    /// that unread data makes the kernel send.
    pub fn drain_received(&mut self) {
        self.pending.clear();
        if self.stream.set_nonblocking(true).is_err() {
            return;
        }
        let mut buf = [0u8; 4096];
        loop {
            match self.stream.read(&mut buf) {
                Ok(0) => break,
                Ok(_) => continue,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => break,
            }
        }
        let _ = self.stream.set_nonblocking(false);
    }

    /// Waits for the server to close the connection (true) or the deadline (false); data
    /// that arrives meanwhile is discarded.
    pub fn await_close(&mut self) -> bool {
        let mut buf = [0u8; 4096];
        self.pending.clear();
        loop {
            if self.arm(tr!("the connection to close")).is_err() {
                return false;
            }
            match self.stream.read(&mut buf) {
                Ok(0) => {
                    if let Some((r, n)) = &self.log {
                        r.record(What::Closed(*n));
                    }
                    return true;
                }
                Ok(_) => continue,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::ConnectionReset => return true,
                Err(_) => return false,
            }
        }
    }
}

impl FileProtocol for Conn {
    fn list(&mut self) -> Result<Result<Vec<Vec<u8>>, String>, ProtoError> {
        if let Some(d) = self.dialect.clone() {
            return super::legacy::list(self, &d);
        }
        match self.request("L", &reply_to("L"))? {
            Header::Err(r) => Ok(Err(r)),
            Header::Ok(None) => Err(ProtoError::Malformed(
                tr!("L must be answered with OK <n>").into(),
            )),
            Header::Ok(Some(n)) if n > MAX_LISTED => Err(ProtoError::Malformed(tr!(
                "OK {n}: more names than a library holds",
                n = n
            ))),
            Header::Ok(Some(n)) => {
                let mut names = Vec::new();
                for i in 0..n {
                    names.push(self.read_line(&tr!("name {i} of {n}", i = i + 1, n = n))?);
                }
                Ok(Ok(names))
            }
        }
    }

    fn get(
        &mut self,
        name: &str,
        sink: &mut dyn FnMut(&[u8]) -> io::Result<()>,
    ) -> Result<Result<u64, String>, ProtoError> {
        if let Some(d) = self.dialect.clone() {
            return super::legacy::get(self, &d, name, sink);
        }
        match self.request(&format!("G {name}"), &reply_to("G"))? {
            Header::Err(r) => Ok(Err(r)),
            Header::Ok(None) => Err(ProtoError::Malformed(
                tr!("G must be answered with OK <size>").into(),
            )),
            Header::Ok(Some(size)) => {
                self.read_exact_into(size, tr!("the file's bytes"), sink)?;
                Ok(Ok(size))
            }
        }
    }

    fn put(
        &mut self,
        name: &str,
        size: u64,
        source: &mut dyn Read,
    ) -> Result<Result<(), String>, ProtoError> {
        if let Some(d) = self.dialect.clone() {
            return super::legacy::put(self, &d, name, size, source);
        }
        match self.request(&format!("P {size} {name}"), &reply_to("P"))? {
            Header::Err(r) => return Ok(Err(r)),
            Header::Ok(Some(n)) => {
                return Err(ProtoError::Malformed(tr!(
                    "P must be answered with OK alone, not OK {n}",
                    n = n
                )))
            }
            Header::Ok(None) => {}
        }
        let mut buf = vec![0u8; 64 * 1024];
        let mut left = size;
        while left > 0 {
            let want = buf.len().min(left as usize);
            let k = source
                .read(&mut buf[..want])
                .map_err(|e| ProtoError::Io(e.to_string()))?;
            if k == 0 {
                return Err(ProtoError::Io(tr!("the upload source ended early").into()));
            }
            self.send(&buf[..k])?;
            left -= k as u64;
        }
        match self.read_header(tr!("the reply after the upload"))? {
            Header::Ok(_) => Ok(Ok(())),
            Header::Err(r) => Ok(Err(r)),
        }
    }

    fn quit(&mut self) -> Result<bool, ProtoError> {
        if let Some(d) = self.dialect.clone() {
            return super::legacy::quit(self, &d);
        }
        self.send(b"Q\n")?;
        Ok(self.await_close())
    }
}
