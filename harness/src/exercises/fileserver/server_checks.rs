//! The server checks: the grader is the client. Each check opens its own connections; a
//! server that died in an earlier check is started again (and the report says so), so one
//! crash does not fail every later check.

use std::io::Read;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::config::FileserverConfig;
use crate::net::client::{Conn, Connector, FileProtocol, ProtoError};
use crate::net::listen;
use crate::net::transfer::{compare_streams, Comparator, Comparison, PseudoText};
use crate::report::{CheckOutcome, Status};
use crate::supervise::spawn::Launch;
use crate::text::escape;

use super::library::{self, Content, Library};
use super::server::{ServerProc, StartProblem};

pub fn outcome(
    _cfg: &FileserverConfig,
    id: &str,
    status: Status,
    message: impl Into<String>,
) -> CheckOutcome {
    // Title and points are stamped from the declaration and the config when it is recorded.
    CheckOutcome::new(id, "", status, 0, message)
}

fn pass(cfg: &FileserverConfig, id: &str, message: impl Into<String>) -> CheckOutcome {
    outcome(cfg, id, Status::Passed, message)
}

fn fail(cfg: &FileserverConfig, id: &str, message: impl Into<String>) -> CheckOutcome {
    outcome(cfg, id, Status::Failed, message)
}

/// The state shared by the server checks.
pub struct Ctx<'a> {
    pub cfg: &'a FileserverConfig,
    pub launch: &'a Launch,
    pub lib: Library,
    pub root: PathBuf,
    pub server: Option<ServerProc>,
    pub starts: u32,
    /// The check that last ran on a server, to say where a server died between checks.
    pub last_check: Option<&'static str>,
    pub sandbox: Option<std::sync::Arc<crate::supervise::isolation::Sandbox>>,
}

impl<'a> Ctx<'a> {
    fn addr(&self) -> SocketAddr {
        let port = self.server.as_ref().map_or(0, |s| s.port);
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    /// Starts the server on a fresh port and waits until it listens.
    pub fn start_server(&mut self) -> Result<(), StartProblem> {
        self.starts += 1;
        let port = listen::free_port().map_err(|e| StartProblem::Spawn(e.to_string()))?;
        let mut s = ServerProc::start(
            self.launch,
            port,
            &self.lib.dir,
            self.cfg.limits.output_bytes,
        )?;
        let r = s.await_listening(Instant::now() + self.cfg.timing.startup());
        self.server = Some(s);
        r
    }

    /// A live server for the next check: the running one, or a fresh start (noted).
    fn ensure(&mut self, o_notes: &mut Vec<String>) -> Result<(), String> {
        // The last check may have left the server dying (a dropped client); know which.
        self.settle_server();
        let alive = self.server.as_mut().is_some_and(|s| s.exited().is_none());
        if alive {
            return Ok(());
        }
        let how = self
            .server
            .as_mut()
            .and_then(|s| s.exit_words())
            .unwrap_or_else(|| "was not running".into());
        if let Some(old) = self.server.take() {
            old.finish(Instant::now() + Duration::from_millis(1000));
        }
        // What the dead server left half-done was judged by the check it died in.
        for name in leftover_temps(self) {
            let _ = std::fs::remove_file(self.lib.dir.join(name));
        }
        self.start_server()
            .map_err(|p| format!("the server {how}, and restarting it failed: {p:?}"))?;
        let when = match self.last_check {
            Some(id) => format!("during or after the {id} check"),
            None => "during an earlier check".into(),
        };
        o_notes.push(format!(
            "the server {how} {when}; it was started again for this one"
        ));
        Ok(())
    }

    fn connector(&self) -> Connector {
        Connector {
            addr: self.addr(),
            sandbox: self.sandbox.clone(),
        }
    }

    fn connect(&self, within: Duration) -> Result<Conn, ProtoError> {
        self.connector().connect(Instant::now() + within)
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
}

/// Runs `body` with a live server; turns a restart failure into a skipped check.
fn with_server(
    ctx: &mut Ctx,
    id: &'static str,
    body: impl FnOnce(&mut Ctx) -> CheckOutcome,
) -> CheckOutcome {
    let mut notes = Vec::new();
    if let Err(why) = ctx.ensure(&mut notes) {
        return outcome(ctx.cfg, id, Status::Skipped, format!("skipped: {why}"));
    }
    let mut o = body(ctx);
    ctx.last_check = Some(id);
    o.details.extend(notes);
    o
}

/// Passed with `message` when nothing went wrong; else failed with the first problem as the
/// message, the others as details, and `hint`.
fn verdict(
    cfg: &FileserverConfig,
    id: &str,
    problems: Vec<String>,
    message: impl Into<String>,
    hint: &str,
) -> CheckOutcome {
    let Some((first, rest)) = problems.split_first() else {
        return pass(cfg, id, message);
    };
    let mut o = fail(cfg, id, first.clone());
    o.details = rest.to_vec();
    o.hint = Some(hint.to_string());
    o
}

fn comparison_outcome(
    cfg: &FileserverConfig,
    id: &str,
    what: &str,
    c: &Comparison,
) -> CheckOutcome {
    if c.identical() {
        return pass(cfg, id, format!("{what}: {}", c.summary()));
    }
    let mut o = fail(cfg, id, format!("{what}: {}", c.summary()));
    if let Some(w) = c.window_text() {
        o.details.extend(w.lines().map(|l| l.to_string()));
    }
    o.hint = c.hint.clone();
    o
}

/// Downloads `name` and compares it with what the library holds.
fn download(
    ctx: &Ctx,
    name: &str,
    within: Duration,
) -> Result<Result<Comparison, String>, ProtoError> {
    let content = ctx
        .lib
        .content(name)
        .cloned()
        .unwrap_or(Content::Bytes(Vec::new()));
    let mut conn = ctx.connect(within)?;
    let mut cmp = Comparator::new(content.reader(), content.len());
    let r = conn.get(name, &mut |b| cmp.feed(b))?;
    match r {
        Err(reason) => Ok(Err(reason)),
        Ok(_) => Ok(Ok(cmp
            .finish()
            .map_err(|e| ProtoError::Io(e.to_string()))?)),
    }
}

fn get_check(ctx: &mut Ctx, id: &'static str, names: &[&str], large: bool) -> CheckOutcome {
    let cfg = ctx.cfg;
    with_server(ctx, id, |ctx| {
        let within = if large {
            cfg.timing.large()
        } else {
            cfg.timing.op()
        };
        let mut parts = Vec::new();
        let mut failed: Option<CheckOutcome> = None;
        for name in names {
            let what = format!("G {name}");
            match download(ctx, name, within) {
                Ok(Ok(c)) if c.identical() => parts.push(format!("{what}: {}", c.summary())),
                Ok(Ok(c)) => {
                    failed = Some(comparison_outcome(cfg, id, &what, &c));
                    break;
                }
                Ok(Err(reason)) => {
                    failed = Some(fail(
                        cfg,
                        id,
                        format!(
                            "{what}: refused with ERR {}",
                            escape::one_line(reason.as_bytes())
                        ),
                    ));
                    break;
                }
                Err(e) => {
                    failed = Some(fail(cfg, id, format!("{what}: {e}")));
                    break;
                }
            }
        }
        let mut o = failed.unwrap_or_else(|| pass(cfg, id, parts.join("; ")));
        o.actions = names.iter().map(|n| format!("G {n}")).collect();
        o
    })
}

fn put_check(
    ctx: &mut Ctx,
    id: &'static str,
    name: &str,
    content: Content,
    large: bool,
) -> CheckOutcome {
    let cfg = ctx.cfg;
    with_server(ctx, id, |ctx| {
        let within = if large {
            cfg.timing.large()
        } else {
            cfg.timing.op()
        };
        let what = format!("P {} {name}", content.len());
        let mut o = match upload(ctx, name, &content, within) {
            Err(e) => fail(cfg, id, format!("{what}: {e}")),
            Ok(Err(reason)) => fail(
                cfg,
                id,
                format!(
                    "{what}: refused with ERR {}",
                    escape::one_line(reason.as_bytes())
                ),
            ),
            Ok(Ok(())) => match std::fs::File::open(ctx.lib.dir.join(name)) {
                Err(e) => fail(
                    cfg,
                    id,
                    format!("{what}: answered OK, but the library has no such file ({e})"),
                ),
                Ok(f) => match compare_streams(f, content.reader(), content.len()) {
                    Ok(c) => comparison_outcome(cfg, id, &format!("{what}, stored file"), &c),
                    Err(e) => outcome(
                        cfg,
                        id,
                        Status::Error,
                        format!("reading the stored file: {e}"),
                    ),
                },
            },
        };
        o.actions = vec![what];
        o
    })
}

fn upload(
    ctx: &Ctx,
    name: &str,
    content: &Content,
    within: Duration,
) -> Result<Result<(), String>, ProtoError> {
    let mut conn = ctx.connect(within)?;
    conn.put(name, content.len(), &mut content.reader())
}

/// `server-start`, with the output of a server that failed.
pub fn server_start(ctx: &mut Ctx) -> CheckOutcome {
    let cfg = ctx.cfg;
    match ctx.start_server() {
        Ok(()) => pass(cfg, "server-start", "the server listens on the given port"),
        Err(p) => {
            let msg = match p {
                StartProblem::Exited(how) => format!("the server {how} before listening"),
                StartProblem::NotListening => {
                    let who = ctx.server.as_ref().map_or(listen::Listener::Nobody, |s| {
                        listen::listener(s.pid, s.port)
                    });
                    match who {
                        listen::Listener::Itself => format!("the server listens, but did not print \"listening on 127.0.0.1:<port>\" within {} ms", cfg.timing.startup_ms),
                        listen::Listener::Others => format!(
                            "the server did not listen on its port within {} ms: another process holds the listening socket (the program started must listen itself)",
                            cfg.timing.startup_ms
                        ),
                        listen::Listener::Nobody => format!(
                            "the server did not listen on its port within {} ms",
                            cfg.timing.startup_ms
                        ),
                    }
                }
                StartProblem::Spawn(e) => format!("the server could not be started: {e}"),
            };
            let mut o = fail(cfg, "server-start", msg);
            if let Some(s) = &ctx.server {
                let (out, total) = s.output();
                o.seen = Some(if out.is_empty() {
                    "no output".into()
                } else {
                    escape::one_line(&out)
                });
                if total > out.len() as u64 {
                    o.details.push(format!(
                        "{} more bytes of output not kept",
                        total - out.len() as u64
                    ));
                }
            }
            o.hint = Some("start as `server <port> <library-dir>`, bind 127.0.0.1:<port>, then print `listening on 127.0.0.1:<port>`".into());
            o
        }
    }
}

/// `list`.
pub fn list(ctx: &mut Ctx) -> CheckOutcome {
    let cfg = ctx.cfg;
    with_server(ctx, "list", |ctx| {
        let mut o = match ctx.connect(cfg.timing.op()).and_then(|mut c| c.list()) {
            Err(e) => fail(cfg, "list", format!("L: {e}")),
            Ok(Err(reason)) => fail(
                cfg,
                "list",
                format!(
                    "L: refused with ERR {}",
                    escape::one_line(reason.as_bytes())
                ),
            ),
            Ok(Ok(names)) => {
                let got: Vec<String> = names
                    .iter()
                    .map(|n| String::from_utf8_lossy(n).into_owned())
                    .collect();
                let want: Vec<&str> = ctx.lib.files.iter().map(|(n, _)| n.as_str()).collect();
                let missing: Vec<&str> = want
                    .iter()
                    .filter(|w| !got.iter().any(|g| g == *w))
                    .copied()
                    .collect();
                let extra: Vec<String> = got
                    .iter()
                    .filter(|g| !want.contains(&g.as_str()))
                    .cloned()
                    .collect();
                if missing.is_empty() && extra.is_empty() && got.len() == want.len() {
                    pass(
                        cfg,
                        "list",
                        format!("all {} files listed, nothing else", want.len()),
                    )
                } else {
                    let mut o = fail(cfg, "list", "the listing differs from the library");
                    if !missing.is_empty() {
                        o.details.push(format!("missing: {}", missing.join(", ")));
                    }
                    if !extra.is_empty() {
                        let shown: Vec<String> = extra
                            .iter()
                            .map(|e| format!("\"{}\"", escape::one_line(e.as_bytes())))
                            .collect();
                        o.details
                            .push(format!("not to be listed: {}", shown.join(", ")));
                    }
                    let mut sorted = got.clone();
                    sorted.sort();
                    sorted.dedup();
                    if sorted.len() < got.len() {
                        o.details
                            .push("some names were listed more than once".into());
                    }
                    o.hint = Some("list only regular files directly in the library whose names do not start with '.'".into());
                    o
                }
            }
        };
        o.actions = vec!["L".into()];
        o
    })
}

pub fn get_text(ctx: &mut Ctx) -> CheckOutcome {
    get_check(ctx, "get-text", &[library::TEXT], false)
}
pub fn get_binary(ctx: &mut Ctx) -> CheckOutcome {
    get_check(ctx, "get-binary", &[library::BINARY], false)
}
pub fn get_empty(ctx: &mut Ctx) -> CheckOutcome {
    get_check(ctx, "get-empty", &[library::EMPTY], false)
}
pub fn get_large(ctx: &mut Ctx) -> CheckOutcome {
    get_check(ctx, "get-large", &[library::LARGE], true)
}
pub fn get_names(ctx: &mut Ctx) -> CheckOutcome {
    get_check(
        ctx,
        "get-names",
        &[library::SPACES, library::CHINESE],
        false,
    )
}

/// `get-missing`: ERR, then the same connection still answers.
pub fn get_missing(ctx: &mut Ctx) -> CheckOutcome {
    let cfg = ctx.cfg;
    with_server(ctx, "get-missing", |ctx| {
        let mut o = (|| -> Result<CheckOutcome, ProtoError> {
            let mut conn = ctx.connect(cfg.timing.op())?;
            let r = conn.get("no-such-file.txt", &mut |_| Ok(()))?;
            if let Ok(n) = r {
                return Ok(fail(
                    cfg,
                    "get-missing",
                    format!("G no-such-file.txt: answered OK {n} instead of ERR"),
                ));
            }
            match conn.list()? {
                Ok(_) => Ok(pass(
                    cfg,
                    "get-missing",
                    "ERR for a missing file; the connection still answers L",
                )),
                Err(r) => Ok(fail(
                    cfg,
                    "get-missing",
                    format!(
                        "after the ERR, L on the same connection was refused: {}",
                        escape::one_line(r.as_bytes())
                    ),
                )),
            }
        })()
        .unwrap_or_else(|e| fail(cfg, "get-missing", format!("{e}")));
        o.actions = vec!["G no-such-file.txt".into(), "L (same connection)".into()];
        o
    })
}

pub fn put_text(ctx: &mut Ctx) -> CheckOutcome {
    put_check(
        ctx,
        "put-text",
        "up-text.txt",
        Content::Bytes("uploaded text\n上传的文字\n".as_bytes().to_vec()),
        false,
    )
}
pub fn put_binary(ctx: &mut Ctx) -> CheckOutcome {
    let mut b = library::binary_bytes();
    b.reverse();
    put_check(ctx, "put-binary", "up-binary.bin", Content::Bytes(b), false)
}
pub fn put_empty(ctx: &mut Ctx) -> CheckOutcome {
    put_check(
        ctx,
        "put-empty",
        "up-empty.txt",
        Content::Bytes(Vec::new()),
        false,
    )
}
pub fn put_large(ctx: &mut Ctx) -> CheckOutcome {
    let len = ctx.cfg.library.large_bytes;
    put_check(
        ctx,
        "put-large",
        "up-large.bin",
        Content::Pseudo { seed: 7, len },
        true,
    )
}
pub fn put_replace(ctx: &mut Ctx) -> CheckOutcome {
    put_check(
        ctx,
        "put-replace",
        library::TEXT,
        Content::Bytes(b"replaced by an upload\n".to_vec()),
        false,
    )
}

/// `traversal`: every way out of the library is refused; nothing leaks, nothing appears.
pub fn traversal(ctx: &mut Ctx) -> CheckOutcome {
    let cfg = ctx.cfg;
    let token = ctx.lib.secret_token.clone();
    // An absolute path outside the library, inside the run's own directory.
    let outside_tmp = ctx.root.join("escaped-absolute.txt");
    with_server(ctx, "traversal", |ctx| {
        let gets = [
            "../secret.txt",
            "/etc/passwd",
            library::HIDDEN,
            library::SUBDIR,
            "subdir/inner.txt",
            ".",
            "..",
            library::LINK,
        ];
        let abs_put = outside_tmp.display().to_string();
        let puts = [
            "../escaped.txt",
            abs_put.as_str(),
            ".sneaky",
            "subdir/planted.txt",
            "..",
        ];
        let mut problems = Vec::new();
        let mut actions = Vec::new();
        for name in gets {
            actions.push(format!("G {name}"));
            let mut leaked = false;
            let mut got_bytes = Vec::new();
            let r = ctx.connect(cfg.timing.op()).and_then(|mut c| {
                c.get(name, &mut |b| {
                    if got_bytes.len() < 1 << 16 {
                        got_bytes.extend_from_slice(&b[..b.len().min(1 << 16)]);
                    }
                    Ok(())
                })
            });
            if String::from_utf8_lossy(&got_bytes).contains(&token) {
                leaked = true;
            }
            match r {
                Ok(Ok(n)) => problems.push(format!(
                    "G {name}: answered OK {n}{}",
                    if leaked {
                        " and sent the secret file outside the library"
                    } else {
                        ""
                    }
                )),
                Ok(Err(_)) => {}
                Err(e) => problems.push(format!("G {name}: {e}")),
            }
        }
        for name in puts {
            actions.push(format!("P 6 {name}"));
            match ctx
                .connect(cfg.timing.op())
                .and_then(|mut c| c.put(name, 6, &mut &b"owned\n"[..]))
            {
                Ok(Ok(())) => problems.push(format!("P {name}: accepted")),
                Ok(Err(_)) => {}
                Err(e) => problems.push(format!("P {name}: {e}")),
            }
        }
        let escaped = ctx.root.join("escaped.txt");
        for (path, what) in [
            (
                escaped.clone(),
                "a file appeared outside the library (../escaped.txt)",
            ),
            (
                outside_tmp.clone(),
                "a file appeared at an absolute path outside the library",
            ),
            (
                ctx.lib.dir.join(".sneaky"),
                "a hidden file was created in the library",
            ),
            (
                ctx.lib.dir.join(library::SUBDIR).join("planted.txt"),
                "a file was planted in a subdirectory",
            ),
        ] {
            if path.exists() {
                problems.push(what.to_string());
                let _ = std::fs::remove_file(&path);
            }
        }
        let secret_now = std::fs::read_to_string(&ctx.lib.secret).unwrap_or_default();
        if !secret_now.contains(&token) {
            problems.push("the secret file outside the library was changed".into());
        }
        let mut o = verdict(
            cfg,
            "traversal",
            problems,
            "every name leading outside the library, hidden or into a directory was refused",
            "refuse names that contain '/', start with '.', or are '.' or '..'; serve regular files only",
        );
        o.actions = actions;
        o
    })
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

/// Waits until the server has closed its end of the connection from `client_port`.
fn await_server_close(ctx: &Ctx, client_port: u16, within: Duration) -> bool {
    let Some(s) = &ctx.server else { return true };
    let (pid, port) = (s.pid, s.port);
    poll_until(Instant::now() + within, || {
        !listen::server_side_open(pid, port, client_port)
    })
}

/// Looks at `done` every 2 ms until it holds (true) or the deadline passes (false). For
/// states with no descriptor to wait on: the kernel's socket table, a directory's
/// contents, another process's children.
fn poll_until(deadline: Instant, mut done: impl FnMut() -> bool) -> bool {
    loop {
        if done() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        let mut none: [nix::poll::PollFd; 0] = [];
        let _ = nix::poll::poll(&mut none, nix::poll::PollTimeout::from(2u16));
    }
}

/// Waits until the library holds no temporary file and no `cut.bin` (the server may still
/// be removing them), or `within` passes; returns the temporary files left.
fn await_no_leftovers(ctx: &Ctx, within: Duration) -> Vec<String> {
    poll_until(Instant::now() + within, || {
        leftover_temps(ctx).is_empty() && !ctx.lib.dir.join("cut.bin").exists()
    });
    leftover_temps(ctx)
}

/// Hidden temporary files left in the library (other than the seeded one).
fn leftover_temps(ctx: &Ctx) -> Vec<String> {
    ctx.lib
        .entries()
        .into_iter()
        .filter(|n| n.starts_with('.') && n != library::HIDDEN)
        .collect()
}

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
                std::thread::spawn(move || -> Result<Comparison, String> {
                    let mut conn = addr.connect(deadline).map_err(|e| e.to_string())?;
                    if i % 2 == 0 {
                        let content = concurrent.unwrap_or(Content::Bytes(Vec::new()));
                        let mut cmp = Comparator::new(content.reader(), content.len());
                        match conn
                            .get(library::CONCURRENT, &mut |b| cmp.feed(b))
                            .map_err(|e| e.to_string())?
                        {
                            Ok(_) => cmp.finish().map_err(|e| e.to_string()),
                            Err(r) => Err(format!("ERR {r}")),
                        }
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
                })
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
        // Uploads are checked on disk, byte for byte.
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
        // The other stalled clients leave; wait until the server has closed their ends, so
        // that whatever leaving does to it happens within this check.
        for conn in [half_line, unread].into_iter().flatten() {
            let mut conn = conn;
            let port = conn.stream().local_addr().map(|a| a.port()).unwrap_or(0);
            drop(conn);
            let _ = await_server_close(ctx, port, cfg.timing.op());
        }
        match stalled {
            Ok(mut c) => {
                let port = c.stream().local_addr().map(|a| a.port()).unwrap_or(0);
                drop(c);
                if !await_server_close(ctx, port, cfg.timing.op()) {
                    problems.push(
                        "the server never closed the stalled connection after the client left"
                            .into(),
                    );
                } else if let Some(content) = ctx.lib.content(library::CONCURRENT) {
                    let same = std::fs::File::open(ctx.lib.dir.join(library::CONCURRENT))
                        .ok()
                        .and_then(|f| compare_streams(f, content.reader(), content.len()).ok())
                        .is_some_and(|c| c.identical());
                    if !same {
                        problems.push(format!(
                            "the stalled, never finished upload changed {} (it must stay as it was)",
                            library::CONCURRENT
                        ));
                    }
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
        'steps: {
            // Half a request line.
            if let Ok(mut c) = ctx.connect(cfg.timing.op()) {
                let _ = c.send(b"L");
                let port = c.stream().local_addr().map(|a| a.port()).unwrap_or(0);
                drop(c);
                let _ = await_server_close(ctx, port, cfg.timing.op());
            }
            if let Some(p) = died(ctx, "half a request line") {
                problems.insert(0, p);
                break 'steps;
            }
            // An upload replacing an existing file, cut off: the old file stays whole.
            if let Ok(mut c) = ctx.connect(cfg.timing.op()) {
                if let Ok(crate::net::client::Header::Ok(None)) =
                    c.request(&format!("P 1000000 {}", library::SPACES), "the reply to P")
                {
                    let _ = c.send(&[b'r'; 100_000]);
                }
                let port = c.stream().local_addr().map(|a| a.port()).unwrap_or(0);
                drop(c);
                let _ = await_server_close(ctx, port, cfg.timing.op());
                if let Some(content) = ctx.lib.content(library::SPACES) {
                    let same = std::fs::File::open(ctx.lib.dir.join(library::SPACES))
                        .ok()
                        .and_then(|f| compare_streams(f, content.reader(), content.len()).ok())
                        .is_some_and(|c| c.identical());
                    if !same {
                        problems.push(format!(
                        "a cut-off upload replacing {} damaged the old file (it must stay as it was)",
                        library::SPACES
                    ));
                    }
                }
            }
            if let Some(p) = died(ctx, "an upload replacing a file") {
                problems.insert(0, p);
                break 'steps;
            }
            // Upload cut off.
            match ctx.connect(cfg.timing.op()).and_then(|mut c| {
                let h = c.request("P 1000000 cut.bin", "the reply to P")?;
                let mut sent = 0;
                while sent < 100_000 {
                    c.send(&[b'c'; 10_000])?;
                    sent += 10_000;
                }
                let port = c.stream().local_addr().map(|a| a.port()).unwrap_or(0);
                Ok((h, port))
            }) {
                Ok((_, port)) => {
                    if !await_server_close(ctx, port, cfg.timing.op()) {
                        problems.push(
                        "after the uploading client vanished, the server kept its connection open"
                            .into(),
                    );
                    }
                    // The server may still be cleaning up after closing the connection (a
                    // forked child closes, then removes): wait for it, within the deadline.
                    let temps = await_no_leftovers(ctx, cfg.timing.op());
                    if ctx.lib.dir.join("cut.bin").exists() {
                        problems
                            .push("the cut-off upload left a partial file named cut.bin".into());
                    }
                    if !temps.is_empty() {
                        problems.push(format!(
                            "the cut-off upload left temporary files: {}",
                            temps
                                .iter()
                                .map(|t| escape::one_line(t.as_bytes()))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ));
                    }
                }
                Err(e) => problems.push(format!("the upload to be cut off could not start: {e}")),
            }
            if let Some(p) = died(ctx, "an upload") {
                problems.insert(0, p);
                break 'steps;
            }
            // Download cut off.
            let mut conn = ctx.connect(cfg.timing.op());
            if let Ok(c) = &mut conn {
                let r = c.request(&format!("G {}", library::LARGE), "the reply to G");
                if let Ok(crate::net::client::Header::Ok(Some(_))) = r {
                    let mut buf = vec![0u8; 65536];
                    let _ = c.stream().read_exact(&mut buf);
                }
            }
            if let Ok(mut c) = conn {
                let port = c.stream().local_addr().map(|a| a.port()).unwrap_or(0);
                let _ = c.stream().shutdown(std::net::Shutdown::Both);
                drop(c);
                let _ = await_server_close(ctx, port, cfg.timing.op());
            }
            if let Some(p) = died(ctx, "a download") {
                problems.insert(0, p);
                break 'steps;
            }
        }
        if !ctx.server_alive() {
            let how = ctx
                .server
                .as_mut()
                .and_then(|s| s.exit_words())
                .unwrap_or_default();
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

/// `cleanup`: no zombie children once clients have gone; SIGTERM ends it with status 0.
pub fn cleanup(ctx: &mut Ctx) -> CheckOutcome {
    let cfg = ctx.cfg;
    with_server(ctx, "cleanup", |ctx| {
        let mut problems = Vec::new();
        let deadline = Instant::now() + cfg.timing.exit();
        let reaped = ctx
            .server
            .as_ref()
            .is_none_or(|s| poll_until(deadline, || s.zombie_children() == 0));
        if !reaped {
            problems
                .push("zombie child processes: finished children were never reaped".to_string());
        }
        let temps = await_no_leftovers(ctx, cfg.timing.op());
        if !temps.is_empty() {
            problems.push(format!(
                "temporary files left in the library: {}",
                temps
                    .iter()
                    .map(|t| escape::one_line(t.as_bytes()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        // A client stays connected while the server is asked to stop.
        let connected = ctx.connect(cfg.timing.op()).ok();
        let children: Vec<nix::unistd::Pid> = ctx
            .server
            .as_ref()
            .map(|s| {
                crate::supervise::procfs::descendants(s.pid)
                    .iter()
                    .map(|p| nix::unistd::Pid::from_raw(p.pid))
                    .collect()
            })
            .unwrap_or_default();
        let exit_deadline = Instant::now() + cfg.timing.exit();
        let status = ctx.server.as_mut().and_then(|s| s.terminate(exit_deadline));
        drop(connected);
        if status.is_some() && !children_gone(&children, Instant::now() + cfg.timing.exit()) {
            problems.push("child processes of the server outlived it".to_string());
        }
        match status {
            None => problems.push(format!(
                "the server did not exit within {} ms of SIGTERM",
                cfg.timing.exit_ms
            )),
            Some(st) if st.success() => {}
            Some(st) => problems.push(format!(
                "after SIGTERM the server {}",
                ServerProc::describe_status(st)
            )),
        }
        let mut o = verdict(
            cfg,
            "cleanup",
            problems,
            "no zombie children; SIGTERM ended the server with status 0",
            "reap children (SIGCHLD handler with waitpid(-1, WNOHANG)), and exit with status 0 on SIGTERM/SIGINT, even with clients connected",
        );
        o.actions = vec!["one client connected".into(), "sent SIGTERM".into()];
        o
    })
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

/// The sentence for a server that died when a client vanished during `what`.
fn died(ctx: &mut Ctx, what: &str) -> Option<String> {
    ctx.settle_server();
    if ctx.server_alive() {
        return None;
    }
    let how = ctx
        .server
        .as_mut()
        .and_then(|s| s.exit_words())
        .unwrap_or_default();
    Some(format!(
        "the server {how} when a client disconnected during {what}"
    ))
}
