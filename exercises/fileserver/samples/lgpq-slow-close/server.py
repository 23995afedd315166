"""File server, CORRECT sample "lgpq-slow-close" of the course's `##` protocol (dialect
lgpq-hash): L / G name / P name / Q, each one send; OK before the data; `##` as its own
message ends a download or an upload. A process per client (fork), as in the lecture.

What it shows: the upload is written in place, and after the `##` the server waits a second
before closing the file ("让数据写完"), as one course's handout does. Until the close, a
small upload is still in Python's write buffer: the file has 0 bytes. The upload is complete
when the server closes the file, not when no byte came for a moment.

Expected: every put check passes. A cut-off upload replacing a file writes over it in place
(the old file is damaged): the exact policy forbids that, the lgpq-hash dialect's course
policy (`replace = "in-place"`) does not, so `disconnect` passes with a note saying so.
"""
from socket import *
import os, sys, time, signal

HOST = '0.0.0.0'
PORT = 8888
ADDR = (HOST, PORT)
FTP = '/home/tarena/ftp/'


def do_list(c):
    files = os.listdir(FTP)
    names = [f for f in files
             if f[0] != '.' and os.path.isfile(FTP + f) and not os.path.islink(FTP + f)]
    c.send(b'OK')
    time.sleep(0.1)
    c.send('#'.join(names).encode())


def do_get(c, filename):
    path = FTP + filename
    if '/' in filename or filename.startswith('.') or os.path.islink(path) \
            or not os.path.isfile(path):
        c.send('文件不存在'.encode())
        return
    f = open(path, 'rb')
    c.send(b'OK')
    time.sleep(0.1)
    while True:
        data = f.read(1024)
        if not data:
            break
        c.sendall(data)
    f.close()
    time.sleep(0.1)
    c.send(b'##')


def do_put(c, filename):
    path = FTP + filename
    if filename == '' or '/' in filename or filename.startswith('.') \
            or os.path.isdir(path) or os.path.islink(path):
        c.send('文件名不合法'.encode())
        return
    f = open(path, 'wb')
    c.send(b'OK')
    while True:
        data = c.recv(1024)
        if not data:
            f.close()
            os.remove(path)
            sys.exit(0)
        if data == b'##':
            break
        f.write(data)
    time.sleep(1)  # 让数据写完
    f.close()


def do_child(c):
    while True:
        data = c.recv(1024).decode()
        if not data or data == 'Q':
            c.close()
            sys.exit(0)
        elif data == 'L':
            do_list(c)
        elif data[:2] == 'G ':
            do_get(c, data[2:])
        elif data[:2] == 'P ':
            do_put(c, data[2:])
        else:
            c.send(b'unknown command')


def main():
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    s = socket()
    s.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)
    s.bind(ADDR)
    s.listen(5)
    print('Listen the port %d...' % PORT)
    while True:
        try:
            c, addr = s.accept()
        except InterruptedError:
            continue
        pid = os.fork()
        if pid == 0:
            s.close()
            do_child(c)
        else:
            c.close()


main()
