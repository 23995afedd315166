//! The terminal's settings as the program left them: read from the slave side and compared
//! with the grader's, so a report can say what the program changed (signal keys, echo, raw
//! mode).

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use nix::sys::termios::{self, ControlFlags, LocalFlags, OutputFlags, Termios};

use super::Key;

/// A change the program made to its terminal's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TerminalChange {
    /// `ISIG` off: no key sends a signal.
    SignalsOff,
    /// `ICANON` off: raw mode.
    RawMode,
    /// `ECHO` on (the grader turns it off).
    EchoOn,
    /// `OPOST` off.
    OutputProcessingOff,
    /// `CREAD` off.
    InputOff,
    /// The character that sends this key's signal is no longer this key.
    KeyMoved(Key),
}

/// The settings of the terminal's slave side (where the program changes them), through a
/// descriptor the master hands out (`TIOCGPTPEER`), so no path is looked up.
pub(super) fn slave_termios(master: &OwnedFd) -> Option<Termios> {
    // SAFETY: an ioctl returning a new descriptor we then own.
    let fd = unsafe {
        libc::ioctl(
            master.as_raw_fd(),
            libc::TIOCGPTPEER as _,
            libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC | libc::O_NONBLOCK,
        )
    };
    if fd < 0 {
        return None;
    }
    // SAFETY: a non-negative result is a new descriptor that nothing else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    termios::tcgetattr(&fd).ok()
}

/// What differs between the grader's terminal settings and the program's.
pub fn termios_changes(base: &Termios, now: &Termios) -> Vec<TerminalChange> {
    let mut out = Vec::new();
    let lf = |t: &Termios, f: LocalFlags| t.local_flags.contains(f);
    if lf(base, LocalFlags::ISIG) && !lf(now, LocalFlags::ISIG) {
        out.push(TerminalChange::SignalsOff);
    }
    if lf(base, LocalFlags::ICANON) && !lf(now, LocalFlags::ICANON) {
        out.push(TerminalChange::RawMode);
    }
    if !lf(base, LocalFlags::ECHO) && lf(now, LocalFlags::ECHO) {
        out.push(TerminalChange::EchoOn);
    }
    if base.output_flags.contains(OutputFlags::OPOST)
        && !now.output_flags.contains(OutputFlags::OPOST)
    {
        out.push(TerminalChange::OutputProcessingOff);
    }
    if base.control_flags.contains(ControlFlags::CREAD)
        && !now.control_flags.contains(ControlFlags::CREAD)
    {
        out.push(TerminalChange::InputOff);
    }
    for key in [Key::CtrlC, Key::CtrlBackslash, Key::CtrlZ] {
        let idx = key.control_char() as usize;
        if base.control_chars[idx] != now.control_chars[idx] {
            out.push(TerminalChange::KeyMoved(key));
        }
    }
    out
}
