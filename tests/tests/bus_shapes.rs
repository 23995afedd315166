//! Shapes of real bus programs whose reports cannot be pinned (what they print depends on
//! timing), graded for their verdicts alone.

use e2e::{grade_json, processes_under, statuses, workspace_root};

#[test]
fn a_driver_printing_progress_lines_while_it_waits_passes_every_check() {
    let rel = std::path::Path::new("tests/fixtures/shapes/progress-lines");
    assert!(workspace_root().join(rel).join("bus.py").is_file());
    let tmp = tempfile::tempdir().unwrap();
    let (code, report, _) = grade_json(rel, tmp.path());
    let failing: Vec<(String, String)> = statuses(&report)
        .into_iter()
        .filter(|(_, s)| s != "passed")
        .collect();
    assert!(failing.is_empty(), "{failing:?}\n{report:#}");
    assert_eq!(code, 0);
    assert!(processes_under(tmp.path()).is_empty());
}
