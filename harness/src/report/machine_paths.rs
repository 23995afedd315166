//! The paths of the grading machine, taken out of what people read. A report's text can
//! hold the run's temporary directory (`/tmp/harness-run-…/submission/bus.py` in a
//! traceback) and the interpreter's installation (`/root/.pyenv/versions/3.11.7/…`): the
//! student knows neither, and the instructor learns nothing from them. The human, Markdown
//! and Gradescope reports show `bus.py`, `<run dir>`, `<python>/…` and the interpreter as
//! `python3 3.11.7`; the JSON report keeps every path as it was.

use super::{CheckOutcome, Report, TranscriptPiece};

/// `text` without the machine paths of grading `r`: a path in the submission's copy
/// becomes the path the student knows (`bus.py`), the rest of a run directory
/// `<run dir>`, the interpreter's installation `<python>`.
pub fn without_machine_paths(text: &str, r: &Report) -> String {
    let mut out = text.to_string();
    let mut dirs: Vec<&str> = r.run_dirs.iter().map(String::as_str).collect();
    dirs.push("<workdir>");
    for d in dirs.into_iter().filter(|d| d.len() > 1) {
        out = out
            .replace(&format!("{d}/submission/"), "")
            .replace(d, "<run dir>");
    }
    if let Some(i) = &r.interpreter {
        let exe = std::path::Path::new(&i.path);
        // `<prefix>/bin/python3`: the prefix holds the standard library of tracebacks.
        let prefix = exe.parent().and_then(|bin| bin.parent());
        if let Some(name) = exe.file_name().and_then(|n| n.to_str()) {
            out = out.replace(&i.path, name);
        }
        if let Some(p) = prefix.and_then(|p| p.to_str()).filter(|p| p.len() > 1) {
            out = out.replace(&format!("{p}/"), "<python>/");
        }
    }
    out
}

/// The interpreter as people read it: its name and version (`python3 3.11.7`).
pub fn interpreter_shown(r: &Report) -> Option<String> {
    let i = r.interpreter.as_ref()?;
    let name = std::path::Path::new(&i.path)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or(&i.path);
    Some(format!("{name} {}", i.version))
}

/// A copy of `r` whose every text (messages, facts, processes, transcript, command) is
/// [`without_machine_paths`]; the interpreter and the run directories are kept, so the
/// renderers can still name them.
pub fn for_people(r: &Report) -> Report {
    let clean = |t: &str| without_machine_paths(t, r);
    let mut shown = r.clone();
    shown.submission.command = clean(&r.submission.command);
    shown.notes = r.notes.iter().map(|n| clean(n)).collect();
    for c in &mut shown.checks {
        clean_check(c, &clean);
    }
    shown
}

fn clean_check(c: &mut CheckOutcome, clean: &dyn Fn(&str) -> String) {
    c.message = clean(&c.message);
    for text in c
        .actions
        .iter_mut()
        .chain(c.details.iter_mut())
        .chain(c.expected.iter_mut())
        .chain(c.seen.iter_mut())
        .chain(c.hint.iter_mut())
    {
        *text = clean(text);
    }
    for p in &mut c.processes {
        p.role = clean(&p.role);
        p.state = clean(&p.state);
    }
    if let Some(t) = &mut c.transcript {
        for piece in &mut t.pieces {
            match piece {
                TranscriptPiece::Output(s) | TranscriptPiece::Action(s) => *s = clean(s),
            }
        }
    }
}
