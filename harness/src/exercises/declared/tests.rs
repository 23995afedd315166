//! The loader: a declared exercise compiles, and every kind of mistake is refused at its
//! key's line and column before anything runs.

use super::spec::compile;
use super::Declared;
use crate::grading::Registered;

const GOOD: &str = r#"[exercise]
name = "tiny"
title = "prints hi"

[program]
python = "tiny.py"
binary = "tiny"

[roles]
kid = "child 2"
loud = { prints = "^HI" }

[[check]]
id = "hi"
points = 5
title = "prints hi"
steps = [{ rest = true }, { key = "ctrl-c" }, { signal = "USR1", to = "kid" }]
lines = [{ text = "hi", by = "program", count = 1 }]

[[check]]
id = "bye"
points = 3
title = "exits"
needs = ["hi"]
steps = [{ exit = "program" }]
exits = [{ who = "loud", status = 0 }]
"#;

/// The error for `GOOD` with `from` replaced by `to`.
fn error(from: &str, to: &str) -> String {
    assert!(GOOD.contains(from), "{from}");
    compile(&GOOD.replacen(from, to, 1), "x.toml")
        .map(|_| ())
        .expect_err("must be refused")
        .to_string()
}

#[test]
fn a_good_file_compiles_into_checks_points_and_a_config() {
    let c = compile(GOOD, "x.toml").unwrap();
    assert_eq!(c.docs.len(), 2);
    assert_eq!(c.docs[1].needs, vec!["hi".to_string()]);
    assert!(c.scenarios[1].consequence_of.is_empty() && c.scenarios[1].run.is_none());
    assert_eq!(c.scenarios[0].steps.len(), 3);
    let ready = compile(
        &GOOD.replacen("{ rest = true }", "{ ready = true }", 1),
        "x.toml",
    );
    let ready = ready.unwrap();
    assert!(matches!(
        ready.scenarios[0].steps[0],
        super::spec::Step::Ready
    ));
    let d = Declared::new(c, "x.toml".into());
    let ids: Vec<&str> = d.checks().iter().map(|c| c.id).collect();
    assert_eq!(ids, ["build", "hi", "bye"]);
    let loaded = d.load(d.shipped(), "shipped").unwrap();
    assert_eq!(loaded.scoring.points("hi"), 5);
    assert_eq!(loaded.scoring.exercise.name, "tiny");
    assert_eq!(d.shipped_programs()[0].python, "tiny.py");
}

#[test]
fn mistakes_are_refused_at_their_line_and_column_naming_the_key() {
    let e = error("key = \"ctrl-c\"", "key = \"ctrl-x\"");
    assert!(e.starts_with("invalid config x.toml:17:"), "{e}");
    assert!(
        e.contains("check[0].steps[1]") && e.contains("ctrl-x"),
        "{e}"
    );

    let e = error("to = \"kid\"", "to = \"nobody\"");
    assert!(
        e.contains("x.toml:17:") && e.contains("unknown role `nobody`"),
        "{e}"
    );

    let e = error("needs = [\"hi\"]", "needs = [\"later\"]");
    assert!(
        e.contains("x.toml:24:10") && e.contains("check[1].needs[0]"),
        "{e}"
    );

    let e = error(
        "needs = [\"hi\"]",
        "needs=[\"hi\"]\nconsequence_of=[\"later\"]",
    );
    assert!(e.contains("check[1].consequence_of[0]"), "{e}");

    let e = error("kid = \"child 2\"", "kid = \"cousin\"");
    assert!(e.contains("x.toml:10:1") && e.contains("roles.kid"), "{e}");

    let e = error("^HI", "(");
    assert!(
        e.contains("roles.loud") && e.contains("regular expression"),
        "{e}"
    );

    let e = error("status = 0", "status = 0, signal = \"INT\"");
    assert!(
        e.contains("check[1].exits[0]") && e.contains("not both"),
        "{e}"
    );

    let e = error(
        "{ exit = \"program\" }",
        "{ exit = \"program\", rest = true }",
    );
    assert!(
        e.contains("does one thing") && e.contains("exit, rest") || e.contains("rest, exit"),
        "{e}"
    );

    let e = error("{ rest = true }", "{ ready = true, settle = false }");
    assert!(
        e.contains("check[0].steps[0]") && e.contains("`settle` does not go with `ready`"),
        "{e}"
    );

    let e = error("id = \"bye\"", "id = \"hi\"");
    assert!(
        e.contains("check[1].id") && e.contains("declared twice"),
        "{e}"
    );

    // serde's own errors keep toml's position and the key.
    let e = error("points = 5", "points = \"five\"");
    assert!(e.contains("x.toml:15:") && e.contains("points"), "{e}");
    let e = error("title = \"exits\"", "title = \"exits\"\ncolour = 1");
    assert!(e.contains("colour"), "{e}");
}
