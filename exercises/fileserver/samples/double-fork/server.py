"""File server, CORRECT sample "double-fork": each client is served by a grandchild.

Usage: python3 server.py <port> <library-dir>

The way many course servers avoid zombies without a SIGCHLD handler: the server forks a
child, the child forks a grandchild and exits at once, and the server waits for the child
right away. The grandchild, orphaned, serves the client; it is re-parented to the nearest
subreaper (the grader, during a grading) or to init, which reaps it. So the server never has
a zombie child of its own, and its grandchildren are not in its process tree any more (they
stay in its session).

What the grader must get right: the grandchildren are collected by the grader as their
subreaper, and they do not count as zombies of the server (only its own children do); a
grandchild still serving a connected client when the server gets SIGTERM ends with that
client.

Expected failures: none.
"""
import os
import signal
import socket
import sys
import tempfile

BUF = 65536


def name_ok(name):
    if name == '' or name in ('.', '..') or name.startswith('.'):
        return False
    if '/' in name or '\0' in name:
        return False
    return len(name.encode()) <= 255


def send_list(conn, lib):
    names = []
    for n in sorted(os.listdir(lib)):
        p = os.path.join(lib, n)
        if n.startswith('.') or os.path.islink(p) or not os.path.isfile(p):
            continue
        names.append(n)
    reply = 'OK %d\n' % len(names) + ''.join(n + '\n' for n in names)
    conn.sendall(reply.encode())


def send_file(conn, lib, name):
    p = os.path.join(lib, name)
    if not name_ok(name) or os.path.islink(p) or not os.path.isfile(p):
        conn.sendall(b'ERR no such file\n')
        return
    try:
        f = open(p, 'rb')
    except OSError as e:
        conn.sendall(('ERR cannot open: %s\n' % e.strerror).encode())
        return
    with f:
        size = os.fstat(f.fileno()).st_size
        conn.sendall(('OK %d\n' % size).encode())
        left = size
        while left > 0:
            chunk = f.read(min(BUF, left))
            if not chunk:
                break
            conn.sendall(chunk)
            left -= len(chunk)


def receive_file(conn, rf, lib, size, name):
    target = os.path.join(lib, name)
    if not name_ok(name) or os.path.isdir(target) or os.path.islink(target):
        conn.sendall(b'ERR bad file name\n')
        return True
    try:
        fd, tmp = tempfile.mkstemp(dir=lib, prefix='.up-')
    except OSError as e:
        conn.sendall(('ERR cannot write: %s\n' % e.strerror).encode())
        return True
    conn.sendall(b'OK\n')
    done = False
    try:
        with os.fdopen(fd, 'wb') as out:
            left = size
            while left > 0:
                data = rf.read(min(BUF, left))
                if not data:
                    return False  # the client left in the middle
                out.write(data)
                left -= len(data)
        os.replace(tmp, target)
        done = True
    finally:
        if not done:
            os.unlink(tmp)
    conn.sendall(b'OK\n')
    return True


def serve(conn, lib):
    rf = conn.makefile('rb')
    while True:
        line = rf.readline(4097)
        if not line:
            return
        if not line.endswith(b'\n'):
            if len(line) > 4096:
                conn.sendall(b'ERR request too long\n')
                return
            return  # half a line, then the end
        try:
            req = line[:-1].decode()
        except UnicodeDecodeError:
            conn.sendall(b'ERR not UTF-8\n')
            continue
        if req.endswith('\r'):
            req = req[:-1]
        if req == 'L':
            send_list(conn, lib)
        elif req == 'Q':
            return
        elif req.startswith('G '):
            send_file(conn, lib, req[2:])
        elif req.startswith('P '):
            size, sep, name = req[2:].partition(' ')
            if not sep or not size.isdigit() or not size.isascii():
                conn.sendall(b'ERR bad request\n')
            elif not receive_file(conn, rf, lib, int(size), name):
                return
        else:
            conn.sendall(b'ERR unknown command\n')


def main():
    port = int(sys.argv[1])
    lib = sys.argv[2]
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    signal.signal(signal.SIGINT, lambda *a: sys.exit(0))

    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(('127.0.0.1', port))
    s.listen(16)
    print('listening on 127.0.0.1:%d' % port, flush=True)

    while True:
        try:
            conn, addr = s.accept()
        except InterruptedError:
            continue
        pid = os.fork()
        if pid == 0:
            # the child: fork again and leave, so the server never gets a zombie
            s.close()
            if os.fork() == 0:
                try:
                    serve(conn, lib)
                except OSError:
                    pass
                finally:
                    conn.close()
                os._exit(0)
            os._exit(0)
        conn.close()
        os.waitpid(pid, 0)


if __name__ == '__main__':
    main()
