//! The reading checks: `list`, the `get-*` downloads compared byte for byte, `get-missing`.

use std::time::Duration;

use crate::grading::evidence::{judged, Fault};
use crate::net::client::{FileProtocol, ProtoError};
use crate::net::transfer::Comparison;
use crate::report::CheckOutcome;
use crate::text::escape;

use super::super::policy::{self, Links};
use super::library::{self, Content};
use super::{
    comparison_outcome, failed, get_compared, pass, transfer_time, with_server, Ctx, ReplyFault,
};

/// Downloads `name` and compares it with what the library holds; how the download was
/// sent (a numbered dialect's with its number) and what came of it.
fn download(
    ctx: &Ctx,
    name: &str,
    within: Duration,
) -> (String, Result<Result<Comparison, String>, ProtoError>) {
    let content = ctx
        .lib
        .content(name)
        .cloned()
        .unwrap_or(Content::Bytes(Vec::new()));
    match ctx.connect(within) {
        Ok(mut conn) => {
            let r = get_compared(&mut conn, name, &content);
            (conn.shown_get(name), r)
        }
        Err(e) => (ctx.dialect.show_get(name), Err(e)),
    }
}

/// Downloads each of `names` in turn: passed with what each transfer was, or the outcome
/// of the first download that failed; with what was sent.
fn download_all(ctx: &Ctx, names: &[&str], within: Duration) -> CheckOutcome {
    let mut parts = Vec::new();
    let mut actions = Vec::new();
    let outcome = (|| {
        for name in names {
            let (what, r) = download(ctx, name, within);
            actions.extend(get_sent(ctx, &what));
            match r {
                Ok(Ok(c)) if c.identical() => parts.push(format!("{what}: {}", c.summary())),
                Ok(Ok(c)) => return comparison_outcome(&what, &c),
                Ok(Err(reason)) => return failed(ReplyFault::refused(&ctx.dialect, what, &reason)),
                Err(error) => return failed(ReplyFault::Broken { what, error }),
            }
        }
        pass(parts.join("; "))
    })();
    let mut o = outcome;
    o.actions = actions;
    o
}

/// The messages a download shown as `shown` sent, for `done:`: a numbered dialect's
/// listing (which gives the number) first.
pub(super) fn get_sent(ctx: &Ctx, shown: &str) -> Vec<String> {
    if ctx.dialect.numbered_get() {
        vec![ctx.dialect.show_list(), shown.to_string()]
    } else {
        vec![shown.to_string()]
    }
}

fn get_check(ctx: &mut Ctx, id: &'static str, names: &[&str], large: bool) -> CheckOutcome {
    let within = transfer_time(ctx.cfg, large);
    with_server(ctx, id, |ctx| download_all(ctx, names, within))
}

/// What `list` found wrong.
enum ListFault {
    Reply(ReplyFault),
    /// The listing is not the library's (the first fault; the others say how).
    Differs,
    Missing(Vec<String>),
    Unwanted(Vec<String>),
    Repeated,
}

impl std::fmt::Display for ListFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ListFault::Reply(r) => r.fmt(f),
            ListFault::Differs => write!(f, "the listing differs from the library"),
            ListFault::Missing(names) => write!(f, "missing: {}", names.join(", ")),
            ListFault::Unwanted(names) => {
                let shown: Vec<String> =
                    names.iter().map(|e| escape::quoted(e.as_bytes())).collect();
                write!(f, "not to be listed: {}", shown.join(", "))
            }
            ListFault::Repeated => write!(f, "some names were listed more than once"),
        }
    }
}

impl Fault for ListFault {
    fn hint(&self) -> Option<String> {
        match self {
            ListFault::Reply(_) => None,
            _ => Some(
                "list only regular files directly in the library whose names do not start with '.'"
                    .into(),
            ),
        }
    }
}

/// How the names `got` differ from the library's `want`.
fn listing_faults(got: &[String], want: &[&str]) -> Vec<ListFault> {
    let missing: Vec<String> = want
        .iter()
        .filter(|w| !got.iter().any(|g| g == *w))
        .map(|w| w.to_string())
        .collect();
    // In name order: a server's own order is its directory's (`os.listdir`), which differs
    // between filesystems, and a report must not.
    let mut extra: Vec<String> = got
        .iter()
        .filter(|g| !want.contains(&g.as_str()))
        .cloned()
        .collect();
    extra.sort();
    if missing.is_empty() && extra.is_empty() && got.len() == want.len() {
        return Vec::new();
    }
    let mut faults = vec![ListFault::Differs];
    if !missing.is_empty() {
        faults.push(ListFault::Missing(missing));
    }
    if !extra.is_empty() {
        faults.push(ListFault::Unwanted(extra));
    }
    let mut sorted = got.to_vec();
    sorted.sort();
    sorted.dedup();
    if sorted.len() < got.len() {
        faults.push(ListFault::Repeated);
    }
    faults
}

/// `list`.
pub fn list(ctx: &mut Ctx) -> CheckOutcome {
    let cfg = ctx.cfg;
    with_server(ctx, "list", |ctx| {
        let want: Vec<&str> = ctx.lib.files.iter().map(|(n, _)| n.as_str()).collect();
        let what = ctx.dialect.show_list();
        let mut notes = Vec::new();
        let faults = match ctx.connect(cfg.timing.op()).and_then(|mut c| c.list()) {
            Err(error) => vec![ListFault::Reply(ReplyFault::Broken { what, error })],
            Ok(Err(reason)) => vec![ListFault::Reply(ReplyFault::refused(
                &ctx.dialect,
                what,
                &reason,
            ))],
            Ok(Ok(names)) => {
                let mut got: Vec<String> = names
                    .iter()
                    .map(|n| String::from_utf8_lossy(n).into_owned())
                    .collect();
                let rules = &ctx.dialect.list;
                if rules.per_send && rules.separator.is_empty() {
                    let mut known = want.clone();
                    known.extend([library::HIDDEN, library::SUBDIR, library::LINK]);
                    got = crate::net::dialect::unglue(got, &known);
                }
                // A course that lists what os.path.isfile accepts lists the link too; where
                // it leads is traversal's to judge.
                if ctx.policy.links == Links::Listed && got.iter().any(|n| n == library::LINK) {
                    got.retain(|n| n != library::LINK);
                    notes.push(policy::beyond(
                        &format!(
                            "the symbolic link {} was listed (a link is not a regular file)",
                            library::LINK
                        ),
                        "links",
                        "listed",
                    ));
                }
                listing_faults(&got, &want)
            }
        };
        let passed = if notes.is_empty() {
            format!("all {} files listed, nothing else", want.len())
        } else {
            format!("all {} files listed, and the symbolic link", want.len())
        };
        let mut o = judged(&faults, passed);
        o.notes = notes;
        o.actions = vec![ctx.dialect.show_list()];
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

/// What `get-missing` found wrong, worded in the dialect's words.
enum GetMissingFault {
    /// The download (as sent) was answered (as the dialect says it) instead of refused.
    Answered {
        what: String,
        answered: String,
        refusal: String,
    },
    /// After the refusal (`the ERR`), the listing command was refused.
    ListRefused {
        after: String,
        list: String,
        reason: String,
    },
    Broken(ProtoError),
}

impl std::fmt::Display for GetMissingFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GetMissingFault::Answered {
                what,
                answered,
                refusal,
            } => write!(f, "{what}: answered {answered} instead of {refusal}"),
            GetMissingFault::ListRefused {
                after,
                list,
                reason,
            } => write!(
                f,
                "after {after}, {list} on the same connection was refused: {}",
                escape::one_line(reason.as_bytes())
            ),
            GetMissingFault::Broken(e) => e.fmt(f),
        }
    }
}

impl Fault for GetMissingFault {}

/// The name `get-missing` asks for.
const MISSING: &str = "no-such-file.txt";

/// `get-missing`: a refusal (ERR), then the same connection still answers.
pub fn get_missing(ctx: &mut Ctx) -> CheckOutcome {
    let cfg = ctx.cfg;
    with_server(ctx, "get-missing", |ctx| {
        let d = ctx.dialect.clone();
        let list = d.show_list();
        let mut what = d.show_get(MISSING);
        let mut listed = false;
        let fault = (|| -> Result<Option<GetMissingFault>, ProtoError> {
            let mut conn = ctx.connect(cfg.timing.op())?;
            let got = conn.get(MISSING, &mut |_| Ok(()));
            what = conn.shown_get(MISSING);
            if let Ok(n) = got? {
                return Ok(Some(GetMissingFault::Answered {
                    what: what.clone(),
                    answered: d.answered_data(n),
                    refusal: d.refusal(),
                }));
            }
            listed = true;
            Ok(conn
                .list()?
                .err()
                .map(|reason| GetMissingFault::ListRefused {
                    after: d.the_refusal(),
                    list: list.clone(),
                    reason,
                }))
        })()
        .unwrap_or_else(|e| Some(GetMissingFault::Broken(e)));
        let mut o = judged(
            fault.as_slice(),
            format!(
                "{} for a missing file; the connection still answers {list}",
                d.refusal()
            ),
        );
        o.actions = get_sent(ctx, &what);
        // What was not sent is not shown: a download answered with data ends the check.
        if listed {
            o.actions.push(format!("{list} (same connection)"));
        }
        o
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unwanted_names_are_reported_in_name_order_whatever_the_servers_order() {
        let got: Vec<String> = ["b.txt", ".z", "a.txt", ".a"].map(String::from).to_vec();
        let faults = listing_faults(&got, &["a.txt", "b.txt"]);
        let unwanted = faults.iter().find_map(|f| match f {
            ListFault::Unwanted(names) => Some(names.clone()),
            _ => None,
        });
        assert_eq!(unwanted, Some(vec![".a".to_string(), ".z".to_string()]));
    }
}
