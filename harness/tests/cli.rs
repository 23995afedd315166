//! The command line itself: arguments and configuration errors (no submission is run).

use assert_cmd::Command;
use predicates::prelude::*;

fn harness() -> Command {
    Command::cargo_bin("harness").expect("harness binary")
}

#[test]
fn help_names_the_grade_command() {
    harness()
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("grade"));
}

#[test]
fn unknown_config_key_is_named_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("bus.toml");
    let shipped = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../exercises/bus/exercise.toml"
    ))
    .unwrap();
    std::fs::write(&cfg, shipped.replace("[timing]", "[timing]\nstep_msec = 5")).unwrap();
    harness()
        .args(["grade", "--config"])
        .arg(&cfg)
        .arg(".")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("step_msec").and(predicate::str::contains("line")));
}

#[test]
fn out_of_range_config_value_names_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("bus.toml");
    let shipped = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../exercises/bus/exercise.toml"
    ))
    .unwrap();
    std::fs::write(
        &cfg,
        shipped.replace(
            "keys = [\"ctrl-c\", \"ctrl-backslash\", \"ctrl-c\",",
            "keys = [",
        ),
    )
    .unwrap();
    harness()
        .args(["grade", "--config"])
        .arg(&cfg)
        .arg(".")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("repeat.keys"));
}

#[test]
fn unknown_format_is_refused() {
    harness()
        .args(["grade", "--format", "yaml", "."])
        .assert()
        .code(2);
}
