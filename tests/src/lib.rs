//! Helpers for the end-to-end tests: where the binaries and the samples are, how to run the
//! real `harness` binary, and what each sample is expected to score.

pub mod declared_bus;
pub mod matrix;
pub mod matrix_grading;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde::Deserialize;

/// The workspace root (the tests run from `tests/`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// A binary of the workspace, built next to the test executable (`target/<profile>/`).
/// `cargo test --workspace` and `cargo nextest run --workspace` build them all first.
pub fn workspace_bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    let mut dir = exe.parent().expect("exe dir").to_path_buf();
    // Tests run from target/<profile>/deps, examples from target/<profile>/examples.
    if dir.ends_with("deps") || dir.ends_with("examples") {
        dir.pop();
    }
    let bin = dir.join(name);
    assert!(
        bin.exists(),
        "{} is missing: run the tests with --workspace so that every binary is built",
        bin.display()
    );
    bin
}

/// The insta filters of every pinned human report: what differs between machines. The
/// grader's `--stable` already leaves out pids, times, the isolation and its own run
/// directories (`<workdir>`), and the human report the interpreter's installation; what is
/// left is the interpreter: its line, its name wherever a command names it (a file server
/// submission names it twice), and the standard library's version in tracebacks. A run directory that escaped `--stable` would be blanked too.
/// docs/examples/snapshots/tests/reports.rs holds the same list for instructors.
pub fn report_filters() -> Vec<(&'static str, &'static str)> {
    vec![
        (r"(?m)^  interpreter: .*$", "  interpreter: [python]"),
        (r"(?m)^  解释器：.*$", "  解释器：[python]"),
        (r"(?m)(^  ran: |; )python[0-9.]* ", "$1[python] "),
        (r"(?m)(^  运行：|; )python[0-9.]* ", "$1[python] "),
        (r"/[^\s\x22']*/bin/python[0-9.]*", "[python]"),
        (r"<python>/lib/python[0-9.]+/", "[python-lib]/"),
        (r"/[^\s\x22']*/lib/python[0-9.]+/", "[python-lib]/"),
        (r"/[^\s\x22']*/harness-run-[0-9]+-[A-Za-z0-9]+", "[run dir]"),
        // The size of the machine's /etc/passwd, which a traversal sends.
        (
            r"G /etc/passwd: answered OK [0-9]+",
            "G /etc/passwd: answered OK [size]",
        ),
    ]
}

pub fn harness_bin() -> PathBuf {
    workspace_bin("harness")
}

/// The sample submissions of an exercise: (name, directory), sorted by name.
pub fn samples(exercise: &str) -> Vec<(String, PathBuf)> {
    let dir = workspace_root()
        .join("exercises")
        .join(exercise)
        .join("samples");
    let mut out: Vec<(String, PathBuf)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| (e.file_name().to_string_lossy().into_owned(), e.path()))
        .collect();
    out.sort();
    out
}

/// `expected.toml` of a sample: the verdict each check must give.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expected {
    pub checks: BTreeMap<String, String>,
    #[serde(default)]
    pub score: Option<u32>,
    /// What differs where the grader cannot see the exit status of a process it does not
    /// reap (the kernel's process events connector is not available to it).
    #[serde(default)]
    pub without_exit_events: Option<Variant>,
    /// Check id → words its hint must hold (the hint follows the diagnosis). A word that
    /// starts with `!` must not be there (`"!SIGQUIT"`).
    #[serde(default)]
    pub hints: BTreeMap<String, Vec<String>>,
    /// Check id → words its notes must hold (what was seen beyond the course's policy: it
    /// is reported, not hidden); `[]` for a check that must have no note.
    #[serde(default)]
    pub notes: BTreeMap<String, Vec<String>>,
    /// No check may wait out a deadline (`ended = "deadline"` in the JSON): a program that
    /// can no longer move is judged at once.
    #[serde(default)]
    pub no_deadline: bool,
    /// Check id → how its waits must end (`event`, `stuck`, `deadline`).
    #[serde(default)]
    pub ended: BTreeMap<String, String>,
}

impl Expected {
    /// Panics with the report unless every check named in `notes` has notes holding each
    /// word (all its notes joined), or none at all when no word is listed.
    pub fn assert_notes(&self, name: &str, report: &serde_json::Value) {
        for (id, words) in &self.notes {
            let check = report["checks"]
                .as_array()
                .and_then(|a| a.iter().find(|c| c["id"] == id.as_str()))
                .unwrap_or_else(|| panic!("{name}: no check {id} in the report"));
            let notes: Vec<&str> = check["notes"]
                .as_array()
                .map(|a| a.iter().filter_map(|n| n.as_str()).collect())
                .unwrap_or_default();
            let all = notes.join("\n");
            if words.is_empty() {
                assert!(notes.is_empty(), "{name}: {id} must have no note: {all:?}");
            }
            for w in words {
                assert!(
                    all.contains(w.as_str()),
                    "{name}: the notes of {id} must say {w:?}: {all:?}"
                );
            }
        }
    }

    /// Panics with the report unless the checks ended as `no_deadline` and `ended` say.
    pub fn assert_endings(&self, name: &str, report: &serde_json::Value) {
        let checks = report["checks"].as_array().cloned().unwrap_or_default();
        if self.no_deadline {
            let waited: Vec<&str> = checks
                .iter()
                .filter(|c| c["ended"] == "deadline")
                .filter_map(|c| c["id"].as_str())
                .collect();
            assert!(
                waited.is_empty(),
                "{name}: these checks waited out a deadline: {waited:?}\n{report:#}"
            );
        }
        for (id, how) in &self.ended {
            let check = checks
                .iter()
                .find(|c| c["id"] == id.as_str())
                .unwrap_or_else(|| panic!("{name}: no check {id} in the report"));
            assert_eq!(
                check["ended"].as_str(),
                Some(how.as_str()),
                "{name}: how {id} ended\n{report:#}"
            );
        }
    }

    /// Panics with the report unless every check named in `hints` has a hint holding (or,
    /// for `!word`, not holding) each word.
    pub fn assert_hints(&self, name: &str, report: &serde_json::Value) {
        for (id, words) in &self.hints {
            let check = report["checks"]
                .as_array()
                .and_then(|a| a.iter().find(|c| c["id"] == id.as_str()))
                .unwrap_or_else(|| panic!("{name}: no check {id} in the report"));
            let hint = check["hint"].as_str().unwrap_or("");
            for w in words {
                match w.strip_prefix('!') {
                    Some(not) => assert!(
                        !hint.contains(not),
                        "{name}: the hint of {id} must not say {not:?}: {hint:?}"
                    ),
                    None => assert!(
                        hint.contains(w.as_str()),
                        "{name}: the hint of {id} must say {w:?}: {hint:?}"
                    ),
                }
            }
        }
    }
}

/// Verdicts and score that replace the usual ones on a machine that shows the grader less.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Variant {
    pub checks: BTreeMap<String, String>,
    pub score: Option<u32>,
}

pub fn expected(sample_dir: &Path) -> Expected {
    let path = sample_dir.join("expected.toml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// What the bus grader says in `exit-order` where it cannot see the conductor's status.
pub const NO_EXIT_EVENTS: &str = "the conductor's exit status cannot be seen here";

impl Expected {
    /// The expectations for a grading whose report is `report_text`: the usual ones, or
    /// the variant when the report says the grader could not see exit statuses (the
    /// snapshots are of the usual ones). Returns them and whether they are the usual ones.
    pub fn for_report(mut self, report_text: &str) -> (Expected, bool) {
        match &self.without_exit_events {
            Some(v) if report_text.contains(NO_EXIT_EVENTS) => {
                self.checks.extend(v.checks.clone());
                self.score = v.score.or(self.score);
                (self, false)
            }
            _ => (self, true),
        }
    }
}

pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Runs `harness grade` on `path` (relative to the workspace root) with extra arguments,
/// a private temporary directory, and no colour.
pub fn grade(path: &Path, args: &[&str], tmpdir: &Path) -> Output {
    Command::new(harness_bin())
        .current_dir(workspace_root())
        .arg("grade")
        .arg(path)
        .args(args)
        .env("TMPDIR", tmpdir)
        .env("NO_COLOR", "1")
        .output()
        .expect("run harness")
}

/// The JSON report of a stable grading.
pub fn grade_json(path: &Path, tmpdir: &Path) -> (i32, serde_json::Value, String) {
    grade_json_with(path, &[], tmpdir)
}

/// The JSON report of a stable grading with extra arguments (a sample's `--config`).
pub fn grade_json_with(
    path: &Path,
    args: &[&str],
    tmpdir: &Path,
) -> (i32, serde_json::Value, String) {
    let out = grade(
        path,
        &[&["--format", "json", "--stable"][..], args].concat(),
        tmpdir,
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let json = serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "report is not JSON ({e}):\n{text}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), json, text)
}

/// Asserts two JSON reports of one submission are the same text; when not, panics with
/// what differs only (each differing check, first and now, and any other differing
/// field): a whole report is cut short in CI's log before the difference shows.
pub fn assert_same_report(first: &str, now: &str, what: &str) {
    if first == now {
        return;
    }
    let parse = |t: &str| serde_json::from_str::<serde_json::Value>(t).unwrap_or_default();
    let (a, b) = (parse(first), parse(now));
    let mut diff = Vec::new();
    let checks = |v: &serde_json::Value| v["checks"].as_array().cloned().unwrap_or_default();
    let (ca, cb) = (checks(&a), checks(&b));
    for i in 0..ca.len().max(cb.len()) {
        if ca.get(i) != cb.get(i) {
            diff.push(format!(
                "check {i}:\nfirst: {:#}\nnow:   {:#}",
                ca.get(i).cloned().unwrap_or_default(),
                cb.get(i).cloned().unwrap_or_default()
            ));
        }
    }
    if let (Some(oa), Some(ob)) = (a.as_object(), b.as_object()) {
        for (k, va) in oa.iter().filter(|(k, _)| *k != "checks") {
            if ob.get(k) != Some(va) {
                diff.push(format!("{k}: first {va} now {}", ob[k.as_str()]));
            }
        }
    }
    if diff.is_empty() {
        diff.push(format!("the texts differ:\nfirst: {first}\nnow:   {now}"));
    }
    panic!("{what} differs from the first:\n{}", diff.join("\n"));
}

/// Check id → status, from a JSON report.
pub fn statuses(report: &serde_json::Value) -> BTreeMap<String, String> {
    report["checks"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|c| (c["id"].as_str().unwrap_or("").to_string(), verdict(c)))
                .collect()
        })
        .unwrap_or_default()
}

/// A check's verdict as expectations write it: its status, or `because of <check>` for a
/// check that only repeats another check's fault (skipped, keeping its points).
pub fn verdict(check: &serde_json::Value) -> String {
    match check["because_of"].as_str() {
        Some(owner) if check["status"] == "skipped" => format!("because of {owner}"),
        _ => check["status"].as_str().unwrap_or("").to_string(),
    }
}

/// Processes whose working directory is below `dir`: what a grading left behind.
pub fn processes_under(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return out;
    };
    for p in procs.filter_map(|e| e.ok()) {
        let name = p.file_name().to_string_lossy().into_owned();
        if !name.chars().all(|c| c.is_ascii_digit()) {
            continue;
        }
        if let Ok(cwd) = std::fs::read_link(p.path().join("cwd")) {
            let cwd = cwd.to_string_lossy().replace(" (deleted)", "");
            if Path::new(&cwd).starts_with(dir) {
                let cmd = std::fs::read(p.path().join("cmdline")).unwrap_or_default();
                out.push(format!(
                    "{name}: {}",
                    String::from_utf8_lossy(&cmd).replace('\0', " ")
                ));
            }
        }
    }
    out
}

/// The control groups (v1 `pids` and `freezer`) of the grader with pid `grader`, as root:
/// `harness-<pid>` and its `harness-<pid>-<n>` siblings. Empty once it cleaned up.
pub fn cgroups_of(grader: u32) -> Vec<String> {
    let tag = format!("harness-{grader}");
    let mut out = Vec::new();
    for hierarchy in ["pids", "freezer"] {
        let root = Path::new("/sys/fs/cgroup").join(hierarchy);
        for e in std::fs::read_dir(&root)
            .into_iter()
            .flatten()
            .filter_map(|e| e.ok())
        {
            let name = e.file_name().to_string_lossy().into_owned();
            if name == tag || name.starts_with(&format!("{tag}-")) {
                out.push(e.path().display().to_string());
            }
        }
    }
    out
}

/// Keeps one CPU busy while alive, to grade under load.
pub struct Spinner {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl Spinner {
    pub fn start() -> Self {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let handle = std::thread::spawn(move || {
            let mut x: u64 = 0;
            while !flag.load(std::sync::atomic::Ordering::Relaxed) {
                x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
            }
        });
        Spinner {
            stop,
            handle: Some(handle),
        }
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// Gradings as a user without privileges (`nobody`), started by tests that run as root (as
/// CI does): the grader's own path for a teacher's machine, with user namespaces instead of
/// root's. Everything the user needs is copied into a directory of its own (the workspace
/// may sit below a directory only root can pass).
pub struct Unprivileged {
    uid: u32,
    gid: u32,
    dir: tempfile::TempDir,
    harness: PathBuf,
}

impl Unprivileged {
    /// `None`, with the reason printed, when the tests do not run as root or there is no
    /// `nobody` user.
    pub fn new() -> Option<Unprivileged> {
        if !is_root() {
            eprintln!("skipped: only root can start a grading as another user");
            return None;
        }
        let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
        let Some((uid, gid)) = passwd.lines().find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            if f.len() < 4 || f[0] != "nobody" {
                return None;
            }
            Some((f[2].parse().ok()?, f[3].parse().ok()?))
        }) else {
            eprintln!("skipped: no user nobody in /etc/passwd");
            return None;
        };
        let dir = tempfile::tempdir().expect("temporary directory");
        std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid)).expect("chown");
        let harness = dir.path().join("harness");
        std::fs::copy(harness_bin(), &harness).expect("copy the harness binary");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&harness, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        Some(Unprivileged {
            uid,
            gid,
            dir,
            harness,
        })
    }

    /// A copy of the sample at `rel` (from the workspace root) the user can read, named `as_name`.
    pub fn sample(&self, rel: &Path, as_name: &str) -> PathBuf {
        let to = self.dir.path().join(as_name);
        copy_tree(&workspace_root().join(rel), &to);
        to
    }

    /// Starts `harness grade --format json ARGS` as the user, in its directory (also its
    /// `TMPDIR` and `HOME`), output captured.
    pub fn start(&self, args: &[&str]) -> std::process::Child {
        use std::os::unix::process::CommandExt;
        Command::new(&self.harness)
            .current_dir(self.dir.path())
            .arg("grade")
            .args(["--format", "json"])
            .args(args)
            .env("TMPDIR", self.dir.path())
            .env("HOME", self.dir.path())
            .env("NO_COLOR", "1")
            .uid(self.uid)
            .gid(self.gid)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("start harness as nobody")
    }

    /// The directory where the gradings run (for [`processes_under`]).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

/// The JSON report of a grading started with [`Unprivileged::start`], and its exit code.
pub fn report_of(child: std::process::Child) -> (i32, serde_json::Value) {
    let out = child.wait_with_output().expect("wait for harness");
    let text = String::from_utf8_lossy(&out.stdout);
    let json = serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "report is not JSON ({e}):\n{text}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), json)
}

/// Copies the directory tree `from` to `to` (files and directories only), readable by all
/// whatever the umask.
fn copy_tree(from: &Path, to: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(to).expect("create directory");
    std::fs::set_permissions(to, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    for e in std::fs::read_dir(from).expect("read directory").flatten() {
        let target = to.join(e.file_name());
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            copy_tree(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).expect("copy file");
            let mode = std::fs::metadata(&target)
                .expect("stat")
                .permissions()
                .mode();
            std::fs::set_permissions(&target, std::fs::Permissions::from_mode(mode | 0o444))
                .expect("chmod");
        }
    }
}
