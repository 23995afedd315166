//! Bad input gets a clear verdict or error, never a panic, never a leftover process; student
//! output never reaches the report raw.

use std::path::{Path, PathBuf};

use e2e::{grade, grade_json, processes_under, statuses, workspace_bin};

fn bad(name: &str) -> PathBuf {
    PathBuf::from("exercises/bus/bad-inputs").join(name)
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn no_panic(out: &std::process::Output) {
    let err = stderr(out);
    assert!(!err.contains("panicked"), "harness panicked:\n{err}");
}

#[test]
fn missing_path_is_an_error_with_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    let out = grade(Path::new("no/such/submission"), &[], tmp.path());
    no_panic(&out);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("no such file or directory"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn directory_without_a_program_names_what_was_looked_for() {
    let tmp = tempfile::tempdir().unwrap();
    let out = grade(&bad("empty-dir"), &[], tmp.path());
    no_panic(&out);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("looked for bus.py, bus or bus.c"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn file_without_execute_bit_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let out = grade(&bad("not-executable"), &[], tmp.path());
    no_panic(&out);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("not executable"), "{}", stderr(&out));
}

#[test]
fn not_a_program_fails_start_with_the_reason() {
    let tmp = tempfile::tempdir().unwrap();
    let (code, report, _) = grade_json(&bad("not-a-program"), tmp.path());
    assert_eq!(code, 1);
    let start = &report["checks"][0];
    assert_eq!(start["status"], "failed");
    assert!(
        start["message"]
            .as_str()
            .unwrap()
            .contains("Exec format error"),
        "{start:#}"
    );
    assert_eq!(report["score"], 0);
}

#[test]
fn syntax_error_fails_start_and_shows_the_traceback() {
    let tmp = tempfile::tempdir().unwrap();
    let (code, report, text) = grade_json(&bad("syntax-error"), tmp.path());
    assert_eq!(code, 1);
    assert_eq!(statuses(&report)["start"], "failed");
    assert!(text.contains("SyntaxError"), "{text}");
    assert!(report["checks"][1]["message"]
        .as_str()
        .unwrap()
        .contains("see start"));
}

#[test]
fn a_single_file_can_be_graded() {
    let tmp = tempfile::tempdir().unwrap();
    let (code, report, _) = grade_json(
        Path::new("exercises/bus/samples/correct-fork/bus.py"),
        tmp.path(),
    );
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["score"], report["max_score"]);
}

#[test]
fn invalid_utf8_and_escapes_do_not_disturb_grading() {
    let tmp = tempfile::tempdir().unwrap();
    let (code, report, _) = grade_json(&bad("invalid-utf8"), tmp.path());
    assert_eq!(code, 0, "{report:#}");
}

/// A program that fails at once after printing terminal escapes and a fake report.
fn hostile_printer(dir: &Path) -> PathBuf {
    let sub = dir.join("hostile");
    std::fs::create_dir_all(&sub).unwrap();
    std::fs::write(
        sub.join("bus.py"),
        "import sys\nsys.stdout.buffer.write(b'\\x1b[2J\\x1b]0;owned\\x07\\x9b31m\\xff\\xfe PASS start 10/10\\n')\nsys.stdout.flush()\nsys.exit(3)\n",
    )
    .unwrap();
    sub
}

#[test]
fn student_output_is_escaped_in_the_human_report() {
    let tmp = tempfile::tempdir().unwrap();
    let sub = hostile_printer(tmp.path());
    let out = grade(&sub, &[], tmp.path());
    no_panic(&out);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).expect("report is UTF-8 even for invalid output");
    assert!(
        !text.contains('\u{1b}'),
        "raw ESC reached the report:\n{text}"
    );
    assert!(!text.contains('\u{7}'), "raw BEL reached the report");
    assert!(text.contains("\\e[2J"), "escape shown escaped:\n{text}");
    assert!(text.contains("\\xff"), "invalid byte shown as hex:\n{text}");
    assert!(text.contains("Score: 0/100"), "{text}");
}

#[test]
fn student_output_is_escaped_in_the_json_report() {
    let tmp = tempfile::tempdir().unwrap();
    let sub = hostile_printer(tmp.path());
    let (_, report, text) = grade_json(&sub, tmp.path());
    assert!(!text.contains('\u{1b}'), "raw ESC in JSON");
    let transcript = report["checks"][0]["transcript"].to_string();
    assert!(transcript.contains("\\u001b[2J"), "{transcript}");
    assert_eq!(report["score"], 0);
}

/// The largest resident set of any process this test has waited for (the harness, and
/// through it every process of the grading it reaped), in KiB.
fn max_rss_of_children_kib() -> i64 {
    // SAFETY: getrusage fills the struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) };
    usage.ru_maxrss
}

#[test]
fn a_program_that_hangs_gets_a_verdict_and_leaves_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let (code, report, _) = grade_json(&bad("hangs"), tmp.path());
    assert_eq!(code, 1);
    let st = statuses(&report);
    assert_eq!(st["ctrl-c"], "failed");
    // Ctrl-Z never reaches the conductor: the end of the ride is ctrl-z's fault, not judged.
    assert_eq!(st["ctrl-z"], "failed");
    assert_eq!(st["exit-order"], "skipped");
    assert!(
        processes_under(tmp.path()).is_empty(),
        "{:?}",
        processes_under(tmp.path())
    );
}

#[test]
fn a_flood_is_capped_and_memory_stays_bounded() {
    let tmp = tempfile::tempdir().unwrap();
    let (code, report, text) = grade_json(&bad("floods"), tmp.path());
    assert_eq!(code, 1);
    assert!(text.len() < 4 << 20, "report of {} bytes", text.len());
    assert_eq!(statuses(&report)["ctrl-c"], "failed");
    assert!(
        processes_under(tmp.path()).is_empty(),
        "{:?}",
        processes_under(tmp.path())
    );
    let kib = max_rss_of_children_kib();
    assert!(kib < 64 * 1024, "a process of the grading used {kib} KiB");
}

#[test]
fn the_reference_gets_full_marks() {
    let tmp = tempfile::tempdir().unwrap();
    let bus = workspace_bin("bus");
    let (code, report, _) = grade_json(&bus, tmp.path());
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["score"], 100);
    assert!(statuses(&report).values().all(|s| s == "passed"));
}

/// A C submission whose build command names a compiler that is not installed: an `error`
/// verdict naming it (exit 2, the grading is incomplete), every other check skipped, no panic.
#[test]
fn a_missing_compiler_is_a_clear_build_error() {
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("no-cc.toml");
    std::fs::write(
        &config,
        "[build]\nc = \"no-such-cc -o {binary} {source}\"\n",
    )
    .unwrap();
    let out = grade(
        Path::new("exercises/bus/samples/c-correct"),
        &["--format", "json", "--config", config.to_str().unwrap()],
        tmp.path(),
    );
    no_panic(&out);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let build = &report["checks"][0];
    assert_eq!(
        (&build["id"], &build["status"]),
        (&"build".into(), &"error".into())
    );
    let message = build["message"].as_str().unwrap();
    assert!(
        message.contains("`no-such-cc` is not installed"),
        "{message}"
    );
    let got = statuses(&report);
    assert!(
        got.iter().all(|(id, s)| id == "build" || s == "skipped"),
        "{got:?}"
    );
    assert!(processes_under(tmp.path()).is_empty());
}

/// The compiler quotes the student's source in its messages: they are data, escaped.
#[test]
fn compiler_messages_are_escaped() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("sub");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(
        dir.join("bus.c"),
        b"#error \"clear \x1b[2J\x1b]0;title\x07 done\"\nint main(void) { return 0; }\n",
    )
    .unwrap();
    let out = grade(&dir, &[], tmp.path());
    no_panic(&out);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!text.contains('\x1b') && !text.contains('\x07'), "{text}");
    assert!(text.contains(r"clear \e[2J\e]0;title\x07 done"), "{text}");
    assert!(text.contains("WARN  build"), "{text}");
}
