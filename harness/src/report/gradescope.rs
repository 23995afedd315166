//! Gradescope's `results.json` (the autograder output format): `score`, `execution_time`,
//! `output`, and one entry of `tests[]` per check with `name`, `number`, `score`,
//! `max_score`, `status` (`passed`/`failed`), `output` and `visibility`. The grader can be
//! dropped into an autograder image as it is (see docs/gradescope.md).
//!
//! A check the configured protocol cannot carry is `passed` with `max_score` 0 and the
//! reason in `output`: it is out of the grading, and Gradescope would show a `failed` test
//! in red as something the student got wrong. Every other check that did not pass (skipped
//! because the server did not start, an error, a warning) is `failed`.
//!
//! Outputs are plain text (`output_format` = `text`): Gradescope shows them as they are,
//! so nothing a student printed is interpreted as HTML or Markdown. serde escapes JSON.
//!
//! Students see this output, so it holds no path of the grading machine: the run's
//! temporary directory and the interpreter's installation are taken out (a traceback shows
//! `File "bus.py"`, as on the student's own machine), and the interpreter is named by its
//! version only.

use crate::tr;
use serde::Serialize;

use super::machine_paths::without_machine_paths;
use super::{human, junit::plain_details, Report, Status, Visibility};
use crate::text::escape;

#[derive(Debug, Serialize)]
pub struct Results {
    pub score: u32,
    /// Seconds; left out in stable mode.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub execution_time: Option<f64>,
    pub output: String,
    pub output_format: &'static str,
    pub test_output_format: &'static str,
    pub visibility: &'static str,
    pub stdout_visibility: &'static str,
    pub tests: Vec<Test>,
}

#[derive(Debug, Serialize)]
pub struct Test {
    pub name: String,
    pub number: String,
    pub score: u32,
    pub max_score: u32,
    pub status: &'static str,
    pub output: String,
    pub visibility: &'static str,
}

/// The results of one submission: all its gradings (a folder holding both exercises gives
/// tests numbered `1.x` and `2.x`, and the scores added up).
pub fn results(reports: &[Report]) -> Results {
    let several = reports.len() > 1;
    let mut tests = Vec::new();
    let mut output = String::new();
    for (e, r) in reports.iter().enumerate() {
        let shown = |text: &str| without_machine_paths(&clean(text), r);
        output.push_str(&summary_line(r));
        output.push('\n');
        for (n, c) in r.checks.iter().enumerate() {
            let (name, number) = if several {
                (
                    format!("{} {}: {}", r.exercise, c.id, c.title),
                    format!("{}.{}", e + 1, n + 1),
                )
            } else {
                (format!("{}: {}", c.id, c.title), format!("{}", n + 1))
            };
            let mut text = if !c.shows_details() {
                format!("{}\n", c.message)
            } else {
                let verdict = match c.status {
                    Status::Skipped if c.out_of_protocol() => tr!("not graded (worth no points)"),
                    Status::Skipped if c.is_consequence() => tr!("not counted again"),
                    Status::Failed if c.is_warning() => tr!("warning (worth no points)"),
                    Status::Failed => tr!("failed"),
                    Status::Skipped => tr!("not run"),
                    Status::Error => tr!("grader error"),
                    Status::Passed => tr!("passed"),
                };
                format!("{verdict}: {}", plain_details(c))
            };
            if c.shows_details() {
                if let Some(t) = &c.transcript {
                    human::render_transcript(&mut text, t, "");
                }
            }
            tests.push(Test {
                name: shown(&name),
                number,
                score: c.points,
                max_score: c.max_points,
                status: if c.status == Status::Passed || c.out_of_protocol() || c.is_consequence() {
                    "passed"
                } else {
                    "failed"
                },
                output: shown(&text),
                visibility: c.visibility.unwrap_or(Visibility::Visible).as_str(),
            });
        }
    }
    let execution_time = if reports.iter().any(|r| r.duration_ms.is_some()) {
        let ms: u64 = reports.iter().filter_map(|r| r.duration_ms).sum();
        Some(ms as f64 / 1000.0)
    } else {
        None
    };
    Results {
        score: reports.iter().map(|r| r.score).sum(),
        execution_time,
        output: clean(&output),
        output_format: "text",
        test_output_format: "text",
        visibility: "visible",
        stdout_visibility: "hidden",
        tests,
    }
}

/// The results of a submission that could not be graded: score 0, and why, so the student
/// sees the reason instead of an autograder failure.
pub fn error_results(message: &str) -> Results {
    Results {
        score: 0,
        execution_time: None,
        output: clean(&tr!(
            "Your submission could not be graded: {message}\n",
            message = message
        )),
        output_format: "text",
        test_output_format: "text",
        visibility: "visible",
        stdout_visibility: "hidden",
        tests: Vec::new(),
    }
}

pub fn render(reports: &[Report]) -> String {
    to_json(&results(reports))
}

/// The same results with the HTML report as the top-level `output` (`output_format`
/// `html`): the checks students may see, their timelines, no machine path. The tests'
/// outputs stay plain text.
pub fn render_html(reports: &[Report]) -> String {
    let mut r = results(reports);
    r.output = super::html::fragment(reports, super::html::Audience::Student);
    r.output_format = "html";
    to_json(&r)
}

pub fn to_json(results: &Results) -> String {
    let mut s = serde_json::to_string_pretty(results).unwrap_or_else(|e| {
        crate::i18n::verbatim(format!(
            "{{\"score\": 0, \"output\": \"internal error: {e}\"}}"
        ))
    });
    s.push('\n');
    s
}

fn summary_line(r: &Report) -> String {
    let failed: Vec<&str> = r
        .checks
        .iter()
        .filter(|c| c.status != Status::Passed && c.max_points > 0)
        // A hidden check is not named in what the student sees.
        .filter(|c| matches!(c.visibility, None | Some(Visibility::Visible)))
        .map(|c| c.id.as_str())
        .collect();
    let mut line = format!("{}: {}/{}", r.exercise, r.score, r.max_score);
    if !failed.is_empty() {
        let failed = failed.join(", ");
        line.push_str(&tr!(" (not passed: {failed})", failed = failed));
    }
    if let Some(i) = &r.interpreter {
        line.push_str(&tr!("; Python {version}", version = i.version));
    }
    line
}

fn clean(text: &str) -> String {
    escape::controls(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::CheckOutcome;

    fn report(checks: Vec<CheckOutcome>) -> Report {
        let mut r: Report = serde_json::from_str(
            r#"{"schema_version": 1, "exercise": "bus",
                "submission": {"path": "s", "entry": "bus.py", "command": "python3 bus.py"},
                "checks": [], "score": 0, "max_score": 0, "runs": 1}"#,
        )
        .expect("a report");
        r.checks = checks;
        r.total();
        r
    }

    #[test]
    fn hidden_checks_keep_their_points_and_are_not_named() {
        let mut secret = CheckOutcome::new("secret", "a hidden check", Status::Failed, 5, "no");
        secret.visibility = Some(Visibility::Hidden);
        let shown = CheckOutcome::new("shown", "a visible check", Status::Passed, 5, "yes");
        let r = results(&[report(vec![shown, secret])]);
        assert_eq!(r.score, 5);
        assert_eq!(r.tests[1].visibility, "hidden");
        assert_eq!(r.tests[1].status, "failed");
        assert_eq!(r.tests[0].visibility, "visible");
        assert!(!r.output.contains("secret"), "{}", r.output);
    }

    #[test]
    fn two_exercises_number_their_tests_apart() {
        let a = CheckOutcome::new("start", "t", Status::Passed, 10, "ok");
        let b = CheckOutcome::new("list", "t", Status::Skipped, 10, "not run");
        let mut second = report(vec![b]);
        second.exercise = "fileserver".into();
        let r = results(&[report(vec![a]), second]);
        let numbers: Vec<&str> = r.tests.iter().map(|t| t.number.as_str()).collect();
        assert_eq!(numbers, ["1.1", "2.1"]);
        assert_eq!(r.tests[1].status, "failed");
        assert!(r.tests[1].name.starts_with("fileserver list"));
        assert_eq!(r.score, 10);
    }

    #[test]
    fn a_check_out_of_the_protocol_is_not_failed_but_other_skips_are() {
        let out = CheckOutcome::new(
            "get-binary",
            "t",
            Status::Skipped,
            0,
            "not part of this protocol: a download ends at ##",
        );
        let zero_skip = CheckOutcome::new(
            "list",
            "t",
            Status::Skipped,
            0,
            "skipped: the server did not start (see server-start)",
        );
        let skip = CheckOutcome::new(
            "put-text",
            "t",
            Status::Skipped,
            5,
            "skipped: the server did not start (see server-start)",
        );
        let r = results(&[report(vec![out, zero_skip, skip])]);
        let t = &r.tests[0];
        assert_eq!((t.status, t.score, t.max_score), ("passed", 0, 0));
        assert!(
            t.output.contains(
                "not graded (worth no points): not part of this protocol: a download ends at ##"
            ),
            "{}",
            t.output
        );
        assert_eq!(r.tests[1].status, "failed");
        assert_eq!(r.tests[2].status, "failed");
        assert!(!r.output.contains("get-binary"), "{}", r.output);
    }

    #[test]
    fn students_see_no_path_of_the_grading_machine() {
        let run = "/tmp/harness-run-4242-AbCdEf";
        let mut c = CheckOutcome::new("start", "t", Status::Failed, 10, "exited");
        c.transcript = Some(crate::report::TranscriptView {
            pieces: vec![crate::report::TranscriptPiece::Output(format!(
                "Traceback (most recent call last):\n  File \"{run}/submission/bus.py\", line 3\n  \
                 File \"/root/.pyenv/versions/3.11.7/lib/python3.11/multiprocessing/process.py\"\n"
            ))],
            dropped_bytes: 0,
        });
        c.details = vec![format!("P {run}/escaped.txt: accepted")];
        let mut r = report(vec![c]);
        r.run_dirs = vec![run.to_string()];
        r.interpreter = Some(crate::report::Interpreter {
            path: "/root/.pyenv/versions/3.11.7/bin/python3".into(),
            version: "3.11.7".into(),
        });
        let text = render(&[r]);
        for machine in ["/root", "harness-run", "/tmp"] {
            assert!(!text.contains(machine), "{machine} in {text}");
        }
        assert!(text.contains(r#"File \"bus.py\", line 3"#), "{text}");
        assert!(
            text.contains("<python>/lib/python3.11/multiprocessing"),
            "{text}"
        );
        assert!(text.contains("P <run dir>/escaped.txt"), "{text}");
        assert!(text.contains("Python 3.11.7"), "{text}");
    }
}
