//! The bus program: reference solution.
//!
//! The parent process is the *driver*, its child the *conductor*. Both sit in the terminal's
//! foreground process group, so the keyboard's signals reach both of them:
//!
//! | key    | signal  | driver                          | conductor                        |
//! |--------|---------|---------------------------------|----------------------------------|
//! | Ctrl-C | SIGINT  | ignored                         | sends SIGUSR1 to the driver      |
//! | Ctrl-\ | SIGQUIT | ignored                         | sends SIGUSR2 to the driver      |
//! | Ctrl-Z | SIGTSTP | sends SIGUSR1 to the conductor  | ignored                          |
//! | –      | SIGUSR1 | prints `老司机开车了`           | prints `到站了，请下车`, exits 0 |
//! | –      | SIGUSR2 | prints `系好安全带，车速有点快` | default (not used)               |
//!
//! The driver waits in `waitpid` for the conductor and exits 0 once it has reaped it, so the
//! conductor always leaves first. Neither process ever spins: the driver sleeps in `wait4`,
//! the conductor in `rt_sigsuspend`.
//!
//! Signal handlers do only async-signal-safe work: `write(2)`, `kill(2)`, `getppid(2)` and
//! `_exit(2)`; they save and restore `errno` so the interrupted system call's error handling
//! (the `EINTR` retry loop) sees its own error, not the handler's.
//!
//! # Why the signals are blocked around `fork`
//!
//! Each process installs its own handlers after the fork: the child must not run with the
//! driver's dispositions (SIGINT ignored, SIGTSTP caught) nor the driver with the defaults.
//! Between `fork` and those `sigaction` calls there is a window in which a key press would
//! hit a process still at `SIG_DFL`: SIGINT, SIGQUIT and SIGUSR1 would kill it and SIGTSTP
//! would stop it. So the parent blocks all five signals *before* forking; the child inherits
//! the blocked mask. A signal arriving in the window stays pending, and:
//!
//! * if the process later catches it, it is delivered to the new handler once unblocked
//!   (nothing is lost: e.g. a Ctrl-Z pressed early makes the driver send SIGUSR1, which is in
//!   turn held pending in a conductor that has not installed its handler yet);
//! * if the process later ignores it, setting `SIG_IGN` discards the pending signal (POSIX),
//!   which is exactly what ignoring means.
//!
//! The driver records the conductor's pid in an atomic before unblocking, so its SIGTSTP
//! handler never runs without a target. The conductor unblocks atomically inside
//! `sigsuspend`, so a signal can never slip in between "unblock" and "go to sleep".

use std::sync::atomic::{AtomicI32, Ordering};

use nix::errno::Errno;
use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, SigmaskHow, Signal};
use nix::sys::wait::waitpid;
use nix::unistd::{fork, getpid, ForkResult, Pid};

/// Line the driver prints on SIGUSR1 (conductor saw Ctrl-C).
const LINE_GO: &[u8] = "老司机开车了\n".as_bytes();
/// Line the driver prints on SIGUSR2 (conductor saw Ctrl-\).
const LINE_BELT: &[u8] = "系好安全带，车速有点快\n".as_bytes();
/// Line the conductor prints on SIGUSR1 (driver saw Ctrl-Z), just before it leaves.
const LINE_STOP: &[u8] = "到站了，请下车\n".as_bytes();

/// The driver's pid, for the conductor's handlers (set before fork, read-only afterwards).
static DRIVER: AtomicI32 = AtomicI32::new(0);
/// The conductor's pid, for the driver's SIGTSTP handler (set before the handler can run).
static CONDUCTOR: AtomicI32 = AtomicI32::new(0);

/// Writes all of `line` to stdout with `write(2)` only (async-signal-safe, unbuffered, so the
/// line is out as soon as the handler returns). Retries on `EINTR` and short writes; gives
/// up silently on any other error (there is nobody to report it to).
fn write_line(line: &[u8]) {
    let mut rest = line;
    while !rest.is_empty() {
        // SAFETY: `rest` is a valid, initialised buffer of `rest.len()` bytes.
        let n = unsafe { libc::write(libc::STDOUT_FILENO, rest.as_ptr().cast(), rest.len()) };
        if n > 0 {
            rest = &rest[n as usize..];
        } else if n < 0 && Errno::last() == Errno::EINTR {
            continue;
        } else {
            return;
        }
    }
}

/// Runs `f` with `errno` saved and restored, as every handler that makes system calls must.
fn preserving_errno(f: impl FnOnce()) {
    let saved = Errno::last_raw();
    f();
    Errno::set_raw(saved);
}

/// Sends `sig` to the driver, but only while the driver is still our parent: if it has gone,
/// `getppid` names a reaper (init or a grader) that must not get our signal.
fn signal_driver(sig: libc::c_int) {
    let driver = DRIVER.load(Ordering::Relaxed);
    // SAFETY: getppid and kill are async-signal-safe and take no pointers.
    unsafe {
        if libc::getppid() == driver {
            libc::kill(driver, sig);
        }
    }
}

/// Conductor, SIGINT (Ctrl-C): tell the driver to start.
extern "C" fn conductor_on_int(_: libc::c_int) {
    preserving_errno(|| signal_driver(libc::SIGUSR1));
}

/// Conductor, SIGQUIT (Ctrl-\): tell the driver to warn about the speed.
extern "C" fn conductor_on_quit(_: libc::c_int) {
    preserving_errno(|| signal_driver(libc::SIGUSR2));
}

/// Conductor, SIGUSR1 (the driver saw Ctrl-Z): announce the stop and leave at once.
/// `_exit` skips atexit handlers and Rust's stdout flushing, none of which may run here.
extern "C" fn conductor_on_usr1(_: libc::c_int) {
    write_line(LINE_STOP);
    // SAFETY: _exit is async-signal-safe and never returns.
    unsafe { libc::_exit(0) }
}

/// Driver, SIGUSR1: the conductor saw Ctrl-C.
extern "C" fn driver_on_usr1(_: libc::c_int) {
    preserving_errno(|| write_line(LINE_GO));
}

/// Driver, SIGUSR2: the conductor saw Ctrl-\.
extern "C" fn driver_on_usr2(_: libc::c_int) {
    preserving_errno(|| write_line(LINE_BELT));
}

/// Driver, SIGTSTP (Ctrl-Z): instead of stopping, tell the conductor we have arrived.
extern "C" fn driver_on_tstp(_: libc::c_int) {
    preserving_errno(|| {
        let conductor = CONDUCTOR.load(Ordering::Relaxed);
        if conductor > 0 {
            // SAFETY: kill is async-signal-safe and takes no pointers.
            unsafe { libc::kill(conductor, libc::SIGUSR1) };
        }
    });
}

/// Installs `handler` for `sig`. `mask` (all the handled signals) is blocked while a handler
/// runs, so two lines can never interleave mid-write. No `SA_RESTART`: see [`driver`].
fn catch(sig: Signal, handler: extern "C" fn(libc::c_int), mask: SigSet) {
    set_disposition(sig, SigHandler::Handler(handler), mask);
}

/// Ignores `sig`; this also discards it if it is pending.
fn ignore(sig: Signal, mask: SigSet) {
    set_disposition(sig, SigHandler::SigIgn, mask);
}

fn set_disposition(sig: Signal, handler: SigHandler, mask: SigSet) {
    let action = SigAction::new(handler, SaFlags::empty(), mask);
    // SAFETY: the handlers above only do async-signal-safe work.
    unsafe { sigaction(sig, &action) }.unwrap_or_else(|e| panic!("sigaction({sig}): {e}"));
}

fn main() {
    let mut managed = SigSet::empty();
    for sig in [
        Signal::SIGINT,
        Signal::SIGQUIT,
        Signal::SIGTSTP,
        Signal::SIGUSR1,
        Signal::SIGUSR2,
    ] {
        managed.add(sig);
    }
    // Block before fork (see the module docs); `original` is what we were started with.
    let original = managed
        .thread_swap_mask(SigmaskHow::SIG_BLOCK)
        .expect("sigprocmask");
    DRIVER.store(getpid().as_raw(), Ordering::Relaxed);

    // SAFETY: the process is single-threaded here, so the child may do anything.
    match unsafe { fork() }.expect("fork") {
        ForkResult::Child => conductor(managed, original),
        ForkResult::Parent { child } => driver(child, managed, original),
    }
}

/// The mask we were started with, minus the signals we handle (normally the empty set; a
/// launcher that left one of them blocked must not silence the bus).
fn unblocked(original: SigSet, managed: SigSet) -> SigSet {
    let mut mask = original;
    for sig in managed.iter() {
        mask.remove(sig);
    }
    mask
}

/// The conductor: set up its dispositions, then sleep in `sigsuspend` forever; it leaves from
/// inside its SIGUSR1 handler.
fn conductor(managed: SigSet, original: SigSet) -> ! {
    ignore(Signal::SIGTSTP, managed);
    catch(Signal::SIGINT, conductor_on_int, managed);
    catch(Signal::SIGQUIT, conductor_on_quit, managed);
    catch(Signal::SIGUSR1, conductor_on_usr1, managed);
    // Sleep with the signals we handle unblocked: sigsuspend swaps the mask in atomically,
    // so pending signals, if any, are delivered only once we are asleep. It returns EINTR
    // after each handler; go back to sleep.
    let awake = unblocked(original, managed);
    loop {
        let _ = awake.suspend();
    }
}

/// The driver: set up its dispositions, then wait for the conductor to leave, and leave too.
fn driver(child: Pid, managed: SigSet, original: SigSet) -> ! {
    CONDUCTOR.store(child.as_raw(), Ordering::Relaxed);
    ignore(Signal::SIGINT, managed);
    ignore(Signal::SIGQUIT, managed);
    catch(Signal::SIGUSR1, driver_on_usr1, managed);
    catch(Signal::SIGUSR2, driver_on_usr2, managed);
    catch(Signal::SIGTSTP, driver_on_tstp, managed);
    unblocked(original, managed)
        .thread_set_mask()
        .expect("sigprocmask: unblock");
    // Every handler interrupts waitpid with EINTR (no SA_RESTART); just wait again.
    loop {
        match waitpid(child, None) {
            Err(Errno::EINTR) => continue,
            Ok(_) => std::process::exit(0),
            Err(e) => panic!("waitpid({child}): {e}"),
        }
    }
}
