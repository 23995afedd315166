//! A test exercise (registered only in the harness's own tests): the program prints
//! `hello` and exits. It is the smallest complete exercise, and the proof that adding one
//! is this folder plus its registry line (see the README's "Adding an exercise").

use std::time::Instant;

use serde::Deserialize;

use crate::config::{invalid, ConfigError};
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
            return Err(invalid(source, "timing.exit_ms", "must be at least 1"));
        }
        Ok(())
    }

    fn grade(cfg: &EchoConfig, job: &mut Job) -> Result<Graded, String> {
        let prepared = match job.found.first_mut().and_then(Option::take) {
            Some(found) => found?,
            None => return Err("no echo program".into()),
        };
        let mut run = Run {
            cfg,
            launch: prepared.launch.clone(),
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

/// What the checks work on.
struct Run<'a> {
    cfg: &'a EchoConfig,
    launch: Launch,
}

fn table<'a>() -> [Check<Run<'a>>; 1] {
    [Check {
        doc: CheckDoc::new(
            "greets",
            "the program prints hello and exits with status 0",
            "Runs the program in a terminal and waits for it to exit.",
            &[
                "it prints something else",
                "it does not exit, or exits non-zero",
            ],
            "print(\"hello\") and return from main.",
        ),
        judge: greets,
    }]
}

fn greets(run: &mut Run) -> CheckOutcome {
    let deadline = Instant::now() + std::time::Duration::from_millis(run.cfg.timing.exit_ms);
    let mut session = match Session::start(&run.launch, 1 << 16, deadline) {
        Ok(s) => s,
        Err(e) => return CheckOutcome::new("", "", Status::Error, 0, e.to_string()),
    };
    let exit = session.wait_until(deadline, |s| s.driver_exit());
    let said_hello = String::from_utf8_lossy(session.transcript.since(0)).contains("hello");
    session.finish(deadline);
    let (status, message) = match (exit, said_hello) {
        (Some(Exit::Code(0)), true) => (Status::Passed, "it said hello and exited".to_string()),
        (_, false) => (Status::Failed, "hello was not printed".to_string()),
        (other, true) => (Status::Failed, format!("it said hello, then: {other:?}")),
    };
    CheckOutcome::new("", "", status, 0, message)
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
        assert_eq!(good.checks.len(), 1);
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
        assert_eq!((good.score, good.max_score), (1, 1));

        let bad = grade("print('bye')\n");
        assert_eq!(bad.checks[0].status, Status::Failed);
        assert_eq!(bad.checks[0].message, "hello was not printed");

        let list = crate::catalog::list(None).unwrap();
        assert!(
            list.contains("echo: print hello and exit (1 points)"),
            "{list}"
        );
        let explain = crate::catalog::explain("echo:greets", None).unwrap();
        assert!(explain.contains("print(\"hello\")"), "{explain}");
    }
}
