//! The reading checks: `list`, the `get-*` downloads compared byte for byte, `get-missing`.

use std::time::Duration;

use crate::net::client::{FileProtocol, ProtoError};
use crate::net::transfer::Comparison;
use crate::report::CheckOutcome;
use crate::text::escape;

use super::library::{self, Content};
use super::{
    comparison_outcome, fail, get_compared, pass, refused, transfer_time, with_server, Ctx,
};

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
    get_compared(&mut conn, name, &content)
}

fn get_check(ctx: &mut Ctx, id: &'static str, names: &[&str], large: bool) -> CheckOutcome {
    let cfg = ctx.cfg;
    with_server(ctx, id, |ctx| {
        let within = transfer_time(cfg, large);
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
                    failed = Some(fail(cfg, id, refused(&what, &reason)));
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

/// `list`.
pub fn list(ctx: &mut Ctx) -> CheckOutcome {
    let cfg = ctx.cfg;
    with_server(ctx, "list", |ctx| {
        let mut o = match ctx.connect(cfg.timing.op()).and_then(|mut c| c.list()) {
            Err(e) => fail(cfg, "list", format!("L: {e}")),
            Ok(Err(reason)) => fail(cfg, "list", refused("L", &reason)),
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
