use super::*;

#[test]
fn the_marker_is_found_only_at_the_end() {
    assert_eq!(ends_with_marker(b"data##", b"##"), Some(4));
    assert_eq!(ends_with_marker(b"da##ta", b"##"), None);
    assert_eq!(ends_with_marker(b"##", b"##"), Some(0));
    assert_eq!(ends_with_marker(b"x", b""), None);
}

fn shipped(name: &str) -> Dialect {
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(format!("../exercises/fileserver/dialects/{name}.toml")),
    )
    .unwrap();
    let mut t: toml::Table = toml::from_str(&text).unwrap();
    // The course's policy is the exercise's, not the protocol's.
    t.remove("policy");
    t.try_into().unwrap()
}

#[test]
fn reports_word_each_dialect_in_its_own_words() {
    let exact = shipped("exact");
    assert!(exact.speaks_exact_words());
    assert_eq!(exact.refusal(), "ERR");
    assert_eq!(
        exact.refused("no such file"),
        "refused with ERR no such file"
    );
    assert_eq!(exact.answered_data(28), "OK 28");
    assert_eq!(exact.accepted_upload(), "answered OK");
    let words = shipped("words");
    assert!(!words.speaks_exact_words());
    assert_eq!(words.refusal(), "a refusal");
    assert_eq!(words.the_refusal(), "the refusal");
    assert_eq!(words.refused("NO 已存在"), "refused: \"NO 已存在\"");
    assert_eq!(words.answered_data(5), "OK and 5 bytes");
    assert_eq!(words.accepted_upload(), "answered OK and took the data");
    assert_eq!(Dialect::word(&words.commands.get), "DOWNLOAD");
    let length = shipped("length");
    assert_eq!(length.refusal(), "N");
    assert_eq!(length.answered_data(5), "Y 5");
    assert_eq!(length.accepted_upload(), "answered Y");
    let numbered = shipped("numbered");
    assert!(numbered.numbered_get());
    assert_eq!(numbered.answered_data(5), "5 bytes of data");
    assert_eq!(
        numbered.show_get_sent("hello.txt", Some((3, true))),
        "G + 3 (hello.txt)"
    );
    assert_eq!(
        numbered.show_get_sent("../x", Some((8, false))),
        "G + 8 (../x is not listed)"
    );
    assert_eq!(
        numbered.show_get_sent("a.txt", None),
        "G + <number of a.txt>"
    );
}

#[test]
fn a_course_may_accept_each_command_with_its_own_word() {
    let mut d = shipped("lowercase");
    assert_eq!(d.replies.ok_to(Accepting::Put), "ok");
    assert_eq!(d.show_ok(), "ok");
    d.replies.ok_for.insert("put".into(), "OK".into());
    assert_eq!(d.problem(), None);
    assert_eq!(d.replies.ok_to(Accepting::List), "ok");
    assert_eq!(d.replies.ok_to(Accepting::Get), "ok");
    assert_eq!(d.replies.ok_to(Accepting::Put), "OK");
    assert_eq!(d.show_ok(), "ok (OK to put)");
    assert_eq!(d.accepted_upload(), "answered OK and took the data");
    assert_eq!(d.answered_data(5), "ok and 5 bytes");
    // A reply taken for a refusal that is an accepting word all the same says so.
    let without = shipped("lowercase");
    assert!(without
        .refused("OK")
        .contains("[server.dialect.replies.ok_for]"));
    assert_eq!(without.refused("没有"), "refused: \"没有\"");
    // Only commands that are accepted have a word, and a word is not empty.
    d.replies.ok_for.insert("quit".into(), "bye".into());
    assert_eq!(d.problem().map(|p| p.0), Some("replies.ok_for"));
    d.replies.ok_for.remove("quit");
    d.replies.ok_for.insert("get".into(), "".into());
    assert_eq!(d.problem().map(|p| p.0), Some("replies.ok_for"));
    // The exact protocol answers OK to everything.
    let mut exact = shipped("exact");
    exact.replies.ok_for.insert("put".into(), "ok".into());
    assert_eq!(exact.problem().map(|p| p.0), Some("replies"));
    assert!(!exact.speaks_exact_words());
}

#[test]
fn commands_are_filled_and_shown() {
    let two = Messages::Many(vec!["G".into(), "{number}".into()]);
    assert_eq!(Dialect::fill(&two, "a.txt", 0, Some(3)), ["G", "3"]);
    assert_eq!(Dialect::show(&two, "a.txt", 0), "G + <number of a.txt>");
    let put = Messages::One("P {size} {name}".into());
    assert_eq!(Dialect::show(&put, "my notes.txt", 22), "P 22 my notes.txt");
    assert_eq!(unknown("G {nmae}"), Some("nmae".into()));
    let glued = Messages::One("g{name}".into());
    assert_eq!(Dialect::word(&glued), "g");
    assert_eq!(Dialect::word(&Messages::One("{name}".into())), "{name}");
    let two = Messages::Many(vec!["U".into(), "{name} {size}".into()]);
    assert_eq!(Dialect::show_template(&two), "U + <name> <size>");
    let exact = Messages::One("P {size} {name}\n".into());
    assert_eq!(Dialect::show_template(&exact), "P <size> <name>");
    assert_eq!(unknown("G {name} {size}"), None);
}
