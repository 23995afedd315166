"""File server, CORRECT sample "length-correct" of the length-prefixed two-step family
(dialect length): L is answered `Y` and then the names joined by commas; D, then the name
as a second message, is answered `Y <size>` and then exactly size bytes, or `N`; U, then
`<size> <name>` as a second message, is answered `Y`, takes exactly size bytes and answers
`Y` once the file is stored. Q ends the connection. Port 9966 and the library at
/home/tarena/桌面/love/ are hard-coded; a thread per client.

Expected: every server check passes.
"""
import os
import signal
import socket
import sys
import time
from threading import Thread

PATH = '/home/tarena/桌面/love/'


def valid(name):
    return len(name) > 0 and '/' not in name and name[0] != '.'


def do_list(c):
    names = []
    for n in os.listdir(PATH):
        full = os.path.join(PATH, n)
        if n[0] != '.' and os.path.isfile(full) and not os.path.islink(full):
            names.append(n)
    c.send(b'Y')
    time.sleep(0.1)
    c.send(','.join(names).encode())


def do_download(c):
    name = c.recv(1024).decode()
    full = os.path.join(PATH, name)
    if not valid(name) or not os.path.isfile(full) or os.path.islink(full):
        c.send(b'N')
        return
    size = os.path.getsize(full)
    c.send(('Y %d' % size).encode())
    time.sleep(0.1)
    with open(full, 'rb') as f:
        while True:
            b = f.read(4096)
            if not b:
                break
            c.sendall(b)


def do_upload(c):
    head = c.recv(1024).decode()
    size, _, name = head.partition(' ')
    full = os.path.join(PATH, name)
    if not size.isdigit() or not valid(name) or os.path.isdir(full) or os.path.islink(full):
        c.send(b'N')
        return True
    size = int(size)
    tmp = os.path.join(PATH, '.tmp-' + name)
    c.send(b'Y')
    got = 0
    with open(tmp, 'wb') as f:
        while got < size:
            b = c.recv(min(65536, size - got))
            if not b:
                break
            f.write(b)
            got += len(b)
    if got < size:
        os.remove(tmp)
        return False
    os.rename(tmp, full)
    c.send(b'Y')
    return True


def serve(c):
    try:
        while True:
            cmd = c.recv(1024)
            if cmd == b'L':
                do_list(c)
            elif cmd == b'D':
                do_download(c)
            elif cmd == b'U':
                if not do_upload(c):
                    break
            elif cmd == b'Q' or not cmd:
                break
            else:
                c.send(b'N')
    except OSError as e:
        print('client error', e)
    finally:
        c.close()


def main():
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(('127.0.0.1', 9966))
    s.listen(5)
    while True:
        c, _ = s.accept()
        Thread(target=serve, args=(c,), daemon=True).start()


main()
