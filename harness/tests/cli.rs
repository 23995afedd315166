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
fn unknown_config_key_is_named_at_its_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("bus.toml");
    let shipped = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../exercises/bus/exercise.toml"
    ))
    .unwrap();
    std::fs::write(
        &cfg,
        shipped.replace("[timing]", "[timing]\n  step_msec = 5"),
    )
    .unwrap();
    let line = shipped.lines().position(|l| l == "[timing]").unwrap() + 2;
    harness()
        .args(["grade", "--config"])
        .arg(&cfg)
        .arg(".")
        .assert()
        .code(2)
        .stderr(predicate::str::contains(format!(
            "bus.toml:{line}:3: key `timing.step_msec`: no such setting"
        )));
}

/// A short overlay's mistake is reported where it is in the instructor's file, not in the
/// merged config the grader builds from it.
#[test]
fn a_two_line_overlay_error_is_at_its_own_line() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("bus.toml");
    std::fs::write(&cfg, "[timing]\nstep_ms = \"fast\"\n").unwrap();
    harness()
        .args(["grade", "--config"])
        .arg(&cfg)
        .arg(dir.path().join("nothing-here"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "bus.toml:2:1: key `timing.step_ms`: invalid type: string \"fast\"",
        ));
}

fn class_config(dir: &std::path::Path, text: &str) -> std::path::PathBuf {
    let cfg = dir.join("class.toml");
    std::fs::write(&cfg, text).unwrap();
    cfg
}

#[test]
fn list_and_explain_read_a_class_config() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = class_config(
        dir.path(),
        "[bus.checks]\nctrl-z = 20\n\n[fileserver.checks]\ntraversal = 0\n",
    );
    harness()
        .arg("list")
        .arg("--config")
        .arg(&cfg)
        .assert()
        .success()
        .stdout(
            predicate::str::contains("bus: The bus: driver and conductor (105 points)")
                .and(predicate::str::is_match(r"\n  traversal +warn ").unwrap()),
        );
    harness()
        .args(["explain", "ctrl-z", "--config"])
        .arg(&cfg)
        .assert()
        .success()
        .stdout(predicate::str::contains("(20 points)"));
    // A file-server file alone is taken for the file server's, not refused.
    let fs = dir.path().join("fs.toml");
    std::fs::write(&fs, "[checks]\nget-text = 1\n").unwrap();
    harness()
        .args(["list", "--config"])
        .arg(&fs)
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "fileserver: The file server and its client (120 points)",
        ));
}

#[test]
fn a_class_config_error_names_the_key_in_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = class_config(
        dir.path(),
        "[bus.checks]\nctrl-z = 20\n\n[fileserver.timing]\n  op_ms = 0\n",
    );
    for args in [vec!["list"], vec!["explain", "ctrl-z"]] {
        harness()
            .args(&args)
            .arg("--config")
            .arg(&cfg)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(
                "class.toml:5:3: key `fileserver.timing.op_ms`: 0 is outside",
            ));
    }
    // A table that is no exercise's, in a file that names exercises.
    let cfg = class_config(
        dir.path(),
        "[bus.checks]\nctrl-z = 20\n\n[timing]\nop_ms = 1\n",
    );
    harness()
        .args(["list", "--config"])
        .arg(&cfg)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "class.toml:4:2: key `timing`: not an exercise",
        ));
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
