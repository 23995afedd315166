//! The grade report of every submission in `submissions/`, pinned by an insta snapshot.
//! A snapshot changes only when a verdict, a message or the points do: the reports are
//! `--stable` (no times, pids, isolation or temporary paths) and the filters below blank the
//! interpreter's name and version and the submission's absolute path.

use std::path::{Path, PathBuf};
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

/// The folders in `submissions/`, sorted by name.
fn submissions() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("submissions");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("a submissions/ folder")
        .filter_map(|e| Some(e.ok()?.path()))
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

#[test]
fn reports_of_the_course_submissions() {
    let dirs = submissions();
    // A recipe that pins nothing would pass whatever the grader does.
    assert!(
        !dirs.is_empty(),
        "submissions/ holds no folder: put one per submission there (full-marks/bus.py, ...)"
    );
    for dir in dirs {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        insta::with_settings!({
            snapshot_suffix => name,
            filters => vec![
                // The submission's absolute path, in the first line.
                (r"(?m)^(\S+) — .*$", "$1 — [submission]"),
                (r"(?m)^  interpreter: .*$", "  interpreter: [python]"),
                (r"(?m)^  解释器：.*$", "  解释器：[python]"),
                // The interpreter wherever a command names it, and its library in tracebacks.
                (r"(?m)(^  ran: |; )python[0-9.]* ", "$1[python] "),
                (r"(?m)(^  运行：|; )python[0-9.]* ", "$1[python] "),
                (r"/[^\s\x22']*/bin/python[0-9.]*", "[python]"),
                (r"<python>/lib/python[0-9.]+/", "[python-lib]/"),
                (r"/[^\s\x22']*/lib/python[0-9.]+/", "[python-lib]/"),
            ],
        }, {
            insta::assert_snapshot!("report", report(&dir));
        });
    }
}
