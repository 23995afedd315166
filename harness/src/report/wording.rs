//! Sentences for what the supervisor observed. The supervisor returns facts (why a run was
//! cut off, why a program never ran, what it changed in its terminal); the words a report
//! uses for them live here, one function per fact.

use crate::supervise::session::{CutOff, Key, NotRun, TerminalChange};
use crate::tr;

/// Why the program never ran: the `exec` error, or the confinement step that failed.
pub fn not_run(why: &NotRun) -> String {
    match why {
        NotRun::Confine(c) => tr!("the grader could not confine it: {c}", c = c),
        NotRun::Exec(e) => e.desc().to_string(),
    }
}

/// Why the run was cut off.
pub fn cut_off(why: &CutOff) -> String {
    match *why {
        CutOff::Flood { bytes, limit } => tr!("output flood: the run was cut off when its output passed {limit} bytes ({bytes} received)", limit = limit, bytes = bytes),
        CutOff::Disk { used, limit } => tr!("disk: the run was cut off when its directory passed {limit} MiB ({used} MiB)", limit = limit >> 20, used = used.min(u64::MAX >> 1) >> 20),
    }
}

/// What the program changed in its terminal's settings.
pub fn terminal_change(change: &TerminalChange) -> String {
    match change {
        TerminalChange::SignalsOff => {
            tr!("turned ISIG off: Ctrl-C, Ctrl-\\ and Ctrl-Z send no signals").to_string()
        }
        TerminalChange::RawMode => tr!("put the terminal in raw mode (ICANON off)").to_string(),
        TerminalChange::EchoOn => tr!("turned echo on").to_string(),
        TerminalChange::OutputProcessingOff => {
            tr!("turned output processing off (OPOST)").to_string()
        }
        TerminalChange::InputOff => tr!("turned input off (CREAD)").to_string(),
        TerminalChange::KeyMoved(key) => {
            let label = key.label();
            match key {
                Key::CtrlC => tr!("changed the interrupt key (no longer {key})", key = label),
                Key::CtrlBackslash => tr!("changed the quit key (no longer {key})", key = label),
                Key::CtrlZ => tr!("changed the suspend key (no longer {key})", key = label),
            }
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
