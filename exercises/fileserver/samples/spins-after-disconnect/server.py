"""File server, FAULTY sample "spins-after-disconnect": a vanished uploader leaves its handler
spinning at 100% CPU.

Usage: python3 server.py <port> <library-dir>

The upload loop reads until `left` bytes have come, but never checks for the end of the
connection: when a client vanishes mid-upload, recv() returns b'' forever and the handler
thread spins, holding its connection and its temporary file, while the server goes on serving
others (the course's servers do this after a `recv() == b''` loop). The grader judges the
continued service and kills the whole tree at the end.

Expected failures: disconnect (the cut-off uploads keep their connections and temporary files)
and cleanup (the temporary files of the spinning handlers are still in the library). The
stalled uploader of `concurrent` leaves with the server's OK unread, which resets the
connection: recv() raises instead of returning b'', so that handler ends and concurrent passes.
"""
from socket import *
from threading import Thread
import os
import signal
import sys

PORT = int(sys.argv[1])
ADDR = ('127.0.0.1', PORT)
FTP = os.path.join(sys.argv[2], '')


def bad_name(name):
    return name == '' or '/' in name or name.startswith('.') or '\0' in name


def do_list(c):
    files = []
    for f in os.listdir(FTP):
        if f.startswith('.'):
            continue
        if os.path.isfile(FTP + f) and not os.path.islink(FTP + f):
            files.append(f)
    msg = 'OK %d\n' % len(files)
    for f in files:
        msg += f + '\n'
    c.sendall(msg.encode())


def do_get(c, name):
    path = FTP + name
    if bad_name(name) or os.path.islink(path) or not os.path.isfile(path):
        c.sendall(b'ERR no such file\n')
        return
    size = os.path.getsize(path)
    c.sendall(('OK %d\n' % size).encode())
    with open(path, 'rb') as f:
        while True:
            data = f.read(65536)
            if not data:
                break
            c.sendall(data)


def do_put(c, fr, size, name):
    if bad_name(name) or os.path.isdir(FTP + name) or os.path.islink(FTP + name):
        c.sendall(b'ERR bad file name\n')
        return
    tmp = FTP + '.' + name + '.part'
    f = open(tmp, 'wb')
    c.sendall(b'OK\n')
    left = size
    try:
        while left > 0:
            data = c.recv(min(left, 65536))
            f.write(data)
            left -= len(data)
        f.close()
        os.replace(tmp, FTP + name)
    except Exception:
        f.close()
        os.remove(tmp)
        raise
    c.sendall(b'OK\n')


def handle(c):
    fr = c.makefile('rb', buffering=0)
    try:
        while True:
            line = fr.readline()
            if not line.endswith(b'\n'):
                break
            req = line[:-1].decode()
            if req == 'L':
                do_list(c)
            elif req == 'Q':
                break
            elif req.startswith('G '):
                do_get(c, req[2:])
            elif req.startswith('P '):
                size, _, name = req[2:].partition(' ')
                if not size.isdigit():
                    c.sendall(b'ERR bad request\n')
                else:
                    do_put(c, fr, int(size), name)
            else:
                c.sendall(b'ERR bad request\n')
    except Exception as e:
        print('client error:', e)
    finally:
        fr.close()
        c.close()


def stop(sig, frame):
    sys.exit(0)


def main():
    signal.signal(signal.SIGTERM, stop)
    s = socket()
    s.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)
    s.bind(ADDR)
    s.listen(5)
    print('listening on 127.0.0.1:%d' % PORT, flush=True)
    while True:
        c, addr = s.accept()
        t = Thread(target=handle, args=(c,))
        t.daemon = True
        t.start()


main()
