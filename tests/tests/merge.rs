//! `--shard K/N` spreads a class over several runs; `harness merge` puts the JSON back
//! together into the same table a single run gives. Also: `harness list` and `explain`.

use std::path::{Path, PathBuf};
use std::process::Command;

use e2e::{harness_bin, workspace_root};

fn harness(args: &[&str], tmp: &Path) -> std::process::Output {
    Command::new(harness_bin())
        .args(args)
        .env("TMPDIR", tmp)
        .env("NO_COLOR", "1")
        .output()
        .expect("run harness")
}

fn copy_sample(name: &str, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    let from = workspace_root().join("exercises/bus/samples").join(name);
    std::fs::copy(from.join("bus.py"), to.join("bus.py")).unwrap();
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn shards_merge_into_the_table_of_one_run() {
    let tmp = tempfile::tempdir().unwrap();
    let class = tmp.path().join("class");
    copy_sample("correct-fork", &class.join("ann"));
    copy_sample("wrong-line", &class.join("ben"));
    std::fs::create_dir_all(class.join("cat")).unwrap(); // no program
    let c = class.to_str().unwrap();
    let file = |n: &str| -> PathBuf { tmp.path().join(n) };
    let s = |p: &PathBuf| p.to_str().unwrap().to_string();

    // Shard 1/2 gets ann and cat (every second name from the first), 2/2 gets ben.
    for (k, out) in [("1/2", file("s1.json")), ("2/2", file("s2.json"))] {
        let o = harness(
            &[
                "grade",
                c,
                "--stable",
                "--shard",
                k,
                "--format",
                "json",
                "--output",
                &s(&out),
            ],
            tmp.path(),
        );
        assert_eq!(
            o.status.code(),
            Some(1),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    let s1: serde_json::Value = serde_json::from_str(&read(&file("s1.json"))).unwrap();
    let names: Vec<&str> = s1["students"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["student"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["ann", "cat"]);

    let whole = harness(
        &["grade", c, "--stable", "--csv", &s(&file("whole.csv"))],
        tmp.path(),
    );
    assert_eq!(whole.status.code(), Some(1));

    let merged = harness(
        &[
            "merge",
            &s(&file("s2.json")),
            &s(&file("s1.json")),
            "--csv",
            &s(&file("merged.csv")),
            "--report",
            &format!("junit={}", s(&file("merged.xml"))),
        ],
        tmp.path(),
    );
    assert_eq!(merged.status.code(), Some(1));
    assert_eq!(read(&file("merged.csv")), read(&file("whole.csv")));
    assert_eq!(
        String::from_utf8(merged.stdout).unwrap(),
        String::from_utf8(whole.stdout).unwrap(),
        "the merged table is the table of one run"
    );
    let xml = read(&file("merged.xml"));
    let doc = roxmltree::Document::parse(&xml).expect("JUnit is XML");
    assert_eq!(
        doc.descendants()
            .filter(|n| n.has_tag_name("testsuite"))
            .count(),
        3
    );
}

#[test]
fn single_reports_merge_too() {
    let tmp = tempfile::tempdir().unwrap();
    let sub = tmp.path().join("dora");
    copy_sample("correct-fork", &sub);
    let report = tmp.path().join("dora.json");
    let o = harness(
        &[
            "grade",
            sub.to_str().unwrap(),
            "--stable",
            "--format",
            "json",
            "--output",
            report.to_str().unwrap(),
        ],
        tmp.path(),
    );
    assert_eq!(o.status.code(), Some(0));
    let csv_file = tmp.path().join("m.csv");
    let m = harness(
        &[
            "merge",
            report.to_str().unwrap(),
            "--format",
            "markdown",
            "--csv",
            csv_file.to_str().unwrap(),
        ],
        tmp.path(),
    );
    assert_eq!(
        m.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&m.stderr)
    );
    assert_eq!(
        read(&csv_file),
        "student,exercise,score,max_score,failed_checks,error\ndora,bus,100,100,,\n"
    );
    let md = String::from_utf8(m.stdout).unwrap();
    assert!(md.contains("| dora | bus | 100 | 100 | - |"), "{md}");

    let bad = tmp.path().join("bad.json");
    std::fs::write(&bad, "{\"not\": \"a report\"}").unwrap();
    let m = harness(&["merge", bad.to_str().unwrap()], tmp.path());
    assert_eq!(m.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&m.stderr).contains("bad.json"));
}

/// `--reports-dir` files of students whose programs are one folder down (both in `hw1/`)
/// merge into rows named after the students, as in the class table, not `hw1` twice.
#[test]
fn reports_dir_files_of_nested_students_keep_the_students_names() {
    let tmp = tempfile::tempdir().unwrap();
    let class = tmp.path().join("class");
    copy_sample("correct-fork", &class.join("ann/hw1"));
    copy_sample("wrong-line", &class.join("ben/hw1"));
    let reports = tmp.path().join("reports");
    let o = harness(
        &[
            "grade",
            class.to_str().unwrap(),
            "--stable",
            "--reports-dir",
            reports.to_str().unwrap(),
        ],
        tmp.path(),
    );
    assert_eq!(o.status.code(), Some(1));
    let table = String::from_utf8(o.stdout).unwrap();
    let m = harness(
        &[
            "merge",
            reports.join("ann.json").to_str().unwrap(),
            reports.join("ben.json").to_str().unwrap(),
        ],
        tmp.path(),
    );
    let merged = String::from_utf8(m.stdout).unwrap();
    assert_eq!(m.status.code(), Some(1), "{merged}");
    assert!(
        merged.contains("\nann ") && merged.contains("\nben "),
        "{merged}"
    );
    assert_eq!(merged, table, "the merged table is the class table");
}

#[test]
fn list_and_explain_tell_the_checks() {
    let tmp = tempfile::tempdir().unwrap();
    let o = harness(&["list"], tmp.path());
    assert_eq!(o.status.code(), Some(0));
    let text = String::from_utf8(o.stdout).unwrap();
    for id in [
        "start",
        "handlers",
        "ctrl-c",
        "ctrl-backslash",
        "repeat",
        "roles",
        "ctrl-z",
        "exit-order",
        "cleanup",
        "idle",
    ] {
        assert!(
            text.lines().any(|l| l.trim_start().starts_with(id)),
            "{id}:\n{text}"
        );
    }
    assert!(text.contains("(100 points)"), "{text}");

    let o = harness(&["explain", "bus:exit-order"], tmp.path());
    assert_eq!(o.status.code(), Some(0));
    let text = String::from_utf8(o.stdout).unwrap();
    for part in [
        "What it does",
        "Why a submission fails it",
        "How to fix it",
        "15 points",
    ] {
        assert!(text.contains(part), "{part}:\n{text}");
    }
    let o = harness(&["explain", "no-such-check"], tmp.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("unknown check"));
}
