//! From a path to reports: which exercises a submission is, and grading it as each. The
//! binary, the batch runner and the benchmark all come through here; the exercises come
//! from the registry, none is named here.

use std::path::{Path, PathBuf};

use crate::exercises::REGISTRY;
use crate::grading::driver::{self, Grading};
use crate::grading::Registered;
use crate::report::Report;
use crate::submission;

/// How to grade.
#[derive(Debug, Clone)]
pub struct GradeOptions {
    /// Force an exercise (its registry name) instead of detecting it from the files present.
    pub exercise: Option<String>,
    /// An exercise config laid over the shipped one.
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
    REGISTRY
        .iter()
        .copied()
        .find(|e| e.name() == name)
        .ok_or_else(|| format!("unknown exercise `{name}` (known: {})", names().join(", ")))
}

/// The names of the registered exercises.
pub fn names() -> Vec<&'static str> {
    REGISTRY.iter().map(|e| e.name()).collect()
}

/// The exercises whose programs are present: a directory may hold several (a student's
/// whole homework); a single file is judged by its name.
pub fn detect(path: &Path) -> Vec<&'static dyn Registered> {
    REGISTRY
        .iter()
        .copied()
        .filter(|e| e.shipped_programs().iter().any(|p| p.is_in(path)))
        .collect()
}

/// Grades `path` as every exercise it holds (or the one forced). An error means nothing
/// could be graded at all.
pub fn grade_path(path: &Path, opts: &GradeOptions) -> Result<Vec<Report>, String> {
    if !path.exists() {
        return Err(submission::SubmissionError::Missing(path.to_path_buf()).to_string());
    }
    let exercises = match &opts.exercise {
        Some(name) => vec![exercise(name)?],
        None => {
            let found = detect(path);
            if found.is_empty() {
                // Let the first exercise's locator say what it looked for.
                REGISTRY.iter().copied().take(1).collect()
            } else {
                found
            }
        }
    };
    let how = Grading {
        python: &opts.python,
        stable: opts.stable,
    };
    let mut reports = Vec::new();
    for ex in exercises {
        let loaded = driver::load_config(ex, opts.config.as_deref())?;
        reports.push(driver::grade(&loaded, path, &how)?);
    }
    Ok(reports)
}
