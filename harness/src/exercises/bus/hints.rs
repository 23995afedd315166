//! The advice after a failed bus step, chosen by what the step showed (which process ended
//! and how, what was printed, by whom, whether the process that had to print woke up) and
//! worded for the submission's language (`grading::idiom`). Not by which check failed: the
//! same fault at Ctrl-C, in `repeat` or in `roles` gets the same advice.

use crate::tr;
use nix::sys::signal::Signal;

use super::checks::Line;
use super::faults::StepFault;
use super::run::{required, Role, Stimulus};
use crate::grading::idiom::Idiom;
use crate::submission::Language;
use crate::supervise::procfs::{Disposition, Status};
use crate::supervise::session::{Exit, Key};

/// What a step showed besides its faults, for its advice.
#[derive(Debug, Clone)]
pub struct StepFacts {
    pub stimulus: Stimulus,
    /// The line the step had to give.
    pub line: Line,
    /// Each process as it was just before the step (`None`: not seen): its dispositions.
    pub driver_before: Option<Status>,
    pub conductor_before: Option<Status>,
    /// Whether the process that had to print woke up during the step (a handler ran),
    /// where that can be told: it waited without a timeout before and after, and was not
    /// woken by the stimulus itself.
    pub printer_woke: Option<bool>,
    /// The process that had to print was polling (asleep with a timeout) around the step.
    pub printer_polls: bool,
    /// Nothing at all was printed during the step.
    pub silent: bool,
    /// The process that must not print the line wrote at least as much as the line.
    pub other_wrote_line: bool,
    /// The other forms of the line that are accepted (the config's `also`).
    pub also: Vec<String>,
}

/// Who passes the word on for `line` and with which signals: (the relay, the signal it
/// reacts to, the signal it sends the printer).
pub fn relay(line: Line) -> (Role, Signal, Signal) {
    match line {
        Line::Go => (Role::Conductor, Signal::SIGINT, Signal::SIGUSR1),
        Line::Seatbelt => (Role::Conductor, Signal::SIGQUIT, Signal::SIGUSR2),
        Line::Arrive => (Role::Driver, Signal::SIGTSTP, Signal::SIGUSR1),
    }
}

/// The process that prints `line`.
pub fn printer(line: Line) -> Role {
    other(relay(line).0)
}

fn other(role: Role) -> Role {
    match role {
        Role::Driver => Role::Conductor,
        Role::Conductor => Role::Driver,
    }
}

/// Two calls as one ("a; b"), or none if either is not known.
fn both(a: Option<String>, b: Option<String>) -> Option<String> {
    Some(format!("{}; {}", a?, b?))
}

impl StepFacts {
    /// The signal the stimulus sends.
    fn signal(&self) -> Signal {
        match self.stimulus {
            Stimulus::Key(k) => k.signal(),
            Stimulus::Signal(_, s) => s,
        }
    }

    /// Whether the stimulus reached `role`.
    fn reaches(&self, role: Role) -> bool {
        match self.stimulus {
            Stimulus::Key(_) => true,
            Stimulus::Signal(to, _) => to == role,
        }
    }

    /// "Ctrl-C", or "SIGINT to the conductor".
    fn what(&self) -> String {
        match self.stimulus {
            Stimulus::Key(k) => k.label().to_string(),
            Stimulus::Signal(to, s) => tr!("{s} to the {to}", s = s.as_str(), to = to.name()),
        }
    }

    fn disposition(&self, role: Role, sig: Signal) -> Option<Disposition> {
        let st = match role {
            Role::Driver => self.driver_before.as_ref(),
            Role::Conductor => self.conductor_before.as_ref(),
        }?;
        Some(st.disposition(sig as i32))
    }

    /// The call that sends `sig` from the relay to the printer.
    fn pass_on(&self, idiom: Idiom, sig: Signal) -> Option<String> {
        match printer(self.line) {
            Role::Driver => idiom.signal_parent(sig.as_str()),
            Role::Conductor => idiom.signal_child(sig.as_str()),
        }
    }
}

/// The advice for a step whose faults are `faults` (the first is the check's message).
pub fn step_advice(idiom: Idiom, f: &StepFacts, faults: &[StepFault]) -> Option<String> {
    let first = faults.first()?;
    let n = f.line.number();
    let (relay_role, trigger, notice) = relay(f.line);
    let (relay_name, printer_name) = (relay_role.name(), printer(f.line).name());
    Some(match first {
        StepFault::Unhandled {
            role,
            signal,
            ignore,
            python_interrupt,
            ..
        } => unhandled(idiom, f, *role, *signal, *ignore, *python_interrupt),
        StepFault::DriverEnded(Exit::Signal(s)) => driver_killed(idiom, f, *s),
        StepFault::DriverEnded(Exit::Code(c)) => {
            if faults.iter().any(|x| {
                matches!(
                    x,
                    StepFault::Exited(Role::Conductor)
                        | StepFault::Unhandled {
                            role: Role::Conductor,
                            ..
                        }
                )
            }) {
                // The conductor's end came first: a driver that waits for it then exits.
                conductor_ended(idiom, f, &tr!(", and the driver followed it (status {c})", c = c))
            } else {
                let why = if *c == 0 {
                    String::new()
                } else {
                    tr!(" (a non-zero status: the transcript may show the error)").into()
                };
                idiom.say(
                    tr!("the driver exited by itself at {what}{why}: it must go on waiting for signals until Ctrl-Z", what = f.what(), why = why),
                    idiom.wait_loop(),
                )
            }
        }
        StepFault::Exited(Role::Conductor) => conductor_ended(idiom, f, ""),
        StepFault::Exited(Role::Driver) => match (f.reaches(Role::Driver), f.disposition(Role::Driver, f.signal())) {
            (true, Some(Disposition::Default)) if f.signal() != Signal::SIGTSTP => idiom.say(
                tr!("the driver leaves {signal} at its default action, which ends it: it must ignore it", signal = f.signal().as_str()),
                idiom.ignore(f.signal().as_str()),
            ),
            _ => idiom.say(tr!("the driver must go on waiting for signals until Ctrl-Z"), idiom.wait_loop()),
        },
        StepFault::Stopped(role) => stopped(idiom, f, *role),
        StepFault::WrongPrinter { by, .. } => idiom.say(
            tr!("line {n} is the {printer_name}'s to print, not the {by}'s: the {relay_name}'s {trigger} handler only sends {notice} to the {printer_name}, which prints line {n} in its {arg1} handler", n = n, printer_name = printer_name, by = by.name(), relay_name = relay_name, trigger = trigger.as_str(), notice = notice.as_str(), arg1 = notice.as_str()),
            f.pass_on(idiom, notice),
        ),
        StepFault::Missing { near_miss, text, .. } => {
            let swapped = faults
                .iter()
                .find_map(|x| match x {
                    StepFault::Stray { number, .. } if *number != n => Some(*number),
                    _ => None,
                });
            if let Some(k) = swapped.filter(|k| *k != 3 && n != 3) {
                tr!("{what} gave line {k} instead of line {n}: the conductor answers SIGINT with SIGUSR1 and SIGQUIT with SIGUSR2; the driver prints line 1 on SIGUSR1 and line 2 on SIGUSR2", what = f.what(), k = k, n = n)
            } else if near_miss.is_some() {
                let also = if f.also.is_empty() {
                    String::new()
                } else {
                    let quoted: Vec<String> = f.also.iter().map(|a| format!("\"{a}\"")).collect();
                    tr!(" (or {quoted})", quoted = quoted.join(tr!(" or ")))
                };
                tr!("the text differs from line {n} (see the closest line printed): print \"{text}\"{also} exactly", n = n, text = text, also = also)
            } else if !f.silent {
                tr!("none of the lines printed is line {n}: print \"{text}\"", n = n, text = text)
            } else {
                nothing_printed(idiom, f)
            }
        }
        StepFault::Unterminated { .. } => {
            idiom.say(tr!("end line {n} with a newline", n = n), idiom.end_line())
        }
        StepFault::Repeated { .. } => {
            let sig = f.signal();
            let p = printer(f.line);
            if f.other_wrote_line {
                tr!("both processes printed line {n}: only the {printer_name} prints it; the {relay_name} only sends {notice} to it", n = n, printer_name = printer_name, relay_name = relay_name, notice = notice.as_str())
            } else if sig != notice
                && f.reaches(p)
                && f.disposition(p, sig) == Some(Disposition::Caught)
            {
                idiom.say(
                    tr!("the {printer_name} catches {sig} as well as {notice} and prints line {n} for both: it must ignore {arg1}", printer_name = printer_name, sig = sig.as_str(), notice = notice.as_str(), n = n, arg1 = sig.as_str()),
                    idiom.ignore(sig.as_str()),
                )
            } else {
                tr!("print line {n} once for each {notice}, in the {printer_name}'s {arg1} handler only", n = n, notice = notice.as_str(), printer_name = printer_name, arg1 = notice.as_str())
            }
        }
        StepFault::Stray { number, .. } => tr!("{what} must give line {n} alone, not line {number}: check which signal the {relay_name} sends for which key, and which handler prints which line", what = f.what(), n = n, number = number, relay_name = relay_name),
        StepFault::Unsettled => idiom.say(
            tr!("a process was still busy at the step's deadline: handlers must return at once, and both processes wait asleep"),
            idiom.sleep_wait(),
        ),
    })
}

/// `role` ended when `sig` reached it, not ignoring (`ignore`) or catching it as it must;
/// `python_interrupt`: Python's default handler raised KeyboardInterrupt.
fn unhandled(
    idiom: Idiom,
    f: &StepFacts,
    role: Role,
    sig: Signal,
    ignore: bool,
    python_interrupt: bool,
) -> String {
    let (who, name) = (role.name(), sig.as_str());
    if !ignore {
        return conductor_ended(idiom, f, "");
    }
    if python_interrupt {
        return match idiom.ignore(name) {
            Some(call) => tr!("the {who} does not ignore {name}: Python's default handler raised KeyboardInterrupt; add {call} in the {who}", who = who, name = name, call = call),
            None => tr!("the {who} does not ignore {name}: Python's default handler raised KeyboardInterrupt; make the {who} ignore it", who = who, name = name),
        };
    }
    idiom.say(
        tr!("the {who} must ignore {name} ({what} reaches both processes; only the {other} reacts to it)", who = who, name = name, what = f.what(), other = other(role).name()),
        idiom.ignore(name),
    )
}

/// The driver was killed by `s` during the step.
fn driver_killed(idiom: Idiom, f: &StepFacts, s: i32) -> String {
    let Ok(sig) = Signal::try_from(s) else {
        return tr!(
            "the driver was killed by signal {s}: find what sends it",
            s = s
        );
    };
    let name = sig.as_str();
    let (_, catch) = required(Role::Driver);
    if f.reaches(Role::Driver) && sig == f.signal() && !catch.contains(&sig) {
        return idiom.say(
            tr!("the driver must ignore {name} ({what} reaches both processes; only the conductor reacts to it)", name = name, what = f.what()),
            idiom.ignore(name),
        );
    }
    match sig {
        Signal::SIGUSR1 | Signal::SIGUSR2 => {
            let n = if sig == Signal::SIGUSR1 { 1 } else { 2 };
            idiom.say(
                tr!("the driver was killed by {name}, the conductor's signal for line {n}: the driver must catch {name} and print line {n} in the handler", name = name, n = n),
                idiom.catch(name),
            )
        }
        Signal::SIGSEGV | Signal::SIGBUS | Signal::SIGFPE | Signal::SIGILL | Signal::SIGABRT => {
            tr!("the driver crashed ({name}) at {what}: run it by hand to see where{match}", name = name, what = f.what(), match = match idiom.0 {
                    Language::C => " (build with -g -fsanitize=address)",
                    _ => "",
                })
        }
        _ => tr!("the driver was killed by {name}, which the exercise never sends it: find what sends it", name = name),
    }
}

/// The conductor ended during a step that must leave it waiting; `aside` follows the
/// words that say so.
fn conductor_ended(idiom: Idiom, f: &StepFacts, aside: &str) -> String {
    let sig = f.signal();
    let name = sig.as_str();
    // The signal the conductor sends the driver for the key it got.
    let notice = match sig {
        Signal::SIGINT => Some(Signal::SIGUSR1),
        Signal::SIGQUIT => Some(Signal::SIGUSR2),
        _ => None,
    };
    let send = |s: Signal| idiom.signal_parent(s.as_str());
    match (f.reaches(Role::Conductor), f.disposition(Role::Conductor, sig), notice) {
        (true, Some(Disposition::Default), Some(u)) => idiom.say(
            tr!("the conductor leaves {name} at its default action, which ends it{aside}: the conductor must catch {name} and send {u} to the driver", name = name, aside = aside, u = u.as_str()),
            both(idiom.catch(name), send(u)),
        ),
        (true, Some(Disposition::Caught), Some(u)) => {
            // Python catches SIGINT itself, to raise KeyboardInterrupt.
            let python_own = if idiom.0 == Language::Python && sig == Signal::SIGINT {
                tr!(" (unless it installs its own, Python's handler raises KeyboardInterrupt)")
            } else {
                ""
            };
            idiom.say(
                tr!("the conductor ended when {name} came, though it catches it{python_own}{aside}: the conductor's handler must only send {u} to the driver and return, and the conductor go on waiting", name = name, python_own = python_own, aside = aside, u = u.as_str()),
                both(both(idiom.catch(name), send(u)), idiom.wait_loop()),
            )
        }
        _ => idiom.say(
            tr!("the conductor ended at {what}{aside}: the conductor must go on waiting for signals until Ctrl-Z", what = f.what(), aside = aside),
            idiom.wait_loop(),
        ),
    }
}

/// `role` is stopped after the step.
fn stopped(idiom: Idiom, f: &StepFacts, role: Role) -> String {
    let tstp = Signal::SIGTSTP.as_str();
    let by_key = f.stimulus == Stimulus::Key(Key::CtrlZ);
    match (
        by_key,
        role,
        f.disposition(role, Signal::SIGTSTP),
    ) {
        (true, Role::Conductor, Some(Disposition::Default) | None) => idiom.say(
            tr!("the conductor must ignore SIGTSTP, or Ctrl-Z stops it"),
            idiom.ignore(tstp),
        ),
        (true, Role::Driver, Some(Disposition::Default) | None) => idiom.say(
            tr!("the driver must catch SIGTSTP (or Ctrl-Z stops it) and, in the handler, send SIGUSR1 to the conductor"),
            both(idiom.catch(tstp), idiom.signal_child("SIGUSR1")),
        ),
        _ => tr!("the {role} was stopped though it does not leave SIGTSTP at its default action: something sent it a stop signal (a signal sent to process group 0 reaches both processes)", role = role.name()),
    }
}

/// Nothing at all was printed in a step that had to print a line.
fn nothing_printed(idiom: Idiom, f: &StepFacts) -> String {
    let n = f.line.number();
    let (relay_role, trigger, notice) = relay(f.line);
    let p = printer(f.line);
    let (pn, rn, un, tn) = (
        p.name(),
        relay_role.name(),
        notice.as_str(),
        trigger.as_str(),
    );
    let direct = f.stimulus == Stimulus::Signal(p, notice);
    let flush = idiom.print_flushed();
    match f.disposition(p, notice) {
        Some(Disposition::Caught) | None => {}
        Some(_) => {
            return idiom.say(
                tr!(
                    "the {pn} must catch {un} and print line {n} in the handler",
                    pn = pn,
                    un = un,
                    n = n
                ),
                idiom.catch(un),
            )
        }
    }
    match f.printer_woke {
        Some(true) => idiom.say(
            tr!("the {pn}'s {un} handler ran, but nothing reached the terminal: it must print line {n}, with its newline, and flush it at once", pn = pn, un = un, n = n),
            flush,
        ),
        _ if direct => idiom.say(
            tr!("the {pn} must print line {n} in its {un} handler, with its newline, and flush it at once", pn = pn, n = n, un = un),
            flush,
        ),
        Some(false) => match f.disposition(relay_role, trigger) {
            Some(Disposition::Caught) | None => idiom.say(
                tr!("the {pn} was never sent {un}: the {rn}'s {tn} handler must send it", pn = pn, un = un, rn = rn, tn = tn),
                f.pass_on(idiom, notice),
            ),
            Some(_) => idiom.say(
                tr!("the {rn} must catch {tn} and send {un} to the {pn}", rn = rn, tn = tn, un = un, pn = pn),
                both(idiom.catch(tn), f.pass_on(idiom, notice)),
            ),
        },
        None => {
            let missed = if f.printer_polls {
                tr!(", or its loop missed the flag its {un} handler set (clear a flag only right after acting on it)", un = un)
            } else {
                String::new()
            };
            idiom.say(
                tr!("either the {pn} was never sent {un} (the {rn}'s {tn} handler must send it){missed}, or line {n} stayed in the {pn}'s output buffer (print it with its newline and flush it at once)", pn = pn, un = un, rn = rn, tn = tn, missed = missed, n = n),
                both(f.pass_on(idiom, notice), flush),
            )
        }
    }
}

/// A disposition that is not as the exercise wants it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WrongDisposition {
    pub role: Role,
    pub signal: Signal,
    pub wanted: Disposition,
    pub found: Disposition,
}

/// What `role` needs for `sig`, if the exercise says.
pub fn needed(role: Role, sig: Signal) -> Option<Disposition> {
    let (ignore, catch) = required(role);
    if ignore.contains(&sig) {
        Some(Disposition::Ignored)
    } else if catch.contains(&sig) {
        Some(Disposition::Caught)
    } else {
        None
    }
}

/// A wrong disposition in words: "driver must ignore SIGINT but catches it". A Python
/// driver's caught SIGINT may be Python's own default handler, not one the student wrote.
pub fn disposition_words(idiom: Idiom, w: &WrongDisposition) -> String {
    let verb = match w.wanted {
        Disposition::Ignored => tr!("ignore"),
        _ => tr!("catch"),
    };
    let found = match w.found {
        Disposition::Ignored => tr!("ignores it"),
        Disposition::Caught if idiom.0 == Language::Python && w.signal == Signal::SIGINT => {
            tr!("catches it (with a handler of its own, or Python's default one, which raises KeyboardInterrupt)")
        }
        Disposition::Caught => tr!("catches it"),
        Disposition::Default => tr!("leaves the default action"),
    };
    tr!(
        "{role} must {verb} {s} but {word}",
        role = w.role.name(),
        verb = verb,
        s = w.signal.as_str(),
        word = found
    )
}

/// The advice for a `handlers` check that found `wrong`, the first first.
pub fn handlers_advice(idiom: Idiom, wrong: &[WrongDisposition]) -> Option<String> {
    let w = wrong.first()?;
    let (who, name) = (w.role.name(), w.signal.as_str());
    let first = match w.wanted {
        Disposition::Ignored => idiom.say(
            tr!("the {who} must ignore {name}", who = who, name = name),
            idiom.ignore(name),
        ),
        _ => idiom.say(
            tr!(
                "the {who} must catch {name} with a handler",
                who = who,
                name = name
            ),
            idiom.catch(name),
        ),
    };
    // Python catches SIGINT from the start (its handler raises KeyboardInterrupt): a driver
    // that sets nothing for it has it caught, which is not the conductor's disposition.
    if idiom.0 == Language::Python && w.signal == Signal::SIGINT && w.found == Disposition::Caught {
        return Some(tr!("{first} (a Python program that sets nothing for SIGINT has Python's default handler, which raises KeyboardInterrupt)", first = first));
    }
    // What the other process needs, set before the fork and inherited.
    let theirs = other(w.role);
    let inherited = w.found != Disposition::Default && needed(theirs, w.signal) == Some(w.found);
    Some(if inherited {
        tr!("{first}; it has the {theirs}'s disposition: each process sets its own, after the fork (a child starts with its parent's)", first = first, theirs = theirs.name())
    } else {
        first
    })
}

/// The dispositions `role` has wrong in `st`, in the order of the exercise's table.
pub fn wrong_dispositions(role: Role, st: &Status) -> Vec<WrongDisposition> {
    let (ignore, catch) = required(role);
    ignore
        .iter()
        .map(|s| (*s, Disposition::Ignored))
        .chain(catch.iter().map(|s| (*s, Disposition::Caught)))
        .map(|(signal, wanted)| WrongDisposition {
            role,
            signal,
            wanted,
            found: st.disposition(signal as i32),
        })
        .filter(|w| w.found != w.wanted)
        .collect()
}

#[cfg(test)]
mod tests;
