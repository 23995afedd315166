//! Where the renderings of a grading go: the formats, `--output` and `--report FORMAT=FILE`,
//! and writing them (a closed pipe is not an error). Shared by `grade`, classes and `merge`.

use crate::tr;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use clap::ValueEnum;

use super::{gradescope, html, human, json, junit, markdown, Report};

/// A report format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// For a person at a terminal (colours only on a terminal, never with NO_COLOR).
    Human,
    /// The report as data (docs/report-schema.md).
    Json,
    /// JUnit XML: a test case per check, for CI test reports.
    Junit,
    /// Gradescope's results.json.
    Gradescope,
    /// Gradescope's results.json carrying the HTML report as its output.
    GradescopeHtml,
    /// A Markdown summary, for a CI job summary or a pull-request comment.
    Markdown,
    /// One self-contained HTML page with a timeline per check.
    Html,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Human => "human",
            Format::Json => "json",
            Format::Junit => "junit",
            Format::Gradescope => "gradescope",
            Format::GradescopeHtml => "gradescope-html",
            Format::Markdown => "markdown",
            Format::Html => "html",
        }
    }

    /// The gradings of one submission in this format. `style` matters for `human` only.
    pub fn render(self, reports: &[Report], style: human::Style) -> String {
        match self {
            Format::Human => reports
                .iter()
                .map(|r| human::render(r, style))
                .collect::<Vec<_>>()
                .join("\n"),
            Format::Json if reports.len() == 1 => json::render(&reports[0]),
            Format::Json => json::render_many(reports),
            Format::Junit => junit::render(reports),
            Format::Gradescope => gradescope::render(reports),
            Format::GradescopeHtml => gradescope::render_html(reports),
            Format::Markdown => markdown::render(reports),
            Format::Html => html::render(reports),
        }
    }
}

impl FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        <Format as ValueEnum>::from_str(s, true).map_err(|_| {
            tr!("unknown format `{s}` (human, json, junit, gradescope, gradescope-html, markdown or html)", s = s)
        })
    }
}

/// `--report FORMAT=FILE`: one more report of the same grading, in another format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportTarget {
    pub format: Format,
    pub file: PathBuf,
}

impl FromStr for ReportTarget {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (format, file) = s
            .split_once('=')
            .ok_or_else(|| tr!("`{s}`: expected FORMAT=FILE, e.g. junit=report.xml", s = s))?;
        if file.is_empty() {
            return Err(tr!("`{s}`: no file after `=`", s = s));
        }
        Ok(ReportTarget {
            format: format.parse()?,
            file: PathBuf::from(file),
        })
    }
}

/// Where one rendering goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    Stdout,
    File(PathBuf),
}

/// One rendering of the result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    pub format: Format,
    pub to: Destination,
}

/// The main rendering and the extra ones; two renderings may not go to the same file.
pub fn outputs(
    format: Format,
    output: &Option<PathBuf>,
    reports: &[ReportTarget],
) -> Result<Vec<Output>, String> {
    let mut all = vec![Output {
        format,
        to: match output {
            Some(p) => Destination::File(p.clone()),
            None => Destination::Stdout,
        },
    }];
    for r in reports {
        all.push(Output {
            format: r.format,
            to: Destination::File(r.file.clone()),
        });
    }
    let files: Vec<&Path> = all
        .iter()
        .filter_map(|o| match &o.to {
            Destination::File(p) => Some(p.as_path()),
            Destination::Stdout => None,
        })
        .collect();
    for (i, f) in files.iter().enumerate() {
        if files[..i].contains(f) {
            return Err(tr!(
                "{file}: two reports would be written to it",
                file = f.display()
            ));
        }
    }
    Ok(all)
}

/// Writes `text` to a file or standard output (a closed pipe is not an error).
pub fn write_to(to: &Destination, text: &str) -> Result<(), String> {
    match to {
        Destination::File(p) => {
            std::fs::write(p, text).map_err(|e| format!("{}: {e}", p.display()))
        }
        Destination::Stdout => {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(text.as_bytes()).and_then(|_| out.flush());
            Ok(())
        }
    }
}
