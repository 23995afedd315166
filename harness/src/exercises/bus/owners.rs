//! One fault, one check: which check judged which fault. A check that fails claims its
//! faults (and the dispositions its steps showed wrong); a later check that sees the same
//! fault again (line 1 misspelt at every Ctrl-C of `repeat`, the driver killed by Ctrl-C
//! again) is not charged for it: it judges what else it sees, and when that is nothing it
//! is a consequence of the owner's fault (`skipped`, keeping its points, "because of …").
//! The table of which fault belongs to which check is in `exercises/bus/README.md`.

use crate::tr;
use nix::sys::signal::Signal;

use super::faults::StepFault;
use super::run::Role;

/// The faults claimed so far, each with the check that judged it.
#[derive(Debug, Default, Clone)]
pub struct Owners {
    faults: Vec<(StepFault, &'static str)>,
    dispositions: Vec<((Role, Signal), &'static str)>,
}

/// What a check claims when it fails: its own faults and the dispositions they blame.
#[derive(Debug, Default, Clone)]
pub struct Claim {
    pub faults: Vec<StepFault>,
    pub dispositions: Vec<(Role, Signal)>,
}

impl Owners {
    /// The check that judged `fault` already, if one did.
    pub fn owner(&self, fault: &StepFault) -> Option<&'static str> {
        self.faults
            .iter()
            .find(|(f, _)| f.same_fault(fault))
            .map(|(_, c)| *c)
    }

    /// The check whose fault `role`'s disposition of `sig` showed, if one did.
    pub fn disposition_owner(&self, role: Role, sig: Signal) -> Option<&'static str> {
        self.dispositions
            .iter()
            .find(|(d, _)| *d == (role, sig))
            .map(|(_, c)| *c)
    }

    /// Records what `check` judged (the first claim of a fault keeps it).
    pub fn claim(&mut self, check: &'static str, claim: Claim) {
        for f in claim.faults {
            if self.owner(&f).is_none() {
                self.faults.push((f, check));
            }
        }
        for d in claim.dispositions {
            if self.disposition_owner(d.0, d.1).is_none() {
                self.dispositions.push((d, check));
            }
        }
    }

    /// Splits `faults` into those no check has judged yet and those it has (with its owner).
    pub fn split(&self, faults: &[StepFault]) -> (Vec<StepFault>, Vec<(StepFault, &'static str)>) {
        let mut own = Vec::new();
        let mut owned = Vec::new();
        for f in faults {
            match self.owner(f) {
                Some(c) => owned.push((f.clone(), c)),
                None => own.push(f.clone()),
            }
        }
        (own, owned)
    }
}

/// The words of a fault counted in another check, for details.
pub fn counted_in(fault: &impl std::fmt::Display, owner: &str) -> String {
    tr!(
        "{fault} (the fault of {owner}, counted there)",
        fault = fault,
        owner = owner
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fault_belongs_to_the_first_check_that_claims_it() {
        let typo = |m: &str| StepFault::Missing {
            number: 1,
            text: "老司机开车了".into(),
            near_miss: Some(m.into()),
        };
        let mut o = Owners::default();
        o.claim(
            "ctrl-c",
            Claim {
                faults: vec![typo("a")],
                dispositions: vec![(Role::Driver, Signal::SIGINT)],
            },
        );
        o.claim(
            "repeat",
            Claim {
                faults: vec![typo("b"), StepFault::Unsettled],
                dispositions: vec![(Role::Driver, Signal::SIGINT)],
            },
        );
        assert_eq!(o.owner(&typo("c")), Some("ctrl-c"));
        assert_eq!(o.owner(&StepFault::Unsettled), Some("repeat"));
        assert_eq!(
            o.disposition_owner(Role::Driver, Signal::SIGINT),
            Some("ctrl-c")
        );
        assert_eq!(o.disposition_owner(Role::Driver, Signal::SIGQUIT), None);
        let (own, owned) = o.split(&[typo("d"), StepFault::Stopped(Role::Driver)]);
        assert_eq!(own, vec![StepFault::Stopped(Role::Driver)]);
        assert_eq!(owned.len(), 1);
        assert_eq!(owned[0].1, "ctrl-c");
    }
}
