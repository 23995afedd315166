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

use super::machine_paths::{interpreter_shown, without_machine_paths};
use super::timeline::timeline;
use super::{CheckOutcome, Report, Status, TranscriptPiece, Visibility};
use crate::text::escape;
use crate::{i18n, tr};

/// Who the page is for: an instructor sees every check; a student (Gradescope) only the
/// visible ones. Neither sees a path of the grading machine.
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
/// column on a phone (only a timeline's words or a diff's columns scroll sideways, each in
/// its own box). The SVG's colours are attributes (readable where a host strips `<style>`,
/// as Gradescope may) that the dark scheme overrides. Fonts: the system's, with the CJK
/// fonts of each platform named (Noto/WenQuanYi on Linux, PingFang, Microsoft YaHei).
pub const STYLE: &str = crate::i18n::verbatim(
    r#"
:root{color-scheme:light dark;--bg:#fff;--fg:#1b1f24;--muted:#57606a;--line:#d0d7de;--card:#f6f8fa;--pass:#1a7f37;--fail:#cf222e;--skip:#6e7781;--err:#9a6700}
@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--fg:#e6edf3;--muted:#9198a1;--line:#30363d;--card:#161b22;--pass:#238636;--fail:#da3633;--skip:#6e7681;--err:#9e6a03}
 svg.tl text{fill:#e6edf3} svg.tl text.t{fill:#9198a1} svg.tl .lane{stroke:#6e7681} svg.tl .grid{stroke:#30363d} svg.tl rect.key{fill:#161b22}
 svg.tl text.w-sent{fill:#d29922} svg.tl text.w-reply{fill:#3fb950} svg.tl text.w-end,svg.tl text.w-stop{fill:#f85149} svg.tl text.w-signal{fill:#f778ba} svg.tl text.w-life{fill:#9198a1}
 a{color:#4493f8}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:15px/1.45 system-ui,-apple-system,"Segoe UI","Noto Sans CJK SC","WenQuanYi Micro Hei","PingFang SC","Microsoft YaHei",sans-serif}
main,header{max-width:1100px;margin:0 auto;padding:12px 16px}
h1{font-size:1.4em;margin:.2em 0;overflow-wrap:anywhere}h2{font-size:1.1em;margin:0}main>h2{margin:1.4em 0 .4em}main>h2:first-child{margin-top:.3em}
.score{font-size:2.2em;font-weight:700}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;margin:.5em 0}
dl.facts dt{color:var(--muted)}dl.facts dd{margin:0;overflow-wrap:anywhere}
table{border-collapse:collapse;width:100%}th{white-space:nowrap}td,th{text-align:left;padding:4px 8px;border-bottom:1px solid var(--line);vertical-align:top}
td.n,th.n,table.summary td:first-child{white-space:nowrap}
.badge{display:inline-block;min-width:4.2em;text-align:center;border-radius:4px;padding:0 6px;font-size:.8em;font-weight:700;color:#fff;white-space:nowrap}
.passed .badge,.badge.passed{background:var(--pass)}.failed .badge,.badge.failed{background:var(--fail)}
.skipped .badge,.badge.skipped{background:var(--skip)}.error .badge,.badge.error,.warning .badge{background:var(--err)}
details.check{border:1px solid var(--line);border-radius:6px;margin:10px 0;background:var(--card)}
details.check>summary{padding:8px 12px;cursor:pointer;display:flex;gap:10px;align-items:baseline;list-style:none}
details.check>summary::-webkit-details-marker{display:none}
details.check>summary::before{content:"▸";color:var(--muted);width:.8em;flex:none}details.check[open]>summary::before{content:"▾"}
details.check>summary h2{flex:1;min-width:0;overflow-wrap:anywhere}
details.check>div{padding:0 12px 12px}
.pts{color:var(--muted);white-space:nowrap}
pre{background:var(--bg);border:1px solid var(--line);border-radius:4px;padding:8px;overflow-x:auto;white-space:pre-wrap;overflow-wrap:anywhere;font:13px/1.4 ui-monospace,Menlo,Consolas,"Noto Sans Mono CJK SC","WenQuanYi Micro Hei Mono",monospace}
pre.details{white-space:pre;overflow-wrap:normal}
.act{font-weight:700;color:var(--err)}
table.diff td{font-family:ui-monospace,Menlo,Consolas,"Noto Sans Mono CJK SC","WenQuanYi Micro Hei Mono",monospace;white-space:pre-wrap;overflow-wrap:anywhere;width:50%}
.tlwrap{overflow-x:auto;border:1px solid var(--line);border-radius:4px;background:var(--bg);margin:8px 0}
.tlrow{display:flex;width:max-content;min-width:100%}
svg.lanes{position:sticky;left:0;z-index:1;background:var(--bg);flex:none;overflow:visible}
svg.words{flex:none}
.muted{color:var(--muted)}
@media (max-width:600px){body{font-size:14px}main,header{padding:8px}.score{font-size:1.7em}dl.facts{grid-template-columns:1fr}dl.facts dd{margin-bottom:4px}td,th{padding:3px 4px}details.check>summary{padding:8px;gap:6px}details.check>div{padding:0 8px 8px}.badge{min-width:0}}
"#,
);

/// Opens a page: doctype, language, title, style.
pub fn page_start(out: &mut String, title: &str) {
    let lang = match i18n::current() {
        i18n::Lang::En => "en",
        i18n::Lang::Zh => "zh-Hans",
    };
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
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
        _ => tr!("grading report").to_string(),
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

/// The class of a check's verdict (its badge's colour), in every language.
fn status_word(c: &CheckOutcome) -> &'static str {
    match c.status {
        Status::Passed => "passed",
        Status::Failed if c.shown_as_warning() => "warning",
        Status::Failed => "failed",
        Status::Skipped => "skipped",
        Status::Error => "error",
    }
}

/// A check's verdict as its badge reads (the words of the terminal report).
fn badge(c: &CheckOutcome) -> &'static str {
    match c.status {
        Status::Passed => tr!("PASS"),
        Status::Failed if c.shown_as_warning() => tr!("WARN"),
        Status::Failed => tr!("FAIL"),
        Status::Skipped => tr!("SKIP"),
        Status::Error => tr!("ERROR"),
    }
}

fn body(out: &mut String, r: &Report, audience: Audience) {
    // No path of the grading machine, for instructors as for students (the JSON report
    // keeps them): the run's directory, the interpreter's installation.
    let clean = |t: &str| without_machine_paths(t, r);
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
        let _ = write!(out, "<dt>{}</dt><dd>{}</dd>", esc(k), esc(&clean(v)));
    };
    if let Some(folder) = &r.submission.folder {
        fact(tr!("found in"), folder);
    }
    fact(tr!("program"), &r.submission.entry);
    fact(tr!("run as"), &r.submission.command);
    if let Some(name) = interpreter_shown(r) {
        fact(tr!("interpreter"), &name);
    }
    fact(tr!("runs"), &r.runs.to_string());
    if let Some(ms) = r.duration_ms {
        let secs = format!("{:.2}", ms as f64 / 1000.0);
        fact(tr!("time"), &tr!("{secs} s", secs = secs));
    }
    for n in &r.notes {
        fact(tr!("note"), n);
    }
    let _ = writeln!(
        out,
        "</dl></header>\n<main>\n<table class=\"summary\"><tr><th>{}</th><th>{}</th><th class=\"n\">{}</th><th>{}</th></tr>",
        tr!("check"),
        tr!("verdict"),
        tr!("points"),
        tr!("what happened")
    );
    for c in shown_checks(r, audience) {
        let _ = writeln!(
            out,
            "<tr class=\"{}\"><td><a href=\"#check-{}\">{}</a></td><td><span class=\"badge\">{}</span></td><td class=\"n\">{}/{}</td><td>{}</td></tr>",
            status_word(c),
            esc(&c.id),
            esc(&c.id),
            badge(c),
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
    // Open: what went wrong, and a pass with something to say; a skipped check's reason is
    // its whole story, already in the table above.
    let open = c.status != Status::Skipped && c.shows_details();
    let _ = write!(
        out,
        "<details class=\"check {}\" id=\"check-{}\"{}><summary><span class=\"badge\">{}</span>\
         <h2>{}: {}</h2><span class=\"pts\">{}/{}</span></summary><div>\n<p class=\"msg\">{}</p>\n",
        status_word(c),
        esc(&c.id),
        if open { " open" } else { "" },
        badge(c),
        esc(&c.id),
        esc(&c.title),
        c.points,
        c.max_points,
        esc(&clean(&c.message))
    );
    if !c.actions.is_empty() {
        let _ = writeln!(
            out,
            "<p><span class=\"muted\">{}</span> {}</p>",
            tr!("the grader did:"),
            esc(&clean(&c.actions.join(", ")))
        );
    }
    match (&c.expected, &c.seen) {
        (Some(e), Some(s)) if e != s && c.status != Status::Passed => {
            let _ = writeln!(
                out,
                "<table class=\"diff\"><tr><th>{}</th><th>{}</th></tr><tr><td class=\"expected\">{}</td><td class=\"seen\">{}</td></tr></table>",
                tr!("expected"),
                tr!("seen"),
                esc(e),
                esc(&clean(s))
            );
        }
        (Some(e), _) => {
            let _ = writeln!(out, "<p>{} <code>{}</code></p>", tr!("expected:"), esc(e));
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
        let _ = writeln!(
            out,
            "<p><strong>{}</strong> {}</p>",
            tr!("hint:"),
            esc(&clean(h))
        );
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
        let _ = write!(
            out,
            "<p class=\"muted\">{}</p><pre class=\"transcript\">",
            tr!("terminal:")
        );
        for p in &t.pieces {
            match p {
                TranscriptPiece::Output(s) => out.push_str(&esc(&clean(s))),
                TranscriptPiece::Action(a) => {
                    let _ = write!(out, "<span class=\"act\">⟨{}⟩</span>", esc(a));
                }
            }
        }
        if t.dropped_bytes > 0 {
            let n = t.dropped_bytes;
            let _ = write!(out, "\n⟨{}⟩", esc(&tr!("{n} more bytes not kept", n = n)));
        }
        out.push_str("</pre>\n");
    }
    out.push_str("</div></details>\n");
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
    /// The page an instructor opens names no path of the grading machine either: the
    /// interpreter by name and version, the program by its own name.
    #[test]
    fn the_page_shows_no_path_of_the_grading_machine() {
        let run = "/tmp/harness-run-4242-AbCdEf";
        let mut c = printing("x");
        c.transcript = Some(crate::report::TranscriptView {
            pieces: vec![TranscriptPiece::Output(format!(
                "  File \"{run}/submission/bus.py\", line 3\n  \
                 File \"/root/.pyenv/versions/3.11.7/lib/python3.11/signal.py\"\n"
            ))],
            dropped_bytes: 0,
        });
        let mut r = report(vec![c]);
        r.run_dirs = vec![run.to_string()];
        r.submission.command = "/root/.pyenv/versions/3.11.7/bin/python3 bus.py".into();
        r.interpreter = Some(crate::report::Interpreter {
            path: "/root/.pyenv/versions/3.11.7/bin/python3".into(),
            version: "3.11.7".into(),
        });
        for page in [
            render(std::slice::from_ref(&r)),
            fragment(&[r], Audience::Student),
        ] {
            for machine in ["/root", "harness-run", "/tmp"] {
                assert!(!page.contains(machine), "{machine} in {page}");
            }
            assert!(page.contains("<dd>python3 3.11.7</dd>"), "{page}");
            assert!(page.contains("<dd>python3 bus.py</dd>"), "{page}");
            assert!(page.contains("File &quot;bus.py&quot;, line 3"), "{page}");
        }
    }

    /// `--lang zh`: the page's words and its language are Chinese; English is the text
    /// written at the sites.
    #[test]
    fn the_page_speaks_the_reports_language() {
        let r = report(vec![printing("x")]);
        let en = render(std::slice::from_ref(&r));
        assert!(en.starts_with("<!DOCTYPE html>\n<html lang=\"en\">"));
        assert!(en.contains("<th>what happened</th>") && en.contains(">FAIL</span>"));
        let zh = i18n::with(i18n::Lang::Zh, || render(&[r]));
        assert!(zh.contains("<html lang=\"zh-Hans\">"), "{zh}");
        assert!(
            zh.contains("<th>发生了什么</th>") && zh.contains(">失败</span>"),
            "{zh}"
        );
        assert!(zh.contains(">终端</text>"), "the terminal's lane: {zh}");
        assert!(
            !zh.contains("what happened") && !zh.contains(">terminal<"),
            "{zh}"
        );
    }
}
