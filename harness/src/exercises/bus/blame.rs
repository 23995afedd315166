//! What a failed step blames, for one fault, one check: the process a key's signal ended
//! because its disposition is not the one it needs (Python's own KeyboardInterrupt told
//! apart), and the dispositions the step exercised that are wrong (what `handlers` then
//! leaves to the check that showed them).

use crate::tr;
use nix::sys::signal::Signal;

use super::checks::{Before, Line};
use super::faults::StepFault;
use super::hints;
use super::run::{Role, Stimulus};
use crate::supervise::observe::View;
use crate::supervise::procfs::Disposition;

/// The signal a stimulus sends.
pub fn stimulus_signal(stimulus: Stimulus) -> Signal {
    match stimulus {
        Stimulus::Key(k) => k.signal(),
        Stimulus::Signal(_, s) => s,
    }
}

/// Whether `stimulus` reaches `role` (a key reaches both).
fn reaches(stimulus: Stimulus, role: Role) -> bool {
    match stimulus {
        Stimulus::Key(_) => true,
        Stimulus::Signal(to, _) => to == role,
    }
}

/// `role` ended at `stimulus` because its disposition of the signal (`before` the step)
/// is not the one it needs; `interrupt`: Python's KeyboardInterrupt traceback is in the
/// output, so a "caught" SIGINT is Python's own default handler, not the student's.
pub fn unhandled(
    role: Role,
    stimulus: Stimulus,
    before: Option<&View>,
    interrupt: bool,
) -> Option<StepFault> {
    let sig = stimulus_signal(stimulus);
    if !reaches(stimulus, role) {
        return None;
    }
    let found = before?.status.as_ref()?.disposition(sig as i32);
    let want = hints::needed(role, sig)?;
    let python_interrupt = interrupt && found == Disposition::Caught;
    (found != want || python_interrupt).then(|| StepFault::Unhandled {
        role,
        signal: sig,
        ignore: want == Disposition::Ignored,
        by: match stimulus {
            Stimulus::Key(k) => k.label().to_string(),
            Stimulus::Signal(to, s) => tr!("{s} to the {to}", s = s.as_str(), to = to.name()),
        },
        python_interrupt,
    })
}

/// The dispositions a step exercised (the stimulus's signal in each process it reached,
/// the notice in the process that prints) that were wrong before it: what a failed step
/// shows of `handlers`' concern.
pub fn exercised_wrong(stimulus: Stimulus, line: Line, before: &Before) -> Vec<(Role, Signal)> {
    let sig = stimulus_signal(stimulus);
    let (_, _, notice) = hints::relay(line);
    let status = |role: Role| {
        match role {
            Role::Driver => before.0.as_ref(),
            Role::Conductor => before.1.as_ref(),
        }
        .and_then(|v| v.status.as_ref())
    };
    let mut exercised: Vec<(Role, Signal)> = [Role::Driver, Role::Conductor]
        .into_iter()
        .filter(|r| reaches(stimulus, *r))
        .map(|r| (r, sig))
        .collect();
    exercised.push((hints::printer(line), notice));
    exercised
        .into_iter()
        .filter(|(role, s)| {
            let want = hints::needed(*role, *s);
            let found = status(*role).map(|st| st.disposition(*s as i32));
            matches!((want, found), (Some(w), Some(f)) if w != f)
        })
        .collect()
}
