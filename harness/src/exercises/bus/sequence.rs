//! The checks that type keys and send signals over and over: `repeat` (an interleaved
//! sequence of keys) and `roles` (one signal to one process at a time).

use crate::tr;
use nix::sys::signal::Signal;

use super::checks::{line_step, note, transcript_view, Expect, Line};
use super::config::{BusConfig, RepeatKey};
use super::faults::{RoleFault, SequenceFault};
use super::grader::Grader;
use super::run::{BusRun, Role, Stimulus};
use crate::grading::evidence::judged;
use crate::grading::idiom::Idiom;
use crate::report::CheckOutcome;
use crate::supervise::session::Key;

pub(super) fn repeat(cfg: &BusConfig, idiom: Idiom, run: &mut BusRun) -> CheckOutcome {
    let mark = run.session.transcript.mark();
    let mut actions = Vec::new();
    let n = cfg.repeat.keys.len();
    let mut failure: Option<(SequenceFault, String)> = None;
    let mut last = None;
    for (i, k) in cfg.repeat.keys.iter().enumerate() {
        let (key, line, other) = match k {
            RepeatKey::CtrlC => (Key::CtrlC, Line::Go, Line::Seatbelt),
            RepeatKey::CtrlBackslash => (Key::CtrlBackslash, Line::Seatbelt, Line::Go),
        };
        actions.push(tr!("typed {key}", key = key.label()));
        let others = [other];
        let expect = Expect::driver(line, &others);
        let Some((step, j)) = line_step(cfg, idiom, run, Stimulus::Key(key), &expect) else {
            break;
        };
        if let Some(first) = j.faults.first() {
            let fault = SequenceFault {
                index: i + 1,
                of: n,
                key,
                fault: first.clone(),
                advice: j.advice.clone(),
            };
            failure = Some((fault, j.seen));
            last = Some(step);
            break;
        }
        last = Some(step);
    }
    let faults: Vec<SequenceFault> = failure.iter().map(|(f, _)| f.clone()).collect();
    let mut o = judged(
        &faults,
        tr!("all {n} keys gave their line once, in order", n = n),
    );
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
    if failure.is_some() {
        o.transcript = Some(transcript_view(run, mark));
    }
    o
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
    let mut seen = Vec::new();
    let mut processes = Vec::new();
    let mut fresh_runs = 0;
    let mut notes = Vec::new();
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
        actions.push(format!("sent {label}"));
        let others = [other];
        let expect = Expect::driver(line, &others);
        let Some((step, j)) = line_step(cfg, idiom, run, Stimulus::Signal(to, sig), &expect) else {
            continue;
        };
        seen.push(tr!("after {label}: {j}", label = label, j = j.seen));
        // The step's advice goes with its first fault (the one it was chosen for).
        faults.extend(
            j.faults
                .into_iter()
                .enumerate()
                .map(|(i, fault)| RoleFault::Step {
                    label: label.clone(),
                    fault,
                    advice: if i == 0 { j.advice.clone() } else { None },
                }),
        );
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
    let mut o = judged(
        &faults,
        tr!("the driver printed lines 1 and 2 for each single-process signal"),
    );
    if !faults.is_empty() {
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
