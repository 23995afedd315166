//! A student's own repository or upload, as CI and Gradescope get it, is one submission:
//! `harness grade .` in a repository holding `src/bus.py` beside `docs/`, a Mac zip (the
//! folder zipped, `__MACOSX/`, `.DS_Store`, `._*` files) and a single nested folder are each
//! graded once, by the CLI and by the Gradescope `run_autograder`; a roster stays a roster.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use e2e::{harness_bin, workspace_root};
use serde_json::Value;

const CORRECT: &str = "exercises/bus/samples/correct-fork/bus.py";

/// A folder under `root` with the correct bus program at each of `programs` and an empty
/// file at each of `others` (paths relative to it).
fn tree(root: &Path, programs: &[&str], others: &[&str]) -> PathBuf {
    for (rel, from) in programs
        .iter()
        .map(|p| (p, Some(CORRECT)))
        .chain(others.iter().map(|o| (o, None)))
    {
        let to = root.join(rel);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        match from {
            Some(f) => std::fs::copy(workspace_root().join(f), &to).map(|_| ()),
            None => std::fs::write(&to, "\0\u{5}\u{16}\u{7}"),
        }
        .unwrap();
    }
    root.to_path_buf()
}

/// `harness grade .` run in `dir`, as the CI examples do.
fn grade_here(dir: &Path, tmp: &Path) -> Output {
    Command::new(harness_bin())
        .current_dir(dir)
        .args(["grade", ".", "--format", "json"])
        .env("TMPDIR", tmp)
        .env("NO_COLOR", "1")
        .output()
        .expect("run harness")
}

/// Gradescope's `run_autograder` with `upload` as `/autograder/submission`: results.json.
fn autograde(upload: &Path, tmp: &Path) -> Value {
    let root = tmp.join("autograder");
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).unwrap();
    let status = Command::new("cp")
        .arg("-a")
        .arg(upload)
        .arg(root.join("submission"))
        .status()
        .unwrap();
    assert!(status.success());
    let o = Command::new(workspace_root().join("docs/examples/gradescope/run_autograder"))
        .env("AUTOGRADER_ROOT", &root)
        .env("HARNESS", harness_bin())
        .env("TMPDIR", tmp)
        .output()
        .expect("run run_autograder");
    assert_eq!(o.status.code(), Some(0));
    let text = std::fs::read_to_string(root.join("results/results.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// `dir` is graded as one bus submission, full marks, by the CLI and by Gradescope, with
/// the programs found in `found_in` (relative to `dir`; "" for the top).
fn graded_once(dir: &Path, found_in: &str, tmp: &Path) {
    let o = grade_here(dir, tmp);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{}: {stderr}", dir.display());
    let report: Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&o.stdout)));
    assert_eq!(report["exercise"], "bus", "{report}");
    assert_eq!(report["score"], 100, "{report}");
    assert_eq!(report["submission"]["entry"], "bus.py");
    let notes = report["notes"].to_string();
    if found_in.is_empty() {
        assert!(!notes.contains("were found in"), "{notes}");
    } else {
        assert!(
            notes.contains(&format!("the programs were found in `{found_in}/`")),
            "{notes}"
        );
    }

    let results = autograde(dir, tmp);
    assert_eq!(results["score"], 100, "{results}");
    assert_eq!(results["tests"].as_array().unwrap().len(), 10, "{results}");
}

#[test]
fn a_students_repository_with_src_and_docs_is_one_submission() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tree(
        &tmp.path().join("repo"),
        &["src/bus.py"],
        &["docs/report.md", "README.md", ".git/HEAD"],
    );
    graded_once(&repo, "src", tmp.path());
}

#[test]
fn a_mac_zip_of_a_folder_is_one_submission() {
    let tmp = tempfile::tempdir().unwrap();
    let zip = tree(
        &tmp.path().join("upload"),
        &["hw3/bus.py"],
        &["hw3/.DS_Store", "__MACOSX/hw3/._bus.py", "__MACOSX/._hw3"],
    );
    graded_once(&zip, "hw3", tmp.path());
    // And with the program at the top (a zip of the file itself).
    let flat = tree(
        &tmp.path().join("flat"),
        &["bus.py"],
        &["__MACOSX/._bus.py", "._bus.py", ".DS_Store"],
    );
    graded_once(&flat, "", tmp.path());
}

#[test]
fn a_single_nested_folder_is_one_submission() {
    let tmp = tempfile::tempdir().unwrap();
    let nested = tree(&tmp.path().join("upload"), &["hw3/bus.py"], &[]);
    graded_once(&nested, "hw3", tmp.path());
}

#[test]
fn folders_each_holding_a_submission_are_still_a_roster() {
    let tmp = tempfile::tempdir().unwrap();
    let class = tree(
        &tmp.path().join("class"),
        &["ann/bus.py", "ivan/hw1/bus.py"],
        &["notes/todo.txt"],
    );
    let o = Command::new(harness_bin())
        .args(["grade", class.to_str().unwrap(), "--stable"])
        .env("TMPDIR", tmp.path())
        .env("NO_COLOR", "1")
        .output()
        .expect("run harness");
    let table = String::from_utf8_lossy(&o.stdout);
    // `notes` holds no program: a row saying so, and the class exits 1.
    assert_eq!(o.status.code(), Some(1), "{table}");
    let rows: Vec<Vec<&str>> = table
        .lines()
        .skip(1)
        .take(3)
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(rows[0], ["ann", "bus", "100", "100", "-"], "{table}");
    assert_eq!(rows[1], ["ivan", "bus", "100", "100", "-"], "{table}");
    assert_eq!(rows[2][..3], ["notes", "-", "-"], "{table}");
}
