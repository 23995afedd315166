//! Smoke test of the reference bus program without a terminal: the test plays the keyboard by
//! sending each key's signal with `kill` to the process(es) that would get it, and reads the
//! lines from a pipe. Every wait polls real state (the `/proc` files or the output channel)
//! against a deadline; nothing relies on a fixed sleep.

use std::fs;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::thread;
use std::time::{Duration, Instant};

const LINE_GO: &str = "老司机开车了";
const LINE_BELT: &str = "系好安全带，车速有点快";
const LINE_STOP: &str = "到站了，请下车";

/// Generous: only a broken program or a badly overloaded machine comes near it.
const DEADLINE: Duration = Duration::from_secs(10);
/// Interval between two looks at `/proc` (a polling interval, not a synchronisation delay).
const POLL: Duration = Duration::from_millis(1);

/// A running bus program; killed (both processes) when dropped, so a failing test leaves
/// nothing behind.
struct Bus {
    driver: Child,
    conductor: i32,
    lines: Receiver<String>,
}

impl Bus {
    /// Starts the program, and finds the conductor as the driver's only child.
    fn start() -> Bus {
        let mut driver = Command::new(env!("CARGO_BIN_EXE_bus"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the bus program");
        let stdout = driver.stdout.take().expect("piped stdout");
        let (tx, lines) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let pid = driver.id() as i32;
        let children = format!("/proc/{pid}/task/{pid}/children");
        let conductor = poll(&format!("the conductor to appear in {children}"), || {
            let text = fs::read_to_string(&children).ok()?;
            text.split_whitespace().next()?.parse().ok()
        });
        Bus {
            driver,
            conductor,
            lines,
        }
    }

    fn driver_pid(&self) -> i32 {
        self.driver.id() as i32
    }

    /// Waits until both processes have their handlers in place and are asleep in their
    /// waiting system call: from then on no signal can hit a default disposition.
    fn wait_ready(&self) {
        let driver_catches = [libc::SIGUSR1, libc::SIGUSR2, libc::SIGTSTP];
        let conductor_catches = [libc::SIGINT, libc::SIGQUIT, libc::SIGUSR1];
        wait_idle(self.driver_pid(), &driver_catches, libc::SYS_wait4);
        wait_idle(self.conductor, &conductor_catches, libc::SYS_rt_sigsuspend);
    }

    /// The next line of output, or a panic naming what was expected.
    fn next_line(&self, expected: &str) -> String {
        self.lines
            .recv_timeout(DEADLINE)
            .unwrap_or_else(|e| panic!("no line while waiting for {expected:?}: {e}"))
    }

    /// Waits for the driver to exit and returns its status.
    fn wait_exit(&mut self) -> ExitStatus {
        let driver = &mut self.driver;
        poll("the driver to exit", || {
            driver.try_wait().expect("try_wait")
        })
    }
}

impl Drop for Bus {
    fn drop(&mut self) {
        // SAFETY: plain kill(2); the pids are ours (the driver is unreaped until wait below,
        // so its pid cannot have been reused; a conductor reaped by it is at worst gone).
        unsafe {
            libc::kill(self.conductor, libc::SIGKILL);
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// Polls `probe` until it yields a value; panics after [`DEADLINE`].
fn poll<T>(what: &str, mut probe: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(value) = probe() {
            return value;
        }
        assert!(start.elapsed() < DEADLINE, "timed out waiting for {what}");
        thread::sleep(POLL);
    }
}

/// One `Name:\tvalue` field of `/proc/<pid>/status`.
fn status_field(status: &str, name: &str) -> Option<String> {
    status
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
        .map(|v| v.trim().to_owned())
}

/// Waits until `pid` catches every signal in `catches` and is asleep in `syscall`.
fn wait_idle(pid: i32, catches: &[libc::c_int], syscall: libc::c_long) {
    let want: u64 = catches.iter().map(|&s| 1u64 << (s - 1)).sum();
    poll(
        &format!("process {pid} to be idle with its handlers"),
        || {
            let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
            let caught = u64::from_str_radix(&status_field(&status, "SigCgt")?, 16).ok()?;
            let asleep = status_field(&status, "State")?.starts_with('S');
            let call = fs::read_to_string(format!("/proc/{pid}/syscall")).ok()?;
            let in_call = call.split_whitespace().next()? == syscall.to_string();
            (caught & want == want && asleep && in_call).then_some(())
        },
    );
}

fn kill(pid: i32, sig: libc::c_int) {
    // SAFETY: plain kill(2) to a process this test started.
    let rc = unsafe { libc::kill(pid, sig) };
    assert_eq!(rc, 0, "kill({pid}, {sig})");
}

/// The full ride: each key goes to both processes, as the terminal would send it.
#[test]
fn keys_give_the_three_lines_and_the_driver_exits_last_with_0() {
    let mut bus = Bus::start();
    bus.wait_ready();
    let (driver, conductor) = (bus.driver_pid(), bus.conductor);

    for (sig, line) in [
        (libc::SIGINT, LINE_GO),
        (libc::SIGQUIT, LINE_BELT),
        (libc::SIGINT, LINE_GO),
    ] {
        kill(driver, sig);
        kill(conductor, sig);
        assert_eq!(bus.next_line(line), line);
    }

    kill(conductor, libc::SIGTSTP);
    kill(driver, libc::SIGTSTP);
    assert_eq!(bus.next_line(LINE_STOP), LINE_STOP);
    let status = bus.wait_exit();
    assert_eq!(status.code(), Some(0), "driver status {status}");
    // Both ends of the pipe are closed once both processes are gone: no more lines.
    assert!(bus.lines.recv_timeout(DEADLINE).is_err(), "extra output");
}

/// Each role on its own: SIGINT/SIGQUIT to the driver alone do nothing, the driver's lines
/// come from its SIGUSR1/SIGUSR2, and the conductor's SIGINT/SIGQUIT reach the driver.
#[test]
fn each_process_plays_its_role() {
    let mut bus = Bus::start();
    bus.wait_ready();
    let (driver, conductor) = (bus.driver_pid(), bus.conductor);

    // Ignored by the driver: had either printed or killed it, the next line would differ.
    kill(driver, libc::SIGINT);
    kill(driver, libc::SIGQUIT);
    kill(driver, libc::SIGUSR2);
    assert_eq!(bus.next_line(LINE_BELT), LINE_BELT);
    kill(driver, libc::SIGUSR1);
    assert_eq!(bus.next_line(LINE_GO), LINE_GO);
    kill(conductor, libc::SIGQUIT);
    assert_eq!(bus.next_line(LINE_BELT), LINE_BELT);
    kill(conductor, libc::SIGINT);
    assert_eq!(bus.next_line(LINE_GO), LINE_GO);

    // The conductor ignores SIGTSTP: still there to answer the driver's SIGUSR1.
    kill(conductor, libc::SIGTSTP);
    kill(conductor, libc::SIGUSR1);
    assert_eq!(bus.next_line(LINE_STOP), LINE_STOP);
    let status = bus.wait_exit();
    assert_eq!(status.code(), Some(0), "driver status {status}");
}

/// Signals sent the moment the conductor exists, before either process may have installed
/// its handlers, are held pending (blocked around fork) rather than lost or fatal.
#[test]
fn signals_right_after_fork_are_not_lost() {
    let mut bus = Bus::start();
    kill(bus.conductor, libc::SIGINT);
    assert_eq!(bus.next_line(LINE_GO), LINE_GO);
    kill(bus.driver_pid(), libc::SIGTSTP);
    assert_eq!(bus.next_line(LINE_STOP), LINE_STOP);
    let status = bus.wait_exit();
    assert_eq!(status.code(), Some(0), "driver status {status}");
}
