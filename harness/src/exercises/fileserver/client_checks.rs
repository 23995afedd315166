//! The client checks: the student's client runs in a terminal against the reference server
//! (in this process), and the grader types its commands. "The client is done with a command"
//! is read from the client itself: it prints its prompt again and waits for input.

use std::ffi::CString;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::config::FileserverConfig;
use crate::net::transfer::compare_streams;
use crate::report::{CheckOutcome, Status, TranscriptView};
use crate::submission::Prepared;
use crate::supervise::isolation::Sandbox;
use crate::supervise::observe::{self, Activity};
use crate::supervise::session::{Exit, Session};
use crate::supervise::spawn::Launch;
use crate::supervise::waiting::Wait;
use crate::text::escape;

use super::library::{self, Content, Library};
use super::server_checks::outcome;

/// How long ending a client and everything it started may take, each time one is done
/// with. Not `timing.exit_ms` (how long a client gets to exit by itself on quit): this is
/// the grader's own clean-up, which kills.
const CLIENT_CLEANUP: Duration = Duration::from_millis(2000);

/// The client running in its terminal, and where it saves downloads.
struct ClientRun {
    session: Session,
    cwd: PathBuf,
}

fn client_launch(base: &Launch, port: u16) -> Launch {
    let mut l = base.clone();
    l.argv.push(CString::new("127.0.0.1").unwrap_or_default());
    l.argv
        .push(CString::new(port.to_string()).unwrap_or_default());
    l
}

fn ends_with_prompt(out: &[u8], prompt: &str) -> bool {
    let text = String::from_utf8_lossy(out);
    text.trim_end().ends_with(prompt.trim())
}

impl ClientRun {
    fn start(cfg: &FileserverConfig, launch: &Launch, cwd: &Path) -> Result<(Self, bool), String> {
        let deadline = Instant::now() + cfg.timing.startup();
        let session =
            Session::start(launch, cfg.limits.output_bytes, deadline).map_err(|e| e.to_string())?;
        if let Some(e) = session.exec_error() {
            return Err(format!("the client could not be executed: {}", e.desc()));
        }
        let mut run = ClientRun {
            session,
            cwd: cwd.to_path_buf(),
        };
        let prompted = run.await_prompt(cfg, 0, deadline);
        Ok((run, prompted))
    }

    /// Waits until the client has printed its prompt after `mark` and waits for input.
    fn await_prompt(&mut self, cfg: &FileserverConfig, mark: usize, deadline: Instant) -> bool {
        let prompt = cfg.client.prompt_ends_with.clone();
        let Some(pid) = self.session.program_pid() else {
            return false;
        };
        self.session
            .wait_until(deadline, |s| {
                if s.program_exit().is_some() {
                    return Some(false);
                }
                let waiting = observe::view(pid).activity == Activity::Waiting(Wait::Indefinite);
                (waiting && ends_with_prompt(s.transcript.since(mark), &prompt)).then_some(true)
            })
            .unwrap_or(false)
    }

    fn alive(&self) -> bool {
        self.session.program_exit().is_none()
    }

    /// Types a command and waits for the next prompt (or the exit).
    fn command(&mut self, cfg: &FileserverConfig, line: &str) -> (usize, bool) {
        let mark = self.session.transcript.mark();
        self.session.type_text(&format!("{line}\n"));
        let ok = self.await_prompt(cfg, mark, Instant::now() + cfg.timing.op());
        (mark, ok)
    }

    fn transcript(&self, mark: usize) -> TranscriptView {
        TranscriptView::from_transcript(&self.session.transcript, mark)
    }
}

/// The client checks' shared state: the reference server with its library, and the
/// student's client in its terminal (restarted when a check ended it).
pub struct ClientGrading<'a> {
    cfg: &'a FileserverConfig,
    launch: Launch,
    cwd: PathBuf,
    lib: Library,
    server: super::refserver::RefServer,
    run: Option<ClientRun>,
    start_problem: Option<String>,
}

/// Sets up the reference server for the client `p`; the isolation in force, and the state
/// or why the client checks cannot be carried out.
pub fn prepare<'a>(
    cfg: &'a FileserverConfig,
    p: &Prepared,
) -> (Result<ClientGrading<'a>, String>, Vec<String>) {
    let sandbox = std::sync::Arc::new(Sandbox::new(&super::run_limits(cfg), &p.layout()));
    let isolation = super::isolation_of(&sandbox);
    let root = p.workdir.path().join("reference-side");
    // The grader's alone: a client running as a user of its own cannot read the library
    // from the disk instead of downloading it.
    let private = std::fs::create_dir_all(&root).and_then(|()| {
        std::fs::set_permissions(
            &root,
            <std::fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o700),
        )
    });
    if let Err(e) = private {
        return (
            Err(format!("cannot prepare the reference server: {e}")),
            isolation,
        );
    }
    let lib = match Library::seed(&root, 1 << 20, 1 << 16, "client") {
        Ok(l) => l,
        Err(e) => {
            return (
                Err(format!("cannot seed the reference library: {e}")),
                isolation,
            )
        }
    };
    let server = match super::refserver::RefServer::start(&lib.dir, Some(&sandbox)) {
        Ok(s) => s,
        Err(e) => {
            return (
                Err(format!("cannot start the reference server: {e}")),
                isolation,
            )
        }
    };
    let cwd = PathBuf::from(
        <std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(p.launch.cwd.as_bytes()),
    );
    // The client runs as the sandbox's user and saves downloads in its directory.
    let _ = sandbox.give(&cwd);
    let launch = client_launch(&p.launch.clone().confined(sandbox.clone()), server.port());
    let grading = ClientGrading {
        cfg,
        launch,
        cwd,
        lib,
        server,
        run: None,
        start_problem: None,
    };
    (Ok(grading), isolation)
}

impl ClientGrading<'_> {
    /// Judges check `id` on a running client, starting one if none runs.
    fn judge(&mut self, id: &str) -> CheckOutcome {
        let cfg = self.cfg;
        if self.run.as_ref().is_none_or(|r| !r.alive()) {
            if let Some(old) = self.run.take() {
                old.session.finish(Instant::now() + CLIENT_CLEANUP);
            }
            match ClientRun::start(cfg, &self.launch, &self.cwd) {
                Ok((r, true)) => self.run = Some(r),
                Ok((r, false)) => {
                    let seen = escape::one_line(r.session.transcript.since(0));
                    self.start_problem = Some(format!(
                        "the client did not show a prompt ending in \"{}\" and wait for input (it printed: \"{seen}\")",
                        cfg.client.prompt_ends_with
                    ));
                    r.session.finish(Instant::now() + CLIENT_CLEANUP);
                }
                Err(e) => self.start_problem = Some(e),
            }
        }
        let Some(r) = self.run.as_mut() else {
            let mut o = outcome(
                cfg,
                id,
                Status::Failed,
                self.start_problem.clone().unwrap_or_default(),
            );
            o.hint = Some("start as `client <host> <port>`, print a prompt ending in '>' and read commands from the terminal".into());
            return o;
        };
        client_check(cfg, id, r, &self.lib, &self.server)
    }

    /// Ends the client and the reference server.
    pub fn finish(mut self) {
        self.end_run();
        self.server.stop();
    }

    fn end_run(&mut self) {
        if let Some(r) = self.run.take() {
            r.session.finish(Instant::now() + CLIENT_CLEANUP);
        }
    }

    /// `client-quit`, then end of input: a fresh client gets Ctrl-D and must end as quit
    /// does.
    fn quit(&mut self) -> CheckOutcome {
        let cfg = self.cfg;
        let mut o = self.judge("client-quit");
        self.end_run();
        if o.status != Status::Passed {
            return o;
        }
        o.actions
            .push("typed Ctrl-D (end of input) to a fresh client".into());
        match ClientRun::start(cfg, &self.launch, &self.cwd) {
            Ok((mut r, true)) => {
                r.session.type_text("\u{4}");
                let exit = r
                    .session
                    .wait_until(Instant::now() + cfg.timing.exit(), |s| s.program_exit());
                match exit {
                    Some(Exit::Code(0)) => {
                        o.message =
                            "quit and end of input each ended the client with status 0".into()
                    }
                    other => {
                        let how = match other {
                            Some(Exit::Code(c)) => format!("ended the client with status {c}"),
                            Some(Exit::Signal(s)) => format!("killed the client with signal {s}"),
                            None => {
                                format!("did not end the client within {} ms", cfg.timing.exit_ms)
                            }
                        };
                        o = outcome(
                            cfg,
                            "client-quit",
                            Status::Failed,
                            format!("end of input (Ctrl-D) {how}"),
                        );
                        o.actions = vec![
                            "typed \"quit\"".into(),
                            "typed Ctrl-D (end of input) to a fresh client".into(),
                        ];
                        o.hint = Some("when input() raises EOFError (or read returns nothing), send Q and exit with status 0".into());
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
}

/// The judges of the client checks, one per declared check.
pub mod judge {
    use super::ClientGrading;
    use crate::report::CheckOutcome;

    pub fn list(g: &mut ClientGrading) -> CheckOutcome {
        g.judge("client-list")
    }
    pub fn get(g: &mut ClientGrading) -> CheckOutcome {
        g.judge("client-get")
    }
    pub fn get_binary(g: &mut ClientGrading) -> CheckOutcome {
        g.judge("client-get-binary")
    }
    pub fn put(g: &mut ClientGrading) -> CheckOutcome {
        g.judge("client-put")
    }
    pub fn put_binary(g: &mut ClientGrading) -> CheckOutcome {
        g.judge("client-put-binary")
    }
    pub fn get_missing(g: &mut ClientGrading) -> CheckOutcome {
        g.judge("client-get-missing")
    }
    pub fn quit(g: &mut ClientGrading) -> CheckOutcome {
        g.quit()
    }
}

fn compare_file(
    path: &Path,
    content: &Content,
) -> Result<crate::net::transfer::Comparison, String> {
    let f = std::fs::File::open(path).map_err(|_| {
        format!(
            "no file {} was saved",
            path.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        )
    })?;
    compare_streams(f, content.reader(), content.len()).map_err(|e| e.to_string())
}

fn client_check(
    cfg: &FileserverConfig,
    id: &str,
    r: &mut ClientRun,
    lib: &Library,
    server: &super::refserver::RefServer,
) -> CheckOutcome {
    let fail = |msg: String| outcome(cfg, id, Status::Failed, msg);
    // Asked before the mark: the grader's own request must not count as the client's.
    let missing_reason = (id == "client-get-missing").then(|| server.reason_for_missing(MISSING));
    let log_mark = server.log_mark();
    let (line, mark, ok, result): (String, usize, bool, Result<String, String>) = match id {
        "client-list" => {
            let (mark, ok) = r.command(cfg, "list");
            let text = String::from_utf8_lossy(r.session.transcript.since(mark)).into_owned();
            let missing: Vec<&str> = lib
                .files
                .iter()
                .map(|(n, _)| n.as_str())
                .filter(|n| !text.contains(n))
                .collect();
            let res = if missing.is_empty() {
                Ok("every file of the library was listed".to_string())
            } else {
                Err(format!("not listed: {}", missing.join(", ")))
            };
            ("list".into(), mark, ok, res)
        }
        "client-get" | "client-get-binary" => {
            let name = if id == "client-get" {
                library::TEXT
            } else {
                library::BINARY
            };
            let _ = std::fs::remove_file(r.cwd.join(name));
            let (mark, ok) = r.command(cfg, &format!("get {name}"));
            let content = lib
                .content(name)
                .cloned()
                .unwrap_or(Content::Bytes(Vec::new()));
            let res = compare_file(&r.cwd.join(name), &content).and_then(|c| {
                if c.identical() {
                    Ok(format!("{name} saved: {}", c.summary()))
                } else {
                    Err(format!("{name} saved: {}", c.summary()))
                }
            });
            (format!("get {name}"), mark, ok, res)
        }
        "client-put" | "client-put-binary" => {
            let (name, content) = if id == "client-put" {
                (PUT_TEXT_NAME, Content::Bytes(PUT_TEXT.as_bytes().to_vec()))
            } else {
                let mut b = library::binary_bytes();
                b.rotate_left(100);
                (PUT_BINARY_NAME, Content::Bytes(b))
            };
            if let Content::Bytes(b) = &content {
                if let Err(e) = std::fs::write(r.cwd.join(name), b) {
                    return outcome(
                        cfg,
                        id,
                        Status::Error,
                        format!("cannot create the file to upload: {e}"),
                    );
                }
            }
            let (mark, ok) = r.command(cfg, &format!("put {name}"));
            let res = compare_file(&lib.dir.join(name), &content).and_then(|c| {
                if c.identical() {
                    Ok(format!("{name} uploaded: {}", c.summary()))
                } else {
                    Err(format!("{name} on the server: {}", c.summary()))
                }
            });
            (format!("put {name}"), mark, ok, res)
        }
        "client-get-missing" => {
            let name = MISSING;
            let reason = missing_reason.unwrap_or_default();
            let (mark, ok) = r.command(cfg, &format!("get {name}"));
            let text = String::from_utf8_lossy(r.session.transcript.since(mark)).into_owned();
            let res = if r.cwd.join(name).exists() {
                Err(format!(
                    "a local file {name} was created for a failed download"
                ))
            } else if !reason.is_empty() && !text.contains(&reason) {
                Err(format!("the server's reason \"{reason}\" was not shown"))
            } else if !ok {
                Err("the client did not go on to prompt for the next command".into())
            } else {
                Ok("the server's reason was shown, no file was created, the client goes on".into())
            };
            (format!("get {name}"), mark, true, res)
        }
        "client-quit" => {
            let mark = r.session.transcript.mark();
            r.session.type_text("quit\n");
            let deadline = Instant::now() + cfg.timing.exit();
            let exit = r.session.wait_until(deadline, |s| s.program_exit());
            let res = match exit {
                Some(Exit::Code(0)) => Ok("quit ended the client with status 0".into()),
                Some(Exit::Code(c)) => Err(format!("quit ended the client with status {c}")),
                Some(Exit::Signal(s)) => Err(format!("the client was killed by signal {s}")),
                None => Err(format!(
                    "the client did not exit within {} ms of quit",
                    cfg.timing.exit_ms
                )),
            };
            ("quit".into(), mark, true, res)
        }
        other => return outcome(cfg, other, Status::Error, "unknown client check"),
    };
    // What was shown or saved must have come from the server: the request was made.
    let result = match (result, request_for(id)) {
        (Ok(msg), Some(request)) => {
            let got = server.requests_since(log_mark);
            if got.contains(&request) {
                Ok(msg)
            } else if server.log_full() {
                Err("the reference server's request log is full (over 10000 requests): the requests of this command cannot be seen".into())
            } else {
                Err(format!(
                    "the reference server never got the request \"{}\" (it got: {}): the result did not come from the server",
                    escape::one_line(request.as_bytes()),
                    if got.is_empty() {
                        "nothing".to_string()
                    } else {
                        got.iter()
                            .map(|g| format!("\"{}\"", escape::one_line(g.as_bytes())))
                            .collect::<Vec<_>>()
                            .join(", ")
                    }
                ))
            }
        }
        (other, _) => other,
    };
    let mut o = match (result, ok) {
        (Ok(msg), true) => outcome(cfg, id, Status::Passed, msg),
        (Ok(_), false) => {
            fail("the command worked, but the client did not prompt again for the next one".into())
        }
        (Err(msg), _) => fail(msg),
    };
    o.actions = vec![format!("typed \"{line}\"")];
    if o.status != Status::Passed {
        o.transcript = Some(r.transcript(mark));
    }
    o
}

/// The name asked for in `client-get-missing`.
const MISSING: &str = "no-such-file.txt";

/// The local files `client-put` and `client-put-binary` upload.
const PUT_TEXT_NAME: &str = "local-up.txt";
const PUT_TEXT: &str = "uploaded by the client\n客户端上传\n";
const PUT_BINARY_NAME: &str = "local-up.bin";

/// The request a client check's command must send to the server, if any.
fn request_for(id: &str) -> Option<String> {
    match id {
        "client-list" => Some("L".into()),
        "client-get" => Some(format!("G {}", library::TEXT)),
        "client-get-binary" => Some(format!("G {}", library::BINARY)),
        "client-put" => Some(format!("P {} {}", PUT_TEXT.len(), PUT_TEXT_NAME)),
        "client-put-binary" => Some(format!(
            "P {} {}",
            library::binary_bytes().len(),
            PUT_BINARY_NAME
        )),
        "client-get-missing" => Some(format!("G {MISSING}")),
        _ => None,
    }
}
