//! A declared check's verdict: its expectations read against what the run showed, each
//! unmet one a finding (a code hints are keyed to, and a sentence), the first the message.

use super::run::{Proc, Run, Seen};
use super::spec::{Ending, Named, Scenario};
use crate::exercises::bus::faults::exit_words;
use crate::grading::evidence::verdict;
use crate::report::{wording, CheckOutcome, ProcessNote, Status, TranscriptPiece, TranscriptView};
use crate::submission::Language;
use crate::supervise::session::Exit;
use crate::text::{escape, pids};
use crate::tr;

/// One expectation not met.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// What hints are keyed to: `exit.driver.signal.SIGINT`, `line.missing`, `zombie`, …
    pub code: String,
    pub text: String,
}

fn found(code: impl Into<String>, text: impl Into<String>) -> Finding {
    Finding {
        code: code.into(),
        text: text.into(),
    }
}

/// The name of process `i` in reports.
pub fn who(seen: &Seen, i: usize) -> String {
    let p = &seen.procs[i];
    match (p.parent, p.child_no) {
        (None, _) => tr!("the program").into(),
        (_, Some(n)) => tr!("child {n}", n = n),
        (Some(q), None) => tr!("a child of {parent}", parent = who(seen, q)),
    }
}

fn names(seen: &Seen, by: &[usize]) -> String {
    if by.is_empty() {
        return tr!("nobody (the terminal's echo)").into();
    }
    by.iter()
        .map(|i| who(seen, *i))
        .collect::<Vec<_>>()
        .join(tr!(" or "))
}

/// Who wrote a line, said the same way in every run (`--stable`): the writers' places in
/// the tree (the program, a child, a grandchild), not which child. Byte counters rise by the
/// same amount for two workers that print lines of one length at once, so which of them
/// wrote which line is not known, and a count of candidates would differ from run to run.
fn places(seen: &Seen, by: &[usize]) -> String {
    if by.is_empty() {
        return names(seen, by);
    }
    let depth = |i: usize| {
        let mut d = 0;
        let mut at = seen.procs[i].parent;
        while let Some(q) = at {
            d += 1;
            at = seen.procs[q].parent;
        }
        d
    };
    let mut depths: Vec<usize> = by.iter().map(|i| depth(*i)).collect();
    depths.sort_unstable();
    depths.dedup();
    depths
        .into_iter()
        .map(|d| match d {
            0 => tr!("the program"),
            1 => tr!("a child"),
            _ => tr!("a grandchild"),
        })
        .collect::<Vec<_>>()
        .join(tr!(" or "))
}

/// The lines printed, as the report quotes them: in printed order with each writer named;
/// with `stable`, each distinct line once, in text order, with the writers' places (see
/// [`places`]) and the run's pids shown as `<pid>`: processes that print at once interleave
/// in any order the exercise allows, and how many ticks fit in a stretch of time depends on
/// the machine (a count that is judged is in the check's message).
fn quoted_lines(seen: &Seen, stable: bool) -> Vec<String> {
    let mut lines: Vec<String> = seen
        .lines
        .iter()
        .filter(|l| !l.by.is_empty() && l.step > seen.base)
        .map(|l| {
            let by = if stable {
                places(seen, &l.by)
            } else {
                names(seen, &l.by)
            };
            let text = escape::one_line(l.text.as_bytes());
            let text = if stable {
                pids::hide(&text, &run_pids(seen)).unwrap_or(text)
            } else {
                text
            };
            format!("\"{text}\" ({by})")
        })
        .collect();
    if stable {
        lines.sort();
        lines.dedup();
    }
    lines
}

/// The pids of the run's processes, which a program may print.
fn run_pids(seen: &Seen) -> Vec<i32> {
    seen.procs.iter().map(|p| p.pid.as_raw()).collect()
}

/// The terminal's transcript; with `stable`, each stretch of output between two of the
/// grader's actions has its distinct whole lines once each, in text order (a partial last
/// line stays last), and the run's pids shown as `<pid>`, as in [`quoted_lines`].
fn transcript(run: &Run, stable: bool) -> TranscriptView {
    let mut view =
        TranscriptView::from_transcript(&run.session.transcript, run.seen.transcript_mark);
    if stable {
        for piece in &mut view.pieces {
            if let TranscriptPiece::Output(text) = piece {
                let (whole, rest) = match text.rfind('\n') {
                    Some(end) => text.split_at(end + 1),
                    None => continue,
                };
                let mut lines: Vec<&str> = whole.split_inclusive('\n').collect();
                lines.sort_unstable();
                lines.dedup();
                let sorted = format!("{}{rest}", lines.concat());
                *text = pids::hide(&sorted, &run_pids(&run.seen)).unwrap_or(sorted);
            }
        }
    }
    view
}

fn ending_words(p: &Proc) -> String {
    match (p.exit, p.ended()) {
        (Some(e), _) => exit_words(e),
        (None, true) => tr!("ended").into(),
        (None, false) if p.stopped => tr!("stopped").into(),
        (None, false) => tr!("still running").into(),
    }
}

/// Everything the scenario expects that the run did not show.
pub fn findings(sc: &Scenario, run: &Run, busy_share: f64) -> Vec<Finding> {
    let seen = &run.seen;
    let mut out: Vec<Finding> = Vec::new();
    if let Some(why) = run.session.not_run() {
        out.push(found(
            "not-run",
            tr!(
                "the program did not run: {why}",
                why = wording::not_run(&why)
            ),
        ));
        return out;
    }
    for m in seen.missed.iter().filter(|m| m.step > seen.base) {
        out.push(found(
            m.code.clone(),
            tr!("step {step}: {what}", step = m.step, what = m.what),
        ));
    }
    let printed: Vec<(usize, &super::run::Line)> = seen
        .lines
        .iter()
        .enumerate()
        .filter(|(_, l)| !l.by.is_empty() && l.step > seen.base)
        .collect();
    // First occurrence of each expected line (by the right process), for the order.
    let mut firsts: Vec<Option<usize>> = Vec::new();
    for e in &sc.lines {
        let hits: Vec<&(usize, &super::run::Line)> = printed
            .iter()
            .filter(|(_, l)| l.step >= seen.base + e.after_step && e.matcher.matches(&l.text))
            .collect();
        let members = e.by.as_ref().map(|b| seen.members(&b.role));
        let good: Vec<usize> = hits
            .iter()
            .filter(|(_, l)| {
                members
                    .as_ref()
                    .is_none_or(|m| l.by.iter().any(|i| m.contains(i)))
            })
            .map(|(i, _)| *i)
            .collect();
        firsts.push(good.first().copied());
        let n = good.len() as u32;
        let shown = escape::one_line(e.shown.as_bytes());
        let by =
            e.by.as_ref()
                .map(|b| tr!(" by {name}", name = b.name))
                .unwrap_or_default();
        if n < e.at_least {
            if let Some((_, wrong)) = hits.iter().find(|(i, _)| !good.contains(i)) {
                out.push(found(
                    "line.by",
                    tr!(
                        "\"{shown}\" was printed by {names}, not{by}",
                        shown = shown,
                        names = names(seen, &wrong.by),
                        by = by
                    ),
                ));
            } else if n == 0 {
                out.push(found(
                    "line.missing",
                    tr!("\"{shown}\" was not printed{by}", shown = shown, by = by),
                ));
            } else {
                out.push(found(
                    "line.count",
                    tr!(
                        "\"{shown}\" was printed{by} {n} times, expected at least {least}",
                        shown = shown,
                        by = by,
                        n = n,
                        least = e.at_least
                    ),
                ));
            }
        } else if let Some(max) = e.at_most.filter(|m| n > *m) {
            out.push(found(
                "line.count",
                tr!(
                    "\"{shown}\" was printed{by} {n} times, expected at most {max}",
                    shown = shown,
                    by = by,
                    n = n,
                    max = max
                ),
            ));
        }
    }
    if sc.ordered {
        'order: for (a, ea) in sc.lines.iter().enumerate() {
            for (b, eb) in sc.lines.iter().enumerate() {
                if let (true, Some(fa), Some(fb)) = (ea.group < eb.group, firsts[a], firsts[b]) {
                    if fb < fa {
                        out.push(found(
                            "order",
                            tr!(
                                "\"{early}\" came before \"{late}\"",
                                early = escape::one_line(eb.shown.as_bytes()),
                                late = escape::one_line(ea.shown.as_bytes())
                            ),
                        ));
                        break 'order;
                    }
                }
            }
        }
    }
    for pair in sc.exit_order.windows(2) {
        if let Some(f) = order_of_exits(seen, &pair[0], &pair[1]) {
            out.push(f);
            break;
        }
    }
    for e in &sc.exits {
        let members = seen.members(&e.who.role);
        if members.is_empty() {
            out.push(found(
                format!("missing.{}", e.who.name),
                tr!("no process is {name}", name = e.who.name),
            ));
        }
        for i in members {
            let p = &seen.procs[i];
            let name = &e.who.name;
            let whom = who(seen, i);
            if !p.ended() {
                let (code, state) = if p.stopped {
                    ("stopped", tr!("is stopped"))
                } else {
                    ("running", tr!("did not end"))
                };
                out.push(found(
                    format!("exit.{name}.{code}"),
                    tr!(
                        "{whom} ({name}) {state}",
                        whom = whom,
                        name = name,
                        state = state
                    ),
                ));
                continue;
            }
            match (&e.ending, p.exit) {
                (Ending::Status(want), Some(Exit::Code(c))) if c != *want => out.push(found(
                    format!("exit.{name}.status"),
                    tr!(
                        "{whom} ({name}) exited with status {c}, expected {want}",
                        whom = whom,
                        name = name,
                        c = c,
                        want = want
                    ),
                )),
                (Ending::Status(_) | Ending::Any, Some(Exit::Signal(s))) => out.push(found(
                    format!("exit.{name}.signal.{}", signal_name(s)),
                    tr!(
                        "{whom} ({name}) was killed by {signal}",
                        whom = whom,
                        name = name,
                        signal = signal_name(s)
                    ),
                )),
                (Ending::Signal(want), Some(got)) if got != Exit::Signal(*want as i32) => {
                    out.push(found(
                        format!("exit.{name}.not-signal"),
                        tr!(
                            "{whom} ({name}) {how}, expected to be ended by {want}",
                            whom = whom,
                            name = name,
                            how = exit_words(got),
                            want = want.as_str()
                        ),
                    ))
                }
                _ => {}
            }
            if e.reaped == Some(true) {
                if p.orphaned {
                    out.push(found(
                        format!("exit.{name}.orphan"),
                        tr!("{whom} ({name}) outlived its parent (reaped by the grader, not by its parent)", whom = whom, name = name),
                    ));
                } else if !p.gone {
                    out.push(found(
                        format!("exit.{name}.zombie"),
                        tr!(
                            "{whom} ({name}) was never reaped: it is a zombie",
                            whom = whom,
                            name = name
                        ),
                    ));
                }
            }
        }
    }
    for a in &sc.alive {
        let members = seen.members(&a.role);
        if members.is_empty() {
            out.push(found(
                format!("missing.{}", a.name),
                tr!("no process is {name}", name = a.name),
            ));
        }
        for i in members {
            let p = &seen.procs[i];
            if p.ended() || p.stopped {
                let code = if p.stopped { "stopped" } else { "ended" };
                let how = match p.exit {
                    Some(Exit::Signal(s)) => format!(".signal.{}", signal_name(s)),
                    _ => String::new(),
                };
                out.push(found(
                    format!("alive.{}.{code}{how}", a.name),
                    tr!(
                        "{whom} ({name}) {how}; it should still run",
                        whom = who(seen, i),
                        name = a.name,
                        how = ending_words(p)
                    ),
                ));
            }
        }
    }
    if sc.no_zombie {
        if let Some((i, step)) = seen.zombies_at_rest.iter().find(|z| z.1 > seen.base) {
            out.push(found(
                "zombie",
                tr!(
                    "{whom} was left a zombie (exited, not reaped) while the program waited (after step {step})",
                    whom = who(seen, *i),
                    step = step
                ),
            ));
        }
    }
    if sc.no_leftover {
        match seen.procs.first() {
            Some(p) if !p.ended() => {
                out.push(found("leftover.running", tr!("the program had not exited")))
            }
            _ => {
                for (i, p) in seen.procs.iter().enumerate().skip(1) {
                    if !p.gone {
                        let state = if p.ended() {
                            tr!("a zombie")
                        } else {
                            tr!("still running")
                        };
                        out.push(found(
                            "leftover",
                            tr!(
                                "{whom} remained after the program exited: {state}",
                                whom = who(seen, i),
                                state = state
                            ),
                        ));
                    } else if p.orphaned {
                        out.push(found(
                            "orphan",
                            tr!(
                                "{whom} outlived the program (an orphan)",
                                whom = who(seen, i)
                            ),
                        ));
                    }
                }
            }
        }
    }
    if let Some((lo, hi)) = sc.children {
        let n = seen.max_children as u32;
        if lo.is_some_and(|lo| n < lo) {
            out.push(found(
                "children.too-few",
                tr!(
                    "at most {n} children at once, expected at least {least}",
                    n = n,
                    least = lo.unwrap_or(0)
                ),
            ));
        }
        if hi.is_some_and(|hi| n > hi) {
            out.push(found(
                "children.too-many",
                tr!(
                    "{n} children at once, expected at most {most}",
                    n = n,
                    most = hi.unwrap_or(0)
                ),
            ));
        }
    }
    if let Some(ins) = &sc.inside {
        let (mut now, mut most) = (0i64, 0i64);
        for (_, l) in &printed {
            if ins.enter.is_match(&l.text) {
                now += 1;
                most = most.max(now);
            } else if ins.leave.is_match(&l.text) {
                now -= 1;
            }
        }
        if ins.at_most.is_some_and(|k| most > k as i64) {
            out.push(found(
                "inside.too-many",
                tr!(
                    "{most} were inside at once, expected at most {limit}",
                    most = most,
                    limit = ins.at_most.unwrap_or(0)
                ),
            ));
        }
        if ins.at_least.is_some_and(|k| most < k as i64) {
            out.push(found(
                "inside.too-few",
                tr!(
                    "at most {most} were inside at once, expected at least {least}",
                    most = most,
                    least = ins.at_least.unwrap_or(0)
                ),
            ));
        }
    }
    if let Some((role, n)) = &sc.threads {
        let most = seen
            .members(&role.role)
            .iter()
            .map(|i| seen.procs[*i].threads)
            .max()
            .unwrap_or(0);
        if (most as u32) < *n {
            out.push(found(
                "threads.too-few",
                tr!(
                    "{role} had {most} threads when the step ended, expected at least {n}",
                    role = role.name,
                    most = most,
                    n = n
                ),
            ));
        }
    }
    if sc.idle {
        // Seen as a process that never slept, or as the tree's share of a CPU: which of
        // the two shows a busy loop first, and the share itself, depend on the machine's
        // load, so the finding is worded the same either way and names no figure.
        let spinning = (0..seen.procs.len()).find(|i| seen.procs[*i].was_busy);
        let busiest = (0..seen.procs.len()).max_by_key(|i| seen.procs[*i].cpu_ns);
        let busy = spinning.or(busiest.filter(|_| seen.cpu_share() > busy_share));
        if let Some(i) = busy {
            out.push(found(
                "busy",
                tr!(
                    "{whom} kept a CPU busy while it waited (a busy loop)",
                    whom = who(seen, i)
                ),
            ));
        }
    }
    out
}

fn signal_name(s: i32) -> String {
    nix::sys::signal::Signal::try_from(s)
        .map(|s| s.as_str().to_string())
        .unwrap_or(format!("signal {s}"))
}

fn far_future() -> std::time::Instant {
    std::time::Instant::now() + std::time::Duration::from_secs(1 << 20)
}

/// Every process of `first` ended before any of `then`.
fn order_of_exits(seen: &Seen, first: &Named, then: &Named) -> Option<Finding> {
    let a = seen.members(&first.role);
    let b = seen.members(&then.role);
    let code = format!("exit-order.{}", then.name);
    if a.is_empty() {
        return Some(found(
            format!("missing.{}", first.name),
            tr!("no process is {name}", name = first.name),
        ));
    }
    // A process of `first` still running ends after anything that has ended.
    let last_a = a
        .iter()
        .map(|i| seen.procs[*i].exited_at.unwrap_or(far_future()))
        .max()?;
    let early = b
        .iter()
        .find(|i| seen.procs[**i].exited_at.is_some_and(|t| t < last_a));
    early.map(|i| {
        found(
            code,
            tr!(
                "{whom} ({name}) ended before {first} had",
                whom = who(seen, *i),
                name = then.name,
                first = first.name
            ),
        )
    })
}

/// The verdict of a check on its run.
pub fn outcome(
    sc: &Scenario,
    run: &Run,
    busy_share: f64,
    lang: Language,
    stable: bool,
) -> CheckOutcome {
    let f = findings(sc, run, busy_share);
    let seen = &run.seen;
    let mut o = match f.split_first() {
        None => verdict(Status::Passed, passed_words(sc)),
        Some((first, rest)) => {
            let mut o = verdict(Status::Failed, first.text.clone());
            o.details = rest.iter().map(|r| r.text.clone()).collect();
            o.hint = sc
                .hints
                .iter()
                .find(|h| f.iter().any(|x| x.code.starts_with(&h.when)))
                .map(|h| {
                    let call = match lang {
                        Language::Python => h.python.clone(),
                        Language::C => h.c.clone(),
                        Language::Other => None,
                    };
                    match call {
                        Some(c) => format!("{}: {c}", h.say),
                        None => h.say.clone(),
                    }
                });
            o
        }
    };
    if let Some(why) = run.session.cut_off().as_ref().map(wording::cut_off) {
        if o.status != Status::Passed {
            let was = std::mem::replace(&mut o.message, why);
            o.details.insert(0, was);
        }
    }
    if o.status != Status::Passed {
        o.actions = seen.actions[seen.actions_mark.min(seen.actions.len())..].to_vec();
        let lines: Vec<String> = quoted_lines(seen, stable).into_iter().take(12).collect();
        o.seen = Some(if lines.is_empty() {
            tr!("no output").into()
        } else {
            lines.join("; ")
        });
        o.processes = seen
            .procs
            .iter()
            .enumerate()
            .take(16)
            .map(|(i, p)| ProcessNote {
                role: who(seen, i),
                pid: (!stable).then_some(p.pid.as_raw()),
                state: ending_words(p),
            })
            .collect();
        o.transcript = Some(transcript(run, stable));
    }
    o
}

fn passed_words(sc: &Scenario) -> String {
    let mut parts = Vec::new();
    if !sc.lines.is_empty() {
        parts.push(tr!("{n} expected line(s) seen", n = sc.lines.len()));
    }
    if !sc.exits.is_empty() || !sc.exit_order.is_empty() {
        parts.push(tr!("the exits as expected").to_string());
    }
    if parts.is_empty() {
        parts.push(tr!("as expected").to_string());
    }
    parts.join(", ")
}
