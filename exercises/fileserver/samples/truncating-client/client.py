"""File client, FAULTY sample "truncating-client": a download keeps only its first 4096 bytes.

Usage: python3 client.py <host> <port>

Classic mistake: one recv(4096) is taken for the whole file, so a download keeps only its first
4096 bytes (and still reports the full size). Files of up to 4096 bytes come through. (To show
only this fault, the sample still reads and discards the rest of the announced bytes, so later
commands keep working; a real program with this bug would also get out of step with the
server and take file data for replies.)

Otherwise this is correct-threads/client.py.

Expected failures: client-get, client-get-binary (both download files bigger than 4 KiB).
"""

import os
import socket
import stat
import sys
import tempfile

CHUNK = 64 * 1024


class ServerError(Exception):
    """The server answered ERR <reason>; the session goes on."""


class Lost(Exception):
    """The connection broke or the server broke the protocol; the session cannot go on."""


def read_reply(rfile):
    """Reads a reply header. Returns what follows "OK" (maybe ""), raises ServerError for ERR."""
    line = rfile.readline(4097)
    if not line.endswith(b"\n"):
        raise Lost("connection closed by the server")
    line = line[:-1].decode("utf-8", errors="replace")
    if line == "OK" or line.startswith("OK "):
        return line[3:]
    if line == "ERR" or line.startswith("ERR "):
        raise ServerError(line[4:])
    raise Lost(f"malformed reply {line!r}")


def read_size(rfile):
    rest = read_reply(rfile)
    if not (rest.isascii() and rest.isdigit()):
        raise Lost(f"malformed reply 'OK {rest}'")
    return int(rest)


def do_list(sock, rfile):
    sock.sendall(b"L\n")
    for _ in range(read_size(rfile)):
        line = rfile.readline()
        if not line.endswith(b"\n"):
            raise Lost("connection closed by the server")
        print(line[:-1].decode("utf-8", errors="replace"))


def do_get(sock, rfile, name):
    sock.sendall(f"G {name}\n".encode("utf-8"))
    size = read_size(rfile)
    # Never let a name (accepted by a careless server) escape the current directory.
    unsafe = "/" in name or name.startswith(".")
    fd, temp = tempfile.mkstemp(prefix=".download-", dir=".")
    saved = False
    try:
        with open(fd, "wb") as out:
            os.fchmod(fd, 0o644)
            out.write(rfile.read(min(4096, size)))  # BUG: one read taken for the whole file
            remaining = size - min(4096, size)
            while remaining > 0:  # the rest is only read to stay in step with the server
                chunk = rfile.read(min(CHUNK, remaining))
                if not chunk:
                    raise Lost("connection closed during the download")
                remaining -= len(chunk)
        if unsafe:
            raise ServerError(f"refusing to save under the name {name!r}")
        os.replace(temp, name)
        saved = True
    finally:
        if not saved:
            os.unlink(temp)
    print(f"downloaded {name} ({size} bytes)")


def do_put(sock, rfile, path):
    name = os.path.basename(path)
    try:
        local = open(path, "rb")
    except OSError as e:
        raise ServerError(f"{path}: {e.strerror}")
    with local:
        info = os.fstat(local.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise ServerError(f"{path}: not a regular file")
        size = info.st_size
        sock.sendall(f"P {size} {name}\n".encode("utf-8"))
        read_reply(rfile)  # ready, or ERR: then nothing is sent
        remaining = size
        while remaining > 0:
            chunk = local.read(min(CHUNK, remaining))
            if not chunk:
                # Having announced `size` bytes we cannot stay in step with the server.
                raise Lost(f"{path} shrank during the upload")
            sock.sendall(chunk)
            remaining -= len(chunk)
    read_reply(rfile)
    print(f"uploaded {name} ({size} bytes)")


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: client.py <host> <port>")
    host, port = sys.argv[1], int(sys.argv[2])
    try:
        sock = socket.create_connection((host, port))
    except OSError as e:
        sys.exit(f"cannot connect to {host}:{port}: {e}")
    rfile = sock.makefile("rb")
    while True:
        print("ftp> ", end="", flush=True)
        line = sys.stdin.readline()
        if not line:  # end of input
            print()
            break
        command, _, argument = line.rstrip("\r\n").lstrip().partition(" ")
        argument = argument.lstrip(" ")
        try:
            if not command:
                continue
            elif command == "list" and not argument:
                do_list(sock, rfile)
            elif command == "get" and argument:
                do_get(sock, rfile, argument)
            elif command == "put" and argument:
                do_put(sock, rfile, argument)
            elif command == "quit" and not argument:
                break
            else:
                print("error: unknown command (commands: list, get <name>, put <path>, quit)")
        except ServerError as e:
            print(f"error: {e}")
        except (Lost, OSError) as e:
            # The connection is broken or may be out of step: no way to go on.
            print(f"error: {e}")
            sys.exit(1)
        sys.stdout.flush()
    try:
        sock.sendall(b"Q\n")
    except OSError:
        pass
    sock.close()
    sys.exit(0)


if __name__ == "__main__":
    main()
