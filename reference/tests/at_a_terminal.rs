//! The reference programs at a real terminal, as a person would use them: a second opinion
//! that shares nothing with the grader's engine (its pty, shim and `/proc` readiness). The
//! terminal here is rexpect's: it forks the program into a new session on a fresh pty with
//! echo off, types the keys, and every wait is an `exp_*` with a timeout.
//!
//! rexpect stores each byte it reads as one `char`, so UTF-8 text is matched in that form
//! ([`as_read`]). It does not tell the child's pid: the terminal's foreground process
//! group (asked of the pty master) is the program, its only child the conductor.

use std::collections::BTreeSet;
use std::fs;
use std::os::fd::AsRawFd;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use rexpect::process::WaitStatus;
use rexpect::session::{spawn_command, PtySession};

/// Each `exp_*` gives up after this long: only a broken program or a badly overloaded
/// machine comes near it.
const TIMEOUT_MS: u64 = 10_000;
/// Interval between two looks at `/proc` while waiting for the handlers to be in place (a
/// polling interval, not a synchronisation delay).
const POLL: Duration = Duration::from_millis(1);

const LINE_GO: &str = "老司机开车了";
const LINE_BELT: &str = "系好安全带，车速有点快";
const LINE_STOP: &str = "到站了，请下车";

/// `text` as rexpect's reader holds it: one char per byte.
fn as_read(text: &str) -> String {
    text.bytes().map(char::from).collect()
}

/// Kills the processes of a failed test, so that nothing outlives it.
struct Reap(Vec<i32>);

impl Drop for Reap {
    fn drop(&mut self) {
        for &pid in &self.0 {
            // SAFETY: plain kill(2) of a process this test started (a pid already reaped by
            // its parent is at worst gone: ESRCH).
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    }
}

fn spawn(command: Command) -> PtySession {
    let mut p = spawn_command(command, Some(TIMEOUT_MS)).expect("start in a terminal");
    p.process_mut().set_kill_timeout(Some(2_000));
    p
}

/// Polls `probe` until it yields a value; panics after the timeout.
fn poll<T>(what: &str, mut probe: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(value) = probe() {
            return value;
        }
        assert!(
            start.elapsed() < Duration::from_millis(TIMEOUT_MS),
            "timed out waiting for {what}"
        );
        thread::sleep(POLL);
    }
}

/// The terminal's foreground process group: the program rexpect started.
fn foreground(p: &PtySession) -> i32 {
    let master = p.process().get_file_handle().expect("the pty master");
    poll("the program to take its terminal", || {
        // SAFETY: tcgetpgrp(3) on a descriptor we own; it only reads.
        let pgrp = unsafe { libc::tcgetpgrp(master.as_raw_fd()) };
        (pgrp > 0).then_some(pgrp)
    })
}

/// One `Name:\tvalue` field of `/proc/<pid>/status`.
fn status_field(pid: i32, name: &str) -> Option<String> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
        .map(|v| v.trim().to_owned())
}

/// Waits until `pid` catches every signal of `catches` and sleeps: from then on a key
/// cannot meet a default disposition.
fn wait_handlers(pid: i32, catches: &[libc::c_int]) {
    let want: u64 = catches.iter().map(|&s| 1u64 << (s - 1)).sum();
    poll(&format!("process {pid} to catch its signals"), || {
        let caught = u64::from_str_radix(&status_field(pid, "SigCgt")?, 16).ok()?;
        let asleep = status_field(pid, "State")?.starts_with('S');
        (caught & want == want && asleep).then_some(())
    });
}

/// Expects `line` next (nothing but line ends before it).
fn expect_line(p: &mut PtySession, line: &str) {
    let before = p
        .exp_string(&as_read(line))
        .unwrap_or_else(|e| panic!("waiting for {line:?}: {e}"));
    assert!(
        before.trim().is_empty(),
        "{before:?} printed before {line:?}"
    );
}

#[test]
fn bus_prints_the_three_lines_for_the_three_keys_and_exits_at_a_terminal() {
    let mut p = spawn(Command::new(env!("CARGO_BIN_EXE_bus")));
    let driver = foreground(&p);
    let children = format!("/proc/{driver}/task/{driver}/children");
    let conductor: i32 = poll("the conductor", || {
        fs::read_to_string(&children)
            .ok()?
            .split_whitespace()
            .next()?
            .parse()
            .ok()
    });
    let _reap = Reap(vec![conductor, driver]);
    let ready = || {
        wait_handlers(driver, &[libc::SIGUSR1, libc::SIGUSR2, libc::SIGTSTP]);
        wait_handlers(conductor, &[libc::SIGINT, libc::SIGQUIT, libc::SIGUSR1]);
    };
    ready();
    p.send_control('c').expect("type Ctrl-C");
    expect_line(&mut p, LINE_GO);
    ready();
    p.send_control('\\').expect("type Ctrl-\\");
    expect_line(&mut p, LINE_BELT);
    ready();
    p.send_control('z').expect("type Ctrl-Z");
    expect_line(&mut p, LINE_STOP);
    let rest = p
        .exp_eof()
        .expect("the terminal closes when both have left");
    assert!(
        rest.trim().is_empty(),
        "{rest:?} printed after the last line"
    );
    match p.process().wait().expect("the driver's status") {
        WaitStatus::Exited(_, 0) => {}
        other => panic!("the driver ended with {other:?}, not status 0"),
    }
    // The conductor left first and was reaped by the driver: it is gone.
    assert!(
        status_field(conductor, "State").is_none_or(|s| !s.starts_with('Z')),
        "the conductor is left as a zombie"
    );
}

#[test]
fn fileclient_prompts_and_lists_the_reference_servers_library_at_a_terminal() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let lib = dir.path().join("lib");
    fs::create_dir(&lib).unwrap();
    let names = ["hello.txt", "my notes.txt", "报告.txt"];
    for name in names {
        fs::write(lib.join(name), name).unwrap();
    }
    fs::write(lib.join(".hidden"), "not listed").unwrap();

    // The server in a terminal of its own; a port taken between the look and the bind is
    // tried again.
    let (mut server, port) = (0..20)
        .find_map(|_| {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("a free port")
                .port();
            let mut cmd = Command::new(env!("CARGO_BIN_EXE_fileserver"));
            cmd.arg(port.to_string()).arg(&lib);
            let mut s = spawn(cmd);
            s.exp_string(&format!("listening on 127.0.0.1:{port}"))
                .ok()
                .map(|_| (s, port))
        })
        .expect("the reference server listens");

    let mut client = Command::new(env!("CARGO_BIN_EXE_fileclient"));
    client.arg("127.0.0.1").arg(port.to_string());
    let mut c = spawn(client);
    c.exp_string("ftp> ").expect("the prompt");
    c.send_line("list").expect("type list");
    let listing = c.exp_string("ftp> ").expect("the listing, then the prompt");
    let shown: BTreeSet<String> = listing
        .split("\r\n")
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect();
    let want: BTreeSet<String> = names.iter().map(|n| as_read(n)).collect();
    assert_eq!(shown, want, "the listing at the terminal");
    c.send_line("quit").expect("type quit");
    c.exp_eof().expect("the client leaves on quit");
    match c.process().wait().expect("the client's status") {
        WaitStatus::Exited(_, 0) => {}
        other => panic!("the client ended with {other:?}, not status 0"),
    }
    // SIGTERM: the server removes what is unfinished and exits 0.
    match server.process_mut().exit().expect("stop the server") {
        WaitStatus::Exited(_, 0) => {}
        other => panic!("the server ended with {other:?} on SIGTERM, not status 0"),
    }
}
