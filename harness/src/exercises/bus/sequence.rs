//! The checks that type keys and send signals over and over: `repeat` (an interleaved
//! sequence of keys) and `roles` (one signal to one process at a time).

use crate::tr;
use nix::sys::signal::Signal;

use super::checks::{line_step, note, transcript_view, Expect, Line};
use super::config::{BusConfig, RepeatKey};
use super::faults::{RoleFault, SequenceFault, StepFault};
use super::grader::Grader;
use super::owners::{counted_in, Claim, Owners};
use super::run::{BusRun, Role, Stimulus};
use crate::grading::evidence::{judged, verdict};
use crate::grading::idiom::Idiom;
use crate::report::{CheckOutcome, Status};
use crate::supervise::session::Key;

/// How `repeat` types `key`: the key itself, or, when a check already found that the key
/// ends the driver (which does not ignore its signal), the key's signal to the conductor
/// alone, so that what `repeat` is about (every press gives its line, over and over) is still
/// judged and the driver's fault is not counted twice.
fn stimulus_for(owners: &Owners, key: Key) -> (Stimulus, Option<&'static str>) {
    let ends_driver = StepFault::Unhandled {
        role: Role::Driver,
        signal: key.signal(),
        ignore: true,
        by: String::new(),
        python_interrupt: false,
    };
    match owners.owner(&ends_driver) {
        Some(by) => (Stimulus::Signal(Role::Conductor, key.signal()), Some(by)),
        None => (Stimulus::Key(key), None),
    }
}

pub(super) fn repeat(
    cfg: &BusConfig,
    idiom: Idiom,
    owners: &Owners,
    run: &mut BusRun,
) -> (CheckOutcome, Claim) {
    let mark = run.session.transcript.mark();
    let mut actions = Vec::new();
    let n = cfg.repeat.keys.len();
    let mut failure: Option<(SequenceFault, String)> = None;
    // The first fault of another check's seen here: (key index, fault, its check).
    let mut repeated: Option<(usize, Key, StepFault, &'static str)> = None;
    let mut replaced: Vec<(Key, &'static str)> = Vec::new();
    let mut stopped_early = false;
    // Keys that gave exactly their line: what repeat saw of its own concern.
    let mut clean = 0;
    let mut claim = Claim::default();
    let mut last = None;
    for (i, k) in cfg.repeat.keys.iter().enumerate() {
        let (key, line, other) = match k {
            RepeatKey::CtrlC => (Key::CtrlC, Line::Go, Line::Seatbelt),
            RepeatKey::CtrlBackslash => (Key::CtrlBackslash, Line::Seatbelt, Line::Go),
        };
        let (stimulus, instead) = stimulus_for(owners, key);
        match instead {
            Some(by) => {
                actions.push(tr!("sent {key} → conductor", key = key.signal().as_str()));
                if !replaced.iter().any(|(k, _)| *k == key) {
                    replaced.push((key, by));
                }
            }
            None => actions.push(tr!("typed {key}", key = key.label())),
        }
        let others = [other];
        let expect = Expect::driver(line, &others);
        let Some((step, j)) = line_step(cfg, idiom, run, stimulus, &expect) else {
            break;
        };
        let (own, owned) = j.split(owners);
        if let Some(first) = own.first() {
            let fault = SequenceFault {
                index: i + 1,
                of: n,
                key,
                fault: first.clone(),
                advice: j.advice_for(&own),
            };
            failure = Some((fault, j.seen.clone()));
            claim = j.claim(own);
            last = Some(step);
            break;
        }
        match owned.into_iter().next() {
            Some((f, by)) => {
                repeated.get_or_insert((i + 1, key, f, by));
            }
            None => clean += 1,
        }
        last = Some(step);
        if repeated.is_some() && !run.healthy() {
            // Another check's fault ended the run: the keys after it cannot be typed.
            stopped_early = i + 1 < n;
            break;
        }
    }
    let faults: Vec<SequenceFault> = failure.iter().map(|(f, _)| f.clone()).collect();
    let mut o = match (&failure, &repeated) {
        // Nothing of repeat's own concern could be seen: not judged, worth nothing.
        (None, Some((index, key, f, by))) if clean == 0 => verdict(
            Status::Skipped,
            tr!(
                "skipped because of {by}: key {index} of {n} ({key}): {f}; no key gave its line",
                by = by,
                index = index,
                n = n,
                key = key.label(),
                f = f
            ),
        ),
        (None, Some((index, key, f, by))) => {
            let rest = if stopped_early {
                tr!("; the keys after it could not be typed")
            } else {
                ""
            };
            CheckOutcome::consequence(
                by,
                tr!(
                    "because of {by}: key {index} of {n} ({key}): {f}{rest}",
                    by = by,
                    index = index,
                    n = n,
                    key = key.label(),
                    f = f,
                    rest = rest
                ),
            )
        }
        _ => {
            let mut o = judged(
                &faults,
                tr!("all {n} keys gave their line once, in order", n = n),
            );
            if let Some((index, key, f, by)) = &repeated {
                o.details.push(tr!(
                    "key {index} of {n} ({key}): {counted_in}",
                    index = index,
                    n = n,
                    key = key.label(),
                    counted_in = counted_in(f, by)
                ));
            }
            o
        }
    };
    for (key, by) in &replaced {
        o.details.push(tr!("{key} was sent as {signal} to the conductor alone: the key itself ends the driver (the fault of {by}, counted there)", key = key.label(), signal = key.signal().as_str(), by = by));
    }
    if let Some((f, seen)) = &failure {
        o.seen = Some(tr!(
            "after key {index}: {seen}",
            index = f.index,
            seen = seen
        ));
    }
    o.actions = actions;
    o.expected = Some(
        tr!("each Ctrl-C prints line 1 and each Ctrl-\\ line 2, exactly once, in the order typed")
            .into(),
    );
    if let Some(step) = &last {
        o.processes = vec![
            note(run, Role::Driver, &step.driver),
            note(run, Role::Conductor, &step.conductor),
        ];
    }
    if failure.is_some() || repeated.is_some() {
        o.transcript = Some(transcript_view(run, mark));
    }
    (o, claim)
}

pub(super) fn roles(g: &mut Grader) -> CheckOutcome {
    let (cfg, idiom) = (g.cfg, g.idiom);
    let subs = [
        (Role::Conductor, Signal::SIGINT, Line::Go, Line::Seatbelt),
        (Role::Conductor, Signal::SIGQUIT, Line::Seatbelt, Line::Go),
        (Role::Driver, Signal::SIGUSR1, Line::Go, Line::Seatbelt),
        (Role::Driver, Signal::SIGUSR2, Line::Seatbelt, Line::Go),
    ];
    let mut actions = Vec::new();
    let mut faults = Vec::new();
    let mut repeated: Vec<(String, StepFault, &'static str)> = Vec::new();
    let mut claim = Claim::default();
    let mut seen = Vec::new();
    let mut processes = Vec::new();
    let mut fresh_runs = 0;
    let mut notes = Vec::new();
    // Signals that gave exactly their line: what roles saw of its own concern.
    let mut clean = 0;
    for (to, sig, line, other) in subs {
        let label = format!("{} → {}", sig.as_str(), to.name());
        match g.healthy() {
            Ok(fresh) => {
                if fresh {
                    fresh_runs += 1;
                }
            }
            Err(why) => {
                faults.push(RoleFault::NotSent { label, why });
                continue;
            }
        }
        let Some(run) = g.current.as_mut() else {
            continue;
        };
        actions.push(tr!("sent {label}", label = label));
        let others = [other];
        let expect = Expect::driver(line, &others);
        let Some((step, j)) = line_step(cfg, idiom, run, Stimulus::Signal(to, sig), &expect) else {
            continue;
        };
        seen.push(tr!("after {label}: {j}", label = label, j = j.seen));
        let (own, owned) = j.split(&g.owners);
        if own.is_empty() && owned.is_empty() {
            clean += 1;
        }
        repeated.extend(owned.into_iter().map(|(f, by)| (label.clone(), f, by)));
        // The step's advice goes with its first fault of its own (the one it was chosen for).
        let advice = j.advice_for(&own);
        faults.extend(own.iter().enumerate().map(|(i, fault)| RoleFault::Step {
            label: label.clone(),
            fault: fault.clone(),
            advice: if i == 0 { advice.clone() } else { None },
        }));
        let c = j.claim(own);
        claim.faults.extend(c.faults);
        claim.dispositions.extend(c.dispositions);
        notes.extend(
            j.notes
                .iter()
                .map(|n| tr!("after {label}: {n}", label = label, n = n)),
        );
        processes = vec![
            note(run, Role::Driver, &step.driver),
            note(run, Role::Conductor, &step.conductor),
        ];
    }
    g.owners.claim("roles", claim);
    let counted = repeated
        .iter()
        .map(|(label, f, by)| format!("{label}: {}", counted_in(f, by)));
    let mut o = match repeated.first() {
        // Nothing of roles' own concern could be seen: not judged, worth nothing.
        Some((label, f, by)) if faults.is_empty() && clean == 0 => verdict(
            Status::Skipped,
            tr!(
                "skipped because of {by}: {label}: {f}; no signal gave its line",
                by = by,
                label = label,
                f = f
            ),
        ),
        Some((label, f, by)) if faults.is_empty() => {
            let mut o = CheckOutcome::consequence(
                by,
                tr!(
                    "because of {by}: {label}: {f}",
                    by = by,
                    label = label,
                    f = f
                ),
            );
            o.details.extend(counted.skip(1));
            o
        }
        _ => {
            let mut o = judged(
                &faults,
                tr!("the driver printed lines 1 and 2 for each single-process signal"),
            );
            o.details.extend(counted);
            o
        }
    };
    if o.status != Status::Passed {
        o.seen = Some(seen.join("; "));
        o.processes = processes;
    }
    o.details.extend(notes);
    if fresh_runs > 0 {
        o.details.push(tr!(
            "{fresh_runs} fresh run(s) were needed: a signal ended the previous one",
            fresh_runs = fresh_runs
        ));
    }
    o.actions = actions;
    o.expected = Some(tr!("SIGINT → conductor and SIGUSR1 → driver each make the driver print line 1; SIGQUIT → conductor and SIGUSR2 → driver line 2").into());
    o
}
