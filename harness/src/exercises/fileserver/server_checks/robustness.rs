//! What a server must survive: many clients at once beside stalled ones (`concurrent`),
//! clients vanishing mid-transfer (`disconnect`), and a client saying goodbye (`quit`).

use std::io::Read;
use std::time::Instant;

use crate::net::client::{Conn, Connector, FileProtocol, Header, ProtoError};
use crate::net::transfer::{compare_streams, Comparison, PseudoText};
use crate::report::CheckOutcome;

use super::library::{self, Content};
use super::{
    await_no_leftovers, fail, get_compared, intact, name_list, pass, verdict, with_server, Ctx,
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
            c.send(format!("{replaced}\n").as_bytes())?;
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
        let mut problems = Vec::new();
        for (i, h) in handles.into_iter().enumerate() {
            let what = if i % 2 == 0 {
                format!("client {} (G)", i + 1)
            } else {
                format!("client {} (P)", i + 1)
            };
            match h.join() {
                Ok(Ok(c)) if c.identical() => {}
                Ok(Ok(c)) => problems.push(format!("{what}: {}", c.summary())),
                Ok(Err(e)) => problems.push(format!("{what}: {e}")),
                Err(_) => problems.push(format!("{what}: the grader's client thread failed")),
            }
        }
        check_stored_uploads(ctx, n, size, &mut problems);
        // The other stalled clients leave; wait until the server has closed their ends, so
        // that whatever leaving does to it happens within this check.
        for conn in [half_line, unread].into_iter().flatten() {
            let _ = ctx.leave(conn);
        }
        match stalled {
            Ok(c) => {
                if !ctx.leave(c) {
                    problems.push(
                        "the server never closed the stalled connection after the client left"
                            .into(),
                    );
                } else if !intact(ctx, library::CONCURRENT) {
                    problems.push(format!(
                        "the stalled, never finished upload changed {} (it must stay as it was)",
                        library::CONCURRENT
                    ));
                }
            }
            Err(e) => problems.push(format!(
                "the stalling client could not start its upload: {e}"
            )),
        }
        let mut o = verdict(
            cfg,
            "concurrent",
            problems,
            format!("all {n} clients were served byte for byte while one client stalled"),
            "serve each connection in its own thread or process, so that a stalled client blocks no one",
        );
        o.actions = actions;
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
fn check_stored_uploads(ctx: &Ctx, n: usize, size: u64, problems: &mut Vec<String>) {
    for i in (1..n).step_by(2) {
        let path = ctx.lib.dir.join(format!("concurrent-up-{i}.bin"));
        if problems
            .iter()
            .any(|p| p.starts_with(&format!("client {} ", i + 1)))
        {
            continue;
        }
        match std::fs::File::open(&path) {
            Ok(f) => match compare_streams(f, PseudoText::new(1000 + i as u64, size), size) {
                Ok(c) if c.identical() => {}
                Ok(c) => problems.push(format!(
                    "client {} (P), stored file: {}",
                    i + 1,
                    c.summary()
                )),
                Err(e) => problems.push(format!("client {}: {e}", i + 1)),
            },
            Err(_) => problems.push(format!(
                "client {} (P): answered OK but stored no file",
                i + 1
            )),
        }
    }
}

/// One way of vanishing in `disconnect`; pushes what it finds wrong.
type Vanish = fn(&mut Ctx, &mut Vec<String>);

/// `disconnect`: clients vanishing mid-upload and mid-download.
pub fn disconnect(ctx: &mut Ctx) -> CheckOutcome {
    let cfg = ctx.cfg;
    with_server(ctx, "disconnect", |ctx| {
        let mut problems = Vec::new();
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
        for (step, what) in steps {
            step(ctx, &mut problems);
            if let Some(p) = died(ctx, what) {
                problems.insert(0, p);
                break;
            }
        }
        if !ctx.server_alive() {
            let how = ctx.exit_words().unwrap_or_default();
            if !problems
                .iter()
                .any(|p| p.contains("when a client disconnected"))
            {
                problems.push(format!("the server {how} when a client disconnected"));
            }
        } else {
            match ctx.connect(cfg.timing.op()).and_then(|mut c| c.list()) {
                Ok(Ok(_)) => {}
                Ok(Err(r)) => problems.push(format!("afterwards L was refused: {r}")),
                Err(e) => problems.push(format!("afterwards L failed: {e}")),
            }
        }
        let mut o = verdict(
            cfg,
            "disconnect",
            problems,
            "clients vanishing mid-transfer left no partial file; the server goes on",
            "write uploads to a hidden temporary file renamed when complete; treat a broken connection as the end of that client only",
        );
        o.actions = actions;
        o
    })
}

/// Half a request line, then gone.
fn vanish_mid_line(ctx: &mut Ctx, _problems: &mut Vec<String>) {
    if let Ok(mut c) = ctx.connect(ctx.cfg.timing.op()) {
        let _ = c.send(b"L");
        let _ = ctx.leave(c);
    }
}

/// An upload replacing an existing file, cut off: the old file stays whole.
fn vanish_mid_replacing(ctx: &mut Ctx, problems: &mut Vec<String>) {
    if let Ok(mut c) = ctx.connect(ctx.cfg.timing.op()) {
        if let Ok(Header::Ok(None)) =
            c.request(&format!("P 1000000 {}", library::SPACES), "the reply to P")
        {
            let _ = c.send(&[b'r'; 100_000]);
        }
        let _ = ctx.leave(c);
        if !intact(ctx, library::SPACES) {
            problems.push(format!(
                "a cut-off upload replacing {} damaged the old file (it must stay as it was)",
                library::SPACES
            ));
        }
    }
}

/// A new file's upload, cut off: neither the file nor a temporary one stays.
fn vanish_mid_upload(ctx: &mut Ctx, problems: &mut Vec<String>) {
    let op = ctx.cfg.timing.op();
    match ctx.connect(op).and_then(|mut c| {
        c.request("P 1000000 cut.bin", "the reply to P")?;
        let mut sent = 0;
        while sent < 100_000 {
            c.send(&[b'c'; 10_000])?;
            sent += 10_000;
        }
        Ok(c)
    }) {
        Ok(c) => {
            if !ctx.leave(c) {
                problems.push(
                    "after the uploading client vanished, the server kept its connection open"
                        .into(),
                );
            }
            // The server may still be cleaning up after closing the connection (a
            // forked child closes, then removes): wait for it, within the deadline.
            let temps = await_no_leftovers(ctx, op);
            if ctx.lib.dir.join("cut.bin").exists() {
                problems.push("the cut-off upload left a partial file named cut.bin".into());
            }
            if !temps.is_empty() {
                problems.push(format!(
                    "the cut-off upload left temporary files: {}",
                    name_list(&temps)
                ));
            }
        }
        Err(e) => problems.push(format!("the upload to be cut off could not start: {e}")),
    }
}

/// A download, cut off after its first 64 KiB.
fn vanish_mid_download(ctx: &mut Ctx, _problems: &mut Vec<String>) {
    if let Ok(mut c) = ctx.connect(ctx.cfg.timing.op()) {
        let r = c.request(&format!("G {}", library::LARGE), "the reply to G");
        if let Ok(Header::Ok(Some(_))) = r {
            let mut buf = vec![0u8; 65536];
            let _ = c.stream().read_exact(&mut buf);
        }
        let _ = c.stream().shutdown(std::net::Shutdown::Both);
        let _ = ctx.leave(c);
    }
}

/// The sentence for a server that died when a client vanished during `what`.
fn died(ctx: &mut Ctx, what: &str) -> Option<String> {
    ctx.settle_server();
    if ctx.server_alive() {
        return None;
    }
    let how = ctx.exit_words().unwrap_or_default();
    Some(format!(
        "the server {how} when a client disconnected during {what}"
    ))
}

/// `quit`: Q closes this connection; another one still works.
pub fn quit(ctx: &mut Ctx) -> CheckOutcome {
    let cfg = ctx.cfg;
    with_server(ctx, "quit", |ctx| {
        let r = (|| -> Result<CheckOutcome, ProtoError> {
            let mut c = ctx.connect(cfg.timing.op())?;
            if !c.quit()? {
                return Ok(fail(
                    cfg,
                    "quit",
                    "after Q the server did not close the connection",
                ));
            }
            let mut d = ctx.connect(cfg.timing.op())?;
            match d.list()? {
                Ok(_) => Ok(pass(
                    cfg,
                    "quit",
                    "Q closed the connection; a new one is served",
                )),
                Err(r) => Ok(fail(
                    cfg,
                    "quit",
                    format!("after Q, L on a new connection was refused: {r}"),
                )),
            }
        })();
        let mut o = r.unwrap_or_else(|e| fail(cfg, "quit", format!("{e}")));
        o.actions = vec!["Q".into(), "L (new connection)".into()];
        o
    })
}
