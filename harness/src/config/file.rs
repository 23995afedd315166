//! An instructor's `--config` file. It holds the settings of one exercise (its tables at the
//! top, as in `exercises/<name>/exercise.toml`) or of several, each under the exercise's
//! name (`[bus.timing]`, `[fileserver.checks]`): one file for a class that mixes exercises.
//! `[find]` (how a student's programs are found) and `[report]` (the reports' language) are
//! for every exercise, in either form.
//!
//! This module only sorts the file into per-exercise overlays and remembers where each key
//! is written; laying an overlay over an exercise's shipped config and checking it is the
//! grading driver's (`grading::driver::load_config`), which reports errors through
//! [`ConfigFile::relocate`] at the key's line and column in this file.

use crate::tr;
use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use super::{invalid, parse, read_file, ConfigError, Spans};

/// How a student's programs are found (`[find]`, for every exercise).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Find {
    /// `Bus.py` is taken for `bus.py` when no file has the exact name (the report says so).
    pub ignore_case: bool,
}

impl Default for Find {
    fn default() -> Self {
        Find { ignore_case: true }
    }
}

/// The table of `[find]`; not an exercise's.
pub const FIND: &str = "find";

/// How reports are written (`[report]`, for every exercise): a course sets its language once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReportSettings {
    /// The language of reports and `explain` (`"en"` or `"zh"`); `--lang` overrides it.
    pub lang: Option<crate::i18n::Lang>,
}

/// The table of `[report]`; not an exercise's.
pub const REPORT: &str = "report";

/// A config file, sorted by exercise.
#[derive(Debug, Clone)]
pub struct ConfigFile {
    /// The path as given, for messages.
    pub name: String,
    pub find: Find,
    pub report: ReportSettings,
    spans: Spans,
    /// Exercise name → its settings, and the prefix of their keys in the file (`bus.`).
    parts: BTreeMap<String, (toml::Table, String)>,
    /// A one-exercise file's settings, until [`ConfigFile::give`] names their exercise.
    pub unowned: Option<toml::Table>,
    /// The `[exercise] name` of a one-exercise file.
    pub named: Option<String>,
}

impl ConfigFile {
    /// Reads and sorts `path`; `exercises` are the names a class file may use.
    pub fn read(path: &Path, exercises: &[&str]) -> Result<ConfigFile, ConfigError> {
        let text = read_file(path)?;
        ConfigFile::parse(&text, &path.display().to_string(), exercises)
    }

    /// Sorts `text`: a table named after an exercise makes it a class file, in which every
    /// table must be an exercise's or `[find]`.
    pub fn parse(text: &str, name: &str, exercises: &[&str]) -> Result<ConfigFile, ConfigError> {
        let spans = Spans::of(text).map_err(|e| super::from_toml(&e, text, name))?;
        let mut all: toml::Table = parse(text, name)?;
        let at = |e: ConfigError| e.relocated(name, "", &spans);
        let find = match all.remove(FIND) {
            Some(v) => {
                let t = toml::Table::from_iter([(FIND.to_string(), v)]);
                #[derive(Deserialize)]
                #[serde(deny_unknown_fields)]
                struct Only {
                    find: Find,
                }
                let text = toml::to_string(&t).unwrap_or_default();
                parse::<Only>(&text, name).map_err(at)?.find
            }
            None => Find::default(),
        };
        let report = match all.remove(REPORT) {
            Some(v) => {
                let t = toml::Table::from_iter([(REPORT.to_string(), v)]);
                #[derive(Deserialize)]
                #[serde(deny_unknown_fields)]
                struct Only {
                    report: ReportSettings,
                }
                let text = toml::to_string(&t).unwrap_or_default();
                parse::<Only>(&text, name).map_err(at)?.report
            }
            None => ReportSettings::default(),
        };
        let is_class = all.keys().any(|k| exercises.contains(&k.as_str()));
        let mut file = ConfigFile {
            name: name.to_string(),
            find,
            report,
            spans: spans.clone(),
            parts: BTreeMap::new(),
            unowned: None,
            named: None,
        };
        if !is_class {
            // `[buss.checks]`: an exercise's name typed wrong, not one exercise's settings.
            if let Some((key, meant)) = all.keys().find_map(|k| {
                crate::text::suggest::nearest(k, exercises.iter().copied()).map(|e| (k, e))
            }) {
                return Err(at(invalid(
                    name,
                    key,
                    tr!(
                        "no such exercise or setting (did you mean `{meant}`?)",
                        meant = meant
                    ),
                )));
            }
            let named = all
                .get("exercise")
                .and_then(|e| e.get("name"))
                .and_then(|n| n.as_str())
                .map(String::from);
            if let Some(n) = &named {
                if !exercises.contains(&n.as_str()) {
                    return Err(at(invalid(
                        name,
                        "exercise.name",
                        tr!(
                            "no such exercise (known: {exercises})",
                            exercises = exercises.join(", ")
                        ),
                    )));
                }
            }
            file.named = named;
            file.unowned = (!all.is_empty()).then_some(all);
            return Ok(file);
        }
        for (key, value) in all {
            if !exercises.contains(&key.as_str()) {
                return Err(at(invalid(
                    name,
                    &key,
                    tr!(
                        "not an exercise (known: {exercises}): a file that names exercises sets \
                         everything under their names, e.g. `[{first}.{key}]`",
                        exercises = exercises.join(", "),
                        first = exercises.first().unwrap_or(&"bus"),
                        key = key
                    ),
                )));
            }
            let toml::Value::Table(overlay) = value else {
                return Err(at(invalid(
                    name,
                    &key,
                    tr!("must be a table of the exercise's settings"),
                )));
            };
            if let Some(n) = overlay.get("exercise").and_then(|e| e.get("name")) {
                if n.as_str() != Some(key.as_str()) {
                    return Err(at(invalid(
                        name,
                        &format!("{key}.exercise.name"),
                        tr!("must be \"{key}\" (or left out)", key = key),
                    )));
                }
            }
            let prefix = format!("{key}.");
            file.parts.insert(key, (overlay, prefix));
        }
        Ok(file)
    }

    /// Gives a one-exercise file's settings to `exercise`.
    pub fn give(&mut self, exercise: &str) {
        if let Some(t) = self.unowned.take() {
            self.parts.insert(exercise.to_string(), (t, String::new()));
        }
    }

    /// The exercise a one-exercise file (its tables at the top) was given to.
    pub fn only_for(&self) -> Option<&str> {
        self.parts
            .iter()
            .find(|(_, (_, prefix))| prefix.is_empty())
            .map(|(name, _)| name.as_str())
    }

    /// The settings for `exercise`, if the file has any.
    pub fn overlay(&self, exercise: &str) -> Option<&toml::Table> {
        self.parts.get(exercise).map(|p| &p.0)
    }

    /// The exercises the file sets.
    pub fn exercises(&self) -> impl Iterator<Item = &str> {
        self.parts.keys().map(String::as_str)
    }

    /// An error in `exercise`'s settings, at the key's line and column in this file.
    pub fn relocate(&self, exercise: &str, e: ConfigError) -> ConfigError {
        let prefix = self.parts.get(exercise).map_or("", |p| p.1.as_str());
        e.relocated(&self.name, prefix, &self.spans)
    }

    /// How many of a one-exercise file's settings a shipped config has: the exercise it
    /// most likely meant, when it fits none.
    pub fn fit(&self, shipped: &str) -> usize {
        let Ok(shipped) = Spans::of(shipped) else {
            return 0;
        };
        let known: Vec<&str> = shipped.leaves().collect();
        self.spans
            .leaves()
            .filter(|k| known.contains(k) && !k.starts_with("exercise."))
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAMES: &[&str] = &["bus", "fileserver"];

    #[test]
    fn a_class_file_sorts_settings_by_exercise() {
        let text = "[find]\nignore_case = false\n\n[bus.timing]\nstep_ms = 3\n\n[fileserver.checks]\nlist = 1\n";
        let f = ConfigFile::parse(text, "c.toml", NAMES).unwrap();
        assert!(!f.find.ignore_case);
        assert_eq!(f.exercises().collect::<Vec<_>>(), ["bus", "fileserver"]);
        assert_eq!(
            f.overlay("bus").unwrap()["timing"]["step_ms"].as_integer(),
            Some(3)
        );
        assert!(f.unowned.is_none());
        let e = f.relocate("fileserver", invalid("x", "checks.list", "bad"));
        assert_eq!(
            e.to_string(),
            "invalid config c.toml:8:1: key `fileserver.checks.list`: bad"
        );
    }

    #[test]
    fn a_course_sets_the_language_of_its_reports_once() {
        let f = ConfigFile::parse(
            "[report]\nlang = \"zh\"\n\n[bus.checks]\nstart = 5\n",
            "c.toml",
            NAMES,
        )
        .unwrap();
        assert_eq!(f.report.lang, Some(crate::i18n::Lang::Zh));
        let f = ConfigFile::parse(
            "[report]\nlang = \"zh\"\n[checks]\nstart = 5\n",
            "o.toml",
            NAMES,
        )
        .unwrap();
        assert_eq!(f.report.lang, Some(crate::i18n::Lang::Zh));
        assert!(!f.unowned.unwrap().contains_key("report"));
        let e = ConfigFile::parse("[report]\nlang = \"fr\"\n", "c.toml", NAMES).unwrap_err();
        assert!(e.to_string().starts_with("invalid config c.toml:2:"), "{e}");
    }

    #[test]
    fn a_one_exercise_file_waits_for_its_exercise() {
        let mut f = ConfigFile::parse("\n[timing]\nstep_ms = 3\n", "o.toml", NAMES).unwrap();
        assert_eq!(f.exercises().count(), 0);
        assert!(f.find.ignore_case);
        assert_eq!(f.fit(crate::exercises::bus::config::DEFAULT_TOML), 1);
        f.give("bus");
        let e = f.relocate("bus", invalid("x", "timing.step_ms", "bad"));
        assert_eq!(e.at, Some((3, 1)));
    }

    #[test]
    fn misplaced_tables_are_named_where_they_are() {
        let err = |text: &str| {
            ConfigFile::parse(text, "c.toml", NAMES)
                .unwrap_err()
                .to_string()
        };
        let e = err("[bus.checks]\nstart = 1\n\n[timing]\nstep_ms = 1\n");
        assert!(
            e.starts_with("invalid config c.toml:4:2: key `timing`: not an exercise"),
            "{e}"
        );
        let e = err("[find]\nignore = true\n");
        assert!(
            e.starts_with("invalid config c.toml:2:1: key `find.ignore`"),
            "{e}"
        );
        let e = err("[exercise]\nname = \"buss\"\n");
        assert!(
            e.contains("c.toml:2:1: key `exercise.name`: no such exercise"),
            "{e}"
        );
        let e = err("[fileserver.exercise]\nname = \"bus\"\n");
        assert!(e.contains(":2:1: key `fileserver.exercise.name`"), "{e}");
        let e = err("a = \n");
        assert!(e.starts_with("invalid config c.toml:1:"), "{e}");
    }
}
