//! The shape of the grader's source, kept true by tests: no import circle between its
//! modules, no file over 700 lines, process control only in `supervise/`, and the front
//! (grade, catalog, CLI, batch, main) naming no exercise.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file below `dir`, with its text up to its unit tests (tests may reach
/// anywhere).
fn sources(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(sources(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).unwrap();
            let code = text.split("#[cfg(test)]\nmod tests").next().unwrap_or("");
            out.push((path, code.to_string()));
        }
    }
    out.sort();
    out
}

/// The top-level module a file belongs to (`exercises`, `supervise`, …).
fn top_module(path: &Path) -> String {
    let rel = path.strip_prefix(src()).unwrap();
    let first = rel
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_string_lossy();
    first.trim_end_matches(".rs").to_string()
}

/// The top-level modules each module names with `crate::…`.
fn imports() -> BTreeMap<String, BTreeSet<String>> {
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (path, code) in sources(&src()) {
        let me = top_module(&path);
        for (i, _) in code.match_indices("crate::") {
            let rest = &code[i + "crate::".len()..];
            let them: String = rest
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                .collect();
            if !them.is_empty() && them != me {
                graph.entry(me.clone()).or_default().insert(them);
            }
        }
    }
    graph
}

/// A path from `from` back to itself, if there is one.
fn circle(graph: &BTreeMap<String, BTreeSet<String>>, from: &str) -> Option<Vec<String>> {
    let mut stack = vec![vec![from.to_string()]];
    let mut seen = BTreeSet::new();
    while let Some(path) = stack.pop() {
        let last = path.last().unwrap();
        for next in graph.get(last).into_iter().flatten() {
            if next == from {
                let mut c = path.clone();
                c.push(next.clone());
                return Some(c);
            }
            if seen.insert(next.clone()) {
                let mut p = path.clone();
                p.push(next.clone());
                stack.push(p);
            }
        }
    }
    None
}

#[test]
fn no_module_imports_one_that_imports_it_back() {
    let graph = imports();
    assert!(
        graph.contains_key("grade"),
        "the scan found nothing: {graph:?}"
    );
    let circles: Vec<String> = graph
        .keys()
        .filter_map(|m| circle(&graph, m))
        .map(|c| c.join(" -> "))
        .collect();
    assert!(circles.is_empty(), "import circles: {circles:#?}");
}

#[test]
fn no_source_file_is_over_700_lines() {
    let long: Vec<String> = sources(&src())
        .into_iter()
        .filter_map(|(p, _)| {
            let n = std::fs::read_to_string(&p).unwrap().lines().count();
            (n > 700).then(|| format!("{} ({n} lines)", p.display()))
        })
        .collect();
    assert!(long.is_empty(), "{long:?}");
}

#[test]
fn process_control_lives_in_supervise() {
    let calls = [
        "libc::fork",
        "libc::kill",
        "libc::killpg",
        "libc::setsid",
        "libc::unshare",
        "libc::mount",
        "libc::umount",
        "SYS_pidfd_open",
        "signal::kill",
        "killpg(",
        "unistd::fork",
        "unistd::setsid",
        "pre_exec",
        "tcgetpgrp",
        ".kill()",
    ];
    let mut found = Vec::new();
    for (path, code) in sources(&src()) {
        if top_module(&path) == "supervise" {
            continue;
        }
        for call in calls {
            if code.contains(call) {
                found.push(format!("{}: {call}", path.display()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "process control outside supervise/: {found:#?}"
    );
}

#[test]
fn the_front_names_no_exercise() {
    let front = ["grade.rs", "catalog.rs", "cli.rs", "main.rs", "batch"];
    let names = ["bus", "fileserver", "Bus", "Fileserver"];
    let mut found = Vec::new();
    for (path, code) in sources(&src()) {
        let rel = path
            .strip_prefix(src())
            .unwrap()
            .to_string_lossy()
            .to_string();
        if !front
            .iter()
            .any(|f| rel == *f || rel.starts_with(&format!("{f}/")))
        {
            continue;
        }
        for (n, line) in code.lines().enumerate() {
            let words = line.split(|c: char| !c.is_alphanumeric() && c != '_');
            if let Some(name) = words.into_iter().find(|w| names.contains(w)) {
                found.push(format!("{rel}:{}: {name}: {}", n + 1, line.trim()));
            }
        }
    }
    assert!(found.is_empty(), "{found:#?}");
}
