"""File server, CORRECT sample "hardcoded-port": the way the course's handouts write it.

Usage: python3 server.py          (no arguments)

The address (0.0.0.0:8888) and the library (/home/tarena/ftp/, names joined to it with +)
are hard-coded, as in the course's own examples, and the server prints its own greeting
instead of the readiness line. It speaks the exact protocol of the README with a thread per
client. config.toml tells the grader so: no arguments, no readiness line, the library at
/home/tarena/ftp/ (which the grader provides inside the grading's own mount namespace), and
the port is found where the server listens.

Expected: every check passes.
"""
from socket import *
from threading import Thread
import os
import signal
import sys

HOST = '0.0.0.0'
PORT = 8888
ADDR = (HOST, PORT)
FTP = '/home/tarena/ftp/'


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
            data = fr.read(min(left, 65536))
            if not data:
                raise ConnectionError('client left during upload')
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
    fr = c.makefile('rb')
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
    print('等待客户端连接...', flush=True)
    while True:
        c, addr = s.accept()
        t = Thread(target=handle, args=(c,))
        t.daemon = True
        t.start()


main()
