//! `harness bench-batch`: the throughput of class grading. Builds a class of `copies`
//! copies of each sample in a temporary directory, grades it once per `--jobs` value, and
//! prints submissions per minute, the speedup over the first value, and whether every copy
//! of a sample got the same score.

use crate::tr;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{grade_class, students_of, BatchPlan, DEFAULT_TIMEOUT_SECS};
use crate::grade::GradeOptions;

pub fn run(samples: &[PathBuf], copies: usize, jobs: &[usize], python: &str) -> Result<(), String> {
    if copies == 0 || jobs.is_empty() || jobs.contains(&0) {
        return Err(tr!("--copies and every --jobs must be at least 1").into());
    }
    let class = tempfile::Builder::new()
        .prefix("harness-class-")
        .tempdir()
        .map_err(|e| tr!("cannot make a temporary directory: {e}", e = e))?;
    let mut paths = Vec::new();
    for s in samples {
        let name = s
            .file_name()
            .ok_or_else(|| tr!("{dir}: not a sample directory", dir = s.display()))?
            .to_string_lossy()
            .into_owned();
        for i in 0..copies {
            let to = class.path().join(format!("{name}-{i:03}"));
            copy_dir(s, &to)?;
            paths.push(to);
        }
    }
    let students = students_of(&paths);
    println!(
        "{}",
        tr!(
            "class: {n} submissions ({copies} copies of {samples} samples), {cores} cores",
            n = students.len(),
            copies = copies,
            samples = samples.len(),
            cores = super::default_jobs()
        )
    );
    let mut first: Option<f64> = None;
    for &j in jobs {
        let plan = BatchPlan {
            students: students.clone(),
            options: GradeOptions {
                python: python.to_string(),
                stable: true,
                ..GradeOptions::default()
            },
            outputs: Vec::new(),
            csv: None,
            shard: None,
            reports_dir: None,
            jobs: j,
            timeout: Duration::from_secs(DEFAULT_TIMEOUT_SECS),
        };
        let (results, timing) = grade_class(&plan, false)?;
        let rate = timing.per_minute();
        let speedup = first.map_or(1.0, |f| rate / f);
        first.get_or_insert(rate);
        // Every copy of a sample should score the same.
        let mut scores: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for r in &results {
            let sample = r
                .student
                .rsplit_once('-')
                .map_or(r.student.as_str(), |(s, _)| s);
            let score = match (&r.error, r.reports.first()) {
                (Some(e), _) => format!("error: {e}"),
                (None, Some(rep)) => format!("{}/{}", rep.score, rep.max_score),
                (None, None) => tr!("no report").into(),
            };
            scores.entry(sample.to_string()).or_default().push(score);
        }
        let consistent = scores.values().all(|v| v.iter().all(|s| s == &v[0]));
        println!(
            "{}",
            tr!(
                "--jobs {j}: {n} submissions in {secs} s = {rate} per minute (speedup {speedup}x); \
                 same score for every copy of a sample: {same}",
                j = j,
                n = timing.graded,
                secs = format!("{:.1}", timing.elapsed.as_secs_f64()),
                rate = format!("{rate:.1}"),
                speedup = format!("{speedup:.2}"),
                same = if consistent { tr!("yes") } else { tr!("NO") }
            )
        );
        for (sample, v) in &scores {
            let mut distinct: Vec<&String> = v.iter().collect();
            distinct.sort();
            distinct.dedup();
            let shown: Vec<&str> = distinct.iter().map(|s| s.as_str()).collect();
            println!("    {sample}: {}", shown.join(" | "));
        }
    }
    Ok(())
}

fn copy_dir(from: &Path, to: &Path) -> Result<(), String> {
    std::fs::create_dir_all(to).map_err(|e| format!("{}: {e}", to.display()))?;
    let entries = std::fs::read_dir(from).map_err(|e| format!("{}: {e}", from.display()))?;
    for e in entries.filter_map(|e| e.ok()) {
        let (src, dst) = (e.path(), to.join(e.file_name()));
        if src.is_dir() {
            copy_dir(&src, &dst)?;
        } else {
            std::fs::copy(&src, &dst).map_err(|e| format!("{}: {e}", src.display()))?;
        }
    }
    Ok(())
}
