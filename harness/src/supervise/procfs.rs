//! Readers for `/proc`: the only window the grader has on what a submission's processes are
//! doing (state, system call, signal masks, bytes written, CPU time) without ptrace, which
//! would change the very signal behaviour being graded.

use crate::tr;
use std::collections::BTreeMap;
use std::fs;
use std::io;

use nix::unistd::Pid;

/// The scheduler state letter from `/proc/<pid>/status`, grouped the way the grader needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunState {
    /// `R`: on a CPU or ready to run.
    Running,
    /// `S`: interruptible sleep.
    Sleeping,
    /// `D`: uninterruptible sleep (disk, page fault).
    DiskSleep,
    /// `T` or `t`: stopped by a signal or a tracer.
    Stopped,
    /// `Z` or `X`: exited, not yet reaped.
    Zombie,
    /// Anything else (`I`, `P`, `W`, ...).
    Other(char),
}

impl RunState {
    fn from_letter(c: char) -> Self {
        match c {
            'R' => RunState::Running,
            'S' => RunState::Sleeping,
            'D' => RunState::DiskSleep,
            'T' | 't' => RunState::Stopped,
            'Z' | 'X' => RunState::Zombie,
            other => RunState::Other(other),
        }
    }

    /// The letter `ps` would show, for reports.
    pub fn letter(self) -> char {
        match self {
            RunState::Running => 'R',
            RunState::Sleeping => 'S',
            RunState::DiskSleep => 'D',
            RunState::Stopped => 'T',
            RunState::Zombie => 'Z',
            RunState::Other(c) => c,
        }
    }

    /// A short word for reports.
    pub fn describe(self) -> &'static str {
        match self {
            RunState::Running => tr!("running"),
            RunState::Sleeping => tr!("sleeping"),
            RunState::DiskSleep => tr!("in uninterruptible sleep"),
            RunState::Stopped => tr!("stopped"),
            RunState::Zombie => tr!("exited, not reaped (zombie)"),
            RunState::Other(_) => tr!("in an unusual state"),
        }
    }
}

/// The fields of `/proc/<pid>/status` the grader reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub state: RunState,
    pub ppid: i32,
    /// Signals pending for this thread.
    pub sig_pnd: u64,
    /// Signals pending for the whole process.
    pub shd_pnd: u64,
    pub sig_blk: u64,
    pub sig_ign: u64,
    pub sig_cgt: u64,
    pub voluntary_switches: u64,
}

impl Status {
    /// Pending signals that are not blocked: they will be acted on as soon as it runs.
    pub fn deliverable_pending(&self) -> u64 {
        (self.sig_pnd | self.shd_pnd) & !self.sig_blk
    }
}

/// The bit of signal `sig` in a `/proc` signal mask.
pub fn sig_bit(sig: i32) -> u64 {
    1u64 << (sig - 1)
}

/// What a process does with a signal, read from its masks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    Ignored,
    Caught,
    Default,
}

impl Status {
    pub fn disposition(&self, sig: i32) -> Disposition {
        let bit = sig_bit(sig);
        if self.sig_ign & bit != 0 {
            Disposition::Ignored
        } else if self.sig_cgt & bit != 0 {
            Disposition::Caught
        } else {
            Disposition::Default
        }
    }
}

fn hex_mask(v: &str) -> u64 {
    u64::from_str_radix(v.trim(), 16).unwrap_or(0)
}

/// Reads `/proc/<pid>/status`; an error means the process is gone (and reaped).
pub fn status(pid: Pid) -> io::Result<Status> {
    let text = fs::read_to_string(format!("/proc/{pid}/status"))?;
    let mut st = Status {
        state: RunState::Other('?'),
        ppid: 0,
        sig_pnd: 0,
        shd_pnd: 0,
        sig_blk: 0,
        sig_ign: 0,
        sig_cgt: 0,
        voluntary_switches: 0,
    };
    for line in text.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        match key {
            "State" => {
                st.state = RunState::from_letter(value.chars().next().unwrap_or('?'));
            }
            "PPid" => st.ppid = value.parse().unwrap_or(0),
            "SigPnd" => st.sig_pnd = hex_mask(value),
            "ShdPnd" => st.shd_pnd = hex_mask(value),
            "SigBlk" => st.sig_blk = hex_mask(value),
            "SigIgn" => st.sig_ign = hex_mask(value),
            "SigCgt" => st.sig_cgt = hex_mask(value),
            "voluntary_ctxt_switches" => st.voluntary_switches = value.parse().unwrap_or(0),
            _ => {}
        }
    }
    Ok(st)
}

/// The fields of `/proc/<pid>/stat` needed to walk process trees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stat {
    pub pid: i32,
    pub comm: String,
    pub state: RunState,
    pub ppid: i32,
    pub pgrp: i32,
    pub session: i32,
}

/// Parses `/proc/<pid>/stat`. The command name may hold spaces and parentheses, so the
/// fields are found after the *last* `)`.
pub fn stat(pid: Pid) -> io::Result<Stat> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat"))?;
    parse_stat(&text).ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "bad stat"))
}

fn parse_stat(text: &str) -> Option<Stat> {
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let pid = text[..open].trim().parse().ok()?;
    let comm = text.get(open + 1..close)?.to_string();
    let mut rest = text.get(close + 1..)?.split_whitespace();
    let state = RunState::from_letter(rest.next()?.chars().next()?);
    let ppid = rest.next()?.parse().ok()?;
    let pgrp = rest.next()?.parse().ok()?;
    let session = rest.next()?.parse().ok()?;
    Some(Stat {
        pid,
        comm,
        state,
        ppid,
        pgrp,
        session,
    })
}

/// Every process on the machine (thread-group leaders only).
pub fn all_processes() -> Vec<Stat> {
    let Ok(dir) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(|pid| stat(Pid::from_raw(pid)).ok())
        .collect()
}

/// All descendants of `root` (not `root` itself), parents before children. Orphans that a
/// child subreaper inherited are its children, so they are found too.
pub fn descendants(root: Pid) -> Vec<Stat> {
    let procs = all_processes();
    let mut out: Vec<Stat> = Vec::new();
    let mut frontier = vec![root.as_raw()];
    while let Some(parent) = frontier.pop() {
        for p in procs
            .iter()
            .filter(|p| p.ppid == parent && p.pid != root.as_raw())
        {
            if !out.iter().any(|o| o.pid == p.pid) {
                frontier.push(p.pid);
                out.push(p.clone());
            }
        }
    }
    out
}

/// The processes of `root`'s family (not `root` itself): its descendants, and the
/// processes of the session it leads that left its tree (a double fork's grandchildren,
/// which the grader adopts as their subreaper). Parents before children.
pub fn family(root: Pid) -> Vec<Stat> {
    let mut out = descendants(root);
    for p in all_processes() {
        if p.session == root.as_raw()
            && p.pid != root.as_raw()
            && !out.iter().any(|o| o.pid == p.pid)
        {
            out.push(p);
        }
    }
    out
}

/// Direct children of `pid`, from `/proc/<pid>/task/*/children` (cheaper than a scan).
pub fn children(pid: Pid) -> Vec<Pid> {
    let mut out = Vec::new();
    let Ok(tasks) = fs::read_dir(format!("/proc/{pid}/task")) else {
        return out;
    };
    for task in tasks.filter_map(|t| t.ok()) {
        let Ok(text) = fs::read_to_string(task.path().join("children")) else {
            continue;
        };
        for word in text.split_whitespace() {
            if let Ok(child) = word.parse::<i32>() {
                let child = Pid::from_raw(child);
                if !out.contains(&child) {
                    out.push(child);
                }
            }
        }
    }
    out
}

/// The system call a sleeping process is blocked in: number and first six arguments.
/// `None` when it is running or the file cannot be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Syscall {
    pub nr: i64,
    pub args: [u64; 6],
}

pub fn syscall(pid: Pid) -> Option<Syscall> {
    parse_syscall(&fs::read_to_string(format!("/proc/{pid}/syscall")).ok()?)
}

/// The call thread `tid` of `pid` is blocked in (see [`syscall`]).
pub fn syscall_of_task(pid: Pid, tid: &str) -> Option<Syscall> {
    parse_syscall(&fs::read_to_string(format!("/proc/{pid}/task/{tid}/syscall")).ok()?)
}

/// A thread of a process other than its main one, as it stands now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OtherThread {
    pub state: RunState,
    /// The call it is blocked in, when it sleeps.
    pub syscall: Option<Syscall>,
}

/// The threads of `pid` other than the main one (a printer thread, a Queue's feeder, a
/// daemon): a process whose main thread waits may still be at work in them.
pub fn other_threads(pid: Pid) -> Vec<OtherThread> {
    let Ok(tasks) = fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    let main = pid.as_raw().to_string();
    let mut out = Vec::new();
    for task in tasks.filter_map(|t| t.ok()) {
        if task.file_name().to_str() == Some(main.as_str()) {
            continue;
        }
        let Ok(text) = fs::read_to_string(task.path().join("stat")) else {
            continue;
        };
        let Some((state, _)) = parse_state_and_flags(&text) else {
            continue;
        };
        let syscall = (state == RunState::Sleeping)
            .then(|| fs::read_to_string(task.path().join("syscall")).ok())
            .flatten()
            .and_then(|t| parse_syscall(&t));
        out.push(OtherThread { state, syscall });
    }
    out
}

fn parse_syscall(text: &str) -> Option<Syscall> {
    let mut words = text.split_whitespace();
    let nr: i64 = words.next()?.parse().ok()?;
    let mut args = [0u64; 6];
    for a in args.iter_mut() {
        let w = words.next()?;
        *a = u64::from_str_radix(w.trim_start_matches("0x"), 16).ok()?;
    }
    Some(Syscall { nr, args })
}

/// A counter the kernel keeps per thread (bytes written), summed over every thread of one
/// process ever seen. A thread's own file vanishes with it, and the process-wide one
/// (`/proc/<pid>/io`) adds dead threads and reaped children into one sum that cannot be split:
/// remembering each thread's last value by tid keeps a thread that is gone on its own
/// process's side, so the total only goes up. What a thread writes after the last look
/// before it exits is not seen here (it is in the process-wide count only).
#[derive(Debug, Clone, Default)]
pub struct ThreadTally {
    /// The last value seen of each thread, live or gone, by tid.
    last: BTreeMap<i32, u64>,
    /// What threads had reached whose tid a newer thread of the process took.
    retired: u64,
}

impl ThreadTally {
    /// Notes `value` for thread `tid`. A live thread's counter never goes down, so a lower
    /// value than last time is a new thread with the tid of one that is gone.
    pub fn note(&mut self, tid: i32, value: u64) {
        let last = self.last.entry(tid).or_insert(0);
        if value < *last {
            self.retired += *last;
        }
        *last = value;
    }

    /// The sum over every thread seen: never less than at any earlier call.
    pub fn total(&self) -> u64 {
        self.retired + self.last.values().sum::<u64>()
    }
}

/// Notes a per-thread counter of every live thread of `pid` (`read` parses one thread's
/// `file`) in `tally`; its total, or `None` once the process is gone (the tally keeps it).
fn tally_tasks(
    pid: Pid,
    file: &str,
    read: impl Fn(&str) -> Option<u64>,
    tally: &mut ThreadTally,
) -> Option<u64> {
    let tasks = fs::read_dir(format!("/proc/{pid}/task")).ok()?;
    let mut any = false;
    for task in tasks.filter_map(|t| t.ok()) {
        let Some(tid) = task.file_name().to_str().and_then(|t| t.parse().ok()) else {
            continue;
        };
        if let Some(v) = fs::read_to_string(task.path().join(file))
            .ok()
            .and_then(|t| read(&t))
        {
            tally.note(tid, v);
            any = true;
        }
    }
    any.then(|| tally.total())
}

/// Sums a per-thread counter over the live threads of `pid`, at this instant: it goes down
/// when a thread exits. Per-thread files, because the process-wide ones also count reaped
/// children.
fn sum_over_tasks(pid: Pid, file: &str, read: impl Fn(&str) -> Option<u64>) -> Option<u64> {
    tally_tasks(pid, file, read, &mut ThreadTally::default())
}

fn wchar_field(io: &str) -> Option<u64> {
    io.lines()
        .find_map(|l| l.strip_prefix("wchar:"))
        .and_then(|v| v.trim().parse().ok())
}

/// Bytes written (`wchar`) by the process's live threads now. It goes down when a thread
/// that wrote exits: enough to tell that something changed, not to count bytes; for that,
/// [`tally_wchar`].
pub fn own_wchar(pid: Pid) -> Option<u64> {
    sum_over_tasks(pid, "io", wchar_field)
}

/// Bytes written (`wchar`) by the process's own threads, live or gone, as `tally` has seen
/// them: it never goes down. `None` once the process is gone.
pub fn tally_wchar(pid: Pid, tally: &mut ThreadTally) -> Option<u64> {
    tally_tasks(pid, "io", wchar_field, tally)
}

/// Bytes written by the whole process (`/proc/<pid>/io`): its live threads, its dead ones,
/// and every child it has reaped (with what they had reaped). It never goes down. Minus
/// [`tally_wchar`] read after it, it is what its reaped children wrote, plus what its
/// threads wrote after the tally's last look before they exited.
pub fn whole_wchar(pid: Pid) -> Option<u64> {
    wchar_field(&fs::read_to_string(format!("/proc/{pid}/io")).ok()?)
}

/// CPU time used by the process's live threads, in nanoseconds (`schedstat`). It goes down
/// when a thread exits: a difference of two readings must saturate.
pub fn cpu_ns(pid: Pid) -> Option<u64> {
    sum_over_tasks(pid, "schedstat", |t| {
        t.split_whitespace().next()?.parse().ok()
    })
}

/// The CPU time of each live thread of `pid` (by tid), in nanoseconds (`schedstat`).
pub fn thread_cpu_ns(pid: Pid) -> Vec<(i32, u64)> {
    let Ok(tasks) = fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    tasks
        .filter_map(|t| t.ok())
        .filter_map(|task| {
            let tid = task.file_name().to_str()?.parse().ok()?;
            let text = fs::read_to_string(task.path().join("schedstat")).ok()?;
            Some((tid, text.split_whitespace().next()?.parse().ok()?))
        })
        .collect()
}

/// How the threads of a process stand, from `/proc/<pid>/task/*/stat`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Threads {
    /// Every thread is blocked in interruptible sleep (`S`) or stopped (`T`): nothing
    /// changes until something from outside happens.
    pub all_idle: bool,
    /// Some thread is on its way out (`PF_EXITING`): the process is dying, even if its
    /// sockets are already closed and it is not a zombie yet.
    pub any_exiting: bool,
}

/// The `PF_EXITING` bit of the `flags` field (9) of `stat`.
const PF_EXITING: u64 = 0x4;

/// [`Threads`] of `pid`; `None` once it is gone.
pub fn threads(pid: Pid) -> Option<Threads> {
    let tasks = fs::read_dir(format!("/proc/{pid}/task")).ok()?;
    let mut t = Threads {
        all_idle: true,
        any_exiting: false,
    };
    let mut any = false;
    for task in tasks.filter_map(|t| t.ok()) {
        let Ok(text) = fs::read_to_string(task.path().join("stat")) else {
            continue;
        };
        let Some((state, flags)) = parse_state_and_flags(&text) else {
            continue;
        };
        any = true;
        t.all_idle &= matches!(state, RunState::Sleeping | RunState::Stopped);
        t.any_exiting |= flags & PF_EXITING != 0;
    }
    any.then_some(t)
}

fn parse_state_and_flags(text: &str) -> Option<(RunState, u64)> {
    let mut rest = text.get(text.rfind(')')? + 1..)?.split_whitespace();
    let state = RunState::from_letter(rest.next()?.chars().next()?);
    // After the state: ppid, pgrp, session, tty_nr, tpgid, then flags.
    let flags = rest.nth(5)?.parse().ok()?;
    Some((state, flags))
}

/// Whether `pid` holds the file `file` (its device and inode) open: a writer that has not
/// closed it may still have bytes of it in its own buffers.
pub fn holds_open(pid: Pid, file: &fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    let Ok(fds) = fs::read_dir(format!("/proc/{pid}/fd")) else {
        return false;
    };
    fds.filter_map(|e| e.ok())
        .filter_map(|e| fs::metadata(e.path()).ok())
        .any(|m| m.dev() == file.dev() && m.ino() == file.ino())
}

/// How many threads `pid` has now; `None` once it is gone.
pub fn task_count(pid: Pid) -> Option<usize> {
    Some(fs::read_dir(format!("/proc/{pid}/task")).ok()?.count())
}

/// The command line, for naming leftover processes in reports.
pub fn cmdline(pid: Pid) -> Option<Vec<u8>> {
    let raw = fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let mut v: Vec<u8> = raw
        .split(|b| *b == 0)
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(&b' ');
    v.truncate(200);
    Some(v)
}

/// The exit code field of a zombie's `/proc/<pid>/stat` (field 52), as a wait status.
pub fn zombie_exit_code(pid: Pid) -> Option<i32> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let close = text.rfind(')')?;
    // Field 3 is the first after ')', so field 52 is index 49 of the rest.
    text.get(close + 1..)?
        .split_whitespace()
        .nth(49)?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_with_awkward_command_name() {
        let s = parse_stat("42 (a) b) (c) S 1 42 42 0 -1").unwrap();
        assert_eq!(s.pid, 42);
        assert_eq!(s.comm, "a) b) (c");
        assert_eq!(s.state, RunState::Sleeping);
        assert_eq!(s.ppid, 1);
        assert_eq!(s.session, 42);
    }

    #[test]
    fn own_status_is_readable() {
        let st = status(nix::unistd::getpid()).unwrap();
        assert!(st.ppid > 0);
        assert!(own_wchar(nix::unistd::getpid()).is_some());
        assert!(cpu_ns(nix::unistd::getpid()).unwrap() > 0);
    }

    #[test]
    fn a_tally_keeps_what_a_gone_thread_wrote() {
        let mut t = ThreadTally::default();
        t.note(10, 100);
        t.note(11, 50);
        assert_eq!(t.total(), 150);
        // Thread 11 has exited: only 10 is read, and it wrote 5 more.
        t.note(10, 105);
        assert_eq!(t.total(), 155);
        // A new thread took tid 11: its count starts again from zero.
        t.note(11, 7);
        assert_eq!(t.total(), 162);
    }

    #[test]
    fn a_thread_that_exits_does_not_make_own_go_down() {
        const WRITTEN: u64 = 4 << 20;
        let me = nix::unistd::getpid();
        let mut tally = ThreadTally::default();
        let before = tally_wchar(me, &mut tally).unwrap();
        let (written, exit) = (std::sync::mpsc::channel(), std::sync::mpsc::channel::<()>());
        let writer = std::thread::spawn(move || {
            let mut null = fs::File::create("/dev/null").unwrap();
            for _ in 0..WRITTEN >> 16 {
                io::Write::write_all(&mut null, &[0u8; 1 << 16]).unwrap();
            }
            written.0.send(nix::unistd::gettid().as_raw()).unwrap();
            let _ = exit.1.recv();
        });
        let tid = written.1.recv().unwrap();
        let with_writer = tally_wchar(me, &mut tally).unwrap();
        assert!(with_writer >= before + WRITTEN);
        exit.0.send(()).unwrap();
        writer.join().unwrap();
        // The kernel removes the thread from `task/` a moment after `join` returns.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while fs::metadata(format!("/proc/{me}/task/{tid}")).is_ok() {
            assert!(
                std::time::Instant::now() < deadline,
                "thread {tid} never left"
            );
            std::thread::yield_now();
        }
        let after = tally_wchar(me, &mut tally).unwrap();
        let live = own_wchar(me).unwrap();
        assert!(
            after >= with_writer,
            "own went down: {with_writer} then {after}"
        );
        // The live threads' sum has lost the writer's bytes (other tests' threads may
        // write a little in between); the tally has not.
        assert!(
            after >= live + WRITTEN / 2,
            "tally {after}, live sum {live}"
        );
    }

    #[test]
    fn state_and_flags_of_an_exiting_thread() {
        let (state, flags) = parse_state_and_flags("7 (py (x)) R 1 7 7 0 -1 4194628 0 0").unwrap();
        assert_eq!(state, RunState::Running);
        assert_ne!(flags & PF_EXITING, 0);
        let me = threads(nix::unistd::getpid()).unwrap();
        assert!(!me.all_idle, "this thread is running");
        assert!(!me.any_exiting);
    }

    #[test]
    fn disposition_from_masks() {
        let mut st = status(nix::unistd::getpid()).unwrap();
        st.sig_ign = sig_bit(libc::SIGINT);
        st.sig_cgt = sig_bit(libc::SIGUSR1);
        assert_eq!(st.disposition(libc::SIGINT), Disposition::Ignored);
        assert_eq!(st.disposition(libc::SIGUSR1), Disposition::Caught);
        assert_eq!(st.disposition(libc::SIGQUIT), Disposition::Default);
    }
}
