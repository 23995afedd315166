//! The JUnit XML report, for CI systems that show tests (GitLab, Jenkins, the GitHub report
//! actions): one `<testsuite>` per grading, one `<testcase>` per check (classname = the
//! submission, name = the check id). The failure text is in the element body as well as in
//! `message` (some readers ignore the attribute); the transcript is in `<system-out>`.
//!
//! Written with `quick-junit`, which escapes XML. Every text is first passed through
//! [`escape::controls`], so a control char a student printed is shown (`\e`), never dropped
//! or left to make the document invalid.

use crate::tr;
use std::fmt::Write as _;
use std::time::Duration;

use quick_junit::{NonSuccessKind, Property, TestCase, TestCaseStatus, TestSuite};

use super::{human, CheckOutcome, Report, Status};
use crate::text::escape;

/// The name of the `<testsuites>` element.
pub const REPORT_NAME: &str = "harness";

/// One grading as a test suite named `name`.
pub fn suite(report: &Report, name: &str) -> TestSuite {
    let mut suite = TestSuite::new(clean(name));
    suite.add_properties([
        Property::new("exercise", clean(&report.exercise)),
        Property::new("submission", clean(&report.submission.path)),
        Property::new("score", report.score.to_string()),
        Property::new("max_score", report.max_score.to_string()),
        Property::new("runs", report.runs.to_string()),
    ]);
    if let Some(i) = &report.interpreter {
        suite.add_property(Property::new(
            "interpreter",
            clean(&format!("{} ({})", i.path, i.version)),
        ));
    }
    if let Some(ms) = report.duration_ms {
        suite.set_time(Duration::from_millis(ms));
    }
    for c in &report.checks {
        suite.add_test_case(test_case(c, &report.submission.path));
    }
    suite
}

/// A submission that could not be graded at all: a suite holding one errored test case
/// named `grading`, so a CI reader shows it as an error rather than as nothing.
pub fn error_suite(name: &str, classname: &str, message: &str) -> TestSuite {
    let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
    status
        .set_message(clean(message))
        .set_type("not graded")
        .set_description(clean(message));
    let mut case = TestCase::new("grading", status);
    case.set_classname(clean(classname));
    let mut suite = TestSuite::new(clean(name));
    suite.add_test_case(case);
    suite
}

fn test_case(c: &CheckOutcome, classname: &str) -> TestCase {
    let message = clean(&c.message);
    let status = match c.status {
        Status::Passed => TestCaseStatus::success(),
        // A failure worth no points is a warning: it does not fail the grading (exit 0), so
        // it does not fail the CI job either; it is told in `system-err`.
        Status::Failed if c.is_warning() => TestCaseStatus::success(),
        Status::Failed | Status::Error => {
            let kind = if c.status == Status::Error {
                NonSuccessKind::Error
            } else {
                NonSuccessKind::Failure
            };
            let mut s = TestCaseStatus::non_success(kind);
            s.set_message(message.clone())
                .set_type(if c.status == Status::Error {
                    "grader error"
                } else {
                    "check failed"
                })
                .set_description(clean(&plain_details(c)));
            s
        }
        Status::Skipped => {
            let mut s = TestCaseStatus::skipped();
            s.set_message(message.clone());
            s
        }
    };
    let mut case = TestCase::new(clean(&c.id), status);
    case.set_classname(clean(classname));
    case.add_properties([
        Property::new("title", clean(&c.title)),
        Property::new("points", c.points.to_string()),
        Property::new("max_points", c.max_points.to_string()),
    ]);
    if c.is_warning() {
        case.set_system_err(clean(&tr!(
            "warning (worth no points): {message}\n{details}",
            message = c.message,
            details = plain_details(c)
        )));
    }
    if let Some(t) = &c.transcript {
        let mut out = String::new();
        human::render_transcript(&mut out, t, "");
        case.set_system_out(clean(&out));
    }
    case
}

/// Several gradings (a folder holding both exercises) as one document, a suite each.
pub fn render(reports: &[Report]) -> String {
    let suites = reports
        .iter()
        .map(|r| suite(r, &suite_name(r)))
        .collect::<Vec<_>>();
    to_xml(suites)
}

/// The suite name of a single grading: exercise and submission.
pub fn suite_name(report: &Report) -> String {
    format!("{}: {}", report.exercise, report.submission.path)
}

/// The whole document.
pub fn to_xml(suites: Vec<TestSuite>) -> String {
    let mut report = quick_junit::Report::new(REPORT_NAME);
    report.add_test_suites(suites);
    report.to_string().unwrap_or_else(|e| {
        // Writing to memory fails only on a bug; say so in a valid document.
        let mut fallback = quick_junit::Report::new(REPORT_NAME);
        fallback.add_test_suite(error_suite(
            "harness",
            "harness",
            &tr!("could not write the JUnit report: {e}", e = e),
        ));
        fallback.to_string().unwrap_or_default()
    })
}

/// Everything a reader needs about a check that did not pass, as plain text lines: what
/// was done, expected, seen, details, processes, hint (the transcript goes elsewhere).
pub fn plain_details(c: &CheckOutcome) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", c.message);
    human::render_facts(&mut out, c, "");
    out
}

/// Text safe for XML 1.0: controls (other than newline and tab) and invisible format chars
/// shown as escapes; quick-junit escapes `<`, `>`, `&` and quotes.
fn clean(text: &str) -> String {
    escape::controls(text)
}
