//! The style × fault matrix of `e2e::matrix`: generated bus programs graded by the real
//! debug `harness`, several at once. Every correct combination must get full marks, every
//! faulty one exactly the verdicts of its fault's model, and no grading may panic or end
//! with any status but 0 or 1. It prints what went wrong and exits 1 if anything did.
//!
//! The suite grades the CI subset (`tests/tests/bus_matrix.rs`); this tool grades any of the
//! sets below and prints what went wrong, by choice. Build the binaries first, then run it:
//!
//! ```sh
//! cargo build --workspace && cargo run -p e2e --example bus_matrix
//! ```
//!
//! By default a CI subset: a pairwise set of correct combinations (every value of every
//! choice, and every pair of values of two choices, at least once) and each fault on three of
//! them, one per kind of child (about a minute on 2 cores). The whole matrix, a 3-wise set of
//! correct combinations (every triple of values of three choices) and each fault on every
//! combination of the pairwise set (about 10 minutes):
//!
//! ```sh
//! BUS_MATRIX=full cargo run -p e2e --example bus_matrix
//! ```
//!
//! `BUS_MATRIX=all` grades every valid correct combination instead (the whole product, about
//! an hour). Also: `BUS_MATRIX_FILTER=<part of a case name>` grades only the matching cases,
//! `BUS_MATRIX_DECLARED=1` grades each case with the declared bus instead, against the same
//! models (as the suite does on the CI subset),
//! `BUS_MATRIX_SEED=<n>` draws another pairwise set, `BUS_MATRIX_JOBS=<n>` sets how many
//! gradings run at once (default: the number of CPUs), `BUS_MATRIX_KEEP=<dir>` keeps the
//! generated programs there, to grade one by hand.

use std::path::PathBuf;

use e2e::matrix::{all_cases, ci_cases, full_cases, DEFAULT_SEED};
use e2e::matrix_grading::run;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let seed = env_or("BUS_MATRIX_SEED", DEFAULT_SEED);
    let which = std::env::var("BUS_MATRIX").unwrap_or_default();
    let (label, mut cases) = match which.as_str() {
        "full" => ("full", full_cases(seed)),
        "all" => ("all", all_cases(seed)),
        "" => ("CI subset", ci_cases(seed)),
        other => panic!("BUS_MATRIX={other}: use full, all, or leave it unset for the CI subset"),
    };
    if let Ok(filter) = std::env::var("BUS_MATRIX_FILTER") {
        cases.retain(|c| c.name().contains(&filter));
    }
    let jobs = env_or(
        "BUS_MATRIX_JOBS",
        std::thread::available_parallelism().map_or(2, |n| n.get()),
    );
    let scratch = tempfile::tempdir().expect("tempdir");
    let programs: PathBuf = match std::env::var("BUS_MATRIX_KEEP") {
        Ok(dir) => PathBuf::from(dir),
        Err(_) => scratch.path().to_path_buf(),
    };
    let declared = std::env::var("BUS_MATRIX_DECLARED").is_ok_and(|v| v == "1");
    let summary = run(label, seed, &cases, &programs, jobs, declared);
    eprintln!("{}", summary.text);
    if summary.wrong > 0 {
        eprintln!(
            "{} of {} gradings went wrong: see the summary above",
            summary.wrong, summary.gradings
        );
        std::process::exit(1);
    }
}
