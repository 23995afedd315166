//! Grading a class: a roster built from the shipped samples (a correct one, a wrong line, a
//! crash, a hang, a flood, an empty folder), each student in its own grading process; the
//! table, the CSV, the class JSON and JUnit; a grading killed by the safety-net timeout; a
//! class laid out as instructors have it (entries one folder down, capitalised, both
//! exercises) graded with one config file, and a bad config stopping it before any grading;
//! a file-server dialect named in a class config, graded alike in a class, its shards and alone.

use std::path::{Path, PathBuf};
use std::process::Command;

use e2e::{harness_bin, processes_under, workspace_root};
use serde_json::Value;

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().filter_map(|e| e.ok()) {
        let dst = to.join(e.file_name());
        if e.path().is_dir() {
            copy_dir(&e.path(), &dst);
        } else {
            std::fs::copy(e.path(), &dst).unwrap();
        }
    }
}

/// A roster directory under `tmp`: `(student, source)` pairs, where the source is relative
/// to exercises/bus (`None`: an empty folder).
fn roster(tmp: &Path, students: &[(&str, Option<&str>)]) -> PathBuf {
    let dir = tmp.join("class");
    for (name, source) in students {
        match source {
            Some(s) => copy_dir(
                &workspace_root().join("exercises/bus").join(s),
                &dir.join(name),
            ),
            None => std::fs::create_dir_all(dir.join(name)).unwrap(),
        }
    }
    dir
}

fn harness(args: &[&str], tmp: &Path) -> std::process::Output {
    Command::new(harness_bin())
        .args(args)
        .env("TMPDIR", tmp)
        .env("NO_COLOR", "1")
        .output()
        .expect("run harness")
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn a_mixed_class_is_graded_in_parallel_and_tabled() {
    let tmp = tempfile::tempdir().unwrap();
    let class = roster(
        tmp.path(),
        &[
            ("alice", Some("samples/correct-fork")),
            ("bob", Some("samples/wrong-line")),
            ("carol", Some("samples/crash-at-start")),
            ("dave", Some("bad-inputs/hangs")),
            ("erin", Some("bad-inputs/floods")),
            ("frank", None),
        ],
    );
    let csv_file = tmp.path().join("class.csv");
    let json_file = tmp.path().join("class.json");
    let junit_file = tmp.path().join("class.xml");
    let reports = tmp.path().join("reports");
    let o = harness(
        &[
            "grade",
            class.to_str().unwrap(),
            "--stable",
            "--jobs",
            "2",
            "--csv",
            csv_file.to_str().unwrap(),
            "--report",
            &format!("json={}", json_file.display()),
            "--report",
            &format!("junit={}", junit_file.display()),
            "--reports-dir",
            reports.to_str().unwrap(),
        ],
        tmp.path(),
    );
    let stdout = String::from_utf8(o.stdout).unwrap();
    let stderr = String::from_utf8(o.stderr).unwrap();
    assert_eq!(o.status.code(), Some(1), "{stdout}\n{stderr}");
    // Not a terminal: no progress bar, nothing on stderr.
    assert!(stderr.is_empty(), "{stderr}");
    assert!(
        processes_under(tmp.path()).is_empty(),
        "leftover processes: {:?}",
        processes_under(tmp.path())
    );

    // The table: a row per student, sorted, with the failed checks.
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines[0].starts_with("student") && lines[0].contains("failed checks"));
    let row = |name: &str| {
        *lines
            .iter()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("no row for {name}:\n{stdout}"))
    };
    let words = |name: &str| row(name).split_whitespace().collect::<Vec<_>>();
    assert_eq!(words("alice"), ["alice", "bus", "100", "100", "-"]);
    assert_eq!(words("bob"), ["bob", "bus", "90", "100", "ctrl-c"]);
    assert_eq!(words("carol")[..4], ["carol", "bus", "0", "100"]);
    assert!(row("frank").contains("not graded") && row("frank").contains("no program found"));
    assert!(
        stdout.contains("6 submissions: 1 passed every check, 4 with failed checks, 1 not graded.")
    );

    // The CSV says the same.
    let mut r = csv::Reader::from_path(&csv_file).unwrap();
    let header: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(
        header,
        [
            "student",
            "exercise",
            "score",
            "max_score",
            "failed_checks",
            "error"
        ]
    );
    let rows: Vec<Vec<String>> = r
        .records()
        .map(|rec| rec.unwrap().iter().map(String::from).collect())
        .collect();
    let names: Vec<&str> = rows.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(names, ["alice", "bob", "carol", "dave", "erin", "frank"]);
    assert_eq!(rows[0][1..5], ["bus", "100", "100", ""]);
    // One fault, one check: repeat and roles see the typo again, and are not counted.
    assert_eq!(rows[1][1..5], ["bus", "90", "100", "ctrl-c"]);
    for hang_or_flood in &rows[3..5] {
        // Graded with a verdict (no error), and not full marks.
        assert_eq!(hang_or_flood[1], "bus", "{hang_or_flood:?}");
        assert_eq!(hang_or_flood[5], "", "{hang_or_flood:?}");
        let score: u32 = hang_or_flood[2].parse().unwrap();
        assert!(score < 100, "{hang_or_flood:?}");
        assert!(hang_or_flood[4].contains("ctrl-c"), "{hang_or_flood:?}");
    }
    assert_eq!(rows[5][1..5], ["", "", "", ""]);
    assert!(rows[5][5].contains("no program found"));

    // The class JSON: every student, with the full reports.
    let doc: Value = serde_json::from_str(&read(&json_file)).unwrap();
    assert_eq!(doc["kind"], "class");
    let students = doc["students"].as_array().unwrap();
    assert_eq!(students.len(), 6);
    assert_eq!(students[1]["reports"][0]["score"], 90);
    assert!(students[5]["error"].is_string());

    // JUnit: a suite per grading and one errored suite for the empty folder.
    let xml = read(&junit_file);
    let junit = roxmltree::Document::parse(&xml).expect("JUnit is XML");
    let suites: Vec<_> = junit
        .descendants()
        .filter(|n| n.has_tag_name("testsuite"))
        .collect();
    assert_eq!(suites.len(), 6);
    assert_eq!(suites[0].attribute("name"), Some("bus: alice"));
    assert!(suites[5].descendants().any(|n| n.has_tag_name("error")));

    // Each student's own report.
    let bob: Value = serde_json::from_str(&read(&reports.join("bob.json"))).unwrap();
    assert_eq!(bob["score"], 90);
    let frank: Value = serde_json::from_str(&read(&reports.join("frank.json"))).unwrap();
    assert!(frank["error"]
        .as_str()
        .unwrap()
        .contains("no program found"));
}

#[test]
fn a_grading_past_the_timeout_is_killed_and_the_rest_go_on() {
    let tmp = tempfile::tempdir().unwrap();
    let class = roster(
        tmp.path(),
        &[
            ("a-hangs", Some("bad-inputs/hangs")),
            ("b-correct", Some("samples/correct-fork")),
        ],
    );
    // Several paths instead of a roster directory; one at a time, the hang first. The hang
    // takes its deadlines (about 17 s) unless killed; 5 s leaves a correct grading room on a
    // loaded machine (1 s did not, at a load average of 13 on 2 cores).
    let csv_file = tmp.path().join("class.csv");
    let o = harness(
        &[
            "grade",
            class.join("a-hangs").to_str().unwrap(),
            class.join("b-correct").to_str().unwrap(),
            "--stable",
            "--jobs",
            "1",
            "--timeout",
            "5",
            "--csv",
            csv_file.to_str().unwrap(),
        ],
        tmp.path(),
    );
    assert_eq!(o.status.code(), Some(1));
    let csv_text = read(&csv_file);
    assert_eq!(
        csv_text,
        "student,exercise,score,max_score,failed_checks,error\n\
         a-hangs,,,,,the grading took longer than 5 s and was stopped\n\
         b-correct,bus,100,100,,\n",
    );
    // The killed grader's student processes were killed too.
    assert!(
        processes_under(tmp.path()).is_empty(),
        "leftover processes: {:?}",
        processes_under(tmp.path())
    );
}

#[test]
fn bad_class_options_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let class = roster(
        tmp.path(),
        &[
            ("a", Some("samples/correct-fork")),
            ("b", Some("samples/correct-fork")),
        ],
    );
    let class = class.to_str().unwrap();
    for (args, says) in [
        (vec!["--shard", "3/2"], "K/N"),
        (vec!["--shard", "x"], "K/N"),
        (vec!["--jobs", "0"], "--jobs"),
        (vec!["--format", "gradescope"], "one submission"),
    ] {
        let mut all = vec!["grade", class];
        all.extend(args.iter().copied());
        let o = harness(&all, tmp.path());
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(says), "{args:?}: {err}");
    }
}

/// A class as instructors get it: a repository clone one folder down, a capitalised file
/// name, a file-server student among bus students, a folder with nothing gradable; graded
/// with one config file, the example shipped in docs/.
#[test]
fn a_class_laid_out_as_instructors_have_it_is_graded_with_one_config() {
    let tmp = tempfile::tempdir().unwrap();
    let class = roster(
        tmp.path(),
        &[
            ("alice", Some("samples/correct-fork")),
            ("ivan", None),
            ("judy", None),
            ("lou", None),
        ],
    );
    let bus = workspace_root().join("exercises/bus/samples");
    std::fs::create_dir_all(class.join("ivan/hw1")).unwrap();
    std::fs::copy(
        bus.join("correct-fork/bus.py"),
        class.join("ivan/hw1/bus.py"),
    )
    .unwrap();
    std::fs::write(class.join("ivan/README.md"), "my homework\n").unwrap();
    std::fs::copy(bus.join("wrong-line/bus.py"), class.join("judy/Bus.py")).unwrap();
    copy_dir(
        &workspace_root().join("exercises/fileserver/samples/correct-fork"),
        &class.join("kim"),
    );
    // Two attempts, each a program: not a roster inside the class, nothing to choose from.
    for d in ["lou/draft", "lou/final"] {
        std::fs::create_dir_all(class.join(d)).unwrap();
        std::fs::copy(
            bus.join("correct-fork/bus.py"),
            class.join(d).join("bus.py"),
        )
        .unwrap();
    }
    std::fs::write(class.join("lou/notes.txt"), "todo\n").unwrap();
    let config = workspace_root().join("docs/examples/class.toml");
    let json_file = tmp.path().join("class.json");
    let o = harness(
        &[
            "grade",
            class.to_str().unwrap(),
            "--config",
            config.to_str().unwrap(),
            "--stable",
            "--report",
            &format!("json={}", json_file.display()),
        ],
        tmp.path(),
    );
    let stdout = String::from_utf8(o.stdout).unwrap();
    let stderr = String::from_utf8(o.stderr).unwrap();
    assert_eq!(o.status.code(), Some(1), "{stdout}\n{stderr}");
    let row = |name: &str| {
        stdout
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("no row for {name}:\n{stdout}"))
            .split_whitespace()
            .collect::<Vec<_>>()
    };
    // The class config's points: ctrl-z 20 (bus 105), traversal 10 (file server 118).
    assert_eq!(row("alice"), ["alice", "bus", "105", "105", "-"]);
    assert_eq!(row("ivan"), ["ivan", "bus", "105", "105", "-"]);
    // A wrong line costs ctrl-c alone (10): repeat and roles judge the rest of what they see.
    assert_eq!(row("judy")[..4], ["judy", "bus", "95", "105"]);
    assert_eq!(row("kim"), ["kim", "fileserver", "126", "126", "-"]);
    let lou = row("lou").join(" ");
    assert!(
        lou.contains("not graded: no program found (looked for bus.py, bus or bus.c; server.py")
            && lou.ends_with("it holds: draft/, final/, notes.txt"),
        "{lou}"
    );

    // The reports say where the program was found.
    let doc: Value = serde_json::from_str(&read(&json_file)).unwrap();
    let student = |name: &str| {
        doc["students"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["student"] == name)
            .unwrap()
            .clone()
    };
    let ivan = student("ivan");
    assert_eq!(ivan["reports"][0]["submission"]["entry"], "bus.py");
    assert!(ivan["reports"][0]["submission"]["path"]
        .as_str()
        .unwrap()
        .ends_with("/ivan"));
    assert_eq!(ivan["reports"][0]["submission"]["folder"], "hw1");
    assert_eq!(
        ivan["reports"][0]["notes"][0],
        "the programs were found in `hw1/`, the only folder of the submission"
    );
    let judy = student("judy");
    assert_eq!(judy["reports"][0]["submission"]["entry"], "Bus.py");
    assert_eq!(
        judy["reports"][0]["notes"][0],
        "`Bus.py` was graded as `bus.py`: the names differ only in case"
    );
    assert_eq!(student("lou")["grader_fault"], Value::Null);

    // With `ignore_case = false` the capitalised file is not taken.
    let strict = tmp.path().join("strict.toml");
    std::fs::write(&strict, "[find]\nignore_case = false\n").unwrap();
    let o = harness(
        &[
            "grade",
            class.join("judy").to_str().unwrap(),
            "--config",
            strict.to_str().unwrap(),
        ],
        tmp.path(),
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("no program found") && err.contains("it holds: Bus.py"),
        "{err}"
    );
}

/// A mistake in the config stops the class before anyone is graded: exit 2, one line naming
/// the key at its line and column in the instructor's file, no table, no reports.
#[test]
fn a_bad_config_stops_the_class_before_any_grading() {
    let tmp = tempfile::tempdir().unwrap();
    let class = roster(
        tmp.path(),
        &[
            ("a", Some("samples/correct-fork")),
            ("b", Some("samples/wrong-line")),
        ],
    );
    let bad = tmp.path().join("class.toml");
    std::fs::write(
        &bad,
        "[bus.checks]\nctrl-z = 20\n\n[fileserver.timing]\nop_ms = \"slow\"\n",
    )
    .unwrap();
    let missing = tmp.path().join("missing.toml");
    let reports = tmp.path().join("reports");
    for (config, says) in [
        (
            &bad,
            "class.toml:5:1: key `fileserver.timing.op_ms`: invalid type: string \"slow\"",
        ),
        (&missing, "missing.toml: cannot read"),
    ] {
        let started = std::time::Instant::now();
        let o = harness(
            &[
                "grade",
                class.to_str().unwrap(),
                "--config",
                config.to_str().unwrap(),
                "--reports-dir",
                reports.to_str().unwrap(),
            ],
            tmp.path(),
        );
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{stderr}");
        assert!(
            o.stdout.is_empty(),
            "{}",
            String::from_utf8_lossy(&o.stdout)
        );
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.starts_with("harness: invalid config "), "{stderr}");
        assert!(stderr.contains(says), "{stderr}");
        assert!(!stderr.contains("\\n"), "{stderr}");
        assert!(!reports.exists(), "a student was graded");
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }
}

/// The file server's legacy dialect chosen in one class config: a class, its shards merged
/// back, and the student's single grading with the sample's own config all give the
/// file-server student the same verdicts, spoken in the dialect (`G hello.txt`).
#[test]
fn a_dialect_in_the_class_config_grades_the_class_and_its_shards_alike() {
    let tmp = tempfile::tempdir().unwrap();
    let class = roster(tmp.path(), &[("bea", Some("samples/correct-fork"))]);
    let sample = workspace_root().join("exercises/fileserver/samples/lgpq-correct");
    std::fs::create_dir_all(class.join("fay")).unwrap();
    std::fs::copy(sample.join("server.py"), class.join("fay/server.py")).unwrap();
    let config = tmp.path().join("class.toml");
    std::fs::write(
        &config,
        "[bus.checks]\nctrl-z = 20\n\n\
         [fileserver.server]\nargs = []\nready_line = \"\"\n\
         library = \"/home/tarena/ftp/\"\ndialect = \"lgpq-hash\"\n",
    )
    .unwrap();
    let (c, cfg) = (class.to_str().unwrap(), config.to_str().unwrap());
    let file = |n: &str| tmp.path().join(n).display().to_string();

    // The single grading, with the sample's own config.
    let single = file("single.json");
    let o = harness(
        &[
            "grade",
            class.join("fay").to_str().unwrap(),
            "--config",
            sample.join("config.toml").to_str().unwrap(),
            "--stable",
            "--format",
            "json",
            "--output",
            &single,
        ],
        tmp.path(),
    );
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let single: Value = serde_json::from_str(&read(Path::new(&single))).unwrap();
    assert_eq!(single["score"], 90, "{single:#}");
    let get_text = single["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "get-text")
        .unwrap();
    assert_eq!(get_text["status"], "passed");
    assert!(
        get_text["message"]
            .as_str()
            .unwrap()
            .starts_with("G hello.txt"),
        "the dialect's command: {get_text}"
    );

    // The whole class with one config.
    let o = harness(
        &[
            "grade",
            c,
            "--config",
            cfg,
            "--stable",
            "--format",
            "json",
            "--output",
            &file("whole.json"),
            "--csv",
            &file("whole.csv"),
        ],
        tmp.path(),
    );
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let whole: Value = serde_json::from_str(&read(Path::new(&file("whole.json")))).unwrap();
    let report_of = |doc: &Value, name: &str| {
        doc["students"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["student"] == name)
            .unwrap_or_else(|| panic!("no {name}: {doc:#}"))["reports"][0]
            .clone()
    };
    let fay = report_of(&whole, "fay");
    assert_eq!(fay["exercise"], "fileserver");
    assert_eq!(fay["score"], single["score"]);
    assert_eq!(fay["max_score"], single["max_score"]);
    // Event logs included: a stable log counts a redacted path's bytes as its placeholder's.
    assert_eq!(
        fay["checks"], single["checks"],
        "the class grades fay as alone"
    );
    assert_eq!(
        report_of(&whole, "bea")["score"],
        105,
        "the class's bus points"
    );

    // Two shards (bea, then fay), merged: the class's CSV, fay's checks unchanged.
    for (k, out) in [("1/2", file("s1.json")), ("2/2", file("s2.json"))] {
        let o = harness(
            &[
                "grade", c, "--config", cfg, "--stable", "--shard", k, "--format", "json",
                "--output", &out,
            ],
            tmp.path(),
        );
        assert!(
            matches!(o.status.code(), Some(0 | 1)),
            "{k}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    let s2: Value = serde_json::from_str(&read(Path::new(&file("s2.json")))).unwrap();
    // Event logs too: a path in a request counts the bytes of its placeholder in a stable
    // log, whatever the run directory's length (CI's clone differs from here).
    assert_eq!(
        report_of(&s2, "fay")["checks"],
        single["checks"],
        "a shard grades fay as alone"
    );
    let merged = harness(
        &[
            "merge",
            &file("s1.json"),
            &file("s2.json"),
            "--csv",
            &file("merged.csv"),
        ],
        tmp.path(),
    );
    assert_eq!(merged.status.code(), Some(1));
    assert_eq!(
        read(Path::new(&file("merged.csv"))),
        read(Path::new(&file("whole.csv")))
    );
    assert!(
        read(Path::new(&file("whole.csv"))).contains("\nfay,fileserver,90,124,client-list "),
        "{}",
        read(Path::new(&file("whole.csv")))
    );
    assert!(
        processes_under(tmp.path()).is_empty(),
        "leftover processes: {:?}",
        processes_under(tmp.path())
    );
}
