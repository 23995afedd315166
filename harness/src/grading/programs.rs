//! The programs of a submission: which are there, and each one copied and ready to run.

use std::path::Path;

use crate::submission::{self, Prepared};

/// A program an exercise runs, by the names a submission may give it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Program {
    /// `bus.py`: run with the Python interpreter.
    pub python: String,
    /// `bus`: an executable.
    pub binary: String,
}

/// A program found in the submission: ready to run, or why it cannot be.
pub type Found = Result<Prepared, String>;

impl Program {
    pub fn new(python: &str, binary: &str) -> Self {
        Program {
            python: python.to_string(),
            binary: binary.to_string(),
        }
    }

    /// Whether `path` holds this program (a directory: its Python entry, its executable or
    /// its C source `bus.c`) or is it (a file, by its name: `bus.c` too); `ignore_case`:
    /// `Bus.py` counts as `bus.py`.
    pub fn is_in(&self, path: &Path, ignore_case: bool) -> bool {
        if path.is_dir() {
            let source = format!("{}.c", self.binary);
            submission::entry_in(path, &[&self.python, &self.binary, &source], ignore_case)
                .is_some()
        } else {
            let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
            let same = |a: &str, b: &str| a == b || ignore_case && a.eq_ignore_ascii_case(b);
            same(stem, self.python.trim_end_matches(".py")) || same(stem, &self.binary)
        }
    }

    /// The program at `path`, copied to a private directory: `None` when it is not there.
    pub fn find(&self, path: &Path, python: &str, ignore_case: bool) -> Option<Found> {
        self.is_in(path, ignore_case)
            .then(|| self.prepare(path, python, ignore_case))
    }

    /// Locates and copies the program, whether or not its names are there (the error then
    /// says what was looked for).
    pub fn prepare(&self, path: &Path, python: &str, ignore_case: bool) -> Found {
        let entry = submission::locate(path, &self.python, &self.binary, ignore_case)
            .map_err(|e| e.to_string())?;
        submission::prepare(path, &entry, Some(python)).map_err(|e| e.to_string())
    }
}
