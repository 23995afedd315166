//! What the bus checks find wrong, as data (see `grading::evidence`): each fault words
//! itself in one sentence and, where the fault alone decides it, gives the advice. The
//! checks collect faults; `evidence::judged` makes the verdict of them.
//!
//! One fault, one check (`owners`): each fault costs the check where it shows first; a later
//! check that sees it again keeps its points when it judged the rest of its concern, and is
//! skipped (worth nothing) when the fault left it nothing to see.
//!
//! | fault | its check | seen again (a consequence, points kept) in |
//! | --- | --- | --- |
//! | [`StartFailure`], [`PythonError`], [`Python2`] | `start` | every other check: skipped, worth nothing (nothing can be graded) |
//! | [`StepFault::Unhandled`] (the driver does not ignore SIGINT / SIGQUIT) | `ctrl-c` / `ctrl-backslash` | `handlers`; `repeat` sends the signal to the conductor alone instead |
//! | other [`StepFault`]s at Ctrl-C / Ctrl-\ (line missing, misspelt, twice, by the conductor, not flushed; the conductor ended) | `ctrl-c` / `ctrl-backslash` | `repeat`, `roles` (the same fault), `handlers` (the dispositions the step exercised) |
//! | [`SequenceFault`] not seen at a single key (a handler that works once) | `repeat` | `roles` |
//! | [`RoleFault`] not seen at a key (the driver acts on the key's own signal) | `roles` | |
//! | [`StepFault`]s at Ctrl-Z (a process stopped, line 3 wrong) | `ctrl-z` | `handlers`; a ride that cannot end skips `exit-order` and `cleanup` (worth nothing) |
//! | [`ExitFault`] (driver first, not reaped, killed, status) | `exit-order` | `cleanup` (the conductor, running or a zombie) |
//! | [`Leftovers`] other than the conductor | `cleanup` | |
//! | a wrong disposition no key showed | `handlers` | |
//! | [`BusyLoop`] | `idle` (a warning) | |

use crate::tr;
use std::fmt;

use nix::sys::signal::Signal;

use super::run::{Role, StartFailure};
use crate::grading::evidence::Fault;
use crate::grading::idiom::Idiom;
use crate::report::wording;
use crate::submission::Language;
use crate::supervise::session::{Exit, Key};

/// How a process ended, in a report's words.
pub fn exit_words(e: Exit) -> String {
    match e {
        Exit::Code(c) => tr!("exited with status {c}", c = c),
        Exit::Signal(s) => tr!(
            "killed by {try_from}",
            try_from = Signal::try_from(s)
                .map(|s| s.as_str().to_string())
                .unwrap_or(format!("signal {s}"))
        ),
    }
}

/// A fault of one step (a key typed, a signal sent) that must print one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepFault {
    /// The process is stopped (it did not ignore a stop signal).
    Stopped(Role),
    /// The driver ended, and how.
    DriverEnded(Exit),
    /// The process exited (how is not known: the driver reaps the conductor).
    Exited(Role),
    /// Line `number` (`text`) arrived without a newline after it (the exercise asks for one:
    /// a line is not complete, and does not count, until its newline is there).
    Unterminated { number: u8, text: String },
    /// Line `number` (`text`) was not printed; the closest line printed, and how it differs.
    Missing {
        number: u8,
        text: String,
        near_miss: Option<String>,
    },
    /// Line `number` was printed more than once.
    Repeated { number: u8, times: usize },
    /// Another line, `number`, was printed as well.
    Stray { number: u8, times: usize },
    /// The line was written by the other process.
    WrongPrinter { number: u8, by: Role, not: Role },
    /// Nothing went wrong, but the processes were still busy at the step's deadline.
    Unsettled,
    /// `role` ended when `signal` (sent by `by`: "Ctrl-C", "SIGINT to the driver") reached
    /// it, because it does not `ignore` (or catch) it as the exercise asks;
    /// `python_interrupt`: Python's own default handler raised `KeyboardInterrupt` (the
    /// traceback is in the output), so no handler of the student's is to blame.
    Unhandled {
        role: Role,
        signal: Signal,
        ignore: bool,
        by: String,
        python_interrupt: bool,
    },
}

impl StepFault {
    /// Whether `other` is the same fault seen again (by a later check, at another key):
    /// the same kind, about the same line, process or signal; counts and wording of what
    /// else came with it aside.
    pub fn same_fault(&self, other: &StepFault) -> bool {
        use StepFault::*;
        match (self, other) {
            (Stopped(a), Stopped(b)) | (Exited(a), Exited(b)) => a == b,
            (DriverEnded(a), DriverEnded(b)) => a == b,
            (Unterminated { number: a, .. }, Unterminated { number: b, .. })
            | (Repeated { number: a, .. }, Repeated { number: b, .. })
            | (Stray { number: a, .. }, Stray { number: b, .. }) => a == b,
            (
                Missing {
                    number: a,
                    near_miss: ma,
                    ..
                },
                Missing {
                    number: b,
                    near_miss: mb,
                    ..
                },
            ) => a == b && ma.is_some() == mb.is_some(),
            (
                WrongPrinter {
                    number: a, by: x, ..
                },
                WrongPrinter {
                    number: b, by: y, ..
                },
            ) => a == b && x == y,
            (Unsettled, Unsettled) => true,
            (
                Unhandled {
                    role: a, signal: x, ..
                },
                Unhandled {
                    role: b, signal: y, ..
                },
            ) => a == b && x == y,
            _ => false,
        }
    }
}

impl fmt::Display for StepFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StepFault::Stopped(role) => f.write_str(&tr!("the {role} is stopped", role = role.name())),
            StepFault::DriverEnded(e @ Exit::Signal(_)) => {
                f.write_str(&tr!("the driver was {exit_words}", exit_words = exit_words(*e)))
            }
            StepFault::DriverEnded(e) => f.write_str(&tr!("the driver {exit_words}", exit_words = exit_words(*e))),
            StepFault::Exited(role) => f.write_str(&tr!("the {role} exited", role = role.name())),
            StepFault::Unterminated { number, text } => f.write_str(&tr!("line {number} \"{text}\" arrived without a newline after it; the exercise asks for each line to end with one, so it does not count", number = number, text = text)),
            StepFault::Missing {
                number,
                text,
                near_miss,
            } => {
                f.write_str(&tr!("line {number} \"{text}\" was not printed", number = number, text = text))?;
                match near_miss {
                    Some(m) => write!(f, "; {m}"),
                    None => Ok(()),
                }
            }
            StepFault::Repeated { number, times } => {
                f.write_str(&tr!("line {number} was printed {times} times, not once", number = number, times = times))
            }
            StepFault::Stray { number, times } => {
                f.write_str(&tr!("line {number} was printed too ({times}×)", number = number, times = times))
            }
            StepFault::WrongPrinter { number, by, not } => f.write_str(&tr!("line {number} was printed by the {by}, not the {not}", number = number, by = by.name(), not = not.name())),
            StepFault::Unsettled => {
                f.write_str(tr!("the processes did not settle before the step deadline"))
            }
            StepFault::Unhandled {
                role,
                signal,
                ignore,
                by,
                python_interrupt,
            } => {
                let verb = if *ignore { tr!("ignore") } else { tr!("catch") };
                f.write_str(&tr!("the {role} does not {verb} {signal}: ", role = role.name(), verb = verb, signal = signal.as_str()))?;
                if *python_interrupt {
                    f.write_str(&tr!("Python's default handler raised KeyboardInterrupt at {by}, which ended the {role}", by = by, role = role.name()))
                } else {
                    f.write_str(&tr!("{by} ended it", by = by))
                }
            }
        }
    }
}

/// The advice of a step is chosen from all it showed (`hints::step_advice`), not from one
/// fault alone: the check sets it.
impl Fault for StepFault {}

/// A fault of `roles`: one single-process signal (`label`, e.g. "SIGINT → conductor").
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoleFault {
    /// The signal could not be sent: no healthy run.
    NotSent { label: String, why: String },
    /// What the step after it showed, and the advice it gave.
    Step {
        label: String,
        fault: StepFault,
        advice: Option<String>,
    },
}

impl fmt::Display for RoleFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RoleFault::NotSent { label, why } => {
                f.write_str(&tr!("{label}: not sent: {why}", label = label, why = why))
            }
            RoleFault::Step { label, fault, .. } => write!(f, "{label}: {fault}"),
        }
    }
}

impl Fault for RoleFault {
    fn hint(&self) -> Option<String> {
        match self {
            RoleFault::Step { advice, .. } => advice.clone(),
            RoleFault::NotSent { .. } => None,
        }
    }
}

/// A fault of the end of the ride (`exit-order`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExitFault {
    /// A process is stopped: the program cannot end.
    Stopped,
    /// The driver had not exited by the deadline.
    DriverStayed { ms: u64 },
    /// The conductor exited first, but the driver never reaped it.
    NotReaped,
    /// The driver exited while the conductor ran on.
    DriverFirst,
    /// A process was killed by a signal.
    Killed { role: Role, signal: i32 },
    /// A process exited with a status other than 0 (a fault where the config says so).
    Status { role: Role, code: i32 },
}

impl fmt::Display for ExitFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExitFault::Stopped => f.write_str(tr!("a process is stopped, so the program cannot end")),
            ExitFault::DriverStayed { ms } => {
                f.write_str(&tr!("the driver did not exit within {ms} ms after Ctrl-Z", ms = ms))
            }
            ExitFault::NotReaped => f.write_str(tr!("the conductor exited but the driver never reaped it (a zombie was left)")),
            ExitFault::DriverFirst => f.write_str(tr!("the driver exited while the conductor was still running: the conductor must get off first")),
            ExitFault::Killed { role, signal } => f.write_str(&tr!("the {role} was killed by {try_from}", role = role.name(), try_from = Signal::try_from(*signal)
                    .map(|s| s.as_str())
                    .unwrap_or(tr!("a signal")))),
            ExitFault::Status { role, code } => {
                f.write_str(&tr!("the {role} exited with status {code}, not 0", role = role.name(), code = code))
            }
        }
    }
}

impl Fault for ExitFault {
    fn hint_in(&self, lang: Language) -> Option<String> {
        let idiom = Idiom(lang);
        Some(match self {
            ExitFault::Stopped | ExitFault::DriverStayed { .. } => idiom.say(
                tr!("after printing line 3 the conductor exits; the driver waits for it and then exits"),
                idiom.reap(),
            ),
            ExitFault::NotReaped | ExitFault::DriverFirst => idiom.say(
                tr!("the driver must wait for the conductor before it exits"),
                idiom.reap(),
            ),
            // Order and reaping were right: the fault is how a process ended.
            ExitFault::Killed { .. } | ExitFault::Status { .. } => idiom.say(
                tr!("end each process by exiting with status 0, not by a signal"),
                idiom.exit0(),
            ),
        })
    }
}

/// Processes of the submission left behind after the driver exited (`cleanup`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Leftovers(pub usize);

impl fmt::Display for Leftovers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&tr!(
            "{arg1} process(es) remained after the driver exited",
            arg1 = self.0
        ))
    }
}

impl Fault for Leftovers {
    fn hint(&self) -> Option<String> {
        Some(tr!("every process the program starts must have exited, and been reaped, when the driver exits").into())
    }
}

/// Processes that kept a CPU busy while waiting (`idle`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusyLoop(pub Vec<Role>);

impl fmt::Display for BusyLoop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let who: Vec<&str> = self.0.iter().map(|r| r.name()).collect();
        f.write_str(&tr!(
            "busy loop: the {who} kept a CPU busy while waiting",
            who = who.join(tr!(" and the "))
        ))
    }
}

impl Fault for BusyLoop {
    fn hint_in(&self, lang: Language) -> Option<String> {
        let idiom = Idiom(lang);
        Some(idiom.say(
            tr!("wait asleep instead of in a loop that polls"),
            idiom.sleep_wait(),
        ))
    }
}

/// Why the program did not become a driver and one waiting conductor (`start`).
impl fmt::Display for StartFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartFailure::NotExecuted(why) => f.write_str(&tr!(
                "the program could not be executed: {wording}",
                wording = wording::not_run(why)
            )),
            StartFailure::NoDriver => f.write_str(tr!("the program did not start")),
            StartFailure::DriverExited(e) => f.write_str(&tr!(
                "the program {e} during start-up",
                e = e.map(exit_words).unwrap_or_else(|| "exited".into())
            )),
            StartFailure::NoChild => f.write_str(tr!(
                "the driver waits but never started a conductor (no child process)"
            )),
            StartFailure::TooMany(n) => f.write_str(&tr!(
                "the program made {n} processes, not a driver and one conductor",
                n = n
            )),
            StartFailure::ConductorExited => {
                f.write_str(tr!("the conductor exited during start-up"))
            }
        }
    }
}

impl Fault for StartFailure {
    fn hint_in(&self, lang: Language) -> Option<String> {
        let idiom = Idiom(lang);
        Some(match self {
            StartFailure::NotExecuted(_) => tr!("a compiled program must be an executable for this machine; a script must start with #! or be named bus.py").into(),
            StartFailure::NoDriver => tr!("check that it runs at all").into(),
            StartFailure::DriverExited(_) => tr!("run it by hand: it must keep running until Ctrl-Z; the transcript shows what it printed").into(),
            StartFailure::NoChild => idiom.say(tr!("the driver must create the conductor"), idiom.fork()),
            StartFailure::TooMany(_) => tr!("fork exactly once, in the driver only").into(),
            StartFailure::ConductorExited => idiom.say(
                tr!("the conductor must wait for signals instead of ending"),
                idiom.wait_loop(),
            ),
        })
    }
}

/// The first fault of a sequence of keys (`repeat`): key `index` of `of`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SequenceFault {
    pub index: usize,
    pub of: usize,
    pub key: Key,
    pub fault: StepFault,
    /// The advice of that step (`hints::step_advice`).
    pub advice: Option<String>,
}

impl fmt::Display for SequenceFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&tr!(
            "key {index} of {of} ({key}): {fault}",
            index = self.index,
            of = self.of,
            key = self.key.label(),
            fault = self.fault
        ))
    }
}

impl Fault for SequenceFault {
    fn hint(&self) -> Option<String> {
        self.advice.clone()
    }
}

/// The error a Python program died of, from its traceback in the output: the last line
/// naming an exception (`SyntaxError: '(' was never closed`) and the last `File "…", line N`
/// before it. Shown in `start`'s message, so that a student sees the error, not only that
/// the program ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PythonError {
    /// The exception's line, escaped.
    pub error: String,
    /// The exception's name (`SyntaxError`).
    pub kind: String,
    /// The file's name (without its directory) and the line.
    pub at: Option<(String, u32)>,
}

impl PythonError {
    /// The last exception of a traceback in `output`, if there is one.
    pub fn last_in(output: &[u8]) -> Option<PythonError> {
        let text = String::from_utf8_lossy(output);
        let lines: Vec<&str> = text.lines().map(|l| l.trim_end_matches('\r')).collect();
        let (i, kind) = lines.iter().enumerate().rev().find_map(|(i, l)| {
            let kind = exception_name(l)?;
            Some((i, kind))
        })?;
        let at = lines[..i].iter().rev().find_map(|l| file_line(l));
        Some(PythonError {
            error: crate::text::escape::one_line(lines[i].trim().as_bytes()),
            kind,
            at,
        })
    }

    /// Whether the program did not even compile.
    fn syntax(&self) -> bool {
        matches!(
            self.kind.as_str(),
            "SyntaxError" | "IndentationError" | "TabError"
        )
    }
}

/// The exception a traceback's last line names: `NameError: …`, `KeyboardInterrupt`.
fn exception_name(line: &str) -> Option<String> {
    let name = line.split(':').next()?.trim_end();
    let last = name.rsplit('.').next()?;
    let is_ident = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
            && s.starts_with(|c: char| c.is_ascii_uppercase() || c.is_ascii_lowercase())
    };
    let exceptional = ["Error", "Exception", "Interrupt", "Exit"]
        .iter()
        .any(|e| last.ends_with(e));
    (is_ident(name)
        && exceptional
        && (line.len() == name.len() || line[name.len()..].starts_with(':')))
    .then(|| last.to_string())
}

/// `  File "/x/bus.py", line 30` (or `…, line 30, in main`): the file's name and the line.
fn file_line(line: &str) -> Option<(String, u32)> {
    let rest = line.trim_start().strip_prefix("File \"")?;
    let (path, rest) = rest.split_once("\", line ")?;
    let n: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
    let name = path.rsplit('/').next().unwrap_or(path);
    Some((
        crate::text::escape::one_line(name.as_bytes()),
        n.parse().ok()?,
    ))
}

impl fmt::Display for PythonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.error)?;
        match &self.at {
            Some((file, line)) => {
                f.write_str(&tr!(" ({file}, line {line})", file = file, line = line))
            }
            None => Ok(()),
        }
    }
}

impl Fault for PythonError {
    fn hint(&self) -> Option<String> {
        let at = match &self.at {
            Some((file, line)) => tr!(" at {file} line {line}", file = file, line = line),
            None => String::new(),
        };
        Some(if self.syntax() {
            tr!("Python could not read the program: fix the {kind}{at} (running it by hand with python3 shows the same error)", kind = self.kind, at = at)
        } else {
            tr!("the program raised {kind}{at} before it was ready: the transcript shows the whole traceback; run it by hand with python3 to try the fix", kind = self.kind, at = at)
        })
    }
}

/// Python 2 source run by Python 3: it dies at once of a `SyntaxError` whose words give the
/// version away. Told apart so that the report says what is wrong, not only that it died.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Python2 {
    /// What gave it away.
    pub marker: &'static str,
}

impl Python2 {
    /// The Python 2 construct behind a start-up `SyntaxError` in `output`, if any.
    pub fn seen_in(output: &[u8]) -> Option<Python2> {
        let text = String::from_utf8_lossy(output);
        if !text.contains("SyntaxError") {
            return None;
        }
        // Python's own words, searched for in its output: never translated.
        [
            (
                crate::i18n::verbatim("Missing parentheses in call to 'print'"),
                tr!("a print statement"),
            ),
            (
                crate::i18n::verbatim("Missing parentheses in call to 'exec'"),
                tr!("an exec statement"),
            ),
            (
                crate::i18n::verbatim("multiple exception types must be parenthesized"),
                tr!("`except E, e:`"),
            ),
        ]
        .into_iter()
        .find(|(words, _)| text.contains(words))
        .map(|(_, marker)| Python2 { marker })
    }
}

impl fmt::Display for Python2 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&tr!(
            "this is Python 2 source ({marker}); the program is run with Python 3",
            marker = self.marker
        ))
    }
}

impl Fault for Python2 {
    fn hint(&self) -> Option<String> {
        Some(tr!("port it to Python 3: print(...) is a function, `except E as e:`; then run it by hand with python3").into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_start_up_traceback_gives_its_error_and_where() {
        let syntax = b"  File \"/tmp/run/submission/bus.py\", line 30\r\n    signal.signal(x\r\n                 ^\r\nSyntaxError: '(' was never closed\r\n";
        let e = PythonError::last_in(syntax).expect("an error");
        assert_eq!(e.kind, "SyntaxError");
        assert_eq!(
            e.to_string(),
            "SyntaxError: '(' was never closed (bus.py, line 30)"
        );
        assert!(e
            .hint()
            .unwrap()
            .contains("fix the SyntaxError at bus.py line 30"));
        let raised = b"Traceback (most recent call last):\r\n  File \"/w/bus.py\", line 40, in <module>\r\n    main()\r\n  File \"/w/bus.py\", line 12, in main\r\n    signal.signal(signal.SIGUSR3, h)\r\nAttributeError: module 'signal' has no attribute 'SIGUSR3'\r\n";
        let e = PythonError::last_in(raised).expect("an error");
        assert_eq!(
            e.to_string(),
            "AttributeError: module 'signal' has no attribute 'SIGUSR3' (bus.py, line 12)"
        );
        assert_eq!(PythonError::last_in(b"hello: world\r\n"), None);
        assert_eq!(
            PythonError::last_in(b"KeyboardInterrupt\r\n").map(|e| e.kind),
            Some("KeyboardInterrupt".into())
        );
    }

    #[test]
    fn a_fault_seen_again_is_the_same_fault() {
        let typo = |m: &str| StepFault::Missing {
            number: 1,
            text: "x".into(),
            near_miss: Some(m.into()),
        };
        assert!(typo("a").same_fault(&typo("b")));
        let silent = StepFault::Missing {
            number: 1,
            text: "x".into(),
            near_miss: None,
        };
        assert!(!typo("a").same_fault(&silent));
        let twice = |times| StepFault::Repeated { number: 1, times };
        assert!(twice(2).same_fault(&twice(3)));
        assert!(!twice(2).same_fault(&StepFault::Repeated {
            number: 2,
            times: 2
        }));
    }

    #[test]
    fn python_2_source_is_told_by_its_syntax_error() {
        let py2 = b"  File \"bus.py\", line 7\r\n    print \"x\"\r\nSyntaxError: Missing parentheses in call to 'print'. Did you mean print(...)?\r\n";
        assert_eq!(
            Python2::seen_in(py2).map(|p| p.marker),
            Some("a print statement")
        );
        assert_eq!(Python2::seen_in(b"SyntaxError: invalid syntax\r\n"), None);
        assert_eq!(
            Python2::seen_in(b"Missing parentheses in call to 'print'"),
            None
        );
    }
}
