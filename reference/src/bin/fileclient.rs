//! Reference file client: `fileclient <host> <port>`.
//!
//! Prints the prompt `ftp> ` and reads commands from stdin (a terminal or a pipe):
//! `list`, `get <name>`, `put <path>`, `quit`. Results and errors go to stdout, in order with the
//! prompts; an error includes the server's reason (`error: <reason>`). `quit` and end of input
//! exit with status 0; losing the connection exits with status 1.
//!
//! A download goes to a hidden temporary file in the current directory that is renamed to the
//! name only when all bytes have arrived, so a failed get leaves no file.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use reference::fileproto::{self, Line, Reply, BUF_SIZE, MAX_LINE};

/// What went wrong with a command.
enum Failure {
    /// Reported to the user; the session goes on.
    Soft(String),
    /// The connection is gone or out of step; the client cannot go on.
    Fatal(String),
}

use Failure::{Fatal, Soft};

fn lost(e: io::Error) -> Failure {
    Fatal(format!("connection to the server lost: {e}"))
}

struct Session {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Session {
    fn request(&mut self, line: &str) -> Result<(), Failure> {
        self.writer
            .write_all(format!("{line}\n").as_bytes())
            .map_err(lost)
    }

    /// Reads a reply header: `Ok(rest)` for `OK rest`, `Soft(reason)` for `ERR reason`.
    fn reply(&mut self) -> Result<String, Failure> {
        match fileproto::read_line(&mut self.reader, MAX_LINE).map_err(lost)? {
            Line::Eof => Err(Fatal("connection closed by the server".into())),
            Line::TooLong => Err(Fatal("reply header too long".into())),
            Line::Line(line) => match fileproto::parse_reply(&line) {
                Ok(Reply::Ok(rest)) => Ok(rest),
                Ok(Reply::Err(reason)) => Err(Soft(reason)),
                Err(e) => Err(Fatal(e)),
            },
        }
    }

    fn size_reply(&mut self) -> Result<u64, Failure> {
        let rest = self.reply()?;
        fileproto::parse_size(&rest).ok_or_else(|| Fatal(format!("malformed reply: OK {rest}")))
    }

    fn list(&mut self, out: &mut impl Write) -> Result<(), Failure> {
        self.request("L")?;
        let n = self.size_reply()?;
        for _ in 0..n {
            match fileproto::read_line(&mut self.reader, MAX_LINE).map_err(lost)? {
                Line::Line(name) => {
                    let _ = out.write_all(&name);
                    let _ = out.write_all(b"\n");
                }
                Line::TooLong => return Err(Fatal("name in the listing too long".into())),
                Line::Eof => return Err(Fatal("connection closed by the server".into())),
            }
        }
        Ok(())
    }

    fn get(&mut self, name: &str, out: &mut impl Write) -> Result<(), Failure> {
        self.request(&format!("G {name}"))?;
        let size = self.size_reply()?;
        // The server accepted the name, but never trust it with our directory.
        let safe = fileproto::validate_name(name).is_ok();
        let temp = PathBuf::from(format!(".fileclient-{}.part", std::process::id()));
        let mut file = if safe {
            OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o644)
                .open(&temp)
                .ok()
        } else {
            None
        };
        let opened = file.is_some();
        let received = receive(&mut self.reader, file.as_mut(), size);
        drop(file);
        let result = match received {
            Err(e) => Err(lost(e)),
            Ok(Some(e)) => Err(Soft(format!("cannot write {name}: {e}"))),
            Ok(None) if !safe => Err(Soft(format!("refusing to save under the name {name:?}"))),
            Ok(None) if !opened => Err(Soft(format!("cannot create a file for {name}"))),
            Ok(None) => {
                fs::rename(&temp, name).map_err(|e| Soft(format!("cannot save {name}: {e}")))
            }
        };
        if result.is_err() && opened {
            let _ = fs::remove_file(&temp);
        }
        result?;
        let _ = writeln!(out, "downloaded {name} ({size} bytes)");
        Ok(())
    }

    fn put(&mut self, path: &str, out: &mut impl Write) -> Result<(), Failure> {
        let local = Path::new(path);
        let Some(name) = local.file_name().and_then(|n| n.to_str()) else {
            return Err(Soft(format!("{path}: no usable file name")));
        };
        let mut file = File::open(local).map_err(|e| Soft(format!("{path}: {e}")))?;
        let meta = file.metadata().map_err(|e| Soft(format!("{path}: {e}")))?;
        if !meta.is_file() {
            return Err(Soft(format!("{path}: not a regular file")));
        }
        let size = meta.len();
        self.request(&format!("P {size} {name}"))?;
        self.reply()?;
        // Having announced `size` bytes we must send exactly that many; if the file shrank in
        // between there is no way to stay in step with the server.
        fileproto::copy_exact(&mut file, &mut self.writer, size)
            .map_err(|e| Fatal(format!("upload of {path} failed: {e}")))?;
        self.reply()?;
        let _ = writeln!(out, "uploaded {name} ({size} bytes)");
        Ok(())
    }
}

/// Reads exactly `size` bytes into `file` (or discards them if there is none). `Err` if the
/// connection fails; `Ok(Some(e))` if writing the file failed (the bytes are still consumed).
fn receive<R: Read>(
    reader: &mut R,
    mut file: Option<&mut File>,
    size: u64,
) -> io::Result<Option<io::Error>> {
    let mut buf = vec![0u8; BUF_SIZE];
    let mut remaining = size;
    let mut write_error = None;
    while remaining > 0 {
        let want = remaining.min(buf.len() as u64) as usize;
        let got = match reader.read(&mut buf[..want]) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(got) => got,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if let (Some(f), None) = (file.as_mut(), write_error.as_ref()) {
            if let Err(e) = f.write_all(&buf[..got]) {
                write_error = Some(e);
            }
        }
        remaining -= got as u64;
    }
    Ok(write_error)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let [_, host, port] = args.as_slice() else {
        eprintln!("usage: fileclient <host> <port>");
        return ExitCode::from(2);
    };
    let Ok(port) = port.parse::<u16>() else {
        eprintln!("fileclient: invalid port {port:?}");
        return ExitCode::from(2);
    };
    let stream = match TcpStream::connect((host.as_str(), port)) {
        Ok(stream) => stream,
        Err(e) => {
            eprintln!("fileclient: cannot connect to {host}:{port}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let reader = match stream.try_clone() {
        Ok(clone) => BufReader::with_capacity(BUF_SIZE, clone),
        Err(e) => {
            eprintln!("fileclient: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut session = Session {
        reader,
        writer: stream,
    };
    let stdin = io::stdin();
    let mut input = stdin.lock();
    let stdout = io::stdout();
    let mut out = stdout.lock();
    let mut line = String::new();
    loop {
        let _ = write!(out, "ftp> ");
        let _ = out.flush();
        line.clear();
        match input.read_line(&mut line) {
            Ok(0) => {
                // End of input: finish the prompt's line and leave politely.
                let _ = writeln!(out);
                let _ = session.request("Q");
                return ExitCode::SUCCESS;
            }
            Ok(_) => {}
            Err(e) => {
                let _ = writeln!(out, "error: cannot read the command: {e}");
                continue;
            }
        }
        let command = line.trim_end_matches(['\n', '\r']).trim_start();
        let (verb, argument) = match command.split_once(' ') {
            Some((verb, rest)) => (verb, rest.trim_start_matches(' ')),
            None => (command, ""),
        };
        let result = match (verb, argument) {
            ("", _) => Ok(()),
            ("list", "") => session.list(&mut out),
            ("get", "") => Err(Soft("usage: get <name>".into())),
            ("get", name) => session.get(name, &mut out),
            ("put", "") => Err(Soft("usage: put <path>".into())),
            ("put", path) => session.put(path, &mut out),
            ("quit", "") => {
                let _ = session.request("Q");
                return ExitCode::SUCCESS;
            }
            _ => Err(Soft(format!(
                "unknown command {command:?} (commands: list, get <name>, put <path>, quit)"
            ))),
        };
        match result {
            Ok(()) => {}
            Err(Soft(reason)) => {
                let _ = writeln!(out, "error: {reason}");
            }
            Err(Fatal(reason)) => {
                let _ = writeln!(out, "error: {reason}");
                let _ = out.flush();
                return ExitCode::FAILURE;
            }
        }
        let _ = out.flush();
    }
}
