//! Sentences for what the supervisor observed. The supervisor returns facts (why a run was
//! cut off, why a program never ran, what it changed in its terminal); the words a report
//! uses for them live here, one function per fact.

use crate::supervise::session::{CutOff, Key, NotRun, TerminalChange};

/// Why the program never ran: the `exec` error, or the confinement step that failed.
pub fn not_run(why: &NotRun) -> String {
    match why {
        NotRun::Confine(c) => format!("the grader could not confine it: {c}"),
        NotRun::Exec(e) => e.desc().to_string(),
    }
}

/// Why the run was cut off.
pub fn cut_off(why: &CutOff) -> String {
    match *why {
        CutOff::Flood { bytes, limit } => format!(
            "output flood: the run was cut off when its output passed {limit} bytes ({bytes} received)"
        ),
        CutOff::Disk { used, limit } => format!(
            "disk: the run was cut off when its directory passed {} MiB ({} MiB)",
            limit >> 20,
            used.min(u64::MAX >> 1) >> 20
        ),
    }
}

/// What the program changed in its terminal's settings.
pub fn terminal_change(change: &TerminalChange) -> String {
    match change {
        TerminalChange::SignalsOff => {
            "turned ISIG off: Ctrl-C, Ctrl-\\ and Ctrl-Z send no signals".to_string()
        }
        TerminalChange::RawMode => "put the terminal in raw mode (ICANON off)".to_string(),
        TerminalChange::EchoOn => "turned echo on".to_string(),
        TerminalChange::OutputProcessingOff => "turned output processing off (OPOST)".to_string(),
        TerminalChange::InputOff => "turned input off (CREAD)".to_string(),
        TerminalChange::KeyMoved(key) => {
            let name = match key {
                Key::CtrlC => "interrupt",
                Key::CtrlBackslash => "quit",
                Key::CtrlZ => "suspend",
            };
            format!("changed the {name} key (no longer {})", key.label())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::errno::Errno;

    #[test]
    fn cut_off_sentences() {
        assert_eq!(
            cut_off(&CutOff::Flood {
                bytes: 70_000,
                limit: 65_536
            }),
            "output flood: the run was cut off when its output passed 65536 bytes (70000 received)"
        );
        assert_eq!(
            cut_off(&CutOff::Disk {
                used: 63 << 20,
                limit: 64 << 20
            }),
            "disk: the run was cut off when its directory passed 64 MiB (63 MiB)"
        );
    }

    #[test]
    fn not_run_sentence() {
        assert_eq!(
            not_run(&NotRun::Exec(Errno::ENOEXEC)),
            Errno::ENOEXEC.desc()
        );
    }

    #[test]
    fn terminal_change_sentences() {
        assert_eq!(
            terminal_change(&TerminalChange::KeyMoved(Key::CtrlBackslash)),
            "changed the quit key (no longer Ctrl-\\)"
        );
        assert_eq!(
            terminal_change(&TerminalChange::SignalsOff),
            "turned ISIG off: Ctrl-C, Ctrl-\\ and Ctrl-Z send no signals"
        );
    }
}
