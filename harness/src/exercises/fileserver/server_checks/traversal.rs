//! `traversal`: names leading out of the library, hidden names and directories, for G and P.

use crate::grading::evidence::{judged, Fault};
use crate::net::client::FileProtocol;
use crate::report::CheckOutcome;
use crate::tr;

use super::download::get_sent;
use super::library;
use super::{with_server, Ctx, ReplyFault};

/// A way out of the library that `traversal` found open.
enum TraversalFault {
    /// The download `what` (as sent) was answered with data, `answered` as the dialect says
    /// it (`OK 28`; `leaked`: with the secret file's contents).
    Served {
        what: String,
        answered: String,
        leaked: bool,
    },
    /// The upload shown as this was accepted.
    Accepted(String),
    Reply(ReplyFault),
    /// A file appeared where none may (worded).
    Appeared(&'static str),
    SecretChanged,
}

impl std::fmt::Display for TraversalFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TraversalFault::Served {
                what,
                answered,
                leaked,
            } => {
                if *leaked {
                    f.write_str(&tr!(
                        "{what}: answered {answered} and sent the secret file outside the library",
                        what = what,
                        answered = answered
                    ))
                } else {
                    f.write_str(&tr!(
                        "{what}: answered {answered}",
                        what = what,
                        answered = answered
                    ))
                }
            }
            TraversalFault::Accepted(what) => f.write_str(&tr!("{what}: accepted", what = what)),
            TraversalFault::Reply(r) => r.fmt(f),
            TraversalFault::Appeared(what) => write!(f, "{what}"),
            TraversalFault::SecretChanged => {
                f.write_str(tr!("the secret file outside the library was changed"))
            }
        }
    }
}

impl Fault for TraversalFault {
    fn hint(&self) -> Option<String> {
        Some(tr!("refuse names that contain '/', start with '.', or are '.' or '..'; serve regular files only").into())
    }
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
        let mut faults = Vec::new();
        let mut actions = Vec::new();
        for name in gets {
            let mut leaked = false;
            let mut got_bytes = Vec::new();
            let mut what = ctx.dialect.show_get(name);
            let r = ctx.connect(cfg.timing.op()).and_then(|mut c| {
                let r = c.get(name, &mut |b| {
                    if got_bytes.len() < 1 << 16 {
                        got_bytes.extend_from_slice(&b[..b.len().min(1 << 16)]);
                    }
                    Ok(())
                });
                what = c.shown_get(name);
                r
            });
            actions.extend(get_sent(ctx, &what));
            if String::from_utf8_lossy(&got_bytes).contains(&token) {
                leaked = true;
            }
            match r {
                Ok(Ok(size)) => faults.push(TraversalFault::Served {
                    what,
                    answered: ctx.dialect.answered_data(size),
                    leaked,
                }),
                Ok(Err(_)) => {}
                Err(error) => {
                    faults.push(TraversalFault::Reply(ReplyFault::Broken { what, error }))
                }
            }
        }
        for name in puts {
            actions.push(ctx.dialect.show_put(name, 6));
            match ctx
                .connect(cfg.timing.op())
                .and_then(|mut c| c.put(name, 6, &mut &b"owned\n"[..]))
            {
                Ok(Ok(())) => faults.push(TraversalFault::Accepted(shown_put(ctx, name))),
                Ok(Err(_)) => {}
                Err(error) => faults.push(TraversalFault::Reply(ReplyFault::Broken {
                    what: shown_put(ctx, name),
                    error,
                })),
            }
        }
        let escaped = ctx.root.join("escaped.txt");
        for (path, what) in [
            (
                escaped.clone(),
                tr!("a file appeared outside the library (../escaped.txt)"),
            ),
            (
                outside_tmp.clone(),
                tr!("a file appeared at an absolute path outside the library"),
            ),
            (
                ctx.lib.dir.join(".sneaky"),
                tr!("a hidden file was created in the library"),
            ),
            (
                ctx.lib.dir.join(library::SUBDIR).join("planted.txt"),
                tr!("a file was planted in a subdirectory"),
            ),
        ] {
            if path.exists() {
                faults.push(TraversalFault::Appeared(what));
                let _ = std::fs::remove_file(&path);
            }
        }
        let secret_now = std::fs::read_to_string(&ctx.lib.secret).unwrap_or_default();
        if !secret_now.contains(&token) {
            faults.push(TraversalFault::SecretChanged);
        }
        let mut o = judged(
            &faults,
            tr!("every name leading outside the library, hidden or into a directory was refused"),
        );
        o.actions = actions;
        o
    })
}

/// An upload of `traversal` in a fault: `P name` in the exact protocol (as it always has
/// been), the dialect's command otherwise.
fn shown_put(ctx: &Ctx, name: &str) -> String {
    if ctx.dialect.is_exact() && ctx.dialect.speaks_exact_words() {
        format!("P {name}")
    } else {
        ctx.dialect.show_put(name, 6)
    }
}
