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
                what: "Starts the server with the arguments of [server] args (by default `server \
                       <port> <library-dir>`: a free port, a freshly seeded library, or the \
                       library placed at the course's path of [server] library; stdin from \
                       /dev/null) and waits up to [timing] startup_ms until it, or a process it \
                       started, listens on a TCP port (0.0.0.0, 127.0.0.1 or ::) in the \
                       grading's own network namespace, as the kernel's socket table shows it; \
                       nothing connects before. That port is graded. It must be the port given, \
                       when one is given, and the server must print [server] ready_line \
                       (`listening on 127.0.0.1:<port>` by default) before it goes quiet; either \
                       fault fails this check only, and every other check goes on. A server that \
                       does not listen skips every other server check. A failure shows the \
                       server's output. A server that dies in a later check is started again for \
                       the next one, and that check's report says so. Every server check speaks \
                       the protocol of [server] dialect: the exact one described here by \
                       default, or a course's legacy dialect (its own command words, pauses \
                       between messages, `##` end markers; see the README), in which a check the \
                       dialect lists under not_in_protocol is skipped as not part of this \
                       protocol and worth nothing, and put-replace expects a refusal where the \
                       dialect refuses replacing.",
                why: &[
                    "the server crashes at start-up (a syntax error, an exception, the arguments \
                     swapped or read from standard input)",
                    "it listens on a fixed port instead of the one given on the command line, or \
                     never calls listen()",
                    "it exits instead of looping on accept()",
                    "the program is not executable (a compiled `server` without `chmod +x`)",
                ],
                fix: "Read the port (and the library) from the command line, create a TCP socket \
                      with SO_REUSEADDR, bind 127.0.0.1 (or 0.0.0.0) on that port, listen, print \
                      the ready line and flush it at once, then loop on accept(). Python: port, \
                      lib = int(sys.argv[1]), sys.argv[2]; print(..., flush=True). C: \
                      atoi(argv[1]); setsockopt, bind, listen; printf then fflush(stdout).",
                needs: &[],
                unmet: "",
            },
            judge: lifecycle::server_start,
        },
        Check {
            doc: CheckDoc {
                id: "list",
                title: "L lists the regular, non-hidden files",
                what: "Sends L on a new connection. The reply must be `OK <n>` and n lines \
                       naming exactly the seven regular files of the library (hello.txt, \
                       binary.bin, empty.txt, large.bin, `my notes.txt`, 报告.txt, \
                       concurrent.bin), each once, in any order: not .hidden, not the directory \
                       subdir.",
                why: &[
                    "the directory listing sent unfiltered (hidden files, directories)",
                    "`OK` without the count, or a count that differs from the lines sent",
                    "names sent on one line, separated by spaces or commas",
                    "the current directory listed instead of the library given on the command line",
                ],
                fix: "List the library directory (os.listdir in Python, opendir/readdir in C), \
                      keep only regular files whose names do not start with '.' (os.path.isfile \
                      and not os.path.islink in Python; lstat and S_ISREG in C), and send `OK \
                      <n>\\n` and then one name per line, counted and sent as bytes.",
                needs: &[],
                unmet: "",
            },
            judge: download::list,
        },
        Check {
            doc: CheckDoc {
                id: "get-text",
                title: "G of a text file, byte for byte",
                what: "Sends `G hello.txt`, a text file of several KiB with Chinese characters \
                       (more than 4096 bytes). The reply must be `OK <size>` with the size in \
                       bytes, then exactly that many bytes, compared byte for byte as they \
                       arrive (a mismatch shows the first differing offset and a hex window), \
                       within [timing] op_ms.",
                why: &[
                    "the size counted in characters (len() of a decoded str in Python) instead \
                     of bytes",
                    "one send() whose return is not checked (Python: send() instead of \
                     sendall()), so part of the file is never sent",
                    "the old protocol: `##` at the end of the file, or sleep() between header \
                     and data",
                    "the file read in text mode and re-encoded, or a newline added after the data",
                ],
                fix: "Open the file in binary mode, take its size in bytes from the filesystem \
                      (os.path.getsize in Python, stat() in C), send `OK <size>\\n`, then send \
                      all of its bytes: a loop of read and send that sends every chunk whole \
                      (sendall() in Python, a loop of send() until each chunk is gone in C, or \
                      sendfile()).",
                needs: &[],
                unmet: "",
            },
            judge: download::get_text,
        },
        Check {
            doc: CheckDoc {
                id: "get-binary",
                title: "G of a file holding every byte value and ## sequences",
                what: "Sends `G binary.bin`: about 8 KiB holding every byte value in both \
                       orders, with `##`, `\\n` and `\\r\\n` inside. Every byte must arrive \
                       unchanged.",
                why: &[
                    "the file decoded as text (a decoding error, or replacement characters)",
                    "`##` treated as the end of the file",
                    "line endings translated or stripped",
                ],
                fix: "Never decode file contents: read the file in binary mode (open(path, \
                      'rb'); fopen(path, \"rb\") or open() in C), count its bytes, and send them \
                      as they are.",
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
                fix: "Send the header `OK <size>\\n` first, whatever the size, then loop over \
                      the file's chunks: for an empty file the loop sends nothing.",
                needs: &[],
                unmet: "",
            },
            judge: download::get_empty,
        },
        Check {
            doc: CheckDoc {
                id: "get-large",
                title: "G of a large file",
                what: "Sends `G large.bin`: [library] large_bytes (16 MiB by default) of \
                       pseudo-random binary data, which must arrive byte for byte within \
                       [timing] large_ms.",
                why: &[
                    "send() of the whole file at once, which sends only part of it",
                    "sleep() between chunks, or tiny chunks, so the transfer misses the deadline",
                    "the file decoded as text",
                ],
                fix: "Stream the file in chunks of 64 KiB, each sent whole (sendall() in Python, \
                      a loop of send() in C), or with sendfile(); no sleep between them.",
                needs: &[],
                unmet: "",
            },
            judge: download::get_large,
        },
        Check {
            doc: CheckDoc {
                id: "get-names",
                title: "G of names with spaces and Chinese characters",
                what: "Sends `G my notes.txt` and `G 报告.txt`, each on its own connection: the \
                       name is the whole rest of the line after `G `, spaces included, in UTF-8. \
                       Both files must arrive byte for byte.",
                why: &[
                    "the name taken as the second word of the line (line.split()[1], sscanf with \
                     %s), which keeps only `my`",
                    "the request decoded as ASCII or Latin-1 instead of UTF-8",
                    "the request read with one recv(), which may end inside a character or a line",
                ],
                fix: "Read the request up to its `\\n` through one buffered reader \
                      (conn.makefile('rb') in Python; your own buffer that keeps what follows \
                      the line in C), decode it as UTF-8, and take the name as everything after \
                      the first space.",
                needs: &[],
                unmet: "",
            },
            judge: download::get_names,
        },
        Check {
            doc: CheckDoc {
                id: "get-missing",
                title: "G of a missing file: ERR, connection still usable",
                what: "Sends `G no-such-file.txt`. The reply must be `ERR <reason>`, and then L \
                       on the same connection must still be answered.",
                why: &[
                    "the failed open not handled (FileNotFoundError in Python, a NULL FILE * in \
                     C): the handler dies and the connection closes",
                    "`OK 0` for a missing file",
                    "the connection closed after the error instead of reading the next request",
                ],
                fix: "Check the name (the rules of traversal) and that the file exists as a \
                      regular file before replying; otherwise answer `ERR <reason>\\n` and go \
                      back to reading the next request on the same connection (catch the error \
                      in Python; check the return of open() in C).",
                needs: &[],
                unmet: "",
            },
            judge: download::get_missing,
        },
        Check {
            doc: CheckDoc {
                id: "put-text",
                title: "P of a text file, stored byte for byte",
                what: "Sends `P <size> up-text.txt` for a short UTF-8 text (English and \
                       Chinese). The first reply must be `OK` alone; the grader then sends \
                       exactly size bytes and waits for the final `OK`. At that moment \
                       up-text.txt must be in the library, byte for byte.",
                why: &[
                    "the data read with a single recv(4096), or until the connection closes, \
                     instead of exactly size bytes",
                    "the first reply is `OK <size>`, or the final `OK` is never sent",
                    "the final `OK` sent before the file is closed and renamed",
                    "data bytes that arrived with the request line lost (one recv() for the \
                     line, another reader for the data)",
                    "the file stored in the current directory instead of the library",
                ],
                fix: "Use one buffered reader for lines and data; after sending `OK\\n`, read \
                      exactly size bytes in a loop (never more than what is left) into a hidden \
                      temporary file in the library, opened for binary writing; close it, rename \
                      it to the final name (os.replace in Python, rename() in C), and only then \
                      send `OK\\n`.",
                needs: &[],
                unmet: "",
            },
            judge: upload::put_text,
        },
        Check {
            doc: CheckDoc {
                id: "put-binary",
                title: "P of a binary file",
                what: "Uploads up-binary.bin: about 8 KiB of every byte value with `##`, `\\n` \
                       and `\\r\\n` inside. The stored file must equal it byte for byte.",
                why: &[
                    "the data decoded to str, or the file opened in text mode",
                    "`##` or a newline treated as the end of the data",
                ],
                fix: "Keep uploads as bytes from the socket to a file opened for binary writing \
                      ('wb' in Python and in fopen); count bytes, never look at their values.",
                needs: &[],
                unmet: "",
            },
            judge: upload::put_binary,
        },
        Check {
            doc: CheckDoc {
                id: "put-empty",
                title: "P of an empty file",
                what: "Sends `P 0 up-empty.txt`: no data follows. The server must create the \
                       empty file and send the final `OK`.",
                why: &[
                    "the server waits on recv() for data that never comes (the grader times out)",
                    "size 0 refused, or no file created because nothing was received",
                ],
                fix: "Loop while bytes are left only, so a size of 0 reads nothing; create, \
                      close and rename the file in every case, then reply OK.",
                needs: &[],
                unmet: "",
            },
            judge: upload::put_empty,
        },
        Check {
            doc: CheckDoc {
                id: "put-large",
                title: "P of a large file",
                what: "Uploads up-large.bin: [library] large_bytes (16 MiB by default) of \
                       pseudo-random data, to be stored byte for byte within [timing] \
                       large_ms.",
                why: &[
                    "a single recv() taken for the whole upload",
                    "the file closed (or reopened with 'wb') inside the receive loop, keeping \
                     only one chunk",
                    "the data collected in memory (data += chunk), slow for many MiB, or sleep() \
                     in the loop",
                ],
                fix: "Open the temporary file once before the loop, write each chunk as it \
                      arrives (at most 64 KiB, never more than is left), close it after the \
                      loop.",
                needs: &[],
                unmet: "",
            },
            judge: upload::put_large,
        },
        Check {
            doc: CheckDoc {
                id: "put-replace",
                title: "P of an existing name replaces it",
                what: "Uploads new content (22 bytes) under hello.txt, which exists and is \
                       longer. After the final `OK` the file must hold exactly the new \
                       content.",
                why: &[
                    "an existing name refused",
                    "the file opened with 'ab' or 'r+b', so the old content is kept or its tail \
                     remains",
                    "the upload stored under another name (hello(1).txt)",
                ],
                fix: "Write the upload to a temporary file and rename it over the final name \
                      (os.replace in Python, rename() in C): a rename replaces an existing file \
                      atomically.",
                needs: &[],
                unmet: "",
            },
            judge: upload::put_replace,
        },
        Check {
            doc: CheckDoc {
                id: "traversal",
                title: "names leading outside the library are refused",
                what: "Each on a new connection, sends G for ../secret.txt, /etc/passwd, \
                       .hidden, subdir, subdir/inner.txt, . and .., and P 6 for ../escaped.txt, \
                       an absolute path outside the library, .sneaky, subdir/planted.txt and ..; \
                       every one must be refused with ERR. Afterwards no file may exist at \
                       ../escaped.txt, at the absolute path, at .sneaky or at \
                       subdir/planted.txt, and the secret file next to the library must be \
                       unchanged and never sent.",
                why: &[
                    "the name joined to the library path without checks: `..` climbs out, and an \
                     absolute name replaces the library path (os.path.join) or escapes it",
                    "only a leading `..` refused, so `/etc/passwd` or `subdir/inner.txt` gets \
                     through",
                    "names cleaned silently (basename) and accepted, instead of refused",
                    "a directory served or opened, so the handler crashes",
                ],
                fix: "Refuse a name that is empty, contains '/' or a NUL byte, or starts with \
                      '.' (which covers . and ..); for a download also require a regular file \
                      that is not a symbolic link (os.path.isfile and not os.path.islink in \
                      Python; lstat and S_ISREG in C). Reply ERR and keep the connection.",
                needs: &[],
                unmet: "",
            },
            judge: traversal::traversal,
        },
        Check {
            doc: CheckDoc {
                id: "concurrent",
                title: "clients transfer at once while one is stalled",
                what: "One client sends `P 1000 concurrent.bin` (replacing the file the others \
                       download) and 10 data bytes, then nothing; a second sends half a request \
                       line; a third asks for large.bin and reads nothing. Meanwhile [library] \
                       concurrent_clients clients (8 by default) connect at once and alternately \
                       download concurrent.bin (which must arrive whole, as it was seeded) and \
                       upload [library] concurrent_bytes files concurrent-up-<i>.bin; all must \
                       finish byte for byte within [timing] concurrent_ms. Then the stalled \
                       clients disconnect: the server must close its side of each connection \
                       within [timing] op_ms, and concurrent.bin must be as it was.",
                why: &[
                    "one client served at a time (accept, handle, accept), so the stalled upload \
                     blocks everyone",
                    "a lock held for a whole transfer, or a pool of fewer workers than clients",
                    "one fixed temporary name shared by all uploads, so they overwrite each other",
                    "a receive returning nothing (b'' in Python, 0 in C) not taken for the end \
                     of the client, so its connection never closes",
                ],
                fix: "Serve each connection in its own thread or forked process \
                      (threading.Thread or os.fork in Python; pthread_create or fork in C); give \
                      each upload a temporary file of its own (tempfile.mkstemp(dir=lib); \
                      mkstemp in C); when a receive returns nothing (b'' in Python, 0 in C) \
                      close the connection and delete the temporary file.",
                needs: &[],
                unmet: "",
            },
            judge: concurrent::concurrent,
        },
        Check {
            doc: CheckDoc {
                id: "disconnect",
                title: "a client vanishing mid-transfer leaves no partial file",
                what: "Sends `P 1000000 cut.bin`, only 100000 bytes of data, and disconnects: \
                       the server must close its side within [timing] op_ms and leave neither \
                       cut.bin nor any hidden temporary file in the library. Then it downloads \
                       large.bin, reads 64 KiB and disconnects while the server is still \
                       sending. The server must keep running and answer L on a new connection.",
                why: &[
                    "the receive loop ignores a receive returning nothing (b'' in Python, 0 in \
                     C) and spins forever",
                    "the partial upload written straight to the final name, or renamed in a \
                     `finally` whatever happened",
                    "the temporary file of an aborted upload never deleted",
                    "a send to a vanished client not handled, killing the server \
                     (BrokenPipeError or ConnectionResetError in Python; SIGPIPE in C)",
                ],
                fix: "In the receive loop, treat a receive that returns nothing (b'' in Python, \
                      0 in C) as the client gone: stop, close the connection and delete the \
                      temporary file of an upload that did not complete. Catch send errors \
                      (BrokenPipeError and ConnectionResetError in Python; check send()'s return \
                      and ignore SIGPIPE in C) so they end that client only.",
                needs: &[],
                unmet: "",
            },
            judge: robustness::disconnect,
        },
        Check {
            doc: CheckDoc {
                id: "quit",
                title: "Q closes the connection, the server goes on",
                what: "Sends Q: the server must close that connection (the grader reads the end \
                       of the stream) within [timing] op_ms; then L on a new connection must be \
                       answered.",
                why: &[
                    "Q answered with ERR and the connection kept open",
                    "the whole server exits on Q (an exit in the handler, a break out of the \
                     accept loop)",
                    "a forked child returns into the accept loop instead of exiting",
                ],
                fix: "On Q close the socket and return from that connection's handler (a forked \
                      child exits: os._exit(0) in Python, _exit(0) in C); the accept loop goes \
                      on.",
                needs: &[],
                unmet: "",
            },
            judge: robustness::quit,
        },
        Check {
            doc: CheckDoc {
                id: "cleanup",
                title: "no zombie children; exits on SIGTERM",
                what: "After all the other server checks, waits up to [timing] exit_ms until the \
                       server has no zombie child, then sends it SIGTERM: it must exit with \
                       status 0 within [timing] exit_ms.",
                why: &[
                    "a child forked per connection and never reaped (zombies)",
                    "no SIGTERM handler: the server dies of the signal, which is not status 0",
                    "non-daemon threads or unreaped children keep the server from exiting",
                    "the handler exits with a non-zero status or a traceback",
                ],
                fix: "With fork, reap children as they finish: in a SIGCHLD handler, waitpid(-1, \
                      WNOHANG) in a loop until it returns 0 or less (os.waitpid in Python, \
                      catching ChildProcessError), or ignore SIGCHLD. Exit with status 0 on \
                      SIGTERM (and SIGINT): a handler that calls sys.exit(0) in Python, or sets \
                      a flag the accept loop checks before exit(0) in C; use daemon threads, or \
                      end and reap the children before exiting.",
                needs: &[],
                unmet: "",
            },
            judge: lifecycle::cleanup,
        },
    ]
}
