//! The server checks' declarations, in report order (see `grading::CheckDoc`): all on one
//! library and, while it lives, one server.

use crate::grading::{Check, CheckDoc};

use super::{concurrent, download, lifecycle, robustness, traversal, upload, Ctx};

/// The server checks in report order, each declared once.
pub fn table<'a>() -> [Check<Ctx<'a>>; 18] {
    [
        Check {
            doc: CheckDoc {
                id: "server-start",
                title: "the server starts and listens on the given port",
                what: "Starts the server with the arguments of [server] args (by default `server <port> \
                       <library-dir>`: a free port, a freshly seeded library, or the library placed at \
                       the course's path of [server] library; stdin from /dev/null) and waits up to \
                       [timing] startup_ms until it, or a process it started, listens on a TCP port \
                       (0.0.0.0, 127.0.0.1 or ::) in the grading's own network namespace, as the \
                       kernel's socket table shows it; nothing connects before. That port is graded. \
                       It must be the port given, when one is given, and the server must print [server] \
                       ready_line (`listening on 127.0.0.1:<port>` by default) before it goes quiet; \
                       either fault fails this check only, and every other check goes on. A server \
                       that does not listen skips every other server check. A failure shows the \
                       server's output. A server that dies in a later check is started again for the \
                       next one, and that check's report says so. Every server check speaks the \
                       protocol of [server] dialect: the exact one described here by default, or a \
                       course's legacy dialect (its own command words, pauses between messages, `##` \
                       end markers; see the README), in which a check the dialect lists under \
                       not_in_protocol is skipped as not part of this protocol and worth nothing, \
                       and put-replace expects a refusal where the dialect refuses replacing.",
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
                needs: &[],
                unmet: "",
            },
            judge: lifecycle::server_start,
        },
        Check {
            doc: CheckDoc {
                id: "list",
                title: "L lists the regular, non-hidden files",
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
                needs: &[],
                unmet: "",
            },
            judge: download::list,
        },
        Check {
            doc: CheckDoc {
                id: "get-text",
                title: "G of a text file, byte for byte",
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
                needs: &[],
                unmet: "",
            },
            judge: download::get_text,
        },
        Check {
            doc: CheckDoc {
                id: "get-binary",
                title: "G of a file holding every byte value and ## sequences",
                what: "Sends `G binary.bin`: about 8 KiB holding every byte value in both orders, with \
                       `##`, `\\n` and `\\r\\n` inside. Every byte must arrive unchanged.",
                why: &[
                    "the file decoded as text (UnicodeDecodeError, or replacement characters)",
                    "`##` treated as the end of the file",
                    "line endings translated or stripped",
                ],
                fix: "Never decode file contents: open(path, 'rb'), count with len(bytes) or \
                      os.path.getsize, and send the bytes as they are.",
                needs: &[],
                unmet: "",
            },
            judge: download::get_binary,
        },
        Check {
            doc: CheckDoc {
                id: "get-empty",
                title: "G of an empty file",
                what: "Sends `G empty.txt`. The reply must be `OK 0` and no data.",
                why: &[
                    "an empty read taken for an error, so the reply is ERR",
                    "`OK` without the size, or the server waits for something before replying",
                ],
                fix: "Send the header f\"OK {size}\\n\" first, whatever the size, then loop over the \
                      file's chunks: for an empty file the loop sends nothing.",
                needs: &[],
                unmet: "",
            },
            judge: download::get_empty,
        },
        Check {
            doc: CheckDoc {
                id: "get-large",
                title: "G of a large file",
                what: "Sends `G large.bin`: [library] large_bytes (16 MiB by default) of pseudo-random \
                       binary data, which must arrive byte for byte within [timing] large_ms.",
                why: &[
                    "send() of the whole file at once, which sends only part of it",
                    "sleep() between chunks, or tiny chunks, so the transfer misses the deadline",
                    "the file decoded as text",
                ],
                fix: "Stream it: with open(path, 'rb') as f: conn.sendfile(f), or a loop of \
                      f.read(65536) and conn.sendall(chunk), with no sleep.",
                needs: &[],
                unmet: "",
            },
            judge: download::get_large,
        },
        Check {
            doc: CheckDoc {
                id: "get-names",
                title: "G of names with spaces and Chinese characters",
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
                needs: &[],
                unmet: "",
            },
            judge: download::get_names,
        },
        Check {
            doc: CheckDoc {
                id: "get-missing",
                title: "G of a missing file: ERR, connection still usable",
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
                needs: &[],
                unmet: "",
            },
            judge: download::get_missing,
        },
        Check {
            doc: CheckDoc {
                id: "put-text",
                title: "P of a text file, stored byte for byte",
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
                needs: &[],
                unmet: "",
            },
            judge: upload::put_text,
        },
        Check {
            doc: CheckDoc {
                id: "put-binary",
                title: "P of a binary file",
                what: "Uploads up-binary.bin: about 8 KiB of every byte value with `##`, `\\n` and \
                       `\\r\\n` inside. The stored file must equal it byte for byte.",
                why: &[
                    "the data decoded to str, or the file opened in text mode",
                    "`##` or a newline treated as the end of the data",
                ],
                fix: "Keep uploads as bytes from the socket to a file opened with 'wb'; count bytes, \
                      never look at their values.",
                needs: &[],
                unmet: "",
            },
            judge: upload::put_binary,
        },
        Check {
            doc: CheckDoc {
                id: "put-empty",
                title: "P of an empty file",
                what: "Sends `P 0 up-empty.txt`: no data follows. The server must create the empty \
                       file and send the final `OK`.",
                why: &[
                    "the server waits on recv() for data that never comes (the grader times out)",
                    "size 0 refused, or no file created because nothing was received",
                ],
                fix: "Loop while left > 0 only, so a size of 0 reads nothing; create, close and \
                      rename the file in every case, then reply OK.",
                needs: &[],
                unmet: "",
            },
            judge: upload::put_empty,
        },
        Check {
            doc: CheckDoc {
                id: "put-large",
                title: "P of a large file",
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
                needs: &[],
                unmet: "",
            },
            judge: upload::put_large,
        },
        Check {
            doc: CheckDoc {
                id: "put-replace",
                title: "P of an existing name replaces it",
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
                needs: &[],
                unmet: "",
            },
            judge: upload::put_replace,
        },
        Check {
            doc: CheckDoc {
                id: "traversal",
                title: "names leading outside the library are refused",
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
                needs: &[],
                unmet: "",
            },
            judge: traversal::traversal,
        },
        Check {
            doc: CheckDoc {
                id: "concurrent",
                title: "clients transfer at once while one is stalled",
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
                needs: &[],
                unmet: "",
            },
            judge: concurrent::concurrent,
        },
        Check {
            doc: CheckDoc {
                id: "disconnect",
                title: "a client vanishing mid-transfer leaves no partial file",
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
                needs: &[],
                unmet: "",
            },
            judge: robustness::disconnect,
        },
        Check {
            doc: CheckDoc {
                id: "quit",
                title: "Q closes the connection, the server goes on",
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
                needs: &[],
                unmet: "",
            },
            judge: robustness::quit,
        },
        Check {
            doc: CheckDoc {
                id: "cleanup",
                title: "no zombie children; exits on SIGTERM",
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
                needs: &[],
                unmet: "",
            },
            judge: lifecycle::cleanup,
        },
    ]
}
