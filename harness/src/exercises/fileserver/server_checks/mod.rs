//! The server checks: the grader is the client. Each check opens its own connections; a
//! server that died in an earlier check is started again (and the report says so), so one
//! crash does not fail every later check.
//!
//! Here: the state the checks share, how a check gets a live server, the verdict helpers
//! (and [`ReplyFault`], a request gone wrong) and the waits. Their declarations: `table`.
//! The checks themselves, each with the faults it can find (worded once, judged by
//! `grading::evidence::judged`): `lifecycle` (start, and the end: cleanup), `download` (L
//! and G), `upload` (P), `traversal` (names leading out of the library), `concurrent`
//! (clients at once) and `robustness` (vanishing clients, Q).

pub(super) use crate::net::poll_until;
use crate::tr;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::config::{fill, FileserverConfig};
use crate::grading::evidence::{judged, Fault};
use crate::net::client::{Conn, Connector, FileProtocol, ProtoError};
use crate::net::dialect::Dialect;
use crate::net::listen;
use crate::net::transfer::{compare_streams, Comparator, Comparison};
use crate::report::{CheckOutcome, Status};
use crate::submission::Language;
use crate::supervise::spawn::Launch;
use crate::text::escape;

use super::library::{self, Content, Library};
use super::server::{ServerProc, StartProblem};

mod concurrent;
mod download;
mod lifecycle;
mod robustness;
mod table;
mod traversal;
mod upload;

pub use table::table;

pub use crate::grading::evidence::verdict;

fn pass(message: impl Into<String>) -> CheckOutcome {
    verdict(Status::Passed, message)
}

fn fail(message: impl Into<String>) -> CheckOutcome {
    verdict(Status::Failed, message)
}

/// The outcome of a check that stopped at its first fault.
fn failed<F: Fault>(fault: F) -> CheckOutcome {
    judged(&[fault], String::new())
}

/// A request that went wrong: the exchange broke, or the server refused what it had to do.
#[derive(Debug)]
pub enum ReplyFault {
    /// The exchange of request `what` broke (no reply in time, a reply off the protocol…).
    Broken { what: String, error: ProtoError },
    /// Request `what` was refused; `refused` says how, in the dialect's words
    /// ([`Dialect::refused`]: `refused with ERR <reason>`).
    Refused { what: String, refused: String },
}

impl ReplyFault {
    /// Request `what` refused with `reason`, worded in `dialect`'s words.
    fn refused(dialect: &Dialect, what: String, reason: &str) -> ReplyFault {
        ReplyFault::Refused {
            what,
            refused: dialect.refused(reason),
        }
    }
}

impl std::fmt::Display for ReplyFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReplyFault::Broken { what, error } => write!(f, "{what}: {error}"),
            ReplyFault::Refused { what, refused } => write!(f, "{what}: {refused}"),
        }
    }
}

impl Fault for ReplyFault {}

/// The state shared by the server checks.
pub struct Ctx<'a> {
    pub cfg: &'a FileserverConfig,
    /// The server's language: hints name its calls.
    pub lang: Language,
    pub launch: &'a Launch,
    pub lib: Library,
    pub root: PathBuf,
    pub server: Option<ServerProc>,
    pub starts: u32,
    /// The check that last ran on a server, to say where a server died between checks.
    pub last_check: Option<&'static str>,
    pub sandbox: Option<std::sync::Arc<crate::supervise::isolation::Sandbox>>,
    /// The library as the server is told about it (`{library}`): the configured path, or
    /// the grader's directory.
    pub library_arg: String,
    /// Where uploads land (the library, or the server's working directory).
    pub uploads: PathBuf,
    /// Why the library cannot be where the configured path says (the server is not started).
    pub library_problem: Option<String>,
    /// Set when `server-start` found no serving server: the other checks are skipped.
    pub unstartable: bool,
    /// The port handed to the last server started, when the arguments hand it one.
    pub given_port: Option<u16>,
    /// The protocol the checks speak.
    pub dialect: std::sync::Arc<Dialect>,
    /// What the course requires beyond its protocol.
    pub policy: super::policy::Policy,
    /// The requests the server left unanswered so far: not waited for again.
    pub unanswered: std::sync::Arc<crate::net::answer::Unanswered>,
}

impl<'a> Ctx<'a> {
    fn addr(&self) -> SocketAddr {
        self.server
            .as_ref()
            .map_or(SocketAddr::from(([127, 0, 0, 1], 0)), |s| s.addr)
    }

    /// A port free in the grading's network namespace (every port is, in a fresh one).
    fn free_port(&self) -> std::io::Result<u16> {
        match &self.sandbox {
            Some(sb) => Ok(sb.bind_in(([127, 0, 0, 1], 0).into())?.local_addr()?.port()),
            None => listen::free_port(),
        }
    }

    /// Starts the server with the configured arguments and waits until it (or a process it
    /// started) listens: where it listens.
    pub fn start_server(&mut self) -> Result<SocketAddr, StartProblem> {
        self.starts += 1;
        if let Some(why) = &self.library_problem {
            return Err(StartProblem::Library(why.clone()));
        }
        let rules = &self.cfg.server;
        self.given_port = if rules.gives_port() {
            Some(
                self.free_port()
                    .map_err(|e| StartProblem::Spawn(e.to_string()))?,
            )
        } else {
            None
        };
        let port = self.given_port.map(|p| p.to_string()).unwrap_or_default();
        let args: Vec<String> = rules
            .args
            .iter()
            .map(|a| fill(a, &[("port", &port), ("library", &self.library_arg)]))
            .collect();
        let mut s = ServerProc::start(self.launch, &args, self.cfg.limits.output_bytes)?;
        let r = s.await_listening(self.given_port, Instant::now() + self.cfg.timing.startup());
        self.server = Some(s);
        r
    }

    /// A live server for the next check: the running one, or a fresh start (noted).
    fn ensure(&mut self, o_notes: &mut Vec<String>) -> Result<(), String> {
        if self.unstartable {
            return Err(tr!("the server did not start (see server-start)").into());
        }
        // The last check may have left the server dying (a dropped client); know which.
        self.settle_server();
        if self.server_alive() {
            return Ok(());
        }
        let how = self
            .exit_words()
            .unwrap_or_else(|| tr!("was not running").into());
        let retired = self
            .server
            .as_ref()
            .and_then(|s| s.retired().map(str::to_string));
        if let Some(old) = self.server.take() {
            old.finish(Instant::now() + Duration::from_millis(1000));
        }
        // What the dead server left half-done was judged by the check it died in.
        for name in leftover_temps(self) {
            let _ = std::fs::remove_file(self.uploads.join(name));
        }
        self.start_server().map_err(|p| {
            tr!(
                "the server {how}, and restarting it failed: {problem}",
                how = how,
                problem = format!("{p:?}")
            )
        })?;
        o_notes.push(match retired {
            Some(why) => tr!("the grader stopped the server after the {last_check} check ({why}) and started it again for this one", last_check = self.last_check.unwrap_or(tr!("previous")), why = why),
            None => match self.last_check {
                Some(id) => tr!("the server {how} during or after the {id} check; it was started again for this one", how = how, id = id),
                None => tr!("the server {how} during an earlier check; it was started again for this one", how = how),
            },
        });
        Ok(())
    }

    fn connector(&self) -> Connector {
        Connector {
            addr: self.addr(),
            sandbox: self.sandbox.clone(),
            dialect: Some(self.dialect.clone()),
            server_pid: self.server.as_ref().map(|s| s.pid.as_raw()),
            unanswered: Some(self.unanswered.clone()),
        }
    }

    fn connect(&self, within: Duration) -> Result<Conn, ProtoError> {
        self.connector().connect(Instant::now() + within)
    }

    /// Closes `conn` and waits (within the request deadline) until the server has closed its
    /// end too, so that whatever the client's leaving does to the server happens in this
    /// check; or until a thread of the server, not seen spinning before, spins instead (a
    /// handler reading the end of the connection again and again), which ends the wait
    /// early whatever the machine's load.
    fn leave(&mut self, mut conn: Conn) -> Left {
        let client_port = conn.stream().local_addr().map(|a| a.port()).unwrap_or(0);
        drop(conn);
        let deadline = Instant::now() + self.cfg.timing.op();
        let Some(s) = self.server.as_mut() else {
            return Left::Closed;
        };
        let (pid, port) = (s.pid, s.addr.port());
        let since = s.cpu_look();
        let (mut looks, mut spun) = (0u32, false);
        let closed = poll_until(deadline, || {
            if !listen::server_side_open(pid, port, client_port) {
                return true;
            }
            looks += 1;
            // A look at the whole family reads all of /proc: every 10th look (20 ms) only.
            spun = looks.is_multiple_of(10) && s.spins_since(&since);
            spun
        });
        match (closed, spun) {
            (_, true) => Left::Spinning,
            (true, false) => Left::Closed,
            (false, false) => Left::KeptOpen,
        }
    }

    /// Waits (within the request deadline) until the server has died or gone quiet.
    fn settle_server(&mut self) {
        let deadline = Instant::now() + self.cfg.timing.op();
        if let Some(s) = self.server.as_mut() {
            s.settle(deadline);
        }
    }

    fn server_alive(&mut self) -> bool {
        self.server.as_mut().is_some_and(|s| s.exited().is_none())
    }

    /// How the server ended ("exited with status 1", …); None while it runs.
    fn exit_words(&mut self) -> Option<String> {
        self.server.as_mut().and_then(|s| s.exit_words())
    }
}

/// How the server took a client's leaving ([`Ctx::leave`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Left {
    /// It closed its end of the connection.
    Closed,
    /// It kept its end open until the deadline.
    KeptOpen,
    /// It kept its end open while a thread of it started spinning.
    Spinning,
}

/// Runs `body` with a live server; turns a restart failure into a skipped check, and a
/// check the dialect's protocol cannot carry into one skipped with why.
fn with_server(
    ctx: &mut Ctx,
    id: &'static str,
    body: impl FnOnce(&mut Ctx) -> CheckOutcome,
) -> CheckOutcome {
    if let Some(why) = ctx.dialect.not_in_protocol(id) {
        return verdict(
            Status::Skipped,
            format!(
                "{}: {}",
                crate::report::NOT_IN_PROTOCOL,
                escape::one_line(why.as_bytes())
            ),
        );
    }
    ctx.unanswered.judging(id);
    let mut notes = Vec::new();
    if let Err(why) = ctx.ensure(&mut notes) {
        return verdict(Status::Skipped, tr!("skipped: {why}", why = why));
    }
    let mut o = body(ctx);
    ctx.last_check = Some(id);
    o.details.extend(notes);
    o
}

/// The outcome of transfer `what` from its comparison: the summary, and where a difference
/// is, the window around it.
fn comparison_outcome(what: &str, c: &Comparison) -> CheckOutcome {
    if c.identical() {
        return pass(tr!("{what}: {summary}", what = what, summary = c.summary()));
    }
    let mut o = fail(tr!("{what}: {summary}", what = what, summary = c.summary()));
    if let Some(w) = c.window_text() {
        o.details.extend(w.lines().map(|l| l.to_string()));
    }
    o.hint = c.hint.clone();
    o
}

/// The time one transfer may take: longer for the large file.
fn transfer_time(cfg: &FileserverConfig, large: bool) -> Duration {
    if large {
        cfg.timing.large()
    } else {
        cfg.timing.op()
    }
}

/// A download of `name` on `conn`, compared on the fly with `content`: the comparison, or
/// the refusal's reason.
fn get_compared(
    conn: &mut Conn,
    name: &str,
    content: &Content,
) -> Result<Result<Comparison, String>, ProtoError> {
    get_compared_noting(conn, name, content, &mut || {})
}

/// [`get_compared`], calling `data` as each piece of the file's bytes arrives.
fn get_compared_noting(
    conn: &mut Conn,
    name: &str,
    content: &Content,
    data: &mut dyn FnMut(),
) -> Result<Result<Comparison, String>, ProtoError> {
    let mut cmp = Comparator::new(content.reader(), content.len());
    conn.expect_len(content.len());
    match conn.get(name, &mut |b| {
        data();
        cmp.feed(b)
    })? {
        Err(reason) => Ok(Err(reason)),
        Ok(_) => Ok(Ok(cmp
            .finish()
            .map_err(|e| ProtoError::Io(e.to_string()))?)),
    }
}

/// Whether the seeded file `name` is still in the library as it was seeded.
fn intact(ctx: &Ctx, name: &str) -> bool {
    let Some(content) = ctx.lib.content(name) else {
        return true;
    };
    std::fs::File::open(ctx.lib.dir.join(name))
        .ok()
        .and_then(|f| compare_streams(f, content.reader(), content.len()).ok())
        .is_some_and(|c| c.identical())
}

/// File names for a message: escaped, comma-separated.
fn name_list(names: &[String]) -> String {
    names
        .iter()
        .map(|t| escape::one_line(t.as_bytes()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Waits until the library holds no temporary file and no `cut.bin` (the server may still
/// be removing them), or `within` passes; returns the temporary files left.
fn await_no_leftovers(ctx: &Ctx, within: Duration) -> Vec<String> {
    poll_until(Instant::now() + within, || {
        leftover_temps(ctx).is_empty() && !ctx.uploads.join("cut.bin").exists()
    });
    leftover_temps(ctx)
}

/// Hidden temporary files left where uploads land (other than the seeded hidden file).
fn leftover_temps(ctx: &Ctx) -> Vec<String> {
    library::entries(&ctx.uploads)
        .into_iter()
        .filter(|n| n.starts_with('.') && n != library::HIDDEN)
        .collect()
}
