//! Finding what to run in a submission, and preparing a private copy to run it from.
//!
//! A submission is a directory holding the exercise's Python entry (`bus.py`) or an
//! executable (`bus`), or a path to a single file. It is copied into a fresh temporary
//! directory (which is also the program's home), so a run cannot change the original.
//!
//! As root, that directory is a tmpfs (mounted in a private mount namespace of the grader's
//! thread, so it vanishes with the grader whatever happens, and no other process sees it):
//! everything the program can write, its `/tmp` included (see `supervise::isolation`), then
//! counts against one size limit.

use crate::tr;
use std::ffi::OsStr;
use std::fmt;
use std::fs;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::report::{Interpreter, SubmissionInfo};
use crate::supervise::cleanup;
use crate::supervise::isolation::{self, Layout, TmpfsMount};
use crate::supervise::spawn::Launch;

/// A submission that cannot be graded at all.
#[derive(Debug)]
pub enum SubmissionError {
    Missing(PathBuf),
    NoEntry {
        dir: PathBuf,
        looked_for: Vec<String>,
    },
    NotExecutable(PathBuf),
    Interpreter {
        choice: String,
        why: String,
    },
    Io(String),
}

impl fmt::Display for SubmissionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SubmissionError::Missing(p) => f.write_str(&tr!("{p}: no such file or directory", p = p.display())),
            SubmissionError::NoEntry { dir, looked_for } => f.write_str(&tr!("{dir}: no program found (looked for {looked_for})", dir = dir.display(), looked_for = looked_for.join(tr!(" or ")))),
            SubmissionError::NotExecutable(p) => f.write_str(&tr!("{p}: not executable (a compiled program needs `chmod +x`; a Python program must end in .py)", p = p.display())),
            SubmissionError::Interpreter { choice, why } => {
                f.write_str(&tr!("cannot use the Python interpreter `{choice}`: {why}", choice = choice, why = why))
            }
            SubmissionError::Io(why) => f.write_str(&tr!("cannot prepare the submission: {why}", why = why)),
        }
    }
}

impl std::error::Error for SubmissionError {}

/// What kind of program the entry is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryKind {
    Python,
    Executable,
}

/// The file to run, found in the submission.
#[derive(Debug, Clone)]
pub struct Entry {
    pub path: PathBuf,
    pub kind: EntryKind,
}

/// Finds the entry point: `python_entry` or `binary_entry` in a directory (see
/// [`entry_in`]), or the file given.
pub fn locate(
    path: &Path,
    python_entry: &str,
    binary_entry: &str,
    ignore_case: bool,
) -> Result<Entry, SubmissionError> {
    let meta = fs::metadata(path).map_err(|_| SubmissionError::Missing(path.to_path_buf()))?;
    let file = if meta.is_dir() {
        entry_in(path, &[python_entry, binary_entry], ignore_case).ok_or_else(|| {
            SubmissionError::NoEntry {
                dir: path.to_path_buf(),
                looked_for: vec![python_entry.to_string(), binary_entry.to_string()],
            }
        })?
    } else {
        path.to_path_buf()
    };
    if file
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case(OsStr::new("py")))
    {
        return Ok(Entry {
            path: file,
            kind: EntryKind::Python,
        });
    }
    let mode = fs::metadata(&file)
        .map_err(|e| SubmissionError::Io(e.to_string()))?
        .permissions()
        .mode();
    if mode & 0o111 == 0 {
        return Err(SubmissionError::NotExecutable(file));
    }
    Ok(Entry {
        path: file,
        kind: EntryKind::Executable,
    })
}

/// The file of `dir` with one of `names`, in their order: an exact name first; then, with
/// `ignore_case`, a name that differs only in case (`Bus.py` for `bus.py`; of several such,
/// the first in byte order). Only regular files count.
pub fn entry_in(dir: &Path, names: &[&str], ignore_case: bool) -> Option<PathBuf> {
    if let Some(p) = names.iter().map(|n| dir.join(n)).find(|p| p.is_file()) {
        return Some(p);
    }
    if !ignore_case {
        return None;
    }
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    names.iter().find_map(|n| {
        let want = n.to_lowercase();
        files
            .iter()
            .find(|p| {
                p.file_name()
                    .and_then(|f| f.to_str())
                    .is_some_and(|f| f.to_lowercase() == want)
            })
            .cloned()
    })
}

/// The folder a zip made on a Mac holds beside what was zipped: resource forks, never
/// anyone's work.
pub const MAC_ZIP_FOLDER: &str = "__MACOSX";

/// The folders in `dir` a person would see (not hidden ones such as `.git`, nor a Mac
/// zip's `__MACOSX`), sorted.
pub fn subfolders(dir: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .filter(|e| {
                    let name = e.file_name();
                    !name.as_encoded_bytes().starts_with(b".") && name != MAC_ZIP_FOLDER
                })
                .map(|e| e.path())
                .filter(|p| p.is_dir())
                .collect()
        })
        .unwrap_or_default();
    dirs.sort();
    dirs
}

/// What `dir` holds, for a message: `README.md, hw1/, notes.txt` (escaped, at most
/// `max` names, then how many more), or `nothing`.
pub fn listing(dir: &Path, max: usize) -> String {
    let mut names: Vec<String> = fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .map(|e| {
                    let name = crate::text::escape::one_line(e.file_name().as_encoded_bytes());
                    if e.path().is_dir() {
                        format!("{name}/")
                    } else {
                        name
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    if names.is_empty() {
        return "nothing".into();
    }
    let more = names.len().saturating_sub(max);
    names.truncate(max);
    if more > 0 {
        names.push(format!("{more} more"));
    }
    names.join(", ")
}

/// Why an interpreter cannot be used when there is none of that name.
const NOT_FOUND: &str =
    "it was not found (it is not installed, or not on PATH; name another with --python)";

/// Resolves the real interpreter behind `choice` (a name on PATH or a path). On these
/// machines `python3` can be a wrapper script that starts helper processes of its own,
/// which would be mistaken for the student's; the real executable is run instead.
pub fn resolve_python(choice: &str) -> Result<Interpreter, SubmissionError> {
    resolve_python_prefixes(choice).map(|(i, _)| i)
}

/// [`resolve_python`], plus the directories the interpreter needs at run time (its
/// prefixes), which must stay reachable for a program confined to a user of its own.
pub fn resolve_python_prefixes(
    choice: &str,
) -> Result<(Interpreter, Vec<PathBuf>), SubmissionError> {
    let fail = |why: String| SubmissionError::Interpreter {
        choice: choice.to_string(),
        why,
    };
    let mut cmd = Command::new(choice);
    cmd.args([
            "-c",
            crate::i18n::verbatim("import sys; print(sys.executable); print('%d.%d.%d' % sys.version_info[:3]); print('\\n'.join({sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}))"),
        ])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null());
    // The permit covers the start only: an interrupt's kill finds the interpreter if it runs.
    let child = {
        let _permit =
            crate::supervise::interrupt::permit_to_start().map_err(|e| fail(e.to_string()))?;
        cmd.spawn().map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => fail(crate::i18n::doc(NOT_FOUND).into()),
            _ => fail(e.to_string()),
        })?
    };
    let out = child.wait_with_output().map_err(|e| fail(e.to_string()))?;
    // 127: a wrapper (pyenv's shim, `env`) that found no such command.
    if out.status.code() == Some(127) {
        return Err(fail(crate::i18n::doc(NOT_FOUND).into()));
    }
    if !out.status.success() {
        return Err(fail(tr!("it exited with {status}", status = out.status)));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines();
    let path = lines.next().unwrap_or("").trim().to_string();
    let version = lines.next().unwrap_or("").trim().to_string();
    if path.is_empty() {
        return Err(fail(tr!("it did not name its executable").into()));
    }
    let mut reach: Vec<PathBuf> = lines
        .map(|l| PathBuf::from(l.trim()))
        .filter(|p| p.is_absolute())
        .collect();
    if let Some(dir) = Path::new(&path).parent() {
        reach.push(dir.to_path_buf());
    }
    reach.sort();
    reach.dedup();
    Ok((Interpreter { path, version }, reach))
}

/// The language of a submission, as far as the grader can tell: hints name Python's or C's
/// calls, and stay neutral for an executable of unknown source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Language {
    Python,
    C,
    #[default]
    Other,
}

/// A submission ready to run: a private copy, the command line and what to report.
pub struct Prepared {
    pub info: SubmissionInfo,
    pub interpreter: Option<Interpreter>,
    /// The language the student wrote in: hints are worded for it.
    pub language: Language,
    pub launch: Launch,
    /// Directories outside the copy the program needs (the interpreter's prefixes).
    pub reach: Vec<PathBuf>,
    /// The tmpfs on `workdir`, if any; unmounted before `workdir` is removed.
    pub workdir_mount: Option<TmpfsMount>,
    /// Removed when dropped.
    pub workdir: tempfile::TempDir,
}

impl Prepared {
    /// What `supervise::isolation::Sandbox::new` needs to know about this submission.
    pub fn layout(&self) -> Layout {
        Layout {
            workdir: self.workdir.path().to_path_buf(),
            workdir_is_tmpfs: self.workdir_mount.is_some(),
            reach: self.reach.clone(),
            program: PathBuf::from(std::ffi::OsStr::from_bytes(self.launch.program.as_bytes())),
            binds: Vec::new(),
        }
    }
}

/// The largest submission copied, so a huge directory cannot fill the disk.
const MAX_COPY_BYTES: u64 = 64 << 20;

fn copy_tree(from: &Path, to: &Path, budget: &mut u64) -> io::Result<()> {
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        let target = to.join(entry.file_name());
        if kind.is_dir() {
            fs::create_dir(&target)?;
            copy_tree(&entry.path(), &target, budget)?;
        } else if kind.is_file() {
            let len = entry.metadata()?.len();
            if len > *budget {
                return Err(io::Error::other(tr!("submission larger than 64 MiB")));
            }
            *budget -= len;
            fs::copy(entry.path(), &target)?;
        }
        // Symbolic links and special files are not copied.
    }
    Ok(())
}

/// Removes the run directories of graders that were killed before they could (as root their
/// contents were on a tmpfs that went with them: what is left is an empty directory).
/// Only empty ones, of graders whose pid is gone: `harness-run-<pid>-…`.
fn sweep_stale_workdirs(tmp: &Path) {
    for dir in cleanup::left_by_dead_graders(tmp, "harness-run-") {
        let _ = fs::remove_dir(dir);
    }
}

/// Copies the submission and builds the command that runs its entry.
pub fn prepare(
    given: &Path,
    entry: &Entry,
    python: Option<&str>,
) -> Result<Prepared, SubmissionError> {
    let io_err = |e: io::Error| SubmissionError::Io(e.to_string());
    sweep_stale_workdirs(&std::env::temp_dir());
    let workdir = tempfile::Builder::new()
        .prefix(&format!("harness-run-{}-", std::process::id()))
        .tempdir()
        .map_err(io_err)?;
    // Room for the copy; the sandbox sets the final size (the copy plus the disk limit).
    let workdir_mount = isolation::private_tmpfs(workdir.path(), 2 * MAX_COPY_BYTES);
    let code = workdir.path().join("submission");
    let home = workdir.path().join("home");
    fs::create_dir(&code).map_err(io_err)?;
    fs::create_dir(&home).map_err(io_err)?;
    fs::create_dir(workdir.path().join("tmp")).map_err(io_err)?;
    let mut budget = MAX_COPY_BYTES;
    if given.is_dir() {
        copy_tree(given, &code, &mut budget).map_err(io_err)?;
    } else {
        let name = entry.path.file_name().unwrap_or(OsStr::new("program"));
        fs::copy(&entry.path, code.join(name)).map_err(io_err)?;
    }
    let rel = entry.path.strip_prefix(given).unwrap_or(&entry.path);
    let rel: PathBuf = if given.is_dir() {
        rel.to_path_buf()
    } else {
        PathBuf::from(entry.path.file_name().unwrap_or(OsStr::new("program")))
    };
    let env = vec![
        (
            "PATH".to_string(),
            "/usr/local/bin:/usr/bin:/bin".to_string(),
        ),
        ("HOME".to_string(), home.display().to_string()),
        ("LANG".to_string(), "C.UTF-8".to_string()),
        ("LC_ALL".to_string(), "C.UTF-8".to_string()),
        ("TERM".to_string(), "xterm".to_string()),
        ("PYTHONDONTWRITEBYTECODE".to_string(), "1".to_string()),
    ];
    let mut reach = Vec::new();
    let (launch, interpreter, command) = match entry.kind {
        EntryKind::Python => {
            let (interp, prefixes) = resolve_python_prefixes(python.unwrap_or("python3"))?;
            reach = prefixes;
            let launch = Launch::new(Path::new(&interp.path), [rel.as_os_str()], &env, &code)
                .map_err(io_err)?;
            let command = format!("{} {}", interp.path, rel.display());
            (launch, Some(interp), command)
        }
        EntryKind::Executable => {
            let program = code.join(&rel);
            let launch = Launch::new(&program, std::iter::empty(), &env, &code).map_err(io_err)?;
            (launch, None, format!("./{}", rel.display()))
        }
    };
    Ok(Prepared {
        info: SubmissionInfo {
            path: given.display().to_string(),
            folder: None,
            entry: rel.display().to_string(),
            command,
        },
        language: if interpreter.is_some() {
            Language::Python
        } else {
            Language::Other
        },
        interpreter,
        launch,
        reach,
        workdir_mount,
        workdir,
    })
}
