//! What a server must survive: many clients at once beside stalled ones (`concurrent`),
//! clients vanishing mid-transfer (`disconnect`), and a client saying goodbye (`quit`).

use std::io::Read;
use std::time::Instant;

use crate::grading::evidence::{judged, judged_in, Fault};
use crate::grading::idiom::Idiom;
use crate::net::client::{Conn, Connector, FileProtocol, ProtoError};
use crate::net::transfer::{compare_streams, Comparison, PseudoText};
use crate::report::CheckOutcome;
use crate::submission::Language;

use super::library::{self, Content};
use super::{
    await_no_leftovers, get_compared, intact, leftover_temps, name_list, with_server, Ctx, Left,
};

/// `concurrent`: several clients at once, while one holds a half-done upload.
pub fn concurrent(ctx: &mut Ctx) -> CheckOutcome {
    let cfg = ctx.cfg;
    with_server(ctx, "concurrent", |ctx| {
        let deadline = Instant::now() + cfg.timing.concurrent();
        let addr = ctx.connector();
        let n = cfg.library.concurrent_clients;
        let size = cfg.library.concurrent_bytes;
        let replaced = format!("P 1000 {}", library::CONCURRENT);
        let mut actions = vec![
            format!("stalled client 1: {replaced} (replacing the file the others download), sends 10 bytes, then nothing"),
            "stalled client 2: sends half a request line (\"G hel\"), then nothing".to_string(),
            format!("stalled client 3: G {}, reads nothing", library::LARGE),
        ];
        let stalled = (|| -> Result<Conn, ProtoError> {
            let mut c = addr.connect(deadline)?;
            let command = c.put_command(library::CONCURRENT, 1000);
            c.send(&command)?;
            // The server may answer OK at once or only later: the stall matters, not the reply.
            c.send(&[b'x'; 10])?;
            Ok(c)
        })();
        let half_line = addr
            .connect(deadline)
            .and_then(|mut c| c.send(b"G hel").map(|_| c));
        let unread = addr.connect(deadline).and_then(|mut c| {
            c.send(format!("G {}\n", library::LARGE).as_bytes())
                .map(|_| c)
        });
        let handles: Vec<_> = (0..n)
            .map(|i| {
                let addr = addr.clone();
                let concurrent = ctx.lib.content(library::CONCURRENT).cloned();
                std::thread::spawn(move || concurrent_client(&addr, i, size, deadline, concurrent))
            })
            .collect();
        actions.push(format!(
            "{n} clients at once: G {} (must be the old file, whole) and P {size}-byte files, alternately",
            library::CONCURRENT
        ));
        let mut faults = Vec::new();
        for (i, h) in handles.into_iter().enumerate() {
            let why = match h.join() {
                Ok(Ok(c)) if c.identical() => continue,
                Ok(Ok(c)) => c.summary(),
                Ok(Err(e)) => e,
                Err(_) => "the grader's client thread failed".to_string(),
            };
            faults.push(ConcurrentFault::Transfer {
                n: i + 1,
                op: if i % 2 == 0 { "G" } else { "P" },
                why,
            });
        }
        check_stored_uploads(ctx, n, size, &mut faults);
        // The other stalled clients leave; wait until the server has closed their ends, so
        // that whatever leaving does to it happens within this check.
        // A handler left spinning by a client's leaving is the fault `disconnect` judges:
        // noted here, not counted, and the server is started afresh for the next check.
        let mut spun = false;
        for conn in [half_line, unread].into_iter().flatten() {
            spun |= ctx.leave(conn) == Left::Spinning;
        }
        match stalled {
            Ok(c) => match ctx.leave(c) {
                Left::KeptOpen => faults.push(ConcurrentFault::StalledKeptOpen),
                Left::Spinning => spun = true,
                Left::Closed if !intact(ctx, library::CONCURRENT) => {
                    faults.push(ConcurrentFault::StalledChanged)
                }
                Left::Closed => {}
            },
            Err(e) => faults.push(ConcurrentFault::StallFailed(e)),
        }
        let mut o = judged(
            &faults,
            format!("all {n} clients were served byte for byte while one client stalled"),
        );
        o.actions = actions;
        if spun {
            o.details.push(
                "a handler spun at full speed after a stalled client left: that is judged by disconnect, not here"
                    .into(),
            );
            retire_spinner(ctx, "concurrent");
        }
        o
    })
}

/// Client `i` of `concurrent` (its own thread): even ones download the seeded
/// `concurrent` file and compare it, odd ones upload `size` bytes of their own.
fn concurrent_client(
    addr: &Connector,
    i: usize,
    size: u64,
    deadline: Instant,
    concurrent: Option<Content>,
) -> Result<Comparison, String> {
    let mut conn = addr.connect(deadline).map_err(|e| e.to_string())?;
    if i.is_multiple_of(2) {
        let content = concurrent.unwrap_or(Content::Bytes(Vec::new()));
        get_compared(&mut conn, library::CONCURRENT, &content)
            .map_err(|e| e.to_string())?
            .map_err(|r| format!("ERR {r}"))
    } else {
        let name = format!("concurrent-up-{i}.bin");
        let mut src = PseudoText::new(1000 + i as u64, size);
        match conn.put(&name, size, &mut src).map_err(|e| e.to_string())? {
            Ok(()) => Ok(Comparison {
                expected_len: size,
                got_len: size,
                first_diff: None,
                hint: None,
                got_hash: String::new(),
            }),
            Err(r) => Err(format!("ERR {r}")),
        }
    }
}

/// The uploads of `concurrent` that were answered OK, checked on disk byte for byte.
fn check_stored_uploads(ctx: &Ctx, n: usize, size: u64, faults: &mut Vec<ConcurrentFault>) {
    for i in (1..n).step_by(2) {
        let path = ctx.uploads.join(format!("concurrent-up-{i}.bin"));
        let client = i + 1;
        // A transfer that failed was judged as such.
        if faults
            .iter()
            .any(|f| matches!(f, ConcurrentFault::Transfer { n, .. } if *n == client))
        {
            continue;
        }
        match std::fs::File::open(&path) {
            Ok(f) => match compare_streams(f, PseudoText::new(1000 + i as u64, size), size) {
                Ok(c) if c.identical() => {}
                Ok(c) => faults.push(ConcurrentFault::StoredDiffers {
                    n: client,
                    summary: c.summary(),
                }),
                Err(e) => faults.push(ConcurrentFault::StoredUnreadable {
                    n: client,
                    error: e.to_string(),
                }),
            },
            Err(_) => faults.push(ConcurrentFault::NotStored(client)),
        }
    }
}

/// What `concurrent` found wrong; clients are numbered from 1.
enum ConcurrentFault {
    /// Client `n`'s transfer (`op`: G or P) failed, for reason `why`.
    Transfer {
        n: usize,
        op: &'static str,
        why: String,
    },
    /// The upload of client `n` was answered OK, but the stored file differs.
    StoredDiffers {
        n: usize,
        summary: String,
    },
    StoredUnreadable {
        n: usize,
        error: String,
    },
    /// The upload of client `n` was answered OK, but nothing was stored.
    NotStored(usize),
    StalledKeptOpen,
    StalledChanged,
    StallFailed(ProtoError),
}

impl std::fmt::Display for ConcurrentFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use ConcurrentFault::*;
        match self {
            Transfer { n, op, why } => write!(f, "client {n} ({op}): {why}"),
            StoredDiffers { n, summary } => write!(f, "client {n} (P), stored file: {summary}"),
            StoredUnreadable { n, error } => write!(f, "client {n}: {error}"),
            NotStored(n) => write!(f, "client {n} (P): answered OK but stored no file"),
            StalledKeptOpen => write!(
                f,
                "the server never closed the stalled connection after the client left"
            ),
            StalledChanged => write!(
                f,
                "the stalled, never finished upload changed {} (it must stay as it was)",
                library::CONCURRENT
            ),
            StallFailed(e) => write!(f, "the stalling client could not start its upload: {e}"),
        }
    }
}

impl Fault for ConcurrentFault {
    fn hint(&self) -> Option<String> {
        Some("serve each connection in its own thread or process, so that a stalled client blocks no one".into())
    }
}

/// One way of vanishing in `disconnect`; pushes what it finds wrong. True when the
/// server's handler was left spinning.
type Vanish = fn(&mut Ctx, &mut Vec<DisconnectFault>) -> bool;

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
    ListRefused(String),
    ListFailed(ProtoError),
}

impl std::fmt::Display for DisconnectFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use DisconnectFault::*;
        match self {
            Died { how, during } => write!(
                f,
                "the server {how} when a client disconnected during {during}"
            ),
            Dead(how) => write!(f, "the server {how} when a client disconnected"),
            Spinning(during) if during.len() == 1 => write!(
                f,
                "a handler went on at 100% CPU, its connection open, after its client vanished during {} (it receives from the closed connection again and again)",
                during[0]
            ),
            Spinning(during) => write!(
                f,
                "handlers went on at 100% CPU, their connections open, after their clients vanished during {} (each receives from its closed connection again and again)",
                during.join(" and during ")
            ),
            ReplacedDamaged => write!(
                f,
                "a cut-off upload replacing {} damaged the old file (it must stay as it was)",
                library::SPACES
            ),
            UploadKeptOpen => write!(
                f,
                "after the uploading client vanished, the server kept its connection open"
            ),
            PartialLeft => write!(f, "the cut-off upload left a partial file named cut.bin"),
            TempsLeft(names) => write!(
                f,
                "the cut-off upload left temporary files: {}",
                name_list(names)
            ),
            CutNotStarted(e) => write!(f, "the upload to be cut off could not start: {e}"),
            ListRefused(r) => write!(f, "afterwards L was refused: {r}"),
            ListFailed(e) => write!(f, "afterwards L failed: {e}"),
        }
    }
}

impl Fault for DisconnectFault {
    fn hint_in(&self, lang: Language) -> Option<String> {
        Some(match self {
            DisconnectFault::Spinning(_) => {
                let idiom = Idiom(lang);
                idiom.say(
                    "a receive that returns nothing means the client has gone: end that client's handler then (close the connection, remove the temporary file) instead of receiving again",
                    idiom.end_of_connection(),
                )
            }
            _ => "write uploads to a hidden temporary file renamed when complete; treat a broken connection as the end of that client only".into(),
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
        let mut faults = Vec::new();
        let actions = vec![
            "sends half a request line (\"L\" without its newline), disconnects".to_string(),
            format!(
                "P 1000000 {}, sends 100000 bytes, disconnects (the old file must stay)",
                library::SPACES
            ),
            "P 1000000 cut.bin, sends 100000 bytes, disconnects".to_string(),
            format!("G {}, reads 65536 bytes, disconnects", library::LARGE),
            "L (new connection)".to_string(),
        ];
        // Each way of vanishing, and what the client was doing (for a server that dies).
        let steps: [(Vanish, &str); 4] = [
            (vanish_mid_line, "half a request line"),
            (vanish_mid_replacing, "an upload replacing a file"),
            (vanish_mid_upload, "an upload"),
            (vanish_mid_download, "a download"),
        ];
        let mut spun = Vec::new();
        for (step, what) in steps {
            if step(ctx, &mut faults) {
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
                Ok(Err(r)) => faults.push(DisconnectFault::ListRefused(r)),
                Err(e) => faults.push(DisconnectFault::ListFailed(e)),
            }
        }
        let mut o = judged_in(
            &faults,
            "clients vanishing mid-transfer left no partial file; the server goes on",
            ctx.lang,
        );
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
fn retire_spinner(ctx: &mut Ctx, check: &str) {
    let deadline = Instant::now() + ctx.cfg.timing.exit();
    if let Some(s) = ctx.server.as_mut() {
        s.retire(
            format!("a handler of it was spinning: see {check}"),
            deadline,
        );
    }
}

/// Half a request line, then gone.
fn vanish_mid_line(ctx: &mut Ctx, _faults: &mut Vec<DisconnectFault>) -> bool {
    match ctx.connect(ctx.cfg.timing.op()) {
        Ok(mut c) => {
            let _ = c.send(b"L");
            ctx.leave(c) == Left::Spinning
        }
        Err(_) => false,
    }
}

/// An upload replacing an existing file, cut off: the old file stays whole.
fn vanish_mid_replacing(ctx: &mut Ctx, faults: &mut Vec<DisconnectFault>) -> bool {
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
fn vanish_mid_upload(ctx: &mut Ctx, faults: &mut Vec<DisconnectFault>) -> bool {
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
fn vanish_mid_download(ctx: &mut Ctx, _faults: &mut Vec<DisconnectFault>) -> bool {
    let Ok(mut c) = ctx.connect(ctx.cfg.timing.op()) else {
        return false;
    };
    if let Ok(Ok(())) = c.begin_get(library::LARGE) {
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
    /// The whole server ended (`how`) on Q.
    ServerEnded(String),
    Broken(ProtoError),
}

impl std::fmt::Display for QuitFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            QuitFault::KeptOpen => write!(f, "after Q the server did not close the connection"),
            QuitFault::ListRefused(r) => {
                write!(f, "after Q, L on a new connection was refused: {r}")
            }
            QuitFault::ServerEnded(how) => write!(
                f,
                "the whole server {how} on Q: a new connection found no server"
            ),
            QuitFault::Broken(e) => e.fmt(f),
        }
    }
}

impl Fault for QuitFault {
    fn hint(&self) -> Option<String> {
        matches!(self, QuitFault::ServerEnded(_)).then(|| {
            "Q ends that client's connection only: close it and return from its handler; the accept loop goes on".into()
        })
    }
}

/// `quit`: Q closes this connection; another one still works.
pub fn quit(ctx: &mut Ctx) -> CheckOutcome {
    let cfg = ctx.cfg;
    with_server(ctx, "quit", |ctx| {
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
        let mut o = judged(
            fault.as_slice(),
            "Q closed the connection; a new one is served",
        );
        o.actions = vec!["Q".into(), "L (new connection)".into()];
        o
    })
}
