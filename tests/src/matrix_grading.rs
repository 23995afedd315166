//! Grading the cases of the style × fault matrix ([`crate::matrix`]) with the real debug
//! `harness` and comparing each report with its case's model: shared by the suite's test of
//! the CI subset (`tests/tests/bus_matrix.rs`) and the measuring tool for the whole matrix
//! (`tests/examples/bus_matrix.rs`).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use crate::declared_bus::{self, Difference};
use crate::matrix::{all_combos, Case, CHECKS};
use crate::{grade, processes_under};

/// What one grading gave, against the model.
pub struct Graded {
    pub case: Case,
    pub secs: f64,
    /// Checks whose verdict is not the model's: (check, expected, actual, message).
    pub wrong: Vec<(String, String, String, String)>,
    /// A panic, an exit status other than 0 or 1, a report that is not JSON, leftovers.
    pub problem: Option<String>,
    /// Graded with the declared bus: the checks on which it disagrees with the model (the
    /// built-in's verdicts), beyond those [`declared_bus::matrix_difference`] lists.
    pub declared: Vec<Difference>,
}

/// Grades `case` with the built-in bus against its model or, with `declared`, with the
/// declared bus against the same model: the built-in's verdicts, which the suite's
/// `bus_matrix` asserts on the same cases (so the declared gradings need not wait for it).
pub fn grade_case(case: &Case, programs: &Path, declared: bool) -> Graded {
    let t0 = Instant::now();
    let mut g = Graded {
        case: *case,
        secs: 0.0,
        wrong: Vec::new(),
        problem: None,
        declared: Vec::new(),
    };
    let dir = match case.write(programs) {
        Ok(d) => d,
        Err(e) => {
            g.problem = Some(format!("could not write the program: {e}"));
            return g;
        }
    };
    let tmp = tempfile::tempdir().expect("tempdir");
    if declared {
        compare_declared(case, &dir, tmp.path(), &mut g);
        g.secs = t0.elapsed().as_secs_f64();
        leftovers(tmp.path(), &mut g);
        return g;
    }
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
        let status = crate::verdict(c);
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
    leftovers(tmp.path(), &mut g);
    g
}

fn leftovers(tmp: &Path, g: &mut Graded) {
    let left = processes_under(tmp);
    if !left.is_empty() {
        g.problem
            .get_or_insert(format!("processes left behind: {left:?}"));
    }
}

/// The status a check of the model has in a report (`because of X` is a skip).
fn model_status(model: &str) -> &str {
    if model.starts_with("because of") {
        "skipped"
    } else {
        model
    }
}

/// Grades `case` (written in `dir`) with the declared bus and notes every check whose
/// status is not the model's, beyond the differences [`declared_bus::matrix_difference`]
/// lists (a listed one that did not happen is a problem too).
fn compare_declared(case: &Case, dir: &Path, tmp: &Path, g: &mut Graded) {
    let args = [&["--format", "json", "--stable"][..], &declared_bus::ARGS].concat();
    let out = grade(dir, &args, tmp);
    let report: serde_json::Value = match serde_json::from_slice(&out.stdout) {
        Ok(r) => r,
        Err(e) => {
            let stderr = String::from_utf8_lossy(&out.stderr);
            g.problem.get_or_insert(format!(
                "declared bus: the report is not JSON ({e}); stderr: {}",
                stderr.trim()
            ));
            return;
        }
    };
    let not_said: Vec<&str> = declared_bus::NOT_SAID.iter().map(|(id, _)| *id).collect();
    let model = case.model();
    for (&check, want) in &model {
        if not_said.contains(&check) {
            continue;
        }
        let want = model_status(want).to_string();
        let got = declared_bus::status_of(&report, check);
        let listed = declared_bus::matrix_difference(case.fault, check).is_some();
        match (got.as_deref() == Some(want.as_str()), listed) {
            (true, false) | (false, true) => {}
            (true, true) => {
                g.problem.get_or_insert(format!(
                    "declared bus: {check} is listed as differing for this fault, and did not"
                ));
            }
            (false, false) => g.declared.push(Difference {
                check: check.to_string(),
                builtin: Some(want),
                declared: got,
                message: declared_bus::message_of(&report, check),
            }),
        }
    }
    for id in declared_bus::ids(&report) {
        if !model.contains_key(id.as_str()) {
            g.problem
                .get_or_insert(format!("declared bus: a check the built-in lacks: {id}"));
        }
    }
}

/// Compiles every generated Python program in one interpreter, so that a generator bug is
/// reported as such and not as a wrong verdict.
pub fn syntax_check(cases: &[Case]) {
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

pub fn grade_all(cases: &[Case], programs: &Path, jobs: usize, declared: bool) -> Vec<Graded> {
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
                let g = grade_case(case, programs, declared);
                let mark = if g.problem.is_some() {
                    "PROBLEM"
                } else if g.wrong.is_empty() && g.declared.is_empty() {
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
pub fn by_choice(graded: &[Graded]) -> String {
    let mut rows: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for g in graded {
        let c = g.case.combo;
        let bad = g.went_wrong();
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

/// What a matrix run found: its summary, and how many gradings went wrong.
pub struct Summary {
    pub text: String,
    pub wrong: usize,
    pub gradings: usize,
}

impl Graded {
    fn went_wrong(&self) -> bool {
        !self.wrong.is_empty() || self.problem.is_some() || !self.declared.is_empty()
    }
}

/// Grades `cases` (`jobs` at a time, the programs written under `programs`; with
/// `declared`, with the declared bus instead of the built-in) and sums up.
pub fn run(
    label: &str,
    seed: u64,
    cases: &[Case],
    programs: &Path,
    jobs: usize,
    declared: bool,
) -> Summary {
    syntax_check(cases);
    let t0 = Instant::now();
    let graded = grade_all(cases, programs, jobs, declared);
    let secs = t0.elapsed().as_secs_f64();
    let correct = graded.iter().filter(|g| g.case.fault.is_none()).count();
    let bad: Vec<&Graded> = graded.iter().filter(|g| g.went_wrong()).collect();
    let mut summary = format!(
        "bus matrix ({}{}, seed {seed}): {} gradings ({correct} correct combinations of {} valid, {} faulty), {jobs} at a time, {secs:.0} s; {} went wrong\n",
        label,
        if declared { ", graded with the declared bus" } else { "" },
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
        for d in &g.declared {
            summary.push_str(&format!(
                "    declared bus {}: built-in (the model) {:?}, declared {:?} — {}\n",
                d.check, d.builtin, d.declared, d.message
            ));
        }
    }
    if !bad.is_empty() {
        summary.push_str("wrong, by choice:\n");
        summary.push_str(&by_choice(&graded));
    }
    Summary {
        text: summary,
        wrong: bad.len(),
        gradings: graded.len(),
    }
}
