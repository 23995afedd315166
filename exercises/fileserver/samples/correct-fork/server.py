"""File server, correct sample: one child process per client (fork).

Usage: python3 server.py <port> <library-dir>

Implements the protocol of exercises/fileserver/README.md (L, G <name>, P <size> <name>, Q)
with the Python 3 standard library only. Every connection is served by its own child process,
so a stalled client blocks no one. A SIGCHLD handler reaps finished children at once with
waitpid(WNOHANG) in a loop, so no zombies pile up; on SIGINT or SIGTERM the server stops
accepting, terminates the remaining children, waits for all of them and exits with status 0.
File data is streamed in fixed-size chunks and framed by the size in the header, never by an
end marker. An upload is written to a hidden temporary file in the library and renamed over
its name only once all bytes have arrived; an upload cut off midway (or ended by the shutdown)
removes the temporary file.

Expected result: every check passes.
"""

import errno
import os
import signal
import socket
import stat
import sys
import tempfile

CHUNK = 64 * 1024  # bytes moved per read/write: files are never held in memory whole
MAX_LINE = 4096  # longest request line accepted
TOO_LONG = object()  # what read_request returns for an over-long line


class ClientGone(Exception):
    """The client closed the connection in the middle of a request or an upload."""


class Shutdown(Exception):
    """Raised in the parent by the SIGINT and SIGTERM handler."""


children = set()  # pids of the children still running
# Signals whose handlers end or change the set of children: blocked around fork.
GUARDED = {signal.SIGCHLD, signal.SIGTERM, signal.SIGINT}


def name_problem(name):
    """Returns why `name` is not acceptable, or None if it is."""
    if not name:
        return "empty name"
    if "/" in name or "\0" in name or "\n" in name:
        return "invalid name: must not contain '/', NUL or newline"
    if name.startswith("."):
        return "invalid name: must not start with '.'"
    if len(name.encode("utf-8")) > 255:
        return "invalid name: too long"
    return None


def send_err(conn, reason):
    conn.sendall(f"ERR {reason}\n".encode("utf-8"))


def read_request(rfile):
    """Reads one request line. Returns its bytes without the newline, None at end of input,
    or TOO_LONG for an over-long line (which is read and discarded)."""
    line = rfile.readline(MAX_LINE + 1)
    if not line.endswith(b"\n"):
        if len(line) <= MAX_LINE:
            return None  # end of input (possibly in the middle of a line)
        while not line.endswith(b"\n"):
            line = rfile.readline(MAX_LINE + 1)
            if not line:
                return None
        return TOO_LONG
    line = line[:-1]
    if line.endswith(b"\r"):
        line = line[:-1]
    return line


def do_list(conn, library):
    names = []
    try:
        entries = list(os.scandir(library))
    except OSError as e:
        return send_err(conn, f"cannot read the library: {e.strerror}")
    for entry in entries:
        # Regular files only (not following symlinks), no hidden or unsendable names.
        if not entry.is_file(follow_symlinks=False) or name_problem(entry.name):
            continue
        try:
            names.append(entry.name.encode("utf-8"))
        except UnicodeEncodeError:
            continue  # a name that is not valid UTF-8 cannot be sent
    conn.sendall(b"OK %d\n" % len(names) + b"".join(n + b"\n" for n in names))


def do_get(conn, library, name):
    path = os.path.join(library, name)
    try:
        # O_NOFOLLOW refuses a symlink; O_NONBLOCK keeps a FIFO from blocking the open.
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        return send_err(conn, "no such file")
    except OSError as e:
        if e.errno == errno.ELOOP:  # what O_NOFOLLOW gives for a symlink
            return send_err(conn, "not a regular file")
        return send_err(conn, f"cannot open: {e.strerror}")
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        return send_err(conn, "not a regular file")
    with open(fd, "rb") as f:
        size = info.st_size
        conn.sendall(f"OK {size}\n".encode())
        remaining = size
        while remaining > 0:
            chunk = f.read(min(CHUNK, remaining))
            if not chunk:
                # The file shrank behind our back: the promised size cannot be kept.
                raise ClientGone("file changed while being sent")
            conn.sendall(chunk)
            remaining -= len(chunk)


def do_put(conn, rfile, library, size, name):
    target = os.path.join(library, name)
    try:
        if not stat.S_ISREG(os.lstat(target).st_mode):
            return send_err(conn, "cannot replace something that is not a regular file")
    except FileNotFoundError:
        pass
    try:
        fd, temp = tempfile.mkstemp(prefix=".upload-", dir=library)
    except OSError as e:
        return send_err(conn, f"cannot store: {e.strerror}")
    stored = False
    try:
        conn.sendall(b"OK\n")
        write_error = None
        with open(fd, "wb") as out:
            os.fchmod(fd, 0o644)
            remaining = size
            while remaining > 0:
                chunk = rfile.read(min(CHUNK, remaining))
                if not chunk:
                    raise ClientGone("upload cut off")
                if write_error is None:
                    try:
                        out.write(chunk)
                    except OSError as e:
                        write_error = e  # keep reading so the connection stays in step
                remaining -= len(chunk)
        if write_error is not None:
            return send_err(conn, f"cannot store: {write_error.strerror}")
        os.replace(temp, target)
        stored = True
    except OSError as e:
        if isinstance(e, ConnectionError):
            raise
        return send_err(conn, f"cannot store: {e.strerror}")
    finally:
        if not stored:
            try:
                os.unlink(temp)
            except OSError:
                pass
    conn.sendall(b"OK\n")


def handle(conn, rfile, library):
    """Handles one request. Returns False when the connection should end."""
    line = read_request(rfile)
    if line is None:
        return False
    if line is TOO_LONG:
        send_err(conn, "request line too long")
        return True
    try:
        request = line.decode("utf-8")
    except UnicodeDecodeError:
        send_err(conn, "request is not valid UTF-8")
        return True
    if request == "L":
        do_list(conn, library)
    elif request == "Q":
        return False
    elif request.startswith("G "):
        name = request[2:]
        if problem := name_problem(name):
            send_err(conn, problem)
        else:
            do_get(conn, library, name)
    elif request.startswith("P "):
        size, space, name = request[2:].partition(" ")
        if not space or not (size.isascii() and size.isdigit()):
            send_err(conn, "usage: P <size> <name>")
        elif problem := name_problem(name):
            send_err(conn, problem)
        else:
            do_put(conn, rfile, library, int(size), name)
    else:
        send_err(conn, "unknown request (expected L, G <name>, P <size> <name> or Q)")
    return True


def serve(conn, library):
    """Serves one client until Q or end of input, in a child process."""
    with conn, conn.makefile("rb") as rfile:
        try:
            while handle(conn, rfile, library):
                pass
        except (ClientGone, OSError) as e:
            # The client vanished or the connection broke: only this connection ends.
            print(f"connection ended: {e}", file=sys.stderr)


def on_stop(signum, frame):
    raise Shutdown()


def on_sigchld(signum, frame):
    # One SIGCHLD may stand for several children: reap all that have finished.
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return  # no children at all
        if pid == 0:
            return  # the others are still running
        children.discard(pid)


def child_exit(signum, frame):
    sys.exit(0)  # unwinds serve(), so an unfinished upload removes its temporary file


def child(listener, conn, library):
    """Runs in the child: serve the client, then leave without returning into the loop."""
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, child_exit)
        signal.signal(signal.SIGINT, child_exit)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, GUARDED)
        listener.close()
        serve(conn, library)
    finally:
        os._exit(0)  # never run the parent's code (or its cleanup) in the child


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: server.py <port> <library-dir>")
    port, library = int(sys.argv[1]), sys.argv[2]
    if not os.path.isdir(library):
        sys.exit(f"{library} is not a directory")
    # Installed for SIGINT too rather than relying on KeyboardInterrupt: a SIGINT that was
    # ignored when the server started (e.g. in a background job of a script) stays ignored.
    signal.signal(signal.SIGINT, on_stop)
    signal.signal(signal.SIGTERM, on_stop)
    signal.signal(signal.SIGCHLD, on_sigchld)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(16)
    print(f"listening on 127.0.0.1:{port}", flush=True)
    try:
        while True:
            # accept() is restarted by Python after the SIGCHLD handler has run (PEP 475).
            conn, _ = listener.accept()
            # Hold the signals back until the pid is recorded, so that neither the SIGCHLD
            # handler nor the shutdown below can miss this child.
            signal.pthread_sigmask(signal.SIG_BLOCK, GUARDED)
            try:
                pid = os.fork()
                if pid == 0:
                    child(listener, conn, library)
                children.add(pid)
            finally:
                signal.pthread_sigmask(signal.SIG_UNBLOCK, GUARDED)
                conn.close()  # the child has its own copy
    except Shutdown:
        pass
    listener.close()
    # Stop the children still serving someone, and reap every one of them.
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    for pid in list(children):
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    while True:
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            break
    sys.exit(0)


if __name__ == "__main__":
    main()
