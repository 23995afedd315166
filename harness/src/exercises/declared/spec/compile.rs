//! From the file as written to its compiled form: every name, role, key, signal and pattern
//! checked once, a mistake reported at its key's `FILE:line:column`. Kept apart from the
//! types so that what an instructor may write and how it is refused read separately.

use std::collections::BTreeMap;

use nix::sys::signal::Signal;
use regex::Regex;

use super::{
    Compiled, DocSpec, Ending, ExitExpect, File, Hint, Inside, LineExpect, Matcher, Named, Press,
    Role, RoleSpec, Scenario, Step, StepSpec,
};
use crate::config::{invalid, ConfigError, Spans};
use crate::text::matching::{MatchPolicy, Phrase};
use crate::tr;

/// Reads and checks the text of a declared exercise file named `source`.
pub fn compile(text: &str, source: &str) -> Result<Compiled, ConfigError> {
    let file: File = crate::config::parse(text, source)?;
    let spans = Spans::of(text).unwrap_or_default();
    let at = |key: &str, why: String| {
        let mut e = invalid(source, key, why);
        e.at = spans.position(key);
        e
    };
    check_name(&file.exercise.name).map_err(|w| at("exercise.name", w))?;
    for (key, v) in [
        ("program.python", &file.program.python),
        ("program.binary", &file.program.binary),
    ] {
        if v.is_empty() || v.contains('/') {
            return Err(at(
                key,
                tr!("must be a file name (not empty, no `/`)").into(),
            ));
        }
    }
    let t = &file.timing;
    for (key, v) in [
        ("timing.rest_ms", t.rest_ms),
        ("timing.wait_ms", t.wait_ms),
        ("timing.quiet_ms", t.quiet_ms),
        ("timing.busy_ms", t.busy_ms),
        ("timing.wall_seconds", t.wall_seconds),
    ] {
        if v == 0 {
            return Err(at(key, tr!("must be at least 1").into()));
        }
    }
    if !(t.busy_share > 0.0 && t.busy_share <= 1.0) {
        return Err(at("timing.busy_share", tr!("must be in (0, 1]").into()));
    }
    let mut roles = BTreeMap::new();
    for (name, spec) in &file.roles {
        let key = format!("roles.{name}");
        let role = match spec {
            RoleSpec::Place(p) => place(p).ok_or_else(|| at(&key, bad_place(p)))?,
            RoleSpec::Prints { prints } => Role::Prints(
                Regex::new(prints)
                    .map_err(|e| at(&key, tr!("not a regular expression: {e}", e = e)))?,
            ),
        };
        roles.insert(name.clone(), role);
    }
    let role = |key: &str, name: &str| -> Result<Named, ConfigError> {
        let role = match roles.get(name) {
            Some(r) => r.clone(),
            None => place(name).ok_or_else(|| {
                at(
                    key,
                    tr!(
                        "unknown role `{name}`: name one of [roles] ({roles}) or a place: {places}",
                        name = name,
                        roles = roles.keys().cloned().collect::<Vec<_>>().join(", "),
                        places = PLACES
                    ),
                )
            })?,
        };
        Ok(Named {
            name: name.to_string(),
            role,
        })
    };
    if file.checks.is_empty() {
        return Err(at("check", tr!("declare at least one [[check]]").into()));
    }
    let mut docs: Vec<DocSpec> = Vec::new();
    let mut scenarios = Vec::new();
    for (i, c) in file.checks.iter().enumerate() {
        let k = |rest: &str| format!("check[{i}].{rest}");
        check_name(&c.id).map_err(|w| at(&k("id"), w))?;
        if c.id == crate::report::BUILD_CHECK || docs.iter().any(|d| d.id == c.id) {
            return Err(at(
                &k("id"),
                tr!(
                    "`{id}` is declared twice (or is the build check's)",
                    id = c.id
                ),
            ));
        }
        let earlier = c.needs.iter().map(|n| ("needs", n));
        let earlier = earlier.chain(c.consequence_of.iter().map(|n| ("consequence_of", n)));
        for (j, (key, n)) in earlier.enumerate() {
            if !docs.iter().any(|d| &d.id == n) {
                let j = if key == "needs" { j } else { j - c.needs.len() };
                return Err(at(
                    &k(&format!("{key}[{j}]")),
                    tr!("`{n}` is not a check declared before this one", n = n),
                ));
            }
        }
        let mut steps = Vec::new();
        for (j, s) in c.steps.iter().enumerate() {
            steps.push(step(
                s,
                &|w| at(&k(&format!("steps[{j}]")), w),
                &|name: &str| role(&k(&format!("steps[{j}]")), name),
            )?);
        }
        let mut lines = Vec::new();
        for (j, l) in c.lines.iter().enumerate() {
            let key = k(&format!("lines[{j}]"));
            let matcher =
                matcher(&l.text, &l.variants, l.policy.as_deref()).map_err(|w| at(&key, w))?;
            let by = l.by.as_deref().map(|b| role(&key, b)).transpose()?;
            let (at_least, at_most) = match (l.count, l.at_least, l.at_most) {
                (Some(n), None, None) => (n, Some(n)),
                (None, lo, hi) => (lo.unwrap_or(1), hi),
                _ => {
                    return Err(at(
                        &key,
                        tr!("give `count`, or `at_least`/`at_most`, not both").into(),
                    ))
                }
            };
            let after = l.after_step.unwrap_or(0);
            if after > steps.len() {
                return Err(at(
                    &key,
                    tr!(
                        "after_step {after}: the check has {n} steps",
                        after = after,
                        n = steps.len()
                    ),
                ));
            }
            lines.push(LineExpect {
                shown: l.text.clone(),
                matcher,
                by,
                at_least,
                at_most,
                after_step: after,
                group: l.group.unwrap_or(j as u32 + 1_000_000),
            });
        }
        let mut exits = Vec::new();
        for (j, e) in c.exits.iter().enumerate() {
            let key = k(&format!("exits[{j}]"));
            let ending = match (e.status, &e.signal) {
                (None, None) => Ending::Any,
                (Some(s), None) => Ending::Status(s),
                (None, Some(s)) => Ending::Signal(signal(s).map_err(|w| at(&key, w))?),
                _ => return Err(at(&key, tr!("give `status` or `signal`, not both").into())),
            };
            exits.push(ExitExpect {
                who: role(&key, &e.who)?,
                ending,
                reaped: e.reaped,
            });
        }
        let names = |list: &[String], what: &str| -> Result<Vec<Named>, ConfigError> {
            list.iter()
                .enumerate()
                .map(|(j, n)| role(&k(&format!("{what}[{j}]")), n))
                .collect()
        };
        let inside = match &c.inside {
            None => None,
            Some(s) => {
                let re = |p: &str, key: &str| {
                    Regex::new(p)
                        .map_err(|e| at(&k(key), tr!("not a regular expression: {e}", e = e)))
                };
                Some(Inside {
                    enter: re(&s.enter, "inside.enter")?,
                    leave: re(&s.leave, "inside.leave")?,
                    at_least: s.at_least,
                    at_most: s.at_most,
                })
            }
        };
        let threads = match &c.threads {
            None => None,
            Some(t) => Some((role(&k("threads.who"), &t.who)?, t.at_least)),
        };
        let hints = c
            .hints
            .iter()
            .map(|h| Hint {
                when: h.when.clone(),
                say: h.say.clone(),
                python: h.python.clone(),
                c: h.c.clone(),
            })
            .collect();
        let scenario = Scenario {
            consequence_of: c.consequence_of.clone(),
            run: c.run.clone(),
            steps,
            lines,
            ordered: c.ordered,
            exits,
            exit_order: names(&c.exit_order, "exit_order")?,
            alive: names(&c.alive, "alive")?,
            no_zombie: c.no_zombie,
            no_leftover: c.no_leftover,
            children: c.children.as_ref().map(|n| (n.at_least, n.at_most)),
            inside,
            threads,
            idle: c.idle,
            hints,
        };
        if scenario.steps.is_empty() && expects_nothing(&scenario) {
            return Err(at(
                &k("id"),
                tr!("a check with no steps and no expectation judges nothing").into(),
            ));
        }
        docs.push(DocSpec {
            id: c.id.clone(),
            points: c.points,
            title: c.title.clone(),
            what: c.what.clone(),
            why: c.why.clone(),
            fix: c.fix.clone(),
            needs: c.needs.clone(),
            unmet: if c.unmet.is_empty() {
                tr!("skipped: {id} did not pass (see {id})", id = c.id)
            } else {
                c.unmet.clone()
            },
        });
        scenarios.push(scenario);
    }
    Ok(Compiled {
        name: file.exercise.name,
        title: file.exercise.title,
        python: file.program.python,
        binary: file.program.binary,
        args: file.program.args,
        timing: file.timing,
        docs,
        scenarios,
    })
}

fn expects_nothing(s: &Scenario) -> bool {
    s.lines.is_empty()
        && s.exits.is_empty()
        && s.exit_order.is_empty()
        && s.alive.is_empty()
        && !s.no_zombie
        && !s.no_leftover
        && s.children.is_none()
        && s.inside.is_none()
        && s.threads.is_none()
        && !s.idle
}

/// Names of exercises and checks: config keys and `harness explain` words.
fn check_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 40
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(tr!(
            "`{name}`: use 1 to 40 lowercase letters, digits, `-` or `_`",
            name = name
        ))
    }
}

/// The words of the file a place is written with (the same in every language).
const PLACES: &str =
    crate::i18n::verbatim("\"program\", \"child\", \"child N\", \"children\", \"every\"");

fn bad_place(p: &str) -> String {
    tr!(
        "`{p}` is not a place in the tree: {places}, or {{ prints = \"regex\" }}",
        p = p,
        places = PLACES
    )
}

fn place(p: &str) -> Option<Role> {
    match p.trim() {
        "program" => Some(Role::Program),
        "child" => Some(Role::Child(1)),
        "children" => Some(Role::Children),
        "every" => Some(Role::Every),
        other => other
            .strip_prefix("child ")
            .and_then(|n| n.trim().parse().ok())
            .filter(|n| *n >= 1)
            .map(Role::Child),
    }
}

fn signal(name: &str) -> Result<Signal, String> {
    let full = if name.starts_with("SIG") {
        name.to_string()
    } else {
        format!("SIG{name}")
    };
    full.parse::<Signal>()
        .map_err(|_| tr!("`{name}` is not a signal (SIGINT, SIGUSR1, …)", name = name))
}

fn matcher(text: &str, variants: &[String], policy: Option<&str>) -> Result<Matcher, String> {
    let all = || std::iter::once(text.to_string()).chain(variants.iter().cloned());
    match policy.unwrap_or("normal") {
        "normal" => Ok(Matcher::Phrase(Phrase::new(all()), MatchPolicy::Normalized)),
        "exact" => Ok(Matcher::Phrase(Phrase::new(all()), MatchPolicy::Exact)),
        "regex" => {
            let joined = all()
                .map(|v| format!("(?:{v})"))
                .collect::<Vec<_>>()
                .join("|");
            Regex::new(&joined)
                .map(Matcher::Regex)
                .map_err(|e| tr!("not a regular expression: {e}", e = e))
        }
        other => Err(tr!(
            "match = \"{other}\": use \"normal\", \"exact\" or \"regex\"",
            other = other
        )),
    }
}

fn press(name: &str) -> Result<Press, String> {
    match name.to_ascii_lowercase().as_str() {
        "ctrl-c" => Ok(Press::CtrlC),
        "ctrl-\\" | "ctrl-backslash" => Ok(Press::CtrlBackslash),
        "ctrl-z" => Ok(Press::CtrlZ),
        "ctrl-d" => Ok(Press::CtrlD),
        _ => Err(tr!(
            "key `{name}`: use \"ctrl-c\", \"ctrl-\\\\\", \"ctrl-z\" or \"ctrl-d\"",
            name = name
        )),
    }
}

fn step(
    s: &StepSpec,
    at: &dyn Fn(String) -> ConfigError,
    role: &dyn Fn(&str) -> Result<Named, ConfigError>,
) -> Result<Step, ConfigError> {
    let given: Vec<&str> = [
        ("rest", s.rest.is_some()),
        ("ready", s.ready.is_some()),
        ("line", s.line.is_some()),
        ("exit", s.exit.is_some()),
        ("type", s.typed.is_some()),
        ("raw", s.raw.is_some()),
        ("key", s.key.is_some()),
        ("signal", s.signal.is_some()),
        ("pass_ms", s.pass_ms.is_some()),
    ]
    .into_iter()
    .filter(|(_, set)| *set)
    .map(|(k, _)| k)
    .collect();
    if given.len() != 1 {
        return Err(at(tr!(
            "a step does one thing: rest, ready, line, exit, type, raw, key, signal or pass_ms (found {found})",
            found = if given.is_empty() {
                tr!("none").to_string()
            } else {
                given.join(", ")
            }
        )));
    }
    let settle = s.settle.unwrap_or(true);
    let misplaced = |k: &str| {
        at(tr!(
            "`{k}` does not go with `{step}`",
            k = k,
            step = given[0]
        ))
    };
    if s.to.is_some() && given[0] != "signal" {
        return Err(misplaced("to"));
    }
    if s.policy.is_some() && given[0] != "line" {
        return Err(misplaced("match"));
    }
    if s.settle.is_some() && !matches!(given[0], "type" | "raw" | "key" | "signal") {
        return Err(misplaced("settle"));
    }
    Ok(match given[0] {
        "rest" => Step::Rest,
        "ready" => Step::Ready,
        "line" => Step::Line(
            matcher(s.line.as_deref().unwrap_or(""), &[], s.policy.as_deref()).map_err(at)?,
        ),
        "exit" => Step::Exit(role(s.exit.as_deref().unwrap_or(""))?),
        "type" => Step::Type {
            text: format!("{}\n", s.typed.as_deref().unwrap_or("")),
            settle,
        },
        "raw" => Step::Type {
            text: s.raw.clone().unwrap_or_default(),
            settle,
        },
        "key" => Step::Key {
            key: press(s.key.as_deref().unwrap_or("")).map_err(at)?,
            settle,
        },
        "signal" => {
            Step::Signal {
                signal: signal(s.signal.as_deref().unwrap_or("")).map_err(at)?,
                to: role(s.to.as_deref().ok_or_else(|| {
                    at(tr!("a signal step names its target: to = \"role\"").into())
                })?)?,
                settle,
            }
        }
        _ => Step::Pass(s.pass_ms.unwrap_or(0)),
    })
}
