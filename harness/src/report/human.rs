//! The terminal report: one line per check, and for a failure everything needed to
//! understand it (what was done, expected, seen, processes, transcript, hint). Transcript
//! text is escaped: student output never reaches the instructor's terminal raw.

use std::fmt::Write;

use super::{CheckOutcome, Report, Status, TranscriptPiece, TranscriptView};
use crate::text::escape;

/// Colours, only on a terminal and without `NO_COLOR`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    pub color: bool,
}

impl Style {
    fn paint(self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
}

fn status_label(style: Style, c: &CheckOutcome) -> String {
    let (label, code) = match c.status {
        Status::Passed => ("PASS", "32"),
        Status::Failed if c.is_warning() => ("WARN", "33"),
        Status::Failed => ("FAIL", "31"),
        Status::Skipped => ("SKIP", "2"),
        Status::Error => ("ERROR", "35"),
    };
    style.paint(code, &format!("{label:<5}"))
}

pub fn render(report: &Report, style: Style) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} — {}",
        report.exercise,
        escape::one_line(report.submission.path.as_bytes())
    );
    let _ = writeln!(
        out,
        "  ran: {}",
        escape::one_line(report.submission.command.as_bytes())
    );
    if let Some(i) = &report.interpreter {
        let _ = writeln!(out, "  interpreter: {} ({})", i.path, i.version);
    }
    for (k, item) in report.isolation.iter().enumerate() {
        let label = if k == 0 { "isolation:" } else { "" };
        let _ = writeln!(out, "  {label:<10} {item}");
    }
    out.push('\n');
    for c in &report.checks {
        let _ = writeln!(
            out,
            "{} {:<15} {:>3}/{:<3} {}",
            status_label(style, c),
            c.id,
            c.points,
            c.max_points,
            c.message
        );
        if c.shows_details() {
            render_details(&mut out, c);
        }
    }
    if !report.notes.is_empty() {
        out.push('\n');
        for n in &report.notes {
            let _ = writeln!(out, "{} {n}", style.paint("33", "NOTE "));
        }
    }
    out.push('\n');
    let _ = write!(out, "Score: {}/{}", report.score, report.max_score);
    if let Some(ms) = report.duration_ms {
        let _ = write!(out, "  ({} runs, {} ms)", report.runs, ms);
    }
    out.push('\n');
    out
}

fn render_details(out: &mut String, c: &CheckOutcome) {
    const IND: &str = "      ";
    render_facts(out, c, IND);
    if let Some(t) = &c.transcript {
        render_transcript(out, t, IND);
    }
}

/// What was done, expected and seen, the details, the processes and the hint of a check, a
/// line each after `indent` (the transcript apart): the human report's block, and the plain
/// text of the other sinks.
pub fn render_facts(out: &mut String, c: &CheckOutcome, indent: &str) {
    if !c.actions.is_empty() {
        let _ = writeln!(out, "{indent}done:     {}", c.actions.join(", "));
    }
    if let Some(e) = &c.expected {
        let _ = writeln!(out, "{indent}expected: {e}");
    }
    if let Some(s) = &c.seen {
        let _ = writeln!(out, "{indent}seen:     {s}");
    }
    for d in &c.details {
        let _ = writeln!(out, "{indent}- {d}");
    }
    for p in &c.processes {
        match p.pid {
            Some(pid) => {
                let _ = writeln!(out, "{indent}{} (pid {pid}): {}", p.role, p.state);
            }
            None => {
                let _ = writeln!(out, "{indent}{}: {}", p.role, p.state);
            }
        }
    }
    if let Some(h) = &c.hint {
        let _ = writeln!(out, "{indent}hint:     {h}");
    }
}

/// The transcript as a block, one `│ ` line per output line, actions marked `⟨…⟩` inline.
pub fn render_transcript(out: &mut String, t: &TranscriptView, indent: &str) {
    let mut text = String::new();
    for p in &t.pieces {
        match p {
            TranscriptPiece::Output(s) => text.push_str(&escape::controls(s)),
            TranscriptPiece::Action(a) => {
                let _ = write!(text, "⟨{a}⟩");
            }
        }
    }
    let text = text.replace("\\r\n", "\n");
    let _ = writeln!(out, "{indent}transcript:");
    if text.is_empty() {
        let _ = writeln!(out, "{indent}  │ (no output)");
    }
    for line in text.lines() {
        let _ = writeln!(out, "{indent}  │ {line}");
    }
    if t.dropped_bytes > 0 {
        let _ = writeln!(
            out,
            "{indent}  │ … {} more bytes not kept (output cap reached)",
            t.dropped_bytes
        );
    }
}
