//! Integration tests of the reference `fileserver` and `fileclient`.
//!
//! Each test starts its own server on a free port (found by binding port 0 and releasing it;
//! retried if the server then reports that it cannot bind) with a fresh library directory, and
//! waits for its `listening` line with a deadline. Waits poll real state against a deadline;
//! nothing relies on a fixed sleep. Server tests are named after the grader's check ids.
//!
//! The programs under test can be swapped for others (e.g. the Python samples), which is how
//! the samples in `exercises/fileserver/samples` were checked:
//!
//! ```text
//! FILESERVER_CMD="python3 exercises/fileserver/samples/correct-threads/server.py" \
//! FILECLIENT_CMD="python3 exercises/fileserver/samples/correct-threads/client.py" \
//!     cargo test -p reference --test fileserver
//! ```
//!
//! The client tests always run against the reference server.

use std::collections::BTreeSet;
use std::ffi::CString;
use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::unix::fs::symlink;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, killpg, Signal};
use nix::unistd::Pid;

/// Generous: only a broken server or a badly overloaded machine comes near it.
const DEADLINE: Duration = Duration::from_secs(20);
/// Interval between two looks at some state (a polling interval, not a synchronisation delay).
const POLL: Duration = Duration::from_millis(5);
const MIB: usize = 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// Test data

/// A few KB of text with Chinese characters and newlines.
fn text() -> Vec<u8> {
    let mut out = String::new();
    for i in 0..120 {
        out.push_str(&format!("line {i}: hello, world — 你好，世界\n"));
    }
    out.into_bytes()
}

/// All 256 byte values many times, `##` end markers, CR LF, NUL runs: over 4 KiB.
fn binary() -> Vec<u8> {
    let mut out = Vec::new();
    for round in 0..20u8 {
        out.extend(0..=255u8);
        out.extend_from_slice(b"##\n##\r\n");
        out.extend(std::iter::repeat_n(round, round as usize));
        out.extend_from_slice(&[0, 0, 0, 0xff, 0xfe, 0xc3]);
    }
    out.extend_from_slice(b"##");
    out
}

/// `len` pseudo-random bytes (xorshift), different for each seed.
fn random(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.extend_from_slice(&state.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// `len` bytes of pseudo-random printable ASCII lines: text that survives any text handling.
fn ascii(len: usize, seed: u64) -> Vec<u8> {
    random(len, seed)
        .into_iter()
        .enumerate()
        .map(|(i, b)| if i % 64 == 63 { b'\n' } else { b' ' + b % 95 })
        .collect()
}

/// Panics with the first differing offset and a hex window around it.
fn assert_same(what: &str, expected: &[u8], actual: &[u8]) {
    if expected == actual {
        return;
    }
    let at = expected
        .iter()
        .zip(actual)
        .position(|(a, b)| a != b)
        .unwrap_or(expected.len().min(actual.len()));
    let window = |data: &[u8]| {
        let start = at.saturating_sub(8);
        let end = (at + 8).min(data.len());
        data.get(start..end)
            .unwrap_or(&[])
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    panic!(
        "{what}: {} bytes expected, {} bytes got; first difference at offset {at}\n  \
         expected [{}]\n  actual   [{}]",
        expected.len(),
        actual.len(),
        window(expected),
        window(actual)
    );
}

// ---------------------------------------------------------------------------------------------
// Temporary directories and process helpers

struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("fileserver-test-{}-{n}-{tag}", std::process::id()));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).expect("create a temporary directory");
        TempDir(path)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// The command line of a program under test: `$<var>` split at spaces, or the reference binary.
fn command_of(var: &str, default: &str) -> Command {
    let words: Vec<String> = match std::env::var(var) {
        Ok(cmd) if !cmd.trim().is_empty() => cmd.split_whitespace().map(String::from).collect(),
        _ => vec![default.to_string()],
    };
    let mut command = Command::new(&words[0]);
    command.args(&words[1..]);
    command
}

/// Polls `probe` until it returns `Some`, or panics after the deadline naming `what`.
fn poll<T>(what: &str, mut probe: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(value) = probe() {
            return value;
        }
        if start.elapsed() > DEADLINE {
            panic!("timed out waiting for {what}");
        }
        thread::sleep(POLL);
    }
}

/// Waits for a child with a deadline.
fn wait_for(child: &mut Child, what: &str) -> ExitStatus {
    poll(what, || child.try_wait().expect("try_wait"))
}

/// Children of a process (over all its threads), with their states from `/proc/<pid>/stat`.
fn children_of(pid: i32) -> Vec<(i32, char)> {
    let mut out = Vec::new();
    let Ok(tasks) = fs::read_dir(format!("/proc/{pid}/task")) else {
        return out;
    };
    for task in tasks.flatten() {
        let Ok(text) = fs::read_to_string(task.path().join("children")) else {
            continue;
        };
        for child in text.split_whitespace().filter_map(|c| c.parse().ok()) {
            let state = fs::read_to_string(format!("/proc/{child}/stat"))
                .ok()
                .and_then(|s| s.rsplit_once(") ").and_then(|(_, r)| r.chars().next()))
                .unwrap_or('?');
            out.push((child, state));
        }
    }
    out
}

/// Processes whose process group is `pgid`.
fn group_members(pgid: i32) -> Vec<i32> {
    let mut out = Vec::new();
    for entry in fs::read_dir("/proc").expect("read /proc").flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<i32>().ok())
        else {
            continue;
        };
        let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // Fields after the command: state ppid pgrp ...
        let Some((_, rest)) = stat.rsplit_once(") ") else {
            continue;
        };
        if rest.split_whitespace().nth(2).and_then(|g| g.parse().ok()) == Some(pgid) {
            out.push(pid);
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The server under test

struct Server {
    child: Option<Child>,
    port: u16,
    root: TempDir,
    lib: PathBuf,
    stderr: Arc<Mutex<String>>,
}

impl Server {
    /// Starts the server under test on a free port with an empty library `<root>/lib`.
    fn start() -> Server {
        Server::start_with(|| command_of("FILESERVER_CMD", env!("CARGO_BIN_EXE_fileserver")))
    }

    /// Starts the reference server (for the client checks), whatever `FILESERVER_CMD` says.
    fn start_reference() -> Server {
        Server::start_with(|| Command::new(env!("CARGO_BIN_EXE_fileserver")))
    }

    fn start_with(server_command: impl Fn() -> Command) -> Server {
        let root = TempDir::new("server");
        let lib = root.path().join("lib");
        fs::create_dir(&lib).expect("create the library");
        for _attempt in 0..20 {
            let port = TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("find a free port")
                .port();
            let mut child = server_command()
                .arg(port.to_string())
                .arg(&lib)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                // Its own process group, so that forked helpers can be found and killed.
                .process_group(0)
                .spawn()
                .expect("start the server");
            let stdout = child.stdout.take().expect("piped stdout");
            let (tx, lines) = mpsc::channel();
            thread::spawn(move || {
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
            let stderr = Arc::new(Mutex::new(String::new()));
            let mut pipe = child.stderr.take().expect("piped stderr");
            let sink = Arc::clone(&stderr);
            thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n @ 1..) = pipe.read(&mut buf) {
                    sink.lock()
                        .unwrap()
                        .push_str(&String::from_utf8_lossy(&buf[..n]));
                }
            });
            let expected = format!("listening on 127.0.0.1:{port}");
            let start = Instant::now();
            let listening = loop {
                let left = DEADLINE.saturating_sub(start.elapsed());
                match lines.recv_timeout(left) {
                    Ok(line) if line.trim_end() == expected => break true,
                    Ok(_) => continue,
                    Err(RecvTimeoutError::Disconnected) => break false,
                    Err(RecvTimeoutError::Timeout) => {
                        let _ = killpg(Pid::from_raw(child.id() as i32), Signal::SIGKILL);
                        let _ = child.wait();
                        panic!("the server did not print {expected:?} in time");
                    }
                }
            };
            if listening {
                return Server {
                    child: Some(child),
                    port,
                    root,
                    lib,
                    stderr,
                };
            }
            let status = wait_for(&mut child, "the server to exit");
            // The stderr pipe closes with the process; wait for the reader to take it all.
            let message = poll("the server's stderr", || {
                let text = stderr.lock().unwrap().clone();
                (!text.is_empty() || Arc::strong_count(&stderr) == 1).then_some(text)
            });
            let lower = message.to_lowercase();
            if lower.contains("bind") || lower.contains("in use") {
                continue;
            }
            panic!("the server exited ({status}) before listening: {message}");
        }
        panic!("the server could not bind a port in 20 attempts");
    }

    fn pid(&self) -> i32 {
        self.child.as_ref().expect("running server").id() as i32
    }

    fn connect(&self) -> Conn {
        let stream = TcpStream::connect(("127.0.0.1", self.port)).expect("connect to the server");
        stream.set_read_timeout(Some(DEADLINE)).unwrap();
        stream.set_write_timeout(Some(DEADLINE)).unwrap();
        Conn {
            r: BufReader::new(stream.try_clone().unwrap()),
            w: stream,
        }
    }

    fn put_file(&self, name: &str, data: &[u8]) {
        fs::write(self.lib.join(name), data).expect("write a library file");
    }

    fn read_file(&self, name: &str) -> Vec<u8> {
        fs::read(self.lib.join(name)).unwrap_or_else(|e| panic!("read library file {name}: {e}"))
    }

    /// Names in the library starting with `.`.
    fn hidden_files(&self) -> Vec<String> {
        fs::read_dir(&self.lib)
            .unwrap()
            .flatten()
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| n.starts_with('.'))
            .collect()
    }

    /// Waits until the library holds no hidden (temporary) files.
    fn wait_no_temp_files(&self) {
        poll("temporary files to disappear from the library", || {
            self.hidden_files().is_empty().then_some(())
        });
    }

    /// Panics if the server has exited.
    fn assert_alive(&mut self) {
        let child = self.child.as_mut().unwrap();
        if let Some(status) = child.try_wait().unwrap() {
            panic!(
                "the server died ({status}); stderr: {}",
                self.stderr.lock().unwrap()
            );
        }
    }

    /// Sends `signal` and waits for the server to exit; checks that no process of its group is
    /// left behind.
    fn stop(&mut self, signal: Signal) -> ExitStatus {
        let mut child = self.child.take().expect("running server");
        let pid = child.id() as i32;
        kill(Pid::from_raw(pid), signal).expect("signal the server");
        let status = wait_for(&mut child, "the server to exit after a signal");
        poll("the server's helper processes to be gone", || {
            group_members(pid).is_empty().then_some(())
        });
        status
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if thread::panicking() {
            let stderr = self.stderr.lock().unwrap_or_else(|e| e.into_inner());
            eprintln!("server stderr:\n{stderr}");
        }
        if let Some(mut child) = self.child.take() {
            let _ = killpg(Pid::from_raw(child.id() as i32), Signal::SIGKILL);
            let _ = child.wait();
        }
    }
}

/// A connection to the server.
struct Conn {
    r: BufReader<TcpStream>,
    w: TcpStream,
}

impl Conn {
    fn send(&mut self, bytes: &[u8]) {
        self.w.write_all(bytes).expect("send to the server");
    }

    /// One reply line, without its `\n`.
    fn line(&mut self) -> String {
        let mut line = Vec::new();
        let n = self.r.read_until(b'\n', &mut line).expect("read a reply");
        assert!(
            n > 0 && line.ends_with(b"\n"),
            "connection closed by the server"
        );
        line.pop();
        String::from_utf8(line).expect("reply is UTF-8")
    }

    fn request(&mut self, request: &str) -> String {
        self.send(format!("{request}\n").as_bytes());
        self.line()
    }

    /// Sends a raw request line and expects `ERR <reason>`.
    fn expect_err(&mut self, request: &[u8]) {
        let mut line = request.to_vec();
        line.push(b'\n');
        self.send(&line);
        let reply = self.line();
        assert!(
            reply.starts_with("ERR "),
            "{:?} should be refused with ERR, got {reply:?}",
            String::from_utf8_lossy(request)
        );
    }

    fn list(&mut self) -> BTreeSet<String> {
        let header = self.request("L");
        let n: usize = header
            .strip_prefix("OK ")
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("bad reply to L: {header:?}"));
        (0..n).map(|_| self.line()).collect()
    }

    fn get(&mut self, name: &str) -> Result<Vec<u8>, String> {
        let header = self.request(&format!("G {name}"));
        let Some(size) = header.strip_prefix("OK ") else {
            return Err(header);
        };
        let size: usize = size.parse().expect("size in OK reply");
        let mut data = vec![0u8; size];
        self.r.read_exact(&mut data).expect("read the file's bytes");
        Ok(data)
    }

    fn put(&mut self, name: &str, data: &[u8]) -> Result<(), String> {
        let ready = self.request(&format!("P {} {name}", data.len()));
        if ready != "OK" {
            return Err(ready);
        }
        self.send(data);
        match self.line() {
            done if done == "OK" => Ok(()),
            done => Err(done),
        }
    }

    /// True once the server has closed the connection (reads end of file).
    fn closed_by_server(&mut self) -> bool {
        let mut byte = [0u8; 1];
        matches!(self.r.read(&mut byte), Ok(0))
    }
}

fn assert_get(conn: &mut Conn, name: &str, expected: &[u8]) {
    let got = conn
        .get(name)
        .unwrap_or_else(|e| panic!("G {name} refused: {e}"));
    assert_same(&format!("G {name}"), expected, &got);
}

/// Uploads, then checks both the stored file and a download of it.
fn assert_put(server: &Server, conn: &mut Conn, name: &str, data: &[u8]) {
    conn.put(name, data)
        .unwrap_or_else(|e| panic!("P {name} failed: {e}"));
    assert_same(&format!("stored {name}"), data, &server.read_file(name));
    assert_get(conn, name, data);
    assert!(server.hidden_files().is_empty(), "temporary files left");
}

// ---------------------------------------------------------------------------------------------
// Server checks

#[test]
fn server_start() {
    let server = Server::start();
    let mut conn = server.connect();
    assert!(conn.list().is_empty());
}

#[test]
fn list() {
    let server = Server::start();
    for name in ["a.txt", "with space.txt", "中文.txt", ".hidden"] {
        server.put_file(name, b"x");
    }
    fs::create_dir(server.lib.join("subdir")).unwrap();
    fs::write(server.lib.join("subdir/inner.txt"), b"x").unwrap();
    symlink("a.txt", server.lib.join("link.txt")).unwrap();
    let fifo = CString::new(
        server
            .lib
            .join("fifo")
            .into_os_string()
            .into_encoded_bytes(),
    )
    .unwrap();
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0);
    let mut conn = server.connect();
    let expected: BTreeSet<String> = ["a.txt", "with space.txt", "中文.txt"]
        .into_iter()
        .map(String::from)
        .collect();
    assert_eq!(conn.list(), expected);
    // Again on the same connection, after a change.
    server.put_file("b.txt", b"");
    let mut expected = expected;
    expected.insert("b.txt".into());
    assert_eq!(conn.list(), expected);
}

#[test]
fn get_text() {
    let server = Server::start();
    server.put_file("notes.txt", &text());
    assert_get(&mut server.connect(), "notes.txt", &text());
}

#[test]
fn get_binary() {
    let server = Server::start();
    server.put_file("data.bin", &binary());
    server.put_file("marker.bin", b"##");
    let mut conn = server.connect();
    assert_get(&mut conn, "data.bin", &binary());
    assert_get(&mut conn, "marker.bin", b"##");
    // The connection is still in step.
    assert_get(&mut conn, "data.bin", &binary());
}

#[test]
fn get_empty() {
    let server = Server::start();
    server.put_file("empty", b"");
    let mut conn = server.connect();
    assert_eq!(conn.request("G empty"), "OK 0");
    assert_eq!(conn.list().len(), 1);
}

#[test]
fn get_large() {
    let server = Server::start();
    let data = random(16 * MIB, 1);
    server.put_file("large.bin", &data);
    let mut conn = server.connect();
    assert_get(&mut conn, "large.bin", &data);
    assert_get(&mut conn, "large.bin", &data);
}

#[test]
fn get_names() {
    let server = Server::start();
    let names = ["my notes.txt", "报告 2024.txt", "数据 (最终版).bin", "a  b"];
    for (i, name) in names.iter().enumerate() {
        server.put_file(name, name.repeat(i + 1).as_bytes());
    }
    let mut conn = server.connect();
    let listed = conn.list();
    for (i, name) in names.iter().enumerate() {
        assert!(listed.contains(*name), "{name:?} not listed: {listed:?}");
        assert_get(&mut conn, name, name.repeat(i + 1).as_bytes());
    }
}

#[test]
fn get_missing() {
    let server = Server::start();
    server.put_file("here.txt", b"here");
    let mut conn = server.connect();
    let reply = conn.get("missing.txt").unwrap_err();
    assert!(reply.starts_with("ERR "), "{reply:?}");
    // Still usable.
    assert_eq!(conn.list().len(), 1);
    assert_get(&mut conn, "here.txt", b"here");
}

#[test]
fn put_text() {
    let server = Server::start();
    let mut conn = server.connect();
    assert_put(&server, &mut conn, "notes.txt", &text());
    assert_put(&server, &mut conn, "报告 2024.txt", &text());
    assert!(conn.list().contains("报告 2024.txt"));
}

#[test]
fn put_binary() {
    let server = Server::start();
    let mut conn = server.connect();
    assert_put(&server, &mut conn, "data.bin", &binary());
    assert_put(&server, &mut conn, "marker.bin", b"##");
}

#[test]
fn put_empty() {
    let server = Server::start();
    let mut conn = server.connect();
    assert_put(&server, &mut conn, "empty", b"");
}

#[test]
fn put_large() {
    let server = Server::start();
    let mut conn = server.connect();
    assert_put(&server, &mut conn, "large.bin", &random(16 * MIB, 2));
}

#[test]
fn put_replace() {
    let server = Server::start();
    server.put_file("old.txt", b"old contents on disk");
    let mut conn = server.connect();
    assert_put(&server, &mut conn, "old.txt", b"new");
    assert_put(&server, &mut conn, "old.txt", &text());
    assert_put(&server, &mut conn, "old.txt", b"");
    assert_eq!(conn.list().len(), 1);
    // (That readers see the old file whole while a replacement is in flight is part of
    // `concurrent`.)
}

#[test]
fn traversal() {
    let server = Server::start();
    let outside = server.root.path().join("secret.txt");
    fs::write(&outside, b"secret").unwrap();
    server.put_file("a.txt", b"a");
    server.put_file(".hidden", b"hidden");
    fs::create_dir(server.lib.join("sub")).unwrap();
    fs::write(server.lib.join("sub/inner.txt"), b"inner").unwrap();
    symlink("../secret.txt", server.lib.join("link-out")).unwrap();
    symlink(&outside, server.lib.join("link-abs")).unwrap();
    symlink("a.txt", server.lib.join("link-in")).unwrap();
    let fifo = CString::new(
        server
            .lib
            .join("fifo")
            .into_os_string()
            .into_encoded_bytes(),
    )
    .unwrap();
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0);
    let before: BTreeSet<_> = fs::read_dir(server.root.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();

    let mut conn = server.connect();
    let refused: [&[u8]; 15] = [
        b"G ../secret.txt",
        b"G /etc/passwd",
        b"G ..",
        b"G .",
        b"G .hidden",
        b"G sub",
        b"G sub/inner.txt",
        b"G ./a.txt",
        b"G link-out",
        b"G link-abs",
        b"G link-in",
        b"G fifo",
        b"G ",
        b"G a.txt\0../secret.txt",
        b"G ../lib/a.txt",
    ];
    for request in refused {
        conn.expect_err(request);
    }
    let upload_refused: [&[u8]; 6] = [
        b"P 4 ../evil.txt",
        b"P 4 /tmp/evil.txt",
        b"P 4 .evil",
        b"P 4 sub/evil.txt",
        b"P 4 ..",
        b"P 4 a\0b",
    ];
    for request in upload_refused {
        // Refused before any data is sent: the next request is read as a request.
        conn.expect_err(request);
        assert_get(&mut conn, "a.txt", b"a");
    }
    // Uploading over a symlink must not write through it (replacing the link itself is fine).
    let reply = conn.request("P 4 link-out");
    if reply == "OK" {
        conn.send(b"evil");
        let _ = conn.line();
    }
    assert_get(&mut conn, "a.txt", b"a");
    assert_eq!(fs::read(&outside).unwrap(), b"secret");
    let after: BTreeSet<_> = fs::read_dir(server.root.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(before, after, "files appeared outside the library");
    assert!(!server.lib.join("sub/evil.txt").exists());
}

/// Malformed requests get `ERR` and leave the connection usable.
#[test]
fn bad_requests() {
    let server = Server::start();
    server.put_file("a.txt", b"a");
    let mut conn = server.connect();
    let long = vec![b'G'; 10_000];
    let bad: [&[u8]; 13] = [
        b"",
        b"X",
        b"l",
        b"list",
        b"L extra",
        b"G",
        b"P",
        b"P 5",
        b"P abc a.txt",
        b"P -1 a.txt",
        b"P  a.txt",
        b"\xff\xfe",
        &long,
    ];
    for request in bad {
        conn.expect_err(request);
        assert_get(&mut conn, "a.txt", b"a");
    }
}

#[test]
fn concurrent() {
    let server = Server::start();
    let big = ascii(8 * MIB, 5);
    let old = ascii(30_000, 3);
    let new = ascii(50_000, 4);
    server.put_file("big.bin", &big);
    server.put_file("a.txt", b"a");
    server.put_file("old.txt", &old);
    // A client stalled in the middle of an upload that replaces old.txt ...
    let mut stalled_upload = server.connect();
    assert_eq!(stalled_upload.request("P 50000 old.txt"), "OK");
    stalled_upload.send(&new[..25_000]);
    // ... one stalled in the middle of a request line ...
    let mut stalled_request = server.connect();
    stalled_request.send(b"G a.t");
    // ... and one that asked for a big file and does not read it.
    let mut stalled_reader = server.connect();
    stalled_reader.send(b"G big.bin\n");

    let start = Instant::now();
    let port = server.port;
    let workers: Vec<_> = (0..8u64)
        .map(|i| {
            thread::spawn(move || {
                let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
                stream.set_read_timeout(Some(DEADLINE)).unwrap();
                stream.set_write_timeout(Some(DEADLINE)).unwrap();
                let mut conn = Conn {
                    r: BufReader::new(stream.try_clone().unwrap()),
                    w: stream,
                };
                let name = format!("client {i}.bin");
                let data = ascii(40_000, 100 + i);
                conn.put(&name, &data)
                    .unwrap_or_else(|e| panic!("P {name}: {e}"));
                assert_get(&mut conn, &name, &data);
                // Meanwhile the file being replaced is still the old one, whole.
                assert_get(&mut conn, "old.txt", &ascii(30_000, 3));
                assert!(conn.list().contains(&name));
                conn.send(b"Q\n");
                assert!(conn.closed_by_server(), "Q should close the connection");
            })
        })
        .collect();
    let failed = workers
        .into_iter()
        .map(|w| w.join())
        .filter(Result::is_err)
        .count();
    assert_eq!(failed, 0, "{failed} of 8 concurrent clients failed");
    let elapsed = start.elapsed();
    assert!(elapsed < DEADLINE, "clients took {elapsed:?}");
    for i in 0..8u64 {
        let name = format!("client {i}.bin");
        assert_same(&name, &ascii(40_000, 100 + i), &server.read_file(&name));
    }
    // The stalled clients still get served.
    stalled_request.send(b"xt\n");
    assert_eq!(stalled_request.line(), "OK 1");
    let mut rest = [0u8; 1];
    stalled_request.r.read_exact(&mut rest).unwrap();
    assert_eq!(&rest, b"a");
    assert_eq!(stalled_reader.line(), format!("OK {}", big.len()));
    let mut got = vec![0u8; big.len()];
    stalled_reader.r.read_exact(&mut got).unwrap();
    assert_same("stalled download", &big, &got);
    stalled_upload.send(&new[25_000..]);
    assert_eq!(stalled_upload.line(), "OK");
    assert_get(&mut server.connect(), "old.txt", &new);
    server.wait_no_temp_files();
}

#[test]
fn disconnect() {
    let mut server = Server::start();
    let big = ascii(8 * MIB, 6);
    server.put_file("big.bin", &big);
    server.put_file("keep.txt", b"keep");

    // Gone in the middle of a request line.
    let mut conn = server.connect();
    conn.send(b"G big");
    drop(conn);
    // Gone in the middle of an upload, of a new name and of an existing one.
    for name in ["cut.bin", "keep.txt"] {
        let mut conn = server.connect();
        assert_eq!(conn.request(&format!("P 100000 {name}")), "OK");
        conn.send(&[1u8; 1000]);
        drop(conn);
    }
    // Gone in the middle of a download (closing with unread data resets the connection).
    let mut conn = server.connect();
    assert_eq!(conn.request("G big.bin"), format!("OK {}", big.len()));
    let mut some = [0u8; 1000];
    conn.r.read_exact(&mut some).unwrap();
    drop(conn);
    // Gone right after connecting, and after a half-close.
    drop(server.connect());
    let conn = server.connect();
    conn.w.shutdown(Shutdown::Write).unwrap();
    drop(conn);

    server.wait_no_temp_files();
    let mut conn = server.connect();
    assert_eq!(
        conn.list(),
        ["big.bin", "keep.txt"]
            .into_iter()
            .map(String::from)
            .collect()
    );
    assert_get(&mut conn, "keep.txt", b"keep");
    assert_get(&mut conn, "big.bin", &big);
    assert_put(&server, &mut conn, "after.txt", b"after");
    server.assert_alive();
}

#[test]
fn quit() {
    let server = Server::start();
    server.put_file("a.txt", b"a");
    let mut conn = server.connect();
    assert_get(&mut conn, "a.txt", b"a");
    conn.send(b"Q\n");
    assert!(conn.closed_by_server(), "Q should close the connection");
    // The server goes on serving others (that several are served at once is `concurrent`).
    let mut other = server.connect();
    assert_get(&mut other, "a.txt", b"a");
    other.send(b"Q\n");
    assert!(other.closed_by_server());
    assert_get(&mut server.connect(), "a.txt", b"a");
}

/// No temporary files after uploads and no zombies while running; SIGTERM ends the server with
/// status 0 even with clients connected, leaving no process behind. (Temporary files of uploads
/// cut off by the shutdown are not checked.)
#[test]
fn cleanup() {
    let mut server = Server::start();
    let mut conn = server.connect();
    assert_put(&server, &mut conn, "done.txt", &ascii(30_000, 7));
    conn.send(b"Q\n");
    assert!(conn.closed_by_server());
    for _ in 0..3 {
        let mut conn = server.connect();
        assert_eq!(conn.list().len(), 1);
        conn.send(b"Q\n");
        assert!(conn.closed_by_server());
    }
    server.wait_no_temp_files();
    let pid = server.pid();
    // All connections are closed: no helper process should be left, zombie or not.
    poll("the server to have no (zombie) children", || {
        children_of(pid).is_empty().then_some(())
    });

    let mut stalled = server.connect();
    assert_eq!(stalled.request("P 100000 stalled.bin"), "OK");
    stalled.send(b"partial");
    // A connection that has not sent anything yet.
    let _idle = server.connect();
    let status = server.stop(Signal::SIGTERM);
    assert_eq!(
        status.code(),
        Some(0),
        "exit status after SIGTERM: {status}"
    );
    assert!(!server.lib.join("stalled.bin").exists());
}

#[test]
fn cleanup_sigint() {
    let mut server = Server::start();
    let mut conn = server.connect();
    assert_eq!(conn.list().len(), 0);
    let status = server.stop(Signal::SIGINT);
    assert_eq!(status.code(), Some(0), "exit status after SIGINT: {status}");
    assert!(status.signal().is_none());
}

// ---------------------------------------------------------------------------------------------
// Client checks: the client under test against the reference server

struct ClientRun {
    status: ExitStatus,
    /// stdout, then stderr
    output: String,
    /// Output lines with the prompts removed.
    lines: Vec<String>,
}

/// Runs the client in `cwd` with `input` on its stdin (a pipe, not a terminal).
fn run_client(server: &Server, cwd: &Path, input: &str) -> ClientRun {
    let mut command = command_of("FILECLIENT_CMD", env!("CARGO_BIN_EXE_fileclient"));
    let mut child = command
        .arg("127.0.0.1")
        .arg(server.port.to_string())
        .current_dir(cwd)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the client");
    let pid = child.id() as i32;
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_string();
    // The client may exit before reading everything (after `quit`): ignore write errors.
    thread::spawn(move || {
        let _ = stdin.write_all(input.as_bytes());
    });
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let output = match rx.recv_timeout(DEADLINE) {
        Ok(output) => output.expect("run the client"),
        Err(_) => {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
            panic!("the client did not finish in time");
        }
    };
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let lines = stdout
        .lines()
        .map(|line| {
            let mut line = line;
            while let Some(rest) = line.strip_prefix("ftp> ") {
                line = rest;
            }
            line.strip_prefix("ftp>").unwrap_or(line).to_string()
        })
        .filter(|line| !line.is_empty())
        .collect();
    ClientRun {
        status: output.status,
        output: format!("{stdout}{stderr}"),
        lines,
    }
}

impl ClientRun {
    fn assert_success(&self) {
        assert_eq!(
            self.status.code(),
            Some(0),
            "client exit status {}; output:\n{}",
            self.status,
            self.output
        );
    }

    fn assert_line(&self, line: &str) {
        assert!(
            self.lines.iter().any(|l| l == line),
            "no line {line:?} in the client's output:\n{}",
            self.output
        );
    }
}

fn dir_names(dir: &Path) -> BTreeSet<String> {
    fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .collect()
}

#[test]
fn client_list() {
    let server = Server::start_reference();
    let names = ["a.txt", "my notes.txt", "报告 2024.txt"];
    for name in names {
        server.put_file(name, b"x");
    }
    let cwd = TempDir::new("client");
    let run = run_client(&server, cwd.path(), "list\nquit\n");
    run.assert_success();
    for name in names {
        run.assert_line(name);
    }
}

#[test]
fn client_get() {
    let server = Server::start_reference();
    server.put_file("notes.txt", &text());
    server.put_file("报告 2024.txt", b"report\n");
    let cwd = TempDir::new("client");
    let run = run_client(
        &server,
        cwd.path(),
        "get notes.txt\nget 报告 2024.txt\nquit\n",
    );
    run.assert_success();
    run.assert_line(&format!("downloaded notes.txt ({} bytes)", text().len()));
    run.assert_line("downloaded 报告 2024.txt (7 bytes)");
    assert_same(
        "downloaded notes.txt",
        &text(),
        &fs::read(cwd.path().join("notes.txt")).unwrap(),
    );
    assert_eq!(
        fs::read(cwd.path().join("报告 2024.txt")).unwrap(),
        b"report\n"
    );
    assert_eq!(
        dir_names(cwd.path()).len(),
        2,
        "stray files in the client's directory"
    );
}

#[test]
fn client_get_binary() {
    let server = Server::start_reference();
    let large = random(3 * MIB, 8);
    server.put_file("data.bin", &binary());
    server.put_file("large.bin", &large);
    server.put_file("empty", b"");
    let cwd = TempDir::new("client");
    let run = run_client(
        &server,
        cwd.path(),
        "get data.bin\nget large.bin\nget empty\nquit\n",
    );
    run.assert_success();
    run.assert_line(&format!("downloaded data.bin ({} bytes)", binary().len()));
    assert_same(
        "downloaded data.bin",
        &binary(),
        &fs::read(cwd.path().join("data.bin")).unwrap(),
    );
    assert_same(
        "downloaded large.bin",
        &large,
        &fs::read(cwd.path().join("large.bin")).unwrap(),
    );
    assert_eq!(fs::read(cwd.path().join("empty")).unwrap(), b"");
}

#[test]
fn client_put() {
    let server = Server::start_reference();
    let cwd = TempDir::new("client");
    let elsewhere = TempDir::new("client-files");
    fs::write(elsewhere.path().join("notes.txt"), text()).unwrap();
    fs::create_dir_all(cwd.path().join("sub/dir")).unwrap();
    fs::write(cwd.path().join("sub/dir/报告 2024.txt"), b"report\n").unwrap();
    let input = format!(
        "put {}\nput sub/dir/报告 2024.txt\nquit\n",
        elsewhere.path().join("notes.txt").display()
    );
    let run = run_client(&server, cwd.path(), &input);
    run.assert_success();
    run.assert_line(&format!("uploaded notes.txt ({} bytes)", text().len()));
    run.assert_line("uploaded 报告 2024.txt (7 bytes)");
    assert_same(
        "uploaded notes.txt",
        &text(),
        &server.read_file("notes.txt"),
    );
    assert_eq!(server.read_file("报告 2024.txt"), b"report\n");
}

#[test]
fn client_put_binary() {
    let server = Server::start_reference();
    let cwd = TempDir::new("client");
    let large = random(3 * MIB, 9);
    fs::write(cwd.path().join("data.bin"), binary()).unwrap();
    fs::write(cwd.path().join("large.bin"), &large).unwrap();
    let run = run_client(&server, cwd.path(), "put data.bin\nput large.bin\nquit\n");
    run.assert_success();
    run.assert_line(&format!("uploaded data.bin ({} bytes)", binary().len()));
    assert_same(
        "uploaded data.bin",
        &binary(),
        &server.read_file("data.bin"),
    );
    assert_same("uploaded large.bin", &large, &server.read_file("large.bin"));
}

#[test]
fn client_get_missing() {
    let server = Server::start_reference();
    server.put_file("a.txt", b"a");
    let cwd = TempDir::new("client");
    let run = run_client(
        &server,
        cwd.path(),
        "get missing.txt\nget ../a.txt\nput no-such-local-file\nlist\nget a.txt\nquit\n",
    );
    run.assert_success();
    // The reference server's reason for a missing file.
    assert!(
        run.output.contains("no such file"),
        "the server's reason is not shown:\n{}",
        run.output
    );
    assert!(
        run.output.contains("error"),
        "no error shown:\n{}",
        run.output
    );
    run.assert_line("a.txt");
    run.assert_line("downloaded a.txt (1 bytes)");
    assert_eq!(
        dir_names(cwd.path()),
        ["a.txt".to_string()].into_iter().collect(),
        "a failed get left a file"
    );
    assert!(!server.root.path().join("a.txt").exists());
}

#[test]
fn client_quit() {
    let server = Server::start_reference();
    let cwd = TempDir::new("client");
    fs::write(cwd.path().join("x.txt"), b"x").unwrap();
    // `quit` ends the session: later commands are not run.
    let run = run_client(&server, cwd.path(), "quit\nput x.txt\n");
    run.assert_success();
    assert!(
        !server.lib.join("x.txt").exists(),
        "ran a command after quit"
    );
    // End of input ends it too.
    let run = run_client(&server, cwd.path(), "list\n");
    run.assert_success();
    let run = run_client(&server, cwd.path(), "");
    run.assert_success();
    assert!(run.output.contains("ftp> "), "no prompt:\n{}", run.output);
}
