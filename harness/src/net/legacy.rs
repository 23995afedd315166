//! The grader's side of a [`Dialect`] other than the exact protocol: the course's legacy
//! protocols, whose messages are framed by pauses. Replies are read as a stream with the
//! dialect's end rule:
//!
//! - an end marker (`##`) ends data when it is the stream's tail and either the data before
//!   it has the size the caller expects, or nothing more arrives for the quiet gap (a file
//!   holding `##` goes on);
//! - a reply without a marker (a refusal's text, a listing without one) ends when nothing
//!   more arrives for the quiet gap after its last byte;
//! - a size (`Y 1234`, or the size in an upload's command) says where data ends.
//!
//! A gap is a read deadline on the socket counted from the last byte, never a sleep. The
//! grader's own pause between two messages is not a sleep either: the next message waits
//! until the server's socket shows the previous one read (`listen::unread_by_server`).
//! Memory stays bounded: data streams to the caller's sink holding back only the marker's
//! length, and a reply or listing is capped.

use crate::tr;
use std::io::{self, Read};
use std::time::{Duration, Instant};

use super::answer::reply_to;
use super::client::{Conn, ProtoError, MAX_HEADER, MAX_LISTED};
use super::dialect::{split_listing, Accepting, DataFraming, Dialect, Framing, ListFraming};
use crate::text::escape;

/// The most bytes a listing may take.
const MAX_LISTING: usize = 1 << 20;

/// One read that waits at most until `until` (within the connection's deadline): bytes
/// read (0: closed), or `None` when nothing came by then.
fn read_until(
    conn: &mut Conn,
    buf: &mut [u8],
    until: Instant,
    what: &str,
) -> Result<Option<usize>, ProtoError> {
    if !conn.pending.is_empty() {
        let n = buf.len().min(conn.pending.len());
        buf[..n].copy_from_slice(&conn.pending[..n]);
        conn.pending.drain(..n);
        return Ok(Some(n));
    }
    if until >= conn.deadline {
        return conn.read_stream(buf, what).map(Some);
    }
    super::read_by(&mut conn.stream, buf, until).map_err(|e| ProtoError::Io(e.to_string()))
}

/// Reads until nothing more arrives for `gap` (or the connection closes), at most `cap`
/// bytes; what came.
fn read_quiet(
    conn: &mut Conn,
    gap: Duration,
    cap: usize,
    what: &str,
) -> Result<Vec<u8>, ProtoError> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    while out.len() < cap {
        match read_until(conn, &mut buf, Instant::now() + gap, what)? {
            None | Some(0) => break,
            Some(n) => out.extend_from_slice(&buf[..n]),
        }
    }
    Ok(out)
}

/// Waits until the server has read everything sent on `conn` (or the deadline; without a
/// way to see the server's socket, at once).
fn await_read(conn: &Conn) {
    let Some(pid) = conn.server_pid else { return };
    let (Ok(local), Ok(peer)) = (conn.stream.local_addr(), conn.stream.peer_addr()) else {
        return;
    };
    let pid = nix::unistd::Pid::from_raw(pid);
    super::poll_until(conn.deadline, || {
        matches!(
            super::listen::unread_by_server(pid, peer.port(), local.port()),
            Some(0) | None
        )
    });
}

/// Sends the messages of a command: one line each (`lines`), or one send each, the next
/// only once the server has read the previous one.
fn send_command(conn: &mut Conn, d: &Dialect, msgs: &[String]) -> Result<(), ProtoError> {
    for (i, m) in msgs.iter().enumerate() {
        match d.messages {
            Framing::Lines => conn.send(format!("{m}\n").as_bytes())?,
            Framing::Sends => {
                if i > 0 {
                    await_read(conn);
                }
                conn.send_message(m.as_bytes())?;
            }
        }
    }
    Ok(())
}

/// The rest of a refusal (until a quiet gap) as its reason; a reply that is neither the OK
/// word nor a refusal is off the protocol.
fn refusal(
    conn: &mut Conn,
    d: &Dialect,
    mut got: Vec<u8>,
    ok: &str,
    what: &str,
) -> Result<Result<(), String>, ProtoError> {
    let more = read_quiet(conn, d.quiet(), MAX_HEADER.saturating_sub(got.len()), what)?;
    got.extend_from_slice(&more);
    let err = d.replies.error.as_bytes();
    if !err.is_empty() && !got.starts_with(err) {
        return Err(ProtoError::Malformed(tr!(
            "{what}: expected {ok} or {error}, got \"{got}\"",
            what = what,
            ok = ok,
            error = d.replies.error,
            got = escape::one_line(&got)
        )));
    }
    let reason = String::from_utf8_lossy(&got[err.len()..])
        .trim()
        .to_string();
    Ok(Err(reason))
}

/// Reads the word that accepts `command` (bytes after it stay for what follows), or a
/// refusal.
fn read_ok(
    conn: &mut Conn,
    d: &Dialect,
    command: Accepting,
    what: &str,
) -> Result<Result<(), String>, ProtoError> {
    let word = d.replies.ok_to(command);
    let ok = word.as_bytes().to_vec();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while got.len() < ok.len() && ok.starts_with(&got) {
        let until = if got.is_empty() {
            conn.deadline
        } else {
            Instant::now() + d.quiet()
        };
        match read_until(conn, &mut buf, until, what)? {
            Some(0) if got.is_empty() => return Err(ProtoError::Closed(what.into())),
            None | Some(0) => break,
            Some(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    if got.starts_with(&ok) {
        let rest = got.split_off(ok.len());
        let mut pending = std::mem::take(&mut conn.pending);
        conn.pending = rest;
        conn.pending.append(&mut pending);
        return Ok(Ok(()));
    }
    refusal(conn, d, got, word, what)
}

/// The listing: its names, or the refusal.
pub(super) fn list(
    conn: &mut Conn,
    d: &Dialect,
) -> Result<Result<Vec<Vec<u8>>, String>, ProtoError> {
    let what = reply_to(&Dialect::word(&d.commands.list));
    send_command(conn, d, &Dialect::fill(&d.commands.list, "", 0, None))?;
    if d.list.framing == ListFraming::Count {
        return lines_list(conn, &what);
    }
    if d.list.ok {
        if let Err(r) = read_ok(conn, d, Accepting::List, &what)? {
            return Ok(Err(r));
        }
    }
    let end = d.list.end.as_bytes();
    let mut messages: Vec<Vec<u8>> = Vec::new();
    let mut total = 0usize;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let ended = !end.is_empty() && messages.last().is_some_and(|m| m.ends_with(end));
        if ended {
            break;
        }
        // Without an end marker, a quiet gap after the first byte ends the listing.
        let until = if end.is_empty() && total > 0 {
            Instant::now() + d.quiet()
        } else {
            conn.deadline
        };
        match read_until(conn, &mut buf, until, &what)? {
            None => break,
            Some(0) if end.is_empty() && total > 0 => break,
            Some(0) => return Err(ProtoError::Closed(what)),
            Some(n) => {
                total += n;
                if total > MAX_LISTING || messages.len() as u64 > MAX_LISTED {
                    return Err(ProtoError::Malformed(tr!(
                        "{what}: a listing longer than {max} bytes",
                        what = what,
                        max = MAX_LISTING
                    )));
                }
                if d.list.per_send || messages.is_empty() {
                    messages.push(buf[..n].to_vec());
                } else if let Some(last) = messages.last_mut() {
                    last.extend_from_slice(&buf[..n]);
                }
            }
        }
    }
    Ok(Ok(split_listing(&d.list, &messages)))
}

/// The number a numbered listing gives `name` (one past the end for a name not listed),
/// and whether it is listed.
fn number_of(conn: &mut Conn, d: &Dialect, name: &str) -> Result<(usize, bool), ProtoError> {
    let names = list(conn, d)?.unwrap_or_default();
    Ok(names
        .iter()
        .position(|n| n == name.as_bytes())
        .map_or((names.len() + 1, false), |i| (i + 1, true)))
}

/// Downloads `name` into `sink`: its size, or the refusal.
pub(super) fn get(
    conn: &mut Conn,
    d: &Dialect,
    name: &str,
    sink: &mut dyn FnMut(&[u8]) -> io::Result<()>,
) -> Result<Result<u64, String>, ProtoError> {
    let expect = conn.expect.take();
    let what = send_get(conn, d, name)?;
    if d.download.framing == DataFraming::SizeLine {
        return lines_get(conn, &what, sink);
    }
    if d.download.ok {
        if let Err(r) = read_ok(conn, d, Accepting::Get, &what)? {
            return Ok(Err(r));
        }
    } else if let Some(r) = refusal_instead_of_data(conn, d, &what)? {
        return Ok(Err(r));
    }
    match d.download.framing {
        DataFraming::Length => {
            let size = read_size(conn, d, &what)?;
            conn.read_exact_into(size, tr!("the file's bytes"), sink)?;
            Ok(Ok(size))
        }
        _ => read_marked(conn, d, expect, sink).map(Ok),
    }
}

/// With no OK before the data: a reply that starts like a refusal is one.
fn refusal_instead_of_data(
    conn: &mut Conn,
    d: &Dialect,
    what: &str,
) -> Result<Option<String>, ProtoError> {
    let err = d.replies.error.as_bytes();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while got.len() < err.len() && err.starts_with(&got) {
        let until = if got.is_empty() {
            conn.deadline
        } else {
            Instant::now() + d.quiet()
        };
        match read_until(conn, &mut buf, until, what)? {
            Some(0) if got.is_empty() => return Err(ProtoError::Closed(what.into())),
            None | Some(0) => break,
            Some(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    if got.starts_with(err) {
        let ok = d.replies.ok_to(Accepting::Get);
        return refusal(conn, d, got, ok, what).map(|r| r.err());
    }
    let mut pending = std::mem::take(&mut conn.pending);
    conn.pending = got;
    conn.pending.append(&mut pending);
    Ok(None)
}

/// `<size>` after the OK word (`Y 1234`): its digits end at a non-digit (a `\n` is
/// dropped) or where the read that brought them ends (the data came in a send of its own).
/// Data glued to the size that starts with a digit cannot be told apart.
fn read_size(conn: &mut Conn, d: &Dialect, what: &str) -> Result<u64, ProtoError> {
    let no_size = || {
        ProtoError::Malformed(tr!(
            "{what}: no size after {ok}",
            what = what,
            ok = d.replies.ok_to(Accepting::Get)
        ))
    };
    let mut digits = String::new();
    let mut buf = [0u8; 4096];
    loop {
        let until = if digits.is_empty() {
            conn.deadline
        } else {
            Instant::now() + d.quiet()
        };
        let n = match read_until(conn, &mut buf, until, what)? {
            None | Some(0) if !digits.is_empty() => break,
            None | Some(0) => return Err(no_size()),
            Some(n) => n,
        };
        let mut i = 0;
        while i < n && digits.is_empty() && (buf[i] == b' ' || buf[i] == b':') {
            i += 1;
        }
        while i < n && buf[i].is_ascii_digit() && digits.len() < 20 {
            digits.push(buf[i] as char);
            i += 1;
        }
        if i < n || !digits.is_empty() {
            if i < n && buf[i] == b'\n' {
                i += 1;
            }
            let mut rest = buf[i..n].to_vec();
            rest.append(&mut conn.pending);
            conn.pending = rest;
            break;
        }
    }
    digits.parse().map_err(|_| no_size())
}

/// Data ended by the download's marker, streamed to `sink`; its length.
fn read_marked(
    conn: &mut Conn,
    d: &Dialect,
    expect: Option<u64>,
    sink: &mut dyn FnMut(&[u8]) -> io::Result<()>,
) -> Result<u64, ProtoError> {
    let marker = d.download.end.as_bytes();
    let what = tr!(
        "the end marker {marker} after the file's bytes",
        marker = d.download.end
    );
    let mut tail: Vec<u8> = Vec::new();
    let mut passed = 0u64;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let at_marker = tail.ends_with(marker);
        if at_marker && expect == Some(passed + (tail.len() - marker.len()) as u64) {
            break;
        }
        let until = if at_marker {
            Instant::now() + d.quiet()
        } else {
            conn.deadline
        };
        match read_until(conn, &mut buf, until, &what)? {
            None | Some(0) if at_marker => break,
            Some(0) => {
                return Err(ProtoError::Closed(tr!(
                    "{what} ({passed} bytes received)",
                    what = what,
                    passed = passed
                )))
            }
            None => return Err(ProtoError::Timeout(what)),
            Some(n) => tail.extend_from_slice(&buf[..n]),
        }
        // Everything but what may be the marker goes on.
        let keep = tail.len().min(marker.len());
        let out = tail.len() - keep;
        if out > 0 {
            sink(&tail[..out]).map_err(|e| ProtoError::Io(e.to_string()))?;
            passed += out as u64;
            tail.drain(..out);
        }
    }
    let data = tail.len() - marker.len();
    sink(&tail[..data]).map_err(|e| ProtoError::Io(e.to_string()))?;
    Ok(passed + data as u64)
}

/// Uploads `size` bytes from `source` as `name`.
pub(super) fn put(
    conn: &mut Conn,
    d: &Dialect,
    name: &str,
    size: u64,
    source: &mut dyn Read,
) -> Result<Result<(), String>, ProtoError> {
    let what = reply_to(&Dialect::word(&d.commands.put));
    send_command(conn, d, &Dialect::fill(&d.commands.put, name, size, None))?;
    let lines = d.messages == Framing::Lines;
    if lines {
        match conn.read_header(&what)? {
            super::client::Header::Err(r) => return Ok(Err(r)),
            super::client::Header::Ok(Some(n)) => {
                return Err(ProtoError::Malformed(tr!(
                    "{what}: expected OK alone, not OK {n}",
                    what = what,
                    n = n
                )))
            }
            super::client::Header::Ok(None) => {}
        }
    } else if d.upload.ok {
        if let Err(r) = read_ok(conn, d, Accepting::Put, &what)? {
            return Ok(Err(r));
        }
    } else {
        await_read(conn);
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
        conn.send(&buf[..k])?;
        left -= k as u64;
    }
    if d.upload.framing == DataFraming::Marker {
        // The marker must be a message of its own: sent once the data has been read.
        await_read(conn);
        conn.send(d.upload.end.as_bytes())?;
    }
    if lines {
        return match conn.read_header(tr!("the reply after the upload"))? {
            super::client::Header::Ok(_) => Ok(Ok(())),
            super::client::Header::Err(r) => Ok(Err(r)),
        };
    }
    if d.upload.final_reply {
        return read_ok(conn, d, Accepting::Put, tr!("the reply after the upload"));
    }
    await_read(conn);
    Ok(Ok(()))
}

/// Says goodbye; true if the server then closed the connection.
pub(super) fn quit(conn: &mut Conn, d: &Dialect) -> Result<bool, ProtoError> {
    send_command(conn, d, &Dialect::fill(&d.commands.quit, "", 0, None))?;
    Ok(conn.await_close())
}

/// The exact protocol's listing (`OK <n>`, n lines), after a command of other words.
fn lines_list(conn: &mut Conn, what: &str) -> Result<Result<Vec<Vec<u8>>, String>, ProtoError> {
    use super::client::Header;
    match conn.read_header(what)? {
        Header::Err(r) => Ok(Err(r)),
        Header::Ok(Some(n)) if n <= MAX_LISTED => {
            let mut names = Vec::new();
            for i in 0..n {
                names.push(conn.read_line(&tr!("name {i} of {n}", i = i + 1, n = n))?);
            }
            Ok(Ok(names))
        }
        Header::Ok(_) => Err(ProtoError::Malformed(tr!(
            "{what}: expected OK <n>",
            what = what
        ))),
    }
}

/// The exact protocol's download (`OK <size>`, size bytes), after a command of other words.
fn lines_get(
    conn: &mut Conn,
    what: &str,
    sink: &mut dyn FnMut(&[u8]) -> io::Result<()>,
) -> Result<Result<u64, String>, ProtoError> {
    use super::client::Header;
    match conn.read_header(what)? {
        Header::Err(r) => Ok(Err(r)),
        Header::Ok(Some(size)) => {
            conn.read_exact_into(size, tr!("the file's bytes"), sink)?;
            Ok(Ok(size))
        }
        Header::Ok(None) => Err(ProtoError::Malformed(tr!(
            "{what}: expected OK <size>",
            what = what
        ))),
    }
}

/// Sends the command that starts an upload and reads the first reply; the data is the
/// caller's (a check that vanishes mid-upload).
pub(super) fn begin_put(
    conn: &mut Conn,
    d: &Dialect,
    name: &str,
    size: u64,
) -> Result<Result<(), String>, ProtoError> {
    let what = reply_to(&Dialect::word(&d.commands.put));
    send_command(conn, d, &Dialect::fill(&d.commands.put, name, size, None))?;
    if d.upload.ok {
        return read_ok(conn, d, Accepting::Put, &what);
    }
    await_read(conn);
    Ok(Ok(()))
}

/// Sends the command that starts a download and reads the OK; the data follows on the
/// stream (a check that vanishes mid-download).
pub(super) fn begin_get(
    conn: &mut Conn,
    d: &Dialect,
    name: &str,
) -> Result<Result<(), String>, ProtoError> {
    let what = send_get(conn, d, name)?;
    if d.download.ok {
        return read_ok(conn, d, Accepting::Get, &what);
    }
    Ok(Ok(()))
}

/// Sends the dialect's download command for `name` (a numbered dialect looks the number up
/// first, and the connection keeps it for reports); what its reply is called in reports.
pub(super) fn send_get(conn: &mut Conn, d: &Dialect, name: &str) -> Result<String, ProtoError> {
    conn.number = None;
    let number = if d.numbered_get() {
        let found = number_of(conn, d, name)?;
        conn.number = Some(found);
        Some(found.0)
    } else {
        None
    };
    send_command(conn, d, &Dialect::fill(&d.commands.get, name, 0, number))?;
    Ok(reply_to(&Dialect::word(&d.commands.get)))
}

/// Sends the dialect's upload command for `name` and reads no reply; where messages are
/// sends, returns once the server has read it, so that data sent next is a message of its
/// own (not glued to the name).
pub(super) fn send_put_only(
    conn: &mut Conn,
    d: &Dialect,
    name: &str,
    size: u64,
) -> Result<(), ProtoError> {
    send_command(conn, d, &Dialect::fill(&d.commands.put, name, size, None))?;
    if d.messages == Framing::Sends {
        await_read(conn);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::client::FileProtocol;
    use std::io::Write;
    use std::net::TcpListener;

    fn lgpq() -> Dialect {
        let mut t: toml::Table = toml::from_str(include_str!(
            "../../../exercises/fileserver/dialects/lgpq-hash.toml"
        ))
        .unwrap();
        // The course's policy is the exercise's, not the protocol's.
        t.remove("policy");
        t.try_into().unwrap()
    }

    /// A sleep-framed server: answers the first request with `sends`, pausing `pause_ms`
    /// between them (the pauses are the protocol under test, not synchronisation).
    fn server(
        sends: Vec<&'static [u8]>,
        pause_ms: u64,
    ) -> (std::net::SocketAddr, std::thread::JoinHandle<Vec<u8>>) {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let h = std::thread::spawn(move || {
            let (mut c, _) = l.accept().unwrap();
            let mut req = [0u8; 1024];
            let n = c.read(&mut req).unwrap();
            for (i, s) in sends.iter().enumerate() {
                if i > 0 {
                    std::thread::sleep(Duration::from_millis(pause_ms));
                }
                c.write_all(s).unwrap();
            }
            req[..n].to_vec()
        });
        (addr, h)
    }

    fn conn(addr: std::net::SocketAddr) -> Conn {
        let d = std::sync::Arc::new(lgpq());
        Conn::connect(addr, Instant::now() + Duration::from_secs(5))
            .unwrap()
            .speaking(d, None)
    }

    fn download(sends: Vec<&'static [u8]>, expect: Option<u64>) -> (Vec<u8>, Vec<u8>, Duration) {
        let (addr, h) = server(sends, 50);
        let mut c = conn(addr);
        if let Some(e) = expect {
            c.expect_len(e);
        }
        let mut got = Vec::new();
        let t = Instant::now();
        let r = c.get("a b.txt", &mut |b| {
            got.extend_from_slice(b);
            Ok(())
        });
        let took = t.elapsed();
        assert_eq!(r, Ok(Ok(got.len() as u64)));
        (got, h.join().unwrap(), took)
    }

    #[test]
    fn a_marker_inside_the_data_does_not_end_it() {
        let (got, req, _) = download(vec![b"OK", b"abc##", b"##"], None);
        assert_eq!(req, b"G a b.txt");
        assert_eq!(got, b"abc##");
    }

    #[test]
    fn the_expected_size_ends_a_marked_download_at_once() {
        let (got, _, took) = download(vec![b"OKabc##", b"##"], Some(5));
        assert_eq!(got, b"abc##");
        // No quiet gap waited after the marker.
        assert!(took < lgpq().quiet(), "{took:?}");
    }

    #[test]
    fn ok_glued_to_data_and_the_marker_in_one_read() {
        let (got, _, _) = download(vec![b"OKhello##"], None);
        assert_eq!(got, b"hello");
    }

    #[test]
    fn a_refusal_is_read_to_its_quiet_end() {
        let (addr, h) = server(vec!["文件".as_bytes(), "不存在".as_bytes()], 20);
        let mut c = conn(addr);
        let r = c.get("x", &mut |_| Ok(()));
        assert_eq!(r, Ok(Err("文件不存在".to_string())));
        h.join().unwrap();
    }

    #[test]
    fn a_listing_without_an_end_marker_ends_after_a_quiet_gap() {
        let (addr, h) = server(vec![b"OK", b"a.txt#my notes.txt#"], 50);
        let mut c = conn(addr);
        let names = c.list().unwrap().unwrap();
        assert_eq!(names, vec![b"a.txt".to_vec(), b"my notes.txt".to_vec()]);
        assert_eq!(h.join().unwrap(), b"L");
    }

    #[test]
    fn a_download_without_its_marker_is_an_error() {
        let (addr, _h) = server(vec![b"OK", b"data"], 10);
        let d = std::sync::Arc::new(lgpq());
        let mut c = Conn::connect(addr, Instant::now() + Duration::from_millis(400))
            .unwrap()
            .speaking(d, None);
        let r = c.get("x", &mut |_| Ok(()));
        // The server closes after its data: the marker never came.
        assert!(
            matches!(r, Err(ProtoError::Closed(ref w)) if w.contains("end marker ##")),
            "{r:?}"
        );
    }
}
