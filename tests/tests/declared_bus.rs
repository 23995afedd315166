//! The bus declared in the instructors' format (`exercises/bus/declared.toml`) against the
//! built-in bus: every bus sample graded once by each, the same verdict (status) for every
//! check both have. What the format cannot say is listed here with the reason, and so is
//! every sample on which a check's verdict differs; a listed difference that no longer
//! happens fails the test as much as an unlisted one (README: "The bus, declared").

use std::collections::BTreeSet;

use e2e::{grade_json, grade_json_with, processes_under, samples, workspace_root};

const FILE: &str = "exercises/bus/declared.toml";
const NAME: &str = "bus-declared";

/// Checks of the built-in bus the declared file does not have, and why.
const NOT_SAID: &[(&str, &str)] = &[(
    "handlers",
    "it reads the signal dispositions from /proc/PID/status (SigIgn, SigCgt) once the \
     program is ready; a declared check sees only what a signal does, not how the \
     process is set to take it, so a late handler or one installed before fork is \
     judged by its effects in the key checks",
)];

/// (sample, check, why) where the two give another status. The built-in adapts its later
/// steps to an earlier fault (one fault, one check); a declared scenario's steps are fixed.
const DIFFERENT: &[(&str, &str, &str)] = &[
    ("c-driver-dies-on-ctrl-c", "repeat", KEY_KILLED),
    ("driver-dies-on-ctrl-c", "repeat", KEY_KILLED),
    ("driver-keyboard-interrupt", "repeat", KEY_KILLED),
];

/// Why `repeat` differs where Ctrl-C kills the driver.
const KEY_KILLED: &str = "the built-in sends SIGINT to the conductor alone in place of a \
     Ctrl-C that killed the driver, so repeat judges the sequence and passes while ctrl-c \
     alone costs points; the declared repeat types its keys as written, so it needs ctrl-c \
     (and is skipped, costing its points) rather than fail on the same fault again";

/// Grades with the built-in bus and with the declared one, at most seven gradings at once
/// (they wait on the program, not the CPU), and returns each sample's two reports.
fn both_reports() -> Vec<(String, serde_json::Value, serde_json::Value)> {
    let all = samples("bus");
    let grade_both = |dir: &std::path::Path| {
        let rel = dir.strip_prefix(workspace_root()).unwrap().to_path_buf();
        let tmp = tempfile::tempdir().unwrap();
        let (_, builtin, _) = grade_json(&rel, tmp.path());
        let args = ["--exercise-file", FILE, "--exercise", NAME];
        let (_, declared, _) = grade_json_with(&rel, &args, tmp.path());
        assert!(processes_under(tmp.path()).is_empty(), "leftover processes");
        (builtin, declared)
    };
    let mut out = Vec::new();
    for chunk in all.chunks(7) {
        std::thread::scope(|s| {
            let handles: Vec<_> = chunk
                .iter()
                .map(|(name, dir)| (name, s.spawn(|| grade_both(dir))))
                .collect();
            for (name, h) in handles {
                let (b, d) = h.join().unwrap();
                out.push((name.clone(), b, d));
            }
        });
    }
    out
}

fn status_of(report: &serde_json::Value, id: &str) -> Option<String> {
    report["checks"]
        .as_array()?
        .iter()
        .find(|c| c["id"] == id)
        .map(|c| c["status"].as_str().unwrap_or("").to_string())
}

fn ids(report: &serde_json::Value) -> BTreeSet<String> {
    report["checks"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|c| c["id"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn the_declared_bus_gives_the_built_in_verdicts_on_every_bus_sample() {
    let reports = both_reports();
    assert!(reports.len() >= 28, "every bus sample");
    let mut differ = BTreeSet::new();
    let mut shown = Vec::new();
    for (name, builtin, declared) in &reports {
        assert_eq!(declared["exercise"], NAME, "{name}");
        let (b, d) = (ids(builtin), ids(declared));
        let missing: BTreeSet<&String> = b.difference(&d).collect();
        let said: BTreeSet<&String> = NOT_SAID.iter().filter_map(|(id, _)| b.get(*id)).collect();
        assert_eq!(missing, said, "{name}: checks of the built-in not declared");
        assert!(
            d.is_subset(&b),
            "{name}: a declared check the built-in lacks"
        );
        for id in &d {
            let (sb, sd) = (status_of(builtin, id), status_of(declared, id));
            if sb != sd {
                differ.insert((name.clone(), id.clone()));
                shown.push(format!(
                    "{name} {id}: built-in {sb:?}, declared {sd:?}\n  declared: {}",
                    declared["checks"]
                        .as_array()
                        .and_then(|a| a.iter().find(|c| c["id"] == id.as_str()))
                        .map(|c| c["message"].to_string())
                        .unwrap_or_default()
                ));
            }
        }
    }
    let listed: BTreeSet<(String, String)> = DIFFERENT
        .iter()
        .map(|(s, c, _)| (s.to_string(), c.to_string()))
        .collect();
    assert_eq!(
        differ,
        listed,
        "verdicts that differ, against those listed in DIFFERENT:\n{}",
        shown.join("\n")
    );
}
