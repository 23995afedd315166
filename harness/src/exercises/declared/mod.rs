//! Exercises an instructor declares in one TOML file, read at run time: the programs, the
//! roles (places in the process tree, or what a process prints), and the checks as short
//! scenarios (keys, text, signals, waits) with expectations (lines and who prints them,
//! exits, the tree, no busy loop) and hints. They go through the one seam
//! ([`Registered`]) and run on the engine the built-in exercises use (`supervise`:
//! terminal, readiness, attribution by `wchar`, exits, sandbox); nothing here is a second
//! engine. `docs/declaring-an-exercise.md` is the instructor's guide.

mod judge;
mod run;
pub mod spec;

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use crate::config::{invalid, ConfigError};
use crate::grading::evidence::verdict;
use crate::grading::{build, Check, CheckDoc, Graded, Job, Loaded, Program, Registered};
use crate::report::{CheckOutcome, Status};
use crate::supervise::isolation::Sandbox;
use crate::supervise::limits::RunLimits;
use crate::supervise::spawn::Launch;
use crate::tr;
use spec::Compiled;

/// The name of a declared exercise's file in its folder.
pub const FILE_NAME: &str = "exercise.toml";

/// A declared exercise, compiled, with its declarations made `'static` (read once per
/// process, kept for its life, as the compiled-in exercises are).
pub struct Declared {
    spec: Arc<Compiled>,
    name: &'static str,
    shipped: &'static str,
    docs: Vec<CheckDoc>,
    /// Where it was read from, for messages.
    pub path: PathBuf,
}

fn leak(s: &str) -> &'static str {
    Box::leak(s.to_string().into_boxed_str())
}

fn leak_all(v: &[String]) -> &'static [&'static str] {
    Box::leak(
        v.iter()
            .map(|s| leak(s))
            .collect::<Vec<_>>()
            .into_boxed_slice(),
    )
}

impl Declared {
    /// Reads and checks a declared exercise file.
    pub fn read(path: &Path) -> Result<Declared, ConfigError> {
        let text = crate::config::read_file(path)?;
        let source = path.display().to_string();
        let spec = spec::compile(&text, &source)?;
        Ok(Declared::new(spec, path.to_path_buf()))
    }

    fn new(spec: Compiled, path: PathBuf) -> Declared {
        let docs = spec
            .docs
            .iter()
            .map(|d| CheckDoc {
                id: leak(&d.id),
                title: leak(&d.title),
                what: leak(&d.what),
                why: leak_all(&d.why),
                fix: leak(&d.fix),
                needs: leak_all(&d.needs),
                unmet: leak(&d.unmet),
            })
            .collect();
        Declared {
            name: leak(&spec.name),
            shipped: leak(&shipped_toml(&spec)),
            spec: Arc::new(spec),
            docs,
            path,
        }
    }
}

/// The config every exercise has, made from the declaration: `[exercise]`, and `[checks]`
/// with the points written beside each check (so `--config` lays points and visibility
/// over it as over any exercise's).
fn shipped_toml(spec: &Compiled) -> String {
    let mut t = toml::Table::new();
    let mut ex = toml::Table::new();
    ex.insert("name".into(), spec.name.clone().into());
    ex.insert("title".into(), spec.title.clone().into());
    t.insert("exercise".into(), ex.into());
    let mut checks = toml::Table::new();
    checks.insert(crate::report::BUILD_CHECK.into(), 0.into());
    for d in &spec.docs {
        checks.insert(d.id.clone(), i64::from(d.points).into());
    }
    t.insert("checks".into(), checks.into());
    toml::to_string(&t).unwrap_or_default()
}

impl Registered for Declared {
    fn name(&self) -> &'static str {
        self.name
    }

    fn shipped(&self) -> &'static str {
        self.shipped
    }

    fn checks(&self) -> Vec<CheckDoc> {
        std::iter::once(build::DOC)
            .chain(self.docs.iter().copied())
            .collect()
    }

    fn shipped_programs(&self) -> Vec<Program> {
        vec![Program::new(&self.spec.python, &self.spec.binary)]
    }

    fn load(&self, merged: &str, source: &str) -> Result<Loaded, ConfigError> {
        let (scoring, own) = crate::config::split(merged, source)?;
        let ids: Vec<&str> = self.checks().iter().map(|c| c.id).collect();
        scoring.validate(&ids, source)?;
        if let Some(key) = own.lines().find(|l| !l.trim().is_empty()) {
            return Err(invalid(
                source,
                key.trim(),
                tr!("a declared exercise's settings are in its file"),
            ));
        }
        let (spec, docs) = (self.spec.clone(), self.docs.clone());
        Ok(Loaded::new(
            scoring,
            self.shipped_programs(),
            self.docs.clone(),
            Box::new(move |job| grade(&spec, &docs, job)),
        ))
    }
}

/// The exercises declared in files this process has read (`--exercise-file`).
static DECLARED: RwLock<Vec<&'static Declared>> = RwLock::new(Vec::new());

/// Reads declared exercises from `path`: a file, or a folder holding `exercise.toml` or
/// folders that do (`exercises/`). Each is registered once; a name that is already an
/// exercise's is refused.
pub fn register(path: &Path) -> Result<Vec<&'static str>, String> {
    let files = files_in(path)?;
    let mut names = Vec::new();
    for f in files {
        let d = Declared::read(&f).map_err(|e| e.to_string())?;
        let mut list = DECLARED.write().unwrap_or_else(|e| e.into_inner());
        if list.iter().any(|x| x.path == d.path) {
            continue;
        }
        if super::compiled_in().iter().any(|e| e.name() == d.name)
            || list.iter().any(|x| x.name == d.name)
        {
            return Err(tr!(
                "{file}: an exercise named `{name}` is already known",
                file = f.display(),
                name = d.name
            ));
        }
        let d: &'static Declared = Box::leak(Box::new(d));
        names.push(d.name);
        list.push(d);
    }
    Ok(names)
}

/// The declared exercise files under `path`.
fn files_in(path: &Path) -> Result<Vec<PathBuf>, String> {
    if path.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    let own = path.join(FILE_NAME);
    if own.is_file() {
        return Ok(vec![own]);
    }
    let Ok(dir) = std::fs::read_dir(path) else {
        return Err(tr!("{path}: no such file or folder", path = path.display()));
    };
    let mut out: Vec<PathBuf> = dir
        .filter_map(|e| e.ok())
        .map(|e| e.path().join(FILE_NAME))
        .filter(|f| f.is_file() && is_declared(f))
        .collect();
    out.sort();
    if out.is_empty() {
        return Err(tr!(
            "{path}: holds no declared exercise ({file} with [[check]])",
            path = path.display(),
            file = FILE_NAME
        ));
    }
    Ok(out)
}

/// Whether an `exercise.toml` declares an exercise (a compiled-in one's does not).
fn is_declared(f: &Path) -> bool {
    std::fs::read_to_string(f).is_ok_and(|t| t.contains("[[check]]"))
}

/// The declared exercises read so far.
pub fn registered() -> Vec<&'static dyn Registered> {
    DECLARED
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .map(|d| *d as &'static dyn Registered)
        .collect()
}

/// What the checks share: the launch, and the language hints are worded for.
struct State<'a> {
    spec: &'a Compiled,
    launch: Launch,
    lang: crate::submission::Language,
    stable: bool,
    current: usize,
    runs: u32,
    /// The checks judged so far that failed (for `consequence_of`).
    failed: Vec<String>,
    /// The shared run the last check passed on, by its name, for the next check of it.
    kept: Option<(String, run::Run<'a>)>,
}

fn judge_current(st: &mut State) -> CheckOutcome {
    let spec = st.spec;
    let sc = &spec.scenarios[st.current];
    let kept = match st.kept.take() {
        Some((name, run)) if sc.run.as_ref() == Some(&name) => Some(run),
        Some((_, run)) => {
            run.finish();
            None
        }
        None => None,
    };
    let mut run = match kept {
        Some(run) => run,
        None => {
            st.runs += 1;
            match run::Run::start(spec, &st.launch) {
                Ok(r) => r,
                Err(e) => {
                    return verdict(
                        Status::Error,
                        tr!("could not start the program: {e}", e = e),
                    )
                }
            }
        }
    };
    run.play(&sc.steps);
    let o = judge::outcome(sc, &run, spec.timing.busy_share, st.lang, st.stable);
    match &sc.run {
        Some(name) if o.status == Status::Passed => st.kept = Some((name.clone(), run)),
        _ => run.finish(),
    }
    if o.status == Status::Failed {
        st.failed.push(st.spec.docs[st.current].id.clone());
        if let Some(by) = sc.consequence_of.iter().find(|c| st.failed.contains(c)) {
            return consequence(by, o);
        }
    }
    o
}

/// A failure that repeats the fault of the failed check `by`: reported because of it, with
/// what was seen kept, and costing no points of its own.
fn consequence(by: &str, o: CheckOutcome) -> CheckOutcome {
    let mut c = CheckOutcome::consequence(by, tr!("because of {by}: {f}", by = by, f = o.message));
    c.details = o.details;
    c.seen = o.seen;
    c.actions = o.actions;
    c.processes = o.processes;
    c.transcript = o.transcript;
    c
}

fn grade(spec: &Compiled, docs: &[CheckDoc], job: &mut Job) -> Result<Graded, String> {
    let prepared = match job.found.first_mut().and_then(Option::take) {
        Some(found) => found?,
        None => return Err(tr!("no {name} program", name = spec.name)),
    };
    let limits = RunLimits {
        wall: std::time::Duration::from_secs(spec.timing.wall_seconds),
        ..RunLimits::default()
    };
    let sandbox = Arc::new(Sandbox::new(&limits, &prepared.layout()));
    let mut launch = prepared.launch.clone().confined(sandbox.clone());
    for a in &spec.args {
        let arg = std::ffi::CString::new(a.as_bytes())
            .map_err(|_| tr!("NUL in an argument").to_string())?;
        launch.argv.push(arg);
    }
    job.checks
        .set_deadline(sandbox.deadline(), spec.timing.wall_seconds);
    let mut st = State {
        spec,
        launch,
        lang: prepared.language,
        stable: job.stable,
        current: 0,
        runs: 0,
        failed: Vec::new(),
        kept: None,
    };
    for (i, doc) in docs.iter().copied().enumerate() {
        st.current = i;
        job.checks.run(
            &[Check {
                doc,
                judge: judge_current,
            }],
            &mut st,
        );
    }
    if let Some((_, run)) = st.kept.take() {
        run.finish();
    }
    let mut isolation = sandbox.describe();
    isolation.extend(
        sandbox
            .missing()
            .iter()
            .map(|m| tr!("not available: {m}", m = m)),
    );
    let mut command = prepared.info.command.clone();
    for a in &spec.args {
        command.push(' ');
        command.push_str(a);
    }
    Ok(Graded {
        entry: prepared.info.entry.clone(),
        command,
        interpreter: prepared.interpreter.clone(),
        runs: st.runs,
        isolation,
        containment: Default::default(),
        workdirs: vec![prepared.workdir.path().display().to_string()],
    })
}

#[cfg(test)]
mod tests;
