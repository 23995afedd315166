//! The pair checks' declarations, in report order: the student's client against the
//! student's own server, through the client's menu (`[client.menu]`), whatever protocol the
//! two speak. They run when `[pair] mode` is `also` or `only`.

use crate::grading::{Check, CheckDoc};

use super::{checks, PairGrading};

/// The pair checks in report order, each judged by [`PairGrading::judge`].
pub fn table<'a>() -> [Check<PairGrading<'a>>; 8] {
    [
        Check {
            doc: CheckDoc {
                id: "pair-list",
                title: "the pair lists the server's library",
                what: "Starts the student's server as the server checks start it ([server] args, its \
                       port found, its library where [server] library says) and the student's client \
                       as the client checks start it ([client] args), told the address of a relay \
                       that passes the connection on to the server and counts the bytes each way. \
                       Types the menu's list action ([client.menu] list): every file name of the \
                       server's library must be printed, at least that many bytes must have come from \
                       the server, and the client must prompt again and wait for input.",
                why: &[
                    "the client and server disagree on the list command or its end (a separator, \
                     an end marker the other side never sends)",
                    "the listing read with a single recv(), so names sent one by one are missing",
                    "the prompt printed without flush, or not printed again after the command",
                ],
                fix: "Make the client read the listing until the end your server marks (an end \
                      marker, or the length it announces), print every name, then prompt again.",
                needs: &[],
                unmet: "",
            },
            judge: |g| g.judge(checks::list),
        },
        Check {
            doc: CheckDoc {
                id: "pair-get",
                title: "the pair downloads a text file",
                what: "Types the get action with hello.txt (several KiB of UTF-8 text), on the line or \
                       at the name prompt as [client.menu] name says. The client's directory must then \
                       hold hello.txt byte for byte as the server's library has it, the file's bytes \
                       must have crossed the connection, and the client must prompt again.",
                why: &[
                    "the file read with a single recv(), so only its start is saved",
                    "the server's reply to the request (`OK`) saved into the file",
                    "the end marker saved into the file, or the file ended at a marker inside it",
                ],
                fix: "Have the client read until the end the server marks and write every chunk to \
                      a file opened in binary mode (wb); keep the reply to the request out of the file.",
                needs: &[],
                unmet: "",
            },
            judge: |g| g.judge(checks::get_text),
        },
        Check {
            doc: CheckDoc {
                id: "pair-get-binary",
                title: "the pair downloads a binary file",
                what: "Downloads binary.bin (about 8 KiB of every byte value, with `##` and `\\r\\n` \
                       inside) through the client's menu; the saved file must equal the server's \
                       byte for byte.",
                why: &[
                    "the data decoded as text on either side, or written in text mode",
                    "`##` inside the file taken for the end marker",
                ],
                fix: "Keep the data as bytes end to end (files opened in binary mode, rb and wb), and end a \
                      transfer only on a marker sent as a message of its own, or by its length.",
                needs: &[],
                unmet: "",
            },
            judge: |g| g.judge(checks::get_binary),
        },
        Check {
            doc: CheckDoc {
                id: "pair-get-large",
                title: "the pair downloads a large binary file",
                what: "Downloads large.bin (a little over 1 MiB of pseudo-random binary data, which \
                       arrives in many reads) through the client's menu, within [timing] large_ms; \
                       the saved file must equal the server's byte for byte.",
                why: &[
                    "only the first buffer of the download kept (one recv(), however large)",
                    "each chunk received replacing the last one instead of being appended",
                    "the server sends the file with send() instead of sendall()",
                ],
                fix: "Loop: receive a chunk, stop at the end the server marks, otherwise write the \
                      chunk to the file opened for binary writing; on the server, send every chunk \
                      whole (sendall() in Python, a loop of send() in C).",
                needs: &[],
                unmet: "",
            },
            judge: |g| g.judge(checks::get_large),
        },
        Check {
            doc: CheckDoc {
                id: "pair-put",
                title: "the pair uploads a text file",
                what: "Creates pair-up.txt (UTF-8 text) in the client's directory and types the put \
                       action with its name. Where the server's uploads land ([server] uploads) must \
                       then hold it byte for byte (looked at until [timing] op_ms after the client \
                       prompts again), and its bytes must have crossed the connection.",
                why: &[
                    "the data sent before the server is ready for it, or the end marker glued to it",
                    "the server ends the upload on a recv() that merely ends with the marker",
                    "the server never closes (or flushes) the file it writes",
                ],
                fix: "Send the file, pause or announce its length, then end it as the server \
                      expects; the server writes each chunk to a file opened in binary mode (wb) and closes it.",
                needs: &[],
                unmet: "",
            },
            judge: |g| g.judge(checks::put_text),
        },
        Check {
            doc: CheckDoc {
                id: "pair-put-binary",
                title: "the pair uploads a binary file",
                what: "Uploads pair-up.bin (about 8 KiB of every byte value with `##` inside) through \
                       the client's menu; the server's copy must equal it byte for byte.",
                why: &[
                    "the file opened in text mode, or each chunk decoded as UTF-8 on the server",
                    "`##` inside the file taken for the end marker",
                ],
                fix: "Open the local file in binary mode (rb), and on the server write the bytes received \
                      unchanged to a file opened in binary mode (wb).",
                needs: &[],
                unmet: "",
            },
            judge: |g| g.judge(checks::put_binary),
        },
        Check {
            doc: CheckDoc {
                id: "pair-get-missing",
                title: "the pair handles a missing file",
                what: "Types the get action with no-such-file.txt: the client must ask the server, \
                       create no local file no-such-file.txt, and prompt again and wait for input.",
                why: &[
                    "the local file opened before the server's answer is known, leaving an empty file",
                    "the client waits forever for data that never comes, or crashes on the error",
                ],
                fix: "Read the server's answer first; on an error print it and go back to the menu; \
                      open the local file only once the server said the file comes.",
                needs: &[],
                unmet: "",
            },
            judge: |g| g.judge(checks::get_missing),
        },
        Check {
            doc: CheckDoc {
                id: "pair-quit",
                title: "the pair's quit ends the client",
                what: "Types the quit action ([client.menu] quit): the client must exit with status 0 \
                       within [timing] exit_ms.",
                why: &[
                    "quit not recognised, so the client shows its menu again",
                    "the client waits for a reply the server never sends, or exits with a traceback",
                ],
                fix: "On quit tell the server, close the socket and exit with status 0 \
                      (sys.exit(0) in Python, exit(0) or a return from main in C).",
                needs: &[],
                unmet: "",
            },
            judge: |g| g.judge(checks::quit),
        },
    ]
}
