//! The exercises, one folder each (its config, its checks declared once, the code that
//! judges them), and the registry: the one list the rest of the grader goes through.

pub mod bus;
pub mod declared;
#[cfg(test)]
pub mod echo;
pub mod fileserver;

use crate::grading::Registered;

/// Every exercise the grader knows, in the order `harness list` shows them. A submission
/// holding none of their programs is graded as the first.
pub static REGISTRY: &[&dyn Registered] = &[
    &bus::Bus,
    &fileserver::Fileserver,
    #[cfg(test)]
    &echo::Echo,
];

/// The exercises compiled in.
pub fn compiled_in() -> &'static [&'static dyn Registered] {
    REGISTRY
}

/// Every exercise known to this process: the compiled-in ones, then those declared in files
/// it has read (`declared::register`), in the order read.
pub fn all() -> Vec<&'static dyn Registered> {
    REGISTRY
        .iter()
        .copied()
        .chain(declared::registered())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::REGISTRY;

    #[test]
    fn every_shipped_config_loads_under_its_own_name_with_unique_check_ids() {
        for ex in REGISTRY {
            let loaded = ex.load(ex.shipped(), "shipped").unwrap();
            assert_eq!(loaded.scoring.exercise.name, ex.name());
            assert!(!loaded.programs().is_empty(), "{}", ex.name());
            let checks = ex.checks();
            for (i, c) in checks.iter().enumerate() {
                assert!(
                    !checks[..i].iter().any(|d| d.id == c.id),
                    "{}: {} is declared twice",
                    ex.name(),
                    c.id
                );
                for need in c.needs {
                    // A prerequisite is judged before the checks that need it.
                    assert!(
                        checks[..i].iter().any(|d| d.id == *need),
                        "{}:{} needs {need}, not declared before it",
                        ex.name(),
                        c.id
                    );
                }
            }
        }
        let mut names: Vec<&str> = REGISTRY.iter().map(|e| e.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(
            names.len(),
            REGISTRY.len(),
            "an exercise is registered twice"
        );
    }
}
