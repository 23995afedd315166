//! Process ids in what a program printed ("reaped 30146"), for `--stable` reports: a pid
//! differs in every run, so the ones of the run's processes are shown as `<pid>`.

/// `text` with every whole number that is one of `pids` replaced by `<pid>`; `None` when
/// there is none (the text stays as it is).
pub fn hide(text: &str, pids: &[i32]) -> Option<String> {
    if pids.is_empty() || !text.bytes().any(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    let mut changed = false;
    let mut rest = text;
    while let Some(start) = rest.find(|c: char| c.is_ascii_digit()) {
        let (before, from) = rest.split_at(start);
        let len = from
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(from.len());
        let (digits, after) = from.split_at(len);
        out.push_str(before);
        if digits.parse::<i32>().is_ok_and(|n| pids.contains(&n)) {
            out.push_str("<pid>");
            changed = true;
        } else {
            out.push_str(digits);
        }
        rest = after;
    }
    out.push_str(rest);
    changed.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::hide;

    #[test]
    fn only_whole_numbers_that_are_pids_are_hidden() {
        let pids = [30146, 7];
        assert_eq!(
            hide("reaped 30146, 301467 and 7 of 17", &pids).as_deref(),
            Some("reaped <pid>, 301467 and <pid> of 17")
        );
        assert_eq!(hide("worker 3 enters", &pids), None);
        assert_eq!(hide("30146", &[]), None);
    }
}
