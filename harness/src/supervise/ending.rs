//! How the waits of the check being judged ended: every one on an event, some on finding
//! the programs unable to move ([`super::rest`]), or some by waiting out a deadline. The
//! waits note it here as they end; the checklist takes the note after each check, so a
//! report can say per check whether time was lost to a deadline (and tests can assert that
//! a stuck program lost none). Kept per thread: a check's waits run on the thread that
//! judges it (waits on helper threads, the concurrent check's clients, are not noted).

use std::cell::Cell;

/// How a check's waits ended, the worst of them: a deadline is worse than finding the
/// programs stuck, which is worse than events alone.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Ending {
    /// Every wait ended on an event (output, a reply, an exit, a file closed).
    Event,
    /// A wait ended because the programs could no longer move.
    Stuck,
    /// A wait ran to its deadline.
    Deadline,
}

thread_local! {
    static WORST: Cell<Option<Ending>> = const { Cell::new(None) };
}

/// Notes how one wait ended.
pub fn note(how: Ending) {
    WORST.with(|w| w.set(Some(w.get().map_or(how, |was| was.max(how)))));
}

/// How the waits since the last call ended (`None`: nothing was noted), and starts afresh.
pub fn take() -> Option<Ending> {
    WORST.with(|w| w.replace(None))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_worst_ending_is_kept_until_taken() {
        take();
        assert_eq!(take(), None);
        note(Ending::Stuck);
        note(Ending::Event);
        assert_eq!(take(), Some(Ending::Stuck));
        note(Ending::Deadline);
        note(Ending::Stuck);
        assert_eq!(take(), Some(Ending::Deadline));
        assert_eq!(take(), None);
    }
}
