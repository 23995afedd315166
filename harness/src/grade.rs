//! From a path to reports: which exercises a submission is, and grading it as each. The
//! binary, the batch runner and the benchmark all come through here; the exercises come
//! from the registry, none is named here.

use crate::tr;
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
        .ok_or_else(|| {
            tr!(
                "unknown exercise `{name}` (known: {names})",
                name = name,
                names = names().join(", ")
            )
        })
}

/// The names of the registered exercises.
pub fn names() -> Vec<&'static str> {
    crate::exercises::all().iter().map(|e| e.name()).collect()
}

/// Reads an instructor's config file once and checks it against every exercise it sets,
/// before anything is graded. A file of one exercise's tables belongs to the exercise its
/// `[exercise] name` names, else to the one exercise whose config it fits (`[server]` is
/// the file server's); one that fits several (`[checks] cleanup = 5`) is refused rather
/// than given to a guess. An error names the key at its line and column in the file.
pub fn read_config(path: &Path) -> Result<ConfigFile, String> {
    let mut file = ConfigFile::read(path, &names()).map_err(|e| e.to_string())?;
    if file.unowned.is_some() {
        let owner = match file.named.clone() {
            Some(name) => Some(exercise(&name)?),
            None => owner_of(&file)?,
        };
        if let Some(owner) = owner {
            file.give(owner.name());
        }
    }
    for name in file.exercises().collect::<Vec<_>>() {
        driver::load_config(exercise(name)?, Some(&file)).map_err(|e| e.to_string())?;
    }
    Ok(file)
}

/// The only exercise a one-exercise file fits; when it fits none, the error of the one
/// whose settings it names most; when it fits several (`[checks] cleanup = 5`), `None`: the
/// grading gives it to the exercise the submission holds and says so in the report, or
/// refuses it when the submission holds several (see [`give_unowned`]).
fn owner_of(file: &ConfigFile) -> Result<Option<&'static dyn Registered>, String> {
    let mut best: Option<(usize, ConfigError)> = None;
    let mut fits = Vec::new();
    for ex in crate::exercises::all() {
        let mut mine = file.clone();
        mine.give(ex.name());
        match driver::load_config(ex, Some(&mine)) {
            Ok(_) => fits.push(ex),
            Err(e) => {
                let fit = file.fit(ex.shipped());
                if best.as_ref().is_none_or(|(b, _)| fit > *b) {
                    best = Some((fit, e));
                }
            }
        }
    }
    match fits.as_slice() {
        [one] => Ok(Some(*one)),
        [] => Err(best
            .map(|b| b.1)
            .unwrap_or_else(|| ConfigError {
                source_name: file.name.clone(),
                key: None,
                at: None,
                message: tr!("no exercise is registered").into(),
            })
            .to_string()),
        _ => Ok(None),
    }
}

/// Gives a top-level file that fits several exercises to the one `exercises` holds, with a
/// note saying so; refuses it when the submission holds several (it cannot say whose).
fn give_unowned(
    file: &mut ConfigFile,
    exercises: &[&'static dyn Registered],
) -> Result<Option<String>, String> {
    if file.unowned.is_none() {
        return Ok(None);
    }
    match exercises {
        [one] => {
            file.give(one.name());
            Ok(Some(tr!(
                "{file} has its settings at the top, which fit several exercises: they were \
                 applied to {one}, the exercise this submission holds (name it with \
                 `[exercise] name = \"{one}\"` to say so)",
                file = file.name,
                one = one.name()
            )))
        }
        several => {
            let names: Vec<&str> = several.iter().map(|e| e.name()).collect();
            Err(tr!(
                "invalid config {file}: its settings are at the top and fit several exercises, \
                 and this submission holds {names}: say whose, under the exercise's name \
                 (`[{first}.checks]`) or with `[exercise] name = \"{first}\"`",
                file = file.name,
                names = names.join(" and "),
                first = names.first().copied().unwrap_or_default()
            ))
        }
    }
}

/// The exercises whose programs are present: a directory may hold several (a student's
/// whole homework); a single file is judged by its name.
pub fn detect(path: &Path, ignore_case: bool) -> Vec<&'static dyn Registered> {
    detect_shadowing(path, ignore_case).0
}

/// [`detect`], with the built-ins left out because a declared exercise stands in for them
/// (see [`shadowed`]): (built-in, declared).
fn detect_shadowing(
    path: &Path,
    ignore_case: bool,
) -> (
    Vec<&'static dyn Registered>,
    Vec<(&'static str, &'static str)>,
) {
    let found = claiming(path, ignore_case);
    let shadowed = shadowed(&found);
    let kept = found
        .into_iter()
        .filter(|e| !shadowed.iter().any(|(s, _)| *s == e.name()))
        .collect();
    (kept, shadowed)
}

/// Built-in exercises found beside a declared one that runs the very same programs (a
/// course's own variant of a shipped exercise), with the declared one's name: a file the
/// instructor named stands in for the built-in, so that the submission is graded once.
pub fn shadowed(found: &[&'static dyn Registered]) -> Vec<(&'static str, &'static str)> {
    let (builtins, declared): (Vec<_>, Vec<_>) = found
        .iter()
        .map(|e| (*e, e.shipped_programs()))
        .partition(|(e, _)| {
            crate::exercises::compiled_in()
                .iter()
                .any(|c| c.name() == e.name())
        });
    builtins
        .iter()
        .filter_map(|(b, programs)| {
            let (d, _) = declared.iter().find(|(_, p)| p == programs)?;
            Some((b.name(), d.name()))
        })
        .collect()
}

/// Every exercise whose programs `path` holds, a shadowed built-in included.
pub fn claiming(path: &Path, ignore_case: bool) -> Vec<&'static dyn Registered> {
    crate::exercises::all()
        .into_iter()
        .filter(|e| {
            e.shipped_programs()
                .iter()
                .any(|p| p.is_in(path, ignore_case))
        })
        .collect()
}

/// What a path given to `grade` is: one submission (where its programs are), or a roster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shape {
    /// One submission, its programs in `dir`: the path itself, or the folder inside it that
    /// holds them (a repository's `src/`, a zip's `hw3/` beside `__MACOSX/`), which `notes`
    /// then name.
    Submission { dir: PathBuf, notes: Vec<String> },
    /// A class: two or more of the path's folders hold a submission; every folder is a
    /// student (one holding nothing gets a row saying so).
    Roster(Vec<PathBuf>),
}

/// Decides what `path` is from what its folders hold (the registered programs' names), not
/// from how many folders there are:
///
/// - a file, or a folder holding an exercise's program at its top: one submission;
/// - else, among its folders (hidden ones and a Mac zip's `__MACOSX` are not looked at),
///   those holding a submission (a program at their top, or in a single folder of theirs
///   that holds one): two or more make a roster; exactly one is the submission, found
///   there (`docs/` beside `src/` is just another folder of a student's repository);
/// - none: the path itself, which then has no program (the error says what it holds).
///
/// A roster of which only one student handed in a program is graded as that submission,
/// with a note naming the folder.
pub fn shape(path: &Path, ignore_case: bool) -> Shape {
    let here = |dir: &Path| Shape::Submission {
        dir: dir.to_path_buf(),
        notes: Vec::new(),
    };
    if !path.is_dir() || !detect(path, ignore_case).is_empty() {
        return here(path);
    }
    let folders = submission::subfolders(path);
    let holding: Vec<(&PathBuf, PathBuf)> = folders
        .iter()
        .filter_map(|f| programs_within(f, ignore_case).map(|at| (f, at)))
        .collect();
    match holding.as_slice() {
        [] => here(path),
        [(_, at)] => {
            let rel = at.strip_prefix(path).unwrap_or(at);
            let name = crate::text::escape::one_line(rel.as_os_str().as_encoded_bytes());
            let note = if folders.len() == 1 && rel.components().count() == 1 {
                tr!(
                    "the programs were found in `{name}/`, the only folder of the submission",
                    name = name
                )
            } else {
                tr!("the programs were found in `{name}/`, the only folder of the submission that holds any", name = name)
            };
            Shape::Submission {
                dir: at.clone(),
                notes: vec![note],
            }
        }
        _ => Shape::Roster(folders),
    }
}

/// Where the programs of a folder are: the folder itself, or the only one of its own
/// folders that holds any (a repository clone: `ivan/hw1/<program>`); `None` when neither.
fn programs_within(folder: &Path, ignore_case: bool) -> Option<PathBuf> {
    if !detect(folder, ignore_case).is_empty() {
        return Some(folder.to_path_buf());
    }
    let mut inner = submission::subfolders(folder)
        .into_iter()
        .filter(|f| !detect(f, ignore_case).is_empty());
    match (inner.next(), inner.next()) {
        (Some(only), None) => Some(only),
        _ => None,
    }
}

/// Where a submission's programs are ([`shape`]), with notes saying so when they are in a
/// folder inside it. A path laid out as a roster is graded as given: it has no program of
/// its own, which the error then says.
pub fn resolve(path: &Path, ignore_case: bool) -> (PathBuf, Vec<String>) {
    match shape(path, ignore_case) {
        Shape::Submission { dir, notes } => (dir, notes),
        Shape::Roster(_) => (path.to_path_buf(), Vec::new()),
    }
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
                tr!("{rest} or {last}", rest = rest.join(", "), last = last)
            }
        })
        .collect();
    let looked = looked.join("; ");
    let holds = submission::listing(path, 12);
    if ignore_case {
        tr!(
            "{path}: no program found (looked for {looked}, also in a single folder inside, in any case); it holds: {holds}",
            path = path.display(),
            looked = looked,
            holds = holds
        )
    } else {
        tr!(
            "{path}: no program found (looked for {looked}, also in a single folder inside); it holds: {holds}",
            path = path.display(),
            looked = looked,
            holds = holds
        )
    }
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
            Some(tr!(
                "`{found}` was graded as `{meant}`: the names differ only in case",
                found = found,
                meant = meant
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
    let given = path;
    let (path, nested) = resolve(given, find.ignore_case);
    // Programs found in a folder inside: the report names the submission as given (the
    // student, in a class) and the folder apart.
    let folder = path
        .strip_prefix(given)
        .ok()
        .filter(|rel| !rel.as_os_str().is_empty())
        .map(|rel| crate::text::escape::lossy(rel.as_os_str().as_encoded_bytes()));
    let mut shadowed = Vec::new();
    let exercises = match &opts.exercise {
        Some(name) => vec![exercise(name)?],
        None => {
            let found;
            (found, shadowed) = detect_shadowing(&path, find.ignore_case);
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
    let mut config = config;
    let given_to = match config.as_mut() {
        Some(c) => give_unowned(c, &exercises)?,
        None => None,
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
        if folder.is_some() {
            report.submission.path = given.display().to_string();
            report.submission.folder = folder.clone();
        }
        let mut notes = nested.clone();
        notes.extend(given_to.clone());
        for (builtin, by) in shadowed.iter().filter(|(_, by)| *by == ex.name()) {
            notes.push(tr!(
                "graded as {by}, the exercise file named, not as the built-in {builtin}: both run the same programs (--exercise {builtin} grades it as that)",
                by = by,
                builtin = builtin
            ));
        }
        // A one-exercise file given to another exercise: said, not silently left out.
        if let Some(owner) = config.as_ref().and_then(|c| c.only_for().map(|o| (c, o))) {
            if owner.1 != ex.name() {
                notes.push(tr!("{file} holds the {owner}'s settings (its tables at the top), not the {ex}'s: this \
                     grading uses the shipped {ex} settings", file = owner.0.name, owner = owner.1, ex = ex.name()));
            }
        }
        notes.extend(case_notes(&path, &loaded));
        notes.append(&mut report.notes);
        report.notes = notes;
        reports.push(report);
    }
    Ok(reports)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A folder under `root` holding `files` (paths relative to it, folders made on the way).
    fn tree(root: &Path, files: &[&str]) -> PathBuf {
        for f in files {
            let p = root.join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, "").unwrap();
        }
        root.to_path_buf()
    }

    fn submission_in(path: &Path) -> PathBuf {
        match shape(path, true) {
            Shape::Submission { dir, .. } => dir,
            Shape::Roster(r) => panic!("{} taken for a roster of {r:?}", path.display()),
        }
    }

    #[test]
    fn a_students_repository_is_one_submission_whatever_its_other_folders() {
        let tmp = tempfile::tempdir().unwrap();
        let t = tmp.path();
        // src/ + docs/ (any repository with two folders), and a .git beside.
        let repo = tree(
            &t.join("repo"),
            &["src/bus.py", "docs/report.md", ".git/HEAD"],
        );
        assert_eq!(submission_in(&repo), repo.join("src"));
        let Shape::Submission { notes, .. } = shape(&repo, true) else {
            unreachable!()
        };
        assert_eq!(
            notes,
            ["the programs were found in `src/`, the only folder of the submission that holds any"]
        );
        // A Mac zip: the folder zipped, __MACOSX with its resource forks, .DS_Store.
        let mac = tree(
            &t.join("mac"),
            &[
                "hw3/bus.py",
                "hw3/.DS_Store",
                "__MACOSX/hw3/._bus.py",
                "__MACOSX/._hw3",
            ],
        );
        assert_eq!(submission_in(&mac), mac.join("hw3"));
        let Shape::Submission { notes, .. } = shape(&mac, true) else {
            unreachable!()
        };
        assert_eq!(
            notes,
            ["the programs were found in `hw3/`, the only folder of the submission"]
        );
        // A single nested folder; a program at the top; a file-server repository.
        let nested = tree(&t.join("nested"), &["hw3/bus.py"]);
        assert_eq!(submission_in(&nested), nested.join("hw3"));
        let top = tree(&t.join("top"), &["bus.py", "docs/a.md", "tests/t.py"]);
        assert_eq!(submission_in(&top), top);
        let fs = tree(
            &t.join("fs"),
            &["code/server.py", "code/client.py", "notes/x"],
        );
        assert_eq!(submission_in(&fs), fs.join("code"));
        // Nothing anywhere: the path itself (its error lists what it holds).
        let none = tree(&t.join("none"), &["a/x.txt", "b/y.txt"]);
        assert_eq!(submission_in(&none), none);
    }

    #[test]
    fn a_top_level_config_is_given_to_the_one_exercise_it_fits_or_refused() {
        let grade_exercise = |n: &str| exercise(n).unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("points.toml");
        std::fs::write(&p, "[checks]\ncleanup = 5\n").unwrap();
        // Fits both: left to the grading, which gives it to the exercise it finds.
        let mut file = read_config(&p).unwrap();
        assert_eq!(file.only_for(), None);
        let both = [grade_exercise("bus"), grade_exercise("fileserver")];
        let err = give_unowned(&mut file.clone(), &both).unwrap_err();
        assert!(err.contains("[bus.checks]"), "{err}");
        let note = give_unowned(&mut file, &both[..1]).unwrap().unwrap();
        assert!(note.contains("applied to bus"), "{note}");
        assert_eq!(file.only_for(), Some("bus"));
        std::fs::write(&p, "[checks]\nctrl-z = 2\n").unwrap();
        assert_eq!(read_config(&p).unwrap().only_for(), Some("bus"));
        std::fs::write(
            &p,
            "[exercise]\nname = \"fileserver\"\n[checks]\ncleanup = 5\n",
        )
        .unwrap();
        assert_eq!(read_config(&p).unwrap().only_for(), Some("fileserver"));
        // A name typed wrong is pointed at.
        std::fs::write(&p, "[buss.checks]\nctrl-z = 2\n").unwrap();
        assert!(read_config(&p).unwrap_err().contains("did you mean `bus`?"));
        std::fs::write(&p, "[bus.checks]\nctrl_z = 2\n").unwrap();
        assert!(read_config(&p)
            .unwrap_err()
            .contains("no such check (did you mean `ctrl-z`?)"));
    }

    #[test]
    fn folders_each_holding_a_submission_are_a_roster() {
        let tmp = tempfile::tempdir().unwrap();
        let class = tree(
            &tmp.path().join("class"),
            &[
                "alice/bus.py",
                "ivan/hw1/bus.py",
                "ivan/README.md",
                "kim/server.py",
                "lou/draft/bus.py",
                "lou/final/bus.py",
                "__MACOSX/alice/._bus.py",
            ],
        );
        std::fs::create_dir_all(class.join("frank")).unwrap();
        let Shape::Roster(students) = shape(&class, true) else {
            panic!("not a roster")
        };
        let names: Vec<_> = students
            .iter()
            .map(|s| s.file_name().unwrap().to_str().unwrap())
            .collect();
        assert_eq!(names, ["alice", "frank", "ivan", "kim", "lou"]);
        // Two attempts of one student: a roster too, so nothing is chosen between them
        // (graded as one submission, the path has no program of its own).
        let lou = class.join("lou");
        assert!(matches!(shape(&lou, true), Shape::Roster(_)));
        assert_eq!(resolve(&lou, true), (lou.clone(), Vec::new()));
    }
}
