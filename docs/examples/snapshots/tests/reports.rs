//! The grade report of every submission in `submissions/`, pinned by an insta snapshot.
//! A snapshot changes only when a verdict, a message or the points do: the reports are
//! `--stable` (no times, pids or temporary paths) and the filters below blank the
//! interpreter and the submission's absolute path.

use std::path::Path;
use std::process::Command;

/// The human report of one submission. `HARNESS` names the grader binary (default: the
/// `harness` on PATH).
fn report(dir: &Path) -> String {
    let harness = std::env::var("HARNESS").unwrap_or_else(|_| "harness".into());
    let out = Command::new(harness)
        .arg("grade")
        .arg(dir)
        .args(["--stable", "--format", "human"])
        .env("NO_COLOR", "1")
        .output()
        .expect("run harness");
    // 0: full marks, 1: some check failed; 2 means it could not be graded at all.
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{}: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("reports are UTF-8")
}

#[test]
fn reports_of_the_course_submissions() {
    insta::glob!("../submissions", "*", |dir| {
        // Only the folders inside: not submissions/ itself, nor its README.md.
        if !dir.is_dir() || dir.ends_with("submissions") {
            return;
        }
        insta::with_settings!({
            filters => vec![
                (r"(?m)^(bus|fileserver) — .*$", "$1 — [submission]"),
                (r"(?m)^  interpreter: .*$", "  interpreter: [python]"),
                (r"(?m)^  ran: \S*python\S*", "  ran: [python]"),
            ],
        }, {
            insta::assert_snapshot!(report(dir));
        });
    });
}
