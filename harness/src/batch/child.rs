//! One grading in a child process (`harness grade PATH --format json`), with a timeout as a
//! safety net: a grading that outlives it is killed, and whatever it leaves behind (its
//! student's processes, re-parented to us since we are a subreaper) is killed and reaped.
//!
//! The processes themselves are handled by `supervise` (start in a process group of its own,
//! wait on a pidfd, kill, sweep orphans). The rest of the batch runner only sees
//! [`Pool::grade`] and [`Outcome`].

use crate::tr;
use std::collections::HashSet;
use std::io::Read;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::{Student, StudentResult};
use crate::grade::GradeOptions;
use crate::report::Report;
use crate::supervise::process::Process;
use crate::supervise::{cleanup, interrupt};
use crate::text::escape;

/// How much of a child's standard error is kept for an error row.
const STDERR_CAP: usize = 16 * 1024;
/// How much of a child's standard output (its JSON report) is read at most.
const STDOUT_CAP: usize = 64 * 1024 * 1024;
/// A grading past its timeout is killed at once: the timeout was its grace period.
const KILL_GRACE: Duration = Duration::ZERO;

/// How a child grading ended.
#[derive(Debug)]
pub enum Outcome {
    /// It exited by itself (0, 1 or 2), or was killed by a signal not ours.
    Exited {
        code: Option<i32>,
        signal: Option<i32>,
        stdout: Vec<u8>,
        stderr: Vec<u8>,
    },
    /// It ran past the timeout and was killed.
    TimedOut { after: Duration, stderr: Vec<u8> },
    /// It could not be started.
    NotStarted(String),
}

/// The grading children alive, so that a sweep for orphans never touches one of them.
#[derive(Debug, Default)]
pub struct Pool {
    live: Mutex<HashSet<i32>>,
}

impl Pool {
    pub fn new() -> Self {
        Pool::default()
    }

    /// Grades `path` in a child process and waits for it, at most `timeout`.
    pub fn grade(
        &self,
        exe: &Path,
        path: &Path,
        opts: &GradeOptions,
        timeout: Duration,
    ) -> Outcome {
        let mut cmd = Command::new(exe);
        // `--submission`: a student's folder is graded as one submission, whatever its layout.
        cmd.arg("grade")
            .arg(path)
            .arg("--submission")
            .args(["--format", "json", "--python", &opts.python])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .env("NO_COLOR", "1");
        if opts.stable {
            cmd.arg("--stable");
        }
        // The class's language, chosen once (`--lang` or the config's `[report] lang`).
        cmd.args(["--lang", crate::i18n::current().name()]);
        if let Some(c) = &opts.config {
            cmd.arg("--config").arg(c);
        }
        if let Some(e) = &opts.exercise {
            cmd.args(["--exercise", e.as_str()]);
        }
        let started = Instant::now();
        // Spawned under the lock, so a sweep never sees a grader it does not know, and under
        // a start permit, so an interrupt tells every grader to stop.
        let spawned = {
            let mut live = self.live.lock().unwrap_or_else(|e| e.into_inner());
            match interrupt::permit_to_start() {
                // Its own process group: a kill reaches the grader and any helper it forked.
                Ok(permit) => {
                    let spawned = Process::start_group_leader(&mut cmd, &permit);
                    if let Ok(child) = &spawned {
                        live.insert(child.pid().as_raw());
                        interrupt::register_grader(child.pid().as_raw());
                    }
                    spawned
                }
                Err(e) => Err(e),
            }
        };
        let mut child = match spawned {
            Ok(c) => c,
            Err(e) => return Outcome::NotStarted(tr!("cannot start the grader: {e}", e = e)),
        };
        let pid = child.pid().as_raw();
        let stdout = reader(child.take_stdout(), STDOUT_CAP);
        let stderr = reader(child.take_stderr(), STDERR_CAP);

        let exited_in_time = child.wait_for_exit(started + timeout);
        let status = if exited_in_time {
            child.wait()
        } else {
            child.terminate(KILL_GRACE)
        };
        {
            let mut live = self.live.lock().unwrap_or_else(|e| e.into_inner());
            live.remove(&pid);
            interrupt::unregister_grader(pid);
            // The orphans of a grader that was killed (or that left something behind), and
            // its run directory; under the lock, so no grader can have taken its pid since.
            cleanup::kill_orphans(&live);
            cleanup::remove_run_dirs_of(pid);
        }
        let stdout = stdout.join().unwrap_or_default();
        let stderr = stderr.join().unwrap_or_default();
        if !exited_in_time {
            return Outcome::TimedOut {
                after: timeout,
                stderr,
            };
        }
        match status {
            Ok(s) => Outcome::Exited {
                code: s.code(),
                signal: s.signal(),
                stdout,
                stderr,
            },
            Err(e) => Outcome::NotStarted(tr!("cannot wait for the grader: {e}", e = e)),
        }
    }
}

/// Reads a pipe to its end on a thread, keeping at most `cap` bytes (the rest is drained).
fn reader<R: Read + Send + 'static>(
    pipe: Option<R>,
    cap: usize,
) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut kept = Vec::new();
        let Some(mut pipe) = pipe else {
            return kept;
        };
        let mut buf = [0u8; 8192];
        loop {
            match pipe.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    let room = cap.saturating_sub(kept.len());
                    kept.extend_from_slice(&buf[..n.min(room)]);
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => break,
            }
        }
        kept
    })
}

/// A child's outcome as a student's result; the JSON report is also written to
/// `reports_dir/<student>.json` when asked.
pub fn to_result(student: &Student, outcome: Outcome, reports_dir: Option<&Path>) -> StudentResult {
    let mut result = StudentResult {
        student: student.name.clone(),
        path: escape::lossy(student.path.as_os_str().as_encoded_bytes()),
        reports: Vec::new(),
        error: None,
        grader_fault: false,
    };
    let mut raw_report: Option<Vec<u8>> = None;
    // Known by where it is made, not by its words (they are in the class's language).
    let faulted = std::cell::Cell::new(false);
    let fault = |cause: String| {
        faulted.set(true);
        Some(tr!(
            "grader error: {cause}. This is a fault of the grader, not of the submission: \
             please report it as a bug, with this message and the submission",
            cause = cause
        ))
    };
    match outcome {
        Outcome::NotStarted(why) => {
            result.error = fault(why);
        }
        Outcome::TimedOut { after, stderr } => {
            result.error = Some(with_stderr(
                &tr!(
                    "the grading took longer than {after} s and was stopped",
                    after = after.as_secs()
                ),
                &stderr,
            ));
        }
        Outcome::Exited {
            code,
            signal,
            stdout,
            stderr,
        } => match (code, signal) {
            (Some(0 | 1), _) => match parse_reports(&stdout) {
                Ok(reports) => {
                    result.reports = reports;
                    raw_report = Some(stdout);
                }
                Err(e) => {
                    result.error = fault(with_stderr(
                        &tr!("its report could not be read ({e})", e = e),
                        &stderr,
                    ))
                }
            },
            // Graded, but a check could not be carried out: the report says which.
            (Some(2), _) if parse_reports(&stdout).is_ok_and(|r| !r.is_empty()) => {
                result.reports = parse_reports(&stdout).unwrap_or_default();
                raw_report = Some(stdout);
            }
            // Not gradable (no program, not executable): the grader says why, about a
            // submission the row already names.
            (Some(2), _) => {
                let text = lines(trim_prefix(&stderr));
                // `path: ` or, in Chinese, `path：`.
                let own = student.path.display().to_string();
                let text = text
                    .strip_prefix(&own)
                    .and_then(|t| t.strip_prefix(": ").or_else(|| t.strip_prefix('：')))
                    .unwrap_or(&text)
                    .to_string();
                result.error = Some(if text.is_empty() {
                    tr!("could not be graded").into()
                } else {
                    text
                });
            }
            (Some(c), _) => {
                result.error = fault(with_stderr(&tr!("it exited with {c}", c = c), &stderr))
            }
            (None, Some(sig)) => {
                result.error = fault(with_stderr(
                    &tr!("it was killed by signal {sig}", sig = sig),
                    &stderr,
                ))
            }
            (None, None) => result.error = fault(tr!("it ended in an unknown way").into()),
        },
    }
    result.grader_fault = faulted.get();
    if let Some(dir) = reports_dir {
        let file = dir.join(format!("{}.json", file_stem(&student.name)));
        let bytes = match raw_report {
            Some(b) => b,
            None => {
                let mut s = serde_json::to_string_pretty(&result).unwrap_or_default();
                s.push('\n');
                s.into_bytes()
            }
        };
        if let Err(e) = std::fs::write(&file, bytes) {
            eprintln!("harness: {}: {e}", file.display());
        }
    }
    result
}

/// The reports printed by `harness grade --format json`: one object, or an array.
pub fn parse_reports(json: &[u8]) -> Result<Vec<Report>, String> {
    let value: serde_json::Value = serde_json::from_slice(json).map_err(|e| e.to_string())?;
    if value.is_array() {
        serde_json::from_value(value).map_err(|e| e.to_string())
    } else {
        serde_json::from_value(value)
            .map(|r| vec![r])
            .map_err(|e| e.to_string())
    }
}

/// `harness: ` at the start of the grader's message says nothing in a table.
fn trim_prefix(stderr: &[u8]) -> &[u8] {
    let s = stderr.trim_ascii();
    s.strip_prefix(b"harness: ").unwrap_or(s)
}

fn with_stderr(what: &str, stderr: &[u8]) -> String {
    let tail = trim_prefix(stderr);
    if tail.is_empty() {
        return what.to_string();
    }
    // The last line says most; keep it short.
    let last = tail.rsplit(|&b| b == b'\n').next().unwrap_or(tail);
    let last = &last[last.len().saturating_sub(300)..];
    format!("{what}: {}", escape::one_line(last))
}

/// A message of several lines on one: each line escaped, joined by `; `.
fn lines(text: &[u8]) -> String {
    text.split(|&b| b == b'\n')
        .map(|l| escape::one_line(l.trim_ascii()))
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}

/// A file name from a student's (already escaped) name.
pub fn file_stem(name: &str) -> String {
    let stem: String = name
        .chars()
        .map(|c| {
            if c == '/' || c == '\\' || c == '\0' {
                '_'
            } else {
                c
            }
        })
        .collect();
    match stem.as_str() {
        "" | "." | ".." => format!("_{stem}"),
        _ => stem,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn student() -> Student {
        Student {
            name: "ivan".into(),
            path: "roster/ivan".into(),
        }
    }

    fn exited(code: Option<i32>, signal: Option<i32>, stdout: &str, stderr: &str) -> Outcome {
        Outcome::Exited {
            code,
            signal,
            stdout: stdout.as_bytes().to_vec(),
            stderr: stderr.as_bytes().to_vec(),
        }
    }

    #[test]
    fn a_grader_failure_is_a_bug_row_never_a_students_result() {
        for outcome in [
            exited(Some(0), None, "{\"kind\": \"class\"}", ""),
            exited(
                Some(101),
                None,
                "",
                "thread 'main' panicked at src/x.rs:1:1:\noops\n",
            ),
            exited(None, Some(11), "", ""),
            Outcome::NotStarted("cannot start the grader: EAGAIN".into()),
        ] {
            let r = to_result(&student(), outcome, None);
            let e = r.error.as_deref().unwrap();
            assert!(r.grader_fault && r.reports.is_empty(), "{r:?}");
            assert!(
                e.starts_with("grader error: ") && e.contains("please report it as a bug"),
                "{e}"
            );
            assert!(!e.contains('\n'), "{e}");
        }
    }

    #[test]
    fn a_grader_failure_is_a_bug_row_in_chinese_too() {
        let r = crate::i18n::with(crate::i18n::Lang::Zh, || {
            to_result(&student(), exited(None, Some(11), "", ""), None)
        });
        let e = r.error.as_deref().unwrap();
        assert!(r.grader_fault, "{r:?}");
        assert!(e.starts_with("评分程序错误：") && e.contains("bug"), "{e}");
    }

    #[test]
    fn a_submission_that_cannot_be_graded_says_why_on_one_line() {
        let stderr = "harness: roster/ivan: no program found (looked for bus.py or bus); it holds: a/\nsecond line\n";
        let r = to_result(&student(), exited(Some(2), None, "", stderr), None);
        assert!(!r.grader_fault);
        assert_eq!(
            r.error.as_deref(),
            Some("no program found (looked for bus.py or bus); it holds: a/; second line")
        );
    }
}
