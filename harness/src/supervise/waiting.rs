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
    let n = call.nr;
    let null = |v: u64| v == 0;
    let negative_int = |v: u64| (v as i64 as i32) < 0;
    if n == nr::PAUSE
        || n == libc::SYS_rt_sigsuspend
        || n == libc::SYS_wait4
        || n == libc::SYS_waitid
        || n == libc::SYS_read
        || n == libc::SYS_readv
        || n == nr::ACCEPT
        || n == libc::SYS_accept4
        || n == libc::SYS_recvfrom
        || n == libc::SYS_recvmsg
        || n == libc::SYS_msgrcv
    {
        Wait::Indefinite
    } else if n == libc::SYS_rt_sigtimedwait {
        if null(a[2]) {
            Wait::Indefinite
        } else {
            Wait::Timed
        }
    } else if n == nr::POLL || n == nr::EPOLL_WAIT || n == libc::SYS_epoll_pwait {
        // poll(fds, n, timeout_ms), epoll_wait(fd, events, max, timeout_ms)
        let timeout = if n == nr::POLL { a[2] } else { a[3] };
        if negative_int(timeout) {
            Wait::Indefinite
        } else {
            Wait::Timed
        }
    } else if n == libc::SYS_ppoll {
        if null(a[2]) {
            Wait::Indefinite
        } else {
            Wait::Timed
        }
    } else if n == nr::SELECT || n == libc::SYS_pselect6 {
        if null(a[4]) {
            Wait::Indefinite
        } else {
            Wait::Timed
        }
    } else if n == libc::SYS_futex {
        // futex(uaddr, op, val, timeout, ...): a wait with no timeout blocks until woken.
        if null(a[3]) {
            Wait::Indefinite
        } else {
            Wait::Timed
        }
    } else if n == nr::NANOSLEEP || n == libc::SYS_clock_nanosleep || n == libc::SYS_epoll_pwait2 {
        Wait::Timed
    } else {
        Wait::NotWaiting
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
