//! Polling programs. A handler that only sets a flag, read by a main loop that sleeps 0.2 s
//! between looks (or a relay through `Queue.get(timeout=0.5)`), has not finished reacting
//! when it is back asleep: it acts when its *timed* wait runs out and the loop comes round.
//! So a step is not over while a process that polls has not come round its loop a few times
//! since anything visible last happened. A process in an untimed wait (`pause`, a blocking
//! `wait`, `join` or `read`) has nothing more to do: the textbook programs pay nothing.
//!
//! Once the expected output is all there and every process is asleep again, the step is
//! over, as for a handler that prints at once: a polling program pays only for its own
//! reaction. (What it does a full round later, a second copy of the line, shows in the next
//! step, as it would for a handler-printer that printed again on a later signal.) Only a
//! step whose output is missing or wrong waits for the rounds below before it is judged, so
//! that a slow reaction is not taken for none.
//!
//! Why a few rounds, counted from the last visible event (output, an exit, a stop, a change
//! of wait) rather than from the stimulus: a key often crosses both processes (the conductor
//! relays Ctrl-C to the driver at *its* next round, the driver prints at its own), and the
//! relay is invisible. Each process counts one round for a signal that interrupts its sleep
//! (the sleep then goes on) and one for the round that acts on it; [`ROUNDS`] = 3 keeps a
//! process whose own timer came round just before the relay from being taken as done,
//! whatever the ratio of the two periods (the other process's count holds the step open
//! until its relay has been acted on).

use std::time::{Duration, Instant};

use crate::supervise::observe::{Activity, View};
use crate::supervise::waiting::Wait;

/// Rounds of its loop a polling process must make after the last visible event.
const ROUNDS: u32 = 3;

/// A process that has not woken from its timed wait for the longest polling period is not
/// polling (a `sleep(3600)`, a program that blocks every signal): the step does not wait
/// for it. `[timing] poll_ms` sets that period; this is the shipped value, used by the
/// tests and by the placeholder [`Default`] while a step holds the run's `Polling`.
const LONGEST_POLL: Duration = Duration::from_secs(1);

/// What the grader knows of one process's timed sleeps.
#[derive(Debug, Clone, Copy, Default)]
struct Track {
    /// Voluntary switches at the last look.
    switches: Option<u64>,
    /// Caught awake at the last event: its next wake ends that round, it is not a new one.
    own_round_pending: bool,
    /// When it was last seen to wake (kept over steps; readiness at first): it may be
    /// polling while this is recent.
    last_wake: Option<Instant>,
    /// Rounds seen since the last visible event: woke from a timed wait, back in one.
    rounds: u32,
}

impl Track {
    fn polls(&self, now: Instant, longest: Duration) -> bool {
        self.last_wake
            .is_some_and(|w| now.duration_since(w) <= longest)
    }
}

/// The timed sleeps of the driver and the conductor, kept for the whole run.
#[derive(Debug, Clone)]
pub(in crate::exercises::bus) struct Polling {
    tracks: [Track; 2],
    /// The visible state at the last look (see [`visible`]).
    seen: Option<Vec<u64>>,
    /// The longest polling period waited for.
    longest: Duration,
}

impl Default for Polling {
    fn default() -> Self {
        Polling {
            tracks: Default::default(),
            seen: None,
            longest: LONGEST_POLL,
        }
    }
}

impl Polling {
    /// Starts following a run that became ready at `now`: until a process has been seen
    /// asleep in one timed wait for `longest` (the longest polling period), it may be
    /// polling.
    pub(in crate::exercises::bus) fn new(now: Instant, longest: Duration) -> Self {
        let track = Track {
            last_wake: Some(now),
            ..Track::default()
        };
        Polling {
            tracks: [track; 2],
            seen: None,
            longest,
        }
    }

    /// A new step, `before` (driver, conductor) the stimulus: every polling process must
    /// come round again, and a wake by the stimulus itself shows at the first look.
    pub(super) fn restart(&mut self, before: [&View; 2]) {
        self.seen = None;
        for (t, v) in self.tracks.iter_mut().zip(before) {
            t.rounds = 0;
            if let Some(s) = &v.status {
                t.switches = Some(s.voluntary_switches);
            }
        }
    }

    /// One look at (driver, conductor) during a step: whether every process that polls
    /// has come round its loop [`ROUNDS`] times since the last visible event, or the
    /// expected output is complete (and no exited process waits to be reaped by a driver
    /// still there). A driver that left early does not end the step by itself: an orphaned
    /// conductor that polls still prints its line at its next round (the order of the
    /// exits is for `exit-order` to judge, the line for the step).
    pub(super) fn look(
        &mut self,
        views: [&View; 2],
        received: u64,
        now: Instant,
        output_complete: bool,
    ) -> bool {
        self.note(views, visible(views, received), now);
        // A zombie is a reaping still to come (a driver that polls with WNOHANG): the line
        // alone does not end the step, so where it ends does not depend on timing. Once the
        // driver has exited, nobody of the program will reap.
        let driver_gone = views[0].activity.exited();
        let reaping = !driver_gone && views.iter().any(|v| v.activity == Activity::Zombie);
        if output_complete && !reaping {
            return true;
        }
        self.tracks.iter().zip(views).all(|(t, v)| {
            v.activity != Activity::Waiting(Wait::Timed)
                || !t.polls(now, self.longest)
                || t.rounds >= ROUNDS
        })
    }

    /// One look at start-up, where `visible` also holds the handler masks: whether each
    /// process waits for good (untimed) or has come round a polling loop twice since
    /// anything (handlers included) last changed. A one-off `sleep` before the handlers
    /// are installed makes no round, so it is not taken for a program that is done.
    pub(super) fn settled_at_start(
        &mut self,
        views: [&View; 2],
        visible: Vec<u64>,
        now: Instant,
    ) -> bool {
        self.note(views, visible, now);
        self.tracks
            .iter()
            .zip(views)
            .all(|(t, v)| match v.activity {
                Activity::Waiting(Wait::Indefinite) => true,
                Activity::Waiting(Wait::Timed) => t.rounds >= 2,
                _ => false,
            })
    }

    /// Counts the rounds seen at this look; a change of `visible` starts the count again.
    fn note(&mut self, views: [&View; 2], visible: Vec<u64>, now: Instant) {
        let mut woke = [false; 2];
        for ((t, v), woke) in self.tracks.iter_mut().zip(views).zip(&mut woke) {
            let Some(sw) = v.status.as_ref().map(|s| s.voluntary_switches) else {
                continue;
            };
            *woke = t.switches.is_some_and(|old| old != sw);
            t.switches = Some(sw);
            if *woke {
                t.last_wake = Some(now);
            }
        }
        let event = self.seen.as_ref() != Some(&visible);
        for ((t, v), woke) in self.tracks.iter_mut().zip(views).zip(woke) {
            let timed = v.activity == Activity::Waiting(Wait::Timed);
            if event {
                // A process caught awake with the event is still in the round that made
                // it: the next wake is that round's end, not a new one. A wake seen with
                // the event is the event's own.
                t.rounds = 0;
                t.own_round_pending = !timed;
            } else if woke && timed {
                if t.own_round_pending {
                    t.own_round_pending = false;
                } else {
                    t.rounds += 1;
                }
            }
        }
        if event {
            self.seen = Some(visible);
        }
    }
}

/// What the grader sees happen: bytes received, bytes each process wrote, and whether each
/// is gone, a zombie, stopped, in an untimed wait, or otherwise alive (a polling process
/// flips between its timed wait and running at every round: that is not an event).
pub(super) fn visible(views: [&View; 2], received: u64) -> Vec<u64> {
    let mut v = vec![received];
    for view in views {
        v.push(view.own_wchar.unwrap_or(0));
        v.push(match view.activity {
            Activity::Gone => 0,
            Activity::Zombie => 1,
            Activity::Stopped => 2,
            Activity::Waiting(Wait::Indefinite) => 3,
            Activity::Waiting(_) | Activity::Active => 4,
        });
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::supervise::procfs::{RunState, Status};
    use nix::unistd::Pid;

    fn view(activity: Activity, switches: u64, wrote: u64) -> View {
        View {
            pid: Pid::from_raw(1),
            activity,
            status: Some(Status {
                state: RunState::Sleeping,
                ppid: 1,
                sig_pnd: 0,
                shd_pnd: 0,
                sig_blk: 0,
                sig_ign: 0,
                sig_cgt: 0,
                voluntary_switches: switches,
            }),
            own_wchar: Some(wrote),
        }
    }

    const TIMED: Activity = Activity::Waiting(Wait::Timed);
    const PAUSED: Activity = Activity::Waiting(Wait::Indefinite);

    #[test]
    fn untimed_waits_end_the_step_at_once() {
        let t = Instant::now();
        let mut p = Polling::new(t, LONGEST_POLL);
        let (d, c) = (view(PAUSED, 5, 0), view(PAUSED, 9, 0));
        assert!(p.look([&d, &c], 0, t, false));
    }

    #[test]
    fn a_poller_must_come_round_after_the_last_output() {
        let t = Instant::now();
        let mut p = Polling::new(t, LONGEST_POLL);
        let c = view(PAUSED, 1, 0);
        // The driver wakes every look: a poller.
        p.look([&view(TIMED, 10, 0), &c], 0, t, false);
        p.restart([&view(TIMED, 10, 0), &c]);
        assert!(!p.look([&view(TIMED, 11, 0), &c], 0, t, false));
        assert!(!p.look([&view(TIMED, 12, 0), &c], 0, t, false));
        // It prints: the count starts again, the wake seen with the output not counted.
        assert!(!p.look([&view(TIMED, 13, 7), &c], 7, t, false));
        assert!(!p.look([&view(TIMED, 14, 7), &c], 7, t, false));
        assert!(!p.look([&view(TIMED, 15, 7), &c], 7, t, false));
        assert!(p.look([&view(TIMED, 16, 7), &c], 7, t, false));
    }

    #[test]
    fn complete_output_ends_the_wait_and_a_round_caught_awake_is_not_new() {
        let t = Instant::now();
        let mut p = Polling::new(t, LONGEST_POLL);
        let c = view(PAUSED, 1, 0);
        p.look([&view(TIMED, 10, 0), &c], 0, t, false);
        p.restart([&view(TIMED, 10, 0), &c]);
        p.look([&view(TIMED, 11, 0), &c], 0, t, false);
        // Caught printing a wrong line (running: the step waits for it anyway); its going
        // back to sleep ends the same round.
        p.look([&view(Activity::Active, 11, 7), &c], 7, t, false);
        assert!(!p.look([&view(TIMED, 12, 7), &c], 7, t, false));
        assert!(!p.look([&view(TIMED, 13, 7), &c], 7, t, false));
        assert!(!p.look([&view(TIMED, 14, 7), &c], 7, t, false));
        assert!(p.look([&view(TIMED, 15, 7), &c], 7, t, false));
        // The expected line: nothing more to wait for.
        assert!(p.look([&view(TIMED, 16, 9), &c], 9, t, true));
    }

    #[test]
    fn a_zombie_waits_for_the_polling_driver_to_reap_it() {
        let t = Instant::now();
        let mut p = Polling::new(t, LONGEST_POLL);
        let zombie = View {
            activity: Activity::Zombie,
            ..view(TIMED, 3, 9)
        };
        p.restart([&view(TIMED, 10, 0), &view(TIMED, 3, 0)]);
        assert!(!p.look([&view(TIMED, 10, 0), &zombie], 9, t, true));
        let gone = View {
            activity: Activity::Gone,
            status: None,
            ..view(TIMED, 3, 9)
        };
        assert!(p.look([&view(TIMED, 11, 0), &gone], 9, t, true));
    }

    #[test]
    fn a_long_sleeper_is_not_waited_for() {
        let t = Instant::now();
        let mut p = Polling::new(t, LONGEST_POLL);
        let c = view(PAUSED, 1, 0);
        // Not seen to wake since readiness: it may be polling, until LONGEST_POLL has passed.
        assert!(!p.look([&view(TIMED, 10, 0), &c], 0, t, false));
        let later = t + LONGEST_POLL * 2;
        assert!(p.look([&view(TIMED, 10, 0), &c], 0, later, false));
    }

    #[test]
    fn an_orphaned_polling_conductor_is_waited_for_until_it_comes_round() {
        let t = Instant::now();
        let mut p = Polling::new(t, LONGEST_POLL);
        p.look([&view(TIMED, 1, 0), &view(TIMED, 1, 0)], 0, t, false);
        p.look([&view(TIMED, 2, 0), &view(TIMED, 2, 0)], 0, t, false);
        let gone = View {
            pid: Pid::from_raw(1),
            activity: Activity::Gone,
            status: None,
            own_wchar: None,
        };
        // The driver left (an event); the conductor has not come round since.
        assert!(!p.look([&gone, &view(TIMED, 3, 0)], 0, t, false));
        // Its line arrives at its next round: the step is over.
        assert!(p.look([&gone, &view(TIMED, 4, 9)], 9, t, true));
        // Without the line, three rounds of its loop end the step.
        let mut p = Polling::new(t, LONGEST_POLL);
        p.look([&gone, &view(TIMED, 1, 0)], 0, t, false);
        for sw in 2..4 {
            assert!(!p.look([&gone, &view(TIMED, sw, 0)], 0, t, false));
        }
        assert!(p.look([&gone, &view(TIMED, 4, 0)], 0, t, false));
        // A conductor that waits for good is not waited for.
        assert!(p.look([&gone, &view(PAUSED, 4, 0)], 0, t, false));
    }
}
