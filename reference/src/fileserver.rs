//! The reference file server's serving logic: accept loop, one thread per connection, the
//! `L`/`G`/`P`/`Q` commands, atomic uploads. The `fileserver` binary wraps it with argument
//! parsing and signal handling; the grader runs it in-process as the server its client
//! checks talk to.

use std::collections::BTreeSet;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;

use crate::fileproto::{self, Line, Request, BUF_SIZE, MAX_LINE};

/// Temporary files of uploads in progress. Files are created and renamed while holding the
/// lock, so on shutdown, holding it, we see and remove every one of them.
static PENDING: Mutex<BTreeSet<PathBuf>> = Mutex::new(BTreeSet::new());

/// Numbers the temporary files of this process.
static UPLOADS: AtomicU64 = AtomicU64::new(0);

fn pending() -> MutexGuard<'static, BTreeSet<PathBuf>> {
    PENDING.lock().unwrap_or_else(|e| e.into_inner())
}

/// Removes the temporary files of unfinished uploads and returns the lock guard, so that the
/// caller can exit while no upload can start or finish.
pub fn remove_pending() -> MutexGuard<'static, BTreeSet<PathBuf>> {
    let guard = pending();
    for path in guard.iter() {
        let _ = fs::remove_file(path);
    }
    guard
}

/// Told of every well-formed request as it is read, before it is answered (the grader
/// uses it to know which requests a client really sent).
pub type Observer = Arc<dyn Fn(&Request) + Send + Sync>;

/// Accepts connections until `stop` (a descriptor, e.g. a self-pipe) becomes readable.
pub fn accept_loop(listener: &TcpListener, signals: libc::c_int, library: &Arc<PathBuf>) {
    accept_loop_observed(listener, signals, library, None)
}

/// [`accept_loop`], telling `observer` of every request.
pub fn accept_loop_observed(
    listener: &TcpListener,
    signals: libc::c_int,
    library: &Arc<PathBuf>,
    observer: Option<Observer>,
) {
    let library = Arc::clone(library);
    let serve_one: ConnectionHandler =
        Arc::new(move |stream| serve(stream, &library, observer.as_ref()));
    accept_loop_with(listener, signals, serve_one)
}

/// Serves one connection (on a thread of its own); an error ends that connection only.
pub type ConnectionHandler = Arc<dyn Fn(TcpStream) -> io::Result<()> + Send + Sync>;

/// Accepts connections until `stop` becomes readable, each served by `serve_one` on a thread
/// of its own (the accept loop of every protocol the grader's reference servers speak).
pub fn accept_loop_with(
    listener: &TcpListener,
    signals: libc::c_int,
    serve_one: ConnectionHandler,
) {
    loop {
        let mut fds = [
            libc::pollfd {
                fd: listener.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: signals,
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        if unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, -1) } < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            eprintln!("fileserver: poll: {e}");
            return;
        }
        if fds[1].revents != 0 {
            return;
        }
        loop {
            match listener.accept() {
                Ok((stream, _)) => spawn_connection(stream, serve_one.clone()),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    // E.g. ECONNABORTED or out of descriptors: this connection is lost, the
                    // server goes on.
                    eprintln!("fileserver: accept: {e}");
                    break;
                }
            }
        }
    }
}

fn spawn_connection(stream: TcpStream, serve_one: ConnectionHandler) {
    let spawned = thread::Builder::new()
        .name("connection".into())
        .spawn(move || {
            if let Err(e) = serve_one(stream) {
                // Broken connections are normal (clients vanish, a client that leaves with a
                // reply unread resets its connection): nothing to say. The grader runs this
                // loop in its own process as the client checks' reference server, where a
                // line on stderr would land on the instructor's terminal before the report.
                if !vanished(&e) {
                    eprintln!("fileserver: connection ended: {e}");
                }
            }
        });
    if let Err(e) = spawned {
        eprintln!("fileserver: cannot start a thread: {e}");
    }
}

/// Whether `e` only says that the client went away.
fn vanished(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::UnexpectedEof
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe
    )
}

/// Serves one connection until `Q`, end of input, or an error that leaves it unusable.
fn serve(stream: TcpStream, library: &Path, observer: Option<&Observer>) -> io::Result<()> {
    stream.set_nonblocking(false)?;
    let mut reader = BufReader::with_capacity(BUF_SIZE, stream.try_clone()?);
    let mut writer = stream;
    loop {
        let line = match fileproto::read_line(&mut reader, MAX_LINE)? {
            Line::Eof => return Ok(()),
            Line::TooLong => {
                send_err(&mut writer, "request line too long")?;
                continue;
            }
            Line::Line(line) => line,
        };
        let request = fileproto::parse_request(&line);
        if let (Ok(r), Some(observe)) = (&request, observer) {
            observe(r);
        }
        match request {
            Err(reason) => send_err(&mut writer, &reason)?,
            Ok(Request::List) => list(&mut writer, library)?,
            Ok(Request::Get(name)) => get(&mut writer, library, &name)?,
            Ok(Request::Put { size, name }) => put(&mut reader, &mut writer, library, size, &name)?,
            Ok(Request::Quit) => return Ok(()),
        }
    }
}

fn send_err(w: &mut TcpStream, reason: &str) -> io::Result<()> {
    // A reason must stay on one line.
    let reason: String = reason
        .chars()
        .map(|c| if c == '\n' || c == '\r' { ' ' } else { c })
        .collect();
    w.write_all(format!("ERR {reason}\n").as_bytes())
}

fn io_reason(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::NotFound => "no such file".to_string(),
        io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        _ => e.to_string(),
    }
}

/// The names a listing shows: regular files (symlinks not followed) whose names can be
/// sent and requested (not hidden, UTF-8, no newline), sorted.
pub fn library_names(library: &Path) -> io::Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in fs::read_dir(library)? {
        let Ok(entry) = entry else { continue };
        // `file_type` does not follow symlinks: only real regular files are listed.
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if !kind.is_file() {
            continue;
        }
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        if fileproto::validate_name(&name).is_ok() {
            names.push(name);
        }
    }
    names.sort();
    Ok(names)
}

fn list(w: &mut TcpStream, library: &Path) -> io::Result<()> {
    let names = match library_names(library) {
        Ok(names) => names,
        Err(e) => return send_err(w, &format!("cannot read the library: {}", io_reason(&e))),
    };
    let mut reply = format!("OK {}\n", names.len());
    for name in names {
        reply.push_str(&name);
        reply.push('\n');
    }
    w.write_all(reply.as_bytes())
}

/// The library's regular file `name` opened for a download, with its size; or the reason
/// it cannot be served.
pub fn open_for_download(library: &Path, name: &str) -> Result<(File, u64), String> {
    fileproto::validate_name(name)?;
    // O_NOFOLLOW refuses a symlink; O_NONBLOCK keeps a FIFO from blocking the open (it is then
    // refused as not regular; for a regular file the flag has no effect).
    let opened = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(library.join(name));
    let file = match opened {
        Ok(file) => file,
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => return Err("not a regular file".into()),
        Err(e) => return Err(io_reason(&e)),
    };
    match file.metadata() {
        Ok(meta) if meta.is_file() => Ok((file, meta.len())),
        Ok(_) => Err("not a regular file".into()),
        Err(e) => Err(io_reason(&e)),
    }
}

fn get(w: &mut TcpStream, library: &Path, name: &str) -> io::Result<()> {
    let (mut file, size) = match open_for_download(library, name) {
        Ok(opened) => opened,
        Err(reason) => return send_err(w, &reason),
    };
    w.write_all(format!("OK {size}\n").as_bytes())?;
    // If the file shrank meanwhile (someone changed it behind the server's back) the promised
    // size cannot be kept: copy_exact fails and the connection is dropped.
    fileproto::copy_exact(&mut file, w, size)
}

/// A temporary upload file; removed on drop unless it has been committed.
pub struct TempUpload {
    path: PathBuf,
    committed: bool,
}

impl TempUpload {
    /// Creates a fresh hidden file in the library (registered for removal on shutdown).
    pub fn create(library: &Path) -> io::Result<(TempUpload, File)> {
        let mut pending = pending();
        loop {
            let n = UPLOADS.fetch_add(1, Ordering::Relaxed);
            let path = library.join(format!(".upload-{}-{n}.tmp", std::process::id()));
            match OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o644)
                .open(&path)
            {
                Ok(file) => {
                    pending.insert(path.clone());
                    let temp = TempUpload {
                        path,
                        committed: false,
                    };
                    return Ok((temp, file));
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Renames the file to its final name.
    pub fn commit(mut self, target: &Path) -> io::Result<()> {
        let mut pending = pending();
        fs::rename(&self.path, target)?;
        pending.remove(&self.path);
        self.committed = true;
        Ok(())
    }
}

impl Drop for TempUpload {
    fn drop(&mut self) {
        if !self.committed {
            let mut pending = pending();
            let _ = fs::remove_file(&self.path);
            pending.remove(&self.path);
        }
    }
}

fn put(
    r: &mut BufReader<TcpStream>,
    w: &mut TcpStream,
    library: &Path,
    size: u64,
    name: &str,
) -> io::Result<()> {
    let target = library.join(name);
    match fs::symlink_metadata(&target) {
        Ok(meta) if !meta.file_type().is_file() => {
            let what = if meta.file_type().is_symlink() {
                "a symlink"
            } else if meta.is_dir() {
                "a directory"
            } else if meta.file_type().is_fifo() {
                "a FIFO"
            } else {
                "not a regular file"
            };
            return send_err(w, &format!("cannot replace {what}"));
        }
        _ => {}
    }
    let (temp, mut file) = match TempUpload::create(library) {
        Ok(created) => created,
        Err(e) => return send_err(w, &format!("cannot store: {}", io_reason(&e))),
    };
    w.write_all(b"OK\n")?;
    // Receive all the announced bytes even if writing fails, so the connection stays in step.
    let mut buf = vec![0u8; BUF_SIZE];
    let mut remaining = size;
    let mut write_error = None;
    while remaining > 0 {
        let want = remaining.min(buf.len() as u64) as usize;
        let got = match r.read(&mut buf[..want]) {
            // Cut off midway: `temp` is dropped, which removes the file.
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "upload cut off",
                ))
            }
            Ok(got) => got,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if write_error.is_none() {
            if let Err(e) = file.write_all(&buf[..got]) {
                write_error = Some(e);
            }
        }
        remaining -= got as u64;
    }
    drop(file);
    if let Some(e) = write_error {
        drop(temp);
        return send_err(w, &format!("cannot store: {}", io_reason(&e)));
    }
    match temp.commit(&target) {
        Ok(()) => w.write_all(b"OK\n"),
        Err(e) => send_err(w, &format!("cannot store: {}", io_reason(&e))),
    }
}
