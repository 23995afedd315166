//! The client checks: the student's client runs in a terminal against the reference server
//! (in this process), and the grader types its commands. "The client is done with a command"
//! is read from the client itself: it prints its prompt again and waits for input.
//!
//! Here: the client's run, the shared state, and the one judging of every check
//! ([`Turn::judged`]: the request-log proof, the prompt again, actions, transcript) with the
//! faults it words ([`ClientFault`]). Each check's command: `checks`; their declarations:
//! `table`.

use crate::tr;
use nix::unistd::Pid;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::config::{FileserverConfig, GetBy};
use crate::grading::evidence::{judged_in, Fault};
use crate::grading::idiom::Idiom;
use crate::report::{CheckOutcome, Status, TranscriptView};
use crate::submission::{Language, Prepared};
use crate::supervise::isolation::Sandbox;
use crate::supervise::session::Exit;
use crate::supervise::spawn::Launch;
use crate::text::escape;

use super::library::Library;
use super::policy::{ClientQuit, Policy};
use super::refserver::RefServer;
use super::server_checks::verdict;

mod checks;
mod run;
mod table;

pub use checks::{compare_file, LARGE_BYTES, PUT_TEXT};
pub use run::{client_launch, Action, ClientRun, Typed, CLIENT_CLEANUP};
pub use table::table;

/// The client checks' shared state: the reference server with its library, and the
/// student's client in its terminal (restarted when a check ended it).
pub struct ClientGrading<'a> {
    cfg: &'a FileserverConfig,
    /// The client's language: hints name its calls.
    lang: Language,
    term: Terminal,
    lib: Library,
    server: RefServer,
    /// The sandbox's wall deadline.
    pub deadline: std::time::Instant,
}

/// Sets up the reference server for the client `p`; the isolation in force, and the state
/// or why the client checks cannot be carried out.
pub fn prepare<'a>(
    cfg: &'a FileserverConfig,
    p: &Prepared,
) -> (Result<ClientGrading<'a>, String>, Vec<String>) {
    let (sandbox, cwd, base) = client_side(cfg, p);
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
            Err(tr!("cannot prepare the reference server: {e}", e = e)),
            isolation,
        );
    }
    // The course's client speaks the course's protocol: so does its reference server.
    let dialect = cfg.server.dialect();
    let markers = dialect.data_markers();
    let lib = match Library::seed(&root, checks::LARGE_BYTES, 1 << 16, "client", &markers) {
        Ok(l) => l,
        Err(e) => {
            return (
                Err(tr!("cannot seed the reference library: {e}", e = e)),
                isolation,
            )
        }
    };
    let server = match RefServer::start(&lib.dir, cfg.client.port, Some(&sandbox), dialect) {
        Ok(s) => s,
        Err(e) => {
            return (
                Err(tr!("cannot start the reference server: {e}", e = e)),
                isolation,
            )
        }
    };
    let launch = client_launch(cfg, &base, server.port());
    let grading = ClientGrading {
        cfg,
        lang: p.language,
        term: Terminal::new(launch, cwd),
        lib,
        server,
        deadline: sandbox.deadline(),
    };
    (Ok(grading), isolation)
}

/// The client's sandbox, its working directory (where downloads land, given to the
/// sandbox's user) and its launch confined in the sandbox, without arguments.
pub fn client_side(cfg: &FileserverConfig, p: &Prepared) -> (Arc<Sandbox>, PathBuf, Launch) {
    let sandbox = Arc::new(Sandbox::new(&super::run_limits(cfg), &p.layout()));
    let cwd = PathBuf::from(
        <std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(p.launch.cwd.as_bytes()),
    );
    // The client runs as the sandbox's user and saves downloads in its directory.
    let _ = sandbox.give(&cwd);
    let base = p.launch.clone().confined(sandbox.clone());
    (sandbox, cwd, base)
}

/// The student's client at its terminal, started again when a check ended it; where it
/// runs and how it is started.
pub struct Terminal {
    pub launch: Launch,
    pub cwd: PathBuf,
    run: Option<ClientRun>,
    /// Why the last client started did not get to its prompt.
    start_problem: Option<ClientFault>,
    /// Processes a client's end must leave alive: the student's server in pair mode.
    pub spare: Vec<Pid>,
}

impl Terminal {
    pub fn new(launch: Launch, cwd: PathBuf) -> Terminal {
        Terminal {
            launch,
            cwd,
            run: None,
            start_problem: None,
            spare: Vec::new(),
        }
    }

    /// The client at its prompt: the running one, or a fresh start; otherwise the outcome
    /// of a check that cannot go on (it did not start, or never prompted).
    pub fn ready(
        &mut self,
        cfg: &FileserverConfig,
        lang: Language,
    ) -> Result<&mut ClientRun, Box<CheckOutcome>> {
        // A client found unable to move in the last check is of no use for this one.
        if self.run.as_ref().is_none_or(|r| !r.alive() || r.stuck) {
            self.end();
            match ClientRun::start(cfg, &self.launch, &self.cwd) {
                Ok((mut r, true)) => {
                    r.session.spare(self.spare.clone());
                    self.run = Some(r);
                }
                Ok((mut r, false)) => {
                    r.session.spare(self.spare.clone());
                    self.start_problem = Some(ClientFault::NoPrompt {
                        prompt: cfg.client.prompt_ends_with.clone(),
                        printed: r.transcript(0),
                    });
                    r.session.finish(Instant::now() + CLIENT_CLEANUP);
                }
                Err(e) => self.start_problem = Some(ClientFault::NoStart(e)),
            }
        }
        let start_problem = &self.start_problem;
        self.run.as_mut().ok_or_else(|| {
            let fault = start_problem
                .clone()
                .unwrap_or(ClientFault::NoStart(String::new()));
            let mut o = judged_client(std::slice::from_ref(&fault), "", lang, cfg);
            // What it printed instead (a traceback): the transcript, shown as lines.
            if let ClientFault::NoPrompt { printed, .. } = fault {
                o.transcript = Some(printed);
            }
            Box::new(o)
        })
    }

    /// Ends the running client, if any, and everything it started.
    pub fn end(&mut self) {
        if let Some(r) = self.run.take() {
            r.session.finish(Instant::now() + CLIENT_CLEANUP);
        }
    }
}

impl ClientGrading<'_> {
    /// Judges one client check: runs `check` on a running client (starting one if none
    /// runs) and turns what it saw into the outcome ([`Turn::judged`]).
    fn judge(&mut self, check: fn(&mut Turn) -> Result<Seen, String>) -> CheckOutcome {
        let cfg = self.cfg;
        let run = match self.term.ready(cfg, self.lang) {
            Ok(run) => run,
            Err(o) => return *o,
        };
        if let Some(pid) = run.session.program_pid() {
            self.server.watch_client(pid.as_raw());
        }
        let mut turn = Turn {
            cfg,
            lang: self.lang,
            log_mark: self.server.log_mark(),
            run,
            lib: &self.lib,
            server: &self.server,
        };
        let outcome = match check(&mut turn) {
            Ok(seen) => turn.judged(seen),
            Err(trouble) => verdict(Status::Error, trouble),
        };
        // A client a check found at fault may be out of step with its server (a download
        // left unread in its socket is the next command's reply): the next check starts a
        // fresh one, so that one fault costs one check.
        if outcome.status != Status::Passed {
            self.term.end();
        }
        outcome
    }

    /// Ends the client and the reference server.
    pub fn finish(mut self) {
        self.end_run();
        self.server.stop();
    }

    fn end_run(&mut self) {
        self.term.end();
    }
}

/// One client check at work: the running client, the reference library and server, and
/// where the server's request log stood when the check's command was typed.
struct Turn<'t> {
    cfg: &'t FileserverConfig,
    lang: Language,
    run: &'t mut ClientRun,
    lib: &'t Library,
    server: &'t RefServer,
    log_mark: usize,
}

/// What one client check's command did, for [`Turn::judged`].
struct Seen {
    /// The lines typed.
    lines: Vec<String>,
    /// Where the command's output starts in the transcript.
    mark: usize,
    /// Whether the client prompted again and waited for input afterwards.
    prompted: bool,
    /// The request the reference server must have got for the result to count.
    request: Option<String>,
    /// What the command achieved (the message of a pass), or the first thing wrong.
    result: Result<String, ClientFault>,
    /// What it did beyond the course's policy (reported, worth nothing).
    notes: Vec<String>,
}

impl Turn<'_> {
    /// Types `action` of the menu (with `name`) and waits for the next prompt (or the
    /// exit), at most `within`. Requests from here on are the command's.
    fn act(&mut self, action: Action, name: Option<&str>, within: Duration) -> Typed {
        self.log_mark = self.server.log_mark();
        self.run.act(self.cfg, action, name, within)
    }

    /// What is typed to download `name`: the name, or (`get_by = "number"`) its number in
    /// the reference server's listing as it stands (one past the end for a missing file).
    fn asked_as(&self, name: &str) -> String {
        if self.cfg.client.menu.get_by == GetBy::Name {
            return name.to_string();
        }
        let (Ok(n) | Err(n)) = self.server.number_of(name);
        n.to_string()
    }

    /// The client's output since `mark`.
    fn output_since(&self, mark: usize) -> String {
        String::from_utf8_lossy(self.run.session.transcript.since(mark)).into_owned()
    }

    /// The outcome of a command: what it achieved counts only if the reference server got
    /// its request (what was shown or saved must have come from the server) and the client
    /// prompted again for the next command.
    fn judged(&self, seen: Seen) -> CheckOutcome {
        let (passed, fault) = match seen.result {
            Err(f) => (String::new(), Some(f)),
            Ok(msg) => {
                let unproven = seen.request.and_then(|r| self.unproven(r));
                let fault = unproven.or((!seen.prompted).then_some(ClientFault::NoPromptAgain));
                (msg, fault)
            }
        };
        let mut o = judged_client(fault.as_slice(), passed, self.lang, self.cfg);
        o.notes = seen.notes;
        o.actions = typed_actions(&seen.lines);
        if o.status != Status::Passed {
            o.transcript = Some(self.run.transcript(seen.mark));
        }
        o
    }

    /// Why `request` is not shown to have reached the reference server since the command
    /// was typed; None when it did.
    fn unproven(&self, request: String) -> Option<ClientFault> {
        let got = self.server.requests_since(self.log_mark);
        if got.contains(&request) {
            None
        } else if self.server.log_full() {
            Some(ClientFault::LogFull)
        } else {
            let shown = |r: &String| self.server.shown(r);
            Some(ClientFault::NeverReached {
                request: shown(&request),
                got: got.iter().map(shown).collect(),
            })
        }
    }
}

/// How the client's end on its quit command is judged under the course's policy
/// (`output`: what it printed since): the message of a pass or the fault, and a note for
/// what the course does not require. Status 0 always passes; under `client_quit =
/// "any-status"` another status does too (`sys.exit("再见")` ends with 1), but not a crash
/// (a signal, a Python traceback).
pub fn judge_quit(
    policy: &Policy,
    exit: Option<Exit>,
    output: &[u8],
    exit_ms: u64,
) -> (Result<String, ClientFault>, Option<String>) {
    match exit {
        Some(Exit::Code(0)) => (Ok(tr!("quit ended the client with status 0").into()), None),
        Some(Exit::Code(c)) if policy.client_quit == ClientQuit::AnyStatus && !crashed(output) => (
            Ok(tr!("quit ended the client (status {c})", c = c)),
            Some(super::policy::beyond(
                &tr!("quit ended the client with status {c}, not 0", c = c),
                "client_quit",
                "any-status",
            )),
        ),
        other => (Err(ClientFault::Quit(other, exit_ms)), None),
    }
}

/// Whether `output` shows a crash rather than a goodbye: a Python traceback.
fn crashed(output: &[u8]) -> bool {
    const TRACEBACK: &[u8] = crate::i18n::verbatim(b"Traceback (most recent call last)");
    output.windows(TRACEBACK.len()).any(|w| w == TRACEBACK)
}

/// The report's actions for lines typed.
pub fn typed_actions(lines: &[String]) -> Vec<String> {
    lines.iter().map(|l| tr!("typed \"{l}\"", l = l)).collect()
}

/// What a client check found wrong.
#[derive(Debug, Clone)]
pub enum ClientFault {
    /// The client could not be started (worded by the start).
    NoStart(String),
    /// The client never showed its prompt and waited for input.
    NoPrompt {
        prompt: String,
        printed: TranscriptView,
    },
    /// Names of the library `list` did not print.
    NotListed(Vec<String>),
    /// No file by this name was saved.
    NotSaved(String),
    /// The saved file could not be read.
    Unreadable(String),
    /// A transferred file (`what`: where it ended up) differs from the original.
    Differs { what: String, summary: String },
    /// A failed download left a local file.
    LocalFileCreated(&'static str),
    /// The server's reason for an `ERR` was not shown.
    ReasonNotShown(String),
    /// After showing an error, the client did not prompt again.
    NoPromptAfterError,
    /// The command worked, but the client did not prompt again.
    NoPromptAgain,
    /// After the action (typed), the client did not ask for the name with a prompt ending
    /// in this.
    NoNamePrompt { action: String, prompt: String },
    /// Fewer bytes than the result needs crossed the connection between the student's
    /// client and server during the command (pair mode): the result is not the server's.
    TooLittleTraffic {
        to_server: bool,
        needed: u64,
        moved: u64,
    },
    /// The reference server's request log filled up: the command's requests are unknown.
    LogFull,
    /// The reference server never got the command's request: the result is not the
    /// server's.
    NeverReached { request: String, got: Vec<String> },
    /// How the client ended on `quit` (None: not within the ms).
    Quit(Option<Exit>, u64),
    /// How the client ended on end of input (None: not within the ms).
    EndOfInput(Option<Exit>, u64),
}

impl std::fmt::Display for ClientFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use ClientFault::*;
        match self {
            NoStart(why) => write!(f, "{why}"),
            NoPrompt { prompt, .. } => f.write_str(&tr!("the client did not show a prompt ending in \"{prompt}\" and wait for input (the transcript shows what it printed)", prompt = prompt)),
            NotListed(names) => f.write_str(&tr!("not listed: {names}", names = names.join(", "))),
            NotSaved(name) => f.write_str(&tr!("no file {name} was saved", name = name)),
            Unreadable(e) => write!(f, "{e}"),
            Differs { what, summary } => write!(f, "{what}: {summary}"),
            LocalFileCreated(name) => {
                f.write_str(&tr!("a local file {name} was created for a failed download", name = name))
            }
            ReasonNotShown(reason) => f.write_str(&tr!("the server's reason \"{reason}\" was not shown", reason = reason)),
            NoPromptAfterError => {
                f.write_str(tr!("the client did not go on to prompt for the next command"))
            }
            NoPromptAgain => f.write_str(tr!("the command worked, but the client did not prompt again for the next one")),
            TooLittleTraffic {
                to_server,
                needed,
                moved,
            } => {
                let way = if *to_server {
                    tr!("from the client to the server")
                } else {
                    tr!("from the server to the client")
                };
                f.write_str(&tr!("only {moved} bytes went {way} during the command, fewer than the {needed} it needs: the result did not come through the connection", moved = moved, way = way, needed = needed))
            }
            NoNamePrompt { action, prompt } => f.write_str(&tr!("after \"{action}\" the client did not ask for the file name with a prompt ending in \"{prompt}\" and wait for input", action = escape::one_line(action.as_bytes()), prompt = escape::one_line(prompt.as_bytes()))),
            LogFull => f.write_str(tr!("the reference server's request log is full (over 10000 requests): the requests of this command cannot be seen")),
            NeverReached { request, got } => {
                let got = if got.is_empty() {
                    tr!("nothing").to_string()
                } else {
                    got.iter()
                        .map(|g| escape::quoted(g.as_bytes()))
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                f.write_str(&tr!("the reference server never got the request \"{request}\" (it got: {got}): the result did not come from the server", request = escape::one_line(request.as_bytes()), got = got))
            }
            Quit(Some(Exit::Code(c)), _) => f.write_str(&tr!("quit ended the client with status {c}", c = c)),
            Quit(Some(Exit::Signal(s)), _) => f.write_str(&tr!("the client was killed by signal {s}", s = s)),
            Quit(None, ms) => f.write_str(&tr!("the client did not exit within {ms} ms of quit", ms = ms)),
            EndOfInput(exit, ms) => {
                f.write_str(tr!("end of input (Ctrl-D) "))?;
                match exit {
                    Some(Exit::Code(c)) => f.write_str(&tr!("ended the client with status {c}", c = c)),
                    Some(Exit::Signal(s)) => f.write_str(&tr!("killed the client with signal {s}", s = s)),
                    None => f.write_str(&tr!("did not end the client within {ms} ms", ms = ms)),
                }
            }
        }
    }
}

impl ClientFault {
    /// The advice, worded for a client in `lang` set up as `cfg` says: its arguments, its
    /// prompt, the dialect's quit command (the exact protocol's `client <host> <port>`, `>`
    /// and `Q` by default).
    pub fn hint_with(&self, lang: Language, cfg: &FileserverConfig) -> Option<String> {
        let idiom = Idiom(lang);
        let prompt = escape::one_line(cfg.client.prompt_ends_with.trim_end().as_bytes());
        match self {
            ClientFault::NoStart(_) => {
                let args: Vec<String> = cfg
                    .client
                    .args
                    .iter()
                    .map(|a| super::config::fill(a, &[("host", "<host>"), ("port", "<port>")]))
                    .collect();
                let command = std::iter::once("client".to_string())
                    .chain(args)
                    .collect::<Vec<_>>()
                    .join(" ");
                Some(tr!("start as `{command}`, print a prompt ending in '{prompt}' and read commands from the terminal", command = command, prompt = prompt))
            }
            // What was printed is shown: a prompt held in the buffer shows as nothing.
            ClientFault::NoPrompt { .. } | ClientFault::NoPromptAgain => {
                // The exact protocol's example prompt, or the course's own.
                let example = if prompt == ">" {
                    "ftp> ".to_string()
                } else {
                    cfg.client.prompt_ends_with.replace('"', "\\\"")
                };
                Some(idiom.say(
                    tr!("print a prompt ending in '{prompt}' before reading each command, and flush it: it has no newline, so it stays in the buffer otherwise", prompt = prompt),
                    idiom.prompt_flushed(&example),
                ))
            }
            ClientFault::EndOfInput(..) => Some(tr!(
                "at the end of input{idiom}, send {quit} and exit with status 0",
                idiom = idiom
                    .end_of_input()
                    .map(|c| format!(" ({c})"))
                    .unwrap_or_default(),
                quit = cfg.server.dialect().show_quit()
            )),
            _ => self.hint_in(lang),
        }
    }
}

/// The verdict on a client's `faults` ([`judged_in`]), the hint worded for its config.
pub fn judged_client(
    faults: &[ClientFault],
    passed: impl Into<String>,
    lang: Language,
    cfg: &FileserverConfig,
) -> CheckOutcome {
    let mut o = judged_in(faults, passed, lang);
    if let Some(hint) = faults.iter().find_map(|f| f.hint_with(lang, cfg)) {
        o.hint = Some(hint);
    }
    o
}

impl Fault for ClientFault {
    fn hint_in(&self, lang: Language) -> Option<String> {
        let shipped = FileserverConfig::shipped().ok()?;
        match self {
            ClientFault::NoStart(_)
            | ClientFault::NoPrompt { .. }
            | ClientFault::NoPromptAgain
            | ClientFault::EndOfInput(..) => self.hint_with(lang, &shipped),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_result_not_from_the_server_is_worded_with_what_the_server_got() {
        let f = ClientFault::NeverReached {
            request: "G hello.txt".into(),
            got: vec!["L".into()],
        };
        assert_eq!(
            f.to_string(),
            "the reference server never got the request \"G hello.txt\" (it got: \"L\"): the result did not come from the server"
        );
        let none = ClientFault::NeverReached {
            request: "L".into(),
            got: Vec::new(),
        };
        assert!(none.to_string().contains("(it got: nothing)"));
        let eof = [ClientFault::EndOfInput(Some(Exit::Signal(9)), 500)];
        let o = judged_in(&eof, "", Language::Python);
        assert_eq!(
            o.message,
            "end of input (Ctrl-D) killed the client with signal 9"
        );
        assert!(o.hint.is_some_and(|h| h.contains("EOFError")));
    }

    #[test]
    fn hints_name_the_calls_of_the_clients_language() {
        let eof = [ClientFault::EndOfInput(None, 500)];
        let hint = |lang| judged_in(&eof, "", lang).hint.unwrap_or_default();
        assert!(hint(Language::C).contains("fgets() returns NULL"));
        assert!(!hint(Language::C).contains("EOFError"));
        assert_eq!(
            hint(Language::Other),
            "at the end of input, send Q and exit with status 0"
        );
        let prompt = |lang| {
            judged_in(&[ClientFault::NoPromptAgain], "", lang)
                .hint
                .unwrap_or_default()
        };
        assert!(prompt(Language::Python).contains("flush=True"));
        // A course's own prompt and set-up: the hints follow the config.
        let mut course = FileserverConfig::shipped().unwrap();
        course.client.prompt_ends_with = "输入命令：".into();
        course.client.args = Vec::new();
        course.server.dialect = toml::Value::String("words".into());
        let hint = |f: ClientFault| f.hint_with(Language::Python, &course).unwrap_or_default();
        let again = hint(ClientFault::NoPromptAgain);
        assert!(again.contains("ending in '输入命令：'"), "{again}");
        assert!(again.contains("input(\"输入命令：\")"), "{again}");
        assert!(
            !again.contains("ftp> ") && !again.contains("'>'"),
            "{again}"
        );
        let start = hint(ClientFault::NoStart(String::new()));
        assert!(start.starts_with("start as `client`, "), "{start}");
        let eof = hint(ClientFault::EndOfInput(None, 500));
        assert!(eof.contains("send QUIT"), "{eof}");
        assert!(prompt(Language::C).contains("fflush(stdout)"));
        assert!(!prompt(Language::Other).contains("fflush"));
    }
}
