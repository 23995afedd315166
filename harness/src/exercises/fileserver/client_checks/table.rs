//! The client checks' declarations, in report order: the student's client against the
//! reference server.

use crate::grading::{Check, CheckDoc};

use super::{checks, ClientGrading};

/// The client checks in report order, each declared once; each judged by
/// [`ClientGrading::judge`] on what its command did.
pub fn table<'a>() -> [Check<ClientGrading<'a>>; 9] {
    [
        Check {
            doc: CheckDoc {
                id: "client-list",
                title: "the client's list shows the library",
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
                      (Python: f = sock.makefile('rb'); C: fdopen(sock, \"r\") and fgets) and \
                      print them; print the prompt and flush it before reading a command \
                      (Python: input('ftp> '); C: fflush(stdout)).",
                needs: &[],
                unmet: "",
            },
            judge: |g| g.judge(checks::list),
        },
        Check {
            doc: CheckDoc {
                id: "client-get",
                title: "the client's get saves a text file",
                what: "Types `get hello.txt` (a text file of several KiB, more than 4096 bytes). The \
                       client must save hello.txt in its current directory, byte for byte, then \
                       prompt again and wait for input.",
                why: &[
                    "the file read with a single recv(4096), so only its start is saved",
                    "the header line saved into the file, or the data decoded and re-encoded",
                    "bytes after the announced size left unread or read too far, upsetting the next \
                     reply",
                ],
                fix: "Parse `OK <size>`, then read exactly size bytes in a loop (Python: \
                      f.read(min(65536, left)) from the buffered reader; C: read() until the count \
                      is reached) into a temporary file opened for binary writing, and rename it \
                      to the name when complete.",
                needs: &[],
                unmet: "",
            },
            judge: |g| g.judge(checks::get_text),
        },
        Check {
            doc: CheckDoc {
                id: "client-get-binary",
                title: "the client's get saves a binary file",
                what: "Types `get binary.bin` (about 8 KiB of every byte value with `##` and \
                       `\\r\\n` inside); the saved file must equal it byte for byte.",
                why: &[
                    "the data decoded as text, or written in text mode",
                    "`##` treated as the end of the file",
                ],
                fix: "Keep the data as bytes and write it unchanged (Python: a file opened with 'wb', \
                      no decode; C: fwrite or write with the count received, not fputs).",
                needs: &[],
                unmet: "",
            },
            judge: |g| g.judge(checks::get_binary),
        },
        Check {
            doc: CheckDoc {
                id: "client-get-large",
                title: "the client's get saves a large binary file",
                what: "Types `get large.bin`: a little over 1 MiB of pseudo-random binary data, which \
                       arrives in many reads. The saved file must equal it byte for byte, and the client \
                       must prompt again and wait for input, within [timing] large_ms.",
                why: &[
                    "only the first buffer of the download kept (one recv(), however large its size)",
                    "data = sock.recv(n) in a loop that replaces instead of appends",
                    "the data decoded as text, or written in text mode",
                ],
                fix: "Read exactly size bytes in a loop, writing each chunk as it arrives to a file \
                      opened for binary writing, until size bytes have come (or, in a dialect, \
                      until its end marker).",
                needs: &[],
                unmet: "",
            },
            judge: |g| g.judge(checks::get_large),
        },
        Check {
            doc: CheckDoc {
                id: "client-put",
                title: "the client's put uploads a text file",
                what: "Creates local-up.txt (UTF-8 text) in the client's directory and types \
                       `put local-up.txt`; the reference server's library must then hold it byte for \
                       byte, and the client must prompt again and wait for input.",
                why: &[
                    "the data sent before the server's first `OK`",
                    "the size counted in characters instead of bytes",
                    "send() instead of sendall(), or the final `OK` never read",
                    "the whole path sent as the name instead of its base name",
                ],
                fix: "Send the size and the file's base name (`P <size> <name>`; Python: \
                      os.path.getsize; C: stat); read the reply; on OK send the whole file \
                      (Python: sock.sendall or sock.sendfile; C: a write loop until every byte \
                      is written), then read and report the final reply.",
                needs: &[],
                unmet: "",
            },
            judge: |g| g.judge(checks::put_text),
        },
        Check {
            doc: CheckDoc {
                id: "client-put-binary",
                title: "the client's put uploads a binary file",
                what: "Creates local-up.bin (about 8 KiB of every byte value) and types \
                       `put local-up.bin`; the server's copy must equal it byte for byte.",
                why: &["the local file opened in text mode, or its bytes decoded"],
                fix: "Open the local file for binary reading (Python: 'rb'; C: \"rb\" or open()) \
                      and send its bytes unchanged.",
                needs: &[],
                unmet: "",
            },
            judge: |g| g.judge(checks::put_binary),
        },
        Check {
            doc: CheckDoc {
                id: "client-put-large",
                title: "the client's put uploads a large binary file",
                what: "Creates local-up-large.bin (about 1.5 MiB of pseudo-random binary data) and types \
                       `put local-up-large.bin`; the server's copy must equal it byte for byte, and the \
                       client must prompt again and wait for input, within [timing] large_ms.",
                why: &[
                    "send() instead of sendall(), so only what fits in the socket buffer is sent",
                    "only the first read of the local file sent",
                    "the file opened in text mode",
                ],
                fix: "Open the local file for binary reading and send it whole: a loop that reads \
                      a chunk and sends all of it until the read is empty (Python: sock.sendall \
                      or sock.sendfile(f); C: write() again until each chunk is written).",
                needs: &[],
                unmet: "",
            },
            judge: |g| g.judge(checks::put_large),
        },
        Check {
            doc: CheckDoc {
                id: "client-get-missing",
                title: "the client shows the server's error and goes on",
                what: "Types `get no-such-file.txt`. The output must contain the reference server's \
                       reason from its `ERR` reply, no local file no-such-file.txt may be created, and \
                       the client must prompt again and wait for input.",
                why: &[
                    "the local file opened before the reply is known, leaving an empty file",
                    "a generic message without the server's reason",
                    "the client crashes parsing `ERR …` as `OK <size>`",
                ],
                fix: "Read the reply first; on a refusal print it (`error: <reason>`) and go back \
                      to the prompt; create the (temporary) local file only after the server \
                      accepted.",
                needs: &[],
                unmet: "",
            },
            judge: |g| g.judge(checks::get_missing),
        },
        Check {
            doc: CheckDoc {
                id: "client-quit",
                title: "quit ends the client with status 0",
                what: "Types `quit`: the client must exit with status 0 within [timing] exit_ms.",
                why: &[
                    "quit not recognised, so the client prompts again",
                    "the client exits with a non-zero status or a traceback (e.g. waiting for a reply \
                     to Q, or an error on closing)",
                ],
                fix: "On quit send the quit command, close the socket and exit with status 0; \
                      treat end of input the same way (Python: input() raising EOFError; C: \
                      fgets returning NULL).",
                needs: &[],
                unmet: "",
            },
            judge: checks::quit_and_end_of_input,
        },
    ]
}
