//! The `put-*` checks: an upload, then the stored file compared byte for byte on disk.

use std::time::Duration;

use crate::net::client::{FileProtocol, ProtoError};
use crate::net::transfer::compare_streams;
use crate::report::{CheckOutcome, Status};

use super::library::{self, Content};
use super::{
    comparison_outcome, fail, failed, transfer_time, verdict, with_server, Ctx, ReplyFault,
};

fn put_check(
    ctx: &mut Ctx,
    id: &'static str,
    name: &str,
    content: Content,
    large: bool,
) -> CheckOutcome {
    let within = transfer_time(ctx.cfg, large);
    with_server(ctx, id, |ctx| {
        let what = format!("P {} {name}", content.len());
        let mut o = match upload(ctx, name, &content, within) {
            Err(error) => failed(ReplyFault::Broken {
                what: what.clone(),
                error,
            }),
            Ok(Err(reason)) => failed(ReplyFault::Refused {
                what: what.clone(),
                reason,
            }),
            Ok(Ok(())) => match std::fs::File::open(ctx.uploads.join(name)) {
                Err(e) => fail(format!(
                    "{what}: answered OK, but the library has no such file ({e})"
                )),
                Ok(f) => match compare_streams(f, content.reader(), content.len()) {
                    Ok(c) => comparison_outcome(&format!("{what}, stored file"), &c),
                    Err(e) => verdict(Status::Error, format!("reading the stored file: {e}")),
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
