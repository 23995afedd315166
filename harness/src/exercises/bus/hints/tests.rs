//! The advice of `hints`, chosen by the diagnosis and worded per language: the faults are
//! built by hand, as a step would find them.

use super::*;
use crate::submission::Language::{Other, Python, C};
use crate::supervise::procfs::{sig_bit, RunState};

/// A process's status with the given signals ignored and caught.
fn status(ignored: &[Signal], caught: &[Signal]) -> Status {
    let mask = |s: &[Signal]| s.iter().fold(0, |m, s| m | sig_bit(*s as i32));
    Status {
        state: RunState::Sleeping,
        ppid: 1,
        sig_pnd: 0,
        shd_pnd: 0,
        sig_blk: 0,
        sig_ign: mask(ignored),
        sig_cgt: mask(caught),
        voluntary_switches: 0,
    }
}

/// A driver and a conductor with every disposition right.
fn right() -> (Status, Status) {
    let (di, dc) = required(Role::Driver);
    let (ci, cc) = required(Role::Conductor);
    (status(di, dc), status(ci, cc))
}

fn facts(stimulus: Stimulus, line: Line) -> StepFacts {
    let (d, c) = right();
    StepFacts {
        stimulus,
        line,
        driver_before: Some(d),
        conductor_before: Some(c),
        printer_woke: None,
        printer_polls: false,
        silent: true,
        other_wrote_line: false,
        also: Vec::new(),
    }
}

fn advice(lang: Language, f: &StepFacts, faults: &[StepFault]) -> String {
    step_advice(Idiom(lang), f, faults).expect("a failed step has advice")
}

fn missing(number: u8, near_miss: Option<&str>) -> StepFault {
    StepFault::Missing {
        number,
        text: "老司机开车了".into(),
        near_miss: near_miss.map(str::to_string),
    }
}

#[test]
fn a_driver_killed_by_the_key_is_told_to_ignore_it_in_its_language() {
    let mut f = facts(Stimulus::Key(Key::CtrlC), Line::Go);
    f.driver_before = Some(status(&[Signal::SIGQUIT], &[Signal::SIGUSR1]));
    let faults = [
        StepFault::DriverEnded(Exit::Signal(libc::SIGINT)),
        missing(1, None),
    ];
    let py = advice(Python, &f, &faults);
    assert!(py.starts_with("the driver must ignore SIGINT"), "{py}");
    assert!(
        py.ends_with("signal.signal(signal.SIGINT, signal.SIG_IGN)"),
        "{py}"
    );
    let c = advice(C, &f, &faults);
    assert!(c.ends_with("signal(SIGINT, SIG_IGN)"), "{c}");
    assert!(!c.contains("signal.signal"), "{c}");
    let other = advice(Other, &f, &faults);
    assert!(!other.contains("SIG_IGN"), "{other}");
    assert!(other.contains("must ignore SIGINT"), "{other}");
}

#[test]
fn a_driver_that_exits_after_its_conductor_died_is_not_told_to_ignore_the_key() {
    // A polling driver: its loop sees the conductor gone and exits with status 0.
    let mut f = facts(Stimulus::Key(Key::CtrlC), Line::Go);
    f.conductor_before = Some(status(&[Signal::SIGTSTP], &[Signal::SIGUSR1]));
    let faults = [
        StepFault::DriverEnded(Exit::Code(0)),
        StepFault::Exited(Role::Conductor),
        missing(1, None),
    ];
    for lang in [Python, C, Other] {
        let a = advice(lang, &f, &faults);
        assert!(!a.contains("driver must ignore"), "{a}");
        assert!(
            a.starts_with("the conductor leaves SIGINT at its default action"),
            "{a}"
        );
    }
    assert!(advice(Python, &f, &faults).contains("os.kill(os.getppid(), signal.SIGUSR1)"));
    assert!(advice(C, &f, &faults).contains("kill(getppid(), SIGUSR1)"));
    // A conductor that catches SIGINT and ends in its handler is told so.
    f.conductor_before = Some(right().1);
    let a = advice(Python, &f, &faults);
    assert!(
        a.starts_with("the conductor ended when SIGINT came, though it catches it (unless it installs its own, Python's handler raises KeyboardInterrupt), and the driver followed it (status 0): the conductor's handler"),
        "{a}"
    );
    let a = advice(C, &f, &faults);
    assert!(
        a.starts_with("the conductor ended when SIGINT came, though it catches it, and the driver followed it (status 0)"),
        "{a}"
    );
}

#[test]
fn a_driver_exiting_by_itself_is_told_to_go_on_waiting() {
    let f = facts(Stimulus::Key(Key::CtrlC), Line::Go);
    let faults = [StepFault::DriverEnded(Exit::Code(0))];
    let a = advice(C, &f, &faults);
    assert!(
        a.starts_with("the driver exited by itself at Ctrl-C"),
        "{a}"
    );
    assert!(a.ends_with("for (;;) pause();"), "{a}");
}

#[test]
fn the_driver_printing_line_3_is_told_whose_line_it_is_not_about_sigtstp() {
    // Both processes end after Ctrl-Z, as they should: that is no fault of the step.
    let f = facts(Stimulus::Key(Key::CtrlZ), Line::Arrive);
    let faults = [StepFault::WrongPrinter {
        number: 3,
        by: Role::Driver,
        not: Role::Conductor,
    }];
    for lang in [Python, C, Other] {
        let a = advice(lang, &f, &faults);
        assert!(!a.contains("ignore SIGTSTP"), "{a}");
        assert!(
            a.starts_with("line 3 is the conductor's to print, not the driver's"),
            "{a}"
        );
    }
    assert!(advice(Python, &f, &faults).ends_with("os.kill(child_pid, signal.SIGUSR1)"));
    assert!(advice(C, &f, &faults).ends_with("kill(child_pid, SIGUSR1)"));
}

#[test]
fn a_conductor_printing_line_1_is_told_to_signal_the_driver() {
    let f = facts(Stimulus::Key(Key::CtrlC), Line::Go);
    let faults = [StepFault::WrongPrinter {
        number: 1,
        by: Role::Conductor,
        not: Role::Driver,
    }];
    let a = advice(Python, &f, &faults);
    assert!(a.starts_with("line 1 is the driver's to print"), "{a}");
    assert!(a.ends_with("os.kill(os.getppid(), signal.SIGUSR1)"), "{a}");
}

#[test]
fn a_typo_gets_text_advice_not_signal_wiring() {
    let mut f = facts(Stimulus::Key(Key::CtrlBackslash), Line::Seatbelt);
    f.silent = false;
    f.printer_woke = Some(true);
    let faults = [missing(2, Some("closest line: \"系好安全带，车速有点慢\""))];
    for lang in [Python, C, Other] {
        let a = advice(lang, &f, &faults);
        assert!(a.starts_with("the text differs from line 2"), "{a}");
        assert!(!a.contains("SIGQUIT") && !a.contains("SIGUSR2"), "{a}");
    }
}

#[test]
fn nothing_printed_though_the_handler_ran_gets_flush_advice() {
    let mut f = facts(Stimulus::Key(Key::CtrlC), Line::Go);
    f.printer_woke = Some(true);
    let faults = [missing(1, None)];
    let py = advice(Python, &f, &faults);
    assert!(
        py.starts_with("the driver's SIGUSR1 handler ran, but nothing reached the terminal"),
        "{py}"
    );
    assert!(
        py.contains("flush=True") && py.contains("sys.stdout.flush()"),
        "{py}"
    );
    let c = advice(C, &f, &faults);
    assert!(
        c.contains("fflush(stdout)") && c.contains("setvbuf") && c.contains("write(1"),
        "{c}"
    );
    assert!(!advice(Other, &f, &faults).contains("fflush"));
}

#[test]
fn nothing_printed_and_the_driver_never_woke_gets_relay_advice() {
    let mut f = facts(Stimulus::Key(Key::CtrlC), Line::Go);
    f.printer_woke = Some(false);
    let faults = [missing(1, None)];
    let a = advice(Python, &f, &faults);
    assert!(
        a.starts_with(
            "the driver was never sent SIGUSR1: the conductor's SIGINT handler must send it"
        ),
        "{a}"
    );
    assert!(a.ends_with("os.kill(os.getppid(), signal.SIGUSR1)"), "{a}");
    assert!(advice(C, &f, &faults).ends_with("kill(getppid(), SIGUSR1)"));
    // Where it cannot be told, every cause is named; for a polling driver, its flag too.
    f.printer_woke = None;
    let a = advice(C, &f, &faults);
    assert!(
        a.starts_with("either the driver was never sent SIGUSR1"),
        "{a}"
    );
    assert!(!a.contains("flag"), "{a}");
    f.printer_polls = true;
    let a = advice(C, &f, &faults);
    assert!(
        a.contains("its loop missed the flag its SIGUSR1 handler set"),
        "{a}"
    );
    assert!(
        a.contains("kill(getppid(), SIGUSR1)") && a.contains("fflush(stdout)"),
        "{a}"
    );
}

#[test]
fn a_line_without_its_newline_gets_newline_advice() {
    let f = facts(Stimulus::Key(Key::CtrlC), Line::Go);
    let faults = [StepFault::Unterminated {
        number: 1,
        text: "老司机开车了".into(),
    }];
    assert!(advice(Python, &f, &faults).contains("end=\"\""));
    assert!(advice(C, &f, &faults).contains("printf(\"...\\n\")"));
    assert_eq!(advice(Other, &f, &faults), "end line 1 with a newline");
}

#[test]
fn a_stopped_conductor_is_told_to_ignore_sigtstp() {
    let mut f = facts(Stimulus::Key(Key::CtrlZ), Line::Arrive);
    f.conductor_before = Some(status(
        &[],
        &[Signal::SIGINT, Signal::SIGQUIT, Signal::SIGUSR1],
    ));
    let faults = [StepFault::Stopped(Role::Conductor), missing(3, None)];
    let a = advice(C, &f, &faults);
    assert_eq!(
        a,
        "the conductor must ignore SIGTSTP, or Ctrl-Z stops it: signal(SIGTSTP, SIG_IGN)"
    );
}

#[test]
fn wrong_dispositions_are_advised_in_the_language() {
    let driver = status(
        &[Signal::SIGQUIT],
        &[Signal::SIGUSR1, Signal::SIGUSR2, Signal::SIGTSTP],
    );
    let wrong = wrong_dispositions(Role::Driver, &driver);
    assert_eq!(
        wrong,
        vec![WrongDisposition {
            role: Role::Driver,
            signal: Signal::SIGINT,
            wanted: Disposition::Ignored,
            found: Disposition::Default,
        }]
    );
    let py = handlers_advice(Idiom(Python), &wrong).unwrap();
    assert_eq!(
        py,
        "the driver must ignore SIGINT: signal.signal(signal.SIGINT, signal.SIG_IGN)"
    );
    let c = handlers_advice(Idiom(C), &wrong).unwrap();
    assert_eq!(c, "the driver must ignore SIGINT: signal(SIGINT, SIG_IGN)");
    assert_eq!(handlers_advice(Idiom(C), &[]), None);
    // A conductor with the driver's dispositions had them set before the fork.
    let conductor = status(
        &[Signal::SIGINT, Signal::SIGQUIT],
        &[Signal::SIGUSR1, Signal::SIGUSR2, Signal::SIGTSTP],
    );
    let wrong = wrong_dispositions(Role::Conductor, &conductor);
    let a = handlers_advice(Idiom(Other), &wrong).unwrap();
    assert_eq!(
        a,
        "the conductor must ignore SIGTSTP; it has the driver's disposition: each process sets its own, after the fork (a child starts with its parent's)"
    );
}

/// A Python driver that sets nothing for SIGINT has Python's handler (caught, not
/// ignored): Ctrl-C raises KeyboardInterrupt in it.
fn python_default_driver() -> Status {
    status(
        &[Signal::SIGQUIT],
        &[
            Signal::SIGINT,
            Signal::SIGUSR1,
            Signal::SIGUSR2,
            Signal::SIGTSTP,
        ],
    )
}

#[test]
fn a_python_driver_ended_by_keyboard_interrupt_is_told_so_not_that_it_catches_sigint() {
    let mut f = facts(Stimulus::Key(Key::CtrlC), Line::Go);
    f.driver_before = Some(python_default_driver());
    let fault = StepFault::Unhandled {
        role: Role::Driver,
        signal: Signal::SIGINT,
        ignore: true,
        by: "Ctrl-C".into(),
        python_interrupt: true,
    };
    assert_eq!(
        fault.to_string(),
        "the driver does not ignore SIGINT: Python's default handler raised KeyboardInterrupt at Ctrl-C, which ended the driver"
    );
    assert_eq!(
        advice(Python, &f, std::slice::from_ref(&fault)),
        "the driver does not ignore SIGINT: Python's default handler raised KeyboardInterrupt; add signal.signal(signal.SIGINT, signal.SIG_IGN) in the driver"
    );
    let c = StepFault::Unhandled {
        role: Role::Driver,
        signal: Signal::SIGINT,
        ignore: true,
        by: "Ctrl-C".into(),
        python_interrupt: false,
    };
    assert_eq!(
        c.to_string(),
        "the driver does not ignore SIGINT: Ctrl-C ended it"
    );
    assert_eq!(
        advice(C, &f, &[c]),
        "the driver must ignore SIGINT (Ctrl-C reaches both processes; only the conductor reacts to it): signal(SIGINT, SIG_IGN)"
    );
    // `handlers` does not call Python's own handler the conductor's, set before the fork.
    let wrong = wrong_dispositions(Role::Driver, &python_default_driver());
    let a = handlers_advice(Idiom(Python), &wrong).unwrap();
    assert!(!a.contains("conductor's disposition"), "{a}");
    assert!(a.contains("KeyboardInterrupt"), "{a}");
}

#[test]
fn a_typo_is_told_the_accepted_forms_not_where_they_are_listed() {
    let mut f = facts(Stimulus::Key(Key::CtrlBackslash), Line::Seatbelt);
    f.silent = false;
    f.also = vec!["车速有点快，系好安全带".into()];
    let faults = [missing(2, Some("closest line: \"系好安全带\""))];
    let a = advice(Python, &f, &faults);
    assert!(a.contains("(or \"车速有点快，系好安全带\")"), "{a}");
    assert!(!a.contains("config"), "{a}");
}
