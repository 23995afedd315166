//! What the grader checks, for instructors: `harness list` (exercises, checks, points) and
//! `harness explain CHECK` (what it does, why a submission fails it, how to fix it).
//!
//! Ids and titles come from the exercise's grader (`exercises::bus::checks::CHECKS`),
//! points from the exercise config; the explanations are written here, from
//! `exercises/bus/README.md` ("How the grader judges"). A test keeps the three in step.

use std::fmt::Write as _;
use std::path::Path;

use crate::config::bus::BusConfig;
use crate::exercises::bus::checks::CHECKS as BUS_CHECKS;

/// The explanation of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckDoc {
    pub id: &'static str,
    /// What the grader does and requires.
    pub what: &'static str,
    /// The usual reasons a submission fails it.
    pub why: &'static [&'static str],
    /// How to fix a failing submission.
    pub fix: &'static str,
}

/// One exercise as the catalog shows it.
#[derive(Debug, Clone)]
pub struct ExerciseDoc {
    pub name: &'static str,
    pub title: String,
    /// False while the exercise's grader is not built (it is listed, not graded).
    pub graded: bool,
    /// Check id, title, points.
    pub checks: Vec<(&'static str, &'static str, u32)>,
}

pub const BUS_DOCS: &[CheckDoc] = &[
    CheckDoc {
        id: "start",
        what: "Starts the program in a pseudo-terminal and waits (event-driven, up to \
               [timing] startup_ms) until there are exactly two processes, the driver and one \
               conductor, both asleep, waiting for signals.",
        why: &[
            "the program crashes or exits during start-up (a syntax error, an exception)",
            "the driver never forks a conductor, or forks more than one process",
            "the conductor ends right away instead of waiting for signals",
            "the program is not executable (a compiled `bus` without `chmod +x`)",
        ],
        fix: "Fork exactly once, in the driver; both processes then wait with signal.pause() \
              (or os.wait() / p.join() in the driver) until Ctrl-Z. Run it by hand: it must keep \
              running until Ctrl-Z.",
    },
    CheckDoc {
        id: "handlers",
        what: "Reads both processes' signal dispositions from /proc: the driver ignores SIGINT \
               and SIGQUIT and catches SIGUSR1, SIGUSR2 and SIGTSTP; the conductor ignores \
               SIGTSTP and catches SIGINT, SIGQUIT and SIGUSR1.",
        why: &[
            "handlers installed before fork, so the conductor inherits the driver's (or the \
             other way round)",
            "a signal left at its default action, or ignored where it must be caught",
            "handlers installed late, after the program already waits",
        ],
        fix: "Install handlers with signal.signal(SIG, handler) and ignore with \
              signal.signal(SIG, signal.SIG_IGN), each in its own process, after fork.",
    },
    CheckDoc {
        id: "ctrl-c",
        what: "Types Ctrl-C (SIGINT to both processes). The conductor must send SIGUSR1 to the \
               driver, which prints line 1 exactly once; both keep running.",
        why: &[
            "the driver does not ignore SIGINT and is killed",
            "the conductor does not catch SIGINT, or does not signal the driver",
            "the line is printed by the conductor instead of the driver, or not flushed",
            "the line is misspelt (the report shows the closest line and how it differs)",
        ],
        fix: "Driver: signal.signal(signal.SIGINT, signal.SIG_IGN) and a SIGUSR1 handler that \
              prints line 1 with print(..., flush=True). Conductor: a SIGINT handler doing \
              os.kill(os.getppid(), signal.SIGUSR1).",
    },
    CheckDoc {
        id: "ctrl-backslash",
        what: "Types Ctrl-\\ (SIGQUIT to both processes). The conductor must send SIGUSR2 to \
               the driver, which prints line 2 exactly once; both keep running.",
        why: &[
            "the driver does not ignore SIGQUIT and dies (with a core dump)",
            "the conductor does not catch SIGQUIT, or sends the wrong signal",
            "line 2 printed by the wrong process, twice, or misspelt",
        ],
        fix: "Driver: ignore SIGQUIT and print line 2 in a SIGUSR2 handler. Conductor: a \
              SIGQUIT handler doing os.kill(os.getppid(), signal.SIGUSR2).",
    },
    CheckDoc {
        id: "repeat",
        what: "Types an interleaved sequence of Ctrl-C and Ctrl-\\ ([repeat] keys in the \
               config); each key must print exactly its line, once, in the order typed.",
        why: &[
            "a handler that works only once (re-installed wrongly, or the process exits after \
             the first signal)",
            "lines lost or duplicated because output is buffered or handlers print twice",
            "a program that waits with a single pause() and then ends",
        ],
        fix: "Keep the handlers installed and wait in a loop (while True: signal.pause()); \
              print with flush=True.",
    },
    CheckDoc {
        id: "roles",
        what: "Sends signals to one process at a time: SIGINT and SIGQUIT to the conductor \
               alone, SIGUSR1 and SIGUSR2 to the driver alone. Each process must do its own part \
               and nothing else: the driver alone prints lines 1 and 2.",
        why: &[
            "the conductor prints the lines itself instead of signalling the driver",
            "the driver relies on also receiving the key's SIGINT/SIGQUIT",
            "the conductor signals the wrong process (itself, or the process group)",
        ],
        fix: "The conductor's SIGINT/SIGQUIT handlers only send SIGUSR1/SIGUSR2 to \
              os.getppid(); the driver's SIGUSR1/SIGUSR2 handlers only print.",
    },
    CheckDoc {
        id: "ctrl-z",
        what: "Types Ctrl-Z (SIGTSTP to both). The driver must send SIGUSR1 to the conductor, \
               which prints line 3 once; neither process may be stopped.",
        why: &[
            "the conductor does not ignore SIGTSTP and is stopped",
            "the driver does not catch SIGTSTP (it is stopped), or signals the wrong process",
            "line 3 printed by the driver instead of the conductor",
        ],
        fix: "Driver: a SIGTSTP handler doing os.kill(child_pid, signal.SIGUSR1). Conductor: \
              ignore SIGTSTP and print line 3 in its SIGUSR1 handler, then exit.",
    },
    CheckDoc {
        id: "exit-order",
        what: "After Ctrl-Z: the conductor exits first and is reaped by the driver (wait), then \
               the driver exits. By default a non-zero exit status is reported but costs no \
               points ([rules] nonzero_exit_costs_points).",
        why: &[
            "the driver exits first, orphaning the conductor",
            "the driver never waits for the conductor, leaving a zombie",
            "neither process exits after Ctrl-Z",
        ],
        fix: "After printing line 3 the conductor exits (sys.exit(0)); the driver waits for it \
              with os.wait() or p.join() and then exits.",
    },
    CheckDoc {
        id: "cleanup",
        what: "Once the driver has exited, no process of the program may remain: no orphan, no \
               zombie, nothing that escaped with a double fork or setsid.",
        why: &[
            "an extra process (a helper, a multiprocessing resource tracker) left running",
            "a child never reaped",
        ],
        fix: "Every process the program starts must have exited, and been reaped, when the \
              driver exits.",
    },
    CheckDoc {
        id: "idle",
        what: "Measures the CPU share of both processes while they wait ([rules] \
               busy_cpu_share): waiting must be sleeping. Worth no points by default: a warning.",
        why: &["a busy loop (while True: pass, or polling with a short sleep)"],
        fix: "Wait with signal.pause(), os.wait() or p.join() instead of a loop that polls.",
    },
];

/// The exercises, with the points of `config` (or the shipped config).
pub fn exercises(config: Option<&Path>) -> Result<Vec<ExerciseDoc>, String> {
    let cfg = match config {
        Some(p) => BusConfig::from_toml(
            &crate::config::read_file(p).map_err(|e| e.to_string())?,
            &p.display().to_string(),
        ),
        None => BusConfig::shipped(),
    }
    .map_err(|e| e.to_string())?;
    Ok(vec![
        ExerciseDoc {
            name: "bus",
            title: cfg.exercise.title.clone(),
            graded: true,
            checks: BUS_CHECKS
                .iter()
                .map(|(id, title)| (*id, *title, cfg.checks.of(id)))
                .collect(),
        },
        ExerciseDoc {
            name: "fileserver",
            title: "The file server and its client".into(),
            graded: false,
            checks: Vec::new(),
        },
    ])
}

/// `harness list`.
pub fn list(config: Option<&Path>) -> Result<String, String> {
    let mut out = String::new();
    for e in exercises(config)? {
        if !e.graded {
            let _ = writeln!(out, "{}: {} (grader not built yet)\n", e.name, e.title);
            continue;
        }
        let total: u32 = e.checks.iter().map(|c| c.2).sum();
        let _ = writeln!(out, "{}: {} ({total} points)", e.name, e.title);
        let w = e.checks.iter().map(|c| c.0.len()).max().unwrap_or(0);
        for (id, title, points) in &e.checks {
            let points = if *points == 0 {
                "warn".to_string()
            } else {
                points.to_string()
            };
            let _ = writeln!(out, "  {id:<w$}  {points:>4}  {title}");
        }
        out.push('\n');
    }
    out.push_str(
        "`harness explain CHECK` tells what a check does, why it fails and how to fix it.\n",
    );
    Ok(out)
}

/// `harness explain CHECK` (`ctrl-z` or `bus:ctrl-z`).
pub fn explain(check: &str, config: Option<&Path>) -> Result<String, String> {
    let (exercise, id) = match check.split_once(':') {
        Some((e, i)) => (Some(e), i),
        None => (None, check),
    };
    let all = exercises(config)?;
    let mut out = String::new();
    for e in all
        .iter()
        .filter(|e| exercise.filter(|x| *x != e.name).is_none())
    {
        let Some((_, title, points)) = e.checks.iter().find(|c| c.0 == id) else {
            continue;
        };
        let Some(doc) = BUS_DOCS.iter().find(|d| d.id == id) else {
            continue;
        };
        let worth = if *points == 0 {
            "a warning, worth no points".to_string()
        } else {
            format!("{points} points")
        };
        let _ = writeln!(out, "{}:{id} — {title} ({worth})\n", e.name);
        let _ = writeln!(out, "What it does:\n  {}\n", doc.what);
        out.push_str("Why a submission fails it:\n");
        for w in doc.why {
            let _ = writeln!(out, "  - {w}");
        }
        let _ = writeln!(out, "\nHow to fix it:\n  {}", doc.fix);
    }
    if out.is_empty() {
        let known: Vec<String> = all
            .iter()
            .flat_map(|e| e.checks.iter().map(|c| c.0.to_string()))
            .collect();
        return Err(format!(
            "unknown check `{check}` (known: {})",
            known.join(", ")
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bus_check_is_explained_and_nothing_else() {
        let ids: Vec<&str> = BUS_CHECKS.iter().map(|c| c.0).collect();
        let docs: Vec<&str> = BUS_DOCS.iter().map(|d| d.id).collect();
        assert_eq!(ids, docs);
    }

    #[test]
    fn every_bus_check_is_in_the_students_readme() {
        let readme = include_str!("../../exercises/bus/README.md");
        for (id, _) in BUS_CHECKS {
            assert!(
                readme.contains(&format!("| `{id}` |")),
                "{id} not in README"
            );
        }
    }

    #[test]
    fn explain_accepts_both_spellings_and_rejects_unknown() {
        assert!(explain("ctrl-z", None).unwrap().contains("bus:ctrl-z"));
        assert!(explain("bus:idle", None)
            .unwrap()
            .contains("worth no points"));
        let err = explain("nope", None).unwrap_err();
        assert!(
            err.contains("unknown check") && err.contains("exit-order"),
            "{err}"
        );
    }
}
