//! What the grader checks, for instructors: `harness list` (exercises, checks, points) and
//! `harness explain CHECK` (what it does, why a submission fails it, how to fix it).
//!
//! Ids and titles come from each exercise's grader (`exercises::bus::checks::CHECKS`,
//! `config::fileserver::CHECKS`), points from the exercise configs; the explanations are
//! written here, from the students' READMEs ("How the grader judges") and the check code.
//! Tests keep the three in step.

use std::fmt::Write as _;
use std::path::Path;

use crate::config::bus::BusConfig;
use crate::config::fileserver::{FileserverConfig, CHECKS as FILESERVER_CHECKS};
use crate::exercises::bus::checks::CHECKS as BUS_CHECKS;

/// The explanation of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckDoc {
    pub id: &'static str,
    /// What the grader does and requires.
    pub what: &'static str,
    /// The usual reasons a submission fails it.
    pub why: &'static [&'static str],
    /// How to fix a failing submission.
    pub fix: &'static str,
}

/// One exercise as the catalog shows it.
#[derive(Debug, Clone)]
pub struct ExerciseDoc {
    pub name: &'static str,
    pub title: String,
    /// False while the exercise's grader is not built (it is listed, not graded).
    pub graded: bool,
    /// Check id, title, points.
    pub checks: Vec<(&'static str, &'static str, u32)>,
    /// The explanations, one per check, in the same order.
    pub docs: &'static [CheckDoc],
}

pub const BUS_DOCS: &[CheckDoc] = &[
    CheckDoc {
        id: "start",
        what: "Starts the program in a pseudo-terminal and waits (event-driven, up to \
               [timing] startup_ms) until there are exactly two processes, the driver and one \
               conductor, both asleep, waiting for signals.",
        why: &[
            "the program crashes or exits during start-up (a syntax error, an exception)",
            "the driver never forks a conductor, or forks more than one process",
            "the conductor ends right away instead of waiting for signals",
            "the program is not executable (a compiled `bus` without `chmod +x`)",
        ],
        fix: "Fork exactly once, in the driver; both processes then wait with signal.pause() \
              (or os.wait() / p.join() in the driver) until Ctrl-Z. Run it by hand: it must keep \
              running until Ctrl-Z.",
    },
    CheckDoc {
        id: "handlers",
        what: "Reads both processes' signal dispositions from /proc: the driver ignores SIGINT \
               and SIGQUIT and catches SIGUSR1, SIGUSR2 and SIGTSTP; the conductor ignores \
               SIGTSTP and catches SIGINT, SIGQUIT and SIGUSR1.",
        why: &[
            "handlers installed before fork, so the conductor inherits the driver's (or the \
             other way round)",
            "a signal left at its default action, or ignored where it must be caught",
            "handlers installed late, after the program already waits",
        ],
        fix: "Install handlers with signal.signal(SIG, handler) and ignore with \
              signal.signal(SIG, signal.SIG_IGN), each in its own process, after fork.",
    },
    CheckDoc {
        id: "ctrl-c",
        what: "Types Ctrl-C (SIGINT to both processes). The conductor must send SIGUSR1 to the \
               driver, which prints line 1 exactly once; both keep running.",
        why: &[
            "the driver does not ignore SIGINT and is killed",
            "the conductor does not catch SIGINT, or does not signal the driver",
            "the line is printed by the conductor instead of the driver, or not flushed",
            "the line is misspelt (the report shows the closest line and how it differs)",
        ],
        fix: "Driver: signal.signal(signal.SIGINT, signal.SIG_IGN) and a SIGUSR1 handler that \
              prints line 1 with print(..., flush=True). Conductor: a SIGINT handler doing \
              os.kill(os.getppid(), signal.SIGUSR1).",
    },
    CheckDoc {
        id: "ctrl-backslash",
        what: "Types Ctrl-\\ (SIGQUIT to both processes). The conductor must send SIGUSR2 to \
               the driver, which prints line 2 exactly once; both keep running.",
        why: &[
            "the driver does not ignore SIGQUIT and dies (with a core dump)",
            "the conductor does not catch SIGQUIT, or sends the wrong signal",
            "line 2 printed by the wrong process, twice, or misspelt",
        ],
        fix: "Driver: ignore SIGQUIT and print line 2 in a SIGUSR2 handler. Conductor: a \
              SIGQUIT handler doing os.kill(os.getppid(), signal.SIGUSR2).",
    },
    CheckDoc {
        id: "repeat",
        what: "Types an interleaved sequence of Ctrl-C and Ctrl-\\ ([repeat] keys in the \
               config); each key must print exactly its line, once, in the order typed.",
        why: &[
            "a handler that works only once (re-installed wrongly, or the process exits after \
             the first signal)",
            "lines lost or duplicated because output is buffered or handlers print twice",
            "a program that waits with a single pause() and then ends",
        ],
        fix: "Keep the handlers installed and wait in a loop (while True: signal.pause()); \
              print with flush=True.",
    },
    CheckDoc {
        id: "roles",
        what: "Sends signals to one process at a time: SIGINT and SIGQUIT to the conductor \
               alone, SIGUSR1 and SIGUSR2 to the driver alone. Each process must do its own part \
               and nothing else: the driver alone prints lines 1 and 2.",
        why: &[
            "the conductor prints the lines itself instead of signalling the driver",
            "the driver relies on also receiving the key's SIGINT/SIGQUIT",
            "the conductor signals the wrong process (itself, or the process group)",
        ],
        fix: "The conductor's SIGINT/SIGQUIT handlers only send SIGUSR1/SIGUSR2 to \
              os.getppid(); the driver's SIGUSR1/SIGUSR2 handlers only print.",
    },
    CheckDoc {
        id: "ctrl-z",
        what: "Types Ctrl-Z (SIGTSTP to both). The driver must send SIGUSR1 to the conductor, \
               which prints line 3 once; neither process may be stopped.",
        why: &[
            "the conductor does not ignore SIGTSTP and is stopped",
            "the driver does not catch SIGTSTP (it is stopped), or signals the wrong process",
            "line 3 printed by the driver instead of the conductor",
        ],
        fix: "Driver: a SIGTSTP handler doing os.kill(child_pid, signal.SIGUSR1). Conductor: \
              ignore SIGTSTP and print line 3 in its SIGUSR1 handler, then exit.",
    },
    CheckDoc {
        id: "exit-order",
        what: "After Ctrl-Z: the conductor exits first and is reaped by the driver (wait), then \
               the driver exits; neither is killed by a signal (the conductor's status, which \
               the driver reaps, is read from the kernel's process events). By default a \
               non-zero exit status is reported but costs no points ([rules] \
               nonzero_exit_costs_points).",
        why: &[
            "the driver exits first, orphaning the conductor",
            "the driver never waits for the conductor, leaving a zombie",
            "neither process exits after Ctrl-Z",
            "a process ends itself with a signal (os.kill(os.getpid(), SIGTERM)) instead of exiting",
        ],
        fix: "After printing line 3 the conductor exits (sys.exit(0)); the driver waits for it \
              with os.wait() or p.join() and then exits.",
    },
    CheckDoc {
        id: "cleanup",
        what: "Once the driver has exited, no process of the program may remain: no orphan, no \
               zombie, nothing that escaped with a double fork or setsid.",
        why: &[
            "an extra process (a helper, a multiprocessing resource tracker) left running",
            "a child never reaped",
        ],
        fix: "Every process the program starts must have exited, and been reaped, when the \
              driver exits.",
    },
    CheckDoc {
        id: "idle",
        what: "Measures the CPU share of both processes while they wait ([rules] \
               busy_cpu_share): waiting must be sleeping. Worth no points by default: a warning.",
        why: &["a busy loop (while True: pass, or polling with a short sleep)"],
        fix: "Wait with signal.pause(), os.wait() or p.join() instead of a loop that polls.",
    },
];

pub const FILESERVER_DOCS: &[CheckDoc] = &[
    CheckDoc {
        id: "server-start",
        what: "Starts the server as `server <port> <library-dir>` (a free port, a freshly seeded \
               library, stdin from /dev/null) and waits up to [timing] startup_ms until it \
               listens on that port, as the kernel's socket table shows it. A failure shows the \
               server's output. A server that dies in a later check is started again for the \
               next one, and that check's report says so.",
        why: &[
            "the server crashes at start-up (a syntax error, an exception, the arguments \
             swapped or read with input())",
            "it listens on a fixed port instead of sys.argv[1], or never calls listen()",
            "it exits instead of looping on accept()",
            "the program is not executable (a compiled `server` without `chmod +x`)",
        ],
        fix: "port, lib = int(sys.argv[1]), sys.argv[2]; s = socket.socket(); \
              s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); \
              s.bind((\"127.0.0.1\", port)); s.listen(); then print(f\"listening on \
              127.0.0.1:{port}\", flush=True) and loop on s.accept().",
    },
    CheckDoc {
        id: "list",
        what: "Sends L on a new connection. The reply must be `OK <n>` and n lines naming \
               exactly the seven regular files of the library (hello.txt, binary.bin, \
               empty.txt, large.bin, `my notes.txt`, 报告.txt, concurrent.bin), each once, in \
               any order: not .hidden, not the directory subdir.",
        why: &[
            "os.listdir() output sent unfiltered (hidden files, directories)",
            "`OK` without the count, or a count that differs from the lines sent",
            "names sent on one line, separated by spaces or commas",
            "the current directory listed instead of the library given on the command line",
        ],
        fix: "names = [n for n in os.listdir(lib) if not n.startswith('.') and \
              os.path.isfile(p := os.path.join(lib, n)) and not os.path.islink(p)]; then \
              conn.sendall((f\"OK {len(names)}\\n\" + \"\".join(n + \"\\n\" for n in \
              names)).encode()).",
    },
    CheckDoc {
        id: "get-text",
        what: "Sends `G hello.txt`, a text file of several KiB with Chinese characters (more \
               than 4096 bytes). The reply must be `OK <size>` with the size in bytes, then \
               exactly that many bytes, compared byte for byte as they arrive (a mismatch \
               shows the first differing offset and a hex window), within [timing] op_ms.",
        why: &[
            "the size counted in characters (len of a str) instead of bytes",
            "send() instead of sendall(), so part of the file is never sent",
            "the old protocol: `##` at the end of the file, or sleep() between header and data",
            "the file read in text mode and re-encoded, or a newline added after the data",
        ],
        fix: "Open the file with open(path, 'rb'), take size = os.path.getsize(path), \
              conn.sendall(f\"OK {size}\\n\".encode()), then send the bytes with \
              conn.sendfile(f) or a loop of f.read(65536) and conn.sendall(chunk).",
    },
    CheckDoc {
        id: "get-binary",
        what: "Sends `G binary.bin`: about 8 KiB holding every byte value in both orders, with \
               `##`, `\\n` and `\\r\\n` inside. Every byte must arrive unchanged.",
        why: &[
            "the file decoded as text (UnicodeDecodeError, or replacement characters)",
            "`##` treated as the end of the file",
            "line endings translated or stripped",
        ],
        fix: "Never decode file contents: open(path, 'rb'), count with len(bytes) or \
              os.path.getsize, and send the bytes as they are.",
    },
    CheckDoc {
        id: "get-empty",
        what: "Sends `G empty.txt`. The reply must be `OK 0` and no data.",
        why: &[
            "an empty read taken for an error, so the reply is ERR",
            "`OK` without the size, or the server waits for something before replying",
        ],
        fix: "Send the header f\"OK {size}\\n\" first, whatever the size, then loop over the \
              file's chunks: for an empty file the loop sends nothing.",
    },
    CheckDoc {
        id: "get-large",
        what: "Sends `G large.bin`: [library] large_bytes (16 MiB by default) of pseudo-random \
               binary data, which must arrive byte for byte within [timing] large_ms.",
        why: &[
            "send() of the whole file at once, which sends only part of it",
            "sleep() between chunks, or tiny chunks, so the transfer misses the deadline",
            "the file decoded as text",
        ],
        fix: "Stream it: with open(path, 'rb') as f: conn.sendfile(f), or a loop of \
              f.read(65536) and conn.sendall(chunk), with no sleep.",
    },
    CheckDoc {
        id: "get-names",
        what: "Sends `G my notes.txt` and `G 报告.txt`, each on its own connection: the name is \
               the whole rest of the line after `G `, spaces included, in UTF-8. Both files \
               must arrive byte for byte.",
        why: &[
            "the name taken with line.split()[1], which keeps only `my`",
            "the request decoded as ASCII or Latin-1 instead of UTF-8",
            "the request read with one recv(), which may end inside a character or a line",
        ],
        fix: "Read the request up to b'\\n' (f = conn.makefile('rb'); line = \
              f.readline()), decode it as UTF-8, and split it with cmd, _, name = \
              line.rstrip('\\n').partition(' ').",
    },
    CheckDoc {
        id: "get-missing",
        what: "Sends `G no-such-file.txt`. The reply must be `ERR <reason>`, and then L on the \
               same connection must still be answered.",
        why: &[
            "FileNotFoundError not caught: the handler dies and the connection closes",
            "`OK 0` for a missing file",
            "the connection closed after the error instead of reading the next request",
        ],
        fix: "Check os.path.isfile(path) (and the name rules) before replying, answer \
              conn.sendall(b\"ERR no such file\\n\") otherwise, and go back to reading the \
              next request.",
    },
    CheckDoc {
        id: "put-text",
        what: "Sends `P <size> up-text.txt` for a short UTF-8 text (English and Chinese). The \
               first reply must be `OK` alone; the grader then sends exactly size bytes and \
               waits for the final `OK`. At that moment up-text.txt must be in the library, \
               byte for byte.",
        why: &[
            "the data read with a single recv(4096), or until the connection closes, instead \
             of exactly size bytes",
            "the first reply is `OK <size>`, or the final `OK` is never sent",
            "the final `OK` sent before the file is closed and renamed",
            "data bytes that arrived with the request line lost (one recv() for the line, \
             another reader for the data)",
            "the file stored in the current directory instead of the library",
        ],
        fix: "Use one buffered reader for lines and data (f = conn.makefile('rb')); after \
              sending b\"OK\\n\" read exactly size bytes in a loop of f.read(min(65536, left)) \
              into a hidden temporary file opened 'wb' in the library; close it, \
              os.replace(tmp, final), and only then send b\"OK\\n\".",
    },
    CheckDoc {
        id: "put-binary",
        what: "Uploads up-binary.bin: about 8 KiB of every byte value with `##`, `\\n` and \
               `\\r\\n` inside. The stored file must equal it byte for byte.",
        why: &[
            "the data decoded to str, or the file opened in text mode",
            "`##` or a newline treated as the end of the data",
        ],
        fix: "Keep uploads as bytes from the socket to a file opened with 'wb'; count bytes, \
              never look at their values.",
    },
    CheckDoc {
        id: "put-empty",
        what: "Sends `P 0 up-empty.txt`: no data follows. The server must create the empty \
               file and send the final `OK`.",
        why: &[
            "the server waits on recv() for data that never comes (the grader times out)",
            "size 0 refused, or no file created because nothing was received",
        ],
        fix: "Loop while left > 0 only, so a size of 0 reads nothing; create, close and \
              rename the file in every case, then reply OK.",
    },
    CheckDoc {
        id: "put-large",
        what: "Uploads up-large.bin: [library] large_bytes (16 MiB by default) of pseudo-random \
               data, to be stored byte for byte within [timing] large_ms.",
        why: &[
            "a single recv() taken for the whole upload",
            "the file closed (or reopened with 'wb') inside the receive loop, keeping only \
             one chunk",
            "data collected with data += chunk, slow for many MiB, or sleep() in the loop",
        ],
        fix: "Open the temporary file once before the loop, write each chunk as it arrives \
              (f.read(min(65536, left)) from the buffered reader), close it after the loop.",
    },
    CheckDoc {
        id: "put-replace",
        what: "Uploads new content (22 bytes) under hello.txt, which exists and is longer. \
               After the final `OK` the file must hold exactly the new content.",
        why: &[
            "an existing name refused",
            "the file opened with 'ab' or 'r+b', so the old content is kept or its tail \
             remains",
            "the upload stored under another name (hello(1).txt)",
        ],
        fix: "Write the upload to a temporary file and os.replace(tmp, final): rename \
              replaces an existing file atomically.",
    },
    CheckDoc {
        id: "traversal",
        what: "Each on a new connection, sends G for ../secret.txt, /etc/passwd, .hidden, \
               subdir, subdir/inner.txt, . and .., and P 6 for ../escaped.txt, an absolute \
               path outside the library, .sneaky, subdir/planted.txt and ..; every one must \
               be refused with ERR. Afterwards no file may exist at ../escaped.txt, at the \
               absolute path, at .sneaky or at subdir/planted.txt, and the secret file next to \
               the library must be unchanged and never sent.",
        why: &[
            "os.path.join(lib, name) without checks: `..` climbs out, and an absolute name \
             replaces the library path entirely",
            "only a leading `..` refused, so `/etc/passwd` or `subdir/inner.txt` gets through",
            "names cleaned silently with os.path.basename and accepted, instead of refused",
            "a directory served or opened, so the handler crashes (IsADirectoryError)",
        ],
        fix: "Refuse a name that is empty, contains '/' or '\\0', or starts with '.' (which \
              covers . and ..); for G also require os.path.isfile(p) and not \
              os.path.islink(p) with p = os.path.join(lib, name). Reply ERR and keep the \
              connection.",
    },
    CheckDoc {
        id: "concurrent",
        what: "One client sends `P 1000 stalled.bin` and 10 data bytes, then nothing. Meanwhile \
               [library] concurrent_clients clients (8 by default) connect at once and \
               alternately download concurrent.bin and upload [library] concurrent_bytes \
               (1 MiB) files concurrent-up-<i>.bin; all must finish byte for byte within \
               [timing] concurrent_ms. Then the stalled client disconnects: the server must \
               close its side of that connection within [timing] op_ms and leave no \
               stalled.bin.",
        why: &[
            "one client served at a time (accept, handle, accept), so the stalled upload \
             blocks everyone",
            "a lock held for a whole transfer, or a pool of fewer workers than clients",
            "one fixed temporary name shared by all uploads, so they overwrite each other",
            "recv() returning b'' not taken for the end of the client, so its connection \
             never closes",
        ],
        fix: "Serve each connection in its own thread (threading.Thread(target=handle, \
              args=(conn,), daemon=True).start()) or forked process; give each upload its own \
              temporary file (tempfile.mkstemp(dir=lib, prefix='.upload-')); when recv() \
              returns b'' close the connection and delete the temporary file.",
    },
    CheckDoc {
        id: "disconnect",
        what: "Sends `P 1000000 cut.bin`, only 100000 bytes of data, and disconnects: the \
               server must close its side within [timing] op_ms and leave neither cut.bin nor \
               any hidden temporary file in the library. Then it downloads large.bin, reads \
               64 KiB and disconnects while the server is still sending. The server must keep \
               running and answer L on a new connection.",
        why: &[
            "the receive loop ignores recv() returning b'' and spins forever",
            "the partial upload written straight to the final name, or renamed in a \
             `finally` whatever happened",
            "the temporary file of an aborted upload never deleted",
            "BrokenPipeError or ConnectionResetError not caught, killing the server (a \
             compiled server killed by SIGPIPE)",
        ],
        fix: "In the receive loop, if not chunk: raise ConnectionError. Wrap each handler in \
              try/except OSError (BrokenPipeError and ConnectionResetError are OSErrors) and, \
              in finally, close the connection and os.unlink the temporary file if the upload \
              did not complete. A compiled server ignores SIGPIPE.",
    },
    CheckDoc {
        id: "quit",
        what: "Sends Q: the server must close that connection (the grader reads the end of \
               the stream) within [timing] op_ms; then L on a new connection must be answered.",
        why: &[
            "Q answered with ERR and the connection kept open",
            "the whole server exits on Q (sys.exit in the handler, a break out of the accept \
             loop)",
            "a forked child returns into the accept loop instead of exiting",
        ],
        fix: "On Q close the socket and return from that connection's handler (a forked \
              child ends with os._exit(0)); the accept loop goes on.",
    },
    CheckDoc {
        id: "cleanup",
        what: "After all the other server checks, waits up to [timing] exit_ms until the server \
               has no zombie child, then sends it SIGTERM: it must exit with status 0 within \
               [timing] exit_ms.",
        why: &[
            "a child forked per connection and never reaped (zombies)",
            "no SIGTERM handler: Python dies of the signal, which is not status 0",
            "non-daemon threads or unreaped children keep the server from exiting",
            "the handler exits with a non-zero status or a traceback",
        ],
        fix: "With fork, reap in a SIGCHLD handler: while True: pid, _ = os.waitpid(-1, \
              os.WNOHANG); if pid <= 0: break (catch ChildProcessError). Install \
              signal.signal(signal.SIGTERM, lambda *a: sys.exit(0)) and the same for SIGINT; \
              use daemon threads, or end and reap the children before exiting.",
    },
    CheckDoc {
        id: "client-list",
        what: "Starts the client as `client 127.0.0.1 <port>` in a pseudo-terminal against the \
               grader's reference server and waits for its prompt (ending in [client] \
               prompt_ends_with, `>` by default) with the client waiting for input. Then types \
               `list`: every file name of the reference library must be printed before the \
               client prompts again and waits for input, within [timing] op_ms.",
        why: &[
            "the raw header (`OK 7`) printed instead of the names",
            "the reply read with one recv(), so names are missing",
            "the prompt printed without flush, or not printed again after the command",
        ],
        fix: "Read the header line, then exactly n name lines from a buffered reader \
              (f = sock.makefile('rb')) and print them; prompt with input('ftp> ') or \
              print('ftp> ', end='', flush=True).",
    },
    CheckDoc {
        id: "client-get",
        what: "Types `get hello.txt` (a text file of several KiB, more than 4096 bytes). The \
               client must save hello.txt in its current directory, byte for byte, then \
               prompt again and wait for input.",
        why: &[
            "the file read with a single recv(4096), so only its start is saved",
            "the header line saved into the file, or the data decoded and re-encoded",
            "bytes after the announced size left unread or read too far, upsetting the next \
             reply",
        ],
        fix: "Parse `OK <size>`, then read exactly size bytes in a loop of \
              f.read(min(65536, left)) from the buffered reader into a temporary file opened \
              'wb', and rename it to the name when complete.",
    },
    CheckDoc {
        id: "client-get-binary",
        what: "Types `get binary.bin` (about 8 KiB of every byte value with `##` and \
               `\\r\\n` inside); the saved file must equal it byte for byte.",
        why: &[
            "the data decoded as text, or written in text mode",
            "`##` treated as the end of the file",
        ],
        fix: "Keep the data as bytes and write it to a file opened with 'wb'.",
    },
    CheckDoc {
        id: "client-put",
        what: "Creates local-up.txt (UTF-8 text) in the client's directory and types \
               `put local-up.txt`; the reference server's library must then hold it byte for \
               byte, and the client must prompt again and wait for input.",
        why: &[
            "the data sent before the server's first `OK`",
            "the size counted in characters instead of bytes",
            "send() instead of sendall(), or the final `OK` never read",
            "the whole path sent as the name instead of its base name",
        ],
        fix: "size = os.path.getsize(path); send f\"P {size} {os.path.basename(path)}\\n\"; \
              read the reply; on OK send the file with sock.sendall (or sock.sendfile) opened \
              'rb', then read and report the final reply.",
    },
    CheckDoc {
        id: "client-put-binary",
        what: "Creates local-up.bin (about 8 KiB of every byte value) and types \
               `put local-up.bin`; the server's copy must equal it byte for byte.",
        why: &["the local file opened in text mode, or its bytes decoded"],
        fix: "Open the local file with 'rb' and send its bytes unchanged.",
    },
    CheckDoc {
        id: "client-get-missing",
        what: "Types `get no-such-file.txt`. The output must contain the reference server's \
               reason from its `ERR` reply, no local file no-such-file.txt may be created, and \
               the client must prompt again and wait for input.",
        why: &[
            "the local file opened before the reply is known, leaving an empty file",
            "a generic message without the server's reason",
            "the client crashes parsing `ERR …` as `OK <size>`",
        ],
        fix: "Read the header first; on ERR print f\"error: {reason}\" and go back to the \
              prompt; create the (temporary) local file only after `OK <size>`.",
    },
    CheckDoc {
        id: "client-quit",
        what: "Types `quit`: the client must exit with status 0 within [timing] exit_ms.",
        why: &[
            "quit not recognised, so the client prompts again",
            "the client exits with a non-zero status or a traceback (e.g. waiting for a reply \
             to Q, or an error on closing)",
        ],
        fix: "On quit send b\"Q\\n\", close the socket and sys.exit(0) (or return from \
              main); treat EOF on input (input() raising EOFError) the same way.",
    },
];

/// The configs the catalog shows: the shipped ones, except the one `config` replaces. A
/// fileserver config is told from a bus config by its `[client]` table.
fn configs(config: Option<&Path>) -> Result<(BusConfig, FileserverConfig), String> {
    let Some(p) = config else {
        return Ok((
            BusConfig::shipped().map_err(|e| e.to_string())?,
            FileserverConfig::shipped().map_err(|e| e.to_string())?,
        ));
    };
    let text = crate::config::read_file(p).map_err(|e| e.to_string())?;
    let name = p.display().to_string();
    let is_fileserver = toml::from_str::<toml::Table>(&text)
        .map(|t| t.contains_key("client"))
        .unwrap_or(false);
    // The file is laid over the shipped config, as `grade --config` does.
    let layered =
        |shipped: &str| crate::config::layered(shipped, &text, &name).map_err(|e| e.to_string());
    if is_fileserver {
        let merged = layered(crate::config::fileserver::DEFAULT_TOML)?;
        Ok((
            BusConfig::shipped().map_err(|e| e.to_string())?,
            FileserverConfig::from_toml(&merged, &name).map_err(|e| e.to_string())?,
        ))
    } else {
        let merged = layered(crate::config::bus::DEFAULT_TOML)?;
        Ok((
            BusConfig::from_toml(&merged, &name).map_err(|e| e.to_string())?,
            FileserverConfig::shipped().map_err(|e| e.to_string())?,
        ))
    }
}

/// The exercises, with the points of `config` (a bus or a fileserver config) or the shipped
/// configs.
pub fn exercises(config: Option<&Path>) -> Result<Vec<ExerciseDoc>, String> {
    let (bus, fs) = configs(config)?;
    Ok(vec![
        ExerciseDoc {
            name: "bus",
            title: bus.exercise.title.clone(),
            graded: true,
            checks: BUS_CHECKS
                .iter()
                .map(|(id, title)| (*id, *title, bus.checks.of(id)))
                .collect(),
            docs: BUS_DOCS,
        },
        ExerciseDoc {
            name: "fileserver",
            title: fs.exercise.title.clone(),
            graded: true,
            checks: FILESERVER_CHECKS
                .iter()
                .map(|(id, title)| (*id, *title, fs.points(id)))
                .collect(),
            docs: FILESERVER_DOCS,
        },
    ])
}

/// `harness list`.
pub fn list(config: Option<&Path>) -> Result<String, String> {
    let mut out = String::new();
    for e in exercises(config)? {
        if !e.graded {
            let _ = writeln!(out, "{}: {} (grader not built yet)\n", e.name, e.title);
            continue;
        }
        let total: u32 = e.checks.iter().map(|c| c.2).sum();
        let _ = writeln!(out, "{}: {} ({total} points)", e.name, e.title);
        let w = e.checks.iter().map(|c| c.0.len()).max().unwrap_or(0);
        for (id, title, points) in &e.checks {
            let points = if *points == 0 {
                "warn".to_string()
            } else {
                points.to_string()
            };
            let _ = writeln!(out, "  {id:<w$}  {points:>4}  {title}");
        }
        out.push('\n');
    }
    out.push_str(
        "`harness explain CHECK` tells what a check does, why it fails and how to fix it.\n",
    );
    Ok(out)
}

/// `harness explain CHECK` (`ctrl-z` or `bus:ctrl-z`). An id two exercises share
/// (`cleanup`) explains both, unless the exercise is named (`fileserver:cleanup`).
pub fn explain(check: &str, config: Option<&Path>) -> Result<String, String> {
    let (exercise, id) = match check.split_once(':') {
        Some((e, i)) => (Some(e), i),
        None => (None, check),
    };
    let all = exercises(config)?;
    let mut out = String::new();
    for e in all
        .iter()
        .filter(|e| exercise.filter(|x| *x != e.name).is_none())
    {
        let Some((_, title, points)) = e.checks.iter().find(|c| c.0 == id) else {
            continue;
        };
        let Some(doc) = e.docs.iter().find(|d| d.id == id) else {
            continue;
        };
        let worth = if *points == 0 {
            "a warning, worth no points".to_string()
        } else {
            format!("{points} points")
        };
        if !out.is_empty() {
            out.push('\n');
        }
        let _ = writeln!(out, "{}:{id} — {title} ({worth})\n", e.name);
        let _ = writeln!(out, "What it does:\n  {}\n", doc.what);
        out.push_str("Why a submission fails it:\n");
        for w in doc.why {
            let _ = writeln!(out, "  - {w}");
        }
        let _ = writeln!(out, "\nHow to fix it:\n  {}", doc.fix);
    }
    if out.is_empty() {
        let known: Vec<String> = all
            .iter()
            .flat_map(|e| e.checks.iter().map(|c| c.0.to_string()))
            .collect();
        return Err(format!(
            "unknown check `{check}` (known: {})",
            known.join(", ")
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bus_check_is_explained_and_nothing_else() {
        let ids: Vec<&str> = BUS_CHECKS.iter().map(|c| c.0).collect();
        let docs: Vec<&str> = BUS_DOCS.iter().map(|d| d.id).collect();
        assert_eq!(ids, docs);
    }

    #[test]
    fn every_bus_check_is_in_the_students_readme() {
        let readme = include_str!("../../exercises/bus/README.md");
        for (id, _) in BUS_CHECKS {
            assert!(
                readme.contains(&format!("| `{id}` |")),
                "{id} not in README"
            );
        }
    }

    #[test]
    fn every_fileserver_check_is_explained_and_nothing_else() {
        let ids: Vec<&str> = FILESERVER_CHECKS.iter().map(|c| c.0).collect();
        let docs: Vec<&str> = FILESERVER_DOCS.iter().map(|d| d.id).collect();
        assert_eq!(ids, docs);
        for d in FILESERVER_DOCS {
            assert!(
                !d.what.is_empty() && !d.why.is_empty() && !d.fix.is_empty(),
                "{}",
                d.id
            );
        }
    }

    #[test]
    fn every_fileserver_check_is_in_the_students_readme() {
        let readme = include_str!("../../exercises/fileserver/README.md");
        for (id, _) in FILESERVER_CHECKS {
            assert!(
                readme.contains(&format!("| `{id}` |")),
                "{id} not in README"
            );
        }
    }

    #[test]
    fn list_shows_both_exercises_with_their_points() {
        let out = list(None).unwrap();
        let fs = FileserverConfig::shipped().unwrap();
        let total: u32 = FILESERVER_CHECKS.iter().map(|(id, _)| fs.points(id)).sum();
        assert!(
            out.contains(&format!(
                "fileserver: {} ({total} points)",
                fs.exercise.title
            )),
            "{out}"
        );
        assert!(!out.contains("not built"), "{out}");
        for (id, _) in FILESERVER_CHECKS {
            assert!(out.contains(&format!("  {id} ")), "{id} not listed");
        }
    }

    #[test]
    fn explain_finds_fileserver_checks() {
        let c = explain("fileserver:concurrent", None).unwrap();
        assert!(c.starts_with("fileserver:concurrent — "), "{c}");
        assert!(c.contains("(8 points)") && c.contains("stalled.bin"), "{c}");
        let q = explain("client-quit", None).unwrap();
        assert!(q.starts_with("fileserver:client-quit — "), "{q}");
        assert!(!q.contains("bus:"), "{q}");
        let t = explain("fileserver:traversal", None).unwrap();
        assert!(t.contains("../secret.txt"), "{t}");
        assert!(explain("bus:concurrent", None).is_err());
    }

    #[test]
    fn a_shared_id_explains_both_unless_the_exercise_is_named() {
        let both = explain("cleanup", None).unwrap();
        assert!(
            both.contains("bus:cleanup — ") && both.contains("fileserver:cleanup — "),
            "{both}"
        );
        let one = explain("fileserver:cleanup", None).unwrap();
        assert!(!one.contains("bus:cleanup"), "{one}");
    }

    #[test]
    fn a_fileserver_config_sets_the_fileserver_points() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("fs.toml");
        let text =
            crate::config::fileserver::DEFAULT_TOML.replace("traversal = 8", "traversal = 0");
        std::fs::write(&p, text).unwrap();
        let out = explain("traversal", Some(&p)).unwrap();
        assert!(out.contains("worth no points"), "{out}");
        // The bus keeps its shipped points.
        let bus = explain("bus:ctrl-z", Some(&p)).unwrap();
        assert!(bus.contains("points)"), "{bus}");
    }

    #[test]
    fn explain_accepts_both_spellings_and_rejects_unknown() {
        assert!(explain("ctrl-z", None).unwrap().contains("bus:ctrl-z"));
        assert!(explain("bus:idle", None)
            .unwrap()
            .contains("worth no points"));
        let err = explain("nope", None).unwrap_err();
        assert!(
            err.contains("unknown check") && err.contains("exit-order"),
            "{err}"
        );
    }
}
