//! The bus declared in the instructors' format (`exercises/bus/declared.toml`) against the
//! built-in bus: every bus sample graded once by each, the same verdict (status) for every
//! check both have. What the format cannot say is listed with the reason
//! (`e2e::declared_bus::NOT_SAID`), and so, here, is every sample on which a check's verdict
//! differs; a listed difference that no longer happens fails the test as much as an
//! unlisted one (docs/declaring-an-exercise.md: "The bus, declared"). On the matrix's CI
//! subset the declared bus is held to each program's model: the built-in's verdicts, which
//! `bus_matrix.rs` asserts on the same programs; its differences are listed in
//! `e2e::declared_bus::matrix_difference`.

use std::collections::BTreeSet;

use e2e::declared_bus::{differences, ARGS, KEY_KILLED, NAME};
use e2e::matrix::{ci_cases, DEFAULT_SEED};
use e2e::{grade_json, grade_json_with, processes_under, samples, workspace_root};

/// (sample, check, why) where the two give another status. The built-in adapts its later
/// steps to an earlier fault (one fault, one check); a declared scenario's steps are fixed.
const DIFFERENT: &[(&str, &str, &str)] = &[
    ("c-driver-dies-on-ctrl-c", "repeat", KEY_KILLED),
    ("driver-dies-on-ctrl-c", "repeat", KEY_KILLED),
    ("driver-keyboard-interrupt", "repeat", KEY_KILLED),
];

/// Grades with the built-in bus and with the declared one, at most seven gradings at once
/// (they wait on the program, not the CPU), and returns each sample's two reports.
fn both_reports() -> Vec<(String, serde_json::Value, serde_json::Value)> {
    let all = samples("bus");
    let grade_both = |dir: &std::path::Path| {
        let rel = dir.strip_prefix(workspace_root()).unwrap().to_path_buf();
        let tmp = tempfile::tempdir().unwrap();
        let (_, builtin, _) = grade_json(&rel, tmp.path());
        let (_, declared, _) = grade_json_with(&rel, &ARGS, tmp.path());
        assert!(processes_under(tmp.path()).is_empty(), "leftover processes");
        (builtin, declared)
    };
    let mut out = Vec::new();
    for chunk in all.chunks(7) {
        std::thread::scope(|s| {
            let handles: Vec<_> = chunk
                .iter()
                .map(|(name, dir)| (name, s.spawn(|| grade_both(dir))))
                .collect();
            for (name, h) in handles {
                let (b, d) = h.join().unwrap();
                out.push((name.clone(), b, d));
            }
        });
    }
    out
}

#[test]
fn the_declared_bus_gives_the_built_in_verdicts_on_every_bus_sample() {
    let reports = both_reports();
    assert!(reports.len() >= 28, "every bus sample");
    let mut differ = BTreeSet::new();
    let mut shown = Vec::new();
    for (name, builtin, declared) in &reports {
        assert_eq!(declared["exercise"], NAME, "{name}");
        for d in differences(builtin, declared) {
            differ.insert((name.clone(), d.check.clone()));
            shown.push(format!(
                "{name} {}: built-in {:?}, declared {:?}\n  declared: {}",
                d.check, d.builtin, d.declared, d.message
            ));
        }
    }
    let listed: BTreeSet<(String, String)> = DIFFERENT
        .iter()
        .map(|(s, c, _)| (s.to_string(), c.to_string()))
        .collect();
    assert_eq!(
        differ,
        listed,
        "verdicts that differ, against those listed in DIFFERENT:\n{}",
        shown.join("\n")
    );
}

/// Named without `--exercise`, the declared bus stands in for the built-in (both want
/// `bus.py`): one report, the declared one, saying so and how to get the other.
#[test]
fn named_alone_the_declared_bus_stands_in_for_the_built_in_once() {
    let tmp = tempfile::tempdir().unwrap();
    let rel = std::path::Path::new("exercises/bus/samples/wrong-line");
    let (code, report, text) = grade_json_with(rel, &ARGS[..2], tmp.path());
    assert_eq!(code, 1, "{text}");
    assert_eq!(
        report["exercise"], NAME,
        "one report, the declared bus's: {text}"
    );
    let notes = report["notes"].to_string();
    assert!(
        notes.contains("not as the built-in bus") && notes.contains("--exercise bus"),
        "{notes}"
    );
    let (_, builtin, _) = grade_json_with(
        rel,
        &[&ARGS[..2], &["--exercise", "bus"]].concat(),
        tmp.path(),
    );
    assert_eq!(builtin["exercise"], "bus");
}

/// The matrix's CI subset (58 generated programs: each way of forking, waiting, printing
/// and ending, and each typical fault) graded with the declared bus, two at a time (they
/// wait on the programs) beside the rest of the suite: every check the model's status (the built-in's, asserted by
/// `bus_matrix.rs`), but where `matrix_difference` lists otherwise with the reason.
#[test]
fn the_declared_bus_gives_the_built_in_verdicts_on_the_matrix_ci_subset() {
    let cases = ci_cases(DEFAULT_SEED);
    assert!(cases.len() >= 50, "the CI subset shrank to {}", cases.len());
    let programs = tempfile::tempdir().expect("tempdir");
    let summary =
        e2e::matrix_grading::run("CI subset", DEFAULT_SEED, &cases, programs.path(), 2, true);
    assert_eq!(summary.gradings, cases.len());
    assert_eq!(summary.wrong, 0, "{}", summary.text);
}
