//! The one grading driver: what every exercise's grading has in common, done once. Config
//! layering and validation, finding, building and preparing the programs, the subreaper,
//! running the exercise's checks, containment notes, report assembly and `--stable`.

use crate::tr;
use std::path::Path;
use std::time::Instant;

use super::{build, Checklist, Found, Graded, Job, Loaded, Registered};
use crate::config::{ConfigError, ConfigFile};
use crate::report::{CheckOutcome, Report, Status, SubmissionInfo, SCHEMA_VERSION};
use crate::supervise::cleanup;

/// The exercise's config: the shipped one, or the instructor's settings for it in `file`
/// laid over it. An error names the key, at its line and column in `file`.
pub fn load_config(ex: &dyn Registered, file: Option<&ConfigFile>) -> Result<Loaded, ConfigError> {
    match file.and_then(|f| Some((f, f.overlay(ex.name())?))) {
        Some((f, overlay)) => crate::config::layered(ex.shipped(), overlay, &f.name)
            .and_then(|merged| ex.load(&merged, &f.name))
            .map_err(|e| f.relocate(ex.name(), e)),
        None => ex.load(
            ex.shipped(),
            &tr!("exercises/{ex}/exercise.toml (built in)", ex = ex.name()),
        ),
    }
}

/// How one submission is graded.
pub struct Grading<'a> {
    pub python: &'a str,
    pub stable: bool,
    /// `Bus.py` is taken for `bus.py` (`[find] ignore_case`).
    pub ignore_case: bool,
}

/// Grades the submission at `path` with an exercise's config `loaded`. An error means it
/// could not be graded at all (no program, a program that cannot be prepared). Sources are
/// built first (see [`build`]); a build that fails ends the grading there.
pub fn grade(loaded: &Loaded, path: &Path, how: &Grading) -> Result<Report, String> {
    let t0 = Instant::now();
    // The engine records what it sees into this grading's log; the check list cuts it.
    let recorder = crate::supervise::events::Recorder::default();
    let _recording = recorder.install();
    // Orphans of the submission come back to the grader, which reaps and sweeps them; the
    // keys the grader types must not stop or kill it.
    cleanup::become_subreaper().ok();
    cleanup::ignore_student_signals();
    let programs = loaded.programs();
    let mut checks = Checklist::new(&loaded.scoring);
    let only = programs.len() == 1;
    let sources: Vec<_> = programs
        .iter()
        .map(|p| build::source_of(p, path, only))
        .collect();
    let mut found: Vec<Option<Found>> = programs.iter().map(|_| None).collect();
    let mut build_workdir = None;
    if sources.iter().any(Option::is_some) {
        let built = build::build(path, programs, &sources, &loaded.scoring.build);
        checks.record(&build::DOC, built.outcome);
        if built.failed {
            checks.settle_docs(loaded.checks(), Status::Skipped, build::NOT_BUILT);
            cleanup::kill_all_descendants(Instant::now() + cleanup::CLEANUP_TIME);
            let graded = Graded {
                entry: built.entry,
                command: built.command,
                interpreter: None,
                runs: 0,
                isolation: built.isolation,
                containment: Default::default(),
                workdirs: vec![built.workdir],
            };
            return Ok(assemble(
                loaded,
                path,
                how,
                t0,
                graded,
                checks.into_outcomes(),
            ));
        }
        found = built.programs;
        build_workdir = Some(built.workdir);
    }
    for ((p, source), slot) in programs.iter().zip(&sources).zip(found.iter_mut()) {
        if source.is_none() {
            *slot = p.find(path, how.python, how.ignore_case);
        }
    }
    if found.iter().all(Option::is_none) {
        match programs {
            // The locator says what it looked for (and takes a file of any name).
            [one] => found[0] = Some(Ok(one.prepare(path, how.python, how.ignore_case)?)),
            _ => {
                let names: Vec<&str> = programs
                    .iter()
                    .flat_map(|p| [p.python.as_str(), p.binary.as_str()])
                    .collect();
                let (last, rest) = names.split_last().unwrap_or((&"", &[]));
                return Err(tr!(
                    "{path}: no program found (looked for {rest} or {last})",
                    path = path.display(),
                    rest = rest.join(", "),
                    last = last
                ));
            }
        }
    }
    let mut job = Job {
        found,
        stable: how.stable,
        checks,
    };
    let graded = loaded.grade(&mut job);
    // Whatever the exercise left (a check that panicked mid-run), nothing survives it.
    cleanup::kill_all_descendants(Instant::now() + cleanup::CLEANUP_TIME);
    let mut graded = graded?;
    if let Some(secs) = job.checks.overran() {
        graded.containment.overran.get_or_insert(secs);
    }
    graded.workdirs.extend(build_workdir);
    Ok(assemble(
        loaded,
        path,
        how,
        t0,
        graded,
        job.checks.into_outcomes(),
    ))
}

/// The report of a grading: the outcomes, what was run, the containment notes, the total.
fn assemble(
    loaded: &Loaded,
    path: &Path,
    how: &Grading,
    t0: Instant,
    graded: Graded,
    mut checks: Vec<CheckOutcome>,
) -> Report {
    let notes = graded.containment.apply(&mut checks);
    let mut report = Report {
        schema_version: SCHEMA_VERSION,
        exercise: loaded.scoring.exercise.name.clone(),
        submission: SubmissionInfo {
            path: path.display().to_string(),
            folder: None,
            entry: graded.entry,
            command: graded.command,
        },
        interpreter: graded.interpreter,
        checks,
        score: 0,
        max_score: 0,
        fix_first: None,
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
    report
}
