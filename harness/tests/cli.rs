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

#[test]
fn a_python_that_is_not_installed_is_said_to_be_not_found() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bus.py"), "print('hi')\n").unwrap();
    // A wrapper that finds no such command exits with 127, as pyenv's shims do.
    let shim = dir.path().join("python2");
    std::fs::write(
        &shim,
        "#!/bin/sh\necho 'pyenv: python2: command not found' >&2\nexit 127\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&shim, std::fs::Permissions::from_mode(0o755)).unwrap();
    for python in [
        shim.display().to_string(),
        "no-such-python-here".to_string(),
    ] {
        harness()
            .args(["grade", "--python", &python])
            .arg(dir.path())
            .assert()
            .code(2)
            .stderr(
                predicate::str::contains("was not found")
                    .and(predicate::str::contains("exit status").not()),
            );
    }
}

#[test]
fn help_texts_are_exercise_neutral_and_name_every_option() {
    let top = harness().arg("--help").assert().success();
    let top = String::from_utf8(top.get_output().stdout.clone()).unwrap();
    assert!(!top.contains("bus"), "{top}");
    let grade = harness().args(["grade", "--help"]).assert().success();
    let grade = String::from_utf8(grade.get_output().stdout.clone()).unwrap();
    for option in [
        "--format",
        "--output",
        "--report",
        "--config",
        "--exercise",
        "--python",
        "--stable",
        "--verbose",
        "--jobs",
        "--csv",
        "--shard",
        "--reports-dir",
        "--timeout",
    ] {
        assert!(grade.contains(option), "{option} in {grade}");
    }
}
