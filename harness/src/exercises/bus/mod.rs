//! The bus exercise: a driver (the program started) and its child, the conductor.
//!
//! Grading reuses one run for as long as both processes are healthy; a check that finds
//! them dead or stopped (because an earlier key killed one) gets a fresh run, so a driver
//! that dies on Ctrl-C still has its Ctrl-Z behaviour graded.

mod blame;
pub mod checks;
pub mod config;
mod ending;
pub mod faults;
mod grader;
pub mod hints;
pub mod owners;
pub mod run;
mod sequence;

use crate::tr;
use std::sync::Arc;

pub use config::BusConfig;

use crate::config::ConfigError;
use crate::grading::idiom::Idiom;
use crate::grading::{Check, CheckDoc, Exercise, Graded, Job, Program};
use crate::supervise::isolation::Sandbox;
use grader::Grader;

/// The bus exercise, as the registry names it.
pub struct Bus;

impl Exercise for Bus {
    type Config = BusConfig;
    const NAME: &'static str = "bus";
    const SHIPPED: &'static str = config::DEFAULT_TOML;

    fn checks() -> Vec<CheckDoc> {
        table().iter().map(|c| c.doc).collect()
    }

    fn programs(cfg: &BusConfig) -> Vec<Program> {
        vec![Program::new(
            &cfg.submission.python_entry,
            &cfg.submission.binary_entry,
        )]
    }

    fn validate(cfg: &BusConfig, source: &str) -> Result<(), ConfigError> {
        cfg.validate(source)
    }

    fn grade(cfg: &BusConfig, job: &mut Job) -> Result<Graded, String> {
        let prepared = match job.found.first_mut().and_then(Option::take) {
            Some(found) => found?,
            None => return Err(tr!("no bus program").into()),
        };
        let sandbox = Arc::new(Sandbox::new(&cfg.limits.run_limits(), &prepared.layout()));
        let launch = prepared.launch.clone().confined(sandbox.clone());
        let idiom = Idiom(prepared.language);
        let mut g = Grader::new(cfg, idiom, launch, sandbox.clone(), job.stable);
        job.checks
            .set_deadline(sandbox.deadline(), cfg.limits.wall_seconds);
        job.checks.run(&table(), &mut g);
        g.close();
        let mut isolation = sandbox.describe();
        isolation.extend(
            sandbox
                .missing()
                .iter()
                .map(|m| tr!("not available: {m}", m = m)),
        );
        Ok(Graded {
            entry: prepared.info.entry.clone(),
            command: prepared.info.command.clone(),
            interpreter: prepared.interpreter.clone(),
            runs: g.runs,
            isolation,
            containment: g.containment(),
            workdirs: vec![prepared.workdir.path().display().to_string()],
        })
    }
}

/// The checks in report order, each declared once: what `harness list` and `explain`
/// show, the JSON titles, the README's table, and the function that judges. `handlers`
/// comes after the checks that exercise the dispositions it reads: a disposition they
/// showed wrong (the driver killed by Ctrl-C) is their fault, and `handlers` judges the
/// rest (one fault, one check).
fn table<'c>() -> [Check<Grader<'c>>; 10] {
    [
        Check {
            doc: CheckDoc {
                id: "start",
                title: "the program becomes a driver and one conductor, both waiting",
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
                needs: &[],
                unmet: "skipped: the program did not start as a driver with one conductor (see start)",
            },
            judge: judge::start,
        },
        Check {
            doc: CheckDoc {
                id: "ctrl-c",
                title: "Ctrl-C makes the driver print line 1",
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
                needs: &["start"],
                unmet: "",
            },
            judge: judge::ctrl_c,
        },
        Check {
            doc: CheckDoc {
                id: "ctrl-backslash",
                title: "Ctrl-\\ makes the driver print line 2",
                what: "Types Ctrl-\\ (SIGQUIT to both processes). The conductor must send SIGUSR2 to \
                       the driver, which prints line 2 exactly once; both keep running.",
                why: &[
                    "the driver does not ignore SIGQUIT and dies (with a core dump)",
                    "the conductor does not catch SIGQUIT, or sends the wrong signal",
                    "line 2 printed by the wrong process, twice, or misspelt",
                ],
                fix: "Driver: ignore SIGQUIT and print line 2 in a SIGUSR2 handler. Conductor: a \
                      SIGQUIT handler doing os.kill(os.getppid(), signal.SIGUSR2).",
                needs: &["start"],
                unmet: "",
            },
            judge: judge::ctrl_backslash,
        },
        Check {
            doc: CheckDoc {
                id: "repeat",
                title: "an interleaved sequence of Ctrl-C and Ctrl-\\",
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
                needs: &["start"],
                unmet: "",
            },
            judge: judge::repeat,
        },
        Check {
            doc: CheckDoc {
                id: "roles",
                title: "signals to one process: the driver prints lines 1 and 2",
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
                needs: &["start"],
                unmet: "",
            },
            judge: judge::roles,
        },
        Check {
            doc: CheckDoc {
                id: "ctrl-z",
                title: "Ctrl-Z makes the conductor print line 3",
                what: "Types Ctrl-Z (SIGTSTP to both). The driver must send SIGUSR1 to the conductor, \
                       which prints line 3 once; neither process may be stopped.",
                why: &[
                    "the conductor does not ignore SIGTSTP and is stopped",
                    "the driver does not catch SIGTSTP (it is stopped), or signals the wrong process",
                    "line 3 printed by the driver instead of the conductor",
                ],
                fix: "Driver: a SIGTSTP handler doing os.kill(child_pid, signal.SIGUSR1). Conductor: \
                      ignore SIGTSTP and print line 3 in its SIGUSR1 handler, then exit.",
                needs: &["start"],
                unmet: "",
            },
            judge: judge::ctrl_z,
        },
        Check {
            doc: CheckDoc {
                id: "exit-order",
                title: "the conductor exits first and is reaped, then the driver",
                what: "After Ctrl-Z: the conductor exits first and is reaped by the driver (wait), then \
                       the driver exits; neither is killed by a signal (the conductor's status, which \
                       the driver reaps, is read from the kernel's process events). By default a \
                       non-zero exit status is reported but costs no points ([rules] \
                       nonzero_exit_costs_points).",
                why: &[
                    "the driver exits first, orphaning the conductor",
                    "the driver never waits for the conductor, leaving a zombie",
                    "neither process exits after Ctrl-Z",
                    "a process ends itself with a signal (os.kill(os.getpid(), SIGTERM)) instead of exiting",
                ],
                fix: "After printing line 3 the conductor exits (sys.exit(0)); the driver waits for it \
                      with os.wait() or p.join() and then exits.",
                needs: &["start"],
                unmet: "",
            },
            judge: judge::exit_order,
        },
        Check {
            doc: CheckDoc {
                id: "cleanup",
                title: "nothing of the submission remains after the driver exits",
                what: "Once the driver has exited, no process of the program may remain: no orphan, no \
                       zombie, nothing that escaped with a double fork or setsid.",
                why: &[
                    "an extra process (a helper, a multiprocessing resource tracker) left running",
                    "a child never reaped",
                ],
                fix: "Every process the program starts must have exited, and been reaped, when the \
                      driver exits.",
                needs: &["start"],
                unmet: "",
            },
            judge: judge::cleanup,
        },
        Check {
            doc: CheckDoc {
                id: "handlers",
                title: "signal dispositions of driver and conductor",
                what: "Reads both processes' signal dispositions from /proc, as they were once the \
                       program was ready: the driver ignores SIGINT and SIGQUIT and catches SIGUSR1, \
                       SIGUSR2 and SIGTSTP; the conductor ignores SIGTSTP and catches SIGINT, SIGQUIT \
                       and SIGUSR1. A disposition a key check already showed wrong (the driver killed \
                       by Ctrl-C) is that check's fault: named here, not counted again.",
                why: &[
                    "handlers installed before fork, so the conductor inherits the driver's (or the \
                     other way round)",
                    "a signal left at its default action, or ignored where it must be caught",
                    "handlers installed late, after the program already waits",
                ],
                fix: "Install handlers with signal.signal(SIG, handler) and ignore with \
                      signal.signal(SIG, signal.SIG_IGN), each in its own process, after fork.",
                needs: &["start"],
                unmet: "",
            },
            judge: judge::handlers,
        },
        Check {
            doc: CheckDoc {
                id: "idle",
                title: "the processes wait without using the CPU",
                what: "Measures the CPU share of both processes while they wait ([rules] \
                       busy_cpu_share): waiting must be sleeping. Worth no points by default: a warning.",
                why: &["a busy loop (while True: pass, or polling with a short sleep)"],
                fix: "Wait with signal.pause(), os.wait() or p.join() instead of a loop that polls.",
                needs: &["start"],
                unmet: "",
            },
            judge: judge::idle,
        },
    ]
}

/// The judges: each picks the run it needs (the current one while both processes are
/// healthy, a fresh one otherwise) and hands it to the check's code.
mod judge {
    use super::checks::{self, key_line, verdict, Line};
    use super::grader::{note_flood, Ending, Grader};
    use super::{ending, sequence};
    use crate::report::{CheckOutcome, Status};
    use crate::supervise::exits::ExitWatch;
    use crate::supervise::session::Key;
    use crate::tr;

    pub fn start(g: &mut Grader) -> CheckOutcome {
        let (run, first) = match g.start() {
            Ok(x) => x,
            Err(e) => return verdict(Status::Error, e),
        };
        let mut o = checks::start(g.idiom, &run, &first);
        note_flood(&mut o, &run);
        match first {
            Ok(ready) => {
                g.first_ready = Some(ready);
                g.current = Some(run);
            }
            Err(_) => g.finish(run),
        }
        o
    }

    pub fn handlers(g: &mut Grader) -> CheckOutcome {
        match &g.first_ready {
            Some(ready) => checks::handlers(g.idiom, ready, &g.owners),
            None => verdict(Status::Error, tr!("the run was not ready")),
        }
    }

    pub fn ctrl_c(g: &mut Grader) -> CheckOutcome {
        g.with_run("ctrl-c", |cfg, idiom, owners, run| {
            key_line(
                cfg,
                idiom,
                owners,
                run,
                Key::CtrlC,
                Line::Go,
                Line::Seatbelt,
            )
        })
    }

    pub fn ctrl_backslash(g: &mut Grader) -> CheckOutcome {
        g.with_run("ctrl-backslash", |cfg, idiom, owners, run| {
            key_line(
                cfg,
                idiom,
                owners,
                run,
                Key::CtrlBackslash,
                Line::Seatbelt,
                Line::Go,
            )
        })
    }

    pub fn repeat(g: &mut Grader) -> CheckOutcome {
        g.with_run("repeat", sequence::repeat)
    }

    pub fn roles(g: &mut Grader) -> CheckOutcome {
        sequence::roles(g)
    }

    /// The id of a check of the table, as the `'static` name claims are kept under.
    fn check_id(id: &str) -> Option<&'static str> {
        super::table().iter().map(|c| c.doc.id).find(|i| *i == id)
    }

    /// Why `ctrl-z`, `exit-order` and `cleanup` were not graded: no healthy run was had.
    const NO_RUN: &str = "skipped: the program could not be restarted for Ctrl-Z";

    pub fn ctrl_z(g: &mut Grader) -> CheckOutcome {
        // ctrl-z, exit-order and cleanup share one run.
        let fresh = g.healthy();
        let (Ok(fresh), Some(mut run)) = (fresh, g.current.take()) else {
            g.ending = Some(None);
            return verdict(Status::Skipped, crate::i18n::doc(NO_RUN));
        };
        g.account_cpu(&run);
        // The conductor's exit status (the driver reaps it), from the kernel's exit
        // events: listened to from here on only, since every exit on the machine comes in.
        let exits = ExitWatch::start();
        if let (Some(w), Some(ready)) = (&exits, &run.ready) {
            w.watch(ready.conductor);
        }
        let (mut z, claim) = ending::ctrl_z(g.cfg, g.idiom, &g.owners, &mut run);
        g.owners.claim("ctrl-z", claim);
        g.ctrl_z_fault = match (&z.because_of, z.status) {
            (Some(by), _) => check_id(by),
            (None, Status::Failed) => Some("ctrl-z"),
            _ => None,
        };
        note_flood(&mut z, &run);
        if fresh {
            z.details
                .push(tr!("graded on a fresh run: the previous one had ended").into());
        }
        g.current = Some(run);
        g.ending = Some(Some(Ending {
            exits,
            driver_exited: false,
            judged_by: None,
        }));
        z
    }

    pub fn exit_order(g: &mut Grader) -> CheckOutcome {
        let (Some(Some(end)), Some(run)) = (g.ending.as_mut(), g.current.as_mut()) else {
            return verdict(Status::Skipped, crate::i18n::doc(NO_RUN));
        };
        let (mut order, seen) =
            ending::exit_order(g.cfg, g.idiom, run, end.exits.as_ref(), g.ctrl_z_fault);
        note_flood(&mut order, run);
        end.driver_exited = seen.driver_exited;
        end.judged_by = seen.judged_by;
        order
    }

    pub fn cleanup(g: &mut Grader) -> CheckOutcome {
        let (Some(Some(end)), Some(run)) = (g.ending.as_ref(), g.current.as_mut()) else {
            return verdict(Status::Skipped, crate::i18n::doc(NO_RUN));
        };
        if !end.driver_exited {
            return match end.judged_by {
                Some(by) => verdict(
                    Status::Skipped,
                    tr!("skipped because of {by}: the driver did not exit, so what it would leave behind could not be seen", by = by),
                ),
                None => verdict(
                    Status::Skipped,
                    tr!("skipped: the driver did not exit (see exit-order)"),
                ),
            };
        }
        ending::cleanup_check(run, end.judged_by)
    }

    pub fn idle(g: &mut Grader) -> CheckOutcome {
        g.close();
        checks::idle(g.cfg, g.idiom, g.cpu_shares(), &g.busy_at_start, g.stable)
    }
}
