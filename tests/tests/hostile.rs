//! The hostile corpus (`tests/fixtures/hostile/`): submissions that each try one thing a
//! broken or malicious program does (bus programs, but `port-squatter` and `fake-client`).
//! For every one: the grader finishes within its deadline
//! plus a margin, gives a clear verdict, never panics, leaves no process behind (counted three
//! ways: by working directory, by the grading's own user id, by its control groups), and no
//! file outside the sandbox changes (listings of the directories it attacks, before and after;
//! `TMPDIR` and `HOME` are directories this test owns).
//!
//! Bounds are generous on purpose: machines are shared and noisy. Run with `--nocapture` to
//! see each case's verdict, time and the isolation in force.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use e2e::{cgroups_of, harness_bin, is_root, processes_under, statuses, workspace_root};
use serde_json::Value;

/// `supervise::isolation::UID_BASE`: as root, a grading's program runs as this plus the
/// grader's pid.
const UID_BASE: u32 = 1_800_000_000;
/// The shipped `[limits] wall_seconds`.
const WALL: Duration = Duration::from_secs(120);
/// What the grader may take beyond its wall deadline (the final cleanup).
const MARGIN: Duration = Duration::from_secs(10);

fn fixture(name: &str) -> PathBuf {
    workspace_root().join("tests/fixtures/hostile").join(name)
}

/// Every file below `dir`: path, size, modification time, mode.
fn listing(dir: &Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.filter_map(|e| e.ok()) {
            let p = e.path();
            let Ok(m) = std::fs::symlink_metadata(&p) else {
                continue;
            };
            use std::os::unix::fs::MetadataExt;
            out.insert(format!(
                "{} {} {} {:o}",
                p.strip_prefix(dir).unwrap_or(&p).display(),
                m.len(),
                m.mtime_nsec() + m.mtime() * 1_000_000_000,
                m.mode()
            ));
            if m.is_dir() {
                stack.push(p);
            }
        }
    }
    out
}

/// Files the corpus leaves in shared directories when it gets out: their names say so.
fn hostile_traces() -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for dir in ["/tmp", "/var/tmp", "/dev/shm", "/", "/root"] {
        if let Ok(entries) = std::fs::read_dir(dir) {
            for e in entries.filter_map(|e| e.ok()) {
                let name = e.file_name().to_string_lossy().into_owned();
                if name.starts_with("HOSTILE") {
                    out.insert(format!("{dir}/{name}"));
                }
            }
        }
    }
    out
}

/// Processes left by the grading whose grader had pid `harness`: by working directory, by
/// the user id it gave the program (as root), and by its control groups.
fn leftovers(case_dir: &Path, harness: u32) -> Vec<String> {
    let mut left = processes_under(case_dir);
    let uid = UID_BASE + harness;
    let tag = format!("harness-{harness}");
    if let Ok(procs) = std::fs::read_dir("/proc") {
        for p in procs.filter_map(|e| e.ok()) {
            let name = p.file_name().to_string_lossy().into_owned();
            if !name.bytes().all(|b| b.is_ascii_digit()) {
                continue;
            }
            let status = std::fs::read_to_string(p.path().join("status")).unwrap_or_default();
            let real_uid = status
                .lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|l| l.split_whitespace().next())
                .and_then(|u| u.parse::<u32>().ok());
            let cgroup = std::fs::read_to_string(p.path().join("cgroup")).unwrap_or_default();
            if real_uid == Some(uid)
                || cgroup.contains(&format!("/{tag}/"))
                || cgroup.contains(&format!("/{tag}-"))
                || cgroup.contains(&format!("/{tag}\n"))
            {
                let entry = format!("{name}: uid {real_uid:?}");
                if !left.iter().any(|l| l.starts_with(&format!("{name}:"))) {
                    left.push(entry);
                }
            }
        }
    }
    left.extend(
        cgroups_of(harness)
            .into_iter()
            .map(|g| format!("cgroup {g} still exists")),
    );
    left
}

/// One grading of a hostile submission and what it left.
struct Graded {
    name: String,
    code: Option<i32>,
    report: Value,
    elapsed: Duration,
    transcript: String,
}

impl Graded {
    fn status(&self, check: &str) -> String {
        statuses(&self.report)
            .get(check)
            .cloned()
            .unwrap_or_else(|| panic!("{}: no check {check}", self.name))
    }

    fn score(&self) -> u64 {
        self.report["score"].as_u64().unwrap_or(999)
    }

    fn notes(&self) -> String {
        self.report["notes"].to_string()
    }

    fn check(&self, check: &str) -> &Value {
        self.report["checks"]
            .as_array()
            .and_then(|a| a.iter().find(|c| c["id"] == check))
            .unwrap_or_else(|| panic!("{}: no check {check}", self.name))
    }
}

/// Every transcript of a report, flattened.
fn transcripts(report: &Value) -> String {
    let mut s = String::new();
    for c in report["checks"].as_array().into_iter().flatten() {
        for p in c["transcript"]["pieces"].as_array().into_iter().flatten() {
            s.push_str(p["text"].as_str().unwrap_or(""));
            s.push('\n');
        }
    }
    s
}

/// A started grading of a copy of `name`, in a directory of its own.
struct Running {
    name: String,
    case: tempfile::TempDir,
    child: std::process::Child,
    started: Instant,
    before: Vec<BTreeSet<String>>,
    limit: Duration,
}

fn watched(case: &Path) -> Vec<PathBuf> {
    vec![case.join("tmp"), case.join("home"), case.join("submission")]
}

fn start(name: &str, fixture_dir: &Path, args: &[&str], limit: Duration) -> Running {
    let case = tempfile::tempdir().expect("tempdir");
    let sub = case.path().join("submission");
    std::fs::create_dir(&sub).unwrap();
    for e in std::fs::read_dir(fixture_dir)
        .unwrap()
        .filter_map(|e| e.ok())
    {
        std::fs::copy(e.path(), sub.join(e.file_name())).unwrap();
    }
    std::fs::create_dir(case.path().join("tmp")).unwrap();
    std::fs::create_dir(case.path().join("home")).unwrap();
    let before = watched(case.path()).iter().map(|d| listing(d)).collect();
    let started = Instant::now();
    let child = Command::new(harness_bin())
        .current_dir(workspace_root())
        .arg("grade")
        .arg(&sub)
        .args(["--format", "json", "--output"])
        .arg(case.path().join("report.json"))
        .args(args)
        .env("TMPDIR", case.path().join("tmp"))
        .env("HOME", case.path().join("home"))
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run harness");
    Running {
        name: name.to_string(),
        case,
        child,
        started,
        before,
        limit,
    }
}

impl Running {
    /// Waits for the grader (killing it past the limit: a hung grader fails the test, it
    /// does not hang it), then checks what every case must satisfy.
    fn finish(mut self) -> Graded {
        let harness = self.child.id();
        let status = loop {
            if let Some(st) = self.child.try_wait().expect("wait") {
                break st;
            }
            if self.started.elapsed() > self.limit {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!(
                    "{}: the grader did not finish within {:?}",
                    self.name, self.limit
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let elapsed = self.started.elapsed();
        let mut stderr = String::new();
        use std::io::Read;
        if let Some(mut e) = self.child.stderr.take() {
            let _ = e.read_to_string(&mut stderr);
        }
        assert!(
            !stderr.contains("panicked"),
            "{}: the grader panicked:\n{stderr}",
            self.name
        );
        let text = std::fs::read_to_string(self.case.path().join("report.json"))
            .unwrap_or_else(|e| panic!("{}: no report ({e}); stderr:\n{stderr}", self.name));
        let report: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{}: report is not JSON ({e}):\n{text}", self.name));
        let left = leftovers(self.case.path(), harness);
        assert!(
            left.is_empty(),
            "{}: processes left behind: {left:?}",
            self.name
        );
        let after: Vec<BTreeSet<String>> = watched(self.case.path())
            .iter()
            .map(|d| listing(d))
            .collect();
        for ((dir, b), a) in watched(self.case.path())
            .iter()
            .zip(&self.before)
            .zip(&after)
        {
            assert_eq!(
                b,
                a,
                "{}: {} changed",
                self.name,
                dir.strip_prefix(self.case.path()).unwrap().display()
            );
        }
        let transcript = transcripts(&report);
        let g = Graded {
            name: self.name.clone(),
            code: status.code(),
            report,
            elapsed,
            transcript,
        };
        // A clear verdict: graded (exit 0 or 1), every check with a status, a score.
        assert!(
            matches!(g.code, Some(0) | Some(1)),
            "{}: exit status {:?}\n{stderr}",
            g.name,
            g.code
        );
        let checks = match g.report["exercise"].as_str() {
            Some("fileserver") => 27,
            _ => 10,
        };
        assert_eq!(g.report["checks"].as_array().map(|a| a.len()), Some(checks));
        println!(
            "{:<16} {:>5.1} s  score {:>3}  runs {}  {}",
            g.name,
            g.elapsed.as_secs_f64(),
            g.score(),
            g.report["runs"],
            statuses(&g.report)
                .iter()
                .map(|(k, v)| format!("{k}={}", &v[..4]))
                .collect::<Vec<_>>()
                .join(" ")
        );
        g
    }
}

/// Grades one case of the corpus with the shipped config.
fn grade_case(name: &str) -> Graded {
    grade_case_with(name, &[])
}

/// Grades one case with shorter deadlines (the shipped config's timing halved or so): for
/// programs that make the grader pay every deadline, to keep this file fast. The limits are
/// the shipped ones.
fn grade_case_quick(name: &str) -> Graded {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config_with(
        dir.path(),
        &[
            ("timing", "startup_ms", 1500),
            ("timing", "step_ms", 700),
            ("timing", "exit_ms", 1500),
        ],
    );
    grade_case_with(name, &["--config", cfg.to_str().unwrap()])
}

fn grade_case_with(name: &str, args: &[&str]) -> Graded {
    let traces = hostile_traces();
    let g = start(name, &fixture(name), args, WALL + MARGIN).finish();
    assert!(g.elapsed < WALL + MARGIN, "{name}: took {:?}", g.elapsed);
    let new: Vec<String> = hostile_traces().difference(&traces).cloned().collect();
    assert!(
        new.is_empty(),
        "{name}: files left outside the sandbox: {new:?}"
    );
    g
}

fn all_failed_or_skipped(g: &Graded) {
    assert_eq!(g.score(), 0, "{}: {:#}", g.name, g.report);
    assert_eq!(g.code, Some(1));
}

#[test]
fn fork_bomb() {
    let g = grade_case("fork-bomb");
    all_failed_or_skipped(&g);
    assert_eq!(g.status("start"), "failed");
}

#[test]
fn output_flood_is_cut_off_and_reported() {
    let g = grade_case("output-flood");
    all_failed_or_skipped(&g);
    assert!(g.notes().contains("output flood"), "{}", g.notes());
    let start = g.check("start");
    assert!(
        start["message"].as_str().unwrap().contains("output flood"),
        "{start:#}"
    );
    // Cut off at once, not after the deadlines.
    assert!(g.elapsed < Duration::from_secs(20), "{:?}", g.elapsed);
    assert!(statuses(&g.report).values().all(|s| s == "failed"));
}

#[test]
fn memory_hog() {
    let g = grade_case_quick("memory-hog");
    // start, and handlers, whose faults the key checks already charged (one fault, one
    // check): at most 20.
    assert!(g.score() <= 20, "{:#}", g.report);
    assert_eq!(g.status("ctrl-c"), "failed");
}

#[test]
fn disk_filler_is_cut_off_and_reported() {
    let g = grade_case("disk-filler");
    all_failed_or_skipped(&g);
    assert!(g.notes().contains("disk:"), "{}", g.notes());
    let start = g.check("start");
    assert!(
        start["message"].as_str().unwrap().starts_with("disk:"),
        "{start:#}"
    );
    assert!(g.elapsed < Duration::from_secs(20), "{:?}", g.elapsed);
}

#[test]
fn ignores_every_signal_and_never_exits() {
    let g = grade_case("ignores-signals");
    assert_eq!(g.status("ctrl-c"), "failed");
    // Ctrl-Z never reaches the conductor: the end of the ride is ctrl-z's fault, not judged.
    assert_eq!(g.status("ctrl-z"), "failed");
    assert_eq!(g.status("exit-order"), "skipped");
    // start, and handlers for the two dispositions it has right (the driver ignores SIGINT
    // and SIGQUIT): every wrong one was the fault of the key check that showed it.
    assert!(g.score() <= 20, "{}", g.score());
}

#[test]
fn stops_itself() {
    let g = grade_case("stops-itself");
    all_failed_or_skipped(&g);
}

#[test]
fn setsid_double_fork_escape_does_not_survive() {
    // Whether the grader sees three processes or the driver's exit first depends on timing;
    // either way `start` fails, and the daemon (which left the directory and the session)
    // is found by its user id and control group, and must be gone.
    let g = grade_case("setsid-escape");
    all_failed_or_skipped(&g);
    assert_eq!(g.status("start"), "failed");
}

#[test]
fn writes_outside_its_directory_change_nothing_outside() {
    let g = grade_case("writes-outside");
    all_failed_or_skipped(&g);
    // It tried: every attempt is in the transcript.
    assert!(g.transcript.contains("/tmp"), "{}", g.transcript);
    if is_root() {
        assert!(g.transcript.contains("refused /root"), "{}", g.transcript);
        assert!(g.transcript.contains("refused / "), "{}", g.transcript);
    }
}

#[test]
fn reads_nothing_it_has_no_business_with() {
    let g = grade_case("reads-secrets");
    all_failed_or_skipped(&g);
    assert!(
        g.transcript.contains("denied /etc/shadow"),
        "{}",
        g.transcript
    );
    if is_root() {
        // Its own user cannot read root's files nor look into the grader's processes.
        assert!(!g.transcript.contains("LEAKED"), "{}", g.transcript);
    }
}

#[test]
fn a_fake_report_earns_nothing_and_escapes_stay_escaped() {
    let g = grade_case("fake-report");
    all_failed_or_skipped(&g);
    assert_eq!(g.status("start"), "failed");
    // The human report of the same program: the only score line is the grader's, no line
    // but the grader's starts with PASS, and no raw escape reaches it.
    let case = tempfile::tempdir().unwrap();
    let out = e2e::grade(&fixture("fake-report"), &[], case.path());
    let text = String::from_utf8(out.stdout).expect("UTF-8 report");
    assert!(!text.contains('\u{1b}'), "raw ESC in the report:\n{text}");
    assert!(!text.contains('\u{7}'), "raw BEL in the report:\n{text}");
    let score_lines: Vec<&str> = text.lines().filter(|l| l.starts_with("Score:")).collect();
    assert_eq!(score_lines.len(), 1, "{text}");
    assert!(score_lines[0].starts_with("Score: 0/100"), "{text}");
    assert!(
        !text.lines().any(|l| l.starts_with("PASS")),
        "a PASS line at the start of a report line:\n{text}"
    );
    assert!(
        text.contains("\\e[32mPASS"),
        "the fake is shown, escaped:\n{text}"
    );
}

#[test]
fn a_program_that_turns_its_signal_keys_off_is_reported() {
    let g = grade_case_quick("terminal-raw");
    assert!(g.notes().contains("ISIG off"), "{}", g.notes());
    assert_eq!(g.status("ctrl-c"), "failed");
    // Signals sent to one process still work: the program itself is right.
    assert_eq!(g.status("roles"), "passed");
    let t = g.check("ctrl-c")["transcript"].to_string();
    assert!(t.contains("turned this key's signal off"), "{t}");
}

#[test]
fn a_program_that_closes_its_terminal() {
    let g = grade_case("closes-terminal");
    assert_eq!(g.status("ctrl-c"), "failed");
    // start, and handlers: every wrong disposition is charged once, to the key or signal
    // check that showed it (one fault, one check), so handlers has nothing left to charge.
    assert!(g.score() <= 20, "{}", g.score());
}

#[test]
fn exits_at_once() {
    let g = grade_case("exits-at-once");
    all_failed_or_skipped(&g);
    let msg = g.check("start")["message"].as_str().unwrap().to_string();
    assert!(msg.contains("exited with status 0"), "{msg}");
    assert!(g.elapsed < Duration::from_secs(20));
}

#[test]
fn a_squatter_on_the_servers_port_fools_nobody() {
    // A child takes the port and prints the readiness line; the server itself cannot bind.
    let g = grade_case("port-squatter");
    all_failed_or_skipped(&g);
    let start = g.check("server-start");
    assert_eq!(start["status"], "failed", "{start:#}");
    let msg = start["message"].as_str().unwrap();
    assert!(msg.contains("before listening"), "{msg}");
    let seen = start["seen"].as_str().unwrap_or("");
    assert!(seen.contains("Address already in use"), "{seen}");
    assert!(g.elapsed < Duration::from_secs(20), "{:?}", g.elapsed);
}

#[test]
fn a_client_that_never_asks_the_server_earns_nothing() {
    // It prints the library's names and the server's reason from memory, and tries to copy
    // downloads from the reference server's directory: every such check fails.
    let g = grade_case_with("fake-client", &["--exercise", "fileserver"]);
    for id in [
        "client-list",
        "client-get",
        "client-get-binary",
        "client-put",
        "client-put-binary",
        "client-get-missing",
    ] {
        assert_eq!(g.status(id), "failed", "{id}: {:#}", g.check(id));
    }
    for id in ["client-list", "client-get-missing"] {
        let msg = g.check(id)["message"].as_str().unwrap();
        assert!(msg.contains("never got the request"), "{id}: {msg}");
    }
    assert!(g.score() <= 3, "only quit may pass: {}", g.score());
}

#[test]
fn not_a_program_at_all() {
    let g = grade_case("not-a-program");
    all_failed_or_skipped(&g);
    let msg = g.check("start")["message"].as_str().unwrap().to_string();
    assert!(msg.contains("Exec format error"), "{msg}");
}

#[test]
fn kill_everything_only_kills_itself() {
    if !is_root() {
        // As the grader's own user, kill(-1) would reach the test runner and the session.
        eprintln!("skipped: only safe where the program runs as a user of its own (root)");
        return;
    }
    let g = grade_case("kill-everything");
    all_failed_or_skipped(&g);
    assert!(g.transcript.contains("could not kill"), "{}", g.transcript);
}

/// A config like the shipped one with some integer settings changed: (table, key, value).
fn config_with(dir: &Path, set: &[(&str, &str, i64)]) -> PathBuf {
    let text =
        std::fs::read_to_string(workspace_root().join("exercises/bus/exercise.toml")).unwrap();
    let mut cfg: toml::Table = toml::from_str(&text).unwrap();
    for (table, key, value) in set {
        let t = cfg[*table].as_table_mut().expect("a table");
        assert!(
            t.contains_key(*key),
            "{table}.{key} not in the shipped config"
        );
        t.insert(key.to_string(), toml::Value::Integer(*value));
    }
    let p = dir.join("exercise.toml");
    std::fs::write(&p, toml::to_string(&cfg).unwrap()).unwrap();
    p
}

#[test]
fn the_wall_deadline_ends_the_grading() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config_with(dir.path(), &[("limits", "wall_seconds", 3)]);
    let wall = Duration::from_secs(3);
    let g = start(
        "ignores-signals (3 s wall)",
        &fixture("ignores-signals"),
        &["--config", cfg.to_str().unwrap()],
        wall + MARGIN,
    )
    .finish();
    assert!(g.elapsed < wall + MARGIN, "took {:?}", g.elapsed);
    assert!(g.notes().contains("wall deadline"), "{}", g.notes());
    assert!(
        !statuses(&g.report).values().any(|s| s == "skipped"),
        "what the deadline cut off fails, it is not skipped: {:#}",
        g.report
    );
}

#[test]
fn cpu_limit_stops_a_spinning_program() {
    // A program that spins in both processes, with one CPU second allowed per process: it is
    // killed by SIGXCPU/SIGKILL, graded, and leaves nothing.
    let dir = tempfile::tempdir().unwrap();
    let cfg = config_with(dir.path(), &[("limits", "cpu_seconds", 1)]);
    let prog = dir.path().join("spinner");
    std::fs::create_dir(&prog).unwrap();
    std::fs::write(
        prog.join("bus.py"),
        "import os\nos.fork()\nwhile True:\n    pass\n",
    )
    .unwrap();
    let g = start(
        "spinner (1 s CPU)",
        &prog,
        &["--config", cfg.to_str().unwrap()],
        WALL + MARGIN,
    )
    .finish();
    assert!(g.score() <= 10, "{:#}", g.report);
}

#[test]
fn parallel_gradings_do_not_disturb_each_other() {
    // A fork bomb and a flood graded at the same time as a correct program: the correct one
    // still gets full marks, each hostile one its own verdict, and nothing is left.
    let correct = workspace_root().join("exercises/bus/samples/correct-fork");
    let limit = WALL + MARGIN;
    let runs = vec![
        start("fork-bomb (parallel)", &fixture("fork-bomb"), &[], limit),
        start("correct-fork (parallel)", &correct, &[], limit),
        start(
            "output-flood (parallel)",
            &fixture("output-flood"),
            &[],
            limit,
        ),
    ];
    let graded: Vec<Graded> = runs.into_iter().map(Running::finish).collect();
    assert_eq!(graded[0].score(), 0);
    assert_eq!(graded[1].score(), 100, "{:#}", graded[1].report);
    assert_eq!(graded[2].score(), 0);
}

#[test]
fn a_class_of_hostile_submissions_under_jobs_2() {
    // Batch grading, two at a time: every student gets a report, the correct one full marks.
    let class = tempfile::tempdir().unwrap();
    let roster = class.path().join("class");
    for (student, src) in [
        ("a-fork-bomb", fixture("fork-bomb")),
        (
            "b-correct",
            workspace_root().join("exercises/bus/samples/correct-fork"),
        ),
        ("c-setsid-escape", fixture("setsid-escape")),
        ("d-stops-itself", fixture("stops-itself")),
        ("e-port-squatter", fixture("port-squatter")),
        ("f-fake-client", fixture("fake-client")),
    ] {
        let d = roster.join(student);
        std::fs::create_dir_all(&d).unwrap();
        for e in std::fs::read_dir(&src).unwrap().filter_map(|e| e.ok()) {
            std::fs::copy(e.path(), d.join(e.file_name())).unwrap();
        }
    }
    let reports = class.path().join("reports");
    let tmp = class.path().join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    let started = Instant::now();
    let out = Command::new(harness_bin())
        .current_dir(workspace_root())
        .arg("grade")
        .arg(&roster)
        .args(["--jobs", "2", "--format", "json", "--reports-dir"])
        .arg(&reports)
        .env("TMPDIR", &tmp)
        .env("NO_COLOR", "1")
        .output()
        .expect("run harness");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(started.elapsed() < WALL + MARGIN, "{:?}", started.elapsed());
    let score = |student: &str| -> u64 {
        let text = std::fs::read_to_string(reports.join(format!("{student}.json")))
            .unwrap_or_else(|e| panic!("{student}: {e}\n{stderr}"));
        let r: Value = serde_json::from_str(&text).unwrap();
        r["score"].as_u64().unwrap_or(999)
    };
    assert_eq!(score("b-correct"), 100);
    for s in [
        "a-fork-bomb",
        "c-setsid-escape",
        "d-stops-itself",
        "e-port-squatter",
    ] {
        assert_eq!(score(s), 0, "{s}");
    }
    // Only its quit may pass.
    assert!(score("f-fake-client") <= 3, "{}", score("f-fake-client"));
    let left = processes_under(class.path());
    assert!(left.is_empty(), "{left:?}");
    println!(
        "class of 6 under --jobs 2: {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

#[test]
fn the_limits_and_isolation_in_force_are_printed() {
    let g = grade_case("exits-at-once");
    let isolation: Vec<String> = g.report["isolation"]
        .as_array()
        .expect("the report says which isolation was in force")
        .iter()
        .map(|v| v.as_str().unwrap_or("").to_string())
        .collect();
    println!(
        "isolation in force (as {}):",
        if is_root() { "root" } else { "a user" }
    );
    for i in &isolation {
        println!("  {i}");
    }
    let limits = isolation
        .iter()
        .find(|i| i.starts_with("limits"))
        .expect("limits");
    for want in [
        "10 s CPU",
        "512 MiB memory",
        "16 MiB per file",
        "256 open files",
        "64 processes",
        "1024 KiB of terminal output",
        "120 s for the whole grading",
    ] {
        assert!(limits.contains(want), "{limits}");
    }
    if is_root() {
        assert!(isolation[0].contains("a user of its own"), "{isolation:?}");
        assert!(
            isolation.iter().any(|i| i.contains("network namespace")),
            "{isolation:?}"
        );
    }
}
