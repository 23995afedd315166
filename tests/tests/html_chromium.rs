//! The HTML reports in a real browser: headless Chromium (Debian's `chromium`, installed by
//! `.ci/run`) loads the report of a passing bus, a failing bus (Ctrl-C kills the driver), a
//! failing file server (a truncated upload), a program printing markup, and a class of six,
//! all in one run of the browser (it takes seconds to start). A wrapper page holds each in
//! a frame and writes out, after loading, each frame's DOM as the browser built it, its
//! title, its script elements and the resources it loaded: the DOM must hold the expected
//! lanes, marks and labels; no page may load anything (no resource loaded, and nothing in
//! the built page that could fetch: a failed load leaves no timing entry, and the browser
//! runs with a dead proxy and no name resolution); printed markup must stay text (a script
//! of it would change the title and the root element, checked).
//!
//! Also here, as it needs the same gradings: two `--stable` gradings give byte-identical
//! JSON (event logs included).

use std::path::{Path, PathBuf};
use std::process::Command;

use e2e::{harness_bin, workspace_root};
use serde_json::Value;

fn sample(exercise: &str, name: &str) -> PathBuf {
    workspace_root()
        .join("exercises")
        .join(exercise)
        .join("samples")
        .join(name)
}

/// Grades `path` and writes its HTML report to `out` (and the JSON beside it, `.json`);
/// returns the exit status.
fn html_report(path: &Path, out: &Path) -> i32 {
    let o = Command::new(harness_bin())
        .arg("grade")
        .arg(path)
        .args(["--format", "html", "--output"])
        .arg(out)
        .arg("--report")
        .arg(format!("json={}", out.with_extension("json").display()))
        .output()
        .expect("run harness");
    assert!(out.is_file(), "{}", String::from_utf8_lossy(&o.stderr));
    o.status.code().unwrap_or(-1)
}

/// The paths of the grading machine a report's JSON names: the interpreter's executable and
/// installation, the run directories its texts name (`/tmp/harness-run-…`).
fn machine_paths(json: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(json).unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    let mut out: Vec<String> = text
        .match_indices("harness-run-")
        .map(|(i, _)| {
            let start = text[..i].rfind([' ', '"']).map_or(0, |k| k + 1);
            let end = i + text[i..].find(['/', '"', ' ']).unwrap_or(text.len() - i);
            text[start..end].to_string()
        })
        .collect();
    if let Some(exe) = v["interpreter"]["path"].as_str() {
        out.push(exe.to_string());
        // `<prefix>/bin/python3`: the prefix, where a traceback's library files are.
        if let Some(prefix) = Path::new(exe).parent().and_then(Path::parent) {
            out.push(format!("{}/", prefix.display()));
        }
    }
    out
}

/// One frame's page as the browser built it.
struct Loaded {
    title: String,
    html: String,
    scripts: u64,
    resources: Vec<String>,
}

/// Loads every page in one headless Chromium and returns what each frame held.
fn load_in_chromium(dir: &Path, pages: &[PathBuf]) -> Vec<Loaded> {
    let frames: String = pages
        .iter()
        .enumerate()
        .map(|(i, p)| {
            format!(
                "<iframe id=\"f{i}\" src=\"file://{}\"></iframe>",
                p.display()
            )
        })
        .collect();
    let wrapper = dir.join("wrapper.html");
    std::fs::write(
        &wrapper,
        format!(
            "<!DOCTYPE html><html><body>{frames}<script>
window.addEventListener('load', function () {{
  for (var i = 0; i < {n}; i++) {{
    var f = document.getElementById('f' + i), d = f.contentDocument;
    var out = document.createElement('pre');
    out.id = 'out' + i;
    out.textContent = JSON.stringify({{
      title: d.title, html: d.documentElement.outerHTML, scripts: d.scripts.length,
      resources: f.contentWindow.performance.getEntriesByType('resource').map(function (e) {{ return e.name; }})
    }});
    document.body.appendChild(out);
  }}
}});
</script></body></html>",
            n = pages.len()
        ),
    )
    .unwrap();
    let o = Command::new("timeout")
        .arg("120")
        .arg("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--allow-file-access-from-files",
            "--disable-background-networking",
            // Nothing may go out: a proxy on a port where nothing listens, no name resolves.
            "--proxy-server=127.0.0.1:9",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            "--dump-dom",
        ])
        .arg(format!("file://{}", wrapper.display()))
        .output()
        .expect("chromium is not installed: .ci/run installs it (apt-get install -y chromium)");
    let dom = String::from_utf8_lossy(&o.stdout).into_owned();
    (0..pages.len())
        .map(|i| {
            let start = format!("<pre id=\"out{i}\">");
            let at = dom
                .find(&start)
                .unwrap_or_else(|| panic!("frame {i} not written out: {dom:.2000}"));
            let rest = &dom[at + start.len()..];
            let text = &rest[..rest.find("</pre>").expect("end of the frame's output")];
            let json = text
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&nbsp;", "\u{a0}")
                .replace("&amp;", "&");
            let v: Value = serde_json::from_str(&json).expect("the frame's output is JSON");
            Loaded {
                title: v["title"].as_str().unwrap_or_default().to_string(),
                html: v["html"].as_str().unwrap_or_default().to_string(),
                scripts: v["scripts"].as_u64().unwrap_or(99),
                resources: v["resources"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|r| r.as_str().map(String::from))
                            .collect()
                    })
                    .unwrap_or_default(),
            }
        })
        .collect()
}

/// The part of a page that shows check `id`.
fn check<'a>(page: &'a Loaded, id: &str) -> &'a str {
    let start = format!("id=\"check-{id}\"");
    let at = page
        .html
        .find(&start)
        .unwrap_or_else(|| panic!("no check {id} in the page"));
    let rest = &page.html[at..];
    &rest[..rest[1..].find("<details").map_or(rest.len(), |e| e + 1)]
}

/// The timeline marks of a check: (kind, lane, label) each.
fn marks(section: &str) -> Vec<(String, String, String)> {
    section
        .split("<g class=\"ev ")
        .skip(1)
        .map(|g| {
            let attr = |name: &str| {
                let key = format!("{name}=\"");
                let v = &g[g.find(&key).map_or(0, |i| i + key.len())..];
                v[..v.find('"').unwrap_or(0)].to_string()
            };
            let title = &g[g.find("<title>").map_or(0, |i| i + 7)..];
            let title = &title[..title.find("</title>").unwrap_or(0)];
            (attr("data-kind"), attr("data-lane"), title.to_string())
        })
        .collect()
}

fn has(marks: &[(String, String, String)], kind: &str, lane: &str, label: &str) -> bool {
    marks
        .iter()
        .any(|(k, l, t)| k == kind && l == lane && t.contains(label))
}

#[test]
fn reports_load_in_chromium_with_their_timelines_and_nothing_else() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let pass = dir.join("pass.html");
    let fail = dir.join("fail.html");
    let fs = dir.join("fs.html");
    let markup = dir.join("markup.html");
    assert_eq!(html_report(&sample("bus", "correct-fork"), &pass), 0);
    assert_eq!(
        html_report(&sample("bus", "driver-dies-on-ctrl-c"), &fail),
        1
    );
    assert_eq!(
        html_report(&sample("fileserver", "truncated-upload"), &fs),
        1
    );
    let printer = workspace_root().join("tests/fixtures/html/prints-markup");
    assert_eq!(html_report(&printer, &markup), 1);

    // A class of six: four graded, one twice the same, one with nothing to grade.
    let roster = dir.join("roster");
    for (student, from) in [
        ("ann", "correct-fork"),
        ("bob", "correct-fork"),
        ("cat", "driver-dies-on-ctrl-c"),
        ("dan", "wrong-line"),
        ("eve", "missing-line"),
    ] {
        let d = roster.join(student);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::copy(sample("bus", from).join("bus.py"), d.join("bus.py")).unwrap();
    }
    std::fs::create_dir_all(roster.join("fay/notes")).unwrap();
    let index = dir.join("class.html");
    let o = Command::new(harness_bin())
        .arg("grade")
        .arg(&roster)
        .args(["--jobs", "2", "--format", "html", "--output"])
        .arg(&index)
        .arg("--csv")
        .arg(dir.join("grades.csv"))
        .output()
        .unwrap();
    assert!(index.is_file(), "{}", String::from_utf8_lossy(&o.stderr));
    let student_page = dir.join("class-students/cat.html");
    assert!(
        student_page.is_file(),
        "the students' pages beside the index"
    );

    // No page shows a path of the grading machine (the JSON keeps them).
    for page in [&pass, &fail, &fs, &markup] {
        let paths = machine_paths(&page.with_extension("json"));
        assert!(!paths.is_empty(), "{}: the run's paths", page.display());
        let html = std::fs::read_to_string(page).unwrap();
        for p in paths {
            assert!(!html.contains(&p), "{}: {p}", page.display());
        }
    }

    let pages = [pass, fail, fs, markup, index, student_page];
    let loaded = load_in_chromium(dir, &pages);

    for (p, l) in pages.iter().zip(&loaded) {
        assert!(
            l.resources.is_empty(),
            "{} loaded {:?}",
            p.display(),
            l.resources
        );
        // A load that fails leaves no timing entry: the built page must name nothing to load,
        // in its tags (text is escaped: a `<` there is `&lt;`) or its style.
        let html = l.html.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
        for tag in html
            .split('<')
            .skip(1)
            .map(|t| &t[..t.find('>').unwrap_or(t.len())])
        {
            for what in [" src=", "http:", "https:", "url(", "srcset"] {
                assert!(
                    !tag.contains(what),
                    "{}: `{what}` in <{tag:.80}>",
                    p.display()
                );
            }
            let name = tag.split([' ', '/']).next().unwrap_or("");
            assert!(
                !["link", "object", "embed", "img", "iframe"].contains(&name),
                "{}: <{tag:.80}>",
                p.display()
            );
            if let Some(href) = tag.split(" href=\"").nth(1) {
                assert!(
                    href.starts_with('#') || href.starts_with("class-students/"),
                    "{}: href={href:.60}",
                    p.display()
                );
            }
        }
        for style in html.split("<style>").skip(1) {
            let style = &style[..style.find("</style>").unwrap_or(0)];
            assert!(
                !style.contains("url(") && !style.contains("@import"),
                "{}",
                p.display()
            );
        }
        // The printed script would have set these: the title and an attribute of the root.
        let root = &l.html[..l.html.find('>').unwrap_or(0)];
        assert!(
            l.title != "pwned" && !root.contains("data-pwned"),
            "{}: markup ran",
            p.display()
        );
    }
    let [pass, fail, fs, markup, index, cat] = &loaded[..] else {
        unreachable!()
    };
    for single in [pass, fail, fs, markup, cat] {
        assert_eq!(single.scripts, 0, "a report holds no script");
    }

    // A passing bus: keys on the terminal's lane, lines on the driver's, the conductor's
    // line and end at Ctrl-Z, the driver's exit status.
    let m = marks(check(pass, "repeat"));
    assert!(
        has(&m, "key", "terminal", "Ctrl-C") && has(&m, "key", "terminal", "Ctrl-\\"),
        "{m:?}"
    );
    assert!(has(&m, "line", "driver", "老司机开车了"), "{m:?}");
    let m = marks(check(pass, "roles"));
    assert!(
        has(&m, "signal", "conductor", "SIGINT") && has(&m, "signal", "driver", "SIGUSR1"),
        "{m:?}"
    );
    let m = marks(check(pass, "ctrl-z"));
    assert!(has(&m, "line", "conductor", "到站了，请下车"), "{m:?}");
    assert!(
        has(&m, "ended", "conductor", "ended") && has(&m, "reaped", "conductor", "reaped"),
        "{m:?}"
    );
    assert!(has(&m, "ended", "driver", "exit 0"), "{m:?}");
    assert!(pass.html.contains("data-score=\"100\""));

    // A failing bus: Ctrl-C, and the driver ends by SIGINT, the expected line beside none.
    let section = check(fail, "ctrl-c");
    let m = marks(section);
    assert!(
        has(&m, "key", "terminal", "Ctrl-C") && has(&m, "ended", "driver", "SIGINT"),
        "{m:?}"
    );
    assert!(
        section.contains("class=\"expected\"") && section.contains("no output"),
        "{section}"
    );
    for lane in ["terminal", "driver", "conductor"] {
        assert!(
            section.contains(&format!("class=\"lane-head\" data-lane=\"{lane}\"")),
            "{lane}"
        );
    }

    // A failing file server: the upload on its connection, and the diff window.
    let section = check(fs, "put-large");
    let m = marks(section);
    assert!(
        m.iter().any(|(k, l, t)| k == "sent"
            && l.starts_with("connection ")
            && t.contains("P 16777216 up-large.bin")),
        "{m:?}"
    );
    assert!(has(&m, "sent", &m[0].1, "16777216 bytes"), "{m:?}");
    assert!(
        section.contains("window from") && section.contains("expected:"),
        "{section}"
    );

    // Printed markup is text, where the program's line is shown.
    let m = marks(check(markup, "start"));
    assert!(
        m.iter()
            .any(|(k, _, t)| k == "line" && t.contains("&lt;script&gt;document.title")),
        "{m:?}"
    );
    assert!(!markup.html.contains("<img"), "an element made of output");
    assert!(markup.title.starts_with("bus — "), "{}", markup.title);

    // The class: a bar per check, the histogram counts five graded, six rows in all.
    assert_eq!(index.scripts, 1, "the sorting script");
    let rows = index.html.matches("<tr data-name=").count();
    assert_eq!(rows, 5, "{}", index.html);
    assert!(index.html.contains("href=\"class-students/cat.html\""));
    let counted: u64 = index
        .html
        .split("data-count=\"")
        .skip(1)
        .map(|s| s[..s.find('"').unwrap()].parse::<u64>().unwrap())
        .sum();
    assert_eq!(counted, 5);
    assert!(
        index.html.contains("data-rate=\"60\""),
        "ctrl-c passed by 3 of 5"
    );
    assert!(index.html.contains("<h2>Not graded</h2>") && index.html.contains(">fay<"));
}

#[test]
fn two_stable_gradings_give_identical_json_event_logs() {
    let grade = || {
        let o = Command::new(harness_bin())
            .arg("grade")
            .arg(sample("bus", "correct-fork"))
            .args(["--format", "json", "--stable"])
            .output()
            .unwrap();
        String::from_utf8(o.stdout).unwrap()
    };
    let (a, b) = (grade(), grade());
    let v: Value = serde_json::from_str(&a).unwrap();
    let events = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["events"]["events"].is_array())
        .count();
    assert!(events >= 6, "checks with an event log: {events}");
    assert!(!a.contains("at_ms"), "times are left out of stable reports");
    assert_eq!(a, b);
}

/// The run directory's path is as long as the grader's pid and `TMPDIR` make it (a shard's
/// differs from a single grading's): `--stable` event logs must not depend on it, byte
/// counts of requests naming it included (`traversal` sends an absolute path inside it).
#[test]
fn stable_event_logs_do_not_depend_on_the_run_directorys_path() {
    let tmp = tempfile::tempdir().unwrap();
    let events = |tmpdir: &Path| {
        std::fs::create_dir_all(tmpdir).unwrap();
        let o = Command::new(harness_bin())
            .arg("grade")
            .arg(sample("fileserver", "truncated-upload"))
            .args(["--format", "json", "--stable"])
            .env("TMPDIR", tmpdir)
            .output()
            .unwrap();
        let v: Value = serde_json::from_slice(&o.stdout)
            .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&o.stderr)));
        let logs: Vec<(String, String)> = v["checks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| (c["id"].to_string(), c["events"].to_string()))
            .collect();
        logs
    };
    let short = events(&tmp.path().join("t"));
    let long = events(
        &tmp.path()
            .join("a-temporary-directory-far-longer-than-the-other"),
    );
    let traversal = &short
        .iter()
        .find(|(id, _)| id == "\"traversal\"")
        .unwrap()
        .1;
    assert!(traversal.contains("<workdir>/"), "{traversal}");
    for ((id, a), (_, b)) in short.iter().zip(&long) {
        assert_eq!(a, b, "the event log of {id}");
    }
}
