//! The student's client in its terminal: started, driven through its menu (`[client.menu]`:
//! a word or a number per action, the file name on the same line or at a second prompt),
//! and read for "done with a command": it prints its prompt again and waits for input.
//! Shared by the client checks and the pair checks.

use crate::tr;
use std::ffi::CString;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::super::config::{fill, FileserverConfig, NamePlace};
use crate::net::listen;
use crate::report::TranscriptView;
use crate::supervise::ending::{self, Ending};
use crate::supervise::observe::{self, Activity};
use crate::supervise::rest::{self, Look, Stillness, Whom};
use crate::supervise::session::{Exit, Session};
use crate::supervise::spawn::Launch;
use crate::supervise::spin;
use crate::supervise::waiting::Wait;

/// How long ending a client and everything it started may take, each time one is done
/// with. Not `timing.exit_ms` (how long a client gets to exit by itself on quit): this is
/// the grader's own clean-up, which kills.
pub const CLIENT_CLEANUP: Duration = Duration::from_millis(2000);

/// How often, while waiting for the client, the grader looks whether it can still move.
const LOOK_EVERY: Duration = Duration::from_millis(10);

/// The client running in its terminal, and where it saves downloads.
pub struct ClientRun {
    pub session: Session,
    pub cwd: PathBuf,
    /// A look at the client's threads just before the grader last typed (see
    /// `supervise::rest`: a line typed is on its way until the reader has run).
    typed: Option<Look>,
    /// Set once a wait found it unable to move: it is of no use for another command.
    pub stuck: bool,
    /// Programs the client waits on that are not of its family (pair mode: the student's
    /// server, reached through the grader's relay): while they can move, so can the client.
    pub peers: Vec<nix::unistd::Pid>,
}

/// An action of the client's menu.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    List,
    Get,
    Put,
    Quit,
}

/// What typing one action did.
pub struct Typed {
    /// The lines typed, in order (the action and, at its own prompt, the name).
    pub lines: Vec<String>,
    /// Where the action's output starts in the transcript.
    pub mark: usize,
    /// Whether the client prompted again and waited for input afterwards.
    pub prompted: bool,
    /// False when the client never asked for the name it was to be given at a prompt.
    pub name_asked: bool,
}

/// The client's launch: `base` with the configured arguments, `{host}` and `{port}` those
/// of the server it is to talk to.
pub fn client_launch(cfg: &FileserverConfig, base: &Launch, port: u16) -> Launch {
    let mut l = base.clone();
    let port = port.to_string();
    for a in &cfg.client.args {
        let arg = fill(a, &[("host", "127.0.0.1"), ("port", &port)]);
        l.argv.push(CString::new(arg).unwrap_or_default());
    }
    l
}

fn ends_with_prompt(out: &[u8], prompt: &str) -> bool {
    let text = String::from_utf8_lossy(out);
    text.trim_end().ends_with(prompt.trim())
}

impl ClientRun {
    /// Starts the client; whether it got to its prompt.
    pub fn start(
        cfg: &FileserverConfig,
        launch: &Launch,
        cwd: &Path,
    ) -> Result<(Self, bool), String> {
        let deadline = Instant::now() + cfg.timing.startup();
        let session =
            Session::start(launch, cfg.limits.output_bytes, deadline).map_err(|e| e.to_string())?;
        if let Some(e) = session.exec_error() {
            return Err(tr!("the client could not be executed: {e}", e = e.desc()));
        }
        if let (Some(log), Some(pid)) = (session.event_log(), session.program_pid()) {
            log.name(pid.as_raw(), "client");
        }
        let mut run = ClientRun {
            session,
            cwd: cwd.to_path_buf(),
            typed: None,
            stuck: false,
            peers: Vec::new(),
        };
        let prompted = run.await_prompt(cfg, 0, deadline);
        Ok((run, prompted))
    }

    /// Waits until the client has printed its prompt after `since` (a
    /// [`Transcript::position`](crate::supervise::transcript::Transcript::position)) and waits
    /// for input.
    fn await_prompt(&mut self, cfg: &FileserverConfig, since: u64, deadline: Instant) -> bool {
        let prompt = cfg.client.prompt_ends_with.clone();
        self.await_ending(&prompt, since, deadline)
    }

    /// Waits until the client's output after `since` ends with `text` (read from the
    /// output's end, kept in the transcript or not) and it waits for input; false when it
    /// exits, when it can no longer move, or at the deadline.
    fn await_ending(&mut self, text: &str, since: u64, deadline: Instant) -> bool {
        let Some(pid) = self.session.program_pid() else {
            return false;
        };
        let prompted = |s: &Session| {
            if s.program_exit().is_some() {
                return Some(false);
            }
            let waiting = observe::view(pid).activity == Activity::Waiting(Wait::Indefinite);
            (waiting && ends_with_prompt(s.transcript.latest_since(since), text)).then_some(true)
        };
        self.wait_for(deadline, prompted).unwrap_or(false)
    }

    /// Waits until the client exits: how, or `None` when it can no longer move (it never
    /// read what was typed) or at the deadline.
    pub fn await_exit(&mut self, deadline: Instant) -> Option<Exit> {
        self.wait_for(deadline, |s| s.program_exit())
    }

    /// Waits until `probe` gives a value; `None` at the deadline, or as soon as the client
    /// can no longer move: every process of it waits for an outside event with nothing on
    /// its way to it (no line typed unread, no byte in its sockets, the reference server
    /// idle). Both are noted for the check's report (`supervise::ending`).
    fn wait_for<T>(
        &mut self,
        deadline: Instant,
        mut probe: impl FnMut(&Session) -> Option<T>,
    ) -> Option<T> {
        let Some(pid) = self.session.program_pid() else {
            return probe(&self.session);
        };
        let typed = self.typed.clone();
        let peers = self.peers.clone();
        let mut stillness = Stillness::default();
        let mut looked = Instant::now();
        let mut stuck = false;
        let got = self.session.wait_until(deadline, |s| {
            if let Some(v) = probe(s) {
                return Some(Some(v));
            }
            if looked.elapsed() < LOOK_EVERY {
                return None;
            }
            looked = Instant::now();
            let mut family = spin::family_pids(pid);
            for peer in &peers {
                family.extend(spin::family_pids(*peer));
            }
            let whom = Whom {
                programs: &family,
                grader_threads: true,
            };
            if !stillness.still(whom, typed.as_ref(), listen::in_flight(&family)) {
                return None;
            }
            // Output the client wrote just before it stopped may still be on its way.
            s.pump();
            let last = probe(s);
            if last.is_none() && ended(pid) {
                // Its processes are gone, so nothing of them moves, but the session has
                // not heard of the end yet (its watcher lags on a busy machine): that is
                // on its way too, not a client stuck (CI saw Ctrl-D's exit taken so).
                return None;
            }
            stuck = last.is_none();
            Some(last)
        });
        match got {
            Some(v) => {
                if stuck {
                    self.stuck = true;
                    ending::note(Ending::Stuck);
                }
                v
            }
            None => {
                ending::note(Ending::Deadline);
                None
            }
        }
    }

    /// Types `text` at the client's terminal, noting first how its threads stand.
    pub fn type_line(&mut self, text: &str) {
        self.before_typing();
        self.session.type_text(text);
    }

    /// Notes the client's threads as they stand before the grader types.
    fn before_typing(&mut self) {
        self.typed = self
            .session
            .program_pid()
            .map(|pid| rest::before_typing(&spin::family_pids(pid)));
    }

    pub fn alive(&self) -> bool {
        self.session.program_exit().is_none()
    }

    /// What the menu has the grader type for `action`.
    pub fn word(cfg: &FileserverConfig, action: Action) -> &str {
        let m = &cfg.client.menu;
        match action {
            Action::List => &m.list,
            Action::Get => &m.get,
            Action::Put => &m.put,
            Action::Quit => &m.quit,
        }
    }

    /// Types `action` (with `name`, on its line or at the client's second prompt) and waits
    /// (at most `within` once everything is typed) for the next prompt, or the exit.
    pub fn act(
        &mut self,
        cfg: &FileserverConfig,
        action: Action,
        name: Option<&str>,
        within: Duration,
    ) -> Typed {
        let word = Self::word(cfg, action).to_string();
        let mark = self.session.transcript.mark();
        let at = self.session.transcript.position();
        let mut typed = Typed {
            lines: Vec::new(),
            mark,
            prompted: false,
            name_asked: true,
        };
        let menu = &cfg.client.menu;
        let last = match (name, menu.name) {
            (Some(name), NamePlace::Prompt) => {
                self.type_line(&format!("{word}\n"));
                typed.lines.push(word);
                let ask = menu.name_prompt_ends_with.clone();
                if !self.await_ending(&ask, at, Instant::now() + cfg.timing.op()) {
                    typed.name_asked = false;
                    return typed;
                }
                name.to_string()
            }
            (Some(name), NamePlace::Line) => format!("{word} {name}"),
            (None, _) => word,
        };
        let from = self.session.transcript.position();
        self.type_line(&format!("{last}\n"));
        typed.lines.push(last);
        typed.prompted = self.await_prompt(cfg, from, Instant::now() + within);
        typed
    }

    pub fn transcript(&self, mark: usize) -> TranscriptView {
        TranscriptView::from_transcript(&self.session.transcript, mark)
    }
}

/// Whether the client's program `pid` has ended (a zombie, or gone).
fn ended(pid: nix::unistd::Pid) -> bool {
    crate::supervise::procfs::status(pid).map_or(true, |s| {
        s.state == crate::supervise::procfs::RunState::Zombie
    })
}
