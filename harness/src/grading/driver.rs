//! The one grading driver: what every exercise's grading has in common, done once. Config
//! layering and validation, finding and preparing the programs, the subreaper, running the
//! exercise's checks, containment notes, report assembly and `--stable`.

use std::path::Path;
use std::time::Instant;

use super::{Checklist, Job, Loaded, Registered};
use crate::report::{Report, SubmissionInfo, SCHEMA_VERSION};
use crate::supervise::cleanup;

/// The exercise's config: the shipped one, or `file` laid over it.
pub fn load_config(ex: &dyn Registered, file: Option<&Path>) -> Result<Loaded, String> {
    match file {
        Some(p) => {
            let name = p.display().to_string();
            let text = crate::config::read_file(p).map_err(|e| e.to_string())?;
            let merged =
                crate::config::layered(ex.shipped(), &text, &name).map_err(|e| e.to_string())?;
            ex.load(&merged, &name)
        }
        None => ex.load(
            ex.shipped(),
            &format!("exercises/{}/exercise.toml (built in)", ex.name()),
        ),
    }
    .map_err(|e| e.to_string())
}

/// How one submission is graded.
pub struct Grading<'a> {
    pub python: &'a str,
    pub stable: bool,
}

/// Grades the submission at `path` with an exercise's config `loaded`. An error means it
/// could not be graded at all (no program, a program that cannot be prepared).
pub fn grade(loaded: &Loaded, path: &Path, how: &Grading) -> Result<Report, String> {
    let t0 = Instant::now();
    // Orphans of the submission come back to the grader, which reaps and sweeps them; the
    // keys the grader types must not stop or kill it.
    cleanup::become_subreaper().ok();
    cleanup::ignore_student_signals();
    let programs = loaded.programs();
    let mut found: Vec<_> = programs.iter().map(|p| p.find(path, how.python)).collect();
    if found.iter().all(Option::is_none) {
        match programs {
            // The locator says what it looked for (and takes a file of any name).
            [one] => found[0] = Some(Ok(one.prepare(path, how.python)?)),
            _ => {
                let names: Vec<&str> = programs
                    .iter()
                    .flat_map(|p| [p.python.as_str(), p.binary.as_str()])
                    .collect();
                let (last, rest) = names.split_last().unwrap_or((&"", &[]));
                return Err(format!(
                    "{}: no program found (looked for {} or {last})",
                    path.display(),
                    rest.join(", ")
                ));
            }
        }
    }
    let mut job = Job {
        found,
        stable: how.stable,
        checks: Checklist::new(&loaded.scoring),
    };
    let graded = loaded.grade(&mut job);
    // Whatever the exercise left (a check that panicked mid-run), nothing survives it.
    cleanup::kill_all_descendants(Instant::now() + cleanup::CLEANUP_TIME);
    let mut graded = graded?;
    if let Some(secs) = job.checks.overran() {
        graded.containment.overran.get_or_insert(secs);
    }
    let mut checks = job.checks.into_outcomes();
    let notes = graded.containment.apply(&mut checks);
    let mut report = Report {
        schema_version: SCHEMA_VERSION,
        exercise: loaded.scoring.exercise.name.clone(),
        submission: SubmissionInfo {
            path: path.display().to_string(),
            entry: graded.entry,
            command: graded.command,
        },
        interpreter: graded.interpreter,
        checks,
        score: 0,
        max_score: 0,
        runs: graded.runs,
        duration_ms: Some(t0.elapsed().as_millis() as u64),
        isolation: graded.isolation,
        notes,
        run_dirs: graded.workdirs.clone(),
    };
    report.total();
    if how.stable {
        if graded.workdirs.is_empty() {
            report.make_stable("");
        }
        for w in &graded.workdirs {
            report.make_stable(w);
        }
    }
    Ok(report)
}
