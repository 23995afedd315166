//! Reports in the course's language: one failing bus report and one failing file server
//! report in Chinese, pinned by snapshots (their English ones are the samples' snapshots,
//! `bus_report@driver-dies-on-ctrl-c` and `fileserver_report@crashes-on-eof`). The verdicts
//! are the samples' expected ones: only the words change, never an id or a status.

use std::path::PathBuf;

use e2e::{expected, grade_json_with, processes_under, statuses, workspace_root};

/// Grades `rel` with `args`, checks the JSON against the sample's expected verdicts and
/// returns the human report written beside it (one grading).
fn graded(rel: &str, args: &[&str]) -> Option<String> {
    let dir = workspace_root().join(rel);
    let tmp = tempfile::tempdir().unwrap();
    let human_file = tmp.path().join("report.txt");
    let human_arg = format!("human={}", human_file.display());
    let args = [args, &["--report", human_arg.as_str()]].concat();
    let (_, report, text) = grade_json_with(&PathBuf::from(rel), &args, tmp.path());
    let (want, usual) = expected(&dir).for_report(&text);
    assert_eq!(
        statuses(&report),
        want.checks,
        "verdicts of {rel}:\n{report:#}"
    );
    if let Some(score) = want.score {
        assert_eq!(
            report["score"].as_u64(),
            Some(score as u64),
            "score of {rel}"
        );
    }
    assert!(processes_under(tmp.path()).is_empty(), "leftover processes");
    let human = std::fs::read_to_string(&human_file).expect("the human report, in UTF-8");
    usual.then_some(human)
}

#[test]
fn a_failing_bus_report_in_chinese() {
    let Some(text) = graded(
        "exercises/bus/samples/driver-dies-on-ctrl-c",
        &["--lang", "zh"],
    ) else {
        eprintln!(
            "the grader cannot see exit statuses here; the snapshot is of a machine where it can"
        );
        return;
    };
    assert!(text.contains("失败  ctrl-c"), "{text}");
    insta::with_settings!({ filters => e2e::report_filters() }, {
        insta::assert_snapshot!("bus_report_zh", text);
    });
}

#[test]
fn a_failing_file_server_report_in_chinese_set_by_the_course_config() {
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("course.toml");
    std::fs::write(&config, "[report]\nlang = \"zh\"\n").unwrap();
    let config = config.display().to_string();
    let text = graded(
        "exercises/fileserver/samples/crashes-on-eof",
        &["--config", &config],
    )
    .expect("a file server report");
    assert!(text.contains("得分："), "{text}");
    // Not only the chrome: every check's message, and the failing check's hint, are Chinese.
    let chinese = |s: &str| s.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c));
    let checks: Vec<&str> = text
        .lines()
        .filter(|l| ["通过 ", "失败 ", "跳过 "].iter().any(|s| l.starts_with(s)))
        .collect();
    assert_eq!(checks.len(), 27, "one line per check:\n{text}");
    for line in &checks {
        let message: Vec<&str> = line.split_whitespace().skip(3).collect();
        assert!(
            chinese(&message.join(" ")),
            "a check's message in English: {line}"
        );
    }
    let hint = text
        .lines()
        .find_map(|l| l.trim_start().strip_prefix("提示："))
        .expect("the failing check's hint");
    assert!(chinese(hint), "the hint in English: {hint}");
    insta::with_settings!({ filters => e2e::report_filters() }, {
        insta::assert_snapshot!("fileserver_report_zh", text);
    });
}

#[test]
fn explain_and_list_in_chinese() {
    let run = |args: &[&str]| {
        let out = std::process::Command::new(e2e::harness_bin())
            .args(args)
            .output()
            .expect("run harness");
        assert!(out.status.success(), "{args:?}");
        String::from_utf8(out.stdout).expect("UTF-8")
    };
    let explain = run(&["explain", "ctrl-c", "--lang", "zh"]);
    assert!(
        explain.contains("做什么：") && explain.contains("司机"),
        "{explain}"
    );
    let english = run(&["explain", "ctrl-c"]);
    assert!(english.contains("What it does:"), "{english}");
    let list = run(&["--lang", "zh", "list"]);
    assert!(
        list.contains("公交车：司机与售票员") && list.contains("  ctrl-c "),
        "{list}"
    );
}

/// A class graded with `--lang zh`: the table's headings, its summary and the reason a
/// submission was not graded (written by the child grader, which is given the class's
/// language) are Chinese; the CSV stays machine-readable. Cheap: one submission cannot
/// start (a syntax error), the other is not executable.
#[test]
fn a_class_table_in_chinese() {
    let tmp = tempfile::tempdir().unwrap();
    let class = tmp.path().join("class");
    std::fs::create_dir_all(class.join("bob")).unwrap();
    std::fs::create_dir_all(class.join("张伟")).unwrap();
    std::fs::write(class.join("bob/bus.py"), "import sys\nprint(\"x\"\n").unwrap();
    std::fs::write(class.join("张伟/bus"), "not a program\n").unwrap();
    let csv = tmp.path().join("class.csv");
    let out = std::process::Command::new(e2e::harness_bin())
        .args(["grade", class.to_str().unwrap(), "--lang", "zh", "--csv"])
        .arg(&csv)
        .env("TMPDIR", tmp.path())
        .env("NO_COLOR", "1")
        .output()
        .expect("run harness");
    let table = String::from_utf8(out.stdout).expect("UTF-8");
    assert_eq!(out.status.code(), Some(1), "{table}");
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(
        lines[0], "学生  练习  得分  满分  未通过的检查项",
        "{table}"
    );
    let zhang = lines.iter().find(|l| l.starts_with("张伟")).expect(&table);
    assert!(
        zhang.contains("  未评分：")
            && zhang.ends_with(
                "bus：不可执行（编译出的程序需要 `chmod +x`；Python 程序的文件名必须以 .py 结尾）"
            ),
        "{table}"
    );
    assert!(
        table.ends_with("共 2 份提交：0 份通过全部检查项，1 份有未通过的检查项，1 份未能评分。\n"),
        "{table}"
    );
    let csv = std::fs::read_to_string(&csv).unwrap();
    assert!(
        csv.starts_with("student,exercise,score,max_score,failed_checks,error\n"),
        "{csv}"
    );
}

/// A config error under `--lang zh` is Chinese, the key and the suggestion as they are; the
/// same file without `--lang` but with `[report] lang = "zh"` is reported in Chinese too.
#[test]
fn a_bad_config_is_reported_in_chinese() {
    let tmp = tempfile::tempdir().unwrap();
    let sample = e2e::workspace_root().join("exercises/bus/samples/correct-fork");
    for (text, lang) in [
        ("[bus.checks]\nctrl_c = 5\n", Some("zh")),
        (
            "[report]\nlang = \"zh\"\n\n[bus.checks]\nctrl_c = 5\n",
            None,
        ),
    ] {
        let config = tmp.path().join("course.toml");
        std::fs::write(&config, text).unwrap();
        let mut cmd = std::process::Command::new(e2e::harness_bin());
        cmd.arg("grade").arg(&sample).arg("--config").arg(&config);
        if let Some(l) = lang {
            cmd.args(["--lang", l]);
        }
        let out = cmd.env("TMPDIR", tmp.path()).output().expect("run harness");
        let stderr = String::from_utf8(out.stderr).expect("UTF-8");
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.starts_with("harness: 配置无效 "), "{stderr}");
        assert!(
            stderr.contains("：键 `bus.checks.ctrl_c`：没有这个检查项（你是不是想写 `ctrl-c`？）"),
            "{stderr}"
        );
    }
}
