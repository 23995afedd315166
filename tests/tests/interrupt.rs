//! Ctrl-C (SIGINT), a cancelled CI job (SIGTERM) and a closed terminal (SIGHUP) in the middle
//! of a grading: the grader stops within moments, exits with 128 + the signal, writes no
//! report, and leaves nothing behind: no process, no control group, no temporary directory.
//! Without this the submission's processes, in sessions and groups of their own, ran on.

use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use e2e::{cgroups_of, harness_bin, processes_under, workspace_root};

/// A submission that never ends by itself: only SIGKILL stops it (15 s of grading).
const HANGING: &str = "tests/fixtures/hostile/ignores-signals";
/// How long the grader may take to stop once signalled (it takes milliseconds; the machine
/// may be loaded).
const STOP_LIMIT: Duration = Duration::from_secs(20);

/// A case directory: the submissions (or a roster) and `tmp/`, the grader's TMPDIR, below
/// which every run directory, and so every student process's working directory, lies.
struct Case {
    dir: tempfile::TempDir,
}

impl Case {
    fn new(copies: &[(&str, &str)]) -> Case {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("tmp")).unwrap();
        for (name, from) in copies {
            let to = dir.path().join("class").join(name);
            std::fs::create_dir_all(&to).unwrap();
            for e in std::fs::read_dir(workspace_root().join(from)).unwrap() {
                let e = e.unwrap();
                std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
            }
        }
        Case { dir }
    }

    fn path(&self, rel: &str) -> std::path::PathBuf {
        self.dir.path().join(rel)
    }

    /// Starts `harness grade <target> <args>`, with SIGINT left as the test got it or ignored.
    fn start(&self, target: &str, args: &[&str], ignore_sigint: bool) -> Child {
        let mut cmd = Command::new(harness_bin());
        cmd.current_dir(workspace_root())
            .arg("grade")
            .arg(self.path(target))
            .args(args)
            .env("TMPDIR", self.path("tmp"))
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                let sigint = if ignore_sigint {
                    libc::SIG_IGN
                } else {
                    libc::SIG_DFL
                };
                libc::signal(libc::SIGINT, sigint);
                Ok(())
            });
        }
        cmd.spawn().expect("run harness")
    }

    /// Waits until `n` processes of the submission(s) run (by working directory).
    fn await_running(&self, n: usize, grader: &mut Child) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while processes_under(&self.path("tmp")).len() < n {
            if let Ok(Some(st)) = grader.try_wait() {
                panic!("the grader ended ({st}) before the submission ran");
            }
            assert!(Instant::now() < deadline, "the submission never started");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// What is left of the gradings once the grader has exited.
    fn leftovers(&self, grader_pid: u32) -> Vec<String> {
        let mut left = processes_under(&self.path("tmp"));
        left.extend(
            cgroups_of(grader_pid)
                .into_iter()
                .map(|g| format!("cgroup {g}")),
        );
        for e in std::fs::read_dir(self.path("tmp")).unwrap() {
            left.push(format!("temporary {}", e.unwrap().path().display()));
        }
        left
    }
}

/// Sends `sig` and waits for the grader to end, within [`STOP_LIMIT`].
fn signal_and_wait(grader: Child, sig: i32) -> (Output, Duration) {
    // SAFETY: kill with a pid we own.
    assert_eq!(unsafe { libc::kill(grader.id() as i32, sig) }, 0);
    let sent = Instant::now();
    let pid = grader.id() as i32;
    // SAFETY: plain system call; the descriptor is closed below.
    let pidfd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) } as i32;
    assert!(pidfd >= 0, "pidfd_open");
    let waiter = std::thread::spawn(move || grader.wait_with_output());
    let mut poll = libc::pollfd {
        fd: pidfd,
        events: libc::POLLIN,
        revents: 0,
    };
    let ready = loop {
        let left = STOP_LIMIT.saturating_sub(sent.elapsed()).as_millis() as i32;
        // SAFETY: one pollfd we own; the pidfd becomes readable when the grader exits.
        let r = unsafe { libc::poll(&mut poll, 1, left) };
        if r >= 0 || std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
            break r;
        }
    };
    unsafe { libc::close(pidfd) };
    if ready != 1 {
        // SAFETY: as above; a grader that does not stop fails the test, not hangs it.
        unsafe { libc::kill(pid, libc::SIGKILL) };
        panic!("the grader did not stop within {STOP_LIMIT:?} of the signal");
    }
    let out = waiter.join().unwrap().expect("wait");
    (out, sent.elapsed())
}

fn assert_stopped_cleanly(case: &Case, out: &Output, grader_pid: u32, sig: &str, code: i32) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "stderr:\n{stderr}");
    assert!(
        stderr.contains(&format!("interrupted by {sig}")),
        "stderr:\n{stderr}"
    );
    assert!(!stderr.contains("panicked"), "stderr:\n{stderr}");
    assert!(
        out.stdout.is_empty(),
        "an interrupted grading wrote a report:\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let left = case.leftovers(grader_pid);
    assert!(left.is_empty(), "left behind: {left:#?}");
}

#[test]
fn sigint_stops_a_grading_and_leaves_nothing() {
    let case = Case::new(&[("hangs", HANGING)]);
    let mut grader = case.start("class/hangs", &[], false);
    let pid = grader.id();
    case.await_running(2, &mut grader);
    let (out, took) = signal_and_wait(grader, libc::SIGINT);
    eprintln!("stopped {took:?} after SIGINT");
    assert_stopped_cleanly(&case, &out, pid, "SIGINT", 130);
}

#[test]
fn sigterm_stops_a_file_server_grading() {
    let case = Case::new(&[("server", "exercises/fileserver/samples/correct-threads")]);
    let mut grader = case.start("class/server", &["--format", "json"], false);
    let pid = grader.id();
    case.await_running(1, &mut grader);
    let (out, took) = signal_and_wait(grader, libc::SIGTERM);
    eprintln!("stopped {took:?} after SIGTERM");
    // The grading may have finished just before the signal: then it is an ordinary one.
    if out.status.code() == Some(143) {
        assert_stopped_cleanly(&case, &out, pid, "SIGTERM", 143);
    } else {
        assert!(case.leftovers(pid).is_empty());
    }
}

#[test]
fn sighup_stops_a_class_and_every_grader_in_it() {
    let case = Case::new(&[("a", HANGING), ("b", HANGING), ("c", HANGING)]);
    let mut grader = case.start("class", &["--jobs", "2"], false);
    let pid = grader.id();
    // Two gradings at a time, two processes each.
    case.await_running(4, &mut grader);
    let (out, took) = signal_and_wait(grader, libc::SIGHUP);
    eprintln!("stopped {took:?} after SIGHUP");
    assert_stopped_cleanly(&case, &out, pid, "SIGHUP", 129);
}

#[test]
fn sigterm_stops_a_class_and_writes_no_report_file_for_the_gradings_it_cut_short() {
    let case = Case::new(&[("a", HANGING), ("b", HANGING)]);
    let reports = case.path("reports");
    let mut grader = case.start(
        "class",
        &["--reports-dir", reports.to_str().unwrap()],
        false,
    );
    let pid = grader.id();
    case.await_running(2, &mut grader);
    let (out, _) = signal_and_wait(grader, libc::SIGTERM);
    assert_stopped_cleanly(&case, &out, pid, "SIGTERM", 143);
    let written: Vec<_> = std::fs::read_dir(&reports)
        .map(|d| d.map(|e| e.unwrap().file_name()).collect())
        .unwrap_or_default();
    assert!(written.is_empty(), "report files: {written:?}");
}

#[test]
fn a_sigint_ignored_when_the_grader_started_stays_ignored() {
    // As for a background job of a script (`harness grade … &`): Ctrl-C is not for it.
    let case = Case::new(&[("correct", "exercises/bus/samples/correct-fork")]);
    let mut grader = case.start("class/correct", &[], true);
    let pid = grader.id();
    case.await_running(1, &mut grader);
    // SAFETY: kill with a pid we own.
    unsafe { libc::kill(pid as i32, libc::SIGINT) };
    let out = grader.wait_with_output().expect("wait");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "report:\n{stdout}");
    assert!(stdout.contains("Score: 100/100"), "report:\n{stdout}");
    assert!(case.leftovers(pid).is_empty());
}
