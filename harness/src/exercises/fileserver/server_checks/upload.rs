//! The `put-*` checks: an upload, then the stored file compared byte for byte on disk.

use crate::tr;
use std::time::{Duration, Instant};

use crate::net::answer::Answerer;
use crate::net::client::{FileProtocol, ProtoError};
use crate::net::transfer::compare_streams;
use crate::report::{CheckOutcome, Status};
use crate::supervise::{procfs, spin};

use super::library::{self, Content};
use super::{
    comparison_outcome, fail, failed, intact, pass, poll_until, transfer_time, verdict,
    with_server, Ctx, ReplyFault,
};
use crate::net::dialect::Replace;

fn put_check(
    ctx: &mut Ctx,
    id: &'static str,
    name: &str,
    content: Content,
    large: bool,
) -> CheckOutcome {
    let within = transfer_time(ctx.cfg, large);
    with_server(ctx, id, |ctx| {
        let what = ctx.dialect.show_put(name, content.len());
        let mut o = match upload(ctx, name, &content, within) {
            Err(error) => failed(ReplyFault::Broken {
                what: what.clone(),
                error,
            }),
            Ok(Err(reason)) => failed(ReplyFault::refused(&ctx.dialect, what.clone(), &reason)),
            Ok(Ok(())) => match stored(ctx, name, content.len(), within) {
                Err(e) => fail(tr!(
                    "{what}: {accepted}, but the library has no such file ({e})",
                    what = what,
                    accepted = ctx.dialect.accepted_upload(),
                    e = e
                )),
                Ok(f) => match compare_streams(f, content.reader(), content.len()) {
                    Ok(c) => comparison_outcome(&tr!("{what}, stored file", what = what), &c),
                    Err(e) => verdict(Status::Error, tr!("reading the stored file: {e}", e = e)),
                },
            },
        };
        o.actions = vec![what];
        o
    })
}

/// The stored file, once it is complete: at once when the server answered after storing
/// it; otherwise (no reply after the data) once no process of the server holds it open and
/// it has the size sent, or the server can no longer move (it is done with it, or never
/// made it). A server that keeps its file open a while after the data (a `time.sleep`
/// before `close`, bytes still in its write buffer) is waited for; the deadline is only
/// the limit.
fn stored(ctx: &Ctx, name: &str, len: u64, within: Duration) -> std::io::Result<std::fs::File> {
    let path = ctx.uploads.join(name);
    if !ctx.dialect.upload.final_reply {
        await_stored(ctx, &path, len, Instant::now() + within);
    }
    std::fs::File::open(path)
}

/// Waits until the upload stored at `path` (`len` bytes sent) is complete, as [`stored`]
/// says, or the deadline.
pub(super) fn await_stored(ctx: &Ctx, path: &std::path::Path, len: u64, deadline: Instant) {
    let Some(server) = &ctx.server else {
        return;
    };
    let mut answerer = Answerer::new(server.pid);
    let mut family = spin::family_pids(server.pid);
    let mut looks = 0u32;
    poll_until(deadline, || {
        looks += 1;
        // A look at the whole family reads all of /proc: every 10th look (20 ms) only.
        if looks.is_multiple_of(10) {
            family = spin::family_pids(server.pid);
        }
        let Ok(file) = std::fs::metadata(path) else {
            return looks.is_multiple_of(5) && answerer.cannot_answer();
        };
        if family.iter().any(|p| procfs::holds_open(*p, &file)) {
            return false;
        }
        file.len() == len || (looks.is_multiple_of(5) && answerer.cannot_answer())
    });
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
        Content::Pseudo {
            seed: 7,
            len,
            markers: ctx.dialect.data_markers(),
        },
        true,
    )
}
pub fn put_replace(ctx: &mut Ctx) -> CheckOutcome {
    if ctx.dialect.upload.replace == Replace::Refused {
        return put_refused(ctx);
    }
    put_check(
        ctx,
        "put-replace",
        library::TEXT,
        // A file's content, compared byte for byte.
        Content::Bytes(crate::i18n::verbatim(b"replaced by an upload\n").to_vec()),
        false,
    )
}

/// `put-replace` where the dialect refuses to replace: the upload must be refused, and the
/// file stays as it was.
fn put_refused(ctx: &mut Ctx) -> CheckOutcome {
    let within = transfer_time(ctx.cfg, false);
    with_server(ctx, "put-replace", |ctx| {
        let content = Content::Bytes(crate::i18n::verbatim(b"replaced by an upload\n").to_vec());
        let what = ctx.dialect.show_put(library::TEXT, content.len());
        let mut o = match upload(ctx, library::TEXT, &content, within) {
            Err(error) => failed(ReplyFault::Broken {
                what: what.clone(),
                error,
            }),
            Ok(Ok(())) => fail(tr!(
                "{what}: accepted, but this protocol refuses to replace an existing name",
                what = what
            )),
            Ok(Err(_)) if !intact(ctx, library::TEXT) => fail(tr!(
                "{what}: refused, but {library} was changed anyway",
                what = what,
                library = library::TEXT
            )),
            Ok(Err(_)) => pass(tr!(
                "{what}: refused (this protocol keeps an existing name); {library} unchanged",
                what = what,
                library = library::TEXT
            )),
        };
        o.actions = vec![what];
        o
    })
}
