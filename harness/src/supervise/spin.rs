//! Threads that spin: a handler left looping at full speed (a `recv()` that returns b'' read
//! again and again after its client has gone) uses CPU without end while nothing happens
//! outside. Told apart from work by the CPU time each thread used since a look taken when
//! nothing was asked of the process any more, so that a verdict does not depend on how
//! busy the machine is: a spinner reaches the amount sooner or later, an idle thread never.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use nix::unistd::Pid;

use super::procfs;

/// The CPU time one thread must use, with nothing asked of it, to count as spinning. Far
/// above what closing a connection and removing a file take, far below the CPU limit.
pub const SPIN_CPU: Duration = Duration::from_millis(200);

/// The pids of `root` and its family (descendants, and what left its tree but not its
/// session).
pub fn family_pids(root: Pid) -> Vec<Pid> {
    std::iter::once(root)
        .chain(procfs::family(root).iter().map(|p| Pid::from_raw(p.pid)))
        .collect()
}

/// The CPU time of every thread of a process and its family, at one look.
#[derive(Debug, Clone, Default)]
pub struct CpuLook {
    threads: BTreeMap<i32, u64>,
}

impl CpuLook {
    /// Looks at `root` and its family now.
    pub fn take(root: Pid) -> CpuLook {
        let threads = family_pids(root)
            .into_iter()
            .flat_map(procfs::thread_cpu_ns)
            .collect();
        CpuLook { threads }
    }

    /// The threads that used at least `cpu` between `self` and `now` (a thread started
    /// since counts from zero).
    pub fn busy_since(&self, now: &CpuLook, cpu: Duration) -> Vec<i32> {
        let cpu = cpu.as_nanos() as u64;
        now.threads
            .iter()
            .filter(|(tid, ns)| ns.saturating_sub(*self.threads.get(tid).unwrap_or(&0)) >= cpu)
            .map(|(tid, _)| *tid)
            .collect()
    }
}

/// The threads of one process family found spinning so far.
#[derive(Debug, Clone, Default)]
pub struct SpinWatch {
    known: BTreeSet<i32>,
}

impl SpinWatch {
    /// How many threads of `root`'s family not known to spin yet used [`SPIN_CPU`] since
    /// `since`; they are known from now on.
    pub fn new_spinners(&mut self, root: Pid, since: &CpuLook) -> usize {
        let now = CpuLook::take(root);
        let new: Vec<i32> = since
            .busy_since(&now, SPIN_CPU)
            .into_iter()
            .filter(|t| !self.known.contains(t))
            .collect();
        self.known.extend(&new);
        new.len()
    }

    /// Whether any thread was found spinning.
    pub fn any(&self) -> bool {
        !self.known.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    use std::time::Instant;

    #[test]
    fn a_spinning_thread_is_found_once_and_an_idle_one_never() {
        let me = nix::unistd::getpid();
        let stop = Arc::new(AtomicBool::new(false));
        let idle = {
            let stop = stop.clone();
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    std::thread::park_timeout(Duration::from_millis(50));
                }
            })
        };
        let mut watch = SpinWatch::default();
        let since = CpuLook::take(me);
        let spinner = {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut x = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    x = std::hint::black_box(x.wrapping_add(1));
                }
            })
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut found = 0;
        while found == 0 && Instant::now() < deadline {
            std::thread::park_timeout(Duration::from_millis(10));
            found = watch.new_spinners(me, &since);
        }
        // This test's own thread may spin too while it looks, and other tests run beside it:
        // at least the spinner was found, and a second look finds it no more.
        assert!(found >= 1, "the spinner was not found");
        assert!(watch.any());
        let again = CpuLook::take(me);
        assert!(watch.new_spinners(me, &again) <= 1);
        stop.store(true, Ordering::Relaxed);
        spinner.join().unwrap();
        idle.join().unwrap();
    }
}
