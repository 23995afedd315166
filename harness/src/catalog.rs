//! What the grader checks, for instructors: `harness list` (exercises, checks, points) and
//! `harness explain CHECK` (what it does, why a submission fails it, how to fix it).
//!
//! Everything shown comes from the registry: each check's declaration (id, title, the
//! explanation, written beside the code that judges it) and the exercise's config (points).
//! A test keeps the exercises' READMEs in step with the declarations.

use std::fmt::Write as _;
use std::path::Path;

use crate::grading::driver::load_config;
use crate::grading::CheckDoc;
use crate::report::BUILD_CHECK;
use crate::{i18n, tr};

/// One exercise as the catalog shows it.
#[derive(Debug, Clone)]
pub struct ExerciseDoc {
    pub name: &'static str,
    pub title: String,
    /// The declarations, in report order, and the points of each.
    pub checks: Vec<(CheckDoc, u32)>,
    /// How the config changes each check (by id; none for most).
    pub notes: std::collections::BTreeMap<&'static str, Vec<String>>,
    /// The checks the config makes meaningless: worth nothing, not warnings.
    pub waived: Vec<String>,
    /// The checks this config does not run at all (the file server's pair checks while
    /// `[pair] mode` is `off`).
    pub off: Vec<&'static str>,
}

/// The exercises, with the points of `config` (a file of one exercise's settings or of
/// several, read once: see `grade::read_config`); an exercise it does not set keeps its
/// shipped points.
pub fn exercises(config: Option<&Path>) -> Result<Vec<ExerciseDoc>, String> {
    let file = config.map(crate::grade::read_config).transpose()?;
    crate::exercises::all()
        .into_iter()
        .map(|ex| {
            let loaded = load_config(ex, file.as_ref()).map_err(|e| e.to_string())?;
            let checks: Vec<(CheckDoc, u32)> = ex
                .checks()
                .into_iter()
                .map(|d| (d, loaded.scoring.points(d.id)))
                .collect();
            let notes = checks
                .iter()
                .map(|(d, _)| (d.id, loaded.notes(d.id)))
                .filter(|(_, n)| !n.is_empty())
                .collect();
            let off = checks
                .iter()
                .map(|(d, _)| d.id)
                .filter(|id| *id != BUILD_CHECK && !loaded.checks().iter().any(|c| c.id == *id))
                .collect();
            Ok(ExerciseDoc {
                name: ex.name(),
                title: loaded.scoring.exercise.title.clone(),
                checks,
                notes,
                waived: loaded.waived.clone(),
                off,
            })
        })
        .collect()
}

/// `harness list`.
pub fn list(config: Option<&Path>) -> Result<String, String> {
    let mut out = String::new();
    for e in exercises(config)? {
        let total: u32 = e.checks.iter().map(|c| c.1).sum();
        let title = i18n::translated(&e.title).unwrap_or(&e.title);
        let _ = writeln!(
            out,
            "{}",
            tr!(
                "{name}: {title} ({total} points)",
                name = e.name,
                title = title,
                total = total
            )
        );
        let w = e.checks.iter().map(|c| c.0.id.len()).max().unwrap_or(0);
        for (doc, points) in &e.checks {
            let (id, title) = (doc.id, i18n::doc(doc.title));
            let points = if e.off.contains(&doc.id) {
                tr!("off").to_string()
            } else if *points == 0 && doc.id != BUILD_CHECK {
                tr!("warn").to_string()
            } else {
                points.to_string()
            };
            let _ = writeln!(out, "  {id:<w$}  {points:>4}  {title}");
        }
        out.push('\n');
    }
    out.push_str(tr!(
        "warn: a failed check worth no points is a warning; off: this config does not run it.\n\
         `harness explain CHECK` tells what a check does, why it fails and how to fix it.\n"
    ));
    Ok(out)
}

/// A check `explain` found: the exercises that have it alike, its declaration, points,
/// config notes, and whether the config waives it.
type Found<'a> = (Vec<&'a str>, &'a CheckDoc, u32, &'a [String], Waiver);

/// Why a check would not count with a config: waived (its protocol cannot carry it), or
/// off (not run at all).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Waiver {
    None,
    Waived,
    Off,
}

/// `harness explain CHECK` (`ID` or `EXERCISE:ID`). An id two exercises share explains
/// both, unless the exercise is named.
pub fn explain(check: &str, config: Option<&Path>) -> Result<String, String> {
    let (exercise, id) = match check.split_once(':') {
        Some((e, i)) => (Some(e), i),
        None => (None, check),
    };
    let all = exercises(config)?;
    // The exercises that have the check, those with the same declaration and points (the
    // generic `build`) together.
    let mut found: Vec<Found> = Vec::new();
    for e in all
        .iter()
        .filter(|e| exercise.filter(|x| *x != e.name).is_none())
    {
        let Some((doc, points)) = e.checks.iter().find(|c| c.0.id == id) else {
            continue;
        };
        let notes = e.notes.get(doc.id).map_or(&[][..], Vec::as_slice);
        let waived = if e.off.contains(&doc.id) {
            Waiver::Off
        } else if e.waived.iter().any(|w| w == doc.id) {
            Waiver::Waived
        } else {
            Waiver::None
        };
        match found
            .iter_mut()
            .find(|f| f.1 == doc && f.2 == *points && f.3 == notes && f.4 == waived)
        {
            Some(same) => same.0.push(e.name),
            None => found.push((vec![e.name], doc, *points, notes, waived)),
        }
    }
    let mut out = String::new();
    for (names, doc, points, notes, waived) in found {
        let title = i18n::doc(doc.title);
        let worth = match points {
            _ if waived == Waiver::Off => tr!("off: this config does not run it").to_string(),
            0 if waived == Waiver::Waived => {
                tr!("not part of this config's protocol: worth no points").to_string()
            }
            0 if doc.id == BUILD_CHECK => {
                tr!("worth no points: the checks it lets run carry them").into()
            }
            0 => tr!("a warning, worth no points").to_string(),
            _ => tr!("{points} points", points = points),
        };
        if !out.is_empty() {
            out.push('\n');
        }
        let heading = match names.as_slice() {
            [one] => format!("{one}:{id}"),
            several => {
                let names = several.join(", ");
                tr!("{id} (every exercise: {names})", id = id, names = names)
            }
        };
        let _ = writeln!(out, "{heading} — {title} ({worth})\n");
        let _ = writeln!(out, "{}\n  {}\n", tr!("What it does:"), i18n::doc(doc.what));
        let _ = writeln!(out, "{}", tr!("Why a submission fails it:"));
        for w in doc.why {
            let _ = writeln!(out, "  - {}", i18n::doc(w));
        }
        let _ = writeln!(out, "\n{}\n  {}", tr!("How to fix it:"), i18n::doc(doc.fix));
        if !notes.is_empty() {
            let _ = writeln!(out, "\n{}", tr!("With this config:"));
            for n in notes {
                let _ = writeln!(out, "  - {n}");
            }
        }
    }
    if out.is_empty() {
        let known: Vec<String> = all
            .iter()
            .flat_map(|e| e.checks.iter().map(|c| c.0.id.to_string()))
            .collect();
        use crate::text::suggest::nearest;
        let meant = match exercise {
            Some(e) => match all.iter().find(|x| x.name == e) {
                Some(x) => nearest(id, x.checks.iter().map(|c| c.0.id)).map(|k| format!("{e}:{k}")),
                None => nearest(e, all.iter().map(|x| x.name)).map(|n| format!("{n}:{id}")),
            },
            None => nearest(id, known.iter().map(String::as_str)).map(String::from),
        };
        let hint = meant
            .map(|m| tr!("; did you mean `{m}`?", m = m))
            .unwrap_or_default();
        return Err(tr!(
            "unknown check `{check}`{hint} (known: {known})",
            check = check,
            hint = hint,
            known = known.join(", ")
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipped(name: &str) -> ExerciseDoc {
        exercises(None)
            .unwrap()
            .into_iter()
            .find(|e| e.name == name)
            .unwrap()
    }

    #[test]
    fn every_check_is_explained() {
        for e in exercises(None).unwrap() {
            for (d, _) in &e.checks {
                assert!(
                    !d.title.is_empty()
                        && !d.what.is_empty()
                        && !d.why.is_empty()
                        && !d.fix.is_empty(),
                    "{}:{}",
                    e.name,
                    d.id
                );
            }
        }
    }

    /// The ids of a README's check tables, in order: a table counts when the first cell of
    /// every row is a backquoted check id (the protocol and command tables do not).
    fn readme_table_ids(readme: &str, ids: &[&str]) -> Vec<String> {
        let mut found = Vec::new();
        let mut table: Vec<Option<String>> = Vec::new();
        for line in readme.lines().chain([""]) {
            if line.starts_with('|') {
                let first = line.split('|').nth(1).unwrap_or("").trim();
                let id = first.strip_prefix('`').and_then(|f| f.strip_suffix('`'));
                if first.starts_with("---") {
                    table.clear(); // what came before was the header
                } else {
                    table.push(id.map(str::to_string));
                }
                continue;
            }
            let rows = std::mem::take(&mut table);
            let is_checks = !rows.is_empty()
                && rows
                    .iter()
                    .all(|r| r.as_deref().is_some_and(|id| ids.contains(&id)));
            if is_checks {
                found.extend(rows.into_iter().flatten());
            }
        }
        found
    }

    #[test]
    fn the_readme_tables_list_every_declared_check_in_order() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        for e in exercises(None).unwrap() {
            // The test exercise keeps its files under tests/.
            let path = [root.join("exercises"), root.join("tests/exercises")]
                .iter()
                .map(|d| d.join(e.name).join("README.md"))
                .find(|p| p.is_file())
                .unwrap();
            let readme = std::fs::read_to_string(&path).unwrap();
            let ids: Vec<&str> = e.checks.iter().map(|c| c.0.id).collect();
            let seen = readme_table_ids(&readme, &ids);
            assert!(
                !seen.is_empty() && seen.len().is_multiple_of(ids.len()),
                "{}: the check tables list {seen:?}, the declarations {ids:?}",
                path.display()
            );
            for language in seen.chunks(ids.len()) {
                assert_eq!(
                    language,
                    ids,
                    "{}: a check table is out of step",
                    path.display()
                );
            }
        }
    }

    #[test]
    fn list_shows_every_exercise_with_its_points() {
        let out = list(None).unwrap();
        for e in exercises(None).unwrap() {
            let total: u32 = e.checks.iter().map(|c| c.1).sum();
            assert!(
                out.contains(&format!("{}: {} ({total} points)", e.name, e.title)),
                "{out}"
            );
            for (d, _) in &e.checks {
                assert!(out.contains(&format!("  {} ", d.id)), "{} not listed", d.id);
            }
        }
        assert_eq!(
            shipped("fileserver")
                .checks
                .iter()
                .map(|c| c.1)
                .sum::<u32>(),
            124
        );
    }

    #[test]
    fn explain_finds_fileserver_checks() {
        let c = explain("fileserver:concurrent", None).unwrap();
        assert!(c.starts_with("fileserver:concurrent — "), "{c}");
        assert!(
            c.contains("(8 points)") && c.contains("concurrent.bin"),
            "{c}"
        );
        let q = explain("client-quit", None).unwrap();
        assert!(q.starts_with("fileserver:client-quit — "), "{q}");
        assert!(!q.contains("bus:"), "{q}");
        let t = explain("fileserver:traversal", None).unwrap();
        assert!(t.contains("../secret.txt"), "{t}");
        assert!(explain("bus:concurrent", None).is_err());
    }

    #[test]
    fn explain_covers_every_fileserver_check_and_says_how_dialects_change_it() {
        let fs = shipped("fileserver");
        for id in [
            "client-get-large",
            "client-put-large",
            "pair-list",
            "pair-get",
            "pair-get-binary",
            "pair-get-large",
            "pair-put",
            "pair-put-binary",
            "pair-get-missing",
            "pair-quit",
        ] {
            assert!(fs.checks.iter().any(|c| c.0.id == id), "{id} not declared");
            let e = explain(&format!("fileserver:{id}"), None).unwrap();
            assert!(e.starts_with(&format!("fileserver:{id} — ")), "{e}");
        }
        // Every server check says how a dialect changes it; the client checks that their
        // reference server speaks it too.
        for (doc, _) in &fs.checks {
            let e = explain(&format!("fileserver:{}", doc.id), None).unwrap();
            if doc.id.starts_with("client-") {
                assert!(e.contains("which speaks the same protocol"), "{e}");
            } else if !doc.id.starts_with("pair-") && doc.id != BUILD_CHECK {
                assert!(e.contains("not part of this protocol"), "{e}");
            }
        }
        let concurrent = explain("fileserver:concurrent", None).unwrap();
        assert!(concurrent.contains("numbered dialect"), "{concurrent}");
    }

    #[test]
    fn explain_under_a_dialect_speaks_its_words_and_names_what_it_leaves_out() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("fs.toml");
        std::fs::write(
            &p,
            "[server.dialect]\nbase = \"lgpq-hash\"\n[server.dialect.not_in_protocol]\n\
             get-binary = \"a download ends at ##\"\n",
        )
        .unwrap();
        let out = explain("get-binary", Some(&p)).unwrap();
        assert!(
            out.contains("(not part of this config's protocol: worth no points)")
                && out.contains("not part of this protocol: a download ends at ##"),
            "{out}"
        );
        let text = explain("get-text", Some(&p)).unwrap();
        assert!(
            text.contains("Its requests are L, G <name>, P <name> and Q")
                && text.contains("any other reply refuses"),
            "{text}"
        );
    }

    #[test]
    fn fileserver_fixes_name_no_python_call_without_the_c_one() {
        // Explain has no language: a fix that names a Python call names C's too.
        for (doc, _) in &shipped("fileserver").checks {
            let python = [
                "os.",
                "sys.",
                "sendall",
                "makefile",
                "b''",
                "tempfile.",
                "input(",
                "'wb'",
                "'rb'",
            ]
            .iter()
            .any(|call| doc.fix.contains(call));
            let c = doc.fix.contains(" C") || doc.fix.contains("fopen");
            assert!(!python || c, "{}: {}", doc.id, doc.fix);
        }
    }

    #[test]
    fn a_shared_id_explains_both_unless_the_exercise_is_named() {
        let both = explain("cleanup", None).unwrap();
        assert!(
            both.contains("bus:cleanup — ") && both.contains("fileserver:cleanup — "),
            "{both}"
        );
        let one = explain("fileserver:cleanup", None).unwrap();
        assert!(!one.contains("bus:cleanup"), "{one}");
    }

    #[test]
    fn a_fileserver_config_sets_the_fileserver_points() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("fs.toml");
        let text = crate::exercises::fileserver::config::DEFAULT_TOML
            .replace("traversal = 8", "traversal = 0");
        std::fs::write(&p, text).unwrap();
        let out = explain("traversal", Some(&p)).unwrap();
        assert!(out.contains("worth no points"), "{out}");
        // The bus keeps its shipped points.
        let bus = explain("bus:ctrl-z", Some(&p)).unwrap();
        assert!(bus.contains("(15 points)"), "{bus}");
        // A partial config without `[exercise]` is told by what it sets.
        std::fs::write(&p, "[checks]\nget-text = 1\n").unwrap();
        assert!(explain("get-text", Some(&p))
            .unwrap()
            .contains("(1 points)"));
        std::fs::write(&p, "[checks]\nctrl-z = 2\n").unwrap();
        assert!(explain("ctrl-z", Some(&p)).unwrap().contains("(2 points)"));
    }

    /// The README's class table shows the shipped totals: a row's maximum is its
    /// exercise's, and a row with no failed check has full marks.
    #[test]
    fn the_readme_class_table_shows_the_shipped_points() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
        let totals: std::collections::BTreeMap<&str, u32> = exercises(None)
            .unwrap()
            .iter()
            .map(|e| (e.name, e.checks.iter().map(|c| c.1).sum()))
            .collect();
        let mut rows = 0;
        for line in readme.lines() {
            let words: Vec<&str> = line.split_whitespace().collect();
            let [_, exercise, score, max, failed, ..] = words.as_slice() else {
                continue;
            };
            let (Some(total), Ok(score), Ok(max)) = (
                totals.get(exercise),
                score.parse::<u32>(),
                max.parse::<u32>(),
            ) else {
                continue;
            };
            assert_eq!(max, *total, "README: {line}");
            assert_eq!(*failed == "-", score == max, "README: {line}");
            rows += 1;
        }
        assert!(rows >= 4, "the README's class table was not found");
    }

    #[test]
    fn the_example_class_config_sets_both_exercises() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let out = list(Some(&root.join("docs/examples/class.toml"))).unwrap();
        assert!(
            out.contains("bus: The bus: driver and conductor (105 points)")
                && out.contains("fileserver: The file server and its client (126 points)"),
            "{out}"
        );
    }

    #[test]
    fn the_generic_build_check_is_listed_and_explained_once() {
        let out = list(None).unwrap();
        assert!(out.contains("  build "), "{out}");
        let b = explain("build", None).unwrap();
        assert!(
            b.starts_with("build (every exercise: bus, fileserver")
                && b.contains("worth no points:"),
            "{b}"
        );
        assert_eq!(b.matches("What it does").count(), 1, "{b}");
        let one = explain("fileserver:build", None).unwrap();
        assert!(one.starts_with("fileserver:build — "), "{one}");
    }

    #[test]
    fn explain_accepts_both_spellings_and_rejects_unknown() {
        assert!(explain("ctrl-z", None).unwrap().contains("bus:ctrl-z"));
        assert!(explain("bus:idle", None)
            .unwrap()
            .contains("worth no points"));
        let err = explain("ctrl_c", None).unwrap_err();
        assert!(err.contains("did you mean `ctrl-c`?"), "{err}");
        let err = explain("bus:ctrl_z", None).unwrap_err();
        assert!(err.contains("did you mean `bus:ctrl-z`?"), "{err}");
        let err = explain("buss:ctrl-z", None).unwrap_err();
        assert!(err.contains("did you mean `bus:ctrl-z`?"), "{err}");
        let err = explain("nope", None).unwrap_err();
        assert!(!err.contains("did you mean"), "{err}");
        assert!(
            err.contains("unknown check") && err.contains("exit-order"),
            "{err}"
        );
    }
}
