//! How advice names the calls a student writes, in the submission's language: a Python
//! program is told `signal.signal(signal.SIGINT, signal.SIG_IGN)`, a C program
//! `signal(SIGINT, SIG_IGN)`, and an executable of unknown source the plain words alone
//! ("ignore SIGINT"). Hints say what to do in prose and add the call where the language is
//! known ([`Idiom::say`]), so a neutral hint is the same sentence without the code.

use crate::i18n::verbatim;
use crate::submission::Language;
use crate::tr;

/// The calls of one language, for hints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Idiom(pub Language);

impl Idiom {
    /// `prose`, then the call that does it in this language, if it is known: "prose: call".
    pub fn say(self, prose: impl Into<String>, call: Option<String>) -> String {
        let prose = prose.into();
        match call {
            Some(c) => format!("{prose}: {c}"),
            None => prose,
        }
    }

    /// The call in Python, in C, or none for another language.
    fn pick(self, python: impl Into<String>, c: impl Into<String>) -> Option<String> {
        match self.0 {
            Language::Python => Some(python.into()),
            Language::C => Some(c.into()),
            Language::Other => None,
        }
    }

    /// Ignoring `sig` (a name such as "SIGINT").
    pub fn ignore(self, sig: &str) -> Option<String> {
        self.pick(
            verbatim(format!("signal.signal(signal.{sig}, signal.SIG_IGN)")),
            verbatim(format!("signal({sig}, SIG_IGN)")),
        )
    }

    /// Catching `sig` with a handler.
    pub fn catch(self, sig: &str) -> Option<String> {
        self.pick(
            verbatim(format!("signal.signal(signal.{sig}, handler)")),
            tr!(
                "sigaction({sig}, &sa, NULL) with sa.sa_handler = handler",
                sig = sig
            ),
        )
    }

    /// Sending `sig` to the parent process.
    pub fn signal_parent(self, sig: &str) -> Option<String> {
        self.pick(
            verbatim(format!("os.kill(os.getppid(), signal.{sig})")),
            verbatim(format!("kill(getppid(), {sig})")),
        )
    }

    /// Sending `sig` to the child whose pid `fork` returned.
    pub fn signal_child(self, sig: &str) -> Option<String> {
        self.pick(
            verbatim(format!("os.kill(child_pid, signal.{sig})")),
            verbatim(format!("kill(child_pid, {sig})")),
        )
    }

    /// Printing a line so that it leaves the process at once, newline included.
    pub fn print_flushed(self) -> Option<String> {
        self.pick(
            tr!("print(line, flush=True), or sys.stdout.flush() after it; print(..., end=\"\") or sys.stdout.write without \"\\n\" leaves the text in the buffer"),
            tr!("printf(\"...\\n\") then fflush(stdout), or setvbuf(stdout, NULL, _IONBF, 0) once at the start; in a signal handler write(1, \"...\\n\", n) is the safe call"),
        )
    }

    /// Ending a line with its newline.
    pub fn end_line(self) -> Option<String> {
        self.pick(
            tr!("print(line) ends the line; print(line, end=\"\") and sys.stdout.write(line) without \"\\n\" do not"),
            tr!("printf(\"...\\n\"), or write(1, \"...\\n\", n): the \\n ends the line"),
        )
    }

    /// Waiting for signals, one after another, asleep.
    pub fn wait_loop(self) -> Option<String> {
        self.pick(verbatim("while True: signal.pause()"), "for (;;) pause();")
    }

    /// Waiting for a child to exit, and reaping it.
    pub fn reap(self) -> Option<String> {
        self.pick(
            tr!("os.wait() or p.join()"),
            tr!("wait(NULL) or waitpid(child_pid, NULL, 0)"),
        )
    }

    /// Reaping every child that has exited, without blocking (in a SIGCHLD handler).
    pub fn reap_all_nohang(self) -> Option<String> {
        self.pick(
            tr!("os.waitpid(-1, os.WNOHANG) in a loop until it returns pid 0 or raises ChildProcessError"),
            verbatim("while (waitpid(-1, NULL, WNOHANG) > 0) ;"),
        )
    }

    /// Exiting with status 0 (in a handler of a forked child, the immediate exit).
    pub fn exit0(self) -> Option<String> {
        self.pick(
            tr!("sys.exit(0), or os._exit(0) in the conductor once line 3 is printed and flushed"),
            tr!("exit(0), or _exit(0) in a signal handler once line 3 is written"),
        )
    }

    /// Creating the second process.
    pub fn fork(self) -> Option<String> {
        self.pick(tr!("os.fork() or multiprocessing.Process"), "fork()")
    }

    /// Sleeping until something happens.
    pub fn sleep_wait(self) -> Option<String> {
        self.pick(
            tr!("signal.pause(), os.wait() or p.join()"),
            tr!("pause(), sigsuspend() or wait()"),
        )
    }

    /// Printing a prompt (`prompt`, as the program's text shows it), which has no newline,
    /// so that it shows at once.
    pub fn prompt_flushed(self, prompt: &str) -> Option<String> {
        self.pick(
            tr!(
                "print(\"{prompt}\", end=\"\", flush=True), or input(\"{prompt}\")",
                prompt = prompt
            ),
            verbatim(format!("printf(\"{prompt}\"); fflush(stdout);")),
        )
    }

    /// Exiting with status 0 when `sig` comes.
    pub fn exit_on(self, sig: &str) -> Option<String> {
        self.pick(
            verbatim(format!(
                "signal.signal(signal.{sig}, lambda signum, frame: sys.exit(0))"
            )),
            tr!("a {sig} handler that calls _exit(0)", sig = sig),
        )
    }

    /// Seeing that the other end of a connection has gone.
    pub fn end_of_connection(self) -> Option<String> {
        self.pick(tr!("recv() returns b''"), tr!("recv() returns 0"))
    }

    /// Seeing the end of the user's input.
    pub fn end_of_input(self) -> Option<String> {
        self.pick(
            tr!("input() raises EOFError"),
            tr!("fgets() returns NULL (read() returns 0)"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_language_gets_its_own_call_and_others_the_words_alone() {
        let say = |lang| Idiom(lang).say("ignore SIGINT", Idiom(lang).ignore("SIGINT"));
        assert_eq!(
            say(Language::Python),
            "ignore SIGINT: signal.signal(signal.SIGINT, signal.SIG_IGN)"
        );
        assert_eq!(say(Language::C), "ignore SIGINT: signal(SIGINT, SIG_IGN)");
        assert_eq!(say(Language::Other), "ignore SIGINT");
        assert!(Idiom(Language::C)
            .print_flushed()
            .is_some_and(|c| c.contains("fflush(stdout)") && c.contains("write(1")));
        assert!(Idiom(Language::Python)
            .print_flushed()
            .is_some_and(|c| c.contains("flush=True")));
    }
}
