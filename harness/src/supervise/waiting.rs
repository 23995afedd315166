//! Is a sleeping process *waiting for something* (a signal, a child, input), and would it
//! wake up by itself? Read from the system call it is blocked in. This is what makes
//! readiness event-driven: a process blocked indefinitely will not change until the grader
//! acts, one in a timed sleep may still be starting up.

use super::procfs::Syscall;

/// How a blocked system call ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    /// Only an outside event ends it (a signal, a child's exit, input).
    Indefinite,
    /// It may end by itself when a timeout runs out.
    Timed,
    /// Not a waiting call at all (the process is doing work).
    NotWaiting,
}

#[cfg(target_arch = "x86_64")]
mod nr {
    pub const PAUSE: i64 = libc::SYS_pause;
    pub const SELECT: i64 = libc::SYS_select;
    pub const POLL: i64 = libc::SYS_poll;
    pub const EPOLL_WAIT: i64 = libc::SYS_epoll_wait;
    pub const ACCEPT: i64 = libc::SYS_accept;
    pub const NANOSLEEP: i64 = libc::SYS_nanosleep;
}

#[cfg(not(target_arch = "x86_64"))]
mod nr {
    // These calls do not exist on this architecture; -100 never matches a real number.
    pub const PAUSE: i64 = -100;
    pub const SELECT: i64 = -101;
    pub const POLL: i64 = -102;
    pub const EPOLL_WAIT: i64 = -103;
    pub const ACCEPT: i64 = -104;
    pub const NANOSLEEP: i64 = libc::SYS_nanosleep;
}

/// Classifies the call process `pid` is blocked in. A read from a regular file is disk I/O,
/// not a wait: only reads from terminals, pipes and sockets count.
pub fn classify_for(pid: nix::unistd::Pid, call: &Syscall) -> Wait {
    let reads = call.nr == libc::SYS_read || call.nr == libc::SYS_readv;
    if reads {
        let target = std::fs::read_link(format!("/proc/{pid}/fd/{}", call.args[0] as i32));
        if let Ok(t) = target {
            let t = t.to_string_lossy();
            if t.starts_with('/') && !t.starts_with("/dev/") {
                return Wait::NotWaiting;
            }
        }
    }
    classify(call)
}

/// Classifies a blocked call from its number and arguments alone.
pub fn classify(call: &Syscall) -> Wait {
    let a = call.args;
    // A call with a timeout argument waits indefinitely when it has none.
    let unless_timed = |no_timeout: bool| {
        if no_timeout {
            Wait::Indefinite
        } else {
            Wait::Timed
        }
    };
    let null = |v: u64| v == 0;
    let negative_int = |v: u64| (v as i64 as i32) < 0;
    match call.nr {
        nr::PAUSE
        | libc::SYS_rt_sigsuspend
        | libc::SYS_wait4
        | libc::SYS_waitid
        | libc::SYS_read
        | libc::SYS_readv
        | nr::ACCEPT
        | libc::SYS_accept4
        | libc::SYS_recvfrom
        | libc::SYS_recvmsg
        | libc::SYS_msgrcv => Wait::Indefinite,
        // rt_sigtimedwait(set, info, timeout), ppoll(fds, n, timeout, sigmask)
        libc::SYS_rt_sigtimedwait | libc::SYS_ppoll => unless_timed(null(a[2])),
        // poll(fds, n, timeout_ms)
        nr::POLL => unless_timed(negative_int(a[2])),
        // epoll_wait(fd, events, max, timeout_ms)
        nr::EPOLL_WAIT | libc::SYS_epoll_pwait => unless_timed(negative_int(a[3])),
        // select(n, read, write, except, timeout)
        nr::SELECT | libc::SYS_pselect6 => unless_timed(null(a[4])),
        // futex(uaddr, op, val, timeout, ...): a wait with no timeout blocks until woken.
        libc::SYS_futex => unless_timed(null(a[3])),
        nr::NANOSLEEP | libc::SYS_clock_nanosleep | libc::SYS_epoll_pwait2 => Wait::Timed,
        _ => Wait::NotWaiting,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(nr: i64, args: [u64; 6]) -> Syscall {
        Syscall { nr, args }
    }

    #[test]
    fn waits_are_classified() {
        assert_eq!(classify(&call(libc::SYS_wait4, [0; 6])), Wait::Indefinite);
        assert_eq!(
            classify(&call(libc::SYS_clock_nanosleep, [0; 6])),
            Wait::Timed
        );
        assert_eq!(
            classify(&call(libc::SYS_futex, [1, 0, 0, 0, 0, 0])),
            Wait::Indefinite
        );
        assert_eq!(
            classify(&call(libc::SYS_futex, [1, 0, 0, 7, 0, 0])),
            Wait::Timed
        );
        assert_eq!(classify(&call(libc::SYS_write, [0; 6])), Wait::NotWaiting);
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn poll_timeout_sign_decides() {
        let minus_one = u64::MAX;
        assert_eq!(
            classify(&call(libc::SYS_poll, [0, 1, minus_one, 0, 0, 0])),
            Wait::Indefinite
        );
        assert_eq!(
            classify(&call(libc::SYS_poll, [0, 1, 100, 0, 0, 0])),
            Wait::Timed
        );
    }
}
