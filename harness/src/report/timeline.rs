//! The timeline of one check in the HTML report, drawn from its event log: time going down,
//! one narrow lane per process, the terminal and each connection, each event a mark on its
//! lane and its words in a column to the right of the lanes (the way `git log --graph`
//! draws branches). Two SVGs side by side in a box of their own: the lanes, their names and
//! the times stay in place (sticky) while the words scroll sideways when they are wider
//! than the screen, so on a phone the page itself never scrolls sideways and a lane is never
//! out of view. A pure function of the events, like the renderers.

use std::fmt::Write as _;

use super::events::{EventKind, EventRecord};
use super::html::esc;
use crate::tr;

/// Width of the time column, of a lane, height of a row (pixels).
const GUTTER: usize = 46;
const LANE: usize = 26;
const ROW: usize = 22;
/// The widest a lane's name and an event's words are drawn (pixels); the rest is cut with
/// `…` (the whole text is in the mark's `<title>`).
const NAME_MAX: usize = 130;
const WORDS_MAX: usize = 620;

/// The internal name of the terminal's lane (its `data-lane`; shown translated).
const TERMINAL: &str = "terminal";

/// The lane an event is drawn in: its key (`data-lane`), stable in every language.
fn lane_of(e: &EventRecord) -> String {
    match e.kind {
        EventKind::Key | EventKind::Typed | EventKind::Note => TERMINAL.into(),
        EventKind::Line => e.who.clone().unwrap_or_else(|| TERMINAL.into()),
        EventKind::Connected
        | EventKind::Sent
        | EventKind::Reply
        | EventKind::Received
        | EventKind::Closed => format!("connection {}", e.conn.unwrap_or(0)),
        _ => e.who.clone().unwrap_or_else(|| "process".into()),
    }
}

/// A lane's name as the reader sees it.
fn lane_name(lane: &str) -> String {
    if lane == TERMINAL {
        return tr!("terminal").to_string();
    }
    match lane.strip_prefix("connection ") {
        Some(n) => tr!("connection {n}", n = n),
        None => lane.to_string(),
    }
}

/// The words of an event and the class of its mark.
fn label_of(e: &EventRecord) -> (String, &'static str) {
    let text = e.text.clone().unwrap_or_default();
    let bytes = e.bytes.unwrap_or(0);
    match e.kind {
        EventKind::Key => (text, "key"),
        EventKind::Typed => (tr!("typed “{text}”", text = text), "key"),
        EventKind::Signal => (tr!("{text} sent", text = text), "signal"),
        EventKind::Line => (format!("“{text}”"), "line"),
        EventKind::Started => (tr!("started").into(), "life"),
        EventKind::Stopped => (tr!("stopped").into(), "stop"),
        EventKind::Continued => (tr!("continued").into(), "life"),
        EventKind::Ended => match &e.status {
            Some(status) => (tr!("ended: {status}", status = status), "end"),
            None => (tr!("ended").into(), "end"),
        },
        EventKind::Reaped => (tr!("reaped").into(), "life"),
        EventKind::Connected => (tr!("connected").into(), "life"),
        EventKind::Sent if text.is_empty() => (tr!("→ {bytes} bytes", bytes = bytes), "sent"),
        EventKind::Sent => (format!("→ {text}"), "sent"),
        EventKind::Reply => (format!("← {text}"), "reply"),
        EventKind::Received => (tr!("← {bytes} bytes", bytes = bytes), "reply"),
        EventKind::Closed => (tr!("closed by the server").into(), "life"),
        EventKind::Note => (text, "end"),
    }
}

/// Pixels a character takes in 12 px type (a wide one about twice a narrow one).
fn char_px(c: char) -> usize {
    if crate::i18n::columns(c) == 2 {
        13
    } else {
        7
    }
}

/// `text` cut to what fits in `px` pixels of 12 px type.
fn fit(text: &str, px: usize) -> String {
    let mut used = 0;
    let mut out = String::new();
    for c in text.chars() {
        let w = char_px(c);
        if used + w > px.saturating_sub(8) {
            out.push('…');
            return out;
        }
        used += w;
        out.push(c);
    }
    out
}

fn text_px(text: &str) -> usize {
    text.chars().map(char_px).sum()
}

/// The colour of a mark, as an attribute (dark mode keeps these: they read on both).
fn colour(class: &str) -> &'static str {
    match class {
        "key" => "#8250df",
        "signal" => "#bf3989",
        "line" => "#0969da",
        "end" | "stop" => "#cf222e",
        "sent" => "#9a6700",
        "reply" => "#1a7f37",
        _ => "#57606a",
    }
}

/// The lanes of a check, in order: the terminal (when something is drawn in it), the
/// exercise's roles in their usual order, then the rest (connections) as they came.
fn lanes(events: &[EventRecord], roles: &[&str]) -> Vec<String> {
    let mut lanes: Vec<String> = vec![TERMINAL.into()];
    // The processes the check names have a lane even when nothing happened to them.
    lanes.extend(roles.iter().map(|r| r.to_string()));
    for e in events {
        let l = lane_of(e);
        if !lanes.contains(&l) {
            lanes.push(l);
        }
    }
    let usual = [TERMINAL, "driver", "conductor", "client"];
    let order = |l: &String| {
        usual
            .iter()
            .position(|r| *r == l || tr_role(r) == l)
            .unwrap_or(usual.len())
    };
    lanes.sort_by_key(order);
    if !events.iter().any(|e| lane_of(e) == TERMINAL) {
        lanes.retain(|l| l != TERMINAL);
    }
    lanes
}

/// A column of the drawing: one lane, or connections one after another (a check that
/// opens a dozen connections in turn, as `traversal` does, takes one column, not twelve).
struct Column {
    lanes: Vec<String>,
    /// The last row drawn in it.
    until: usize,
}

impl Column {
    fn name(&self) -> String {
        match &self.lanes[..] {
            [one] => lane_name(one),
            [first, .., last] => {
                let n = |l: &str| l.trim_start_matches("connection ").to_string();
                tr!(
                    "connections {first}–{last}",
                    first = n(first),
                    last = n(last)
                )
            }
            [] => String::new(),
        }
    }
}

/// The columns of `lanes`: a connection shares the first column of connections whose last
/// event came before its first.
fn columns(events: &[EventRecord], lanes: &[String]) -> Vec<Column> {
    let span = |lane: &str| {
        let mut rows = events
            .iter()
            .enumerate()
            .filter(|(_, e)| lane_of(e) == lane)
            .map(|(r, _)| r);
        let first = rows.next().unwrap_or(0);
        (first, rows.next_back().unwrap_or(first))
    };
    let mut out: Vec<Column> = Vec::new();
    for lane in lanes {
        let (first, last) = span(lane);
        let shared = if lane.starts_with("connection ") {
            out.iter()
                .position(|c| c.lanes[0].starts_with("connection ") && c.until < first)
        } else {
            None
        };
        match shared {
            Some(k) => {
                out[k].lanes.push(lane.clone());
                out[k].until = last;
            }
            _ => out.push(Column {
                lanes: vec![lane.clone()],
                until: last,
            }),
        }
    }
    out
}

/// A role's name as the reports of the current language write it (`司机` for `driver`).
fn tr_role(role: &str) -> &str {
    match role {
        "driver" => tr!("driver"),
        "conductor" => tr!("conductor"),
        other => other,
    }
}

/// Writes the timeline of a check: nothing when its log is empty.
pub fn timeline(
    out: &mut String,
    events: &[EventRecord],
    dropped: u64,
    roles: &[&str],
    clean: &dyn Fn(&str) -> String,
) {
    if events.is_empty() {
        return;
    }
    let lanes = lanes(events, roles);
    let columns = columns(events, &lanes);
    let names: Vec<String> = columns.iter().map(|c| fit(&c.name(), NAME_MAX)).collect();
    // The names stand at 45 degrees above their columns; a lone column's lies flat.
    let flat = columns.len() == 1;
    let longest = names.iter().map(|n| text_px(n)).max().unwrap_or(0);
    let head = if flat {
        30
    } else {
        22 + longest.min(NAME_MAX) * 7 / 10
    };
    let row_y = |r: usize| head + ROW * r + ROW / 2;
    let column = |lane: &str| {
        columns
            .iter()
            .position(|c| c.lanes.iter().any(|l| l == lane))
            .unwrap_or(0)
    };
    let x = |lane: &str| GUTTER + LANE * column(lane) + LANE / 2;
    let lanes_w = GUTTER + LANE * columns.len() + 6;
    let height = row_y(events.len() - 1) + ROW / 2 + 6;
    let labels: Vec<(String, &str)> = events
        .iter()
        .map(|e| {
            let (text, class) = label_of(e);
            let lane = lane_of(e);
            // In a column of several connections, the words say whose they are.
            let text = match lane.strip_prefix("connection ") {
                Some(n) if columns[column(&lane)].lanes.len() > 1 => format!("#{n} {text}"),
                _ => text,
            };
            (clean(&text), class)
        })
        .collect();
    let words_w = labels
        .iter()
        .map(|(t, _)| text_px(t) + 24)
        .max()
        .unwrap_or(0)
        .clamp(80, WORDS_MAX);
    let font = "font-family=\"system-ui,&quot;Noto Sans CJK SC&quot;,&quot;WenQuanYi Micro Hei&quot;,&quot;PingFang SC&quot;,&quot;Microsoft YaHei&quot;,sans-serif\" font-size=\"12\"";
    let _ = write!(
        out,
        "<div class=\"tlwrap\"><div class=\"tlrow\"><svg class=\"tl lanes\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{lanes_w}\" height=\"{height}\" \
         viewBox=\"0 0 {lanes_w} {height}\" overflow=\"visible\" role=\"img\" aria-label=\"{}\" {font}>",
        esc(tr!("timeline"))
    );
    let _ = write!(
        out,
        "<text class=\"t\" x=\"4\" y=\"{}\" fill=\"#57606a\">{}</text>",
        head - 6,
        if events.iter().any(|e| e.at_ms.is_some()) {
            "ms"
        } else {
            "#"
        }
    );
    for lane in &lanes {
        lane_line(out, events, lane, x(lane), &row_y);
    }
    for (col, name) in columns.iter().zip(&names) {
        let (hx, hy) = (x(&col.lanes[0]) - 3, head - 8);
        let turn = if flat { 0 } else { -45 };
        let _ = write!(
            out,
            "<g class=\"lane-head\" data-lane=\"{}\"><text x=\"{hx}\" y=\"{hy}\" transform=\"rotate({turn} {hx} {hy})\" font-weight=\"700\" fill=\"#1b1f24\">{}</text></g>",
            esc(&col.lanes[0]),
            esc(name)
        );
    }
    for (r, e) in events.iter().enumerate() {
        let (y, lane) = (row_y(r), lane_of(e));
        let (lx, (label, class)) = (x(&lane), &labels[r]);
        let c = colour(class);
        let time = match e.at_ms {
            Some(ms) => ms.to_string(),
            None => (r + 1).to_string(),
        };
        // A faint line from the mark to its words, across the lanes to its right.
        let _ = write!(
            out,
            "<line class=\"grid\" x1=\"{lx}\" y1=\"{y}\" x2=\"{lanes_w}\" y2=\"{y}\" stroke=\"#d0d7de\" stroke-dasharray=\"1 3\"/>\
             <text class=\"t\" x=\"4\" y=\"{}\" fill=\"#57606a\">{time}</text>\
             <g class=\"ev ev-{class}\" data-kind=\"{}\" data-lane=\"{}\"><title>{}</title>{}</g>",
            y + 4,
            kind_name(e.kind),
            esc(&lane),
            esc(label),
            mark(class, lx, y, c)
        );
    }
    let _ = write!(
        out,
        "</svg><svg class=\"tl words\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{words_w}\" height=\"{height}\" viewBox=\"0 0 {words_w} {height}\" aria-hidden=\"true\" {font}>"
    );
    for (r, (label, class)) in labels.iter().enumerate() {
        let y = row_y(r);
        let c = colour(class);
        let shown = esc(&fit(label, WORDS_MAX - 16));
        if *class == "key" {
            let w = text_px(&fit(label, WORDS_MAX - 16)) + 12;
            let _ = write!(
                out,
                "<rect class=\"key\" x=\"4\" y=\"{}\" width=\"{w}\" height=\"17\" rx=\"4\" fill=\"#f6f8fa\" stroke=\"{c}\"/>\
                 <text x=\"10\" y=\"{}\" font-weight=\"700\" fill=\"{c}\">{shown}</text>",
                y - 9,
                y + 4
            );
        } else {
            let fill = if *class == "line" { "#1b1f24" } else { c };
            let _ = write!(
                out,
                "<text class=\"w-{class}\" x=\"6\" y=\"{}\" fill=\"{fill}\">{shown}</text>",
                y + 4
            );
        }
    }
    out.push_str("</svg></div></div>\n");
    if dropped > 0 {
        let _ = writeln!(
            out,
            "<p class=\"muted\">{}</p>",
            esc(&tr!("{dropped} more events not kept", dropped = dropped))
        );
    }
}

/// A lane's line: a process's is solid while it lives (from its start, or the check's, to
/// its end, or the check's) and dashed while it is a zombie (until reaped); the terminal's
/// and a connection's thin, across their events.
fn lane_line(
    out: &mut String,
    events: &[EventRecord],
    lane: &str,
    lx: usize,
    row_y: &dyn Fn(usize) -> usize,
) {
    let rows: Vec<usize> = events
        .iter()
        .enumerate()
        .filter(|(_, e)| lane_of(e) == lane)
        .map(|(r, _)| r)
        .collect();
    let process = lane != TERMINAL && !lane.starts_with("connection ");
    let first_of = |kind: EventKind| rows.iter().copied().find(|r| events[*r].kind == kind);
    let last = events.len() - 1;
    let (first, solid_end, zombie_end) = if process {
        let end = first_of(EventKind::Ended);
        (
            first_of(EventKind::Started).unwrap_or(0),
            end.unwrap_or(last),
            end.and(first_of(EventKind::Reaped).or(Some(last))),
        )
    } else {
        let first = rows.first().copied().unwrap_or(0);
        (first, rows.last().copied().unwrap_or(first), None)
    };
    let top = row_y(first) - if process && first == 0 { ROW / 2 } else { 0 };
    let _ = write!(
        out,
        "<line class=\"lane\" x1=\"{lx}\" y1=\"{top}\" x2=\"{lx}\" y2=\"{}\" stroke=\"#8c959f\" stroke-width=\"{}\"/>",
        row_y(solid_end),
        if process { 3 } else { 1 }
    );
    if let Some(z) = zombie_end.filter(|z| *z > solid_end) {
        let _ = write!(
            out,
            "<line class=\"lane zombie\" x1=\"{lx}\" y1=\"{}\" x2=\"{lx}\" y2=\"{}\" stroke=\"#8c959f\" stroke-dasharray=\"3 3\"/>",
            row_y(solid_end),
            row_y(z)
        );
    }
}

/// The mark of an event on its lane.
fn mark(class: &str, lx: usize, y: usize, c: &str) -> String {
    match class {
        "key" => format!(
            "<rect class=\"keymark\" x=\"{}\" y=\"{}\" width=\"10\" height=\"10\" rx=\"2\" fill=\"{c}\"/>",
            lx - 5,
            y - 5
        ),
        "signal" => format!(
            "<path d=\"M{} {} l10 6 l-10 6 z\" fill=\"{c}\"/>",
            lx - 5,
            y - 6
        ),
        "end" | "stop" => format!(
            "<path d=\"M{} {} l8 8 m0 -8 l-8 8\" stroke=\"{c}\" stroke-width=\"2.5\"/>",
            lx - 4,
            y - 4
        ),
        _ => format!("<circle cx=\"{lx}\" cy=\"{y}\" r=\"4.5\" fill=\"{c}\"/>"),
    }
}

/// The event kind as the JSON names it.
fn kind_name(k: EventKind) -> String {
    serde_json::to_value(k)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn(conn: u32, kind: EventKind) -> EventRecord {
        EventRecord {
            at_ms: None,
            kind,
            who: None,
            text: Some("G a".into()),
            conn: Some(conn),
            bytes: None,
            status: None,
        }
    }

    /// Connections one after another share a column (a phone has room for a few); ones
    /// open at once each have their own.
    #[test]
    fn connections_in_turn_share_a_column() {
        let events = vec![
            conn(1, EventKind::Connected),
            conn(1, EventKind::Sent),
            conn(2, EventKind::Connected),
            conn(2, EventKind::Sent),
            conn(3, EventKind::Connected),
            conn(2, EventKind::Reply),
            conn(3, EventKind::Sent),
        ];
        let lanes = lanes(&events, &[]);
        let cols = columns(&events, &lanes);
        let held: Vec<Vec<&str>> = cols
            .iter()
            .map(|c| c.lanes.iter().map(String::as_str).collect())
            .collect();
        assert_eq!(
            held,
            [vec!["connection 1", "connection 2"], vec!["connection 3"]]
        );
        assert_eq!(cols[0].name(), "connections 1–2");
        let mut out = String::new();
        timeline(&mut out, &events, 0, &[], &|t: &str| t.to_string());
        assert!(out.contains(">#2 → G a</text>"), "{out}");
        assert_eq!(out.matches("class=\"lane-head\"").count(), 2);
    }
}
