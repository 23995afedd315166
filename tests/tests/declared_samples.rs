//! The declared exercises (`exercises/<name>/exercise.toml` with `[[check]]`s, read with
//! `--exercise-file`): every sample against its expected verdicts, its report pinned by a
//! snapshot, and each exercise's first correct sample graded several times to identical
//! reports.

use std::path::Path;

use e2e::{expected, grade_json_with, processes_under, samples, statuses, workspace_root};

/// The declared exercises shipped, each with its samples.
const DECLARED: &[&str] = &["countdown", "gate", "relay", "semaphore", "sigchld"];

fn exercise_arg(exercise: &str) -> String {
    format!("exercises/{exercise}")
}

fn check_sample(exercise: &str, name: &str, dir: &Path) {
    let rel = dir.strip_prefix(workspace_root()).unwrap().to_path_buf();
    let tmp = tempfile::tempdir().unwrap();
    let human_file = tmp.path().join("report.txt");
    let human_arg = format!("human={}", human_file.display());
    let file = exercise_arg(exercise);
    let (code, report, text) = grade_json_with(
        &rel,
        &["--exercise-file", &file, "--report", &human_arg],
        tmp.path(),
    );
    let (want, _) = expected(dir).for_report(&text);
    assert_eq!(report["exercise"], exercise, "{name}");
    assert_eq!(
        statuses(&report),
        want.checks,
        "verdicts of {exercise}/{name}:\n{report:#}"
    );
    want.assert_hints(name, &report);
    if let Some(score) = want.score {
        assert_eq!(
            report["score"].as_u64(),
            Some(score as u64),
            "score of {name}"
        );
    }
    let all_passed = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["status"] == "passed" || c["max_points"] == 0);
    assert_eq!(
        code,
        if all_passed { 0 } else { 1 },
        "exit status of {name}"
    );
    assert!(processes_under(tmp.path()).is_empty(), "leftover processes");
    if name.starts_with("c-") {
        return; // the report quotes the compiler
    }
    let text = std::fs::read_to_string(&human_file).unwrap();
    insta::with_settings!({
        filters => e2e::report_filters(),
        snapshot_suffix => format!("{exercise}-{name}"),
    }, {
        insta::assert_snapshot!("declared_report", text);
    });
}

fn check_exercise(exercise: &str) {
    let all = samples(exercise);
    assert!(all.len() >= 4, "{exercise}: at least four samples");
    for (name, dir) in &all {
        check_sample(exercise, name, dir);
    }
}

#[test]
fn countdown_samples() {
    check_exercise("countdown");
}

#[test]
fn gate_samples() {
    check_exercise("gate");
}

#[test]
fn relay_samples() {
    check_exercise("relay");
}

#[test]
fn semaphore_samples() {
    check_exercise("semaphore");
}

#[test]
fn sigchld_samples() {
    check_exercise("sigchld");
}

/// A faulty sample graded with `--lang zh`: the same verdicts as in English, and the
/// engine's own words Chinese (the failed check's message, the grader's actions, who is
/// who); the instructor's texts (a hint's words) stay as written. Its report is pinned.
#[test]
fn a_declared_report_in_chinese_is_worded_in_chinese() {
    let (exercise, name) = ("countdown", "dies-on-ctrl-c");
    let dir = workspace_root()
        .join("exercises")
        .join(exercise)
        .join("samples")
        .join(name);
    let rel = dir.strip_prefix(workspace_root()).unwrap().to_path_buf();
    let tmp = tempfile::tempdir().unwrap();
    let human_file = tmp.path().join("report.txt");
    let human_arg = format!("human={}", human_file.display());
    let file = exercise_arg(exercise);
    let (_, report, text) = grade_json_with(
        &rel,
        &[
            "--exercise-file",
            &file,
            "--lang",
            "zh",
            "--report",
            &human_arg,
        ],
        tmp.path(),
    );
    let (want, _) = expected(&dir).for_report(&text);
    assert_eq!(statuses(&report), want.checks, "{report:#}");
    let chinese = |t: &str| t.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c));
    for c in report["checks"].as_array().unwrap() {
        let message = c["message"].as_str().unwrap_or_default();
        assert!(chinese(message), "not in Chinese: {message:?}\n{report:#}");
    }
    let text = std::fs::read_to_string(&human_file).unwrap();
    assert!(
        text.contains("没有被 program 打印") && text.contains("按下了 Ctrl-C"),
        "{text}"
    );
    insta::with_settings!({
        filters => e2e::report_filters(),
        snapshot_suffix => format!("{exercise}-{name}-zh"),
    }, {
        insta::assert_snapshot!("declared_report", text);
    });
}

#[test]
fn every_declared_exercise_is_tested() {
    let mut found: Vec<String> = std::fs::read_dir(workspace_root().join("exercises"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| {
            std::fs::read_to_string(e.path().join("exercise.toml"))
                .is_ok_and(|t| t.contains("[[check]]"))
        })
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    found.sort();
    assert_eq!(
        found,
        DECLARED,
        "add the new exercise's tests to {}",
        file!()
    );
}

/// Identical `--stable` JSON reports (events included), run after run: `runs` gradings of
/// the exercise's first correct sample, four at a time, every other batch beside two CPU
/// spinners (as many as the CI machine has cores). `DECLARED_RUNS` sets more by hand.
fn repeat(exercise: &str, runs: usize) {
    let runs: usize = std::env::var("DECLARED_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(runs);
    let (_, dir) = samples(exercise)
        .into_iter()
        .find(|(n, _)| n.starts_with("correct"))
        .expect("a correct sample");
    let rel = dir.strip_prefix(workspace_root()).unwrap().to_path_buf();
    let file = exercise_arg(exercise);
    let grade_once = || {
        let tmp = tempfile::tempdir().unwrap();
        let (_, mut report, _) = grade_json_with(&rel, &["--exercise-file", &file], tmp.path());
        report.as_object_mut().unwrap().remove("interpreter");
        report
    };
    let mut reports = Vec::new();
    for batch in 0..runs.div_ceil(4) {
        let load = (batch % 2 == 1).then(|| [e2e::Spinner::start(), e2e::Spinner::start()]);
        let n = (runs - batch * 4).min(4);
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..n).map(|_| s.spawn(grade_once)).collect();
            for h in handles {
                reports.push((batch % 2 == 1, h.join().unwrap()));
            }
        });
        drop(load);
    }
    let (_, first) = &reports[0];
    for (i, (loaded, r)) in reports.iter().enumerate() {
        assert_eq!(
            r, first,
            "{exercise}: grading {i} (under load: {loaded}) differs from the first"
        );
    }
}

/// The threads' exercise, 20 times: its lines come in any order, and under load a line can
/// reach the terminal before its writer's byte counter rises.
#[test]
fn gate_repeats() {
    repeat("gate", 20);
}

#[test]
fn countdown_repeats() {
    repeat("countdown", 4);
}

#[test]
fn relay_repeats() {
    repeat("relay", 4);
}

#[test]
fn semaphore_repeats() {
    repeat("semaphore", 8);
}

#[test]
fn sigchld_repeats() {
    repeat("sigchld", 4);
}

const OUTSIDE: &str = r#"[exercise]
name = "hello"
title = "say hello, then wait for Ctrl-C"

[program]
python = "hello.py"
binary = "hello"

[[check]]
id = "greets"
points = 3
title = "prints hello and keeps running"
what = "Waits until the program is at rest."
fix = "print(\"hello\", flush=True), then signal.pause()."
unmet = "skipped: no greeting (see greets)"
steps = [{ rest = true }]
lines = [{ text = "hello", by = "program", count = 1 }]
alive = ["program"]

[[check]]
id = "ctrl-c"
points = 2
title = "Ctrl-C ends it"
needs = ["greets"]
steps = [{ rest = true }, { key = "ctrl-c" }]
exits = [{ who = "program", signal = "SIGINT" }]
"#;

/// An instructor's exercise in a folder of their own (a temporary directory, not this
/// repository): listed, explained, graded; and a mistake in it refused at its line.
#[test]
fn an_exercise_kept_outside_the_repository_is_listed_explained_and_graded() {
    let course = tempfile::tempdir().unwrap();
    let ex = course.path().join("hello");
    std::fs::create_dir_all(ex.join("good")).unwrap();
    std::fs::create_dir_all(ex.join("bad")).unwrap();
    std::fs::write(ex.join("exercise.toml"), OUTSIDE).unwrap();
    std::fs::write(
        ex.join("good/hello.py"),
        "import signal\nprint('hello', flush=True)\nsignal.pause()\n",
    )
    .unwrap();
    std::fs::write(ex.join("bad/hello.py"), "print('bye', flush=True)\n").unwrap();
    let file = ex.display().to_string();
    let run = |args: &[&str]| {
        std::process::Command::new(e2e::harness_bin())
            .arg("--exercise-file")
            .arg(&file)
            .args(args)
            .env("NO_COLOR", "1")
            .env("TMPDIR", course.path())
            .output()
            .unwrap()
    };
    let list = run(&["list"]);
    let text = String::from_utf8_lossy(&list.stdout);
    assert!(
        text.contains("hello: say hello, then wait for Ctrl-C (5 points)"),
        "{text}"
    );
    let explain = run(&["explain", "hello:greets"]);
    assert!(String::from_utf8_lossy(&explain.stdout).contains("signal.pause()"));

    let good = ex.join("good").display().to_string();
    let out = run(&["grade", &good, "--format", "json", "--stable"]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["exercise"], "hello");
    assert_eq!(
        statuses(&report).values().collect::<Vec<_>>(),
        ["passed", "passed"],
        "{report:#}"
    );
    assert_eq!(out.status.code(), Some(0));

    let bad = ex.join("bad").display().to_string();
    let out = run(&["grade", &bad, "--format", "json", "--stable"]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["checks"][0]["status"], "failed");
    assert_eq!(report["checks"][1]["status"], "skipped");
    assert_eq!(
        report["checks"][1]["message"],
        "skipped: no greeting (see greets)"
    );
    assert_eq!(out.status.code(), Some(1));

    std::fs::write(
        ex.join("exercise.toml"),
        OUTSIDE.replace("signal = \"SIGINT\"", "signal = \"SIGNOPE\""),
    )
    .unwrap();
    let out = run(&["grade", &good]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("exercise.toml:26:10")
            && err.contains("check[1].exits[0]")
            && err.contains("SIGNOPE"),
        "{err}"
    );
    let out = run(&["--lang", "zh", "grade", &good]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("exercise.toml:26:10") && err.contains("`SIGNOPE` 不是信号"),
        "the file's mistake in Chinese, its place and key as written: {err}"
    );
}
