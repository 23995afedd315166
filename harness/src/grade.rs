//! From a path to reports: which exercises a submission is, and grading it as each. The
//! binary, the batch runner and the benchmark all come through here; the exercises come
//! from the registry, none is named here.

use std::path::{Path, PathBuf};

use crate::config::{ConfigError, ConfigFile, Find};
use crate::grading::driver::{self, Grading};
use crate::grading::Registered;
use crate::report::Report;
use crate::submission;

/// How to grade.
#[derive(Debug, Clone)]
pub struct GradeOptions {
    /// Force an exercise (its registry name) instead of detecting it from the files present.
    pub exercise: Option<String>,
    /// The instructor's config file: settings for one exercise or several (see
    /// [`read_config`]).
    pub config: Option<PathBuf>,
    /// Interpreter for `.py` submissions.
    pub python: String,
    /// Leave out what differs between runs.
    pub stable: bool,
}

impl Default for GradeOptions {
    fn default() -> Self {
        GradeOptions {
            exercise: None,
            config: None,
            python: "python3".into(),
            stable: false,
        }
    }
}

/// The registered exercise called `name`.
pub fn exercise(name: &str) -> Result<&'static dyn Registered, String> {
    crate::exercises::all()
        .into_iter()
        .find(|e| e.name() == name)
        .ok_or_else(|| format!("unknown exercise `{name}` (known: {})", names().join(", ")))
}

/// The names of the registered exercises.
pub fn names() -> Vec<&'static str> {
    crate::exercises::all().iter().map(|e| e.name()).collect()
}

/// Reads an instructor's config file once and checks it against every exercise it sets,
/// before anything is graded. A file of one exercise's tables belongs to the exercise its
/// `[exercise] name` names, else to the first (in registry order) whose config it fits. An
/// error names the key at its line and column in the file.
pub fn read_config(path: &Path) -> Result<ConfigFile, String> {
    let mut file = ConfigFile::read(path, &names()).map_err(|e| e.to_string())?;
    if file.unowned.is_some() {
        let owner = match file.named.clone() {
            Some(name) => exercise(&name)?,
            None => owner_of(&file).map_err(|e| e.to_string())?,
        };
        file.give(owner.name());
    }
    for name in file.exercises().collect::<Vec<_>>() {
        driver::load_config(exercise(name)?, Some(&file)).map_err(|e| e.to_string())?;
    }
    Ok(file)
}

/// The first exercise a one-exercise file fits; when it fits none, the error of the one
/// whose settings it names most.
fn owner_of(file: &ConfigFile) -> Result<&'static dyn Registered, ConfigError> {
    let mut best: Option<(usize, ConfigError)> = None;
    for ex in crate::exercises::all() {
        let mut mine = file.clone();
        mine.give(ex.name());
        match driver::load_config(ex, Some(&mine)) {
            Ok(_) => return Ok(ex),
            Err(e) => {
                let fit = file.fit(ex.shipped());
                if best.as_ref().is_none_or(|(b, _)| fit > *b) {
                    best = Some((fit, e));
                }
            }
        }
    }
    Err(best.map(|b| b.1).unwrap_or_else(|| ConfigError {
        source_name: file.name.clone(),
        key: None,
        at: None,
        message: "no exercise is registered".into(),
    }))
}

/// The exercises whose programs are present: a directory may hold several (a student's
/// whole homework); a single file is judged by its name.
pub fn detect(path: &Path, ignore_case: bool) -> Vec<&'static dyn Registered> {
    crate::exercises::all()
        .into_iter()
        .filter(|e| {
            e.shipped_programs()
                .iter()
                .any(|p| p.is_in(path, ignore_case))
        })
        .collect()
}

/// Where a submission's programs are: `path`, or the only folder in it when `path` holds
/// none and that folder does (a cloned repository: `ivan/hw1/<program>`), with a note saying so.
pub fn resolve(path: &Path, ignore_case: bool) -> (PathBuf, Vec<String>) {
    if path.is_dir() && detect(path, ignore_case).is_empty() {
        if let [only] = submission::subfolders(path).as_slice() {
            if !detect(only, ignore_case).is_empty() {
                let name = only
                    .file_name()
                    .map(|n| crate::text::escape::one_line(n.as_encoded_bytes()))
                    .unwrap_or_default();
                let note = format!(
                    "the programs were found in `{name}/`, the only folder of the submission"
                );
                return (only.clone(), vec![note]);
            }
        }
    }
    (path.to_path_buf(), Vec::new())
}

/// What a folder without any exercise's program is told: every name looked for, and what
/// the folder holds.
fn no_program(path: &Path, ignore_case: bool) -> String {
    let looked: Vec<String> = crate::exercises::all()
        .into_iter()
        .map(|e| {
            let names: Vec<String> = e
                .shipped_programs()
                .iter()
                .flat_map(|p| {
                    [
                        p.python.clone(),
                        p.binary.clone(),
                        format!("{}.c", p.binary),
                    ]
                })
                .collect();
            let (last, rest) = names.split_last().map_or(("", &[][..]), |(l, r)| (l, r));
            if rest.is_empty() {
                last.to_string()
            } else {
                format!("{} or {last}", rest.join(", "))
            }
        })
        .collect();
    format!(
        "{}: no program found (looked for {}, also in a single folder inside{}); it holds: {}",
        path.display(),
        looked.join("; "),
        if ignore_case { ", in any case" } else { "" },
        submission::listing(path, 12)
    )
}

/// Notes for programs found under a name that differs in case (`Main.py` for `main.py`).
fn case_notes(dir: &Path, loaded: &crate::grading::Loaded) -> Vec<String> {
    if !dir.is_dir() {
        return Vec::new();
    }
    loaded
        .programs()
        .iter()
        .filter_map(|p| {
            let names = [p.python.as_str(), p.binary.as_str()];
            if submission::entry_in(dir, &names, false).is_some() {
                return None;
            }
            let found = submission::entry_in(dir, &names, true)?;
            let found = crate::text::escape::one_line(found.file_name()?.as_encoded_bytes());
            let meant = names
                .iter()
                .find(|n| n.to_lowercase() == found.to_lowercase())
                .unwrap_or(&names[0]);
            Some(format!(
                "`{found}` was graded as `{meant}`: the names differ only in case"
            ))
        })
        .collect()
}

/// Grades `path` as every exercise it holds (or the one forced), with the settings of
/// `--config` for each. An error means nothing could be graded at all.
pub fn grade_path(path: &Path, opts: &GradeOptions) -> Result<Vec<Report>, String> {
    let config = opts.config.as_deref().map(read_config).transpose()?;
    let find = config.as_ref().map_or_else(Find::default, |c| c.find);
    if !path.exists() {
        return Err(submission::SubmissionError::Missing(path.to_path_buf()).to_string());
    }
    let (path, nested) = resolve(path, find.ignore_case);
    let exercises = match &opts.exercise {
        Some(name) => vec![exercise(name)?],
        None => {
            let found = detect(&path, find.ignore_case);
            if !found.is_empty() {
                found
            } else if path.is_dir() {
                return Err(no_program(&path, find.ignore_case));
            } else {
                // A single file of another name: graded as the first exercise.
                crate::exercises::all().into_iter().take(1).collect()
            }
        }
    };
    let how = Grading {
        python: &opts.python,
        stable: opts.stable,
        ignore_case: find.ignore_case,
    };
    let mut reports = Vec::new();
    for ex in exercises {
        let loaded = driver::load_config(ex, config.as_ref()).map_err(|e| e.to_string())?;
        let mut report = driver::grade(&loaded, &path, &how)?;
        let mut notes = nested.clone();
        notes.extend(case_notes(&path, &loaded));
        notes.append(&mut report.notes);
        report.notes = notes;
        reports.push(report);
    }
    Ok(reports)
}
