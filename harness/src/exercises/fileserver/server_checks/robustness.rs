//! What a server must survive: clients vanishing mid-transfer (`disconnect`), and a client
//! saying goodbye (`quit`). Many clients at once are `concurrent`'s.

use crate::tr;
use std::io::Read;
use std::time::Instant;

use crate::grading::evidence::{judged, judged_in, Fault};
use crate::grading::idiom::Idiom;
use crate::net::client::{FileProtocol, ProtoError};
use crate::net::dialect::{Dialect, Framing};
use crate::report::CheckOutcome;
use crate::submission::Language;
use crate::text::escape;

use super::super::policy::{PartialUploads, Policy, Replace, VanishedClient};
use super::download::get_sent;
use super::library;
use super::{await_no_leftovers, intact, leftover_temps, name_list, with_server, Ctx, Left};

/// One way of vanishing in `disconnect`; pushes what it finds wrong, and may say what it
/// sent more exactly than planned (a numbered dialect's number) in its action. True when
/// the server's handler was left spinning.
type Vanish = fn(&mut Ctx, &mut Vec<DisconnectFault>, &mut String) -> bool;

/// What `disconnect` found wrong.
enum DisconnectFault {
    /// The server ended (`how`) when a client vanished during `during`.
    Died {
        how: String,
        during: &'static str,
    },
    /// The server ended (`how`) by the end of the check.
    Dead(String),
    /// Handlers spun at full speed, their connections open, after clients vanished during
    /// these steps.
    Spinning(Vec<&'static str>),
    ReplacedDamaged,
    UploadKeptOpen,
    PartialLeft,
    TempsLeft(Vec<String>),
    CutNotStarted(ProtoError),
    /// The listing command (`list`, as the dialect says it) was refused afterwards.
    ListRefused {
        list: String,
        reason: String,
    },
    ListFailed {
        list: String,
        error: ProtoError,
    },
}

impl std::fmt::Display for DisconnectFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use DisconnectFault::*;
        match self {
            Died { how, during } => f.write_str(&tr!("the server {how} when a client disconnected during {during}", how = how, during = during)),
            Dead(how) => f.write_str(&tr!("the server {how} when a client disconnected", how = how)),
            Spinning(during) if during.len() == 1 => f.write_str(&tr!("a handler went on at 100% CPU, its connection open, after its client vanished during {during} (it receives from the closed connection again and again)", during = during[0])),
            Spinning(during) => f.write_str(&tr!("handlers went on at 100% CPU, their connections open, after their clients vanished during {during} (each receives from its closed connection again and again)", during = during.join(tr!(" and during ")))),
            ReplacedDamaged => f.write_str(&tr!("a cut-off upload replacing {library} damaged the old file (it must stay as it was)", library = library::SPACES)),
            UploadKeptOpen => f.write_str(tr!("after the uploading client vanished, the server kept its connection open")),
            PartialLeft => f.write_str(tr!("the cut-off upload left a partial file named cut.bin")),
            TempsLeft(names) => f.write_str(&tr!("the cut-off upload left temporary files: {name_list}", name_list = name_list(names))),
            CutNotStarted(e) => f.write_str(&tr!("the upload to be cut off could not start: {e}", e = e)),
            ListRefused { list, reason } => f.write_str(&tr!("afterwards {list} was refused: {reason}", list = list, reason = reason)),
            ListFailed { list, error } => f.write_str(&tr!("afterwards {list} failed: {error}", list = list, error = error)),
        }
    }
}

impl DisconnectFault {
    /// The policy key and value under which this is not a fault of the course's server.
    fn allowed_by(&self, p: &Policy) -> Option<(&'static str, &'static str)> {
        match self {
            DisconnectFault::ReplacedDamaged if p.replace == Replace::InPlace => {
                Some(("replace", "in-place"))
            }
            DisconnectFault::PartialLeft if p.partial_uploads == PartialUploads::Kept => {
                Some(("partial_uploads", "kept"))
            }
            DisconnectFault::Spinning(_) if p.vanished_client == VanishedClient::MaySpin => {
                Some(("vanished_client", "may-spin"))
            }
            _ => None,
        }
    }
}

impl Fault for DisconnectFault {
    fn hint_in(&self, lang: Language) -> Option<String> {
        Some(match self {
            DisconnectFault::Spinning(_) => {
                let idiom = Idiom(lang);
                idiom.say(
                    tr!("a receive that returns nothing means the client has gone: end that client's handler then (close the connection, remove the temporary file) instead of receiving again"),
                    idiom.end_of_connection(),
                )
            }
            _ => tr!("write uploads to a hidden temporary file renamed when complete; treat a broken connection as the end of that client only").into(),
        })
    }
}

/// `disconnect`: clients vanishing mid-upload and mid-download. A handler left spinning is
/// its fault; once the check has judged whether the server goes on serving, the grader
/// stops the server (and what it started) and the next check gets a fresh one, so that the
/// spinner changes no later verdict (it would eat the CPU limit, and keep its temporary
/// files, sooner or later depending on the machine's load).
pub fn disconnect(ctx: &mut Ctx) -> CheckOutcome {
    let cfg = ctx.cfg;
    with_server(ctx, "disconnect", |ctx| {
        let d = ctx.dialect.clone();
        let list = d.show_list();
        let mut faults = Vec::new();
        let mut actions = vec![
            half_list(&d).1,
            tr!(
                "{put}, sends 100000 bytes, disconnects (the old file must stay)",
                put = d.show_put(library::SPACES, 1_000_000)
            ),
            tr!(
                "{put}, sends 100000 bytes, disconnects",
                put = d.show_put("cut.bin", 1_000_000)
            ),
            tr!(
                "{get_sent}, reads 65536 bytes, disconnects",
                get_sent = get_sent(ctx, &d.show_get(library::LARGE)).join(", ")
            ),
            tr!("{list} (new connection)", list = list),
        ];
        // Each way of vanishing, and what the client was doing (for a server that dies).
        let steps: [(Vanish, &str); 4] = [
            (vanish_mid_line, tr!("half a request line")),
            (vanish_mid_replacing, tr!("an upload replacing a file")),
            (vanish_mid_upload, tr!("an upload")),
            (vanish_mid_download, tr!("a download")),
        ];
        let mut spun = Vec::new();
        for (i, (step, what)) in steps.into_iter().enumerate() {
            if step(ctx, &mut faults, &mut actions[i]) {
                spun.push(what);
            }
            if let Some(p) = died(ctx, what) {
                faults.insert(0, p);
                break;
            }
        }
        if !spun.is_empty() {
            let at = usize::from(matches!(faults.first(), Some(DisconnectFault::Died { .. })));
            faults.insert(at, DisconnectFault::Spinning(spun.clone()));
        }
        if !ctx.server_alive() {
            let how = ctx.exit_words().unwrap_or_default();
            if !faults
                .iter()
                .any(|f| matches!(f, DisconnectFault::Died { .. }))
            {
                faults.push(DisconnectFault::Dead(how));
            }
        } else {
            match ctx.connect(cfg.timing.op()).and_then(|mut c| c.list()) {
                Ok(Ok(_)) => {}
                Ok(Err(reason)) => faults.push(DisconnectFault::ListRefused { list, reason }),
                Err(error) => faults.push(DisconnectFault::ListFailed { list, error }),
            }
        }
        // What the course does not require is noted, not failed.
        let mut notes = Vec::new();
        let policy = ctx.policy;
        faults.retain(|f| match f.allowed_by(&policy) {
            Some((key, value)) => {
                notes.push(super::super::policy::beyond(&f.to_string(), key, value));
                false
            }
            None => true,
        });
        let passed = if notes.is_empty() {
            tr!("clients vanishing mid-transfer left no partial file; the server goes on")
        } else {
            tr!("the server goes on after clients vanished mid-transfer")
        };
        let mut o = judged_in(&faults, passed, ctx.lang);
        o.notes = notes;
        o.actions = actions;
        if !spun.is_empty() {
            retire_spinner(ctx, "disconnect");
        }
        // What the cut-off uploads left was judged here: later checks start without it.
        for name in leftover_temps(ctx) {
            let _ = std::fs::remove_file(ctx.uploads.join(name));
        }
        let _ = std::fs::remove_file(ctx.uploads.join("cut.bin"));
        o
    })
}

/// Stops a server whose handler spins, once `check` has judged it, so that the next check
/// starts a fresh one.
pub(super) fn retire_spinner(ctx: &mut Ctx, check: &str) {
    let deadline = Instant::now() + ctx.cfg.timing.exit();
    if let Some(s) = ctx.server.as_mut() {
        s.retire(
            tr!(
                "a handler of it was left spinning by a client that vanished in {check}",
                check = check
            ),
            deadline,
        );
    }
}

/// What `disconnect` sends before it vanishes in the middle of a request, and how `done:`
/// says it: half a request line (the listing command without its newline), or, where
/// messages are sends, the listing command's first message, its reply never read.
fn half_list(d: &Dialect) -> (Vec<u8>, String) {
    let parts = d.commands.list.parts();
    let first = parts.first().cloned().unwrap_or_default();
    let shown = escape::one_line(first.as_bytes());
    let said = if d.messages == Framing::Lines {
        tr!(
            "sends half a request line (\"{shown}\" without its newline), disconnects",
            shown = shown
        )
    } else if parts.len() > 1 {
        tr!(
            "sends {shown} (the first message of {list}), disconnects",
            shown = shown,
            list = d.show_list()
        )
    } else {
        tr!(
            "sends {shown}, disconnects without reading the reply",
            shown = shown
        )
    };
    (first.into_bytes(), said)
}

/// Half a request, then gone.
fn vanish_mid_line(ctx: &mut Ctx, _faults: &mut Vec<DisconnectFault>, _: &mut String) -> bool {
    let (half, _) = half_list(&ctx.dialect);
    match ctx.connect(ctx.cfg.timing.op()) {
        Ok(mut c) => {
            let _ = c.send(&half);
            ctx.leave(c) == Left::Spinning
        }
        Err(_) => false,
    }
}

/// An upload replacing an existing file, cut off: the old file stays whole.
fn vanish_mid_replacing(ctx: &mut Ctx, faults: &mut Vec<DisconnectFault>, _: &mut String) -> bool {
    let Ok(mut c) = ctx.connect(ctx.cfg.timing.op()) else {
        return false;
    };
    if let Ok(Ok(())) = c.begin_put(library::SPACES, 1_000_000) {
        let _ = c.send(&[b'r'; 100_000]);
    }
    let spun = ctx.leave(c) == Left::Spinning;
    if !intact(ctx, library::SPACES) {
        faults.push(DisconnectFault::ReplacedDamaged);
    }
    spun
}

/// A new file's upload, cut off: neither the file nor a temporary one stays.
fn vanish_mid_upload(ctx: &mut Ctx, faults: &mut Vec<DisconnectFault>, _: &mut String) -> bool {
    let op = ctx.cfg.timing.op();
    let conn = ctx.connect(op).and_then(|mut c| {
        let _ = c.begin_put("cut.bin", 1_000_000)?;
        let mut sent = 0;
        while sent < 100_000 {
            c.send(&[b'c'; 10_000])?;
            sent += 10_000;
        }
        Ok(c)
    });
    let c = match conn {
        Ok(c) => c,
        Err(e) => {
            faults.push(DisconnectFault::CutNotStarted(e));
            return false;
        }
    };
    let left = ctx.leave(c);
    if left == Left::KeptOpen {
        faults.push(DisconnectFault::UploadKeptOpen);
    }
    // The server may still be cleaning up after closing the connection (a forked child
    // closes, then removes): wait for it, within the deadline. A spinning handler holds its
    // files for good: what is there now is what stays.
    let temps = if left == Left::Spinning {
        leftover_temps(ctx)
    } else {
        await_no_leftovers(ctx, op)
    };
    if ctx.uploads.join("cut.bin").exists() {
        faults.push(DisconnectFault::PartialLeft);
    }
    if !temps.is_empty() {
        faults.push(DisconnectFault::TempsLeft(temps));
    }
    left == Left::Spinning
}

/// A download, cut off after its first 64 KiB.
fn vanish_mid_download(
    ctx: &mut Ctx,
    _faults: &mut Vec<DisconnectFault>,
    action: &mut String,
) -> bool {
    let Ok(mut c) = ctx.connect(ctx.cfg.timing.op()) else {
        return false;
    };
    let begun = c.begin_get(library::LARGE);
    *action = tr!(
        "{get_sent}, reads 65536 bytes, disconnects",
        get_sent = get_sent(ctx, &c.shown_get(library::LARGE)).join(", ")
    );
    if let Ok(Ok(())) = begun {
        let mut buf = vec![0u8; 65536];
        let _ = c.stream().read_exact(&mut buf);
    }
    let _ = c.stream().shutdown(std::net::Shutdown::Both);
    ctx.leave(c) == Left::Spinning
}

/// The fault of a server that died when a client vanished during `what`.
fn died(ctx: &mut Ctx, what: &'static str) -> Option<DisconnectFault> {
    ctx.settle_server();
    if ctx.server_alive() {
        return None;
    }
    let how = ctx.exit_words().unwrap_or_default();
    Some(DisconnectFault::Died { how, during: what })
}

/// What `quit` found wrong.
enum QuitFault {
    KeptOpen,
    ListRefused(String),
    /// The whole server ended (`how`) on the quit command.
    ServerEnded(String),
    Broken(ProtoError),
}

/// A fault of `quit`, with the dialect's quit and listing commands (`Q`, `L`) to word it.
struct Quit {
    fault: QuitFault,
    quit: String,
    list: String,
}

impl std::fmt::Display for Quit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (q, l) = (&self.quit, &self.list);
        match &self.fault {
            QuitFault::KeptOpen => f.write_str(&tr!(
                "after {q} the server did not close the connection",
                q = q
            )),
            QuitFault::ListRefused(r) => f.write_str(&tr!(
                "after {q}, {l} on a new connection was refused: {r}",
                q = q,
                l = l,
                r = r
            )),
            QuitFault::ServerEnded(how) => f.write_str(&tr!(
                "the whole server {how} on {q}: a new connection found no server",
                how = how,
                q = q
            )),
            QuitFault::Broken(e) => e.fmt(f),
        }
    }
}

impl Fault for Quit {
    fn hint(&self) -> Option<String> {
        matches!(self.fault, QuitFault::ServerEnded(_)).then(|| {
            tr!("{quit} ends that client's connection only: close it and return from its handler; the accept loop goes on", quit = self.quit)
        })
    }
}

/// `quit`: the quit command (Q) closes this connection; another one still works.
pub fn quit(ctx: &mut Ctx) -> CheckOutcome {
    let cfg = ctx.cfg;
    with_server(ctx, "quit", |ctx| {
        let (quit, list) = (ctx.dialect.show_quit(), ctx.dialect.show_list());
        let fault = (|| -> Result<Option<QuitFault>, ProtoError> {
            let mut c = ctx.connect(cfg.timing.op())?;
            if !c.quit()? {
                return Ok(Some(QuitFault::KeptOpen));
            }
            let mut d = ctx.connect(cfg.timing.op())?;
            Ok(d.list()?.err().map(QuitFault::ListRefused))
        })()
        .unwrap_or_else(|e| {
            // A server that ended on Q is said so, not just the refused connection.
            ctx.settle_server();
            Some(match ctx.exit_words() {
                Some(how) => QuitFault::ServerEnded(how),
                None => QuitFault::Broken(e),
            })
        });
        let fault = fault.map(|fault| Quit {
            fault,
            quit: quit.clone(),
            list: list.clone(),
        });
        let mut o = judged(
            fault.as_slice(),
            tr!(
                "{quit} closed the connection; a new one is served",
                quit = quit
            ),
        );
        o.actions = vec![quit, tr!("{list} (new connection)", list = list)];
        o
    })
}
