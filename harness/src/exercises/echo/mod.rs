//! A test exercise (registered only in the harness's own tests): the program prints
//! `hello` and exits. It is the smallest complete exercise, and the proof that adding one
//! is this folder plus its registry line (see the README's "Adding an exercise").

use crate::tr;
use std::time::Instant;

use serde::Deserialize;

use crate::config::{invalid, ConfigError};
use crate::grading::evidence::verdict;
use crate::grading::{Check, CheckDoc, Exercise, Graded, Job, Program};
use crate::report::{CheckOutcome, Status};
use crate::supervise::session::{Exit, Session};
use crate::supervise::spawn::Launch;

/// The exercise's own settings (the tables every exercise has are the driver's).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EchoConfig {
    submission: Names,
    timing: Timing,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Names {
    python_entry: String,
    binary_entry: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Timing {
    exit_ms: u64,
}

pub struct Echo;

impl Exercise for Echo {
    type Config = EchoConfig;
    const NAME: &'static str = "echo";
    const SHIPPED: &'static str = include_str!("../../../../tests/exercises/echo/exercise.toml");

    fn checks() -> Vec<CheckDoc> {
        table().iter().map(|c| c.doc).collect()
    }

    fn programs(cfg: &EchoConfig) -> Vec<Program> {
        let n = &cfg.submission;
        vec![Program::new(&n.python_entry, &n.binary_entry)]
    }

    fn validate(cfg: &EchoConfig, source: &str) -> Result<(), ConfigError> {
        if cfg.timing.exit_ms == 0 {
            return Err(invalid(source, "timing.exit_ms", tr!("must be at least 1")));
        }
        Ok(())
    }

    fn grade(cfg: &EchoConfig, job: &mut Job) -> Result<Graded, String> {
        let prepared = match job.found.first_mut().and_then(Option::take) {
            Some(found) => found?,
            None => return Err(tr!("no echo program").into()),
        };
        let mut run = Run {
            cfg,
            launch: prepared.launch.clone(),
            seen: None,
        };
        job.checks.run(&table(), &mut run);
        Ok(Graded {
            entry: prepared.info.entry.clone(),
            command: prepared.info.command.clone(),
            interpreter: prepared.interpreter.clone(),
            runs: 1,
            isolation: Vec::new(),
            containment: Default::default(),
            workdirs: vec![prepared.workdir.path().display().to_string()],
        })
    }
}

/// What the checks work on: the program, run once, on the first check that needs it.
struct Run<'a> {
    cfg: &'a EchoConfig,
    launch: Launch,
    seen: Option<Result<Seen, String>>,
}

/// What one run of the program showed.
struct Seen {
    exit: Option<Exit>,
    output: String,
}

impl Run<'_> {
    fn seen(&mut self) -> &Result<Seen, String> {
        let (cfg, launch) = (self.cfg, &self.launch);
        self.seen.get_or_insert_with(|| {
            let deadline = Instant::now() + std::time::Duration::from_millis(cfg.timing.exit_ms);
            let mut session =
                Session::start(launch, 1 << 16, deadline).map_err(|e| e.to_string())?;
            let asks = |s: &Session| String::from_utf8_lossy(s.transcript.since(0)).contains(PANIC);
            let exit = session.wait_until(deadline, |s| {
                s.program_exit().map(Some).or(asks(s).then_some(None))
            });
            // The test-only switch: a grader bug on purpose, with the program still running.
            assert!(!asks(&session), "asked to panic");
            let exit = exit.flatten();
            let output = String::from_utf8_lossy(session.transcript.since(0)).into_owned();
            session.finish(deadline);
            Ok(Seen { exit, output })
        })
    }
}

/// A program that prints this makes the first check panic (a grader bug on purpose, for
/// the test that a panic costs the grading one `error` verdict and nothing else).
const PANIC: &str = "please panic";

fn table<'a>() -> [Check<Run<'a>>; 2] {
    [
        Check {
            doc: CheckDoc::new(
                "greets",
                "the program prints hello and exits with status 0",
                "Runs the program in a terminal and waits for it to exit.",
                &[
                    "it prints something else",
                    "it does not exit, or exits non-zero",
                ],
                "print(\"hello\") and return from main.",
            )
            .unmet("skipped: the program did not greet (see greets)"),
            judge: greets,
        },
        Check {
            doc: CheckDoc::new(
                "one-line",
                "the program prints exactly one line",
                "Counts the lines the program printed.",
                &["it prints more than hello", "its line has no newline"],
                "print the one line, with its newline, and nothing else.",
            )
            .needing(&["greets"]),
            judge: one_line,
        },
    ]
}

fn greets(run: &mut Run) -> CheckOutcome {
    let seen = match run.seen() {
        Ok(s) => s,
        Err(e) => return verdict(Status::Error, e.clone()),
    };
    match (seen.exit, seen.output.contains("hello")) {
        (Some(Exit::Code(0)), true) => verdict(Status::Passed, tr!("it said hello and exited")),
        (_, false) => verdict(Status::Failed, tr!("hello was not printed")),
        (other, true) => verdict(
            Status::Failed,
            tr!("it said hello, then: {end}", end = format!("{other:?}")),
        ),
    }
}

fn one_line(run: &mut Run) -> CheckOutcome {
    let Ok(seen) = run.seen() else {
        return verdict(Status::Error, tr!("the program did not run"));
    };
    match seen.output.matches('\n').count() {
        1 if seen.output.ends_with('\n') => verdict(Status::Passed, tr!("one line")),
        n => verdict(
            Status::Failed,
            tr!(
                "{n} line ends in {output}",
                n = n,
                output = format!("{:?}", seen.output)
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use crate::grade::{grade_path, GradeOptions};
    use crate::report::Status;

    fn grade(program: &str) -> crate::report::Report {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("echo.py"), program).unwrap();
        let mut reports = grade_path(dir.path(), &GradeOptions::default()).unwrap();
        assert_eq!(reports.len(), 1, "only the echo exercise is recognised");
        reports.remove(0)
    }

    /// A grading owns its process (it is the subreaper and sweeps every descendant), so
    /// it runs in a process of its own: this test binary again, running only the test
    /// below. (`cargo nextest` gives every test its own process anyway; `cargo test` does
    /// not.)
    #[test]
    fn a_registered_exercise_is_found_graded_and_listed() {
        let inner = "exercises::echo::tests::graded_in_its_own_process";
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args([inner, "--exact", "--nocapture", "--test-threads=1"])
            .env("HARNESS_ECHO_INNER", "1")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && stdout.contains("1 passed"),
            "{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    #[test]
    fn graded_in_its_own_process() {
        if std::env::var_os("HARNESS_ECHO_INNER").is_none() {
            return; // run by the test above, in a process of its own
        }
        let good = grade("print('hello')\n");
        assert_eq!(good.exercise, "echo");
        assert_eq!(good.checks.len(), 2);
        assert_eq!(good.checks[0].id, "greets");
        assert_eq!(
            good.checks[0].title,
            "the program prints hello and exits with status 0"
        );
        assert_eq!(
            good.checks[0].status,
            Status::Passed,
            "{:?}",
            good.checks[0]
        );
        assert_eq!(
            good.checks[1].status,
            Status::Passed,
            "{:?}",
            good.checks[1]
        );
        assert_eq!((good.score, good.max_score), (3, 3));

        let bad = grade("print('bye')\n");
        assert_eq!(bad.checks[0].status, Status::Failed);
        assert_eq!(bad.checks[0].message, "hello was not printed");
        // A check whose prerequisite failed is skipped with the declared reason.
        assert_eq!(bad.checks[1].status, Status::Skipped);
        assert_eq!(
            bad.checks[1].message,
            "skipped: the program did not greet (see greets)"
        );

        let chatty = grade("print('hello')\nprint('and more')\n");
        assert_eq!(chatty.checks[0].status, Status::Passed);
        assert_eq!(chatty.checks[1].status, Status::Failed);
        assert_eq!(chatty.score, 1);

        // A panic in a check (the test-only switch) is that check's error verdict; the
        // grading goes on, and the program it left running is killed.
        let t0 = std::time::Instant::now();
        let buggy = grade("import time\nprint('please panic', flush=True)\ntime.sleep(60)\n");
        assert_eq!(buggy.checks[0].status, Status::Error);
        assert!(
            buggy.checks[0].message.contains("asked to panic")
                && buggy.checks[0].message.contains("grader bug"),
            "{}",
            buggy.checks[0].message
        );
        assert_eq!(buggy.checks[1].status, Status::Skipped);
        assert!(buggy.incomplete());
        assert!(t0.elapsed() < std::time::Duration::from_secs(30));
        assert!(crate::supervise::cleanup::descendants_except(&[]).is_empty());

        let list = crate::catalog::list(None).unwrap();
        assert!(
            list.contains("echo: print hello and exit (3 points)"),
            "{list}"
        );
        let explain = crate::catalog::explain("echo:greets", None).unwrap();
        assert!(explain.contains("print(\"hello\")"), "{explain}");
    }
}
