//! A program run to its end with its output captured: a submission's build command (in the
//! sandbox, with its limits), or a tool the grader asks something (unconfined). Standard
//! output and error share one pipe, so messages keep their order; the first `cap` bytes are
//! kept and the rest counted. At the deadline the program and everything it started are
//! killed.

use std::ffi::OsStr;
use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use nix::sys::signal::{killpg, Signal};

use super::process::Process;
use super::spawn::Launch;

/// How long the output pipe may stay open once the program is gone (a stray process that
/// escaped every kill holds it): then what was read is all there is.
const DRAIN_TIME: Duration = Duration::from_secs(2);

/// What a program run to its end did.
#[derive(Debug)]
pub struct Finished {
    /// Its exit status; `None` when the deadline came first and it was killed.
    pub status: Option<ExitStatus>,
    /// Standard output and error, interleaved as written: the first `cap` bytes.
    pub output: Vec<u8>,
    /// How many bytes it wrote in all.
    pub total: u64,
}

/// The `Command` that runs `launch` (program, arguments, exactly its environment, its
/// directory); confinement is added by [`Process::start_confined`].
fn command_of(launch: &Launch) -> Command {
    let mut cmd = Command::new(OsStr::from_bytes(launch.program.as_bytes()));
    for a in launch.argv.iter().skip(1) {
        cmd.arg(OsStr::from_bytes(a.as_bytes()));
    }
    cmd.env_clear();
    for kv in &launch.env {
        if let Some((k, v)) = kv.to_str().ok().and_then(|s| s.split_once('=')) {
            cmd.env(k, v);
        }
    }
    cmd.current_dir(OsStr::from_bytes(launch.cwd.as_bytes()));
    cmd
}

/// Runs `launch` until it exits or `deadline` passes (then it is killed, with whatever it
/// started), keeping the first `cap` bytes of its output. An error means it could not be
/// started at all.
pub fn run_to_end(launch: &Launch, deadline: Instant, cap: usize) -> io::Result<Finished> {
    let group = launch.sandbox.as_ref().and_then(|sb| sb.run_group());
    let mut cmd = command_of(launch);
    let (r, w) = nix::unistd::pipe()?;
    let w2 = w.try_clone()?;
    cmd.stdin(Stdio::null())
        .stdout(Stdio::from(w))
        .stderr(Stdio::from(w2));
    let mut process =
        Process::start_confined(&mut cmd, launch, group.as_ref().map(|g| g.procs_fd()))?;
    // Our copies of the write end go, so the reader sees the end of the output.
    drop(cmd);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut r = std::fs::File::from(r);
        let (mut kept, mut total) = (Vec::new(), 0u64);
        let mut buf = [0u8; 8192];
        while let Ok(n) = r.read(&mut buf) {
            if n == 0 {
                break;
            }
            total += n as u64;
            let room = cap.saturating_sub(kept.len());
            kept.extend_from_slice(&buf[..n.min(room)]);
        }
        let _ = tx.send((kept, total));
    });
    let exited = process.wait_for_exit(deadline);
    // Not reaped yet, so its pid still names its group: whatever it started and left
    // behind (it leads a session of its own) goes with it.
    let _ = killpg(process.pid(), Signal::SIGKILL);
    let kill_deadline = Instant::now() + DRAIN_TIME;
    if let Some(g) = &group {
        g.kill_all(kill_deadline);
    }
    let status = if exited {
        Some(process.wait()?)
    } else {
        process.terminate(Duration::ZERO)?;
        None
    };
    let (output, total) = rx
        .recv_timeout(kill_deadline.saturating_duration_since(Instant::now()))
        .unwrap_or_default();
    if let Some(g) = group {
        g.remove(kill_deadline);
    }
    Ok(Finished {
        status,
        output,
        total,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::ExitStatusExt;
    use std::path::Path;

    fn sh(script: &str) -> Launch {
        let env = [("PATH".to_string(), "/usr/bin:/bin".to_string())];
        Launch::new(
            Path::new("/bin/sh"),
            [OsStr::new("-c"), OsStr::new(script)],
            &env,
            Path::new("/"),
        )
        .unwrap()
    }

    #[test]
    fn output_of_both_streams_is_kept_in_order_up_to_the_cap() {
        let far = Instant::now() + Duration::from_secs(30);
        let f = run_to_end(&sh("echo out; echo err >&2; exit 3"), far, 1000).unwrap();
        assert_eq!(f.status.and_then(|s| s.code()), Some(3));
        assert_eq!(f.output, b"out\nerr\n");
        let f = run_to_end(&sh("printf 0123456789"), far, 4).unwrap();
        assert_eq!((f.output.as_slice(), f.total), (&b"0123"[..], 10));
    }

    #[test]
    fn at_the_deadline_the_program_and_what_it_started_are_killed() {
        let started = Instant::now();
        let soon = started + Duration::from_millis(300);
        let f = run_to_end(&sh("sleep 30 & echo started; sleep 30"), soon, 1000).unwrap();
        assert!(f.status.is_none(), "{:?}", f.status.map(|s| s.into_raw()));
        assert_eq!(f.output, b"started\n");
        assert!(started.elapsed() < Duration::from_secs(10));
    }
}
