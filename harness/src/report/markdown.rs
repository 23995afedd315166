//! A Markdown summary, for a CI job summary (`$GITHUB_STEP_SUMMARY`) or a pull-request
//! comment (GitHub Classroom): the score, a table of the checks, and for each check that
//! did not pass a collapsed section with what was done, expected and seen, the hint and
//! the transcript.
//!
//! Nothing a student printed can break out of where it is put: inline text has every char
//! that can open inline markup backslash-escaped (so no emphasis, code span, link, HTML
//! tag, autolink, table cell, entity or math can start), text inside HTML (`<summary>`) is entity-escaped, and a transcript sits in a
//! fenced block whose fence is longer than any run of backticks inside it. Controls are
//! shown as escapes (`\e`) first, as everywhere.

use crate::tr;
use std::fmt::Write as _;

use super::{human, CheckOutcome, Report, Status, Visibility};
use crate::text::escape;

pub fn render(reports: &[Report]) -> String {
    let mut out = String::new();
    for (i, r) in reports.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        render_one(&mut out, r);
    }
    out
}

fn render_one(out: &mut String, full: &Report) {
    // What students read in a job summary: no path of the grading machine.
    let shown = super::machine_paths::for_people(full);
    let r = &shown;
    let _ = writeln!(
        out,
        "## {} {}: {}/{}\n",
        if r.all_passed() { "✅" } else { "❌" },
        inline(&r.exercise),
        r.score,
        r.max_score
    );
    let path = inline(&r.submission.path);
    let _ = write!(out, "{}", tr!("Submission {path}", path = path));
    if let Some(i) = super::machine_paths::interpreter_shown(r) {
        let name = inline(&i);
        let _ = write!(out, "{}", tr!(", run with {name}", name = name));
    }
    if let Some(ms) = r.duration_ms {
        let secs = format!("{:.1}", ms as f64 / 1000.0);
        let _ = write!(out, "{}", tr!(", graded in {secs} s", secs = secs));
    }
    out.push_str(".\n\n");

    out.push_str(tr!("| | check | points | result |\n"));
    out.push_str("| --- | --- | ---: | --- |\n");
    for c in &r.checks {
        let message = if hidden(c) {
            tr!("*hidden check*").to_string()
        } else {
            inline(&c.message)
        };
        let _ = writeln!(
            out,
            "| {} | {} | {}/{} | {} |",
            icon(c),
            inline(&c.id),
            c.points,
            c.max_points,
            message
        );
    }
    if let Some(first) = r.first_fix().filter(|c| !hidden(c)) {
        let (id, message) = (inline(&first.id), inline(&first.message));
        let _ = writeln!(
            out,
            "\n**{}**{}",
            tr!("Fix first:"),
            tr!(
                " {id}: {message} (checks marked \"because of {id}\" follow from it)",
                id = id,
                message = message
            )
        );
    }
    for c in r
        .checks
        .iter()
        .filter(|c| c.status != Status::Passed && !hidden(c))
    {
        out.push('\n');
        details(out, c);
    }
}

fn hidden(c: &CheckOutcome) -> bool {
    !matches!(c.visibility, None | Some(Visibility::Visible))
}

fn icon(c: &CheckOutcome) -> &'static str {
    match c.status {
        Status::Passed => "✅",
        Status::Failed if c.shown_as_warning() => "⚠️",
        Status::Failed => "❌",
        Status::Skipped => "⏭️",
        Status::Error => "💥",
    }
}

fn details(out: &mut String, c: &CheckOutcome) {
    // Markup around the check's words (its title is in the report's language already).
    out.push_str(&crate::i18n::verbatim(format!(
        "<details><summary>{} <code>{}</code>: {}</summary>\n\n",
        icon(c),
        html(&c.id),
        html(&c.title)
    )));
    let _ = writeln!(out, "- {}", inline(&c.message));
    if !c.actions.is_empty() {
        let _ = writeln!(
            out,
            "- **{}** {}",
            tr!("done:"),
            inline(&c.actions.join(", "))
        );
    }
    if let Some(e) = &c.expected {
        let _ = writeln!(out, "- **{}** {}", tr!("expected:"), inline(e));
    }
    if let Some(s) = &c.seen {
        let _ = writeln!(out, "- **{}** {}", tr!("seen:"), inline(s));
    }
    for d in &c.details {
        let _ = writeln!(out, "- {}", inline(d));
    }
    for p in &c.processes {
        let _ = writeln!(out, "- {}: {}", inline(&p.role), inline(&p.state));
    }
    if let Some(h) = &c.hint {
        let _ = writeln!(out, "- **{}** {}", tr!("hint:"), inline(h));
    }
    if let Some(t) = &c.transcript {
        let mut text = String::new();
        human::render_transcript(&mut text, t, "");
        out.push('\n');
        out.push_str(&fenced(&escape::controls(&text)));
    }
    out.push_str("\n</details>\n");
}

/// Text for a Markdown inline context (a paragraph, list item or table cell; not the start
/// of a line): on one line, controls shown as escapes, and every char that can open inline
/// markup backslash-escaped (CommonMark allows a backslash before any ASCII punctuation).
pub fn inline(text: &str) -> String {
    on_one_line(text, |out, c| {
        if MARKUP.contains(&c) {
            out.push('\\');
        }
        out.push(c);
    })
}

/// `text` on one line (controls, newlines and tabs shown as escapes), each char written by
/// `put`, and no mention left in it.
fn on_one_line(text: &str, put: impl Fn(&mut String, char)) -> String {
    let shown = escape::controls(text)
        .replace('\n', "\\n")
        .replace('\t', "\\t");
    let mut out = String::with_capacity(shown.len() + 8);
    for c in shown.chars() {
        put(&mut out, c);
    }
    no_mentions(&out)
}

/// Breaks `@name` with a zero-width space after the `@`, so that a student's output in a
/// pull-request comment mentions (notifies) no one. Backslashes and entities would not do:
/// GitHub looks for mentions in the rendered text. Code blocks need nothing.
fn no_mentions(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(c);
        if c == '@' && chars.peek().is_some_and(|n| n.is_alphanumeric()) {
            out.push('\u{200B}');
        }
    }
    out
}

/// The chars that can open inline markup: backslash escapes, code spans, emphasis and
/// strikethrough, links and images, HTML tags and autolinks, table cells, entities, math.
const MARKUP: &[char] = &['\\', '`', '*', '_', '[', ']', '<', '>', '|', '~', '&', '$'];

/// Text inside an HTML element: entities for the five special chars, on one line.
pub fn html(text: &str) -> String {
    on_one_line(text, |out, c| match c {
        '&' => out.push_str("&amp;"),
        '<' => out.push_str("&lt;"),
        '>' => out.push_str("&gt;"),
        '"' => out.push_str("&quot;"),
        '\'' => out.push_str("&#39;"),
        c => out.push(c),
    })
}

/// A fenced code block holding `text` verbatim: the fence is a run of backticks longer
/// than any inside the text, so no line of it can close the block.
pub fn fenced(text: &str) -> String {
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        if c == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    let fence = "`".repeat((longest + 1).max(3));
    let mut out = format!("{fence}text\n{text}");
    if !text.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(&fence);
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_escapes_every_markup_char() {
        assert_eq!(inline("a|b"), "a\\|b");
        assert_eq!(inline("<script>"), "\\<script\\>");
        assert_eq!(inline("**x** [l](u)"), "\\*\\*x\\*\\* \\[l\\](u)");
        assert_eq!(inline("`x` &amp; $y$"), "\\`x\\` \\&amp; \\$y\\$");
        assert_eq!(inline("a\nb\x1b"), "a\\\\nb\\\\e");
        assert_eq!(inline("老司机开车了"), "老司机开车了");
    }

    #[test]
    fn hidden_checks_show_no_details() {
        use crate::report::{CheckOutcome, Status, Visibility};
        let mut r: Report = serde_json::from_str(
            r#"{"schema_version": 1, "exercise": "bus",
                "submission": {"path": "s", "entry": "bus.py", "command": "python3 bus.py"},
                "checks": [], "score": 0, "max_score": 0, "runs": 1}"#,
        )
        .expect("a report");
        let mut secret = CheckOutcome::new("secret", "hidden", Status::Failed, 5, "the secret");
        secret.hint = Some("a hint that gives it away".into());
        secret.visibility = Some(Visibility::Hidden);
        r.checks = vec![secret];
        r.total();
        let md = render(&[r]);
        assert!(md.contains("*hidden check*"), "{md}");
        assert!(
            !md.contains("the secret") && !md.contains("gives it away"),
            "{md}"
        );
        assert!(!md.contains("<details>"), "{md}");
    }

    #[test]
    fn mentions_are_broken_in_text_and_html() {
        assert_eq!(inline("ping @teacher"), "ping @\u{200B}teacher");
        assert_eq!(html("@org/team"), "@\u{200B}org/team");
        assert_eq!(inline("a@ b @"), "a@ b @");
    }

    #[test]
    fn html_escapes_entities() {
        assert_eq!(html("<b>&\"'"), "&lt;b&gt;&amp;&quot;&#39;");
    }

    #[test]
    fn fence_is_longer_than_any_backtick_run() {
        let block = fenced("a\n````\nb");
        assert!(block.starts_with("`````text\n"), "{block}");
        assert!(block.ends_with("\n`````\n"), "{block}");
        assert!(fenced("plain").starts_with("```text\n"));
    }
}
