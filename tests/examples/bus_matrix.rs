//! The style × fault matrix of `e2e::matrix`: generated bus programs graded by the real
//! debug `harness`, several at once. Every correct combination must get full marks, every
//! faulty one exactly the verdicts of its fault's model, and no grading may panic or end
//! with any status but 0 or 1. It prints what went wrong and exits 1 if anything did.
//!
//! A measuring tool for now, not a test of the suite: it still finds wrong verdicts (thread
//! printers, daemon threads at start-up; issue "Real student programs"), and a red test
//! cannot land. Build the binaries first, then run it:
//!
//! ```sh
//! cargo build --workspace && cargo run -p e2e --example bus_matrix
//! ```
//!
//! By default a CI subset: a pairwise set of correct combinations (every value of every
//! choice, and every pair of values of two choices, at least once) and each fault on three of
//! them, one per kind of child (about a minute on 2 cores). The whole matrix, a 3-wise set of
//! correct combinations (every triple of values of three choices) and each fault on every
//! combination of the pairwise set (about 10 minutes):
//!
//! ```sh
//! BUS_MATRIX=full cargo run -p e2e --example bus_matrix
//! ```
//!
//! `BUS_MATRIX=all` grades every valid correct combination instead (the whole product, about
//! an hour). Also: `BUS_MATRIX_FILTER=<part of a case name>` grades only the matching cases,
//! `BUS_MATRIX_SEED=<n>` draws another pairwise set, `BUS_MATRIX_JOBS=<n>` sets how many
//! gradings run at once (default: the number of CPUs), `BUS_MATRIX_KEEP=<dir>` keeps the
//! generated programs there, to grade one by hand.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use e2e::matrix::{all_cases, all_combos, ci_cases, full_cases, Case, CHECKS, DEFAULT_SEED};
use e2e::{grade, processes_under};

/// What one grading gave, against the model.
struct Graded {
    case: Case,
    secs: f64,
    /// Checks whose verdict is not the model's: (check, expected, actual, message).
    wrong: Vec<(String, String, String, String)>,
    /// A panic, an exit status other than 0 or 1, a report that is not JSON, leftovers.
    problem: Option<String>,
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn grade_case(case: &Case, programs: &Path) -> Graded {
    let t0 = Instant::now();
    let mut g = Graded {
        case: *case,
        secs: 0.0,
        wrong: Vec::new(),
        problem: None,
    };
    let dir = match case.write(programs) {
        Ok(d) => d,
        Err(e) => {
            g.problem = Some(format!("could not write the program: {e}"));
            return g;
        }
    };
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = grade(&dir, &["--format", "json", "--stable"], tmp.path());
    g.secs = t0.elapsed().as_secs_f64();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let code = out.status.code();
    if stderr.contains("panicked") || !matches!(code, Some(0 | 1)) {
        let panic = stderr
            .lines()
            .skip_while(|l| !l.contains("panicked"))
            .take(2)
            .collect::<Vec<_>>()
            .join(" ");
        g.problem = Some(format!("exit status {code:?}; {panic}"));
    }
    let report: serde_json::Value = match serde_json::from_slice(&out.stdout) {
        Ok(r) => r,
        Err(e) => {
            let why = format!("the report is not JSON ({e}); stderr: {}", stderr.trim());
            g.problem.get_or_insert(why);
            return g;
        }
    };
    let model = case.model();
    let mut points = BTreeMap::new();
    for c in report["checks"].as_array().into_iter().flatten() {
        let id = c["id"].as_str().unwrap_or("").to_string();
        let status = c["status"].as_str().unwrap_or("").to_string();
        points.insert(id.clone(), c["max_points"].as_u64().unwrap_or(0));
        let want = model
            .get(id.as_str())
            .copied()
            .unwrap_or("(not in the model)");
        if status != want {
            let message = c["message"].as_str().unwrap_or("").to_string();
            g.wrong.push((id, want.to_string(), status, message));
        }
    }
    for check in CHECKS {
        if !points.contains_key(check) {
            g.wrong.push((
                check.to_string(),
                model[check].to_string(),
                "(absent)".into(),
                String::new(),
            ));
        }
    }
    // Full marks, and exit status 0, exactly when every check worth points passes.
    let all_pass = model
        .iter()
        .all(|(check, want)| *want == "passed" || points.get(*check) == Some(&0));
    if g.problem.is_none() && code != Some(if all_pass { 0 } else { 1 }) {
        g.problem = Some(format!(
            "exit status {code:?}, expected {}",
            if all_pass { 0 } else { 1 }
        ));
    }
    if case.fault.is_none() && report["score"] != report["max_score"] && g.wrong.is_empty() {
        g.problem.get_or_insert(format!(
            "score {} of {}",
            report["score"], report["max_score"]
        ));
    }
    let left = processes_under(tmp.path());
    if !left.is_empty() {
        g.problem
            .get_or_insert(format!("processes left behind: {left:?}"));
    }
    g
}

/// Compiles every generated Python program in one interpreter, so that a generator bug is
/// reported as such and not as a wrong verdict.
fn syntax_check(cases: &[Case]) {
    let sources: Vec<(String, String)> = cases
        .iter()
        .filter_map(|c| match c.source() {
            ("bus.py", text) => Some((c.name(), text)),
            _ => None,
        })
        .collect();
    if sources.is_empty() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let mut paths = Vec::new();
    for (i, (name, text)) in sources.iter().enumerate() {
        let p = dir.path().join(format!("{i}.py"));
        std::fs::write(&p, text).expect("write");
        paths.push((name, p));
    }
    let script = "import sys\nbad = 0\nfor p in sys.argv[1:]:\n    try:\n        compile(open(p, encoding='utf-8').read(), p, 'exec')\n    except SyntaxError as e:\n        print(p, e)\n        bad += 1\nsys.exit(bad > 0)\n";
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(paths.iter().map(|(_, p)| p))
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "generated programs that do not compile:\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

fn grade_all(cases: &[Case], programs: &Path, jobs: usize) -> Vec<Graded> {
    let next = AtomicUsize::new(0);
    let results = Mutex::new(Vec::new());
    let total = cases.len();
    std::thread::scope(|s| {
        for _ in 0..jobs.max(1) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(case) = cases.get(i) else {
                    return;
                };
                let g = grade_case(case, programs);
                let mark = if g.problem.is_some() {
                    "PROBLEM"
                } else if g.wrong.is_empty() {
                    "ok"
                } else {
                    "WRONG"
                };
                eprintln!(
                    "[{:>4}/{total}] {:<7} {:>5.1}s {}",
                    i + 1,
                    mark,
                    g.secs,
                    case.name()
                );
                results.lock().unwrap().push(g);
            });
        }
    });
    let mut out = results.into_inner().unwrap();
    out.sort_by_key(|g| g.case);
    out
}

/// For each value of each choice (and each fault), how many of its cases went wrong.
fn by_choice(graded: &[Graded]) -> String {
    let mut rows: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for g in graded {
        let c = g.case.combo;
        let bad = !g.wrong.is_empty() || g.problem.is_some();
        for key in [
            format!("child {}", c.child.name()),
            format!("driver {}", c.driver.name()),
            format!("conductor {}", c.conductor.name()),
            format!("print {}", c.print.name()),
            format!("end {}", c.end.name()),
            format!("extra {}", c.extra.name()),
            format!("fault {}", g.case.fault.map_or("none", |f| f.name())),
        ] {
            let e = rows.entry(key).or_default();
            e.1 += 1;
            if bad {
                e.0 += 1;
            }
        }
    }
    rows.iter()
        .map(|(k, (bad, all))| format!("  {k:<22} {bad:>4} wrong of {all}\n"))
        .collect()
}

fn main() {
    let seed = env_or("BUS_MATRIX_SEED", DEFAULT_SEED);
    let which = std::env::var("BUS_MATRIX").unwrap_or_default();
    let (label, mut cases) = match which.as_str() {
        "full" => ("full", full_cases(seed)),
        "all" => ("all", all_cases(seed)),
        "" => ("CI subset", ci_cases(seed)),
        other => panic!("BUS_MATRIX={other}: use full, all, or leave it unset for the CI subset"),
    };
    if let Ok(filter) = std::env::var("BUS_MATRIX_FILTER") {
        cases.retain(|c| c.name().contains(&filter));
    }
    let jobs = env_or(
        "BUS_MATRIX_JOBS",
        std::thread::available_parallelism().map_or(2, |n| n.get()),
    );
    syntax_check(&cases);

    let scratch = tempfile::tempdir().expect("tempdir");
    let programs: PathBuf = match std::env::var("BUS_MATRIX_KEEP") {
        Ok(dir) => PathBuf::from(dir),
        Err(_) => scratch.path().to_path_buf(),
    };
    let t0 = Instant::now();
    let graded = grade_all(&cases, &programs, jobs);
    let secs = t0.elapsed().as_secs_f64();

    let correct = graded.iter().filter(|g| g.case.fault.is_none()).count();
    let bad: Vec<&Graded> = graded
        .iter()
        .filter(|g| !g.wrong.is_empty() || g.problem.is_some())
        .collect();
    let mut summary = format!(
        "bus matrix ({}, seed {seed}): {} gradings ({correct} correct combinations of {} valid, {} faulty), {jobs} at a time, {secs:.0} s; {} went wrong\n",
        label,
        graded.len(),
        all_combos().len(),
        graded.len() - correct,
        bad.len(),
    );
    for g in &bad {
        summary.push_str(&format!("{}\n", g.case.name()));
        if let Some(p) = &g.problem {
            summary.push_str(&format!("    PROBLEM {p}\n"));
        }
        for (check, want, got, message) in &g.wrong {
            summary.push_str(&format!(
                "    {check}: expected {want}, got {got} — {message}\n"
            ));
        }
    }
    if !bad.is_empty() {
        summary.push_str("wrong, by choice:\n");
        summary.push_str(&by_choice(&graded));
    }
    eprintln!("{summary}");
    if !bad.is_empty() {
        eprintln!(
            "{} of {} gradings went wrong: see the summary above",
            bad.len(),
            graded.len()
        );
        std::process::exit(1);
    }
}
