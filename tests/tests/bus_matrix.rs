//! The style × fault matrix's CI subset (`e2e::matrix::ci_cases`): generated bus programs,
//! written the many ways students write them, each graded once by the debug `harness`.
//! Every correct combination must get full marks and every faulty one exactly the verdicts
//! of its fault's model, with no panic, no exit status but 0 or 1, and nothing left running.
//! The declared bus is held to the same models in `declared_bus.rs`. The whole matrix:
//! `BUS_MATRIX=full cargo run -p e2e --example bus_matrix`.

use e2e::matrix::{ci_cases, DEFAULT_SEED};
use e2e::matrix_grading::run;

#[test]
fn every_ci_combination_gets_its_models_verdicts() {
    let cases = ci_cases(DEFAULT_SEED);
    assert!(cases.len() >= 50, "the CI subset shrank to {}", cases.len());
    let programs = tempfile::tempdir().expect("tempdir");
    // Two at a time: the gradings must not depend on load, and the suite runs beside it.
    let summary = run("CI subset", DEFAULT_SEED, &cases, programs.path(), 2, false);
    assert_eq!(summary.gradings, cases.len());
    assert_eq!(summary.wrong, 0, "{}", summary.text);
}
