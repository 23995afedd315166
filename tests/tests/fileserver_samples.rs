//! Every file server sample against its expected verdicts, its report pinned by a snapshot;
//! the reference server and client get full marks; repeated gradings agree.

use std::path::{Path, PathBuf};

use e2e::{
    expected, grade, grade_json, processes_under, samples, statuses, workspace_bin, workspace_root,
};

fn rel(name: &str) -> PathBuf {
    PathBuf::from("exercises/fileserver/samples").join(name)
}

fn check_sample(name: &str) {
    let dir = workspace_root().join(rel(name));
    let tmp = tempfile::tempdir().unwrap();
    let (code, report, _) = grade_json(&rel(name), tmp.path());
    let want = expected(&dir);
    assert_eq!(
        statuses(&report),
        want.checks,
        "verdicts of sample {name}:\n{report:#}"
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
    assert!(
        processes_under(tmp.path()).is_empty(),
        "leftover processes: {:?}",
        processes_under(tmp.path())
    );

    let human = grade(&rel(name), &["--stable"], tmp.path());
    let text = String::from_utf8(human.stdout).expect("the human report is UTF-8");
    insta::with_settings!({
        filters => vec![
            (r"(?m)^  interpreter: .*$", "  interpreter: [python]"),
            (r"(?m)^  ran: .*$", "  ran: [command]"),
        ],
        snapshot_suffix => name,
    }, {
        insta::assert_snapshot!("fileserver_report", text);
    });
}

macro_rules! sample_tests {
    ($($test:ident => $name:literal),* $(,)?) => {
        $(#[test] fn $test() { check_sample($name); })*

        #[test]
        fn every_sample_has_a_test() {
            let mut listed = vec![$($name),*];
            listed.sort();
            let found: Vec<String> = samples("fileserver").into_iter().map(|(n, _)| n).collect();
            assert_eq!(found, listed, "add new samples to sample_tests! in {}", file!());
        }
    };
}

sample_tests! {
    binary_as_text => "binary-as-text",
    correct_fork => "correct-fork",
    correct_threads => "correct-threads",
    dies_on_disconnect => "dies-on-disconnect",
    lists_hidden => "lists-hidden",
    one_at_a_time => "one-at-a-time",
    path_traversal => "path-traversal",
    truncated_upload => "truncated-upload",
    truncating_client => "truncating-client",
    zombies => "zombies",
}

fn copy_exe(from: &Path, to: &Path) {
    std::fs::copy(from, to).unwrap();
}

#[test]
fn the_reference_server_and_client_get_full_marks() {
    let tmp = tempfile::tempdir().unwrap();
    let sub = tmp.path().join("reference");
    std::fs::create_dir(&sub).unwrap();
    copy_exe(&workspace_bin("fileserver"), &sub.join("server"));
    copy_exe(&workspace_bin("fileclient"), &sub.join("client"));
    let (code, report, _) = grade_json(&sub, tmp.path());
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["score"], report["max_score"]);
    assert!(statuses(&report).values().all(|s| s == "passed"));
}

/// Gradings of the same sample agree. `DETERMINISM_RUNS_FILESERVER` sets how many (default
/// 5: a file server grading moves some 100 MiB).
#[test]
fn repeated_gradings_agree() {
    let runs: usize = std::env::var("DETERMINISM_RUNS_FILESERVER")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let tmp = tempfile::tempdir().unwrap();
    for name in ["correct-threads", "truncated-upload", "zombies"] {
        let (_, _, first) = grade_json(&rel(name), tmp.path());
        for i in 1..runs {
            let (_, json, text) = grade_json(&rel(name), tmp.path());
            assert_eq!(text, first, "grading {i} of {name} differs:\n{json:#}");
        }
    }
}
