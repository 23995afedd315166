//! From a path to reports: which exercise a submission is, and grading it. The binary, the
//! batch runner and the benchmark all come through here.

use std::path::{Path, PathBuf};

use crate::config::bus::BusConfig;
use crate::report::Report;
use crate::submission;

/// The exercises the grader knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub enum Exercise {
    Bus,
    Fileserver,
}

impl Exercise {
    pub fn name(self) -> &'static str {
        match self {
            Exercise::Bus => "bus",
            Exercise::Fileserver => "fileserver",
        }
    }
}

/// How to grade.
#[derive(Debug, Clone)]
pub struct GradeOptions {
    /// Force an exercise instead of detecting it from the files present.
    pub exercise: Option<Exercise>,
    /// An exercise config replacing the shipped one.
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

/// The exercises whose files are present: a directory may hold both (a student's whole
/// homework); a single file is judged by its name.
pub fn detect(path: &Path) -> Vec<Exercise> {
    let has = |names: &[&str]| {
        if path.is_dir() {
            names.iter().any(|n| path.join(n).is_file())
        } else {
            let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
            names.iter().any(|n| n.trim_end_matches(".py") == stem)
        }
    };
    let mut found = Vec::new();
    if has(&["bus.py", "bus"]) {
        found.push(Exercise::Bus);
    }
    if has(&["server.py", "server", "client.py", "client"]) {
        found.push(Exercise::Fileserver);
    }
    found
}

/// Grades `path` as every exercise it holds (or the one forced). An error means nothing
/// could be graded at all.
pub fn grade_path(path: &Path, opts: &GradeOptions) -> Result<Vec<Report>, String> {
    if !path.exists() {
        return Err(submission::SubmissionError::Missing(path.to_path_buf()).to_string());
    }
    let exercises = match opts.exercise {
        Some(e) => vec![e],
        None => {
            let found = detect(path);
            if found.is_empty() {
                // Let the bus locator say what it looked for: the most common case.
                vec![Exercise::Bus]
            } else {
                found
            }
        }
    };
    let mut reports = Vec::new();
    for e in exercises {
        reports.push(match e {
            Exercise::Bus => grade_bus(path, opts)?,
            Exercise::Fileserver => grade_fileserver(path, opts)?,
        });
    }
    Ok(reports)
}

fn grade_bus(path: &Path, opts: &GradeOptions) -> Result<Report, String> {
    let cfg = match &opts.config {
        Some(p) => {
            let name = p.display().to_string();
            let text = crate::config::read_file(p).map_err(|e| e.to_string())?;
            let merged = crate::config::layered(crate::config::bus::DEFAULT_TOML, &text, &name)
                .map_err(|e| e.to_string())?;
            BusConfig::from_toml(&merged, &name)
        }
        None => BusConfig::shipped(),
    }
    .map_err(|e| e.to_string())?;
    let entry = submission::locate(
        path,
        &cfg.submission.python_entry,
        &cfg.submission.binary_entry,
    )
    .map_err(|e| e.to_string())?;
    let prepared =
        submission::prepare(path, &entry, Some(&opts.python)).map_err(|e| e.to_string())?;
    Ok(crate::exercises::bus::grade(&cfg, &prepared, opts.stable))
}

fn grade_fileserver(path: &Path, opts: &GradeOptions) -> Result<Report, String> {
    use crate::config::fileserver::FileserverConfig;
    let cfg = match &opts.config {
        Some(p) => {
            let name = p.display().to_string();
            let text = crate::config::read_file(p).map_err(|e| e.to_string())?;
            let merged =
                crate::config::layered(crate::config::fileserver::DEFAULT_TOML, &text, &name)
                    .map_err(|e| e.to_string())?;
            FileserverConfig::from_toml(&merged, &name)
        }
        None => FileserverConfig::shipped(),
    }
    .map_err(|e| e.to_string())?;
    crate::exercises::fileserver::grade(&cfg, path, &opts.python, opts.stable)
}
