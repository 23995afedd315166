//! The bus declared in the instructors' format (`exercises/bus/declared.toml`) beside the
//! built-in bus: what the tests that compare their verdicts share (every bus sample,
//! `tests/tests/declared_bus.rs`; the matrix's CI subset, `tests/tests/bus_matrix.rs`).

use std::collections::BTreeSet;

use crate::matrix::Fault;

pub const FILE: &str = "exercises/bus/declared.toml";
pub const NAME: &str = "bus-declared";

/// The arguments that grade with the declared bus.
pub const ARGS: [&str; 4] = ["--exercise-file", FILE, "--exercise", NAME];

/// Checks of the built-in bus the declared file does not have, and why.
pub const NOT_SAID: &[(&str, &str)] = &[(
    "handlers",
    "it reads the signal dispositions from /proc/PID/status (SigIgn, SigCgt) once the \
     program is ready; a declared check sees only what a signal does, not how the \
     process is set to take it, so a late handler or one installed before fork is \
     judged by its effects in the key checks",
)];

/// Why `repeat` differs where Ctrl-C kills the driver.
pub const KEY_KILLED: &str = "the built-in sends SIGINT to the conductor alone in place of a \
     Ctrl-C that killed the driver, so repeat judges the sequence and passes while ctrl-c \
     alone costs points; the declared repeat types its keys as written, so it needs ctrl-c \
     (and is skipped, costing its points) rather than fail on the same fault again";

/// Why `exit-order` and `cleanup` differ where line 3 is misspelt.
pub const LINE_3_WRONG: &str = "the built-in judges the ending on its own once Ctrl-Z was \
     typed, whatever line 3 said; the declared exit-order and cleanup need ctrl-z (a \
     check's prerequisites are all or nothing) and are skipped, costing their points: \
     replaying the ending on a fresh run would type Ctrl-Z a second time on the run \
     ctrl-z passed on, where a polling program may not have ended yet";

/// Where a generated program of the matrix with `fault` may get another status for
/// `check` from the declared bus than from the built-in, and why.
pub fn matrix_difference(fault: Option<Fault>, check: &str) -> Option<&'static str> {
    match (fault, check) {
        (Some(Fault::DiesOnCtrlC), "repeat") => Some(KEY_KILLED),
        (Some(Fault::WrongText), "exit-order" | "cleanup") => Some(LINE_3_WRONG),
        _ => None,
    }
}

/// A check's status in a JSON report.
pub fn status_of(report: &serde_json::Value, id: &str) -> Option<String> {
    check_of(report, id).map(|c| c["status"].as_str().unwrap_or("").to_string())
}

fn check_of<'a>(report: &'a serde_json::Value, id: &str) -> Option<&'a serde_json::Value> {
    report["checks"].as_array()?.iter().find(|c| c["id"] == id)
}

/// A check's message in a JSON report (empty when it has none).
pub fn message_of(report: &serde_json::Value, id: &str) -> String {
    check_of(report, id)
        .map(|c| c["message"].as_str().unwrap_or("").to_string())
        .unwrap_or_default()
}

/// The check ids of a JSON report.
pub fn ids(report: &serde_json::Value) -> BTreeSet<String> {
    report["checks"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|c| c["id"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// One check on which the two disagree.
#[derive(Debug, Clone)]
pub struct Difference {
    pub check: String,
    pub builtin: Option<String>,
    pub declared: Option<String>,
    /// The declared check's message: what it saw.
    pub message: String,
}

/// Compares the declared report with the built-in's: a check of either that the other
/// lacks (the built-in's `NOT_SAID` apart), and every check whose status differs.
pub fn differences(builtin: &serde_json::Value, declared: &serde_json::Value) -> Vec<Difference> {
    let (b, d) = (ids(builtin), ids(declared));
    let not_said: BTreeSet<String> = NOT_SAID.iter().map(|(id, _)| id.to_string()).collect();
    let mut out = Vec::new();
    for id in b.union(&d) {
        if not_said.contains(id) && !d.contains(id) {
            continue;
        }
        let (sb, sd) = (status_of(builtin, id), status_of(declared, id));
        if sb != sd {
            out.push(Difference {
                check: id.clone(),
                builtin: sb,
                declared: sd,
                message: message_of(declared, id),
            });
        }
    }
    out
}
