"""File server, FAULTY sample "crashes-on-eof": a client leaving crashes its handler thread.

Usage: python3 server.py <port> <library-dir>

A thread per client, and no thought given to the end of the connection. When a client
closes without sending Q, readline() returns b'' and `req[0]` raises IndexError: the thread
dies with a traceback on stderr (the socket is closed as the thread's objects go away), and
the server goes on serving everyone else. Harmless, if ugly, between requests.

In the middle of an upload it is not harmless: the upload loop raises when the data stops
coming, the thread dies with a traceback, and the temporary file `.<name>.part` stays in the
library for good; the connection stays open too, until Python's garbage collector frees the
dead thread's frames (the traceback holds them in a reference cycle).

What the grader must get right: the server goes on, so only disconnect fails (the cut-off
upload's connection kept open, temporary files left); cleanup does not count the same
temporary files a second time.

Expected failures: disconnect.
"""
import os
import signal
import sys
import threading
from socket import *

LIB = sys.argv[2]


def good_name(name):
    return name not in ('', '.', '..') and not name.startswith('.') and '/' not in name \
        and '\0' not in name


def list_files(conn):
    names = [n for n in os.listdir(LIB)
             if not n.startswith('.') and os.path.isfile(os.path.join(LIB, n))
             and not os.path.islink(os.path.join(LIB, n))]
    conn.sendall(('OK %d\n' % len(names)).encode())
    for n in names:
        conn.sendall((n + '\n').encode())


def get_file(conn, name):
    path = os.path.join(LIB, name)
    if not good_name(name) or os.path.islink(path) or not os.path.isfile(path):
        conn.sendall(b'ERR no such file\n')
        return
    conn.sendall(('OK %d\n' % os.path.getsize(path)).encode())
    with open(path, 'rb') as f:
        while True:
            block = f.read(65536)
            if not block:
                break
            conn.sendall(block)


def put_file(conn, f, size, name):
    path = os.path.join(LIB, name)
    if not good_name(name) or os.path.isdir(path) or os.path.islink(path):
        conn.sendall(b'ERR bad name\n')
        return
    tmp = os.path.join(LIB, '.' + name + '.part')
    conn.sendall(b'OK\n')
    with open(tmp, 'wb') as out:
        left = size
        while left > 0:
            data = f.read(min(left, 65536))
            if not data:
                raise ConnectionError('client left during the upload')
            out.write(data)
            left -= len(data)
    os.rename(tmp, path)
    conn.sendall(b'OK\n')


def handle(conn):
    f = conn.makefile('rb')
    while True:
        line = f.readline(5000)
        if len(line) > 4096:
            conn.sendall(b'ERR line too long\n')
            break
        req = line.decode('utf-8', 'replace').rstrip('\n')
        cmd = req[0]
        if req == 'Q':
            break
        elif req == 'L':
            list_files(conn)
        elif cmd == 'G' and req[1:2] == ' ':
            get_file(conn, req[2:])
        elif cmd == 'P' and req[1:2] == ' ':
            size, _, name = req[2:].partition(' ')
            if size.isdigit() and size.isascii() and name:
                put_file(conn, f, int(size), name)
            else:
                conn.sendall(b'ERR bad request\n')
        else:
            conn.sendall(b'ERR bad request\n')
    f.close()
    conn.close()


def bye(signum, frame):
    sys.exit(0)


signal.signal(signal.SIGTERM, bye)
signal.signal(signal.SIGINT, bye)

sock = socket(AF_INET, SOCK_STREAM)
sock.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)
sock.bind(('127.0.0.1', int(sys.argv[1])))
sock.listen(20)
print('listening on 127.0.0.1:' + sys.argv[1], flush=True)
while True:
    c, a = sock.accept()
    threading.Thread(target=handle, args=(c,), daemon=True).start()
