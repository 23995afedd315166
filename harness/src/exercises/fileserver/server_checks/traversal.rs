//! `traversal`: names leading out of the library, hidden names and directories, for G and P.

use crate::grading::evidence::{judged, Fault};
use crate::net::client::FileProtocol;
use crate::report::CheckOutcome;

use super::library;
use super::{with_server, Ctx, ReplyFault};

/// A way out of the library that `traversal` found open.
enum TraversalFault {
    /// `G name` was answered OK (`leaked`: with the secret file's contents).
    Served {
        name: &'static str,
        size: u64,
        leaked: bool,
    },
    /// `P name` was accepted.
    Accepted(String),
    Reply(ReplyFault),
    /// A file appeared where none may (worded).
    Appeared(&'static str),
    SecretChanged,
}

impl std::fmt::Display for TraversalFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TraversalFault::Served { name, size, leaked } => write!(
                f,
                "G {name}: answered OK {size}{}",
                if *leaked {
                    " and sent the secret file outside the library"
                } else {
                    ""
                }
            ),
            TraversalFault::Accepted(name) => write!(f, "P {name}: accepted"),
            TraversalFault::Reply(r) => r.fmt(f),
            TraversalFault::Appeared(what) => write!(f, "{what}"),
            TraversalFault::SecretChanged => {
                write!(f, "the secret file outside the library was changed")
            }
        }
    }
}

impl Fault for TraversalFault {
    fn hint(&self) -> Option<String> {
        Some("refuse names that contain '/', start with '.', or are '.' or '..'; serve regular files only".into())
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
            actions.push(ctx.dialect.show_get(name));
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
                Ok(Ok(size)) => faults.push(TraversalFault::Served { name, size, leaked }),
                Ok(Err(_)) => {}
                Err(error) => faults.push(TraversalFault::Reply(ReplyFault::Broken {
                    what: ctx.dialect.show_get(name),
                    error,
                })),
            }
        }
        for name in puts {
            actions.push(ctx.dialect.show_put(name, 6));
            match ctx
                .connect(cfg.timing.op())
                .and_then(|mut c| c.put(name, 6, &mut &b"owned\n"[..]))
            {
                Ok(Ok(())) => faults.push(TraversalFault::Accepted(name.to_string())),
                Ok(Err(_)) => {}
                Err(error) => faults.push(TraversalFault::Reply(ReplyFault::Broken {
                    what: if ctx.dialect.is_exact() {
                        format!("P {name}")
                    } else {
                        ctx.dialect.show_put(name, 6)
                    },
                    error,
                })),
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
            "every name leading outside the library, hidden or into a directory was refused",
        );
        o.actions = actions;
        o
    })
}
