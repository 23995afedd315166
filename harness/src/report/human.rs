//! The terminal report: one line per check, and for a failure everything needed to
//! understand it (what was done, expected, seen, processes, transcript, hint). Transcript
//! text is escaped: student output never reaches the instructor's terminal raw.

use std::fmt::Write;

use super::{CheckOutcome, Report, Status, TranscriptPiece, TranscriptView};
use crate::text::escape;
use crate::{i18n, tr};

/// How the report is shown: colours only on a terminal and without `NO_COLOR`; the
/// isolation in force item by item only with `--verbose` (one line otherwise: it is the
/// same for every student on a machine).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Style {
    pub color: bool,
    pub verbose: bool,
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
        Status::Passed => (tr!("PASS"), "32"),
        Status::Failed if c.shown_as_warning() => (tr!("WARN"), "33"),
        Status::Failed => (tr!("FAIL"), "31"),
        Status::Skipped => (tr!("SKIP"), "2"),
        Status::Error => (tr!("ERROR"), "35"),
    };
    style.paint(code, &i18n::pad(label, 5))
}

pub fn render(full: &Report, style: Style) -> String {
    // Paths of the grading machine are left out (`bus.py` in a traceback); `--verbose` names
    // the interpreter's executable, the JSON report keeps them all.
    let shown = super::machine_paths::for_people(full);
    let report = &shown;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} — {}",
        report.exercise,
        escape::one_line(report.submission.path.as_bytes())
    );
    let command = escape::one_line(report.submission.command.as_bytes());
    let _ = writeln!(out, "  {}", tr!("ran: {command}", command = command));
    if let Some(i) = &report.interpreter {
        if style.verbose {
            let (path, version) = (&i.path, &i.version);
            let _ = writeln!(
                out,
                "  {}",
                tr!(
                    "interpreter: {path} ({version})",
                    path = path,
                    version = version
                )
            );
        } else if let Some(name) = super::machine_paths::interpreter_shown(report) {
            let _ = writeln!(out, "  {}", tr!("interpreter: {name}", name = name));
        }
    }
    if style.verbose {
        for (k, item) in report.isolation.iter().enumerate() {
            let label = if k == 0 { tr!("isolation:") } else { "" };
            let _ = writeln!(out, "  {} {item}", i18n::pad(label, 10));
        }
    } else if !report.isolation.is_empty() {
        let summary = isolation_summary(&report.isolation);
        let _ = writeln!(
            out,
            "  {}",
            tr!(
                "isolation: {summary} (--verbose for details)",
                summary = summary
            )
        );
    }
    out.push('\n');
    // The id column is as wide as the longest id, so the points line up whatever the ids.
    let width = report
        .checks
        .iter()
        .map(|c| c.id.chars().count())
        .max()
        .unwrap_or(0)
        .max(15);
    for c in &report.checks {
        let _ = writeln!(
            out,
            "{} {:<width$} {:>3}/{:<3} {}",
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
    if let Some(first) = report.first_fix() {
        let (id, message) = (&first.id, &first.message);
        let _ = writeln!(
            out,
            "\n{}{}",
            style.paint("1", tr!("Fix first:")),
            tr!(
                " {id}: {message} (checks marked \"because of {id}\" follow from it)",
                id = id,
                message = message
            )
        );
    }
    if !report.notes.is_empty() {
        out.push('\n');
        for n in &report.notes {
            let _ = writeln!(out, "{} {n}", style.paint("33", &i18n::pad(tr!("NOTE"), 5)));
        }
    }
    out.push('\n');
    let (score, max) = (report.score, report.max_score);
    let _ = write!(
        out,
        "{}",
        tr!("Score: {score}/{max}", score = score, max = max)
    );
    if let Some(ms) = report.duration_ms {
        let runs = match report.runs {
            1 => tr!("1 run").to_string(),
            n => tr!("{n} runs", n = n),
        };
        let _ = write!(out, "  ({runs}, {ms} ms)");
    }
    out.push('\n');
    out
}

/// The isolation items in a few words each, on one line: what each one is about (the words
/// before its particulars: parentheses, a colon, a semicolon), with the usual long
/// phrasings shortened.
pub fn isolation_summary(items: &[String]) -> String {
    // In the report's language: the items were written in it (`Sandbox::describe`).
    let short = [
        (tr!("runs as a user of its own"), tr!("own user")),
        (tr!("runs as the grader's user"), tr!("the grader's user")),
        (tr!("network namespace of its own"), tr!("own network")),
        (
            tr!("user and network namespace of its own"),
            tr!("own network"),
        ),
        (tr!("shares the machine's network"), tr!("shared network")),
        (tr!("own mount and IPC namespaces"), tr!("own /tmp")),
        (tr!("shares /tmp with the machine"), tr!("shared /tmp")),
        (tr!("its directory watched"), tr!("disk watched")),
        (tr!("no control groups"), tr!("no cgroups")),
        (tr!("limits per process"), tr!("limits")),
    ];
    items
        .iter()
        .map(|item| {
            let head = item
                .split([':', ';', '(', '：', '；', '（', '，'])
                .next()
                .unwrap_or(item)
                .trim()
                .trim_end_matches(" per grading")
                .trim_end_matches(" per run");
            if let Some(mib) = head.strip_prefix(tr!("writes limited to ")) {
                return tr!("{mib} disk", mib = mib);
            }
            if head.contains("cgroup") {
                return "cgroups".to_string();
            }
            short
                .iter()
                .find(|(long, _)| head == *long)
                .map_or_else(|| head.to_string(), |(_, short)| short.to_string())
        })
        .collect::<Vec<_>>()
        .join(", ")
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
        let _ = writeln!(
            out,
            "{indent}{}{}",
            label(tr!("done:")),
            c.actions.join(", ")
        );
    }
    if let Some(e) = &c.expected {
        labelled(out, indent, &label(tr!("expected:")), e);
    }
    if let Some(s) = &c.seen {
        labelled(out, indent, &label(tr!("seen:")), s);
    }
    for d in &c.details {
        labelled(out, indent, "- ", d);
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
        let _ = writeln!(out, "{indent}{}{h}", label(tr!("hint:")));
    }
    for n in &c.notes {
        labelled(out, indent, "note:     ", n);
    }
}

/// A label of the facts block, padded to the width of the longest (`expected: `).
fn label(text: &str) -> String {
    let width = match i18n::current() {
        i18n::Lang::En => 10,
        // Two-column characters and a full-width colon: `期望：`.
        i18n::Lang::Zh => 6,
    };
    i18n::pad(text, width)
}

/// `label` and `text` after `indent`; text of several lines (a traceback, a compiler's
/// messages) goes on as lines of their own, aligned under the first. The text is already
/// escaped (only `\n` and `\t` are left as they are), so no line can do anything but show.
fn labelled(out: &mut String, indent: &str, label: &str, text: &str) {
    let mut lines = text.trim_end_matches('\n').split('\n');
    let _ = writeln!(out, "{indent}{label}{}", lines.next().unwrap_or(""));
    let pad = " ".repeat(label.chars().map(i18n::columns).sum());
    for line in lines {
        let _ = writeln!(out, "{indent}{pad}{line}");
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
    let _ = writeln!(out, "{indent}{}", tr!("transcript:"));
    if text.is_empty() {
        let _ = writeln!(out, "{indent}  │ {}", tr!("(no output)"));
    }
    for line in text.lines() {
        let _ = writeln!(out, "{indent}  │ {line}");
    }
    if t.dropped_bytes > 0 {
        let n = t.dropped_bytes;
        let _ = writeln!(
            out,
            "{indent}  │ {}",
            tr!("… {n} more bytes not kept (output cap reached)", n = n)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(checks: Vec<CheckOutcome>) -> Report {
        let mut r: Report = serde_json::from_str(
            r#"{"schema_version": 1, "exercise": "fileserver",
                "submission": {"path": "s", "entry": "server.py",
                               "command": "python3 server.py {port} {library}"},
                "checks": [], "score": 0, "max_score": 0, "runs": 1, "duration_ms": 12,
                "isolation": ["runs as a user of its own (no groups, no new privileges)",
                              "network namespace of its own per grading (loopback only)",
                              "own mount and IPC namespaces: private /tmp; hidden: /root",
                              "writes limited to 64 MiB (tmpfs; a run that fills it is cut off)",
                              "pids cgroup (at most 64 tasks) and freezer cgroup per run",
                              "limits per process: 10 s CPU, 512 MiB memory"]}"#,
        )
        .expect("a report");
        r.checks = checks;
        r.total();
        r
    }

    /// The column where the points start, in each check line.
    fn points_columns(text: &str) -> Vec<usize> {
        text.lines()
            .filter(|l| l.starts_with("PASS") || l.starts_with("FAIL"))
            .map(|l| l.find(" 0/").or_else(|| l.find(" 4/")).expect("points"))
            .collect()
    }

    #[test]
    fn the_points_line_up_whatever_the_length_of_the_ids() {
        let r = report(vec![
            CheckOutcome::new("list", "t", Status::Passed, 4, "ok"),
            CheckOutcome::new("client-get-missing", "t", Status::Failed, 4, "no"),
            CheckOutcome::new("a-very-long-check-identifier", "t", Status::Passed, 4, "ok"),
        ]);
        let text = render(&r, Style::default());
        let columns = points_columns(&text);
        assert_eq!(columns.len(), 3, "{text}");
        assert!(columns.iter().all(|&c| c == columns[0]), "{text}");
    }

    #[test]
    fn one_run_is_one_run() {
        let text = render(&report(Vec::new()), Style::default());
        assert!(text.contains("(1 run, 12 ms)"), "{text}");
        let mut r = report(Vec::new());
        r.runs = 3;
        assert!(render(&r, Style::default()).contains("(3 runs, 12 ms)"));
    }

    #[test]
    fn the_isolation_is_one_line_unless_verbose() {
        let r = report(Vec::new());
        let short = render(&r, Style::default());
        let lines: Vec<&str> = short.lines().filter(|l| l.contains("isolation")).collect();
        assert_eq!(
            lines,
            ["  isolation: own user, own network, own /tmp, 64 MiB disk, cgroups, limits (--verbose for details)"],
            "{short}"
        );
        let long = render(
            &r,
            Style {
                verbose: true,
                ..Style::default()
            },
        );
        for item in &r.isolation {
            assert!(long.contains(item.as_str()), "{item} in {long}");
        }
    }

    #[test]
    fn the_isolation_summary_is_in_the_reports_language() {
        use crate::tr;
        let summary = crate::i18n::with(crate::i18n::Lang::Zh, || {
            let items = [
                tr!("runs as a user of its own (no groups, no new privileges)").to_string(),
                tr!("network namespace of its own per grading (loopback only)").to_string(),
                tr!(
                    "own mount and IPC namespaces: private {dirs}",
                    dirs = "/tmp"
                ),
                tr!(
                    "writes limited to {mib} MiB (tmpfs; a run that fills it is cut off)",
                    mib = 64
                ),
                tr!("pids cgroup (at most {n} tasks)", n = 64),
                tr!(
                    "its directory watched: a run is cut off past {mib} MiB ({file} MiB per file)",
                    mib = 64,
                    file = 8
                ),
            ];
            isolation_summary(&items)
        });
        assert_eq!(
            summary,
            "独立用户, 独立网络, 独立 /tmp, 磁盘 64 MiB, cgroups, 磁盘受监视"
        );
    }

    #[test]
    fn the_command_is_shown_with_its_arguments() {
        let text = render(&report(Vec::new()), Style::default());
        assert!(
            text.contains("  ran: python3 server.py {port} {library}\n"),
            "{text}"
        );
    }

    #[test]
    fn output_of_several_lines_is_shown_as_lines_aligned_under_the_first() {
        let mut c = CheckOutcome::new("server-start", "t", Status::Failed, 4, "exited");
        // As the checks put it in: escaped, with the line ends kept.
        c.seen = Some(crate::text::escape::for_terminal(
            b"Traceback (most recent call last):\n  File \"server.py\", line 4\nRuntimeError: \x1b[2J\n",
        ));
        let text = render(&report(vec![c]), Style::default());
        assert!(
            text.contains(
                "      seen:     Traceback (most recent call last):\n                  File \"server.py\", line 4\n                RuntimeError: \\e[2J\n"
            ),
            "{text}"
        );
        assert!(!text.contains('\x1b'), "raw escape in {text}");
        assert!(!text.contains("\\n"), "a line end shown as \\n in {text}");
    }
}
