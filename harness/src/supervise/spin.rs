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
    /// The threads (tids) of `root`'s family not known to spin yet that used [`SPIN_CPU`]
    /// since `since`; they are known from now on.
    pub fn new_spinners(&mut self, root: Pid, since: &CpuLook) -> Vec<i32> {
        let now = CpuLook::take(root);
        let new: Vec<i32> = since
            .busy_since(&now, SPIN_CPU)
            .into_iter()
            .filter(|t| !self.known.contains(t))
            .collect();
        self.known.extend(&new);
        new
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

    /// A thread of this process that says its tid, then parks (idle) or spins until `stop`.
    fn thread(spin: bool, stop: Arc<AtomicBool>) -> (i32, std::thread::JoinHandle<()>) {
        let (tx, rx) = std::sync::mpsc::channel();
        let h = std::thread::spawn(move || {
            tx.send(nix::unistd::gettid().as_raw()).unwrap();
            let mut x = 0u64;
            while !stop.load(Ordering::Relaxed) {
                if spin {
                    x = std::hint::black_box(x.wrapping_add(1));
                } else {
                    std::thread::park_timeout(Duration::from_millis(20));
                }
            }
        });
        (rx.recv().unwrap(), h)
    }

    #[test]
    fn a_spinning_thread_is_found_once_and_an_idle_one_never() {
        let me = nix::unistd::getpid();
        let stop = Arc::new(AtomicBool::new(false));
        let (idle, idle_h) = thread(false, stop.clone());
        let mut watch = SpinWatch::default();
        let since = CpuLook::take(me);
        let (spinner, spinner_h) = thread(true, stop.clone());
        // Other tests' threads of this process may be found too: only these two matter.
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut found = Vec::new();
        while !found.contains(&spinner) && Instant::now() < deadline {
            std::thread::park_timeout(Duration::from_millis(10));
            found.extend(watch.new_spinners(me, &since));
        }
        assert!(found.contains(&spinner), "the spinner was not found");
        assert!(
            !found.contains(&idle),
            "an idle thread was taken for a spinner"
        );
        assert!(watch.any());
        // Once it has spun as much again, it is not news.
        let again = CpuLook::take(me);
        while !again
            .busy_since(&CpuLook::take(me), SPIN_CPU)
            .contains(&spinner)
        {
            assert!(Instant::now() < deadline, "the spinner stopped spinning");
            std::thread::park_timeout(Duration::from_millis(10));
        }
        assert!(
            !watch.new_spinners(me, &again).contains(&spinner),
            "a known spinner is found again"
        );
        stop.store(true, Ordering::Relaxed);
        spinner_h.join().unwrap();
        idle_h.join().unwrap();
    }
}
