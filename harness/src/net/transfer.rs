//! Byte-exact comparison of a transfer as it streams: the received bytes are compared with
//! the expected ones chunk by chunk and hashed on the way, so a 16 MiB (or a 10 GiB) transfer
//! costs a fixed buffer, never the whole file. A mismatch is described by both sizes, the
//! first differing offset, a hex and text window of both sides around it, and a hint where
//! the pattern is a known mistake.

use crate::tr;
use std::fmt::Write as _;
use std::io::{self, Read};

use xxhash_rust::xxh3::Xxh3;

/// Bytes shown on each side of the first difference.
const WINDOW: usize = 16;

/// The first difference, with what surrounds it on both sides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiffWindow {
    pub offset: u64,
    /// Offset of the first byte of both windows.
    pub start: u64,
    pub expected: Vec<u8>,
    pub got: Vec<u8>,
}

/// The verdict on one transfer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comparison {
    pub expected_len: u64,
    pub got_len: u64,
    pub first_diff: Option<DiffWindow>,
    pub hint: Option<String>,
    /// XXH3-128 of the received bytes (a fingerprint; the comparison is byte for byte).
    pub got_hash: String,
}

impl Comparison {
    pub fn identical(&self) -> bool {
        self.first_diff.is_none() && self.got_len == self.expected_len
    }

    /// A one-line summary.
    pub fn summary(&self) -> String {
        if self.identical() {
            return tr!("{got_len} bytes, identical", got_len = self.got_len);
        }
        let mut s = tr!(
            "expected {expected_len} bytes, got {got_len}",
            expected_len = self.expected_len,
            got_len = self.got_len
        );
        if let Some(d) = &self.first_diff {
            s.push_str(&tr!(
                "; first difference at offset {offset}",
                offset = d.offset
            ));
        }
        if let Some(h) = &self.hint {
            let _ = write!(s, " ({h})");
        }
        s
    }

    /// The hex and text window, several lines, for a report.
    pub fn window_text(&self) -> Option<String> {
        let d = self.first_diff.as_ref()?;
        let mut out = String::new();
        out.push_str(&tr!(
            "offset {offset} (window from {start}):",
            offset = d.offset,
            start = d.start
        ));
        let _ = writeln!(out);
        // The labels are padded to one width, whatever the language.
        let (expected, got) = (tr!("expected:"), tr!("got:"));
        let cols = |t: &str| t.chars().map(crate::i18n::columns).sum::<usize>();
        let width = cols(expected).max(cols(got)) + 1;
        let _ = writeln!(
            out,
            "  {}{}  |{}|",
            crate::i18n::pad(expected, width),
            hex(&d.expected),
            text(&d.expected)
        );
        let _ = write!(
            out,
            "  {}{}  |{}|",
            crate::i18n::pad(got, width),
            hex(&d.got),
            text(&d.got)
        );
        Some(out)
    }
}

fn hex(b: &[u8]) -> String {
    if b.is_empty() {
        return tr!("(nothing)").into();
    }
    b.iter()
        .map(|x| format!("{x:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn text(b: &[u8]) -> String {
    b.iter()
        .map(|&x| {
            if (0x20..0x7f).contains(&x) {
                x as char
            } else {
                '.'
            }
        })
        .collect()
}

/// Compares a stream of received bytes with an expected stream.
pub struct Comparator<R: Read> {
    expected: R,
    expected_len: u64,
    offset: u64,
    hasher: Xxh3,
    /// The last WINDOW bytes of both sides before `offset` (identical while no difference).
    recent: Vec<u8>,
    diff: Option<DiffWindow>,
    buf: Vec<u8>,
}

impl<R: Read> Comparator<R> {
    pub fn new(expected: R, expected_len: u64) -> Self {
        Comparator {
            expected,
            expected_len,
            offset: 0,
            hasher: Xxh3::new(),
            recent: Vec::with_capacity(WINDOW),
            diff: None,
            buf: Vec::new(),
        }
    }

    /// Reads exactly `n` expected bytes (fewer at its end) into the buffer.
    fn read_expected(&mut self, n: usize) -> io::Result<usize> {
        self.buf.resize(n, 0);
        let mut filled = 0;
        while filled < n {
            match self.expected.read(&mut self.buf[filled..n])? {
                0 => break,
                k => filled += k,
            }
        }
        Ok(filled)
    }

    /// Takes the next received bytes.
    pub fn feed(&mut self, got: &[u8]) -> io::Result<()> {
        self.hasher.update(got);
        if self.diff.is_some() {
            // Complete the window of the received side, then only count.
            if let Some(d) = &mut self.diff {
                let want = 2 * WINDOW + 1;
                let room = want.saturating_sub(d.got.len());
                d.got.extend_from_slice(&got[..got.len().min(room)]);
            }
            self.offset += got.len() as u64;
            return Ok(());
        }
        let have = self.read_expected(got.len())?;
        if have == got.len() && self.buf[..have] == *got {
            self.push_recent(got);
            self.offset += got.len() as u64;
            return Ok(());
        }
        let exp = self.buf[..have].to_vec();
        let mismatch = (0..got.len()).find(|&i| i >= have || exp[i] != got[i]);
        match mismatch {
            None => {
                self.push_recent(got);
                self.offset += got.len() as u64;
            }
            Some(i) => {
                self.push_recent(&got[..i]);
                let at = self.offset + i as u64;
                let mut expected_side = self.recent.clone();
                expected_side.extend_from_slice(&exp[i..have.min(i + WINDOW + 1)]);
                let mut got_side = self.recent.clone();
                got_side.extend_from_slice(&got[i..got.len().min(i + WINDOW + 1)]);
                self.diff = Some(DiffWindow {
                    offset: at,
                    start: at - self.recent.len() as u64,
                    expected: expected_side,
                    got: got_side,
                });
                // Top up the expected side's window if the chunk ended early.
                let need = (WINDOW + 1).saturating_sub(have.saturating_sub(i));
                if need > 0 && have == got.len() {
                    let more = self.read_expected(need)?;
                    let extra = self.buf[..more].to_vec();
                    if let Some(d) = &mut self.diff {
                        d.expected.extend_from_slice(&extra);
                    }
                }
                self.offset += got.len() as u64;
            }
        }
        Ok(())
    }

    fn push_recent(&mut self, bytes: &[u8]) {
        let keep = &bytes[bytes.len().saturating_sub(WINDOW)..];
        self.recent.extend_from_slice(keep);
        let excess = self.recent.len().saturating_sub(WINDOW);
        self.recent.drain(..excess);
    }

    /// The verdict. A short transfer differs where it ends (the expected side shows what
    /// was missing).
    pub fn finish(mut self) -> io::Result<Comparison> {
        if self.diff.is_none() && self.offset < self.expected_len {
            let have = self.read_expected(WINDOW + 1)?;
            let mut expected_side = self.recent.clone();
            expected_side.extend_from_slice(&self.buf[..have]);
            self.diff = Some(DiffWindow {
                offset: self.offset,
                start: self.offset - self.recent.len() as u64,
                expected: expected_side,
                got: self.recent.clone(),
            });
        }
        let got_hash = format!("{:032x}", self.hasher.digest128());
        let mut c = Comparison {
            expected_len: self.expected_len,
            got_len: self.offset,
            first_diff: self.diff,
            hint: None,
            got_hash,
        };
        c.hint = hint(&c);
        Ok(c)
    }
}

/// Names the mistake behind a known pattern of difference.
fn hint(c: &Comparison) -> Option<String> {
    let d = c.first_diff.as_ref()?;
    let i = (d.offset - d.start) as usize;
    let exp = d.expected.get(i).copied();
    let got = d.got.get(i).copied();
    if got == Some(0xef) && d.got.get(i + 1) == Some(&0xbf) && d.got.get(i + 2) == Some(&0xbd) {
        return Some(tr!("binary data was decoded as text: invalid bytes became U+FFFD").into());
    }
    if let (Some(e), Some(g)) = (exp, got) {
        if e == b'\n' && g == b'\r' {
            return Some(tr!("\\n was translated to \\r\\n").into());
        }
        if e >= 0x80 && g < 0x80 && c.got_len != c.expected_len {
            return Some(tr!("bytes above 0x7f were changed: data treated as text").into());
        }
    }
    if got.is_none() && c.got_len < c.expected_len {
        if c.got_len == 0 {
            return Some(tr!("nothing was received").into());
        }
        for chunk in [65536u64, 32768, 16384, 8192, 4096, 2048, 1024] {
            if c.got_len.is_multiple_of(chunk) {
                return Some(tr!(
                    "truncated at a chunk boundary ({c} × {chunk} bytes)",
                    c = c.got_len / chunk,
                    chunk = chunk
                ));
            }
        }
        return Some(tr!("the tail is missing: what arrived is a prefix of the file").into());
    }
    if exp.is_none() && c.got_len > c.expected_len {
        return Some(tr!("extra bytes after the end of the file").into());
    }
    None
}

/// A deterministic pseudo-random byte stream (xorshift64*), so a large file can be written
/// and compared without keeping it anywhere. The bytes do not depend on how it is read.
#[derive(Debug, Clone)]
pub struct Pseudo {
    state: u64,
    left: u64,
    word: [u8; 8],
    used: usize,
}

impl Pseudo {
    pub fn new(seed: u64, len: u64) -> Self {
        Pseudo {
            state: seed | 1,
            left: len,
            word: [0; 8],
            used: 8,
        }
    }

    fn next_byte(&mut self) -> u8 {
        if self.used == 8 {
            self.state ^= self.state >> 12;
            self.state ^= self.state << 25;
            self.state ^= self.state >> 27;
            self.word = self.state.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes();
            self.used = 0;
        }
        self.used += 1;
        self.word[self.used - 1]
    }
}

impl Read for Pseudo {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = (buf.len() as u64).min(self.left) as usize;
        let mut i = 0;
        // Finish the current word, then whole words, then start the next one.
        while i < n && self.used < 8 {
            buf[i] = self.next_byte();
            i += 1;
        }
        while n - i >= 8 {
            self.used = 8;
            let _ = self.next_byte();
            buf[i..i + 8].copy_from_slice(&self.word);
            self.used = 8;
            i += 8;
        }
        while i < n {
            buf[i] = self.next_byte();
            i += 1;
        }
        self.left -= n as u64;
        Ok(n)
    }
}

/// Deterministic pseudo-random *text*: lowercase letters in lines of 63 plus a newline, for
/// checks that are not about binary data (so a server that mishandles binary data fails the
/// binary checks only).
#[derive(Debug, Clone)]
pub struct PseudoText {
    inner: Pseudo,
    pos: u64,
}

impl PseudoText {
    pub fn new(seed: u64, len: u64) -> Self {
        PseudoText {
            inner: Pseudo::new(seed, len),
            pos: 0,
        }
    }
}

impl Read for PseudoText {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        for b in &mut buf[..n] {
            *b = if self.pos % 64 == 63 {
                b'\n'
            } else {
                b'a' + *b % 26
            };
            self.pos += 1;
        }
        Ok(n)
    }
}

/// The byte strings a transfer's data must not hold: the end markers of a dialect that
/// frames data by a marker (`##`). A file holding one can be cut short by a client or
/// server that looks for the marker at the end of a read, or not, as the reads' boundaries
/// fall, and they fall as the machine's load has it; `##` inside data is what the binary
/// checks' file is for, whose reads do not depend on timing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Markers(Vec<Vec<u8>>);

impl Markers {
    pub fn new<S: AsRef<[u8]>>(markers: impl IntoIterator<Item = S>) -> Self {
        let mut all: Vec<Vec<u8>> = markers
            .into_iter()
            .map(|m| m.as_ref().to_vec())
            .filter(|m| !m.is_empty())
            .collect();
        all.sort();
        all.dedup();
        Markers(all)
    }

    /// `inner`'s bytes, each byte that would end a marker changed.
    pub fn strip<R: Read>(&self, inner: R) -> Unmarked<R> {
        Unmarked {
            inner,
            markers: self.0.clone(),
            tail: Vec::new(),
        }
    }
}

/// A stream whose bytes hold none of its [`Markers`]: a byte that would end one is changed
/// to one that ends none. Deterministic: the bytes do not depend on how it is read.
#[derive(Debug, Clone)]
pub struct Unmarked<R> {
    inner: R,
    markers: Vec<Vec<u8>>,
    /// The last bytes given out, as many as the longest marker has less one.
    tail: Vec<u8>,
}

impl<R> Unmarked<R> {
    /// Whether the bytes before `buf[i]` (`tail` then `buf[..i]`) end with `before`.
    fn preceded_by(&self, buf: &[u8], i: usize, before: &[u8]) -> bool {
        let from_buf = before.len().min(i);
        let from_tail = before.len() - from_buf;
        from_tail <= self.tail.len()
            && buf[i - from_buf..i] == before[from_tail..]
            && self.tail[self.tail.len() - from_tail..] == before[..from_tail]
    }

    /// A byte ending no marker, in place of `b`.
    fn other_than_ends(&self, b: u8) -> u8 {
        [b ^ 0x80, b ^ 0x40, b ^ 0x01]
            .into_iter()
            .find(|c| self.markers.iter().all(|m| m.last() != Some(c)))
            .unwrap_or(b ^ 0x80)
    }
}

impl<R: Read> Read for Unmarked<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if self.markers.is_empty() || n == 0 {
            return Ok(n);
        }
        for i in 0..n {
            let b = buf[i];
            let ends_one = self
                .markers
                .iter()
                .any(|m| m.last() == Some(&b) && self.preceded_by(&buf[..n], i, &m[..m.len() - 1]));
            if ends_one {
                buf[i] = self.other_than_ends(b);
            }
        }
        let keep = self.markers.iter().map(Vec::len).max().unwrap_or(1) - 1;
        let from_buf = keep.min(n);
        let from_tail = keep - from_buf;
        let drop = self.tail.len().saturating_sub(from_tail);
        self.tail.drain(..drop);
        self.tail.extend_from_slice(&buf[n - from_buf..n]);
        Ok(n)
    }
}

/// Compares everything `got` yields with `expected`.
pub fn compare_streams(
    mut got: impl Read,
    expected: impl Read,
    expected_len: u64,
) -> io::Result<Comparison> {
    let mut cmp = Comparator::new(expected, expected_len);
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = got.read(&mut buf)?;
        if n == 0 {
            break;
        }
        cmp.feed(&buf[..n])?;
    }
    cmp.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(expected: &[u8], got: &[u8]) -> Comparison {
        compare_streams(got, expected, expected.len() as u64).unwrap()
    }

    /// The comparison's hint names the cause with `words`.
    fn assert_hint(c: &Comparison, words: &str) {
        assert!(
            c.hint.as_ref().is_some_and(|h| h.contains(words)),
            "{:?}",
            c.hint
        );
    }

    #[test]
    fn identical_streams() {
        let c = cmp(b"hello", b"hello");
        assert!(c.identical());
        assert_eq!(c.summary(), "5 bytes, identical");
    }

    #[test]
    fn first_difference_and_window() {
        let c = cmp(b"abcdefgh", b"abcXefgh");
        let d = c.first_diff.clone().unwrap();
        assert_eq!(d.offset, 3);
        assert_eq!(d.start, 0);
        assert!(c.window_text().unwrap().contains("61 62 63 64"));
        assert!(c.window_text().unwrap().contains("61 62 63 58"));
    }

    #[test]
    fn truncation_at_chunk_boundary_is_named() {
        let expected = vec![7u8; 10000];
        let c = cmp(&expected, &expected[..4096]);
        assert_eq!(c.first_diff.as_ref().unwrap().offset, 4096);
        assert_hint(&c, "chunk boundary");
    }

    #[test]
    fn text_decoding_of_binary_is_named() {
        let expected = [0x41u8, 0xff, 0x42];
        let got = [0x41u8, 0xef, 0xbf, 0xbd, 0x42];
        let c = cmp(&expected, &got);
        assert_hint(&c, "decoded as text");
    }

    #[test]
    fn crlf_translation_is_named() {
        let c = cmp(b"a\nb\n", b"a\r\nb\r\n");
        assert_hint(&c, "\\r\\n");
    }

    #[test]
    fn extra_bytes_are_named() {
        let c = cmp(b"abc", b"abcdef");
        assert_eq!(c.first_diff.as_ref().unwrap().offset, 3);
        assert_hint(&c, "extra");
    }

    #[test]
    fn difference_across_chunks() {
        let expected: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let mut got = expected.clone();
        got[150_001] ^= 1;
        let mut cmpr = Comparator::new(&expected[..], expected.len() as u64);
        for chunk in got.chunks(4093) {
            cmpr.feed(chunk).unwrap();
        }
        let c = cmpr.finish().unwrap();
        assert_eq!(c.first_diff.unwrap().offset, 150_001);
    }

    #[test]
    fn pseudo_stream_does_not_depend_on_read_sizes() {
        let mut whole = vec![0u8; 1000];
        Pseudo::new(3, 1000).read_exact(&mut whole).unwrap();
        let mut parts = Vec::new();
        let mut p = Pseudo::new(3, 1000);
        for size in [3usize, 7, 13, 977] {
            let mut b = vec![0u8; size];
            let n = p.read(&mut b).unwrap();
            parts.extend_from_slice(&b[..n]);
        }
        assert_eq!(parts, whole);
    }

    #[test]
    fn pseudo_stream_is_deterministic() {
        let mut a = vec![0u8; 1000];
        let mut b = vec![0u8; 1000];
        Pseudo::new(9, 1000).read_exact(&mut a).unwrap();
        Pseudo::new(9, 1000).read_exact(&mut b).unwrap();
        assert_eq!(a, b);
        assert_ne!(a[..8], a[8..16]);
    }

    /// Reads all of `r`, `size` bytes at a time.
    fn read_by(mut r: impl Read, size: usize) -> Vec<u8> {
        let mut all = Vec::new();
        let mut b = vec![0u8; size];
        loop {
            let n = r.read(&mut b).unwrap();
            if n == 0 {
                return all;
            }
            all.extend_from_slice(&b[..n]);
        }
    }

    fn holds(data: &[u8], marker: &[u8]) -> bool {
        data.windows(marker.len()).any(|w| w == marker)
    }

    /// The client checks' large file held `##` 16 times: a course client that stops at a
    /// read ending with `##` cut it short or not as the reads fell (CI saw it under load).
    #[test]
    fn unmarked_stream_holds_no_marker_whatever_the_reads() {
        let markers = Markers::new(["##", "--", "END"]);
        let plain = read_by(Pseudo::new(42, 1_052_675), 65536);
        assert!(holds(&plain, b"##"));
        let whole = read_by(markers.strip(Pseudo::new(42, 1_052_675)), 65536);
        assert_eq!(whole.len(), plain.len());
        for m in [&b"##"[..], b"--", b"END"] {
            assert!(!holds(&whole, m), "{m:?} left in the data");
        }
        let changed = whole.iter().zip(&plain).filter(|(a, b)| a != b).count();
        assert!((1..100).contains(&changed), "{changed} bytes changed");
        for size in [1usize, 2, 3, 1024, 4093] {
            assert_eq!(
                read_by(markers.strip(Pseudo::new(42, 1_052_675)), size),
                whole
            );
        }
    }

    #[test]
    fn unmarked_stream_breaks_runs_of_a_marker_byte_and_keeps_other_data() {
        let markers = Markers::new(["##"]);
        let got = read_by(markers.strip(&b"a####b#"[..]), 1);
        assert!(!holds(&got, b"##"));
        assert_eq!(
            (got[0], got[1], got[3], got[5], got[6]),
            (b'a', b'#', b'#', b'b', b'#')
        );
        let none = Markers::new(Vec::<&str>::new());
        assert_eq!(read_by(none.strip(&b"a####b"[..]), 2), b"a####b");
    }
}
