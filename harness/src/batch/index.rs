//! The class as an HTML page: the score histogram, each check's pass rate as a bar, the
//! students (sortable by score with a small inline script; the page reads without it, in
//! name order) linking to their own HTML reports, and grader errors apart. Written beside
//! the CSV by `harness grade roster/` and by `harness merge` (the JSON of the shards holds
//! every report, so merged pages are the same).
//!
//! Each student's page is written to `<index stem>-students/<student>.html` beside the
//! index, with a file name made safe (and unique) from the student's folder name.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::StudentResult;
use crate::report::html::{self, esc};
use crate::report::Status;
use crate::tr;

/// Bins of the score histogram (percent of the maximum).
const BINS: usize = 10;

/// One page per student, and the index linking to them: `(file name, page)` each.
pub struct Pages {
    pub students: Vec<(String, String)>,
    pub index: String,
}

/// The pages of a class whose index is written as `index_name` (the student pages go in
/// `<stem>-students/`); `None` writes the index alone, without links (standard output).
pub fn render(results: &[StudentResult], index_name: Option<&Path>) -> Pages {
    let dir = index_name.map(students_dir);
    let mut names: Vec<String> = Vec::new();
    let mut students = Vec::new();
    for r in results.iter().filter(|r| !r.reports.is_empty()) {
        let base = safe_name(&r.student);
        let mut name = format!("{base}.html");
        let mut n = 2;
        while names.contains(&name) {
            name = format!("{base}-{n}.html");
            n += 1;
        }
        names.push(name.clone());
        students.push((name, html::render(&r.reports)));
    }
    let link = |i: usize| dir.as_ref().map(|d| format!("{d}/{}", names[i]));
    Pages {
        index: index(results, &link),
        students: if dir.is_some() { students } else { Vec::new() },
    }
}

/// The folder, beside the index, of the students' pages (relative to the index).
pub fn students_dir(index: &Path) -> String {
    let stem = index
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "class".into());
    format!("{}-students", safe_name(&stem))
}

/// Writes the index to `file` and the students' pages beside it.
pub fn write(results: &[StudentResult], file: &Path) -> Result<(), String> {
    let pages = render(results, Some(file));
    let dir: PathBuf = file
        .parent()
        .unwrap_or(Path::new(""))
        .join(students_dir(file));
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for (name, page) in &pages.students {
        let p = dir.join(name);
        std::fs::write(&p, page).map_err(|e| format!("{}: {e}", p.display()))?;
    }
    std::fs::write(file, &pages.index).map_err(|e| format!("{}: {e}", file.display()))
}

/// A file name from a student's name: letters, digits, `.`, `_` and `-` kept (any
/// script), the rest `_`, never hidden.
fn safe_name(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '_' | '-') || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    match s.trim_start_matches('.') {
        "" => "student".into(),
        t => t.to_string(),
    }
}

/// Sorting the table by score: an enhancement; without it the rows stay in name order.
const SORT_SCRIPT: &str = r#"<script>
document.querySelectorAll('th[data-sort]').forEach(function(th){th.style.cursor='pointer';th.title='sort';th.addEventListener('click',function(){
 var tb=th.closest('table').tBodies[0],rows=Array.prototype.slice.call(tb.rows),k=th.dataset.sort,d=th.dataset.dir==='asc'?'desc':'asc';th.dataset.dir=d;
 rows.sort(function(a,b){var x=a.dataset[k],y=b.dataset[k];var r=k==='score'?(parseFloat(x)-parseFloat(y)):x.localeCompare(y);return d==='asc'?r:-r;});
 rows.forEach(function(r){tb.appendChild(r);});});});
</script>"#;

/// The index's own style, after the report's: the histogram's bars are HTML (their
/// numbers stay readable at any width, where an SVG would shrink them on a phone).
const INDEX_STYLE: &str = r#"<style>
.hist{display:flex;align-items:flex-end;gap:4px;height:180px;padding:8px 8px 0;border:1px solid var(--line);border-radius:4px;max-width:720px}
.hist .bin{flex:1;display:flex;flex-direction:column;justify-content:flex-end;align-items:center;height:100%;min-width:0}
.hist .bar{width:100%;background:#0969da;border-radius:2px 2px 0 0}
.hist .n,.hist .range{font-size:11px;color:var(--muted);white-space:nowrap}
.hist .range{border-top:1px solid var(--line);width:100%;text-align:center;padding:2px 0}
.rate{display:block;width:100%;height:14px;background:rgba(207,34,46,.3);border-radius:2px}.rate>span{display:block;height:100%;background:var(--pass);border-radius:2px}
table.rates td:last-child{width:50%}
@media (max-width:600px){.hist{gap:1px;padding:4px 2px 0}.hist .range{font-size:9px}}
</style>"#;

fn index(results: &[StudentResult], link: &dyn Fn(usize) -> Option<String>) -> String {
    let mut out = String::new();
    html::page_start(&mut out, tr!("class results"));
    out.push_str(INDEX_STYLE);
    let graded: Vec<&StudentResult> = results.iter().filter(|r| !r.reports.is_empty()).collect();
    let errors: Vec<&StudentResult> = results
        .iter()
        .filter(|r| r.error.is_some() || r.reports.is_empty())
        .collect();
    let (all, done, not) = (results.len(), graded.len(), errors.len());
    let _ = writeln!(
        out,
        "<header><h1>{}</h1><p class=\"muted\">{}</p></header><main>",
        tr!("Class results"),
        esc(&tr!(
            "{all} students, {done} graded, {not} not graded",
            all = all,
            done = done,
            not = not
        ))
    );
    let percents: Vec<f64> = graded.iter().map(|r| percent(r)).collect();
    histogram(&mut out, &percents);
    pass_rates(&mut out, &graded);
    let _ = writeln!(
        out,
        "<h2>{}</h2><table class=\"students\"><thead><tr><th data-sort=\"name\">{}</th><th>{}</th><th class=\"n\" data-sort=\"score\">{}</th><th>{}</th></tr></thead><tbody>",
        tr!("Students"),
        tr!("student"),
        tr!("exercise"),
        tr!("score"),
        tr!("not passed")
    );
    for (i, r) in graded.iter().enumerate() {
        let score: u32 = r.reports.iter().map(|x| x.score).sum();
        let max: u32 = r.reports.iter().map(|x| x.max_score).sum();
        let exercises: Vec<&str> = r.reports.iter().map(|x| x.exercise.as_str()).collect();
        let failed: Vec<&str> = r
            .reports
            .iter()
            .flat_map(|x| x.checks.iter())
            .filter(|c| c.status != Status::Passed && c.max_points > 0)
            .map(|c| c.id.as_str())
            .collect();
        let name = match link(i) {
            Some(href) => format!("<a href=\"{}\">{}</a>", esc(&href), esc(&r.student)),
            None => esc(&r.student),
        };
        let _ = writeln!(
            out,
            "<tr data-name=\"{}\" data-score=\"{:.3}\"><td>{name}</td><td>{}</td><td class=\"n\">{score} / {max}</td><td>{}</td></tr>",
            esc(&r.student),
            percents[i],
            esc(&exercises.join(", ")),
            esc(&failed.join(", "))
        );
    }
    out.push_str("</tbody></table>\n");
    if !errors.is_empty() {
        let _ = writeln!(
            out,
            "<h2>{}</h2><table class=\"errors\"><tr><th>{}</th><th>{}</th></tr>",
            tr!("Not graded"),
            tr!("student"),
            tr!("why")
        );
        for r in &errors {
            let why = r.error.clone().unwrap_or_else(|| tr!("no report").into());
            let (who, fault) = if r.grader_fault {
                (
                    " class=\"grader-error\"",
                    format!(
                        "<strong>{}</strong> {} ",
                        tr!("grader error"),
                        tr!("(a bug of the grader's, please report it):")
                    ),
                )
            } else {
                ("", String::new())
            };
            let _ = writeln!(
                out,
                "<tr{who}><td>{}</td><td>{fault}{}</td></tr>",
                esc(&r.student),
                esc(&why)
            );
        }
        out.push_str("</table>\n");
    }
    out.push_str("</main>");
    out.push_str(SORT_SCRIPT);
    out.push_str("</body></html>\n");
    out
}

fn percent(r: &StudentResult) -> f64 {
    let score: u32 = r.reports.iter().map(|x| x.score).sum();
    let max: u32 = r.reports.iter().map(|x| x.max_score).sum();
    if max == 0 {
        100.0
    } else {
        100.0 * score as f64 / max as f64
    }
}

/// Students per tenth of the maximum score, as bars; the last tenth holds full marks.
fn histogram(out: &mut String, percents: &[f64]) {
    let mut bins = [0usize; BINS];
    for p in percents {
        bins[((*p / 100.0 * BINS as f64) as usize).min(BINS - 1)] += 1;
    }
    let top = bins.iter().copied().max().unwrap_or(0).max(1);
    let _ = write!(
        out,
        "<h2>{}</h2><div class=\"hist\" role=\"img\" aria-label=\"{}\">",
        tr!("Scores"),
        esc(tr!("score histogram"))
    );
    for (i, n) in bins.iter().enumerate() {
        let (from, to) = (i * 10, if i == BINS - 1 { 100 } else { i * 10 + 9 });
        let range = format!("{from}–{to}");
        let _ = write!(
            out,
            "<div class=\"bin\" data-count=\"{n}\" title=\"{}\"><span class=\"n\">{n}</span>\
             <span class=\"bar\" style=\"height:{}%\"></span><span class=\"range\">{range}</span></div>",
            esc(&tr!("{range}% of the maximum: {n}", range = range, n = n)),
            // Room is kept for the count above the tallest bar.
            80 * n / top
        );
    }
    let _ = writeln!(
        out,
        "</div><p class=\"muted\">{}</p>",
        tr!("% of the maximum score")
    );
}

/// Each check's pass rate among the students graded on its exercise, as a bar.
fn pass_rates(out: &mut String, graded: &[&StudentResult]) {
    let mut checks: Vec<(String, usize, usize)> = Vec::new();
    for r in graded {
        for rep in &r.reports {
            for c in rep.checks.iter().filter(|c| c.max_points > 0) {
                let key = format!("{}: {}", rep.exercise, c.id);
                let i = match checks.iter().position(|(k, _, _)| *k == key) {
                    Some(i) => i,
                    None => {
                        checks.push((key, 0, 0));
                        checks.len() - 1
                    }
                };
                checks[i].2 += 1;
                checks[i].1 += (c.status == Status::Passed) as usize;
            }
        }
    }
    let _ = writeln!(
        out,
        "<h2>{}</h2><table class=\"rates\"><tr><th>{}</th><th class=\"n\">{}</th><th></th></tr>",
        tr!("Checks"),
        tr!("check"),
        tr!("passed")
    );
    for (key, passed, total) in checks {
        let pct = 100.0 * passed as f64 / total.max(1) as f64;
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td class=\"n\">{passed} / {total}</td><td><span class=\"rate\" role=\"img\" aria-label=\"{pct:.0}%\" data-rate=\"{pct:.0}\"><span style=\"width:{pct:.1}%\"></span></span></td></tr>",
            esc(&key)
        );
    }
    out.push_str("</table>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_safe_and_unique() {
        assert_eq!(safe_name("../a b"), "_a_b");
        assert_eq!(safe_name(".."), "student");
        assert_eq!(safe_name("李雷"), "李雷");
        let r = |s: &str| StudentResult {
            student: s.into(),
            path: s.into(),
            reports: Vec::new(),
            error: Some("no program".into()),
            grader_fault: false,
        };
        let pages = render(&[r("a/b"), r("a b")], Some(Path::new("out/class.html")));
        assert!(pages.students.is_empty());
        assert!(pages.index.contains("no program"));
    }
    #[test]
    fn the_index_speaks_the_reports_language() {
        let r = StudentResult {
            student: "ann".into(),
            path: "ann".into(),
            reports: Vec::new(),
            error: Some("no program".into()),
            grader_fault: false,
        };
        let en = render(std::slice::from_ref(&r), None).index;
        assert!(en.contains("<h1>Class results</h1>") && en.contains("<html lang=\"en\">"));
        let zh = crate::i18n::with(crate::i18n::Lang::Zh, || render(&[r], None).index);
        assert!(zh.contains("<html lang=\"zh-Hans\">"), "{zh}");
        assert!(
            zh.contains("<h1>全班成绩</h1>") && zh.contains("<h2>未评分</h2>"),
            "{zh}"
        );
    }
}
