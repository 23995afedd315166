//! A student's server as a process: started with the configured arguments, its output
//! captured (capped) by a thread so a chatty server never blocks on a full pipe, its port
//! *found* in the kernel's socket table (whatever port it or a child of it listens on, in the
//! grading's own network namespace), its exit waited on through a pidfd.

use crate::tr;
use std::ffi::OsStr;
use std::io::Read;
use std::net::SocketAddr;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use nix::unistd::Pid;

use crate::net::listen;
use crate::supervise::process::Process;
use crate::supervise::procfs;
use crate::supervise::spawn::Launch;
use crate::supervise::spin::{self, CpuLook, SpinWatch};

/// How long a server the grader is done with gets to leave by itself on SIGTERM before it
/// is killed ([`ServerProc::finish`]). Whether it exits on SIGTERM is judged by its own
/// check, with the configured time; this only spares a well-behaved server a SIGKILL.
const FINISH_GRACE: Duration = Duration::from_millis(200);

/// Output kept for the report, and how much there was in all.
#[derive(Debug, Default)]
pub struct Captured {
    pub kept: Vec<u8>,
    pub total: u64,
    /// Drain requests answered: everything in the pipe when request n was made is in `kept`
    /// once `drained >= n`.
    drained: u64,
    /// The pipe reached its end (every writer gone).
    eof: bool,
}

/// The captured output and the reader's signal that it drained the pipe.
#[derive(Default)]
struct Output {
    captured: Mutex<Captured>,
    drained: Condvar,
}

/// A running server.
pub struct ServerProc {
    process: Process,
    pub pid: Pid,
    /// The port it was seen listening on (0 until then).
    pub port: u16,
    /// Where the grader connects to it.
    pub addr: SocketAddr,
    output: Arc<Output>,
    /// Asks the output reader to drain the pipe now (one byte per request).
    drain: OwnedFd,
    drain_requests: u64,
    /// The run's freezer group, when there are control groups.
    group: Option<crate::supervise::isolation::RunGroup>,
    /// Its threads (and its family's) found spinning.
    spin: SpinWatch,
    /// Why the grader stopped it, when it did ([`ServerProc::retire`]).
    retired: Option<String>,
}

/// Why a server is not serving.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartProblem {
    Exited(String),
    NotListening,
    /// It listens only where the grader cannot connect (another machine's address).
    Unreachable(SocketAddr),
    /// Only another process of its tree listens, on this port.
    OthersListen(u16),
    Spawn(String),
    /// The library cannot be put where the configured path says (worded).
    Library(String),
}

fn describe(st: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (st.code(), st.signal()) {
        (Some(c), _) => tr!("exited with status {c}", c = c),
        (_, Some(s)) => tr!(
            "was killed by {signal}",
            signal = Signal::try_from(s)
                .map(|s| s.as_str())
                .unwrap_or(tr!("a signal"))
        ),
        _ => tr!("ended").into(),
    }
}

impl ServerProc {
    /// Starts `launch` with `args` appended.
    pub fn start(launch: &Launch, args: &[String], cap: usize) -> Result<Self, StartProblem> {
        let group = launch.sandbox.as_ref().and_then(|sb| sb.run_group());
        let program = OsStr::from_bytes(launch.program.as_bytes());
        let mut cmd = Command::new(program);
        for a in launch.argv.iter().skip(1) {
            cmd.arg(OsStr::from_bytes(a.as_bytes()));
        }
        cmd.args(args);
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
        let output = Arc::new(Output::default());
        let (drain_r, drain_w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
            .map_err(|e| StartProblem::Spawn(e.to_string()))?;
        let sink = output.clone();
        std::thread::spawn(move || read_output(r, drain_r, &sink, cap));
        Ok(ServerProc {
            process,
            pid,
            port: 0,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            output,
            drain: drain_w,
            drain_requests: 0,
            group,
            spin: SpinWatch::default(),
            retired: None,
        })
    }

    /// Waits until the server listens on a TCP port (the one of `prefer` when it listens on
    /// several), or exits, or the deadline passes. The process started must hold the
    /// listening socket itself (its children may share it): a port taken only by a child
    /// (squatting on it while the server cannot bind) is not the server's. Nothing connects
    /// to it before: a server serving one client at a time would take a probe for its
    /// client.
    pub fn await_listening(
        &mut self,
        prefer: Option<u16>,
        deadline: Instant,
    ) -> Result<SocketAddr, StartProblem> {
        loop {
            if let Some(st) = self.exited() {
                return Err(StartProblem::Exited(describe(st)));
            }
            let found = listen::listening(&[self.pid]);
            let reachable: Vec<(SocketAddr, SocketAddr)> = found
                .iter()
                .filter_map(|a| listen::reach(*a).map(|r| (*a, r)))
                .collect();
            let chosen = reachable
                .iter()
                .find(|(a, _)| Some(a.port()) == prefer)
                .or(reachable.first());
            if let Some((at, to)) = chosen {
                self.port = at.port();
                self.addr = *to;
                return Ok(*at);
            }
            if let Some(a) = found.first() {
                return Err(StartProblem::Unreachable(*a));
            }
            if Instant::now() >= deadline {
                let mut tree = vec![self.pid];
                tree.extend(
                    procfs::descendants(self.pid)
                        .iter()
                        .map(|p| Pid::from_raw(p.pid)),
                );
                return Err(match listen::listening(&tree).first() {
                    Some(a) => StartProblem::OthersListen(a.port()),
                    None => StartProblem::NotListening,
                });
            }
            self.block(deadline, Duration::from_millis(2));
        }
    }

    /// Whether the server prints `line`: looked for until it is there, or the server has
    /// gone quiet (every thread blocked, as in `accept`, on two looks in a row) with
    /// everything it wrote read, or it exits, or the deadline passes.
    pub fn await_line(&mut self, line: &str, deadline: Instant) -> bool {
        let mut quiet_looks = 0;
        loop {
            if self.printed(line) {
                return true;
            }
            let quiet = procfs::threads(self.pid).is_none_or(|t| t.all_idle && !t.any_exiting);
            quiet_looks = if quiet { quiet_looks + 1 } else { 0 };
            if quiet_looks >= 2 || self.exited().is_some() || Instant::now() >= deadline {
                self.sync_output(deadline);
                return self.printed(line);
            }
            self.block(deadline, Duration::from_millis(2));
        }
    }

    /// Whether the output so far holds `line`.
    fn printed(&self, line: &str) -> bool {
        let c = self
            .output
            .captured
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        c.kept
            .windows(line.len().max(1))
            .any(|w| w == line.as_bytes())
    }

    /// Waits until the output reader has taken everything written to the pipe so far.
    fn sync_output(&mut self, deadline: Instant) {
        self.drain_requests += 1;
        if nix::unistd::write(self.drain.as_fd(), &[1u8]).is_err() {
            return;
        }
        let want = self.drain_requests;
        let mut c = self
            .output
            .captured
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        while c.drained < want && !c.eof {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            c = match self.output.drained.wait_timeout(c, left) {
                Ok((c, _)) => c,
                Err(e) => e.into_inner().0,
            };
        }
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
        crate::supervise::cleanup::reap_adopted(self.pid);
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

    /// A look at the CPU time of its threads and its family's, for [`Self::spins_since`].
    pub fn cpu_look(&self) -> CpuLook {
        CpuLook::take(self.pid)
    }

    /// Whether a thread of it or of its family, not found spinning before, has used
    /// [`spin::SPIN_CPU`] since `since` (a look taken when nothing more was asked of it).
    pub fn spins_since(&mut self, since: &CpuLook) -> bool {
        !self.spin.new_spinners(self.pid, since).is_empty()
    }

    /// Whether a thread of it was ever found spinning.
    pub fn spinning(&self) -> bool {
        self.spin.any()
    }

    /// Kills it and its family now, for the reason `why` (a check has judged what they
    /// did; a spinner left running would burn the CPU limit and change later verdicts).
    pub fn retire(&mut self, why: String, deadline: Instant) {
        let family: Vec<i32> = spin::family_pids(self.pid)
            .iter()
            .map(|p| p.as_raw())
            .collect();
        crate::supervise::cleanup::stop_kill_and_await(&family, deadline);
        if let Some(g) = &self.group {
            g.kill_all(deadline);
        }
        let _ = self.process.terminate(Duration::ZERO);
        crate::supervise::cleanup::reap_adopted(self.pid);
        self.retired = Some(why);
    }

    /// Why the grader stopped it, when it did.
    pub fn retired(&self) -> Option<&str> {
        self.retired.as_deref()
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
        let c = self
            .output
            .captured
            .lock()
            .unwrap_or_else(|e| e.into_inner());
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

/// The output reader: keeps up to `cap` bytes of `pipe`; a byte on `drain` asks it to take
/// everything the pipe holds right now and say so ([`Output::drained`]).
fn read_output(pipe: OwnedFd, drain: OwnedFd, out: &Output, cap: usize) {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    let _ = nix::fcntl::fcntl(
        &pipe,
        nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK),
    );
    let mut pipe = std::fs::File::from(pipe);
    let mut buf = [0u8; 8192];
    let mut take = |pipe: &mut std::fs::File| -> bool {
        loop {
            match pipe.read(&mut buf) {
                Ok(0) => return false,
                Ok(n) => {
                    let mut c = out.captured.lock().unwrap_or_else(|e| e.into_inner());
                    c.total += n as u64;
                    let room = cap.saturating_sub(c.kept.len());
                    c.kept.extend_from_slice(&buf[..n.min(room)]);
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => return true,
            }
        }
    };
    let mut open = true;
    while open {
        let mut fds = [
            PollFd::new(pipe.as_fd(), PollFlags::POLLIN),
            PollFd::new(drain.as_fd(), PollFlags::POLLIN),
        ];
        if poll(&mut fds, PollTimeout::NONE).is_err() {
            continue;
        }
        let (data, asked) = (fds[0].any().unwrap_or(false), fds[1].any().unwrap_or(false));
        if data {
            open = take(&mut pipe);
        }
        if asked {
            let mut b = [0u8; 64];
            let n = nix::unistd::read(drain.as_fd(), &mut b).unwrap_or(0);
            if n == 0 {
                // The server handle is gone: nobody will ask again.
                break;
            }
            open = take(&mut pipe) && open;
            let mut c = out.captured.lock().unwrap_or_else(|e| e.into_inner());
            c.drained += n as u64;
            out.drained.notify_all();
        }
    }
    let mut c = out.captured.lock().unwrap_or_else(|e| e.into_inner());
    c.eof = true;
    out.drained.notify_all();
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::path::Path;

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
        let args = [port.to_string(), dir.path().display().to_string()];
        let mut s = ServerProc::start(&launch, &args, 4096).unwrap();
        let at = s
            .await_listening(Some(port), Instant::now() + Duration::from_secs(10))
            .unwrap();
        assert_eq!(at.port(), port);
        assert!(s.await_line(
            &format!("listening on 127.0.0.1:{port}"),
            Instant::now() + Duration::from_secs(10)
        ));
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
