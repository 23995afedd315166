//! The HTML report of one grading: one self-contained page (inline CSS and SVG, no script,
//! nothing fetched) with the score, what was run, every check and its verdict, and per check
//! a timeline drawn from its event log: a lane per process and one for the terminal (per
//! connection for the file server), keys and signals as marks, lines as labels at their
//! moment, exits with their status. A pure function of the report, like the other
//! renderers.
//!
//! Student output is data: every text goes through [`esc`] (controls made visible, then
//! the five HTML special characters as entities), so `<script>` or `</svg>` printed by a
//! program shows as text inside an element and never opens one.

use std::fmt::Write as _;

use super::events::{EventKind, EventRecord};
use super::{CheckOutcome, Report, Status, TranscriptPiece, Visibility};
use crate::text::escape;

/// Who the page is for: an instructor sees every check; a student (Gradescope) only the
/// visible ones, and no path of the grading machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    Instructor,
    Student,
}

/// Text for the inside of an element or an attribute value.
pub fn esc(text: &str) -> String {
    let shown = escape::controls(text);
    let mut out = String::with_capacity(shown.len());
    for c in shown.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The page's style: light by default, dark when the reader's system prefers it, one
/// column on a phone. The SVG's colours are attributes (readable where a host strips
/// `<style>`, as Gradescope may) that the dark scheme overrides.
pub const STYLE: &str = r#"
:root{color-scheme:light dark;--bg:#fff;--fg:#1b1f24;--muted:#57606a;--line:#d0d7de;--card:#f6f8fa;--pass:#1a7f37;--fail:#cf222e;--skip:#6e7781;--err:#9a6700}
@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--fg:#e6edf3;--muted:#9198a1;--line:#30363d;--card:#161b22;--pass:#3fb950;--fail:#f85149;--skip:#9198a1;--err:#d29922}
 svg.tl text{fill:#e6edf3} svg.tl text.t{fill:#9198a1} svg.tl .lane{stroke:#484f58} svg.tl .grid{stroke:#21262d} svg.tl rect.key{fill:#1f2937;stroke:#9198a1}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:15px/1.45 system-ui,-apple-system,"Segoe UI","Noto Sans CJK SC","PingFang SC","Microsoft YaHei",sans-serif}
main,header{max-width:1100px;margin:0 auto;padding:12px 16px}
h1{font-size:1.4em;margin:.2em 0}h2{font-size:1.1em;margin:0}
.score{font-size:2.2em;font-weight:700}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;margin:.5em 0}
dl.facts dt{color:var(--muted)}dl.facts dd{margin:0;overflow-wrap:anywhere}
table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:4px 8px;border-bottom:1px solid var(--line);vertical-align:top}
.badge{display:inline-block;min-width:4.2em;text-align:center;border-radius:4px;padding:0 6px;font-size:.8em;font-weight:700;color:#fff}
.passed .badge,.badge.passed{background:var(--pass)}.failed .badge,.badge.failed{background:var(--fail)}
.skipped .badge,.badge.skipped{background:var(--skip)}.error .badge,.badge.error{background:var(--err)}
details.check{border:1px solid var(--line);border-radius:6px;margin:10px 0;background:var(--card)}
details.check>summary{padding:8px 12px;cursor:pointer;display:flex;gap:10px;align-items:baseline;flex-wrap:wrap}
details.check>div{padding:0 12px 12px}
.pts{margin-left:auto;color:var(--muted)}
pre{background:var(--bg);border:1px solid var(--line);border-radius:4px;padding:8px;overflow-x:auto;white-space:pre-wrap;overflow-wrap:anywhere;font:13px/1.4 ui-monospace,Menlo,Consolas,monospace}
pre.details{white-space:pre;overflow-wrap:normal}
.act{font-weight:700;color:var(--err)}
table.diff td{font-family:ui-monospace,Menlo,Consolas,monospace;white-space:pre-wrap;overflow-wrap:anywhere}
.tlwrap{overflow-x:auto;border:1px solid var(--line);border-radius:4px;background:var(--bg);margin:8px 0}
.muted{color:var(--muted)}
@media (max-width:600px){body{font-size:14px}main,header{padding:8px}.score{font-size:1.7em}dl.facts{grid-template-columns:1fr}dl.facts dd{margin-bottom:4px}td,th{padding:3px 4px}}
"#;

/// Width of a lane of the timeline, of the time column, height of a row (pixels).
const LANE: usize = 230;
const GUTTER: usize = 64;
const ROW: usize = 22;
const HEAD: usize = 30;

/// Opens a page: doctype, title, style.
pub fn page_start(out: &mut String, title: &str) {
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <meta name=\"color-scheme\" content=\"light dark\">\
         <title>{}</title><style>{STYLE}</style></head><body>\n",
        esc(title)
    );
}

/// The report of one submission's gradings as a page.
pub fn render(reports: &[Report]) -> String {
    let title = match reports {
        [one] => format!("{} — {}", one.exercise, one.submission.path),
        _ => "grading report".to_string(),
    };
    let mut out = String::new();
    page_start(&mut out, &title);
    for r in reports {
        body(&mut out, r, Audience::Instructor);
    }
    out.push_str("</body></html>\n");
    out
}

/// The report as a fragment (its style first), for a host page such as Gradescope's.
pub fn fragment(reports: &[Report], audience: Audience) -> String {
    let mut out = format!("<style>{STYLE}</style>\n");
    for r in reports {
        body(&mut out, r, audience);
    }
    out
}

fn shown_checks(r: &Report, audience: Audience) -> impl Iterator<Item = &CheckOutcome> {
    r.checks.iter().filter(move |c| {
        audience == Audience::Instructor || matches!(c.visibility, None | Some(Visibility::Visible))
    })
}

fn status_word(c: &CheckOutcome) -> &'static str {
    match c.status {
        Status::Passed => "passed",
        Status::Failed => "failed",
        Status::Skipped => "skipped",
        Status::Error => "error",
    }
}

fn body(out: &mut String, r: &Report, audience: Audience) {
    let clean = |t: &str| match audience {
        Audience::Instructor => t.to_string(),
        Audience::Student => super::machine_paths::without_machine_paths(t, r),
    };
    let _ = write!(
        out,
        "<header><h1>{} <span class=\"muted\">{}</span></h1>\
         <div class=\"score\" data-score=\"{}\" data-max=\"{}\">{} / {}</div><dl class=\"facts\">",
        esc(&r.exercise),
        esc(&clean(&r.submission.path)),
        r.score,
        r.max_score,
        r.score,
        r.max_score
    );
    let mut fact = |k: &str, v: &str| {
        let _ = write!(out, "<dt>{k}</dt><dd>{}</dd>", esc(&clean(v)));
    };
    fact("submission", &r.submission.path);
    fact("program", &r.submission.entry);
    fact("run as", &r.submission.command);
    if let Some(i) = &r.interpreter {
        fact("interpreter", &format!("{} ({})", i.version, i.path));
    }
    fact("runs", &r.runs.to_string());
    if let Some(ms) = r.duration_ms {
        fact("time", &format!("{:.2} s", ms as f64 / 1000.0));
    }
    for n in &r.notes {
        fact("note", n);
    }
    out.push_str("</dl></header>\n<main>\n<table class=\"summary\"><tr><th>check</th><th>verdict</th><th>points</th><th>what happened</th></tr>\n");
    for c in shown_checks(r, audience) {
        let _ = writeln!(
            out,
            "<tr class=\"{}\"><td><a href=\"#check-{}\">{}</a></td><td><span class=\"badge\">{}</span></td><td>{}/{}</td><td>{}</td></tr>",
            status_word(c),
            esc(&c.id),
            esc(&c.id),
            c.status.label(),
            c.points,
            c.max_points,
            esc(&clean(&c.message))
        );
    }
    out.push_str("</table>\n");
    for c in shown_checks(r, audience) {
        check(out, c, &clean);
    }
    out.push_str("</main>\n");
}

fn check(out: &mut String, c: &CheckOutcome, clean: &dyn Fn(&str) -> String) {
    let _ = write!(
        out,
        "<details class=\"check {}\" id=\"check-{}\"{}><summary><span class=\"badge\">{}</span>\
         <h2>{}: {}</h2><span class=\"pts\">{}/{}</span></summary><div>\n<p class=\"msg\">{}</p>\n",
        status_word(c),
        esc(&c.id),
        if c.shows_details() { " open" } else { "" },
        c.status.label(),
        esc(&c.id),
        esc(&c.title),
        c.points,
        c.max_points,
        esc(&clean(&c.message))
    );
    if !c.actions.is_empty() {
        let _ = writeln!(
            out,
            "<p><span class=\"muted\">the grader did:</span> {}</p>",
            esc(&clean(&c.actions.join(", ")))
        );
    }
    match (&c.expected, &c.seen) {
        (Some(e), Some(s)) if e != s && c.status != Status::Passed => {
            let _ = writeln!(
                out,
                "<table class=\"diff\"><tr><th>expected</th><th>seen</th></tr><tr><td class=\"expected\">{}</td><td class=\"seen\">{}</td></tr></table>",
                esc(e),
                esc(&clean(s))
            );
        }
        (Some(e), _) => {
            let _ = writeln!(out, "<p>expected: <code>{}</code></p>", esc(e));
        }
        _ => {}
    }
    if !c.processes.is_empty() {
        let procs: Vec<String> = c
            .processes
            .iter()
            .map(|p| format!("{}: {}", p.role, p.state))
            .collect();
        let _ = writeln!(out, "<p class=\"muted\">{}</p>", esc(&procs.join("; ")));
    }
    if let Some(h) = &c.hint {
        let _ = writeln!(out, "<p><strong>hint:</strong> {}</p>", esc(&clean(h)));
    }
    if !c.details.is_empty() {
        // One block, monospace: a transfer's diff window keeps its columns.
        let _ = writeln!(
            out,
            "<pre class=\"details\">{}</pre>",
            esc(&clean(&c.details.join("\n")))
        );
    }
    if let Some(ev) = &c.events {
        let roles: Vec<&str> = c.processes.iter().map(|p| p.role.as_str()).collect();
        timeline(out, &ev.events, ev.dropped, &roles, clean);
    }
    if let Some(t) = &c.transcript {
        out.push_str("<p class=\"muted\">terminal:</p><pre class=\"transcript\">");
        for p in &t.pieces {
            match p {
                TranscriptPiece::Output(s) => out.push_str(&esc(&clean(s))),
                TranscriptPiece::Action(a) => {
                    let _ = write!(out, "<span class=\"act\">⟨{}⟩</span>", esc(a));
                }
            }
        }
        if t.dropped_bytes > 0 {
            let _ = write!(out, "\n⟨{} more bytes not kept⟩", t.dropped_bytes);
        }
        out.push_str("</pre>\n");
    }
    out.push_str("</div></details>\n");
}

/// The lane an event is drawn in.
fn lane_of(e: &EventRecord) -> String {
    match e.kind {
        EventKind::Key | EventKind::Typed | EventKind::Note => "terminal".into(),
        EventKind::Line => e.who.clone().unwrap_or_else(|| "terminal".into()),
        EventKind::Connected
        | EventKind::Sent
        | EventKind::Reply
        | EventKind::Received
        | EventKind::Closed => format!("connection {}", e.conn.unwrap_or(0)),
        _ => e.who.clone().unwrap_or_else(|| "process".into()),
    }
}

/// The label of an event and the class of its mark.
fn label_of(e: &EventRecord) -> (String, &'static str) {
    let text = e.text.clone().unwrap_or_default();
    let bytes = e.bytes.unwrap_or(0);
    match e.kind {
        EventKind::Key => (text, "key"),
        EventKind::Typed => (format!("typed “{text}”"), "key"),
        EventKind::Signal => (format!("{text} sent"), "signal"),
        EventKind::Line => (format!("“{text}”"), "line"),
        EventKind::Started => ("started".into(), "life"),
        EventKind::Stopped => ("stopped".into(), "stop"),
        EventKind::Continued => ("continued".into(), "life"),
        EventKind::Ended => match &e.status {
            Some(s) => (format!("ended: {s}"), "end"),
            None => ("ended".into(), "end"),
        },
        EventKind::Reaped => ("reaped".into(), "life"),
        EventKind::Connected => ("connected".into(), "life"),
        EventKind::Sent if text.is_empty() => (format!("→ {bytes} bytes"), "sent"),
        EventKind::Sent => (format!("→ {text}"), "sent"),
        EventKind::Reply => (format!("← {text}"), "reply"),
        EventKind::Received => (format!("← {bytes} bytes"), "reply"),
        EventKind::Closed => ("closed by the server".into(), "life"),
        EventKind::Note => (text, "end"),
    }
}

/// `text` cut to what fits in `px` pixels of 12 px type (wide characters count double).
fn fit(text: &str, px: usize) -> String {
    let mut used = 0;
    let mut out = String::new();
    for c in text.chars() {
        let w = if (c as u32) >= 0x1100 { 13 } else { 7 };
        if used + w > px.saturating_sub(8) {
            out.push('…');
            return out;
        }
        used += w;
        out.push(c);
    }
    out
}

/// The colour of a mark, as an attribute (dark mode keeps these: they read on both).
fn colour(class: &str) -> &'static str {
    match class {
        "key" => "#8250df",
        "signal" => "#bf3989",
        "line" => "#0969da",
        "end" | "stop" => "#cf222e",
        "sent" => "#9a6700",
        "reply" => "#1a7f37",
        _ => "#57606a",
    }
}

/// The timeline of a check: one row per event (time going down), one lane per process,
/// the terminal and each connection; a process's lane is solid while it lives and dashed
/// while it is a zombie.
fn timeline(
    out: &mut String,
    events: &[EventRecord],
    dropped: u64,
    roles: &[&str],
    clean: &dyn Fn(&str) -> String,
) {
    if events.is_empty() {
        return;
    }
    // The processes the check names have a lane even when nothing happened to them.
    let mut lanes: Vec<String> = vec!["terminal".into()];
    lanes.extend(roles.iter().map(|r| r.to_string()));
    for e in events {
        let l = lane_of(e);
        if !lanes.contains(&l) {
            lanes.push(l);
        }
    }
    // The exercise's roles in their usual order, then the rest as they came.
    let order = |l: &String| {
        ["terminal", "driver", "conductor", "client"]
            .iter()
            .position(|r| r == l)
            .unwrap_or(4)
    };
    lanes.sort_by_key(order);
    // The terminal lane only when something is drawn in it.
    if !events.iter().any(|e| lane_of(e) == "terminal") {
        lanes.remove(0);
    }
    let x = |lane: &str| GUTTER + LANE * lanes.iter().position(|l| l == lane).unwrap_or(0) + 14;
    let width = GUTTER + LANE * lanes.len();
    let height = HEAD + ROW * events.len() + 8;
    let _ = write!(
        out,
        "<div class=\"tlwrap\"><svg class=\"tl\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" \
         viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"timeline\" font-family=\"system-ui,&quot;Noto Sans CJK SC&quot;,&quot;PingFang SC&quot;,&quot;Microsoft YaHei&quot;,sans-serif\" font-size=\"12\">"
    );
    let _ = write!(
        out,
        "<text class=\"t\" x=\"4\" y=\"18\" fill=\"#57606a\">{}</text>",
        if events.iter().any(|e| e.at_ms.is_some()) {
            "ms"
        } else {
            "#"
        }
    );
    for lane in &lanes {
        let lx = x(lane);
        let rows: Vec<usize> = events
            .iter()
            .enumerate()
            .filter(|(_, e)| lane_of(e) == *lane)
            .map(|(r, _)| r)
            .collect();
        let row_y = |r: usize| HEAD + ROW * r + ROW / 2;
        let process = lane != "terminal" && !lane.starts_with("connection");
        // A process lives from its start (or the check's) to its end (or the check's), then
        // is a zombie until reaped; a connection and the terminal span their events.
        let top = |kind: EventKind| rows.iter().copied().find(|r| events[*r].kind == kind);
        let (first, solid_end, zombie_end) = if process {
            let end = top(EventKind::Ended);
            (
                top(EventKind::Started).unwrap_or(0),
                end.unwrap_or(events.len() - 1),
                end.and(top(EventKind::Reaped).or(Some(events.len() - 1))),
            )
        } else {
            let first = rows.first().copied().unwrap_or(0);
            (first, rows.last().copied().unwrap_or(first), None)
        };
        let _ = write!(
            out,
            "<g class=\"lane-head\" data-lane=\"{}\"><text x=\"{}\" y=\"18\" font-weight=\"700\" fill=\"#1b1f24\">{}</text></g>",
            esc(lane),
            lx - 8,
            esc(&fit(lane, LANE))
        );
        let _ = write!(
            out,
            "<line class=\"lane\" x1=\"{lx}\" y1=\"{}\" x2=\"{lx}\" y2=\"{}\" stroke=\"#8c959f\" stroke-width=\"{}\"/>",
            row_y(first) - if process && first == 0 { ROW / 2 } else { 0 },
            row_y(solid_end),
            if process { 3 } else { 1 }
        );
        if let Some(z) = zombie_end.filter(|z| *z > solid_end) {
            let _ = write!(
                out,
                "<line class=\"lane zombie\" x1=\"{lx}\" y1=\"{}\" x2=\"{lx}\" y2=\"{}\" stroke=\"#8c959f\" stroke-dasharray=\"3 3\"/>",
                row_y(solid_end),
                row_y(z)
            );
        }
    }
    for (r, e) in events.iter().enumerate() {
        let y = HEAD + ROW * r + ROW / 2;
        let lane = lane_of(e);
        let lx = x(&lane);
        let (label, class) = label_of(e);
        let label = clean(&label);
        let c = colour(class);
        let time = match e.at_ms {
            Some(ms) => ms.to_string(),
            None => (r + 1).to_string(),
        };
        let _ = write!(
            out,
            "<line class=\"grid\" x1=\"{GUTTER}\" y1=\"{y}\" x2=\"{}\" y2=\"{y}\" stroke=\"#eaeef2\" stroke-width=\"1\"/>\
             <text class=\"t\" x=\"4\" y=\"{}\" fill=\"#57606a\">{time}</text>\
             <g class=\"ev ev-{}\" data-kind=\"{}\" data-lane=\"{}\"><title>{}</title>",
            width,
            y + 4,
            class,
            kind_name(e.kind),
            esc(&lane),
            esc(&label)
        );
        let mark = match class {
            "key" => {
                let w = 14 + 7 * label.chars().count().min(24);
                let _ = write!(
                    out,
                    "<rect class=\"key\" x=\"{}\" y=\"{}\" width=\"{w}\" height=\"17\" rx=\"4\" fill=\"#f6f8fa\" stroke=\"{c}\"/>\
                     <text x=\"{}\" y=\"{}\" font-weight=\"700\" fill=\"{c}\">{}</text>",
                    lx - 6,
                    y - 9,
                    lx + 1,
                    y + 4,
                    esc(&fit(&label, w + 8))
                );
                None
            }
            "signal" => Some(format!(
                "<path d=\"M{} {} l10 6 l-10 6 z\" fill=\"{c}\"/>",
                lx - 5,
                y - 6
            )),
            "end" | "stop" => Some(format!(
                "<path d=\"M{} {} l8 8 m0 -8 l-8 8\" stroke=\"{c}\" stroke-width=\"2.5\"/>",
                lx - 4,
                y - 4
            )),
            _ => Some(format!(
                "<circle cx=\"{lx}\" cy=\"{y}\" r=\"4.5\" fill=\"{c}\"/>"
            )),
        };
        if let Some(m) = mark {
            out.push_str(&m);
            let _ = write!(
                out,
                "<text x=\"{}\" y=\"{}\" fill=\"{}\">{}</text>",
                lx + 10,
                y + 4,
                if class == "line" { "#1b1f24" } else { c },
                esc(&fit(&label, LANE - 22))
            );
        }
        out.push_str("</g>");
    }
    out.push_str("</svg></div>\n");
    if dropped > 0 {
        let _ = writeln!(out, "<p class=\"muted\">{dropped} more events not kept</p>");
    }
}

/// The event kind as the JSON names it.
fn kind_name(k: EventKind) -> String {
    serde_json::to_value(k)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::events::EventLog;
    use crate::report::{SubmissionInfo, SCHEMA_VERSION};

    fn report(checks: Vec<CheckOutcome>) -> Report {
        Report {
            schema_version: SCHEMA_VERSION,
            exercise: "bus".into(),
            submission: SubmissionInfo {
                path: "s".into(),
                entry: "bus.py".into(),
                command: "python3 bus.py".into(),
                folder: None,
            },
            interpreter: None,
            checks,
            score: 0,
            max_score: 10,
            runs: 1,
            duration_ms: None,
            isolation: Vec::new(),
            notes: Vec::new(),
            run_dirs: Vec::new(),
            fix_first: None,
        }
    }

    fn printing(line: &str) -> CheckOutcome {
        let mut c = CheckOutcome::new("ctrl-c", "Ctrl-C", Status::Failed, 10, "no line");
        let log = format!(
            r#"{{"events":[{{"kind":"key","text":"Ctrl-C"}},{{"kind":"line","who":"driver","text":{}}}]}}"#,
            serde_json::to_string(line).unwrap()
        );
        c.events = Some(serde_json::from_str::<EventLog>(&log).unwrap());
        c.seen = Some(line.into());
        c.expected = Some("x".into());
        c
    }

    #[test]
    fn student_markup_is_text_everywhere() {
        let page = render(&[report(vec![printing(
            "<script>alert(1)</script></svg>\u{1b}[31m",
        )])]);
        assert!(!page.contains("<script"), "{page}");
        assert_eq!(page.matches("</svg>").count(), page.matches("<svg").count());
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;&lt;/svg&gt;"));
        assert!(!page.contains('\u{1b}'), "controls are shown, not sent");
        assert!(page.contains("data-kind=\"line\" data-lane=\"driver\""));
    }

    #[test]
    fn students_see_only_visible_checks() {
        let mut hidden = printing("secret");
        hidden.id = "hidden-one".into();
        hidden.visibility = Some(Visibility::Hidden);
        let page = fragment(
            &[report(vec![printing("shown"), hidden])],
            Audience::Student,
        );
        assert!(page.contains("shown") && !page.contains("secret") && !page.contains("hidden-one"));
    }
}
