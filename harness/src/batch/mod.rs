//! Grading a whole class: each submission in its own grading process (the grader is a
//! process-wide child subreaper, so gradings cannot share a process), `jobs` at a time, a
//! progress bar on a terminal, then one table (and CSV, JSON, JUnit, Markdown) of all.
//!
//! A student whose grading crashes, hangs or floods is one error row; the others go on.
//! The grader has its own deadlines; a per-child timeout kills a grading that outlives them
//! anyway (see [`child`]).

pub mod bench;
pub mod child;
pub mod index;
pub mod table;

use crate::tr;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::grade::{self, GradeOptions};
use crate::report::output::Output;
use crate::report::Report;
use crate::text::escape;

/// The per-submission safety-net timeout, in seconds. The slowest faulty sample (a flood)
/// takes about 12 s; a grading never legitimately needs minutes.
pub const DEFAULT_TIMEOUT_SECS: u64 = 180;

/// One submission of a class.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Student {
    /// The name shown (the directory's name, escaped; the whole path if names collide).
    pub name: String,
    pub path: PathBuf,
}

/// `--shard K/N`: the K-th of N parts (1-based) of the students sorted by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub k: usize,
    pub n: usize,
}

impl FromStr for Shard {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || tr!("`{s}`: expected K/N with 1 <= K <= N, e.g. 2/4", s = s);
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let k: usize = k.trim().parse().map_err(|_| bad())?;
        let n: usize = n.trim().parse().map_err(|_| bad())?;
        if k == 0 || n == 0 || k > n {
            return Err(bad());
        }
        Ok(Shard { k, n })
    }
}

impl Shard {
    /// This shard's students: every N-th of the sorted list, from the K-th. Round-robin
    /// rather than contiguous, so every shard gets a share of each kind of name.
    pub fn select(self, students: &[Student]) -> Vec<Student> {
        students
            .iter()
            .enumerate()
            .filter(|(i, _)| i % self.n == self.k - 1)
            .map(|(_, s)| s.clone())
            .collect()
    }
}

/// A class grading, planned.
#[derive(Debug)]
pub struct BatchPlan {
    /// Sorted by name.
    pub students: Vec<Student>,
    pub options: GradeOptions,
    pub outputs: Vec<Output>,
    pub csv: Option<PathBuf>,
    pub shard: Option<Shard>,
    pub reports_dir: Option<PathBuf>,
    pub jobs: usize,
    pub timeout: Duration,
}

/// The number of cores.
pub fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The students of a roster directory, or `None` when `dir` is not one: a folder in which
/// two or more folders hold a submission (`grade::shape` says how that is decided); every
/// folder of it is then a student (hidden ones, such as `.git`, and `__MACOSX` are not).
pub fn roster(dir: &Path) -> Result<Option<Vec<Student>>, String> {
    if !dir.is_dir() {
        return Ok(None);
    }
    std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    Ok(match grade::shape(dir, true) {
        grade::Shape::Roster(folders) => Some(students_of(&folders)),
        grade::Shape::Submission { .. } => None,
    })
}

/// Students named after the last component of their paths (the whole path where two
/// would share a name), sorted by name.
pub fn students_of(paths: &[PathBuf]) -> Vec<Student> {
    let short = |p: &Path| {
        let bytes = p
            .file_name()
            .map(|n| n.as_encoded_bytes().to_vec())
            .unwrap_or_else(|| p.as_os_str().as_encoded_bytes().to_vec());
        escape::one_line(&bytes)
    };
    let mut students: Vec<Student> = paths
        .iter()
        .map(|p| {
            let name = short(p);
            let clash = paths.iter().filter(|q| short(q) == name).count() > 1;
            Student {
                name: if clash {
                    escape::one_line(p.as_os_str().as_encoded_bytes())
                } else {
                    name
                },
                path: p.clone(),
            }
        })
        .collect();
    students.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.path.cmp(&b.path)));
    students
}

/// What became of one student: the reports of a grading, or why there are none.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StudentResult {
    pub student: String,
    /// The submission's path, as given.
    pub path: String,
    #[serde(default)]
    pub reports: Vec<Report>,
    /// Why the submission could not be graded (no program found, the grading crashed or
    /// was killed after the timeout).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The error is the grader's own fault (it crashed, its report was unreadable), not the
    /// submission's: a bug to report.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub grader_fault: bool,
}

impl StudentResult {
    /// True when graded and every check worth points passed.
    pub fn all_passed(&self) -> bool {
        self.error.is_none()
            && !self.reports.is_empty()
            && self.reports.iter().all(|r| r.all_passed())
    }
}

/// The JSON document of a class grading (`--format json`; `harness merge` reads it back).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassReport {
    pub schema_version: u32,
    /// Always `class`: tells this document from a single report.
    pub kind: String,
    pub students: Vec<StudentResult>,
}

impl ClassReport {
    pub fn new(students: Vec<StudentResult>) -> Self {
        ClassReport {
            schema_version: crate::report::SCHEMA_VERSION,
            kind: "class".into(),
            students,
        }
    }
}

/// How a class grading went, besides the results.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    pub elapsed: Duration,
    pub graded: usize,
}

impl Timing {
    pub fn per_minute(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            self.graded as f64 * 60.0 / secs
        } else {
            0.0
        }
    }
}

/// Grades every student of the plan (its shard), `jobs` at a time, each in a child
/// process. Results come back in the order of the (sorted) students.
pub fn grade_class(
    plan: &BatchPlan,
    progress: bool,
) -> Result<(Vec<StudentResult>, Timing), String> {
    let students = match plan.shard {
        Some(shard) => shard.select(&plan.students),
        None => plan.students.clone(),
    };
    // The config is read and checked once, before anyone is graded: a mistake in it stops
    // the class here instead of failing every student's grading.
    if let Some(c) = &plan.options.config {
        grade::read_config(c)?;
    }
    let exe =
        std::env::current_exe().map_err(|e| tr!("cannot find the harness binary: {e}", e = e))?;
    if let Some(dir) = &plan.reports_dir {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    // Each grading child makes itself the subreaper of its own grading (`grading::driver`).
    // This process grades nothing, but is the parent of those children: it must also be a
    // subreaper so that the orphans of a child killed after its timeout come back here to
    // be killed (`cleanup::kill_orphans`) rather than to init.
    let _ = crate::supervise::cleanup::become_subreaper();
    // And, like a grader, deaf to what those orphans send their parent (a conductor's
    // SIGUSR1 to the process it now belongs to must not end the class).
    crate::supervise::cleanup::ignore_student_signals();
    let pool = child::Pool::new();

    let bar = progress_bar(students.len(), progress);
    let started = Instant::now();
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<StudentResult>>> = Mutex::new(vec![None; students.len()]);
    let workers = plan.jobs.clamp(1, students.len().max(1));
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(student) = students.get(i) else {
                    break;
                };
                let outcome = pool.grade(&exe, &student.path, &plan.options, plan.timeout);
                // A grading cut short by Ctrl-C or SIGTERM is no result: no row, and no
                // report file saying the grader failed.
                if crate::supervise::interrupt::interrupted().is_some() {
                    break;
                }
                let result = child::to_result(student, outcome, plan.reports_dir.as_deref());
                bar.set_message(student.name.clone());
                bar.inc(1);
                if let Ok(mut all) = results.lock() {
                    all[i] = Some(result);
                }
            });
        }
    });
    bar.finish_and_clear();
    let timing = Timing {
        elapsed: started.elapsed(),
        graded: students.len(),
    };
    let results = results
        .into_inner()
        .map_err(|_| tr!("a grading thread panicked").to_string())?
        .into_iter()
        .flatten()
        .collect();
    Ok((results, timing))
}

fn progress_bar(len: usize, wanted: bool) -> indicatif::ProgressBar {
    if !wanted || !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(len as u64);
    if let Ok(style) = indicatif::ProgressStyle::with_template(tr!(
        "{bar:30.cyan/blue} {pos}/{len} graded, {elapsed} elapsed, ~{eta} left  {wide_msg}"
    )) {
        bar.set_style(style);
    }
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// Grades the class and writes every output asked for. Exit status: 0 when every
/// submission was graded and passed, 1 otherwise.
pub fn run(plan: &BatchPlan) -> Result<u8, String> {
    let (results, timing) = grade_class(plan, true)?;
    if crate::supervise::interrupt::interrupted().is_some() {
        // Gradings were cut short: a table of them would be wrong. `main` says why.
        return Ok(1);
    }
    table::write_outputs(&results, &plan.outputs, plan.csv.as_deref())?;
    if !plan.options.stable && std::io::stderr().is_terminal() {
        eprintln!(
            "graded {} submissions in {:.1} s ({:.1} per minute, {} at a time)",
            timing.graded,
            timing.elapsed.as_secs_f64(),
            timing.per_minute(),
            plan.jobs
        );
    }
    Ok(if results.iter().all(|r| r.all_passed()) {
        0
    } else {
        1
    })
}
