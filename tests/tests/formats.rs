//! Every report format, parsed back: JUnit with an XML parser (and quick-junit's reader),
//! Gradescope's results.json against its field list, Markdown with a CommonMark parser,
//! JSON with serde. Several formats come out of one grading (`--report FORMAT=FILE`), and
//! student output that tries to break out of its medium stays inside it.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use e2e::{harness_bin, workspace_root};
use serde_json::Value;

/// Runs `harness grade PATH --stable ARGS...` in the workspace root with its own TMPDIR.
fn grade(path: &Path, args: &[&str], tmp: &Path) -> std::process::Output {
    Command::new(harness_bin())
        .current_dir(workspace_root())
        .arg("grade")
        .arg(path)
        .arg("--stable")
        .args(args)
        .env("TMPDIR", tmp)
        .env("NO_COLOR", "1")
        .output()
        .expect("run harness")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The checks of a JSON report: (id, status, points, max_points).
fn checks(report: &Value) -> Vec<(String, String, u64, u64)> {
    report["checks"]
        .as_array()
        .expect("checks[]")
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap().to_string(),
                c["status"].as_str().unwrap().to_string(),
                c["points"].as_u64().unwrap(),
                c["max_points"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// Validates a JUnit document against the JSON report it was made from; returns the
/// document for further checks.
fn check_junit<'a>(xml: &'a str, report: &Value, stable: bool) -> roxmltree::Document<'a> {
    let doc =
        roxmltree::Document::parse(xml).unwrap_or_else(|e| panic!("JUnit is not XML: {e}\n{xml}"));
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    let suites: Vec<_> = root
        .children()
        .filter(|n| n.has_tag_name("testsuite"))
        .collect();
    assert_eq!(suites.len(), 1, "{xml}");
    let cases: Vec<_> = suites[0]
        .children()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    let want = checks(report);
    assert_eq!(cases.len(), want.len());
    let submission = report["submission"]["path"].as_str().unwrap();
    for (case, (id, status, _, max)) in cases.iter().zip(&want) {
        assert_eq!(case.attribute("name"), Some(id.as_str()));
        assert_eq!(case.attribute("classname"), Some(submission));
        let child = |tag: &str| case.children().find(|n| n.has_tag_name(tag));
        match status.as_str() {
            "passed" => assert!(child("failure").is_none() && child("error").is_none()),
            "failed" if *max == 0 => assert!(child("failure").is_none()),
            "failed" | "error" => {
                let tag = if status == "failed" {
                    "failure"
                } else {
                    "error"
                };
                let f = child(tag).unwrap_or_else(|| panic!("{id}: no <{tag}>"));
                assert!(f.attribute("message").is_some_and(|m| !m.is_empty()));
                // The text is in the body too: some readers ignore `message`.
                assert!(f.text().is_some_and(|t| t.contains("hint") || t.len() > 10));
            }
            "skipped" => assert!(child("skipped").is_some(), "{id}: no <skipped>"),
            other => panic!("unknown status {other}"),
        }
    }
    let failures = want
        .iter()
        .filter(|c| c.1 == "failed" && c.3 > 0)
        .count()
        .to_string();
    assert_eq!(suites[0].attribute("failures"), Some(failures.as_str()));
    // Stable mode: no times, no timestamps.
    if stable {
        assert!(
            !xml.contains("time=") && !xml.contains("timestamp="),
            "{xml}"
        );
    }

    // quick-junit's own reader agrees.
    let parsed = quick_junit::Report::deserialize_from_str(xml).expect("quick-junit reads it");
    assert_eq!(parsed.test_suites.len(), 1);
    assert_eq!(parsed.test_suites[0].test_cases.len(), want.len());
    doc
}

/// Gradescope's results.json: the documented fields, with their types, and nothing else.
fn check_gradescope(text: &str, report: &Value, stable: bool) -> Value {
    let v: Value = serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON: {e}\n{text}"));
    let top: BTreeSet<&str> = v.as_object().unwrap().keys().map(|k| k.as_str()).collect();
    let allowed: BTreeSet<&str> = [
        "score",
        "execution_time",
        "output",
        "output_format",
        "test_output_format",
        "test_name_format",
        "visibility",
        "stdout_visibility",
        "extra_data",
        "tests",
        "leaderboard",
    ]
    .into();
    assert!(top.is_subset(&allowed), "unknown top-level keys: {top:?}");
    assert!(v["score"].is_number() && v["output"].is_string() && v["tests"].is_array());
    if stable {
        assert!(
            v.get("execution_time").is_none(),
            "stable mode leaves the time out"
        );
    } else {
        assert!(v["execution_time"].is_number(), "{v}");
    }
    let formats = ["text", "html", "simple_format", "md", "ansi"];
    assert!(formats.contains(&v["output_format"].as_str().unwrap()));
    let visibilities = ["visible", "hidden", "after_due_date", "after_published"];
    let tests = v["tests"].as_array().unwrap();
    let want = checks(report);
    assert_eq!(tests.len(), want.len());
    let test_keys: BTreeSet<&str> = [
        "name",
        "name_format",
        "number",
        "score",
        "max_score",
        "status",
        "output",
        "output_format",
        "tags",
        "visibility",
        "extra_data",
    ]
    .into();
    // A check the protocol cannot carry is out of the grading, and a consequence of another
    // check's fault keeps its points: neither is shown as failed.
    let out_of_protocol: Vec<bool> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            c["status"] == "skipped"
                && (c["because_of"].is_string()
                    || c["max_points"] == 0
                        && c["message"]
                            .as_str()
                            .unwrap()
                            .starts_with("not part of this protocol"))
        })
        .collect();
    let mut sum = 0;
    for ((t, (id, status, points, max)), out) in tests.iter().zip(&want).zip(&out_of_protocol) {
        let keys: BTreeSet<&str> = t.as_object().unwrap().keys().map(|k| k.as_str()).collect();
        assert!(keys.is_subset(&test_keys), "unknown test keys: {keys:?}");
        assert!(t["name"].as_str().unwrap().starts_with(id.as_str()));
        assert!(t["number"].is_string());
        assert_eq!(t["score"].as_u64(), Some(*points));
        assert_eq!(t["max_score"].as_u64(), Some(*max));
        let want_status = if status == "passed" || *out {
            "passed"
        } else {
            "failed"
        };
        assert_eq!(t["status"].as_str(), Some(want_status), "{id}");
        assert!(t["output"].is_string());
        assert!(visibilities.contains(&t["visibility"].as_str().unwrap()));
        sum += points;
    }
    assert_eq!(v["score"].as_u64(), Some(sum));
    assert_eq!(v["score"], report["score"]);
    v
}

/// Parses Markdown; returns the raw HTML it holds and the text of its code blocks.
fn parse_markdown(md: &str) -> (Vec<String>, Vec<String>) {
    use pulldown_cmark::{CodeBlockKind, Event, Options, Parser, Tag, TagEnd};
    let mut html = Vec::new();
    let mut blocks = Vec::new();
    let mut in_block = false;
    for e in Parser::new_ext(md, Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH) {
        match e {
            Event::Html(h) | Event::InlineHtml(h) => html.push(h.to_string()),
            Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(_))) => {
                in_block = true;
                blocks.push(String::new());
            }
            Event::End(TagEnd::CodeBlock) => in_block = false,
            Event::Text(t) if in_block => blocks.last_mut().unwrap().push_str(&t),
            _ => {}
        }
    }
    (html, blocks)
}

/// The HTML the Markdown renderer writes itself; anything else came from a student.
fn own_html(h: &str) -> bool {
    let h = h.trim();
    h.starts_with("<details><summary>") && h.ends_with("</summary>")
        || h == "</details>"
        || h.starts_with("<code>") && !h.contains("<script")
}

#[test]
fn every_format_from_one_grading_parses_back() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let path = |f: &str| out.join(f);
    let sample = Path::new("exercises/bus/samples/wrong-line");
    let o = grade(
        sample,
        &[
            "--format",
            "junit",
            "--report",
            &format!("json={}", path("report.json").display()),
            "--report",
            &format!("gradescope={}", path("results.json").display()),
            "--report",
            &format!("markdown={}", path("summary.md").display()),
            "--report",
            &format!("human={}", path("report.txt").display()),
        ],
        tmp.path(),
    );
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let report: Value = serde_json::from_str(&read(&path("report.json"))).unwrap();
    let xml = String::from_utf8(o.stdout).unwrap();
    check_junit(&xml, &report, true);
    check_gradescope(&read(&path("results.json")), &report, true);

    let md = read(&path("summary.md"));
    let (html, _) = parse_markdown(&md);
    assert!(html.iter().all(|h| own_html(h)), "{html:?}");
    assert!(md.contains(": 90/100"), "{md}");
    // A table row per check (repeat and roles only repeat ctrl-c's typo: skipped).
    let rows = md
        .lines()
        .filter(|l| l.starts_with("| ✅") || l.starts_with("| ❌") || l.starts_with("| ⏭️"))
        .count();
    assert_eq!(rows, checks(&report).len(), "{md}");
    assert!(md.contains("**Fix first:** ctrl-c"), "{md}");

    let human = read(&path("report.txt"));
    assert!(human.contains("Score: 90/100") && !human.contains('\x1b'));
    assert!(human.contains("Fix first: ctrl-c: "), "{human}");
    assert_eq!(report["fix_first"], "ctrl-c");
}

#[test]
fn hostile_student_output_stays_inside_every_format() {
    let tmp = tempfile::tempdir().unwrap();
    // A submission whose output (and directory name) is made to break out of each medium.
    let sub = tmp.path().join("evil <b>*|&`x`");
    std::fs::create_dir(&sub).unwrap();
    std::fs::write(
        sub.join("bus.py"),
        "import sys\n\
         sys.stdout.write(\"```\\n````\\n</details><script>alert(1)</script>\\n\\x1b[2J ]]> </system-out> | @all &amp; \\u202e end\\n\")\n\
         sys.stdout.flush()\n\
         sys.exit(3)\n",
    )
    .unwrap();
    let out = tmp.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let path = |f: &str| out.join(f);
    let o = grade(
        &sub,
        &[
            "--format",
            "json",
            "--report",
            &format!("junit={}", path("junit.xml").display()),
            "--report",
            &format!("gradescope={}", path("results.json").display()),
            "--report",
            &format!("markdown={}", path("summary.md").display()),
        ],
        tmp.path(),
    );
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let report: Value = serde_json::from_slice(&o.stdout).expect("JSON survives");
    assert_eq!(report["checks"][0]["status"], "failed");

    // JUnit: well-formed, and the transcript is text, shown with its ESC escaped.
    let xml = read(&path("junit.xml"));
    assert!(!xml.contains('\x1b'));
    let doc = check_junit(&xml, &report, true);
    let out_text: String = doc
        .descendants()
        .filter(|n| n.has_tag_name("system-out"))
        .filter_map(|n| n.text())
        .collect();
    for shown in [
        "<script>alert(1)</script>",
        "\\e[2J",
        "]]> </system-out>",
        "\\u{202e}",
    ] {
        assert!(
            out_text.contains(shown),
            "{shown} not in system-out:\n{out_text}"
        );
    }

    // Gradescope: plain text, escaped controls.
    let text = read(&path("results.json"));
    let v = check_gradescope(&text, &report, true);
    let first = v["tests"][0]["output"].as_str().unwrap();
    assert!(
        first.contains("\\e[2J") && !first.contains('\x1b'),
        "{first}"
    );
    assert_eq!(v["output_format"], "text");

    // Markdown: no HTML but our own, the transcript whole inside one code block.
    let md = read(&path("summary.md"));
    assert!(!md.contains('\x1b'));
    let (html, blocks) = parse_markdown(&md);
    assert!(
        html.iter().all(|h| own_html(h)),
        "student HTML got through: {html:?}\n{md}"
    );
    assert_eq!(blocks.len(), 1, "{md}");
    for shown in [
        "```\n",
        "````\n",
        "<script>alert(1)</script>",
        "\\e[2J",
        "| @all &amp;",
    ] {
        assert!(
            blocks[0].contains(shown),
            "{shown:?} not in the code block:\n{}",
            blocks[0]
        );
    }
    // The directory name is text in the heading line, not markup.
    assert!(md.contains("evil \\<b\\>\\*\\|\\&\\`x\\`"), "{md}");
}

#[test]
fn gradescope_results_say_why_a_submission_could_not_be_graded() {
    let tmp = tempfile::tempdir().unwrap();
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let results = tmp.path().join("results.json");
    let o = grade(
        &empty,
        &[
            "--format",
            "gradescope",
            "--output",
            results.to_str().unwrap(),
        ],
        tmp.path(),
    );
    assert_eq!(o.status.code(), Some(2));
    let v: Value = serde_json::from_str(&read(&results)).unwrap();
    assert_eq!(v["score"], 0);
    assert_eq!(v["tests"].as_array().map(|t| t.len()), Some(0));
    assert!(
        v["output"].as_str().unwrap().contains("no program found"),
        "{v}"
    );
}

#[test]
fn report_targets_are_checked_before_grading() {
    let tmp = tempfile::tempdir().unwrap();
    let sample = Path::new("exercises/bus/samples/correct-fork");
    let same = tmp.path().join("same.xml");
    let same = format!("junit={}", same.display());
    let o = grade(sample, &["--report", &same, "--report", &same], tmp.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("two reports"));
    let o = grade(sample, &["--report", "yaml=x.yml"], tmp.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("unknown format"));
}

/// A copy of a bus sample's program in a fresh directory (a student's repository).
fn student_repo(tmp: &Path, sample: &str) -> std::path::PathBuf {
    let repo = tmp.join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    let from = workspace_root().join("exercises/bus/samples").join(sample);
    std::fs::copy(from.join("bus.py"), repo.join("bus.py")).unwrap();
    repo
}

/// Runs a shell line of a CI example in `dir`, with the harness under test first on PATH.
fn run_line(line: &str, dir: &Path, env: &[(&str, &Path)]) -> std::process::Output {
    let bin_dir = harness_bin().parent().unwrap().to_path_buf();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut cmd = Command::new("bash");
    cmd.arg("-c")
        .arg(line)
        .current_dir(dir)
        .env("PATH", path)
        .env("NO_COLOR", "1");
    cmd.env("TMPDIR", dir.parent().unwrap());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run bash")
}

fn yaml(path: &str) -> Value {
    let text = read(&workspace_root().join(path));
    serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{path} is not YAML: {e}"))
}

/// The `harness ...` lines of a script.
fn harness_lines(script: &str) -> Vec<String> {
    script
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("harness "))
        .map(String::from)
        .collect()
}

#[test]
fn the_github_classroom_workflow_runs_and_its_files_parse() {
    let wf = yaml("docs/examples/github-classroom.yml");
    assert!(wf["on"].is_object() && wf["jobs"].is_object(), "{wf}");
    let steps = wf["jobs"]["grade"]["steps"]
        .as_array()
        .expect("jobs.grade.steps");
    for s in steps {
        assert!(
            s["uses"].is_string() || s["run"].is_string(),
            "a step does nothing: {s}"
        );
    }
    // The grader comes from the Actions cache, keyed on its version; it is built only when
    // the cache has none.
    let cache = steps
        .iter()
        .find(|s| {
            s["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("actions/cache@"))
        })
        .expect("a step restoring the grader from the cache");
    let key = cache["with"]["key"].as_str().unwrap_or_default();
    assert!(key.contains("HARNESS_REV"), "cache key: {key}");
    let install = steps
        .iter()
        .find(|s| {
            s["run"]
                .as_str()
                .is_some_and(|r| r.contains("cargo install"))
        })
        .expect("a step installing the grader");
    let id = cache["id"].as_str().expect("the cache step has an id");
    assert_eq!(
        install["if"].as_str(),
        Some(format!("steps.{id}.outputs.cache-hit != 'true'").as_str()),
        "{install}"
    );
    let grade = steps
        .iter()
        .find(|s| s["id"] == "grade")
        .expect("a step with id: grade");
    let lines = harness_lines(grade["run"].as_str().unwrap());
    assert_eq!(lines.len(), 1, "{lines:?}");

    let tmp = tempfile::tempdir().unwrap();
    let repo = student_repo(tmp.path(), "correct-fork");
    let summary = tmp.path().join("step-summary.md");
    let o = run_line(&lines[0], &repo, &[("GITHUB_STEP_SUMMARY", &summary)]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let md = read(&summary);
    let (html, _) = parse_markdown(&md);
    assert!(
        html.iter().all(|h| own_html(h)) && md.contains(": 100/100"),
        "{md}"
    );
    // The files the later steps upload and report.
    let report: Value = serde_json::from_str(&read(&repo.join("harness-report.json"))).unwrap();
    let junit_path = steps
        .iter()
        .find_map(|s| s["with"]["path"].as_str().filter(|p| p.ends_with(".xml")))
        .expect("a step reading the JUnit file");
    check_junit(&read(&repo.join(junit_path)), &report, false);
}

#[test]
fn the_gitlab_job_runs_and_its_junit_artifact_parses() {
    let ci = yaml("docs/examples/gitlab-ci.yml");
    let job = &ci["grade"];
    let script: Vec<&str> = job["script"]
        .as_array()
        .expect("grade.script")
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    let lines = harness_lines(&script.join("\n"));
    assert_eq!(lines.len(), 1, "{script:?}");
    // The grader is installed into the folder the runner caches, keyed on its version, and
    // built only when that folder has none.
    let cached = job["cache"]["paths"][0].as_str().expect("cache.paths");
    let key = job["cache"]["key"].as_str().unwrap_or_default();
    assert!(key.contains("HARNESS_REV"), "cache key: {key}");
    let before: Vec<&str> = job["before_script"]
        .as_array()
        .expect("grade.before_script")
        .iter()
        .filter_map(|l| l.as_str())
        .collect();
    let install = before
        .iter()
        .find(|l| l.contains("cargo install"))
        .expect("a line installing the grader");
    let root = cached.trim_end_matches('/');
    assert!(
        install.starts_with(&format!("test -x {root}/bin/harness ||"))
            && install.contains(&format!("--root {root} ")),
        "{install}"
    );
    let junit_path = job["artifacts"]["reports"]["junit"]
        .as_str()
        .expect("artifacts.reports.junit");
    assert!(job["artifacts"]["when"] == "always");

    let tmp = tempfile::tempdir().unwrap();
    let repo = student_repo(tmp.path(), "wrong-line");
    let o = run_line(&lines[0], &repo, &[]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(String::from_utf8_lossy(&o.stdout).contains("Score: 90/100"));
    let report: Value = serde_json::from_str(&read(&repo.join("harness-report.json"))).unwrap();
    check_junit(&read(&repo.join(junit_path)), &report, false);
    for p in job["artifacts"]["paths"].as_array().unwrap() {
        assert!(
            repo.join(p.as_str().unwrap()).is_file(),
            "artifact {p} not written"
        );
    }
}

#[test]
fn the_gradescope_run_autograder_writes_valid_results() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("autograder");
    std::fs::create_dir_all(root.join("submission")).unwrap();
    let from = workspace_root().join("exercises/bus/samples/wrong-line/bus.py");
    std::fs::copy(&from, root.join("submission/bus.py")).unwrap();
    let script = workspace_root().join("docs/examples/gradescope/run_autograder");
    let o = Command::new(&script)
        .env("AUTOGRADER_ROOT", &root)
        .env("HARNESS", harness_bin())
        .env("TMPDIR", tmp.path())
        .output()
        .expect("run run_autograder");
    // Gradescope wants the script to succeed whatever the grade.
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(String::from_utf8_lossy(&o.stdout).contains("Score: 90/100"));
    let report = grade(&root.join("submission"), &["--format", "json"], tmp.path());
    let report: Value = serde_json::from_slice(&report.stdout).unwrap();
    check_gradescope(&read(&root.join("results/results.json")), &report, false);

    // An empty submission: still a results.json, score 0, with the reason.
    std::fs::remove_file(root.join("submission/bus.py")).unwrap();
    let o = Command::new(&script)
        .env("AUTOGRADER_ROOT", &root)
        .env("HARNESS", harness_bin())
        .env("TMPDIR", tmp.path())
        .output()
        .expect("run run_autograder");
    assert_eq!(o.status.code(), Some(0));
    let v: Value = serde_json::from_str(&read(&root.join("results/results.json"))).unwrap();
    assert_eq!(v["score"], 0);
    assert!(
        v["output"].as_str().unwrap().contains("no program found"),
        "{v}"
    );
}

/// Gradescope with the course's legacy dialect: `run_autograder` takes the class config
/// shipped next to the binary (an inline dialect over `lgpq-hash` that leaves `get-binary` out
/// of the protocol); results.json carries the dialect's verdicts, as the JSON report does.
#[test]
fn the_gradescope_run_autograder_grades_in_the_configured_dialect() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("autograder");
    std::fs::create_dir_all(root.join("submission")).unwrap();
    std::fs::create_dir_all(root.join("source")).unwrap();
    let sample = workspace_root().join("exercises/fileserver/samples/lgpq-correct");
    std::fs::copy(sample.join("server.py"), root.join("submission/server.py")).unwrap();
    let config = root.join("source/class.toml");
    std::fs::write(
        &config,
        "[fileserver.server]\nargs = []\nready_line = \"\"\nlibrary = \"/home/tarena/ftp/\"\n\n\
         [fileserver.server.dialect]\nbase = \"lgpq-hash\"\n\n\
         [fileserver.server.dialect.not_in_protocol]\n\
         get-binary = \"a download ends at ##, so a file holding ## cannot be carried\"\n",
    )
    .unwrap();
    let o = Command::new(workspace_root().join("docs/examples/gradescope/run_autograder"))
        .env("AUTOGRADER_ROOT", &root)
        .env("HARNESS", harness_bin())
        .env("TMPDIR", tmp.path())
        .output()
        .expect("run run_autograder");
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let report = grade(
        &root.join("submission"),
        &["--config", config.to_str().unwrap(), "--format", "json"],
        tmp.path(),
    );
    let report: Value = serde_json::from_slice(&report.stdout).unwrap();
    // The 8 points of get-binary are out of the grading, not lost.
    assert_eq!(
        (&report["score"], &report["max_score"]),
        (&84.into(), &118.into())
    );
    let v = check_gradescope(&read(&root.join("results/results.json")), &report, false);
    let output = |id: &str| {
        v["tests"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"].as_str().unwrap().starts_with(&format!("{id}:")))
            .unwrap_or_else(|| panic!("no test {id}: {v:#}"))["output"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert!(
        output("get-text").starts_with("G hello.txt"),
        "{}",
        output("get-text")
    );
    assert!(
        output("get-binary").contains("not part of this protocol: a download ends at ##"),
        "{}",
        output("get-binary")
    );
    // Out of the grading, not failed; the skip for a missing client stays a failure.
    let test = |id: &str| {
        v["tests"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"].as_str().unwrap().starts_with(&format!("{id}:")))
            .cloned()
            .unwrap()
    };
    let binary = test("get-binary");
    assert_eq!(
        (&binary["status"], &binary["score"], &binary["max_score"]),
        (&"passed".into(), &0.into(), &0.into()),
        "{binary}"
    );
    assert_eq!(test("client-list")["status"], "failed");
}

/// Runs `harness grade PATH ARGS...` as a user would: not stable, so the report holds the
/// machine's real paths (run directories, the interpreter) wherever the grader lets them in.
fn grade_unstable(path: &Path, args: &[&str], tmp: &Path) -> std::process::Output {
    Command::new(harness_bin())
        .current_dir(workspace_root())
        .arg("grade")
        .arg(path)
        .args(args)
        .env("TMPDIR", tmp)
        .env("NO_COLOR", "1")
        .output()
        .expect("run harness")
}

/// Gradescope, the human report and the Markdown summary, of one grading: no path of the
/// grading machine in any (the JSON keeps them).
#[test]
fn gradescope_output_of_a_python_traceback_names_no_machine_path() {
    let tmp = tempfile::tempdir().unwrap();
    let sample = Path::new("exercises/bus/samples/crash-at-start");
    let (human, md) = (tmp.path().join("r.txt"), tmp.path().join("r.md"));
    let out = grade_unstable(
        sample,
        &[
            "--format",
            "gradescope",
            "--report",
            &format!("human={}", human.display()),
            "--report",
            &format!("markdown={}", md.display()),
        ],
        tmp.path(),
    );
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    let (human, md) = (read(&human), read(&md));
    let results: Value = serde_json::from_str(&text).unwrap();
    let interpreter = String::from_utf8(
        Command::new("python3")
            .args(["-c", "import sys; print(sys.base_prefix)"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let mut machine = vec![
        "harness-run-".to_string(),
        tmp.path().display().to_string(),
        interpreter.trim().to_string(),
    ];
    machine.retain(|m| m.len() > 1);
    for m in &machine {
        for shown in [&text, &human, &md] {
            assert!(!shown.contains(m.as_str()), "{m} in {shown}");
        }
    }
    for shown in [&human, &md] {
        assert!(shown.contains("File \"bus.py\", line 64"), "{shown}");
    }
    let version = results["output"].as_str().unwrap();
    let version = version.split("; Python ").nth(1).unwrap().trim();
    // The interpreter by its name (`python3`, `python3.11`) and version.
    let line = |prefix: &str| {
        human
            .lines()
            .find_map(|l| l.strip_prefix(prefix))
            .unwrap_or_else(|| panic!("no {prefix} in {human}"))
            .to_string()
    };
    let interpreter = line("  interpreter: ");
    assert!(
        interpreter.starts_with("python") && interpreter.ends_with(&format!(" {version}")),
        "{human}"
    );
    let name = interpreter.split(' ').next().unwrap();
    assert_eq!(line("  ran: "), format!("{name} bus.py"));
    assert!(md.contains(&format!(", run with {interpreter}")), "{md}");
    // The traceback names the student's file as the student knows it.
    let start = &results["tests"][0]["output"];
    assert!(
        start.as_str().unwrap().contains("File \"bus.py\", line 64"),
        "{start}"
    );
}

#[test]
fn a_server_traceback_is_shown_as_lines_and_the_command_with_its_arguments() {
    let tmp = tempfile::tempdir().unwrap();
    let sub = tmp.path().join("crashing-server");
    std::fs::create_dir(&sub).unwrap();
    std::fs::write(
        sub.join("server.py"),
        "import sys\n\nport, library = sys.argv[1], sys.argv[2]\nraise SystemExit(int(library))\n",
    )
    .unwrap();
    let out = grade(&sub, &[], tmp.path());
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains(" server.py {port} {library}\n"),
        "the arguments in `ran:` of {text}"
    );
    let seen: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.starts_with("      seen:     Traceback"))
        .take_while(|l| !l.starts_with("      hint:"))
        .collect();
    assert!(seen.len() >= 3, "a traceback of several lines in {text}");
    assert!(
        seen[1..].iter().all(|l| l.starts_with("                ")),
        "each line under the first: {seen:#?}"
    );
    assert!(
        seen.last()
            .unwrap()
            .contains("ValueError: invalid literal for int()"),
        "{seen:#?}"
    );
    assert!(!text.contains("\\n"), "no line end shown as \\n: {text}");
}

/// The `(name, version)` of every package in a Cargo.lock.
fn locked(path: &Path) -> BTreeSet<(String, String)> {
    let lock: toml::Value = toml::from_str(&read(path)).unwrap();
    lock["package"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_string(),
                p["version"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn the_snapshot_recipe_needs_only_crates_the_workspace_locks() {
    let root = workspace_root();
    let workspace = locked(&root.join("Cargo.lock"));
    let recipe = locked(&root.join("docs/examples/snapshots/Cargo.lock"));
    let extra: Vec<_> = recipe
        .iter()
        .filter(|(name, _)| name != "course-reports")
        .filter(|p| !workspace.contains(*p))
        .collect();
    assert!(
        extra.is_empty(),
        "the snapshot recipe needs crates the workspace does not fetch: {extra:?}"
    );
    let doc = read(&root.join("docs/snapshots.md"));
    assert!(!doc.contains("cargo install cargo-insta"), "{doc}");
}

/// The recipe of docs/snapshots.md, run as an instructor would, offline: snapshots of a bus
/// and a file server submission are written, hold no machine path, and pass a second run.
#[test]
fn the_snapshot_recipe_runs_offline_and_its_snapshots_hold_no_machine_path() {
    let root = workspace_root();
    let tmp = tempfile::tempdir().unwrap();
    let course = tmp.path().join("course-reports");
    copy_dir(&root.join("docs/examples/snapshots"), &course);
    // The recipe's own submissions (docs/snapshots.md shows them), and a file server beside.
    let from = root.join("exercises/fileserver/samples/lists-hidden");
    copy_dir(&from, &course.join("submissions/lists-hidden"));
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let run = |update: &str| -> std::process::Output {
        Command::new(&cargo)
            .args(["test", "--offline", "--locked", "--quiet"])
            .current_dir(&course)
            // Kept between runs of this test, apart from the workspace's own builds.
            .env("CARGO_TARGET_DIR", root.join("target/snapshot-recipe"))
            .env("HARNESS", harness_bin())
            .env("INSTA_UPDATE", update)
            .env("TMPDIR", tmp.path())
            .env_remove("CI")
            .output()
            .expect("run cargo")
    };
    let passes = |update: &str| {
        let out = run(update);
        assert!(
            out.status.success(),
            "INSTA_UPDATE={update} cargo test in the recipe:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    };
    passes("always");
    let snaps = course.join("tests/snapshots");
    let mut names: Vec<String> = std::fs::read_dir(&snaps)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "reports__report@forgets-to-wait.snap",
            "reports__report@full-marks.snap",
            "reports__report@lists-hidden.snap"
        ]
    );
    assert!(!read(&snaps.join(&names[0])).contains("Score: 100/100"));
    assert!(read(&snaps.join(&names[1])).contains("Score: 100/100"));
    for name in &names {
        let text = read(&snaps.join(name));
        for machine in ["/root", "/tmp", "pyenv", "harness-run", "/usr/"] {
            assert!(!text.contains(machine), "{machine} in {name}:\n{text}");
        }
    }
    assert!(read(&snaps.join(&names[2])).contains("  ran: [python] server.py {port} {library}\n"));
    // Unchanged reports compare equal: nothing of the machine or the run is left in them.
    passes("no");
    // With nothing to pin, the recipe's test fails and says why.
    std::fs::remove_dir_all(course.join("submissions")).unwrap();
    std::fs::create_dir(course.join("submissions")).unwrap();
    let out = run("no");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success(), "{said}");
    assert!(said.contains("submissions/ holds no folder"), "{said}");
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}
