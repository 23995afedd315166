//! A student's server as a process: started with a fresh port and library, its output
//! captured (capped) by a thread so a chatty server never blocks on a full pipe, its
//! readiness read from the kernel's socket table, its exit waited on through a pidfd.

use std::ffi::OsStr;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use nix::unistd::Pid;

use crate::net::listen;
use crate::supervise::process::Process;
use crate::supervise::procfs;
use crate::supervise::spawn::Launch;

/// How long a server the grader is done with gets to leave by itself on SIGTERM before it
/// is killed ([`ServerProc::finish`]). Whether it exits on SIGTERM is judged by its own
/// check, with the configured time; this only spares a well-behaved server a SIGKILL.
const FINISH_GRACE: Duration = Duration::from_millis(200);

/// Output kept for the report, and how much there was in all.
#[derive(Debug, Default)]
pub struct Captured {
    pub kept: Vec<u8>,
    pub total: u64,
}

/// A running server.
pub struct ServerProc {
    process: Process,
    pub pid: Pid,
    pub port: u16,
    output: Arc<Mutex<Captured>>,
    /// The run's freezer group, when there are control groups.
    group: Option<crate::supervise::isolation::RunGroup>,
}

/// Why a server is not serving.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartProblem {
    Exited(String),
    NotListening,
    Spawn(String),
}

fn describe(st: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (st.code(), st.signal()) {
        (Some(c), _) => format!("exited with status {c}"),
        (_, Some(s)) => format!(
            "was killed by {}",
            Signal::try_from(s)
                .map(|s| s.as_str())
                .unwrap_or("a signal")
        ),
        _ => "ended".into(),
    }
}

impl ServerProc {
    /// Starts `launch` with `<port> <library>` appended.
    pub fn start(
        launch: &Launch,
        port: u16,
        library: &Path,
        cap: usize,
    ) -> Result<Self, StartProblem> {
        let group = launch.sandbox.as_ref().and_then(|sb| sb.run_group());
        let program = OsStr::from_bytes(launch.program.as_bytes());
        let mut cmd = Command::new(program);
        for a in launch.argv.iter().skip(1) {
            cmd.arg(OsStr::from_bytes(a.as_bytes()));
        }
        cmd.arg(port.to_string()).arg(library);
        cmd.env_clear();
        for kv in &launch.env {
            if let Some((k, v)) = kv.to_str().ok().and_then(|s| s.split_once('=')) {
                cmd.env(k, v);
            }
        }
        cmd.current_dir(OsStr::from_bytes(launch.cwd.as_bytes()));
        let (r, w) = nix::unistd::pipe().map_err(|e| StartProblem::Spawn(e.to_string()))?;
        let w2 = w
            .try_clone()
            .map_err(|e| StartProblem::Spawn(e.to_string()))?;
        cmd.stdin(Stdio::null())
            .stdout(Stdio::from(w))
            .stderr(Stdio::from(w2));
        // The grading's sandbox, when there is one: its user, network namespace, file
        // system view, limits and control groups.
        let process =
            Process::start_confined(&mut cmd, launch, group.as_ref().map(|g| g.procs_fd()))
                .map_err(|e| StartProblem::Spawn(e.to_string()))?;
        // Our copies of the pipe's write end go, so the reader sees its end with the server.
        drop(cmd);
        let pid = process.pid();
        let output = Arc::new(Mutex::new(Captured::default()));
        let sink = output.clone();
        std::thread::spawn(move || {
            let mut r = std::fs::File::from(r);
            let mut buf = [0u8; 8192];
            while let Ok(n) = r.read(&mut buf) {
                if n == 0 {
                    break;
                }
                let mut c = sink.lock().unwrap_or_else(|e| e.into_inner());
                c.total += n as u64;
                let room = cap.saturating_sub(c.kept.len());
                c.kept.extend_from_slice(&buf[..n.min(room)]);
            }
        });
        Ok(ServerProc {
            process,
            pid,
            port,
            output,
            group,
        })
    }

    /// Waits until the server listens on its port, exits, or the deadline passes.
    pub fn await_listening(&mut self, deadline: Instant) -> Result<(), StartProblem> {
        loop {
            if let Some(st) = self.exited() {
                return Err(StartProblem::Exited(describe(st)));
            }
            if listen::listener(self.pid, self.port) == listen::Listener::Itself
                && self.said_listening()
            {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(StartProblem::NotListening);
            }
            self.block(deadline, Duration::from_millis(2));
        }
    }

    /// Whether the server printed its `listening on 127.0.0.1:<port>` line.
    pub fn said_listening(&self) -> bool {
        let line = format!("listening on 127.0.0.1:{}", self.port);
        let c = self.output.lock().unwrap_or_else(|e| e.into_inner());
        c.kept.windows(line.len()).any(|w| w == line.as_bytes())
    }

    /// Sleeps until the server exits or `tick` passes (never past `deadline`).
    fn block(&self, deadline: Instant, tick: Duration) {
        self.process
            .wait_for_exit(deadline.min(Instant::now() + tick));
    }

    /// Waits until the server has exited or gone quiet: every thread blocked or stopped, none on its
    /// way out, seen on two looks in a row. A faulty server can die a moment *after* a
    /// vanished client's socket closes (its threads are already exiting); judging in that
    /// moment would make the verdict depend on timing. A server that never sleeps (busy
    /// polling) counts as settled once it has spun for `BUSY_CPU` of CPU time without
    /// exiting. False at the deadline.
    pub fn settle(&mut self, deadline: Instant) -> bool {
        const BUSY_CPU: Duration = Duration::from_millis(100);
        let cpu_at_start = procfs::cpu_ns(self.pid);
        let mut quiet_looks = 0;
        loop {
            if self.exited().is_some() {
                return true;
            }
            // Unreadable (gone from /proc, not yet seen by wait) counts as exiting.
            let threads = procfs::threads(self.pid).unwrap_or(procfs::Threads {
                all_idle: false,
                any_exiting: true,
            });
            if threads.all_idle && !threads.any_exiting {
                quiet_looks += 1;
                if quiet_looks >= 2 {
                    return true;
                }
            } else {
                quiet_looks = 0;
            }
            let spun = match (cpu_at_start, procfs::cpu_ns(self.pid)) {
                (Some(a), Some(b)) => Duration::from_nanos(b.saturating_sub(a)),
                _ => Duration::ZERO,
            };
            if spun >= BUSY_CPU && !threads.any_exiting {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            self.block(deadline, Duration::from_millis(2));
        }
    }

    /// The exit status, once it has exited (reaps it).
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.process.status()
    }

    pub fn exit_words(&mut self) -> Option<String> {
        self.exited().map(describe)
    }

    /// Sends SIGTERM and waits for the exit; the status, or None at the deadline.
    pub fn terminate(&mut self, deadline: Instant) -> Option<ExitStatus> {
        if self.exited().is_none() {
            let _ = self.process.signal(Signal::SIGTERM);
        }
        loop {
            if let Some(st) = self.exited() {
                return Some(st);
            }
            if Instant::now() >= deadline {
                return None;
            }
            self.block(deadline, Duration::from_millis(50));
        }
    }

    /// Its output so far, lossily decoded (escape before showing).
    pub fn output(&self) -> (Vec<u8>, u64) {
        let c = self.output.lock().unwrap_or_else(|e| e.into_inner());
        (c.kept.clone(), c.total)
    }

    /// Children of the server that have exited but were not reaped.
    pub fn zombie_children(&self) -> usize {
        procfs::children(self.pid)
            .into_iter()
            .filter(|p| {
                procfs::stat(*p)
                    .map(|s| s.state == procfs::RunState::Zombie)
                    .unwrap_or(false)
            })
            .count()
    }

    pub fn describe_status(st: ExitStatus) -> String {
        describe(st)
    }

    /// Kills what is left of the server and its processes, and removes its group.
    /// A server dropped without it (an early return) is killed all the same (by
    /// [`Process`]'s drop), not left.
    pub fn finish(mut self, deadline: Instant) {
        let grace = deadline
            .saturating_duration_since(Instant::now())
            .min(FINISH_GRACE);
        let _ = self.process.terminate(grace);
        if let Some(g) = self.group.take() {
            g.kill_all(deadline);
            g.remove(deadline);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// A one-connection server: reads until the client goes, closes the connection, then
    /// does `after_close` (Python) before exiting with status 1 — or lives on.
    fn python_server(after_close: &str) -> (ServerProc, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let script = format!(
            "import socket, sys, time\n\
             s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n\
             s.bind(('127.0.0.1', int(sys.argv[1]))); s.listen()\n\
             print('listening on 127.0.0.1:' + sys.argv[1], flush=True)\n\
             c, _ = s.accept()\n\
             while c.recv(4096): pass\n\
             c.close()\n\
             {after_close}\n"
        );
        std::fs::write(dir.path().join("server.py"), script).unwrap();
        let path = std::env::var("PATH").unwrap_or_default();
        let launch = Launch::new(
            Path::new("python3"),
            [OsStr::new("server.py")],
            &[("PATH".into(), path)],
            dir.path(),
        )
        .unwrap();
        let port = listen::free_port().unwrap();
        let mut s = ServerProc::start(&launch, port, dir.path(), 4096).unwrap();
        s.await_listening(Instant::now() + Duration::from_secs(10))
            .unwrap();
        (s, dir)
    }

    /// Connects, sends a little, vanishes, and waits until the server has closed its side.
    fn vanish(s: &ServerProc) {
        let mut c = std::net::TcpStream::connect(("127.0.0.1", s.port)).unwrap();
        c.write_all(b"P 1000 x\n").unwrap();
        let client_port = c.local_addr().unwrap().port();
        drop(c);
        let deadline = Instant::now() + Duration::from_secs(10);
        while listen::server_side_open(s.pid, s.port, client_port) {
            assert!(
                Instant::now() < deadline,
                "the server never closed its side"
            );
            s.block(deadline, Duration::from_millis(2));
        }
    }

    #[test]
    fn settle_waits_for_a_server_still_working_towards_its_death() {
        // 30 ms of CPU between closing the connection and exiting: a look right after the
        // close finds it alive; settling must see it die.
        let (mut s, _dir) = python_server(
            "t = time.process_time()\nwhile time.process_time() - t < 0.03: pass\nsys.exit(1)",
        );
        vanish(&s);
        assert!(s.settle(Instant::now() + Duration::from_secs(10)));
        let st = s
            .exited()
            .expect("settled while the server was still dying");
        assert_eq!(st.code(), Some(1));
        s.finish(Instant::now() + Duration::from_secs(2));
    }

    #[test]
    fn settle_ends_at_once_for_an_idle_server() {
        let (mut s, _dir) = python_server("s.accept()");
        vanish(&s);
        let deadline = Instant::now() + Duration::from_secs(10);
        assert!(s.settle(deadline));
        assert!(s.exited().is_none(), "an idle server is alive");
        s.finish(Instant::now() + Duration::from_secs(2));
    }
}
