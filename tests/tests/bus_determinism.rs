//! The same submission always gets the same grade: every bus sample is graded repeatedly,
//! half of the time with the other core kept busy, and every report must be identical.
//! `DETERMINISM_RUNS` sets the number of gradings per sample (default 6, three of them
//! under load: 28 samples, one at a time, keep CI within its 20 minutes; the matrix, the
//! declared bus's comparison and the file server's repeats grade the same engine again).
//! Before a change to how a run is watched, run it with `DETERMINISM_RUNS=20`.

use e2e::{grade_json, samples, workspace_root, Spinner};

fn runs() -> usize {
    std::env::var("DETERMINISM_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(6)
}

/// Samples whose gradings take seconds (every key waits for a polling loop to come round, for
/// writes that never reach the terminal, a Queue's pipe, to fall quiet, or for a busy process's
/// CPU measure): graded at most 4 times (2 of them under load), to keep CI within its time.
const SLOW: &[&str] = &[
    "busy-loop",
    "correct-flag-polling",
    "correct-queue-logging",
    "correct-queue-relay",
    "polling-flag-never-seen",
];

/// Samples whose programs race with themselves (a Python driver ended by KeyboardInterrupt
/// may print line 1 while it unwinds, or not): their verdicts, points, messages and hints
/// must be the same every time; what was seen may differ.
const RACY: &[&str] = &["driver-keyboard-interrupt"];

/// What must not change between gradings of a racy sample.
fn grade_of(report: &serde_json::Value) -> Vec<String> {
    report["checks"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            format!(
                "{} {} {} {} {}",
                c["id"], c["status"], c["points"], c["message"], c["hint"]
            )
        })
        .collect()
}

fn same_every_time(name: &str) {
    let rel = std::path::PathBuf::from("exercises/bus/samples").join(name);
    assert!(workspace_root().join(&rel).is_dir());
    let tmp = tempfile::tempdir().unwrap();
    let (_, first_json, first) = grade_json(&rel, tmp.path());
    let n = if SLOW.contains(&name) {
        runs().min(4)
    } else {
        runs()
    };
    for i in 1..n {
        let _load = (i % 2 == 1).then(Spinner::start);
        let (_, json, text) = grade_json(&rel, tmp.path());
        if RACY.contains(&name) {
            assert_eq!(
                grade_of(&json),
                grade_of(&first_json),
                "grading {i} of {name} differs from the first"
            );
            continue;
        }
        assert_eq!(
            text, first,
            "grading {i} of {name} differs from the first (load: {}):\nfirst: {first_json:#}\nnow: {json:#}",
            i % 2 == 1
        );
    }
}

macro_rules! determinism_tests {
    ($($test:ident => $name:literal),* $(,)?) => {
        $(#[test] fn $test() { same_every_time($name); })*

        #[test]
        fn every_sample_is_covered() {
            let mut listed = vec![$($name),*];
            listed.sort();
            let found: Vec<String> = samples("bus").into_iter().map(|(n, _)| n).collect();
            assert_eq!(found, listed, "add new samples to determinism_tests! in {}", file!());
        }
    };
}

determinism_tests! {
    accepted_variant => "accepted-variant",
    busy_loop => "busy-loop",
    c_correct => "c-correct",
    c_does_not_compile => "c-does-not-compile",
    c_driver_dies_on_ctrl_c => "c-driver-dies-on-ctrl-c",
    conductor_exits_with_message => "conductor-exits-with-message",
    conductor_killed_by_signal => "conductor-killed-by-signal",
    conductor_prints_drivers_line => "conductor-prints-drivers-line",
    conductor_stopped_by_ctrl_z => "conductor-stopped-by-ctrl-z",
    correct_flag_polling => "correct-flag-polling",
    correct_fork => "correct-fork",
    correct_multiprocessing => "correct-multiprocessing",
    correct_queue_logging => "correct-queue-logging",
    correct_queue_relay => "correct-queue-relay",
    crash_at_start => "crash-at-start",
    driver_dies_on_ctrl_c => "driver-dies-on-ctrl-c",
    driver_exits_from_sigchld => "driver-exits-from-sigchld",
    driver_keyboard_interrupt => "driver-keyboard-interrupt",
    driver_leaves_first => "driver-leaves-first",
    driver_never_reaps => "driver-never-reaps",
    late_handlers => "late-handlers",
    missing_line => "missing-line",
    no_child => "no-child",
    python2_source => "python2-source",
    syntax_error => "syntax-error",
    polling_flag_never_seen => "polling-flag-never-seen",
    print_without_flush => "print-without-flush",
    wrong_line => "wrong-line",
}
