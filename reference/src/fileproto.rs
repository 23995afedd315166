//! Protocol pieces shared by the reference `fileserver` and `fileclient`.
//!
//! The protocol (see `exercises/fileserver/README.md`): a request is one UTF-8 line ending in
//! `\n`; a reply header is one line `OK …` or `ERR <reason>`; file data follows a header with
//! its length announced in the header, never with an end marker.

use std::io::{self, BufRead, Read, Write};

/// Longest request or reply header line accepted, without its `\n`.
pub const MAX_LINE: usize = 4096;

/// Size of the buffer used to stream file data; files are never held in memory whole.
pub const BUF_SIZE: usize = 64 * 1024;

/// Longest name accepted, in bytes (`NAME_MAX` on Linux file systems).
pub const MAX_NAME: usize = 255;

/// Checks a file name against the protocol's rules: not empty, no `/`, NUL or newline, not
/// hidden (which also excludes `.` and `..`), and storable (at most [`MAX_NAME`] bytes).
/// The error is a reason fit for an `ERR` reply.
pub fn validate_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() {
        Err("empty name")
    } else if name.contains('/') {
        Err("invalid name: contains '/'")
    } else if name.contains('\0') {
        Err("invalid name: contains NUL")
    } else if name.contains('\n') {
        Err("invalid name: contains a newline")
    } else if name.starts_with('.') {
        Err("invalid name: must not start with '.'")
    } else if name.len() > MAX_NAME {
        Err("invalid name: too long")
    } else {
        Ok(())
    }
}

/// Parses a decimal size: digits only, no sign, no spaces, fits in a `u64`.
pub fn parse_size(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// A well-formed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// `L`
    List,
    /// `G <name>`
    Get(String),
    /// `P <size> <name>`
    Put { size: u64, name: String },
    /// `Q`
    Quit,
}

/// Parses a request line (without its `\n`; a `\r` before it is dropped). The error is a
/// reason fit for an `ERR` reply.
pub fn parse_request(line: &[u8]) -> Result<Request, String> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let line = std::str::from_utf8(line).map_err(|_| "request is not valid UTF-8".to_string())?;
    match line {
        "L" => return Ok(Request::List),
        "Q" => return Ok(Request::Quit),
        _ => {}
    }
    if let Some(name) = line.strip_prefix("G ") {
        validate_name(name)?;
        return Ok(Request::Get(name.to_string()));
    }
    if let Some(rest) = line.strip_prefix("P ") {
        let Some((size, name)) = rest.split_once(' ') else {
            return Err("usage: P <size> <name>".to_string());
        };
        let size = parse_size(size).ok_or_else(|| format!("invalid size {size:?}"))?;
        validate_name(name)?;
        return Ok(Request::Put {
            size,
            name: name.to_string(),
        });
    }
    let shown: String = line.chars().take(40).collect();
    Err(format!(
        "unknown request {shown:?} (expected L, G <name>, P <size> <name> or Q)"
    ))
}

/// A reply header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// `OK` followed by whatever came after it (without the separating space; may be empty).
    Ok(String),
    /// `ERR <reason>`
    Err(String),
}

/// Parses a reply header line (without its `\n`).
pub fn parse_reply(line: &[u8]) -> Result<Reply, String> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let line = std::str::from_utf8(line).map_err(|_| "reply is not valid UTF-8".to_string())?;
    if line == "OK" {
        Ok(Reply::Ok(String::new()))
    } else if let Some(rest) = line.strip_prefix("OK ") {
        Ok(Reply::Ok(rest.to_string()))
    } else if line == "ERR" {
        Ok(Reply::Err(String::new()))
    } else if let Some(reason) = line.strip_prefix("ERR ") {
        Ok(Reply::Err(reason.to_string()))
    } else {
        Err(format!("malformed reply {line:?}"))
    }
}

/// Result of [`read_line`].
#[derive(Debug, PartialEq, Eq)]
pub enum Line {
    /// A complete line, without its `\n`.
    Line(Vec<u8>),
    /// A line longer than the limit; it has been read and discarded up to its `\n`.
    TooLong,
    /// End of input before a complete line (a partial line is discarded).
    Eof,
}

/// Reads one `\n`-terminated line of at most `max` bytes (not counting the `\n`), without ever
/// buffering more than `max` bytes of it.
pub fn read_line<R: BufRead>(reader: &mut R, max: usize) -> io::Result<Line> {
    let mut line = Vec::new();
    let mut too_long = false;
    loop {
        let available = match reader.fill_buf() {
            Ok(buf) => buf,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            return Ok(Line::Eof);
        }
        let (chunk, found) = match available.iter().position(|&b| b == b'\n') {
            Some(i) => (&available[..i], true),
            None => (available, false),
        };
        if !too_long {
            if line.len() + chunk.len() > max {
                too_long = true;
                line = Vec::new();
            } else {
                line.extend_from_slice(chunk);
            }
        }
        let used = chunk.len() + usize::from(found);
        reader.consume(used);
        if found {
            return Ok(if too_long {
                Line::TooLong
            } else {
                Line::Line(line)
            });
        }
    }
}

/// Copies exactly `n` bytes from `from` to `to` through a fixed buffer. Fails with
/// `UnexpectedEof` if `from` ends first.
pub fn copy_exact<R: Read, W: Write>(from: &mut R, to: &mut W, n: u64) -> io::Result<()> {
    let mut buf = vec![0u8; BUF_SIZE];
    let mut remaining = n;
    while remaining > 0 {
        let want = remaining.min(buf.len() as u64) as usize;
        let got = match from.read(&mut buf[..want]) {
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("data ended {remaining} bytes early"),
                ))
            }
            Ok(got) => got,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        to.write_all(&buf[..got])?;
        remaining -= got as u64;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for ok in ["a", "a b", "报告.txt", "x..y", "a.", " lead", "trail "] {
            assert_eq!(validate_name(ok), Ok(()), "{ok:?}");
        }
        let long = "x".repeat(MAX_NAME + 1);
        for bad in [
            "",
            ".",
            "..",
            ".hidden",
            "a/b",
            "/etc/passwd",
            "../x",
            "a\0b",
            &long,
        ] {
            assert!(validate_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("0"), Some(0));
        assert_eq!(parse_size("0012"), Some(12));
        assert_eq!(parse_size("18446744073709551615"), Some(u64::MAX));
        for bad in ["", "-1", "+1", " 1", "1 ", "1e3", "18446744073709551616"] {
            assert_eq!(parse_size(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn requests() {
        assert_eq!(parse_request(b"L"), Ok(Request::List));
        assert_eq!(parse_request(b"Q\r"), Ok(Request::Quit));
        assert_eq!(
            parse_request("G my 报告.txt".as_bytes()),
            Ok(Request::Get("my 报告.txt".into()))
        );
        assert_eq!(
            parse_request(b"P 12 a b"),
            Ok(Request::Put {
                size: 12,
                name: "a b".into()
            })
        );
        for bad in [
            &b""[..],
            b"L ",
            b"l",
            b"G",
            b"G ",
            b"G ../x",
            b"P 12",
            b"P x a",
            b"P  a",
            b"X",
            b"G \xff",
        ] {
            assert!(parse_request(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn replies() {
        assert_eq!(parse_reply(b"OK"), Ok(Reply::Ok(String::new())));
        assert_eq!(parse_reply(b"OK 5"), Ok(Reply::Ok("5".into())));
        assert_eq!(parse_reply(b"ERR nope"), Ok(Reply::Err("nope".into())));
        assert!(parse_reply(b"HELLO").is_err());
    }

    #[test]
    fn lines() {
        let mut input = io::BufReader::with_capacity(3, &b"ab\ncdefgh\nij\nk"[..]);
        assert_eq!(
            read_line(&mut input, 4).unwrap(),
            Line::Line(b"ab".to_vec())
        );
        assert_eq!(read_line(&mut input, 4).unwrap(), Line::TooLong);
        assert_eq!(
            read_line(&mut input, 4).unwrap(),
            Line::Line(b"ij".to_vec())
        );
        assert_eq!(read_line(&mut input, 4).unwrap(), Line::Eof);
    }
}
