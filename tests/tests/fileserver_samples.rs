//! Every file server sample against its expected verdicts, its report pinned by a snapshot;
//! the reference server and client get full marks; repeated gradings agree.

use std::path::{Path, PathBuf};

use e2e::{
    expected, grade_json, grade_json_with, processes_under, samples, statuses, workspace_bin,
    workspace_root,
};

fn rel(name: &str) -> PathBuf {
    PathBuf::from("exercises/fileserver/samples").join(name)
}

/// The arguments that grade sample `name`: its `config.toml` laid over the shipped config,
/// when it has one (a course's own set-up: hard-coded ports, library paths).
fn config_args(name: &str) -> Vec<String> {
    let config = workspace_root().join(rel(name)).join("config.toml");
    if config.exists() {
        vec!["--config".into(), config.display().to_string()]
    } else {
        Vec::new()
    }
}

/// The first directory on the way to a sample's hard-coded library path that does not exist
/// on this machine (`/Users` for `/Users/apple/Desktop/test/`): the grading shows the
/// library there in the program's own view, and must not make it on the machine.
fn missing_way(name: &str) -> Option<PathBuf> {
    let config = workspace_root().join(rel(name)).join("config.toml");
    let text = std::fs::read_to_string(config).ok()?;
    let value: toml::Value = toml::from_str(&text).ok()?;
    let library = Path::new(value.get("server")?.get("library")?.as_str()?);
    if !library.is_absolute() {
        return None;
    }
    let mut way = PathBuf::from("/");
    for part in library.components().skip(1) {
        way.push(part);
        if !way.exists() {
            return Some(way);
        }
    }
    None
}

fn check_sample(name: &str) {
    let dir = workspace_root().join(rel(name));
    let tmp = tempfile::tempdir().unwrap();
    let config = config_args(name);
    let config: Vec<&str> = config.iter().map(String::as_str).collect();
    // One grading gives both reports: the JSON to judge, the human one for the snapshot.
    let human_file = tmp.path().join("report.txt");
    let human_arg = format!("human={}", human_file.display());
    let args = [&config[..], &["--report", human_arg.as_str()]].concat();
    let missing = missing_way(name);
    let (code, report, _) = grade_json_with(&rel(name), &args, tmp.path());
    if let Some(way) = missing {
        assert!(
            !way.exists(),
            "grading {name} made {} on the machine",
            way.display()
        );
    }
    let want = expected(&dir);
    assert_eq!(
        statuses(&report),
        want.checks,
        "verdicts of sample {name}:\n{report:#}"
    );
    want.assert_hints(name, &report);
    want.assert_notes(name, &report);
    want.assert_endings(name, &report);
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

    if name.starts_with("c-") {
        // C samples: the report quotes the compiler, whose wording changes between versions;
        // their verdicts and score above are what is pinned.
        return;
    }
    let text = std::fs::read_to_string(&human_file).expect("the human report, in UTF-8");
    insta::with_settings!({
        filters => e2e::report_filters(),
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
    argv_host_port => "argv-host-port",
    binary_as_text => "binary-as-text",
    c_correct => "c-correct",
    c_does_not_compile => "c-does-not-compile",
    c_zombies => "c-zombies",
    correct_fork => "correct-fork",
    correct_threads => "correct-threads",
    crashes_on_eof => "crashes-on-eof",
    dies_on_disconnect => "dies-on-disconnect",
    double_fork => "double-fork",
    first_buffer_client => "first-buffer-client",
    ftp_words_correct => "ftp-words-correct",
    ftp_words_spins => "ftp-words-spins",
    hardcoded_port => "hardcoded-port",
    ldu_correct => "ldu-correct",
    ldu_lists_hidden => "ldu-lists-hidden",
    length_char_sizes => "length-char-sizes",
    length_correct => "length-correct",
    lgpq_correct => "lgpq-correct",
    lgpq_course_lenient => "lgpq-course-lenient",
    lgpq_course_strict => "lgpq-course-strict",
    lgpq_decode_flood => "lgpq-decode-flood",
    lgpq_no_upload => "lgpq-no-upload",
    lgpq_slow_close => "lgpq-slow-close",
    lgpq_stuck_download => "lgpq-stuck-download",
    lgpq_per_send_correct => "lgpq-per-send-correct",
    lgpq_per_send_dies_on_disconnect => "lgpq-per-send-dies-on-disconnect",
    lgpq_text_upload => "lgpq-text-upload",
    lists_hidden => "lists-hidden",
    lowercase_correct => "lowercase-correct",
    lowercase_zombies => "lowercase-zombies",
    macos_library => "macos-library",
    no_ready_line => "no-ready-line",
    ok_words_per_command => "ok-words-per-command",
    out_of_step_client => "out-of-step-client",
    numbered_correct => "numbered-correct",
    numbered_pick_by_number => "numbered-pick-by-number",
    numbered_relists => "numbered-relists",
    numbered_replaces => "numbered-replaces",
    lgpq_text_client => "lgpq-text-client",
    one_at_a_time => "one-at-a-time",
    pair_client_crashes => "pair-client-crashes",
    pair_first_recv => "pair-first-recv",
    pair_numbered_menu => "pair-numbered-menu",
    pair_numbered_pick => "pair-numbered-pick",
    path_traversal => "path-traversal",
    quit_ends_server => "quit-ends-server",
    spins_after_disconnect => "spins-after-disconnect",
    truncated_upload => "truncated-upload",
    truncating_client => "truncating-client",
    words_correct => "words-correct",
    words_no_replace => "words-no-replace",
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
            let (_, _, text) = grade_json(&rel(name), tmp.path());
            e2e::assert_same_report(&first, &text, &format!("grading {i} of {name}"));
        }
    }
}

/// A server whose handlers spin after their clients vanish is graded the same on a quiet
/// machine and on a busy one: 10 gradings, every other one beside two CPU spinners (as
/// many as the test machine has cores), identical reports.
#[test]
fn a_spinning_server_is_graded_the_same_under_load() {
    let tmp = tempfile::tempdir().unwrap();
    let name = "spins-after-disconnect";
    let (_, _, first) = grade_json(&rel(name), tmp.path());
    for i in 1..10 {
        let load = (i % 2 == 1).then(|| [e2e::Spinner::start(), e2e::Spinner::start()]);
        let (_, _, text) = grade_json(&rel(name), tmp.path());
        drop(load);
        let what = format!("grading {i} of {name} (under load: {})", i % 2 == 1);
        e2e::assert_same_report(&first, &text, &what);
    }
}

/// Graded as a user without privileges (a teacher's own machine): the programs run in the
/// grading's user and network namespaces, which the grader reaches too (its protocol
/// client, its reference server). A correct submission gets every point, the report says
/// what isolation it had, and nothing is left running.
#[test]
fn graded_without_root_a_correct_submission_gets_every_point() {
    let Some(user) = e2e::Unprivileged::new() else {
        return;
    };
    let sub = user.sample(&rel("correct-fork"), "correct-fork");
    let (code, report) = e2e::report_of(user.start(&[sub.to_str().unwrap()]));
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["score"].as_u64(), Some(124), "{report:#}");
    assert_eq!(report["score"], report["max_score"], "{report:#}");
    let isolation = report["isolation"].to_string();
    if isolation.contains("no user namespace") {
        eprintln!("note: no user namespaces on this machine: the fallback was graded");
    } else {
        assert!(
            isolation.contains("user and network namespace of its own per grading"),
            "{isolation}"
        );
    }
    assert!(
        processes_under(user.dir()).is_empty(),
        "leftover processes: {:?}",
        processes_under(user.dir())
    );
}

/// Two unprivileged gradings at once, whose programs hard-code the same port (the reference
/// server for the client is put there too): each grading has a network of its own, so both
/// get every point.
#[test]
fn graded_without_root_two_gradings_on_one_hard_coded_port_both_pass() {
    let Some(user) = e2e::Unprivileged::new() else {
        return;
    };
    let children: Vec<_> = ["one", "two"]
        .iter()
        .map(|name| {
            let sub = user.sample(&rel("hardcoded-port"), name);
            let config = sub.join("config.toml");
            user.start(&["--config", config.to_str().unwrap(), sub.to_str().unwrap()])
        })
        .collect();
    for child in children {
        let (code, report) = e2e::report_of(child);
        assert_eq!(code, 0, "{report:#}");
        assert_eq!(report["score"].as_u64(), Some(124), "{report:#}");
    }
    assert!(
        processes_under(user.dir()).is_empty(),
        "leftover processes: {:?}",
        processes_under(user.dir())
    );
}

/// A course client talking to the reference server in the course's dialect is graded the
/// same on a quiet machine and on a busy one: the server's "pause" before each message is
/// the client having read the previous one, and an upload counts once the server has
/// stored it. 4 gradings of each sample, every other one beside two CPU spinners.
#[test]
fn a_dialect_client_is_graded_the_same_under_load() {
    let tmp = tempfile::tempdir().unwrap();
    for name in ["numbered-pick-by-number", "lgpq-text-client"] {
        let config = config_args(name);
        let config: Vec<&str> = config.iter().map(String::as_str).collect();
        let (_, _, first) = grade_json_with(&rel(name), &config, tmp.path());
        for i in 1..4 {
            let load = (i % 2 == 1).then(|| [e2e::Spinner::start(), e2e::Spinner::start()]);
            let (_, _, text) = grade_json_with(&rel(name), &config, tmp.path());
            drop(load);
            let what = format!("grading {i} of {name} (under load: {})", i % 2 == 1);
            e2e::assert_same_report(&first, &text, &what);
        }
    }
}
