//! The client checks, one function each: it types its command and says what it saw (and
//! which request the reference server must have got); [`Turn::judged`] makes the outcome.

use crate::tr;
use std::path::Path;
use std::time::Instant;

use crate::net::transfer::{compare_streams, Comparison};
use crate::report::{CheckOutcome, Status};
use crate::supervise::session::Exit;

use super::super::config::GetBy;
use super::super::library::{self, Content};
use super::super::policy::ClientQuit;
use super::{
    judge_quit, judged_client, Action, ClientFault, ClientGrading, ClientRun, Seen, Turn, Typed,
    CLIENT_CLEANUP,
};

/// The name asked for in `client-get-missing`.
const MISSING: &str = "no-such-file.txt";

/// The local files `client-put` and `client-put-binary` upload.
const PUT_TEXT_NAME: &str = "local-up.txt";
/// A file's content, compared byte for byte: the same in every language.
pub const PUT_TEXT: &str = crate::i18n::verbatim("uploaded by the client\n客户端上传\n");
const PUT_BINARY_NAME: &str = "local-up.bin";
const PUT_LARGE_NAME: &str = "local-up-large.bin";

/// The size of the large file downloaded (the reference library's large.bin) and of the one
/// uploaded: over 1 MiB, so a client that keeps one buffer of a transfer, however big,
/// loses data; not a multiple of any buffer size.
pub const LARGE_BYTES: u64 = (1 << 20) + 4099;
const PUT_LARGE_BYTES: u64 = (3 << 19) + 1001;

/// `client-list`: every name of the library printed.
pub fn list(t: &mut Turn) -> Result<Seen, String> {
    let typed = t.act(Action::List, None, t.cfg.timing.op());
    let text = t.output_since(typed.mark);
    let missing: Vec<String> = t
        .lib
        .files
        .iter()
        .map(|(n, _)| n.clone())
        .filter(|n| !text.contains(n.as_str()))
        .collect();
    let result = if missing.is_empty() {
        Ok(tr!("every file of the library was listed").to_string())
    } else {
        Err(ClientFault::NotListed(missing))
    };
    Ok(seen(t, typed, Some("L".into()), result))
}

/// `client-get`.
pub fn get_text(t: &mut Turn) -> Result<Seen, String> {
    get(t, library::TEXT)
}

/// `client-get-binary`.
pub fn get_binary(t: &mut Turn) -> Result<Seen, String> {
    get(t, library::BINARY)
}

/// `client-get-large`.
pub fn get_large(t: &mut Turn) -> Result<Seen, String> {
    get(t, library::LARGE)
}

/// `get name`: the saved file equals the library's.
fn get(t: &mut Turn, name: &str) -> Result<Seen, String> {
    let _ = std::fs::remove_file(t.run.cwd.join(name));
    let within = if name == library::LARGE {
        t.cfg.timing.large()
    } else {
        t.cfg.timing.op()
    };
    let typed = t.act(Action::Get, Some(&t.asked_as(name)), within);
    let content = t
        .lib
        .content(name)
        .cloned()
        .unwrap_or(Content::Bytes(Vec::new()));
    let result = compare_file(&t.run.cwd.join(name), &content).and_then(|c| {
        if c.identical() {
            Ok(tr!(
                "{name} saved: {summary}",
                name = name,
                summary = c.summary()
            ))
        } else {
            Err(ClientFault::Differs {
                what: tr!("{name} saved", name = name),
                summary: c.summary(),
            })
        }
    });
    Ok(seen(t, typed, Some(format!("G {name}")), result))
}

/// `client-put`.
pub fn put_text(t: &mut Turn) -> Result<Seen, String> {
    put(t, PUT_TEXT_NAME, PUT_TEXT.as_bytes().to_vec())
}

/// `client-put-binary`.
pub fn put_binary(t: &mut Turn) -> Result<Seen, String> {
    let mut b = library::binary_bytes();
    b.rotate_left(100);
    put(t, PUT_BINARY_NAME, b)
}

/// `client-put-large`: pseudo-random binary data.
pub fn put_large(t: &mut Turn) -> Result<Seen, String> {
    let mut bytes = Vec::new();
    let markers = t.server.data_markers();
    std::io::Read::read_to_end(
        &mut markers.strip(crate::net::transfer::Pseudo::new(9, PUT_LARGE_BYTES)),
        &mut bytes,
    )
    .map_err(|e| tr!("cannot make the file to upload: {e}", e = e))?;
    put(t, PUT_LARGE_NAME, bytes)
}

/// `put name` of a local file holding `bytes`: the server's copy equals it.
fn put(t: &mut Turn, name: &str, bytes: Vec<u8>) -> Result<Seen, String> {
    std::fs::write(t.run.cwd.join(name), &bytes)
        .map_err(|e| tr!("cannot create the file to upload: {e}", e = e))?;
    let request = format!("P {} {name}", bytes.len());
    let within = if bytes.len() as u64 >= PUT_LARGE_BYTES {
        t.cfg.timing.large()
    } else {
        t.cfg.timing.op()
    };
    let typed = t.act(Action::Put, Some(name), within);
    // The client may prompt again before the server has stored the file (a dialect's
    // upload ends with a marker and no reply): wait for the upload's end.
    t.server.await_uploads(Instant::now() + within);
    let content = Content::Bytes(bytes);
    let result = compare_file(&t.lib.dir.join(name), &content).and_then(|c| {
        if c.identical() {
            Ok(tr!(
                "{name} uploaded: {summary}",
                name = name,
                summary = c.summary()
            ))
        } else {
            Err(ClientFault::Differs {
                what: tr!("{name} on the server", name = name),
                summary: c.summary(),
            })
        }
    });
    Ok(seen(t, typed, Some(request), result))
}

/// `client-get-missing`: the server's reason shown, no local file, a prompt again.
pub fn get_missing(t: &mut Turn) -> Result<Seen, String> {
    // Asked before the command: the grader's own request must not count as the client's.
    let reason = t.server.reason_for_missing(MISSING);
    let asked = t.asked_as(MISSING);
    let typed = t.act(Action::Get, Some(&asked), t.cfg.timing.op());
    let (mark, prompted) = (typed.mark, typed.prompted);
    let text = t.output_since(mark);
    let result = if t.run.cwd.join(MISSING).exists() {
        Err(ClientFault::LocalFileCreated(MISSING))
    } else if !reason.is_empty() && !text.contains(&reason) {
        Err(ClientFault::ReasonNotShown(reason))
    } else if !prompted {
        Err(ClientFault::NoPromptAfterError)
    } else if reason.is_empty() {
        Ok(tr!("no file was created, the client goes on").into())
    } else {
        Ok(tr!("the server's reason was shown, no file was created, the client goes on").into())
    };
    // The prompt again is judged above, in words of its own.
    let name_asked = typed.name_asked;
    // A numbered protocol cannot ask for a name that is not listed: a client that looks
    // the name up in the server's listing, and finds it missing, asked the server with L.
    let by_number = t.server.numbers_downloads();
    let request = match by_number && t.cfg.client.menu.get_by == GetBy::Name {
        true => "L".to_string(),
        false => format!("G {asked}"),
    };
    let mut seen = seen(t, typed, Some(request), result);
    if name_asked {
        seen.prompted = true;
    }
    Ok(seen)
}

/// `quit`: the client ends with status 0.
fn quit(t: &mut Turn) -> Result<Seen, String> {
    let word = ClientRun::word(t.cfg, Action::Quit).to_string();
    let mark = t.run.session.transcript.mark();
    t.run.type_line(&format!("{word}\n"));
    let deadline = Instant::now() + t.cfg.timing.exit();
    let exit = t.run.await_exit(deadline);
    let (result, note) = judge_quit(
        &t.cfg.policy(),
        exit,
        t.run.session.transcript.since(mark),
        t.cfg.timing.exit_ms,
    );
    Ok(Seen {
        lines: vec![word],
        mark,
        prompted: true,
        request: None,
        result,
        notes: note.into_iter().collect(),
    })
}

/// `client-quit`: quit, then end of input: a fresh client gets Ctrl-D and must end as quit
/// does.
pub fn quit_and_end_of_input(g: &mut ClientGrading) -> CheckOutcome {
    let cfg = g.cfg;
    let mut o = g.judge(quit);
    g.end_run();
    if o.status != Status::Passed {
        return o;
    }
    o.actions
        .push(tr!("typed Ctrl-D (end of input) to a fresh client").into());
    match ClientRun::start(cfg, &g.term.launch, &g.term.cwd) {
        Ok((mut r, true)) => {
            r.type_line("\u{4}");
            let exit = r.await_exit(Instant::now() + cfg.timing.exit());
            match exit {
                Some(Exit::Code(0)) if o.notes.is_empty() => {
                    o.message =
                        tr!("quit and end of input each ended the client with status 0").into()
                }
                Some(Exit::Code(0)) => {}
                other if cfg.policy().client_quit == ClientQuit::AnyStatus => {
                    // The course asks for a quit command, not for end of input: seen, noted.
                    o.notes.push(super::super::policy::beyond(
                        &ClientFault::EndOfInput(other, cfg.timing.exit_ms).to_string(),
                        "client_quit",
                        "any-status",
                    ));
                }
                other => {
                    o = judged_client(
                        &[ClientFault::EndOfInput(other, cfg.timing.exit_ms)],
                        "",
                        g.lang,
                        cfg,
                    );
                    o.actions = vec![
                        tr!(
                            "typed \"{word}\"",
                            word = ClientRun::word(cfg, Action::Quit)
                        ),
                        tr!("typed Ctrl-D (end of input) to a fresh client").into(),
                    ];
                }
            }
            r.session.finish(Instant::now() + CLIENT_CLEANUP);
        }
        Ok((r, false)) => {
            r.session.finish(Instant::now() + CLIENT_CLEANUP);
        }
        Err(_) => {}
    }
    o
}

/// What an action typed did, for [`Turn::judged`]: `result` stands unless the client never
/// asked for the name.
fn seen(
    t: &Turn,
    typed: Typed,
    request: Option<String>,
    result: Result<String, ClientFault>,
) -> Seen {
    let result = match typed.lines.first() {
        Some(action) if !typed.name_asked => Err(ClientFault::NoNamePrompt {
            action: action.clone(),
            prompt: t.cfg.client.menu.name_prompt_ends_with.clone(),
        }),
        _ => result,
    };
    Seen {
        lines: typed.lines,
        mark: typed.mark,
        prompted: typed.prompted,
        request,
        result,
        notes: Vec::new(),
    }
}

/// The file at `path` compared with `content`.
pub fn compare_file(path: &Path, content: &Content) -> Result<Comparison, ClientFault> {
    let f = std::fs::File::open(path).map_err(|_| {
        ClientFault::NotSaved(
            path.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        )
    })?;
    compare_streams(f, content.reader(), content.len())
        .map_err(|e| ClientFault::Unreadable(e.to_string()))
}
