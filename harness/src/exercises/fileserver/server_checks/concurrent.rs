//! `concurrent`: many clients at once, downloading and uploading, beside stalled ones.

use crate::tr;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Instant;

use crate::grading::evidence::{judged, Fault};
use crate::net::client::{Conn, Connector, FileProtocol, ProtoError};
use crate::net::dialect::{Dialect, Framing};
use crate::net::transfer::{compare_streams, Comparison, PseudoText};
use crate::report::CheckOutcome;
use crate::text::escape;

use super::super::policy::Replace;
use super::download::get_sent;
use super::library::{self, Content};
use super::robustness::retire_spinner;
use super::{get_compared_noting, intact, with_server, Ctx, Left};

/// `concurrent`: several clients at once, while one holds a half-done upload.
///
/// A numbered dialect asks for a file by its number in the listing, and a server may read
/// its directory again at `G`: an upload stored between a client's listing and its `G`
/// would renumber the files under it (where depends on the server's listing order), and a
/// correct server would fail by chance. So there the uploads start only once every
/// download has begun receiving its data (its number looked up and used); the downloads
/// still run at once, beside the stalled clients and then beside the uploads.
pub fn concurrent(ctx: &mut Ctx) -> CheckOutcome {
    let cfg = ctx.cfg;
    with_server(ctx, "concurrent", |ctx| {
        let d = ctx.dialect.clone();
        let deadline = Instant::now() + cfg.timing.concurrent();
        let addr = ctx.connector();
        let n = cfg.library.concurrent_clients;
        let size = cfg.library.concurrent_bytes;
        // A course that replaces files in place truncates the file the others download:
        // replacing is `disconnect`'s to judge, so its stalled upload is a file of its own.
        let in_place = ctx.policy.replace == Replace::InPlace;
        let stalled_name = if in_place {
            STALLED_NEW
        } else {
            library::CONCURRENT
        };
        let replaced = d.show_put(stalled_name, 1000);
        let (half, half_shown) = half_request(&d);
        let mut actions = vec![
            if in_place {
                tr!("stalled client 1: {replaced} (a new file: this course replaces files in place, judged by disconnect), sends 10 bytes, then nothing", replaced = replaced)
            } else {
                tr!("stalled client 1: {replaced} (replacing the file the others download), sends 10 bytes, then nothing", replaced = replaced)
            },
            tr!(
                "stalled client 2: {half_shown}, then nothing",
                half_shown = half_shown
            ),
        ];
        let before = super::library::entries(&ctx.uploads).len();
        let stalled = (|| -> Result<Conn, ProtoError> {
            let mut c = addr.connect(deadline)?;
            c.send_put_command(stalled_name, 1000)?;
            // The server may answer OK at once or only later: the stall matters, not the reply.
            c.send(&[b'x'; 10])?;
            Ok(c)
        })();
        if in_place && d.numbered_get() && stalled.is_ok() {
            // A numbered listing must not change under the downloads: wait (within one
            // request's time) until the server has opened the stalled upload's file, or a
            // temporary one of its own.
            let within = deadline.min(Instant::now() + cfg.timing.op());
            super::poll_until(within, || {
                super::library::entries(&ctx.uploads).len() > before
                    || ctx.uploads.join(STALLED_NEW).exists()
            });
        }
        let half_line = addr
            .connect(deadline)
            .and_then(|mut c| c.send(&half).map(|_| c));
        let mut unread_shown = d.show_get(library::LARGE);
        let unread = addr.connect(deadline).and_then(|mut c| {
            // A numbered dialect's lookup waits no longer than one request may.
            c.set_deadline(deadline.min(Instant::now() + cfg.timing.op()));
            let sent = c.send_get_command(library::LARGE);
            unread_shown = c.shown_get(library::LARGE);
            c.set_deadline(deadline);
            sent.map(|_| c)
        });
        actions.push(tr!(
            "stalled client 3: {get_sent}, reads nothing",
            get_sent = get_sent(ctx, &unread_shown).join(", ")
        ));
        let downloads = n.div_ceil(2);
        let gate = Arc::new(Gate::new(if d.numbered_get() { downloads } else { 0 }));
        let handles: Vec<_> = (0..n)
            .map(|i| {
                let addr = addr.clone();
                let concurrent = ctx.lib.content(library::CONCURRENT).cloned();
                let gate = gate.clone();
                let d = d.clone();
                std::thread::spawn(move || {
                    concurrent_client(&addr, &d, i, size, deadline, concurrent, &gate)
                })
            })
            .collect();
        let mut faults = Vec::new();
        let mut got_shown = Vec::new();
        for (i, h) in handles.into_iter().enumerate() {
            let (shown, r) = match h.join() {
                Ok((shown, r)) => (Some(shown), r),
                Err(_) => (
                    None,
                    Err(tr!("the grader's client thread failed").to_string()),
                ),
            };
            if i.is_multiple_of(2) {
                got_shown.extend(shown);
            }
            let why = match r {
                Ok(c) if c.identical() => continue,
                Ok(c) => c.summary(),
                Err(e) => e,
            };
            faults.push(ConcurrentFault::Transfer {
                n: i + 1,
                op: Dialect::word(if i % 2 == 0 {
                    &d.commands.get
                } else {
                    &d.commands.put
                }),
                why,
            });
        }
        actions.push(clients_action(ctx, n, size, &got_shown));
        check_stored_uploads(ctx, n, size, &mut faults);
        // The other stalled clients leave; wait until the server has closed their ends, so
        // that whatever leaving does to it happens within this check.
        // A handler left spinning by a client's leaving is the fault `disconnect` judges:
        // noted here, not counted, and the server is started afresh for the next check.
        let mut spun = false;
        for conn in [half_line, unread].into_iter().flatten() {
            spun |= ctx.leave(conn) == Left::Spinning;
        }
        // A client of a protocol framed by sends reads each reply before it sends more;
        // one that leaves with the server's OK unread makes the kernel send a reset, and a
        // server that then leaves its temporary file behind would have it blamed on
        // `disconnect`. So this one leaves as such a client would (a FIN). The exact
        // protocol's stalled client leaves as it always has.
        let stalled = stalled.map(|mut c| {
            if d.messages == Framing::Sends {
                c.drain_received();
            }
            c
        });
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
            tr!(
                "all {n} clients were served byte for byte while one client stalled",
                n = n
            ),
        );
        o.actions = actions;
        // The stalled upload's part, where it was a file of its own, is no later check's.
        if in_place {
            let _ = std::fs::remove_file(ctx.uploads.join(STALLED_NEW));
        }
        if spun {
            o.details.push(
                tr!("a handler spun at full speed after a stalled client left: that is judged by disconnect, not here")
                    .into(),
            );
            retire_spinner(ctx, "concurrent");
        }
        o
    })
}

/// The new file the stalled client uploads where the course replaces files in place.
const STALLED_NEW: &str = "concurrent-stalled.bin";

/// Half a download request, for a client that stalls inside one: the download command's
/// first message for hello.txt cut inside the name (`G hel`), or a two-step command's first
/// message alone (`D`: the name never follows). Its bytes, and how `done:` says it.
fn half_request(d: &Dialect) -> (Vec<u8>, String) {
    let msgs = Dialect::fill(&d.commands.get, library::TEXT, 0, Some(1));
    let first = msgs.first().cloned().unwrap_or_default();
    if msgs.len() > 1 {
        let shown = tr!(
            "sends \"{first}\" (the first message of a download)",
            first = escape::one_line(first.as_bytes())
        );
        return (first.into_bytes(), shown);
    }
    let mut cut = match first.strip_suffix(library::TEXT) {
        Some(head) => head.len() + 3,
        None => first.len() / 2,
    };
    while !first.is_char_boundary(cut) {
        cut -= 1;
    }
    let half = &first[..cut];
    let shown = if d.messages == Framing::Lines {
        tr!(
            "sends half a request line (\"{half}\")",
            half = escape::one_line(half.as_bytes())
        )
    } else {
        tr!(
            "sends \"{half}\" (a download request cut short)",
            half = escape::one_line(half.as_bytes())
        )
    };
    (half.as_bytes().to_vec(), shown)
}

/// How `done:` says what the `n` clients of `concurrent` sent; `got_shown`: the downloads
/// as sent (a numbered dialect's with the number each used).
fn clients_action(ctx: &Ctx, n: usize, size: u64, got_shown: &[String]) -> String {
    let d = &ctx.dialect;
    if d.is_exact() && d.speaks_exact_words() {
        return tr!("{n} clients at once: G {library} (must be the old file, whole) and P {size}-byte files, alternately", n = n, library = library::CONCURRENT, size = size);
    }
    let get = match got_shown.first() {
        Some(first) if got_shown.iter().all(|s| s == first) => first.clone(),
        _ => d.show_get(library::CONCURRENT),
    };
    let put = d.show_put("concurrent-up-<i>.bin", size);
    let order = if d.numbered_get() {
        tr!(" (the uploads once every download has begun)")
    } else {
        ""
    };
    tr!("{n} clients at once: {get_sent} (must be the old file, whole) and {put}, alternately{order}", n = n, get_sent = get_sent(ctx, &get).join(", "), put = put, order = order)
}

/// Where the uploads of `concurrent` wait for the downloads to begin (see [`concurrent`]).
struct Gate {
    /// Downloads not begun yet.
    left: Mutex<usize>,
    opened: Condvar,
}

impl Gate {
    fn new(downloads: usize) -> Gate {
        Gate {
            left: Mutex::new(downloads),
            opened: Condvar::new(),
        }
    }

    /// One download has begun (or ended without data).
    fn begun(&self) {
        let mut left = self.left.lock().unwrap_or_else(|e| e.into_inner());
        *left = left.saturating_sub(1);
        if *left == 0 {
            self.opened.notify_all();
        }
    }

    /// Waits until every download has begun, or the deadline.
    fn wait(&self, deadline: Instant) {
        let mut left = self.left.lock().unwrap_or_else(|e| e.into_inner());
        while *left > 0 {
            let rest = deadline.saturating_duration_since(Instant::now());
            if rest.is_zero() {
                return;
            }
            left = self
                .opened
                .wait_timeout(left, rest)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}

/// Tells the gate once, at the first data or when dropped (the download ended without
/// data, or its thread failed).
struct Begun<'a>(Option<&'a Gate>);

impl Begun<'_> {
    fn now(&mut self) {
        if let Some(g) = self.0.take() {
            g.begun();
        }
    }
}

impl Drop for Begun<'_> {
    fn drop(&mut self) {
        self.now();
    }
}

/// Client `i` of `concurrent` (its own thread): even ones download the seeded
/// `concurrent` file and compare it, odd ones upload `size` bytes of their own once the
/// gate lets them. What it sent (as a report shows it), and what came of it.
fn concurrent_client(
    addr: &Connector,
    d: &Dialect,
    i: usize,
    size: u64,
    deadline: Instant,
    concurrent: Option<Content>,
    gate: &Gate,
) -> (String, Result<Comparison, String>) {
    let refused = |r: String| {
        if d.replies.error.is_empty() {
            d.refused(&r)
        } else {
            format!("{} {r}", d.replies.error)
        }
    };
    if i.is_multiple_of(2) {
        let mut begun = Begun(Some(gate));
        let shown = d.show_get(library::CONCURRENT);
        let mut conn = match addr.connect(deadline) {
            Ok(c) => c,
            Err(e) => return (shown, Err(e.to_string())),
        };
        let content = concurrent.unwrap_or(Content::Bytes(Vec::new()));
        let r = get_compared_noting(&mut conn, library::CONCURRENT, &content, &mut || {
            begun.now()
        });
        drop(begun);
        let r = r
            .map_err(|e| e.to_string())
            .and_then(|r| r.map_err(refused));
        (conn.shown_get(library::CONCURRENT), r)
    } else {
        let name = format!("concurrent-up-{i}.bin");
        let shown = d.show_put(&name, size);
        let mut conn = match addr.connect(deadline) {
            Ok(c) => c,
            Err(e) => return (shown, Err(e.to_string())),
        };
        gate.wait(deadline);
        let mut src = PseudoText::new(1000 + i as u64, size);
        let r = match conn.put(&name, size, &mut src) {
            Err(e) => Err(e.to_string()),
            Ok(Err(r)) => Err(refused(r)),
            Ok(Ok(())) => Ok(Comparison {
                expected_len: size,
                got_len: size,
                first_diff: None,
                hint: None,
                got_hash: String::new(),
            }),
        };
        (shown, r)
    }
}

/// The uploads of `concurrent` that were accepted, checked on disk byte for byte.
fn check_stored_uploads(ctx: &Ctx, n: usize, size: u64, faults: &mut Vec<ConcurrentFault>) {
    let put = Dialect::word(&ctx.dialect.commands.put);
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
        if !ctx.dialect.upload.final_reply {
            // The server may still be storing it (a sleep before `close`).
            super::upload::await_stored(ctx, &path, size, Instant::now() + ctx.cfg.timing.op());
        }
        match std::fs::File::open(&path) {
            Ok(f) => match compare_streams(f, PseudoText::new(1000 + i as u64, size), size) {
                Ok(c) if c.identical() => {}
                Ok(c) => faults.push(ConcurrentFault::StoredDiffers {
                    n: client,
                    op: put.clone(),
                    summary: c.summary(),
                }),
                Err(e) => faults.push(ConcurrentFault::StoredUnreadable {
                    n: client,
                    error: e.to_string(),
                }),
            },
            Err(_) => faults.push(ConcurrentFault::NotStored {
                n: client,
                op: put.clone(),
                accepted: ctx.dialect.accepted_upload(),
            }),
        }
    }
}

/// What `concurrent` found wrong; clients are numbered from 1, commands named by their
/// first word in the dialect (`op`: `G`, `P`, `DOWNLOAD`…).
enum ConcurrentFault {
    /// Client `n`'s transfer failed, for reason `why`.
    Transfer {
        n: usize,
        op: String,
        why: String,
    },
    /// The upload of client `n` was accepted, but the stored file differs.
    StoredDiffers {
        n: usize,
        op: String,
        summary: String,
    },
    StoredUnreadable {
        n: usize,
        error: String,
    },
    /// The upload of client `n` was accepted (`accepted`: how, `answered OK`), but nothing
    /// was stored.
    NotStored {
        n: usize,
        op: String,
        accepted: String,
    },
    StalledKeptOpen,
    StalledChanged,
    StallFailed(ProtoError),
}

impl std::fmt::Display for ConcurrentFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use ConcurrentFault::*;
        match self {
            Transfer { n, op, why } => {
                f.write_str(&tr!("client {n} ({op}): {why}", n = n, op = op, why = why))
            }
            StoredDiffers { n, op, summary } => f.write_str(&tr!(
                "client {n} ({op}), stored file: {summary}",
                n = n,
                op = op,
                summary = summary
            )),
            StoredUnreadable { n, error } => {
                f.write_str(&tr!("client {n}: {error}", n = n, error = error))
            }
            NotStored { n, op, accepted } => f.write_str(&tr!(
                "client {n} ({op}): {accepted} but stored no file",
                n = n,
                op = op,
                accepted = accepted
            )),
            StalledKeptOpen => f.write_str(tr!(
                "the server never closed the stalled connection after the client left"
            )),
            StalledChanged => f.write_str(&tr!(
                "the stalled, never finished upload changed {library} (it must stay as it was)",
                library = library::CONCURRENT
            )),
            StallFailed(e) => f.write_str(&tr!(
                "the stalling client could not start its upload: {e}",
                e = e
            )),
        }
    }
}

impl Fault for ConcurrentFault {
    fn hint(&self) -> Option<String> {
        Some(tr!("serve each connection in its own thread or process, so that a stalled client blocks no one").into())
    }
}
