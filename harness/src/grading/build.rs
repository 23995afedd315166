//! Submissions of sources: a C file (`bus.c`), a Makefile or a Cargo project is built in a
//! private copy, inside the sandbox and within `[build]`'s limits, before it is graded; the
//! built program is then graded like any executable. The generic `build` check shows the
//! compiler's messages; when the build fails every other check is skipped for it. A
//! submission without sources has no `build` check at all.
//!
//! Which wins when a submission holds several things: the Python entry (`bus.py`) first (a
//! stray Makefile does not turn a Python submission into a build); then the sources, over an
//! executable handed in beside them (it may be stale, or built for another machine: it is
//! rebuilt, and the check says so).

use crate::i18n::verbatim;
use crate::tr;
use std::ffi::OsStr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::evidence::verdict;
use super::{CheckDoc, Found, Program};
use crate::config::build::BuildSettings;
use crate::report::{CheckOutcome, Status, TranscriptPiece, TranscriptView};
use crate::submission::{self, Entry, EntryKind, Language, Prepared};
use crate::supervise::command::{self, Finished};
use crate::supervise::isolation::{Layout, Sandbox};
use crate::supervise::limits::RunLimits;
use crate::supervise::spawn::Launch;
use crate::text::escape;

/// The check's id.
pub const ID: &str = crate::report::BUILD_CHECK;

/// Why every other check is skipped when the build failed.
pub const NOT_BUILT: &str = "skipped: the program did not build, see `build`";

/// The `build` check, declared once for every exercise (`harness list`, `harness explain`).
pub const DOC: CheckDoc = CheckDoc::new(
    ID,
    "the sources build without errors",
    "Only for a submission of sources (a C file such as bus.c, a Makefile, a Cargo.toml): \
     builds it in a private copy, in the sandbox, with [build]'s command and limits (by default \
     `make` when there is a Makefile, `cargo build --release --offline` for Cargo, else \
     `cc -std=gnu11 -O2 -Wall -o bus bus.c`), and shows the compiler's messages. Warnings are \
     shown and cost nothing; an error fails the build and every other check is skipped. Worth \
     no points by default: the program's checks carry the weight.",
    &[
        "a syntax or type error, a missing #include or declaration",
        "a Makefile that does not make the program under its name (bus, server, client)",
        "a build that needs a library or tool the grading machine lacks",
    ],
    "Build it yourself with the command shown, with -Wall, and fix every error (and the \
     warnings: they often point at the bug).",
)
.unmet(NOT_BUILT);

/// Output of the build kept for the report (all commands together).
const MESSAGES_CAP: usize = 16 << 10;

/// The PATH a build runs with (a Rust toolchain's directory goes before it).
const BUILD_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

/// What a program is built from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A C file, compiled with `[build] c`: its name in the submission.
    C(String),
    Make,
    Cargo,
}

const MAKEFILES: [&str; 3] = ["GNUmakefile", "makefile", "Makefile"];

/// What `program` is built from in the submission at `path`, if it is built at all: never
/// when its Python entry is there. A single file given is a source when it ends in `.c` and
/// is named after the program, or when the exercise has only this one program (`only`).
pub fn source_of(program: &Program, path: &Path, only: bool) -> Option<Source> {
    if !path.is_dir() {
        let name = path.file_name()?.to_str()?;
        let stem = name.strip_suffix(".c")?;
        return (only || stem == program.binary).then(|| Source::C(name.to_string()));
    }
    if path.join(&program.python).is_file() {
        return None;
    }
    if MAKEFILES.iter().any(|m| path.join(m).is_file()) {
        return Some(Source::Make);
    }
    if path.join("Cargo.toml").is_file() {
        return Some(Source::Cargo);
    }
    let c = format!("{}.c", program.binary);
    path.join(&c).is_file().then_some(Source::C(c))
}

/// What the build gave.
pub struct Built {
    /// The `build` check.
    pub outcome: CheckOutcome,
    /// Per program, in order: the built program ready to run, or `None` (not built, or a
    /// Makefile that did not make it).
    pub programs: Vec<Option<Found>>,
    /// The build failed (or could not be run): every other check is skipped.
    pub failed: bool,
    /// What was built from and with what, for a report of a build that failed.
    pub entry: String,
    pub command: String,
    pub isolation: Vec<String>,
    /// The private copy built in (redacted in `--stable` reports).
    pub workdir: String,
}

/// Shell-quotes `s` when it holds anything but plain file-name characters.
fn quote(s: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "._-+/".contains(c);
    if !s.is_empty() && s.chars().all(plain) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// The commands that build `sources`: one `make` or `cargo`, or the C command per program.
/// Each is run with `sh -c`, and shown as it is.
fn steps(programs: &[Program], sources: &[Option<Source>], s: &BuildSettings) -> Vec<String> {
    if sources.contains(&Some(Source::Make)) {
        return vec![s.make.clone()];
    }
    if sources.contains(&Some(Source::Cargo)) {
        return vec![s.cargo.clone()];
    }
    programs
        .iter()
        .zip(sources)
        .filter_map(|(p, src)| match src {
            Some(Source::C(file)) => Some(
                s.c.replace("{source}", &quote(file))
                    .replace("{binary}", &quote(&p.binary)),
            ),
            _ => None,
        })
        .collect()
}

/// The program a command starts (its first word after any `VAR=value`), when it is one to
/// look for: a shell keyword or builtin is not.
fn tool_of(command: &str) -> Option<&str> {
    const SHELL: &[&str] = &[
        "cd", "exec", "set", "export", "if", "for", "while", "test", "[", "true", "false", ":",
        ".", "eval", "command", "{", "(",
    ];
    let word = command
        .split_whitespace()
        .find(|w| !w.contains('=') || w.starts_with('='))?;
    (!SHELL.contains(&word)).then_some(word)
}

/// Whether `tool` can be run with `path` as PATH.
fn installed(tool: &str, path: &str) -> bool {
    let runnable = |p: &Path| {
        p.metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if tool.contains('/') {
        return runnable(Path::new(tool));
    }
    path.split(':').any(|d| runnable(&Path::new(d).join(tool)))
}

/// The sysroot of the grader's Rust toolchain (`rustc --print sysroot`), so that a Cargo
/// build finds the real `cargo` and `rustc` (not rustup's proxies, which need the grader's
/// home) and the sandbox can reach them.
fn rust_sysroot() -> Option<PathBuf> {
    let mut env = vec![];
    for k in [
        "PATH",
        "HOME",
        "RUSTUP_HOME",
        "RUSTUP_TOOLCHAIN",
        "CARGO_HOME",
    ] {
        if let Ok(v) = std::env::var(k) {
            env.push((k.to_string(), v));
        }
    }
    // From `/`: a rust-toolchain file of the student's must not choose the toolchain.
    let launch = Launch::new(
        Path::new("rustc"),
        [OsStr::new("--print"), OsStr::new("sysroot")],
        &env,
        Path::new("/"),
    )
    .ok()?;
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let f = command::run_to_end(&launch, deadline, 4096).ok()?;
    let text = String::from_utf8(f.output).ok()?;
    let dir = PathBuf::from(text.trim());
    (f.status?.success() && dir.is_absolute() && dir.is_dir()).then_some(dir)
}

/// The built program `binary` in the copy `code`: where the build tool leaves it.
fn built_program(code: &Path, binary: &str, cargo: bool, only: bool) -> Option<PathBuf> {
    let is_program = |p: &Path| {
        p.metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    let release = code.join("target/release");
    let mut candidates = vec![code.join(binary)];
    if cargo {
        candidates.insert(0, release.join(binary));
    }
    if let Some(p) = candidates.into_iter().find(|p| is_program(p)) {
        return Some(p);
    }
    if !(cargo && only) {
        return None;
    }
    // A crate named otherwise (`hw1`): its one program.
    let mut made: Vec<PathBuf> = std::fs::read_dir(&release)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| is_program(p))
        .collect();
    (made.len() == 1).then(|| made.remove(0))
}

/// Lines that are diagnostics of `kind` (`warning`, `error`), as gcc, clang and rustc
/// print them (not cargo's summaries).
fn count(messages: &str, kind: &str) -> usize {
    let tagged = format!(": {kind}:");
    let opening = format!("{kind}:");
    let coded = format!("{kind}[");
    messages
        .lines()
        .filter(|l| {
            let l = l.trim_start();
            (l.contains(&tagged) || l.starts_with(&opening) || l.starts_with(&coded))
                && !l.contains("generated")
                && !l.starts_with(verbatim("error: could not compile"))
        })
        .count()
}

/// How a command that did not succeed ended, in words.
fn ended(shown: &str, f: &Finished, s: &BuildSettings) -> String {
    use std::os::unix::process::ExitStatusExt;
    let Some(status) = f.status else {
        return tr!(
            "the build did not finish within {secs} s ([build] deadline_seconds)",
            secs = s.deadline_seconds
        );
    };
    match (status.code(), status.signal()) {
        (Some(127), _) => {
            tr!(
                "`{shown}` exited with status 127: a program it runs was not found",
                shown = shown
            )
        }
        (Some(c), _) => tr!("`{shown}` exited with status {c}", shown = shown, c = c),
        (_, Some(sig)) => {
            let name = nix::sys::signal::Signal::try_from(sig)
                .map(|s| s.as_str())
                .unwrap_or(tr!("a signal"));
            let why = match sig {
                libc::SIGXCPU | libc::SIGKILL => tr!(
                    " (the limit is {secs} s of CPU per process, [build] cpu_seconds)",
                    secs = s.cpu_seconds
                ),
                _ => String::new(),
            };
            tr!(
                "`{shown}` was killed by {name}{why}",
                shown = shown,
                name = name,
                why = why
            )
        }
        _ => tr!("`{shown}` ended", shown = shown),
    }
}

/// The limits of a build: the config's CPU, memory and deadline; room for a compiler's
/// processes, temporary files and a Cargo target directory.
fn limits(s: &BuildSettings) -> RunLimits {
    RunLimits {
        cpu_seconds: s.cpu_seconds,
        memory_bytes: s.memory_mb << 20,
        processes: 128,
        file_bytes: 64 << 20,
        open_files: 1024,
        disk_bytes: 256 << 20,
        output_bytes: MESSAGES_CAP as u64,
        wall: Duration::from_secs(s.deadline_seconds),
    }
}

/// Builds the programs of `path` that have `sources` (same order as `programs`), in a
/// private copy and a sandbox, and prepares each built program to be run.
pub fn build(
    path: &Path,
    programs: &[Program],
    sources: &[Option<Source>],
    settings: &BuildSettings,
) -> Built {
    let steps = steps(programs, sources, settings);
    let cargo = sources.contains(&Some(Source::Cargo));
    let entry: Vec<String> = sources
        .iter()
        .flatten()
        .map(|s| match s {
            Source::C(file) => file.clone(),
            Source::Make => "Makefile".into(),
            Source::Cargo => "Cargo.toml".into(),
        })
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut built = Built {
        outcome: verdict(Status::Passed, ""),
        programs: programs.iter().map(|_| None).collect(),
        failed: true,
        entry: entry.join(", "),
        command: steps.join("; "),
        isolation: Vec::new(),
        workdir: String::new(),
    };
    let sysroot = if cargo { rust_sysroot() } else { None };
    let search = match &sysroot {
        Some(root) => format!("{}:{BUILD_PATH}", root.join("bin").display()),
        None => BUILD_PATH.to_string(),
    };
    if let Some(tool) = steps
        .iter()
        .filter_map(|s| tool_of(s))
        .find(|t| !installed(t, &search))
    {
        let mut o = verdict(
            Status::Error,
            tr!(
                "cannot build: `{tool}` is not installed here (looked on {search})",
                tool = tool,
                search = search
            ),
        );
        let key = if cargo {
            "cargo"
        } else if sources.contains(&Some(Source::Make)) {
            "make"
        } else {
            "c"
        };
        o.hint = Some(tr!(
            "install it on the grading machine, or name a build command that is in the \
             config's [build] table ({key} for this submission)",
            key = key
        ));
        built.outcome = o;
        return built;
    }

    let first = sources.iter().flatten().find_map(|s| match s {
        Source::C(f) if path.is_dir() => Some(path.join(f)),
        _ => None,
    });
    let copy_entry = Entry {
        path: first.unwrap_or_else(|| path.to_path_buf()),
        kind: EntryKind::Executable,
    };
    let copy = match submission::prepare(path, &copy_entry, None) {
        Ok(c) => c,
        Err(e) => {
            built.outcome = verdict(Status::Error, tr!("could not copy it to build: {e}", e = e));
            return built;
        }
    };
    built.workdir = copy.workdir.path().display().to_string();
    let code = copy.workdir.path().join("submission");
    let home = copy.workdir.path().join("home");
    let env: Vec<(String, String)> = [
        ("PATH", search.clone()),
        ("HOME", home.display().to_string()),
        ("CARGO_HOME", home.join(".cargo").display().to_string()),
        ("CARGO_TERM_COLOR", "never".into()),
        ("LANG", "C.UTF-8".into()),
        ("LC_ALL", "C.UTF-8".into()),
        ("TERM", "dumb".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let layout = Layout {
        workdir: copy.workdir.path().to_path_buf(),
        workdir_is_tmpfs: copy.workdir_mount.is_some(),
        reach: sysroot.into_iter().collect(),
        program: PathBuf::from("/bin/sh"),
        binds: Vec::new(),
    };
    let sandbox = std::sync::Arc::new(Sandbox::new(&limits(settings), &layout));
    built.isolation = sandbox.describe();
    built.isolation.extend(
        sandbox
            .missing()
            .iter()
            .map(|m| tr!("not available: {m}", m = m)),
    );

    let mut view = TranscriptView::default();
    let mut messages = String::new();
    let mut failure = None;
    for step in &steps {
        view.pieces.push(TranscriptPiece::Action(step.clone()));
        let launch = Launch::new(
            Path::new("/bin/sh"),
            [OsStr::new("-c"), OsStr::new(&step)],
            &env,
            &code,
        )
        .map(|l| l.confined(sandbox.clone()));
        let room = MESSAGES_CAP.saturating_sub(messages.len());
        let ran = launch.and_then(|l| command::run_to_end(&l, sandbox.deadline(), room));
        let f = match ran {
            Ok(f) => f,
            Err(e) => {
                failure = Some((
                    Status::Error,
                    tr!("could not start `{step}`: {e}", step = step, e = e),
                ));
                break;
            }
        };
        let text = escape::lossy(&f.output);
        messages.push_str(&text);
        view.dropped_bytes += f.total.saturating_sub(f.output.len() as u64);
        if !text.is_empty() {
            // The messages start on a line of their own, below the command.
            view.pieces
                .push(TranscriptPiece::Output(format!("\n{text}")));
        }
        if !f.status.is_some_and(|s| s.success()) {
            failure = Some((Status::Failed, ended(step, &f, settings)));
            break;
        }
    }
    let (errors, warnings) = (count(&messages, "error"), count(&messages, "warning"));
    let language = if sources.iter().flatten().any(|s| matches!(s, Source::C(_)))
        || (!cargo && has_c_files(&code))
    {
        Language::C
    } else {
        Language::Other
    };
    let mut notes = Vec::new();
    if failure.is_none() {
        let only = programs.len() == 1;
        for (i, (p, src)) in programs.iter().zip(sources).enumerate() {
            if src.is_none() {
                continue;
            }
            match built_program(&code, &p.binary, cargo, only) {
                Some(program) => {
                    if path.is_dir() && path.join(&p.binary).is_file() {
                        notes.push(tr!("the executable `{binary}` handed in beside the sources was not used: it was rebuilt", binary = p.binary));
                    }
                    built.programs[i] = Some(prepare_built(&code, &program, language));
                }
                // A Makefile of a submission holding only some of the programs.
                None if only || matches!(src, Some(Source::C(_))) => {
                    failure = Some((
                        Status::Failed,
                        if cargo {
                            tr!(
                                "the build succeeded but made no program `{binary}` (looked in target/release/)",
                                binary = p.binary
                            )
                        } else {
                            tr!(
                                "the build succeeded but made no program `{binary}`",
                                binary = p.binary
                            )
                        },
                    ));
                    break;
                }
                None => {}
            }
        }
    }
    let mut o = match failure {
        Some((status, why)) => {
            let mut why = tr!("the program did not build: {why}", why = why);
            if errors > 0 {
                why.push_str(&if errors == 1 {
                    tr!(" (1 error)").to_string()
                } else {
                    tr!(" ({n} errors)", n = errors)
                });
            }
            verdict(status, why)
        }
        None => {
            built.failed = false;
            let mut what = tr!("built with `{command}`", command = built.command);
            if warnings > 0 {
                what.push_str(&if warnings == 1 {
                    tr!(", 1 warning (they cost no points)").to_string()
                } else {
                    tr!(", {n} warnings (they cost no points)", n = warnings)
                });
            }
            let mut o = verdict(Status::Passed, what);
            if warnings > 0 {
                o.hint = Some(
                    tr!("read the compiler's warnings: they often point at a real bug").into(),
                );
            }
            o
        }
    };
    o.actions = steps.clone();
    o.details = notes;
    o.transcript = Some(view);
    built.outcome = o;
    built
}

/// Whether the top of `dir` holds a C file (a Makefile builds C, then).
fn has_c_files(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|d| {
        d.filter_map(|e| e.ok())
            .any(|e| e.path().extension() == Some(OsStr::new("c")))
    })
}

/// The built `program` (in the build's copy `code`), copied to a private directory of its
/// own to be run like any executable.
fn prepare_built(code: &Path, program: &Path, language: Language) -> Found {
    let entry = Entry {
        path: program.to_path_buf(),
        kind: EntryKind::Executable,
    };
    let mut p: Prepared = submission::prepare(code, &entry, None).map_err(|e| e.to_string())?;
    p.language = language;
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bus() -> Program {
        Program::new("bus.py", "bus")
    }

    #[test]
    fn python_wins_then_make_then_cargo_then_the_c_file() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path();
        assert_eq!(source_of(&bus(), p, true), None);
        std::fs::write(p.join("bus.c"), "").unwrap();
        assert_eq!(source_of(&bus(), p, true), Some(Source::C("bus.c".into())));
        std::fs::write(p.join("Cargo.toml"), "").unwrap();
        assert_eq!(source_of(&bus(), p, true), Some(Source::Cargo));
        std::fs::write(p.join("Makefile"), "").unwrap();
        assert_eq!(source_of(&bus(), p, true), Some(Source::Make));
        std::fs::write(p.join("bus.py"), "").unwrap();
        assert_eq!(source_of(&bus(), p, true), None);
        // A single file: by its name, or any C file when the exercise has one program.
        let server = Program::new("server.py", "server");
        assert_eq!(source_of(&server, &p.join("bus.c"), false), None);
        assert_eq!(
            source_of(&bus(), &p.join("mine.c"), true),
            Some(Source::C("mine.c".into()))
        );
    }

    #[test]
    fn the_c_command_is_made_per_program_with_quoted_names() {
        let s = BuildSettings::default();
        let programs = [Program::new("server.py", "server"), bus()];
        let sources = [Some(Source::C("my server.c".into())), None];
        assert_eq!(
            steps(&programs, &sources, &s),
            ["cc -std=gnu11 -O2 -Wall -o server 'my server.c'"]
        );
        let sources = [Some(Source::Make), Some(Source::Make)];
        assert_eq!(steps(&programs, &sources, &s).len(), 1);
    }

    #[test]
    fn the_tool_is_the_first_word_that_is_not_an_assignment_or_a_builtin() {
        assert_eq!(tool_of("CC=gcc make -j2"), Some("make"));
        assert_eq!(tool_of("cd src && make"), None);
        assert_eq!(tool_of("  /usr/bin/cc -o bus bus.c"), Some("/usr/bin/cc"));
        assert!(installed("sh", BUILD_PATH));
        assert!(!installed("no-such-compiler-here", BUILD_PATH));
    }

    #[test]
    fn diagnostics_are_counted_as_compilers_print_them() {
        let gcc = "bus.c: In function 'main':\nbus.c:3:5: warning: unused variable 'x' [-Wunused-variable]\nbus.c:4:1: error: expected ';' before '}' token\n";
        assert_eq!((count(gcc, "error"), count(gcc, "warning")), (1, 1));
        let rustc = "warning: unused variable: `x`\nerror[E0425]: cannot find value `y`\nwarning: `bus` (bin \"bus\") generated 1 warning\nerror: could not compile `bus`\n";
        assert_eq!((count(rustc, "error"), count(rustc, "warning")), (1, 1));
    }

    /// A build whose command names a program that is not installed is an `error` verdict
    /// that says which, and nothing is run.
    #[test]
    fn a_missing_compiler_is_said_so() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("bus.c"), "int main(void) { return 0; }\n").unwrap();
        let settings = BuildSettings {
            c: "no-such-cc -o {binary} {source}".into(),
            ..BuildSettings::default()
        };
        let sources = [source_of(&bus(), d.path(), true)];
        let b = build(d.path(), &[bus()], &sources, &settings);
        assert!(b.failed && b.programs[0].is_none());
        assert_eq!(b.outcome.status, Status::Error);
        assert!(
            b.outcome.message.contains("`no-such-cc` is not installed"),
            "{}",
            b.outcome.message
        );
    }

    /// The real compiler, in the sandbox: a program that builds is ready to run as C; one
    /// that does not fails with the compiler's message kept.
    #[test]
    fn a_c_file_is_built_or_its_errors_shown() {
        if !installed("cc", BUILD_PATH) {
            eprintln!("skipped: no C compiler");
            return;
        }
        let d = tempfile::tempdir().unwrap();
        let file = d.path().join("bus.c");
        std::fs::write(&file, "int main(void) { int unused; return 0; }\n").unwrap();
        let s = BuildSettings::default();
        let sources = [source_of(&bus(), d.path(), true)];
        let b = build(d.path(), &[bus()], &sources, &s);
        assert_eq!(b.outcome.status, Status::Passed, "{:#?}", b.outcome);
        assert!(
            b.outcome.message.contains("1 warning"),
            "{}",
            b.outcome.message
        );
        let p = b.programs[0].as_ref().unwrap().as_ref().unwrap();
        assert_eq!((p.language, p.info.entry.as_str()), (Language::C, "bus"));

        std::fs::write(&file, "int main(void) { return 0 }\n").unwrap();
        let b = build(d.path(), &[bus()], &sources, &s);
        assert!(b.failed);
        assert_eq!(b.outcome.status, Status::Failed);
        assert!(
            b.outcome.message.contains("exited with status 1 (1 error)"),
            "{}",
            b.outcome.message
        );
        let said: String = b
            .outcome
            .transcript
            .unwrap()
            .pieces
            .iter()
            .map(|p| match p {
                TranscriptPiece::Output(s) | TranscriptPiece::Action(s) => s.clone(),
            })
            .collect();
        assert!(said.contains("error: expected"), "{said}");
    }
}
