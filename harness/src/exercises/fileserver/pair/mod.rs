//! Pair mode: the student's client against the student's own server, whatever protocol the
//! two speak. The server is started as the server checks start it (the course's arguments,
//! its port found, its library where the course's path says); the client as the client
//! checks start it, told the address of a relay that passes its connection on to the server
//! (each in a sandbox of its own) and counts the bytes. The grader types the client's menu
//! and judges the files that land in the client's directory and in the server's library,
//! byte for byte; a result counts only when its bytes crossed the connection.

mod checks;
mod relay;
mod table;

use std::time::Instant;

pub use table::table;

use super::client_checks::{self, client_launch, Terminal};
use super::config::FileserverConfig;
use super::server::StartProblem;
use super::server_checks::{verdict, Ctx};
use super::{isolation_of, wall_seconds, ServerSide};
use crate::grading::Checklist;
use crate::report::{CheckOutcome, Status};
use crate::submission::{Language, Prepared};
use crate::supervise::cleanup;
use relay::{Relay, Target};

/// The pair checks' shared state: the student's server (as the server checks hold it), the
/// relay, and the student's client at its terminal.
pub struct PairGrading<'a> {
    cfg: &'a FileserverConfig,
    /// The client's language: hints name its calls.
    lang: Language,
    server: Ctx<'a>,
    relay: Relay,
    term: Terminal,
}

/// Runs the pair checks on the server `server` and the client `client`; the isolation in
/// force (the server's).
pub fn grade(
    cfg: &FileserverConfig,
    server: &Prepared,
    client: &Prepared,
    list: &mut Checklist,
) -> Vec<String> {
    let root = server.workdir.path().join("pair-side");
    let side = match ServerSide::new(cfg, server, root, client_checks::LARGE_BYTES) {
        Ok(side) => side,
        Err(why) => {
            list.settle_all(&table(), Status::Error, &why);
            return Vec::new();
        }
    };
    let server_sandbox = side.sandbox.clone();
    let isolation = isolation_of(&server_sandbox);
    let launch = side.launch.clone();
    let mut ctx = ServerSide::ctx(cfg, server.language, &launch, side);
    let started = ctx.start_server();
    let at = match (started, ctx.server.as_ref()) {
        (Ok(_), Some(s)) => s.addr,
        (Err(p), _) => {
            let why = format!(
                "skipped: the server did not start: {}",
                start_words(cfg, &p)
            );
            list.settle_all(&table(), Status::Skipped, &why);
            finish_server(ctx);
            return isolation;
        }
        (Ok(_), None) => {
            let why = "skipped: the server did not start";
            list.settle_all(&table(), Status::Skipped, why);
            return isolation;
        }
    };
    let (client_sandbox, cwd, base) = client_checks::client_side(cfg, client);
    let target = Target {
        addr: at,
        sandbox: Some(server_sandbox.clone()),
    };
    let relay = match Relay::start(Some(&client_sandbox), cfg.client.port, target) {
        Ok(r) => r,
        Err(e) => {
            let why = format!("cannot listen for the client: {e}");
            list.settle_all(&table(), Status::Error, &why);
            finish_server(ctx);
            return isolation;
        }
    };
    let launch = client_launch(cfg, &base, relay.port());
    list.set_deadline(
        client_sandbox.deadline().min(server_sandbox.deadline()),
        wall_seconds(cfg),
    );
    let mut g = PairGrading {
        cfg,
        lang: client.language,
        server: ctx,
        relay,
        term: Terminal::new(launch, cwd),
    };
    list.run(&table(), &mut g);
    g.term.end();
    g.relay.stop();
    finish_server(g.server);
    isolation
}

fn finish_server(mut ctx: Ctx) {
    if let Some(s) = ctx.server.take() {
        s.finish(Instant::now() + cleanup::CLEANUP_TIME);
    }
    cleanup::kill_all_descendants(Instant::now() + cleanup::CLEANUP_TIME);
}

/// Why the server is not serving, in words.
fn start_words(cfg: &FileserverConfig, p: &StartProblem) -> String {
    match p {
        StartProblem::Exited(how) => format!("it {how} before listening"),
        StartProblem::NotListening => format!(
            "it did not listen on a TCP port within {} ms",
            cfg.timing.startup_ms
        ),
        StartProblem::OthersListen(port) => format!(
            "only another process it started listens (on port {port}); the program started must listen itself"
        ),
        StartProblem::Unreachable(a) => format!("it listens only on {a}, not on this machine's loopback"),
        StartProblem::Spawn(e) => format!("it could not be started: {e}"),
        StartProblem::Library(why) => format!("the library cannot be provided: {why}"),
    }
}

impl PairGrading<'_> {
    /// Judges one pair check: a live server (started again, with a fresh client, when it
    /// died), a client at its prompt, then `check` on them.
    fn judge(
        &mut self,
        check: fn(&mut checks::Turn) -> Result<checks::Seen, String>,
    ) -> CheckOutcome {
        let mut notes = Vec::new();
        if let Err(why) = self.ensure_server(&mut notes) {
            return verdict(Status::Skipped, format!("skipped: {why}"));
        }
        let (cfg, lang) = (self.cfg, self.lang);
        // A client's end (a crash, a restart) must not take the student's server with it.
        self.term.spare = self.server.server.iter().map(|s| s.pid).collect();
        let run = match self.term.ready(cfg, lang) {
            Ok(run) => run,
            Err(mut o) => {
                o.details.extend(notes);
                return *o;
            }
        };
        let Some(server_pid) = self.server.server.as_ref().map(|s| s.pid) else {
            return verdict(
                Status::Skipped,
                "skipped: the server is not running".to_string(),
            );
        };
        // The client waits on the student's server through the relay: it can move while
        // the server can.
        run.peers = vec![server_pid];
        let mut turn = checks::Turn {
            cfg,
            run,
            lib: &self.server.lib,
            uploads: &self.server.uploads,
            relay: &self.relay,
            server_pid,
        };
        let mut o = match check(&mut turn) {
            Ok(seen) => turn.judged(seen, lang),
            Err(trouble) => verdict(Status::Error, trouble),
        };
        // One fault, one check: a client found at fault may be out of step with the
        // server; the next check starts a fresh one.
        if o.status != Status::Passed {
            self.term.end();
        }
        o.details.extend(notes);
        o
    }

    /// The server serving: the running one, or one started again (noted; the client too
    /// starts again, its connection gone with the old server).
    fn ensure_server(&mut self, notes: &mut Vec<String>) -> Result<(), String> {
        let Some(s) = self.server.server.as_mut() else {
            return Err("the server is not running".into());
        };
        let Some(how) = s.exit_words() else {
            return Ok(());
        };
        if let Some(old) = self.server.server.take() {
            old.finish(Instant::now() + cleanup::CLEANUP_TIME);
        }
        self.term.end();
        self.server.start_server().map_err(|p| {
            format!(
                "the server {how}, and restarting it failed: {}",
                start_words(self.cfg, &p)
            )
        })?;
        if let Some(s) = &self.server.server {
            self.relay.retarget(Target {
                addr: s.addr,
                sandbox: self.server.sandbox.clone(),
            });
        }
        notes.push(format!(
            "the server {how} during an earlier pair check; it and the client were started again for this one"
        ));
        Ok(())
    }
}
