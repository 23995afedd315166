//! The server's life: `server-start` (it listens), and `cleanup` at the end (children
//! reaped, SIGTERM obeyed).

use crate::tr;
use std::time::Instant;

use crate::grading::evidence::{judged_in, Fault};
use crate::grading::idiom::Idiom;
use crate::report::CheckOutcome;
use crate::submission::Language;

use super::super::config::{fill, FileserverConfig};
use super::super::policy::{self, Sigterm, VanishedClient};
use crate::text::escape;

use super::{
    await_no_leftovers, fail, name_list, pass, poll_until, with_server, Ctx, ServerProc,
    StartProblem,
};

/// `server-start`: the server listens (on the port given, when it is given one) and prints
/// the configured readiness line. A server that listens is graded by the other checks
/// whatever else is wrong here; one that does not listen skips them.
pub fn server_start(ctx: &mut Ctx) -> CheckOutcome {
    let cfg = ctx.cfg;
    let at = match ctx.start_server() {
        Ok(at) => at,
        Err(p) => {
            ctx.unstartable = true;
            let msg = match p {
                StartProblem::Exited(how) => tr!("the server {how} before listening", how = how),
                StartProblem::NotListening => tr!("the server did not listen on a TCP port within {ms} ms", ms = cfg.timing.startup_ms),
                StartProblem::OthersListen(port) => tr!("the server did not listen within {ms} ms: only another process it started listens (on port {port}); the program started must listen itself", ms = cfg.timing.startup_ms, port = port),
                StartProblem::Unreachable(a) => tr!("the server listens only on {a}, which is not this machine's loopback: bind 0.0.0.0 or 127.0.0.1", a = a),
                StartProblem::Spawn(e) => tr!("the server could not be started: {e}", e = e),
                StartProblem::Library(why) => {
                    tr!("the server was not started: the library cannot be provided: {why}", why = why)
                }
            };
            let mut o = with_output(ctx, fail(msg));
            o.hint = Some(start_hint(cfg));
            return o;
        }
    };
    let mut problems = Vec::new();
    if let Some(given) = ctx.given_port.filter(|p| *p != at.port()) {
        problems.push(tr!(
            "the server listens on port {at}, not on the port it was given ({given})",
            at = at.port(),
            given = given
        ));
    }
    let line = &cfg.server.ready_line;
    if !line.is_empty() {
        let line = fill(line, &[("port", &at.port().to_string())]);
        let deadline = Instant::now() + cfg.timing.startup();
        let printed = ctx
            .server
            .as_mut()
            .is_some_and(|s| s.await_line(&line, deadline));
        if !printed {
            // A port the grader picked differs from run to run: the report names it by role.
            let (port, shown) = if ctx.given_port == Some(at.port()) {
                (tr!("the given port").to_string(), "<port>".to_string())
            } else {
                (tr!("port {port}", port = at.port()), at.port().to_string())
            };
            let shown = fill(&cfg.server.ready_line, &[("port", &shown)]);
            problems.push(tr!("the server listens on {port}, but did not print \"{line}\" (the other checks go on)", port = port, line = escape::one_line(shown.as_bytes())));
        }
    }
    if problems.is_empty() {
        return pass(if ctx.given_port.is_some() {
            tr!("the server listens on the given port").to_string()
        } else {
            tr!("the server listens on port {at}", at = at.port())
        });
    }
    let mut o = with_output(ctx, fail(problems.join(tr!("; "))));
    o.hint = Some(start_hint(cfg));
    o
}

/// How the server is to start, as the config says: its arguments, where it listens, the
/// readiness line (the exercise's `server <port> <library-dir>`, or a course's own set-up).
fn start_hint(cfg: &FileserverConfig) -> String {
    let placeholders = [
        ("port", "<port>"),
        ("library", "<library-dir>"),
        ("host", "<host>"),
    ];
    let args = &cfg.server.args;
    let command = std::iter::once("server".to_string())
        .chain(args.iter().map(|a| fill(a, &placeholders)))
        .collect::<Vec<_>>()
        .join(" ");
    let listen = if args.iter().any(|a| a.contains("{port}")) {
        tr!("bind 127.0.0.1:<port>").to_string()
    } else {
        tr!("listen on its own port (0.0.0.0 or 127.0.0.1)").to_string()
    };
    let mut hint = tr!(
        "start as `{command}`, {listen}",
        command = command,
        listen = listen
    );
    if !cfg.server.ready_line.is_empty() {
        let line = fill(&cfg.server.ready_line, &placeholders);
        hint.push_str(&tr!(
            ", then print `{line}`",
            line = escape::one_line(line.as_bytes())
        ));
    }
    hint
}

/// `o` with the server's output as what was seen (escaped, and how much was not kept).
fn with_output(ctx: &Ctx, mut o: CheckOutcome) -> CheckOutcome {
    if let Some(s) = &ctx.server {
        let (out, total) = s.output();
        o.seen = Some(if out.is_empty() {
            tr!("no output").into()
        } else {
            // Several lines (a traceback): shown as lines, escaped.
            escape::for_terminal(&out)
        });
        if total > out.len() as u64 {
            o.details.push(tr!(
                "{total} more bytes of output not kept",
                total = total - out.len() as u64
            ));
        }
    }
    o
}

/// What `cleanup` found wrong.
enum CleanupFault {
    Zombies,
    Leftovers(Vec<String>),
    ChildrenOutlived,
    /// The server did not exit within this many ms of SIGTERM.
    NoExit(u64),
    /// How the server ended after SIGTERM, when not with status 0.
    ExitStatus(String),
}

impl std::fmt::Display for CleanupFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CleanupFault::Zombies => f.write_str(tr!(
                "zombie child processes: finished children were never reaped"
            )),
            CleanupFault::Leftovers(names) => f.write_str(&tr!(
                "temporary files left in the library: {name_list}",
                name_list = name_list(names)
            )),
            CleanupFault::ChildrenOutlived => {
                f.write_str(tr!("child processes of the server outlived it"))
            }
            CleanupFault::NoExit(ms) => f.write_str(&tr!(
                "the server did not exit within {ms} ms of SIGTERM",
                ms = ms
            )),
            CleanupFault::ExitStatus(how) => {
                f.write_str(&tr!("after SIGTERM the server {how}", how = how))
            }
        }
    }
}

impl Fault for CleanupFault {
    fn hint_in(&self, lang: Language) -> Option<String> {
        let idiom = Idiom(lang);
        Some(match self {
            CleanupFault::Zombies => idiom.say(
                tr!("reap each child as it finishes, in a SIGCHLD handler"),
                idiom.reap_all_nohang(),
            ),
            CleanupFault::Leftovers(_) => {
                tr!("remove an upload's temporary file when the upload fails or is cut off, and rename it when it completes").into()
            }
            CleanupFault::ChildrenOutlived => {
                tr!("the server's children must end when it exits (or with their client): a child left serving keeps the port and the library busy").into()
            }
            CleanupFault::NoExit(_) | CleanupFault::ExitStatus(_) => idiom.say(
                tr!("exit with status 0 on SIGTERM, even with clients connected"),
                idiom.exit_on("SIGTERM"),
            ),
        })
    }
}

/// `cleanup`: no zombie children once clients have gone; SIGTERM ends it with status 0.
pub fn cleanup(ctx: &mut Ctx) -> CheckOutcome {
    let cfg = ctx.cfg;
    with_server(ctx, "cleanup", |ctx| {
        let mut faults = Vec::new();
        let deadline = Instant::now() + cfg.timing.exit();
        let reaped = ctx
            .server
            .as_ref()
            .is_none_or(|s| poll_until(deadline, || s.zombie_children() == 0));
        if !reaped {
            faults.push(CleanupFault::Zombies);
        }
        let temps = await_no_leftovers(ctx, cfg.timing.op());
        if !temps.is_empty() {
            faults.push(CleanupFault::Leftovers(temps));
        }
        // A client stays connected while the server is asked to stop. Its children are
        // its family: grandchildren of a double fork have left its tree, not its session.
        let connected = ctx.connect(cfg.timing.op()).ok();
        let children: Vec<nix::unistd::Pid> = ctx
            .server
            .as_ref()
            .map(|s| {
                crate::supervise::procfs::family(s.pid)
                    .iter()
                    .map(|p| nix::unistd::Pid::from_raw(p.pid))
                    .collect()
            })
            .unwrap_or_default();
        let exit_deadline = Instant::now() + cfg.timing.exit();
        let status = ctx.server.as_mut().and_then(|s| s.terminate(exit_deadline));
        drop(connected);
        let policy = ctx.policy;
        let mut notes = Vec::new();
        if status.is_some() && !children_gone(&children, Instant::now() + cfg.timing.exit()) {
            // A child left receiving from its vanished client forever is what a course that
            // lets handlers spin does not judge.
            if policy.vanished_client == VanishedClient::MaySpin {
                notes.push(policy::beyond(
                    &CleanupFault::ChildrenOutlived.to_string(),
                    "vanished_client",
                    "may-spin",
                ));
            } else {
                faults.push(CleanupFault::ChildrenOutlived);
            }
        }
        let by_sigterm = |st: &std::process::ExitStatus| {
            std::os::unix::process::ExitStatusExt::signal(st) == Some(libc_sigterm())
        };
        let passed = match status {
            None => {
                faults.push(CleanupFault::NoExit(cfg.timing.exit_ms));
                ""
            }
            Some(st) if st.success() => {
                tr!("no zombie children; SIGTERM ended the server with status 0")
            }
            Some(st) if by_sigterm(&st) && policy.sigterm == Sigterm::DefaultAction => {
                notes.push(policy::beyond(
                    &CleanupFault::ExitStatus(ServerProc::describe_status(st)).to_string(),
                    "sigterm",
                    "default-action",
                ));
                tr!("no zombie children; SIGTERM ended the server (its default action)")
            }
            Some(st) => {
                faults.push(CleanupFault::ExitStatus(ServerProc::describe_status(st)));
                ""
            }
        };
        let mut o = judged_in(&faults, passed, ctx.lang);
        o.notes = notes;
        o.actions = vec![
            tr!("one client connected").into(),
            tr!("sent SIGTERM").into(),
        ];
        o
    })
}

/// SIGTERM's number, as a wait status holds it.
fn libc_sigterm() -> i32 {
    nix::sys::signal::Signal::SIGTERM as i32
}

/// Waits until none of `children` is alive (exited ones may stay zombies of init).
fn children_gone(children: &[nix::unistd::Pid], deadline: Instant) -> bool {
    use crate::supervise::procfs::{stat, RunState};
    poll_until(deadline, || {
        !children
            .iter()
            .any(|p| stat(*p).is_ok_and(|s| s.state != RunState::Zombie))
    })
}

#[cfg(test)]
mod start_hint_tests {
    use super::*;

    #[test]
    fn the_start_hint_follows_the_configured_set_up() {
        let shipped = FileserverConfig::shipped().unwrap();
        assert_eq!(
            start_hint(&shipped),
            "start as `server <port> <library-dir>`, bind 127.0.0.1:<port>, then print \
             `listening on 127.0.0.1:<port>`"
        );
        let mut course = shipped.clone();
        course.server.args = vec![];
        course.server.ready_line = String::new();
        assert_eq!(
            start_hint(&course),
            "start as `server`, listen on its own port (0.0.0.0 or 127.0.0.1)"
        );
        course.server.args = vec!["127.0.0.1".into(), "{port}".into()];
        assert_eq!(
            start_hint(&course),
            "start as `server 127.0.0.1 <port>`, bind 127.0.0.1:<port>"
        );
    }
}
