//! Can a group of processes still move by themselves? When every thread of them sleeps in
//! a call that only an outside event ends (a read of a socket or a terminal, `accept`,
//! `pause`, an untimed `poll` or `wait`), and nothing is on its way to them, nothing more
//! will happen: a grader waiting for them to answer or prompt can judge now instead of
//! waiting out its deadline. This is the file server's counterpart of the bus's "at rest"
//! (see `observe`), and like it, it is read from `/proc`, never from a quiet gap.
//!
//! "Nothing on its way" has three parts, two of them here: no signal pending, and no typed
//! line still in the terminal's queue (a thread asleep in a read of its terminal counts only
//! once a read of it has returned since the grader typed: the kernel hands typed bytes over
//! after the write returns, from a worker that a busy machine can hold back, so a thread
//! that merely ran since, finishing its prompt, may be asleep before they arrive). The third, nothing queued in a socket, is the caller's (`net::listen`).
//!
//! A single look can catch a thread between two calls; a [`Stillness`] therefore wants two
//! looks in a row at rest, with no thread of them having used any CPU time in between.

use std::collections::BTreeMap;
use std::fs;

use nix::unistd::Pid;

use super::procfs::{self, RunState, Syscall};
use super::waiting::{self, Wait};

/// The CPU time of every thread looked at, by tid: two equal looks mean none of them ran
/// in between. Taken before typing, also how many reads each thread had completed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Look {
    cpu: BTreeMap<i32, u64>,
    reads: BTreeMap<i32, u64>,
}

/// Whom a look is about: the submission's processes (each must wait for an outside event)
/// and, optionally, the grader's own threads other than the caller's (its reference server:
/// each must be asleep, a timed wait included, and not run between two looks).
#[derive(Debug, Clone, Copy)]
pub struct Whom<'a> {
    pub programs: &'a [Pid],
    pub grader_threads: bool,
}

/// One thread's `stat` state and, when it sleeps, its call.
fn thread_state(pid: Pid, tid: &str) -> Option<(RunState, Option<Syscall>)> {
    let base = format!("/proc/{pid}/task/{tid}");
    let stat = fs::read_to_string(format!("{base}/stat")).ok()?;
    let state = stat
        .get(stat.rfind(')')? + 1..)?
        .split_whitespace()
        .next()?
        .chars()
        .next()?;
    let state = match state {
        'S' => RunState::Sleeping,
        'T' | 't' => RunState::Stopped,
        'Z' | 'X' => RunState::Zombie,
        'R' => RunState::Running,
        'D' => RunState::DiskSleep,
        c => RunState::Other(c),
    };
    let call = (state == RunState::Sleeping)
        .then(|| procfs::syscall_of_task(pid, tid))
        .flatten();
    Some((state, call))
}

fn thread_cpu(pid: Pid, tid: &str) -> Option<u64> {
    let text = fs::read_to_string(format!("/proc/{pid}/task/{tid}/schedstat")).ok()?;
    text.split_whitespace().next()?.parse().ok()
}

/// How many read calls of the thread have returned (`syscr`); `None` where `/proc` does
/// not show it (a process of another user, to a grader that is not root).
fn thread_reads(pid: Pid, tid: &str) -> Option<u64> {
    let text = fs::read_to_string(format!("/proc/{pid}/task/{tid}/io")).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("syscr:"))?
        .trim()
        .parse()
        .ok()
}

/// Whether `call` (of `pid`) reads from a terminal.
fn reads_terminal(pid: Pid, call: &Syscall) -> bool {
    if call.nr != libc::SYS_read && call.nr != libc::SYS_readv {
        return false;
    }
    std::fs::read_link(format!("/proc/{pid}/fd/{}", call.args[0] as i32))
        .is_ok_and(|t| t.starts_with("/dev/pts") || t.starts_with("/dev/tty"))
}

/// Looks at `whom` now: `None` when one of them can still move by itself (runs, sleeps in a
/// timed wait or outside a wait, has a signal pending, or reads its terminal without a read
/// having returned since `typed`, a look taken just before the grader last typed).
pub fn look(whom: Whom, typed: Option<&Look>) -> Option<Look> {
    let mut cpu = BTreeMap::new();
    for &pid in whom.programs {
        match procfs::status(pid) {
            Err(_) => continue,
            Ok(s) if s.state == RunState::Zombie => continue,
            Ok(s) if s.deliverable_pending() != 0 => return None,
            Ok(_) => {}
        }
        for tid in tasks(pid) {
            let Some((state, call)) = thread_state(pid, &tid) else {
                continue;
            };
            match state {
                RunState::Zombie | RunState::Stopped => continue,
                RunState::Sleeping => {}
                _ => return None,
            }
            let call = call?;
            if waiting::classify_for(pid, &call) != Wait::Indefinite {
                return None;
            }
            let ns = thread_cpu(pid, &tid)?;
            let tid_n: i32 = tid.parse().ok()?;
            if reads_terminal(pid, &call)
                && !typed.is_none_or(|t| had_typed(t, pid, &tid, tid_n, ns))
            {
                return None;
            }
            cpu.insert(tid_n, ns);
        }
    }
    if whom.grader_threads {
        let me = nix::unistd::gettid();
        let own = nix::unistd::getpid();
        for tid in tasks(own) {
            if tid == me.as_raw().to_string() {
                continue;
            }
            let Some((state, call)) = thread_state(own, &tid) else {
                continue;
            };
            if state != RunState::Sleeping {
                return None;
            }
            if call.is_none_or(|c| waiting::classify(&c) == Wait::NotWaiting) {
                return None;
            }
            cpu.insert(-tid.parse::<i32>().ok()?, thread_cpu(own, &tid)?);
        }
    }
    Some(Look {
        cpu,
        reads: BTreeMap::new(),
    })
}

/// The CPU times and completed reads of `pids`' threads now, whatever they do: taken just
/// before typing, it tells later looks which thread has read since ([`look`]'s `typed`).
pub fn before_typing(pids: &[Pid]) -> Look {
    let mut look = Look::default();
    for &pid in pids {
        for tid in tasks(pid) {
            let Ok(n) = tid.parse::<i32>() else { continue };
            if let Some(ns) = thread_cpu(pid, &tid) {
                look.cpu.insert(n, ns);
            }
            if let Some(reads) = thread_reads(pid, &tid) {
                look.reads.insert(n, reads);
            }
        }
    }
    look
}

/// Whether some thread of `pids` has had a read return since `typed` was taken (where reads
/// cannot be counted: has run since); a thread born since counts once it has read.
pub fn read_since(typed: &Look, pids: &[Pid]) -> bool {
    pids.iter().any(|&pid| {
        tasks(pid).iter().any(|tid| {
            let Ok(n) = tid.parse::<i32>() else {
                return false;
            };
            match (typed.reads.get(&n), thread_reads(pid, tid)) {
                (Some(before), Some(now)) => now != *before,
                (None, Some(now)) => now > 0,
                _ => thread_cpu(pid, tid).is_some_and(|ns| typed.cpu.get(&n) != Some(&ns)),
            }
        })
    })
}

/// Whether thread `tid` (of `pid`), asleep in a read of its terminal, has had what was
/// typed after `typed`: a read of it returned since (or, where reads cannot be counted, it
/// ran since). A thread born since had it.
fn had_typed(typed: &Look, pid: Pid, tid: &str, tid_n: i32, ns: u64) -> bool {
    match (typed.reads.get(&tid_n), thread_reads(pid, tid)) {
        (Some(before), Some(now)) => now != *before,
        _ => typed.cpu.get(&tid_n).is_none_or(|b| *b != ns),
    }
}

fn tasks(pid: Pid) -> Vec<String> {
    fs::read_dir(format!("/proc/{pid}/task"))
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter_map(|e| e.file_name().into_string().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// Two looks in a row at rest, with nothing queued for them at either and no thread of
/// them run in between: then they can no longer move.
#[derive(Debug, Default)]
pub struct Stillness {
    last: Option<Look>,
}

impl Stillness {
    /// Takes one more look (`queued`: something is on its way to them, in the caller's
    /// terms); true once they can no longer move.
    pub fn still(&mut self, whom: Whom, typed: Option<&Look>, queued: bool) -> bool {
        let now = if queued { None } else { look(whom, typed) };
        let still = matches!((&self.last, &now), (Some(a), Some(b)) if a == b);
        self.last = now;
        still
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn within(ms: u64, mut done: impl FnMut() -> bool) -> (bool, u32) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_millis(ms);
        let mut looks = 0;
        loop {
            looks += 1;
            if done() {
                return (true, looks);
            }
            if std::time::Instant::now() >= deadline {
                return (false, looks);
            }
            std::thread::yield_now();
        }
    }

    /// The submission's processes alone, none of the grader's threads.
    fn programs(p: &[Pid]) -> Whom<'_> {
        Whom {
            programs: p,
            grader_threads: false,
        }
    }

    /// A read that returns after the look taken before writing shows; none before.
    #[test]
    fn a_read_since_typing_shows_in_the_threads_counters() {
        use std::io::Write;
        let mut reader = std::process::Command::new("sh")
            .args(["-c", "read x; read y"])
            .stdin(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let pid = [Pid::from_raw(reader.id() as i32)];
        // Asleep in its first read before the look is taken: that read has not returned.
        let mut s = Stillness::default();
        assert!(within(5000, || s.still(programs(&pid), None, false)).0);
        let before = before_typing(&pid);
        assert!(!read_since(&before, &pid), "nothing was written yet");
        let mut stdin = reader.stdin.take().unwrap();
        stdin.write_all(b"one\n").unwrap();
        let (read, _) = within(5000, || read_since(&before, &pid));
        assert!(read, "the read of the line written never showed");
        drop(stdin);
        let _ = reader.wait();
    }

    /// A child blocked reading a pipe nobody writes to can no longer move; one in a timed
    /// sleep can.
    #[test]
    fn a_reader_of_an_empty_pipe_is_still_a_sleeper_is_not() {
        let mut reader = std::process::Command::new("sh")
            .args(["-c", "read x"])
            .stdin(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut sleeper = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .unwrap();
        let pid = |c: &std::process::Child| Pid::from_raw(c.id() as i32);
        let r = [pid(&reader)];
        let mut s = Stillness::default();
        let (still, _) = within(5000, || s.still(programs(&r), None, false));
        assert!(still, "the reader of an empty pipe was never found still");
        let mut s = Stillness::default();
        assert!(
            !s.still(programs(&r), None, true),
            "something queued: not still"
        );
        let p = [pid(&sleeper)];
        let mut s = Stillness::default();
        let (still, looks) = within(100, || s.still(programs(&p), None, false));
        assert!(!still && looks > 2, "a timed sleep is not still");
        for c in [&mut reader, &mut sleeper] {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// A thread that ran since the grader typed but whose reads have not returned since has
    /// not had what was typed (it may be finishing its prompt while the kernel's worker,
    /// held back by a busy machine, has not handed the bytes over): a client taken for
    /// stuck on Ctrl-D under load in CI.
    #[test]
    fn a_thread_has_what_was_typed_once_a_read_returned_not_once_it_ran() {
        use std::sync::mpsc::channel;
        // A thread of ours that reads a file when told: this thread's own looks at /proc
        // are reads of its own, so the one looked at must be another.
        let (go, told) = channel::<()>();
        let (said, done) = channel::<i32>();
        let worker = std::thread::spawn(move || {
            said.send(nix::unistd::gettid().as_raw()).unwrap();
            while told.recv().is_ok() {
                std::fs::read("/proc/self/stat").unwrap();
                said.send(0).unwrap();
            }
        });
        let pid = nix::unistd::getpid();
        let tid_n = done.recv().unwrap();
        let tid = tid_n.to_string();
        let typed = before_typing(&[pid]);
        let before = *typed
            .reads
            .get(&tid_n)
            .expect("the thread's reads are counted");
        let ran = typed.cpu.get(&tid_n).unwrap() + 1;
        assert!(!had_typed(&typed, pid, &tid, tid_n, ran), "ran, never read");
        go.send(()).unwrap();
        done.recv().unwrap();
        assert!(thread_reads(pid, &tid).unwrap() > before);
        assert!(had_typed(&typed, pid, &tid, tid_n, ran), "a read returned");
        let uncounted = Look {
            cpu: typed.cpu.clone(),
            reads: BTreeMap::new(),
        };
        assert!(
            had_typed(&uncounted, pid, &tid, tid_n, ran),
            "ran, reads uncounted"
        );
        let ns = *typed.cpu.get(&tid_n).unwrap();
        assert!(!had_typed(&uncounted, pid, &tid, tid_n, ns), "never ran");
        drop(go);
        worker.join().unwrap();
    }
}
