//! The class table (student, exercise, score, max, failed checks) in every format, and
//! `harness merge`, which rebuilds it from the JSON of several gradings or shards.

use crate::i18n::verbatim;
use crate::tr;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use unicode_width::UnicodeWidthStr;

use super::{ClassReport, StudentResult};
use crate::report::output::{write_to, Destination, Format, Output};
use crate::report::{junit, markdown, Report};
use crate::text::escape;

/// One line of the table: a grading of one exercise, or a submission not graded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub student: String,
    /// Empty when the submission could not be graded.
    pub exercise: String,
    pub score: Option<u32>,
    pub max_score: Option<u32>,
    /// Checks worth points that did not pass (failed, skipped or grader error).
    pub failed: Vec<String>,
    pub error: Option<String>,
}

/// The rows of all results, in their order.
pub fn rows(results: &[StudentResult]) -> Vec<Row> {
    let mut rows = Vec::new();
    for r in results {
        for rep in &r.reports {
            rows.push(Row {
                student: r.student.clone(),
                exercise: rep.exercise.clone(),
                score: Some(rep.score),
                max_score: Some(rep.max_score),
                failed: failed_checks(rep),
                error: None,
            });
        }
        if r.error.is_some() || r.reports.is_empty() {
            rows.push(Row {
                student: r.student.clone(),
                exercise: String::new(),
                score: None,
                max_score: None,
                failed: Vec::new(),
                error: Some(r.error.clone().unwrap_or_else(|| tr!("no report").into())),
            });
        }
    }
    rows
}

fn failed_checks(r: &Report) -> Vec<String> {
    r.checks
        .iter()
        .filter(|c| !c.earns_points() && c.max_points > 0)
        .map(|c| c.id.clone())
        .collect()
}

impl Row {
    /// The last column of the human and Markdown tables.
    fn remark(&self) -> String {
        match &self.error {
            Some(e) => tr!("not graded: {e}", e = e),
            None if self.failed.is_empty() => "-".into(),
            None => self.failed.join(", "),
        }
    }
}

/// The table for a terminal, with a closing count.
pub fn human(results: &[StudentResult]) -> String {
    let rows = rows(results);
    let header = [
        tr!("student"),
        tr!("exercise"),
        tr!("score"),
        tr!("max"),
        tr!("failed checks"),
    ];
    let cells: Vec<[String; 5]> = rows
        .iter()
        .map(|r| {
            [
                escape::controls(&r.student),
                or_dash(&r.exercise),
                r.score.map_or("-".into(), |s| s.to_string()),
                r.max_score.map_or("-".into(), |s| s.to_string()),
                escape::controls(&r.remark()),
            ]
        })
        .collect();
    let width = |i: usize| {
        cells
            .iter()
            .map(|c| c[i].width())
            .chain([header[i].width()])
            .max()
            .unwrap_or(0)
    };
    let w = [width(0), width(1), width(2), width(3)];
    let mut out = String::new();
    // Columns a terminal gives the text: two for each Chinese character.
    let pad = |s: &str, n: usize| " ".repeat(n.saturating_sub(s.width()));
    let _ = writeln!(
        out,
        "{}{}  {}{}  {}{}  {}{}  {}",
        header[0],
        pad(header[0], w[0]),
        header[1],
        pad(header[1], w[1]),
        pad(header[2], w[2]),
        header[2],
        pad(header[3], w[3]),
        header[3],
        header[4]
    );
    for c in &cells {
        let _ = writeln!(
            out,
            "{}{}  {}{}  {}{}  {}{}  {}",
            c[0],
            pad(&c[0], w[0]),
            c[1],
            pad(&c[1], w[1]),
            pad(&c[2], w[2]),
            c[2],
            pad(&c[3], w[3]),
            c[3],
            c[4]
        );
    }
    out.push('\n');
    out.push_str(&summary(results));
    out.push('\n');
    out
}

fn or_dash(s: &str) -> String {
    if s.is_empty() {
        "-".into()
    } else {
        escape::controls(s)
    }
}

/// `6 submissions: 2 passed everything, 3 with failed checks, 1 not graded.`
pub fn summary(results: &[StudentResult]) -> String {
    let passed = results.iter().filter(|r| r.all_passed()).count();
    let errors = results
        .iter()
        .filter(|r| r.error.is_some() || r.reports.is_empty())
        .count();
    let failed = results.len() - passed - errors;
    if results.len() == 1 {
        tr!(
            "1 submission: {passed} passed every check, {failed} with failed checks, {errors} not graded.",
            passed = passed,
            failed = failed,
            errors = errors
        )
    } else {
        tr!(
            "{n} submissions: {passed} passed every check, {failed} with failed checks, {errors} not graded.",
            n = results.len(),
            passed = passed,
            failed = failed,
            errors = errors
        )
    }
}

/// The table in Markdown.
pub fn markdown(results: &[StudentResult]) -> String {
    let mut out = tr!(
        "| student | exercise | score | max | failed checks |\n| --- | --- | ---: | ---: | --- |\n"
    )
    .to_string();
    for r in rows(results) {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            markdown::inline(&r.student),
            markdown::inline(&or_dash(&r.exercise)),
            r.score.map_or("-".into(), |s| s.to_string()),
            r.max_score.map_or("-".into(), |s| s.to_string()),
            markdown::inline(&r.remark())
        );
    }
    out.push('\n');
    out.push_str(&markdown::inline(&summary(results)));
    out.push('\n');
    out
}

/// The table as CSV: `student,exercise,score,max_score,failed_checks,error`. Failed check
/// ids are separated by spaces. A text cell that a spreadsheet would take for a formula
/// (starting with `=`, `+`, `-`, `@`, tab or CR) gets a leading `'`.
pub fn csv(results: &[StudentResult]) -> Result<String, String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let err = |e: csv::Error| e.to_string();
    w.write_record([
        "student",
        "exercise",
        "score",
        "max_score",
        "failed_checks",
        "error",
    ])
    .map_err(err)?;
    for r in rows(results) {
        w.write_record([
            no_formula(&r.student),
            no_formula(&r.exercise),
            r.score.map_or(String::new(), |s| s.to_string()),
            r.max_score.map_or(String::new(), |s| s.to_string()),
            no_formula(&r.failed.join(" ")),
            no_formula(r.error.as_deref().unwrap_or("")),
        ])
        .map_err(err)?;
    }
    let bytes = w.into_inner().map_err(|e| e.to_string())?;
    String::from_utf8(bytes).map_err(|e| e.to_string())
}

fn no_formula(text: &str) -> String {
    let text = escape::controls(text);
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text
    }
}

/// JUnit: a suite per grading (`exercise: student`, classname = the student), and an
/// errored suite for a submission that could not be graded.
pub fn junit(results: &[StudentResult]) -> String {
    let mut suites = Vec::new();
    for r in results {
        for rep in &r.reports {
            suites.push(junit::suite(
                rep,
                &format!("{}: {}", rep.exercise, r.student),
            ));
        }
        if let Some(e) = &r.error {
            suites.push(junit::error_suite(&r.student, &r.student, e));
        }
    }
    junit::to_xml(suites)
}

pub fn json(results: &[StudentResult]) -> String {
    let mut s = serde_json::to_string_pretty(&ClassReport::new(results.to_vec()))
        .unwrap_or_else(|e| verbatim(format!("{{\"error\": \"could not serialise: {e}\"}}")));
    s.push('\n');
    s
}

/// The class in one format.
pub fn render(results: &[StudentResult], format: Format) -> Result<String, String> {
    Ok(match format {
        Format::Human => human(results),
        Format::Json => json(results),
        Format::Junit => junit(results),
        Format::Markdown => markdown(results),
        Format::Html => super::index::render(results, None).index,
        Format::Gradescope | Format::GradescopeHtml => {
            return Err(tr!("the gradescope format is for one submission, not a class").into())
        }
    })
}

/// Writes every output, and the CSV.
pub fn write_outputs(
    results: &[StudentResult],
    outputs: &[Output],
    csv_file: Option<&Path>,
) -> Result<(), String> {
    for o in outputs {
        if let (Format::Html, Destination::File(f)) = (o.format, &o.to) {
            // The index links to each student's page, written beside it.
            super::index::write(results, f)?;
            continue;
        }
        let text = render(results, o.format)?;
        write_to(&o.to, &text)?;
    }
    if let Some(f) = csv_file {
        write_to(&Destination::File(f.to_path_buf()), &csv(results)?)?;
    }
    Ok(())
}

/// Reads the JSON written by `harness grade --format json` (one report or an array), by a
/// class grading (`kind: class`), or a student's error file from `--reports-dir`.
pub fn read_results(file: &Path) -> Result<Vec<StudentResult>, String> {
    let at = |e: String| format!("{}: {e}", file.display());
    let text = std::fs::read(file).map_err(|e| at(e.to_string()))?;
    let value: serde_json::Value =
        serde_json::from_slice(&text).map_err(|e| at(tr!("not JSON: {e}", e = e)))?;
    let from = |v: serde_json::Value| -> Result<Vec<Report>, String> {
        if v.is_array() {
            serde_json::from_value(v).map_err(|e| at(tr!("not a report: {e}", e = e)))
        } else {
            serde_json::from_value(v)
                .map(|r| vec![r])
                .map_err(|e| at(tr!("not a report: {e}", e = e)))
        }
    };
    if value.get("students").is_some() {
        let class: ClassReport =
            serde_json::from_value(value).map_err(|e| at(tr!("not a class report: {e}", e = e)))?;
        return Ok(class.students);
    }
    if value.get("student").is_some() {
        let one: StudentResult = serde_json::from_value(value)
            .map_err(|e| at(tr!("not a student result: {e}", e = e)))?;
        return Ok(vec![one]);
    }
    let reports = from(value)?;
    let Some(first) = reports.first() else {
        return Ok(Vec::new());
    };
    let path = first.submission.path.clone();
    Ok(vec![StudentResult {
        student: student_of(&path, file),
        path,
        reports,
        error: None,
        grader_fault: false,
    }])
}

/// The student a lone report belongs to: its submission directory's name (the report
/// file's stem when the path says nothing, such as `.`).
fn student_of(submission: &str, file: &Path) -> String {
    let p = PathBuf::from(submission);
    match p.file_name() {
        Some(n) if !submission.is_empty() => escape::one_line(n.as_encoded_bytes()),
        _ => file
            .file_stem()
            .map(|s| escape::one_line(s.as_encoded_bytes()))
            .unwrap_or_else(|| "?".into()),
    }
}

/// Merges result files into one class, sorted by student (stable: shards keep their
/// order). A student found twice for the same exercise is kept twice, with a warning.
pub fn merge(files: &[PathBuf]) -> Result<Vec<StudentResult>, String> {
    let mut all = Vec::new();
    for f in files {
        all.extend(read_results(f)?);
    }
    all.sort_by(|a, b| a.student.cmp(&b.student));
    for (i, r) in all.iter().enumerate() {
        if all[..i].iter().any(|o| {
            o.student == r.student
                && (o
                    .reports
                    .iter()
                    .any(|x| r.reports.iter().any(|y| x.exercise == y.exercise))
                    || (o.reports.is_empty() && r.reports.is_empty()))
        }) {
            eprintln!(
                "harness: warning: {} appears more than once in the merged files",
                escape::controls(&r.student)
            );
        }
    }
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_columns_line_up_after_chinese_names() {
        let not_graded = |name: &str| StudentResult {
            student: name.into(),
            path: name.into(),
            reports: Vec::new(),
            error: Some("no program found".into()),
            grader_fault: false,
        };
        let text = human(&[
            not_graded("张伟"),
            not_graded("alice"),
            not_graded("欧阳娜娜"),
        ]);
        // The display column where the exercise cell (`-`) starts, in every row.
        let starts: Vec<usize> = text
            .lines()
            .skip(1)
            .take(3)
            .map(|l| l[..l.find('-').unwrap()].width())
            .collect();
        assert_eq!(starts, [10, 10, 10], "{text}");
    }

    #[test]
    fn a_chinese_class_table_has_chinese_headings_lined_up_with_its_cells() {
        let not_graded = |name: &str| StudentResult {
            student: name.into(),
            path: name.into(),
            reports: Vec::new(),
            error: Some("x".into()),
            grader_fault: false,
        };
        let results = [not_graded("张伟"), not_graded("alice")];
        let text = crate::i18n::with(crate::i18n::Lang::Zh, || human(&results));
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("学生   练习  得分"), "{text}");
        assert!(lines[0].ends_with("未通过的检查项"), "{text}");
        // The exercise column starts at the same display column in the heading and the rows.
        let col = |l: &str, at: &str| l[..l.find(at).unwrap()].width();
        assert_eq!(col(lines[0], "练习"), col(lines[1], "-"), "{text}");
        assert!(lines[1].ends_with("未评分：x"), "{text}");
        assert!(
            text.ends_with(
                "共 2 份提交：0 份通过全部检查项，0 份有未通过的检查项，2 份未能评分。\n"
            ),
            "{text}"
        );
        let md = crate::i18n::with(crate::i18n::Lang::Zh, || markdown(&results));
        assert!(
            md.starts_with("| 学生 | 练习 | 得分 | 满分 | 未通过的检查项 |\n"),
            "{md}"
        );
        // The CSV is for machines: its header is the same in every language.
        let csv = crate::i18n::with(crate::i18n::Lang::Zh, || csv(&results)).unwrap();
        assert!(csv.starts_with("student,exercise,score,max_score,failed_checks,error\n"));
    }
}
