//! What the terminal showed, with the grader's own actions (keys typed, signals sent) marked
//! at the place in the output where they happened. Output is kept as raw bytes, capped, so a
//! flood costs bounded memory; how many bytes were dropped is counted, never hidden.

/// How much of the latest output is kept apart from the capped transcript: a prompt is found
/// at the output's end whatever the transcript could keep.
const TAIL: usize = 4096;

/// Output bytes plus actions at byte offsets.
#[derive(Debug, Clone, Default)]
pub struct Transcript {
    raw: Vec<u8>,
    cap: usize,
    total: u64,
    actions: Vec<(usize, String)>,
    /// The last [`TAIL`] bytes of output, kept or not.
    tail: Vec<u8>,
}

/// One piece of a transcript, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece<'a> {
    Output(&'a [u8]),
    Action(&'a str),
}

impl Transcript {
    pub fn with_cap(cap: usize) -> Self {
        Transcript {
            cap,
            ..Default::default()
        }
    }

    /// Appends output, keeping at most `cap` bytes in all.
    pub fn push_output(&mut self, bytes: &[u8]) {
        self.total += bytes.len() as u64;
        let room = self.cap.saturating_sub(self.raw.len());
        self.raw.extend_from_slice(&bytes[..bytes.len().min(room)]);
        let new = &bytes[bytes.len().saturating_sub(TAIL)..];
        let keep = TAIL - new.len();
        self.tail.drain(..self.tail.len().saturating_sub(keep));
        self.tail.extend_from_slice(new);
    }

    /// A position in the whole output (kept or not), for [`Transcript::latest_since`].
    pub fn position(&self) -> u64 {
        self.total
    }

    /// The end of the output written after `position` (at most the last 4 KiB of it),
    /// whether the transcript kept it or not.
    pub fn latest_since(&self, position: u64) -> &[u8] {
        let since = self.total.saturating_sub(position);
        let n = (since.min(self.tail.len() as u64)) as usize;
        &self.tail[self.tail.len() - n..]
    }

    /// Marks an action at the current end of the output.
    pub fn push_action(&mut self, what: impl Into<String>) {
        self.actions.push((self.raw.len(), what.into()));
    }

    /// A position to read new output from later.
    pub fn mark(&self) -> usize {
        self.raw.len()
    }

    /// Output kept since `mark`.
    pub fn since(&self, mark: usize) -> &[u8] {
        self.raw.get(mark..).unwrap_or(&[])
    }

    /// Every byte the program wrote, including those not kept.
    pub fn total_bytes(&self) -> u64 {
        self.total
    }

    /// Bytes written beyond the cap.
    pub fn dropped_bytes(&self) -> u64 {
        self.total - self.raw.len() as u64
    }

    pub fn is_full(&self) -> bool {
        self.raw.len() >= self.cap
    }

    /// Output and actions in order, starting at `mark`.
    pub fn pieces_since(&self, mark: usize) -> Vec<Piece<'_>> {
        let mut out = Vec::new();
        let mut pos = mark;
        for (at, what) in self.actions.iter().filter(|(at, _)| *at >= mark) {
            if *at > pos {
                out.push(Piece::Output(&self.raw[pos..*at]));
                pos = *at;
            }
            out.push(Piece::Action(what));
        }
        if pos < self.raw.len() {
            out.push(Piece::Output(&self.raw[pos..]));
        }
        out
    }

    pub fn pieces(&self) -> Vec<Piece<'_>> {
        self.pieces_since(0)
    }
}

/// Splits terminal output into lines: `\r\n` (the terminal's line end) and `\n` end a line;
/// a final unterminated line is kept.
pub fn lines(bytes: &[u8]) -> Vec<String> {
    let mut out: Vec<String> = bytes
        .split(|b| *b == b'\n')
        .map(|l| String::from_utf8_lossy(l.strip_suffix(b"\r").unwrap_or(l)).into_owned())
        .collect();
    if out.last().is_some_and(|l| l.is_empty()) {
        out.pop();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cap_counts_dropped_bytes() {
        let mut t = Transcript::with_cap(4);
        t.push_output(b"abc");
        t.push_output(b"def");
        assert_eq!(t.since(0), b"abcd");
        assert_eq!(t.dropped_bytes(), 2);
        assert!(t.is_full());
    }

    #[test]
    fn the_latest_output_is_there_beyond_the_cap() {
        let mut t = Transcript::with_cap(4);
        t.push_output(b"abcdef");
        let at = t.position();
        assert_eq!(t.latest_since(at), b"");
        t.push_output(&vec![b'x'; 10_000]);
        t.push_output(b"prompt> ");
        assert_eq!(t.since(4), b"");
        assert!(t.latest_since(at).ends_with(b"xprompt> "));
        assert_eq!(t.latest_since(at).len(), TAIL);
        assert_eq!(t.latest_since(t.position() - 3), b"t> ");
    }

    #[test]
    fn actions_interleave_with_output() {
        let mut t = Transcript::with_cap(100);
        t.push_output(b"a");
        t.push_action("Ctrl-C");
        t.push_output(b"b");
        assert_eq!(
            t.pieces(),
            vec![
                Piece::Output(b"a"),
                Piece::Action("Ctrl-C"),
                Piece::Output(b"b")
            ]
        );
    }

    #[test]
    fn lines_handle_terminal_line_ends() {
        assert_eq!(lines(b"x\r\ny\r\nz"), vec!["x", "y", "z"]);
        assert_eq!(lines(b"x\r\n"), vec!["x"]);
        assert!(lines(b"").is_empty());
    }
}
