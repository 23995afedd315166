//! Typed evidence: what a check saw, as data. A check collects the faults it found (each
//! exercise has its own fault types: a line not printed, a process killed by a signal, a
//! transfer that differs, a reply that breaks the protocol…); [`judged`] turns them into the
//! verdict in one place: the first fault is the message, the others are details. Hints are
//! chosen from the same faults (see each exercise's `Fault::hint`), never by looking at the
//! processes again.

use std::fmt::Display;

use crate::report::{CheckOutcome, Status};
use crate::submission::Language;

/// One thing a check found wrong, worded by its `Display`.
pub trait Fault: Display {
    /// Advice that follows from this fault alone, if it has any.
    fn hint(&self) -> Option<String> {
        None
    }

    /// The advice worded for a submission in `lang` (naming its calls: see
    /// `grading::idiom`); by default the same for every language.
    fn hint_in(&self, _lang: Language) -> Option<String> {
        self.hint()
    }
}

/// A fault already worded: for checks whose evidence has no structure worth a type (and
/// for the grader's own troubles).
impl Fault for String {}

/// A verdict and its message, for a check with nothing more to say; the check's id, title
/// and points are stamped from its declaration and the config when it is recorded
/// (`grading::Checklist`).
pub fn verdict(status: Status, message: impl Into<String>) -> CheckOutcome {
    CheckOutcome::new("", "", status, 0, message)
}

/// The verdict on `faults`: passed with `passed` when there are none; otherwise failed, the
/// first fault the message and the others details, the hint the first one a fault gives,
/// worded for no language in particular (see [`judged_in`]).
pub fn judged<F: Fault>(faults: &[F], passed: impl Into<String>) -> CheckOutcome {
    judged_in(faults, passed, Language::Other)
}

/// [`judged`], with the hint worded for a submission in `lang`.
pub fn judged_in<F: Fault>(
    faults: &[F],
    passed: impl Into<String>,
    lang: Language,
) -> CheckOutcome {
    let Some((first, rest)) = faults.split_first() else {
        return verdict(Status::Passed, passed);
    };
    let mut o = verdict(Status::Failed, first.to_string());
    o.details = rest.iter().map(|f| f.to_string()).collect();
    o.hint = faults.iter().find_map(|f| f.hint_in(lang));
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Missing(&'static str);

    impl Display for Missing {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "{} was not printed", self.0)
        }
    }

    impl Fault for Missing {
        fn hint(&self) -> Option<String> {
            (self.0 == "hello").then(|| "print hello".to_string())
        }
    }

    #[test]
    fn no_fault_passes_and_the_first_fault_is_the_message() {
        let ok = judged::<Missing>(&[], "all there");
        assert_eq!(
            (ok.status, ok.message.as_str()),
            (Status::Passed, "all there")
        );
        let bad = judged(&[Missing("bye"), Missing("hello")], "all there");
        assert_eq!(bad.status, Status::Failed);
        assert_eq!(bad.message, "bye was not printed");
        assert_eq!(bad.details, vec!["hello was not printed".to_string()]);
        assert_eq!(bad.hint.as_deref(), Some("print hello"));
    }
}
