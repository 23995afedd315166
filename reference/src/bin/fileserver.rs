//! Reference file server: `fileserver <port> <library-dir>`.
//!
//! Listens on 127.0.0.1:<port>, prints `listening on 127.0.0.1:<port>` once it listens, and
//! serves each connection in its own thread (the logic is in `reference::fileserver`).
//!
//! SIGINT and SIGTERM are turned into a byte on a self-pipe that the accept loop polls next to
//! the listening socket; on it the server removes the temporary files of unfinished uploads and
//! exits with status 0.

use std::io::{self, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Arc;

use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};
use reference::fileserver;

/// Write end of the self-pipe, for the signal handler.
static SIGNAL_PIPE: AtomicI32 = AtomicI32::new(-1);

extern "C" fn on_signal(_: libc::c_int) {
    // Only async-signal-safe calls here; keep errno intact for the interrupted code.
    unsafe {
        let errno = *libc::__errno_location();
        let fd = SIGNAL_PIPE.load(Ordering::Relaxed);
        if fd >= 0 {
            let byte = 1u8;
            libc::write(fd, (&byte as *const u8).cast(), 1);
        }
        *libc::__errno_location() = errno;
    }
}

/// Makes the self-pipe and routes SIGINT and SIGTERM to it. Returns the read end.
fn install_signal_pipe() -> io::Result<libc::c_int> {
    let mut fds = [0 as libc::c_int; 2];
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC | libc::O_NONBLOCK) } != 0 {
        return Err(io::Error::last_os_error());
    }
    SIGNAL_PIPE.store(fds[1], Ordering::Relaxed);
    let action = SigAction::new(
        SigHandler::Handler(on_signal),
        SaFlags::SA_RESTART,
        SigSet::empty(),
    );
    for signal in [Signal::SIGINT, Signal::SIGTERM] {
        unsafe { sigaction(signal, &action) }.map_err(io::Error::from)?;
    }
    Ok(fds[0])
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let (port, library) = match args.as_slice() {
        [_, port, library] => match port.parse::<u16>() {
            Ok(port) => (port, PathBuf::from(library)),
            Err(_) => {
                eprintln!("fileserver: invalid port {port:?}");
                return ExitCode::from(2);
            }
        },
        _ => {
            eprintln!("usage: fileserver <port> <library-dir>");
            return ExitCode::from(2);
        }
    };
    if !library.is_dir() {
        eprintln!("fileserver: {} is not a directory", library.display());
        return ExitCode::from(2);
    }
    let signals = match install_signal_pipe() {
        Ok(fd) => fd,
        Err(e) => {
            eprintln!("fileserver: cannot set up signal handling: {e}");
            return ExitCode::FAILURE;
        }
    };
    let listener = match TcpListener::bind(("127.0.0.1", port)) {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("fileserver: cannot bind 127.0.0.1:{port}: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Err(e) = listener.set_nonblocking(true) {
        eprintln!("fileserver: {e}");
        return ExitCode::FAILURE;
    }
    let port = listener.local_addr().map(|a| a.port()).unwrap_or(port);
    {
        let mut out = io::stdout().lock();
        let _ = writeln!(out, "listening on 127.0.0.1:{port}");
        let _ = out.flush();
    }
    let library = Arc::new(library);
    fileserver::accept_loop(&listener, signals, &library);
    // A signal arrived: no new connections, no temporary files left behind.
    // Exit while holding the lock, so that no upload can start or finish from here on.
    let _pending = fileserver::remove_pending();
    std::process::exit(0);
}
