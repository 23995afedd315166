"""FTP client, FAULTY sample "lgpq-text-client" of the course's most common protocol family
(dialect lgpq-hash: L / G name / P name / Q, OK, `##` on its own ends the data, names joined
by `#`). Port 8888 hard-coded; menu `list`, `get NAME`, `put NAME`, `quit` at `ftp> `.

The fault: downloads are decoded as UTF-8 and written in text mode, so a binary file
loses the bytes that are not valid UTF-8 (uploads are read in binary mode and are right).

Expected: client-get-binary and client-get-large fail; every other client check passes
(there is no server: its checks are skipped).
"""
from socket import *
import sys, time, os

ADDR = ('127.0.0.1', 8888)

def do_list(s):
    s.send(b'L')
    data = s.recv(1024)
    if data != b'OK':
        print('list failed')
        return
    data = s.recv(4096)
    for n in data.decode().split('#'):
        print(n)

def do_get(s, name):
    s.send(('G ' + name).encode())
    data = s.recv(1024)
    if data != b'OK':
        print('no such file', name)
        return
    data = b''
    while True:
        d = s.recv(1024)
        if d == b'##':
            break
        data += d
    f = open(name, 'w')
    f.write(data.decode('utf-8', errors='ignore'))
    f.close()
    print('downloaded', name)

def do_put(s, name):
    try:
        f = open(name, 'rb')
    except IOError:
        print('no local file')
        return
    s.send(('P ' + name).encode())
    data = s.recv(1024)
    if data != b'OK':
        print('refused')
        return
    while True:
        d = f.read(1024)
        if not d:
            time.sleep(0.1)
            s.send(b'##')
            break
        s.send(d)
    f.close()
    print('uploaded', name)

def main():
    s = socket()
    s.connect(ADDR)
    while True:
        try:
            cmd = input('ftp> ').strip()
        except EOFError:
            s.send(b'Q')
            sys.exit(0)
        if cmd == 'list':
            do_list(s)
        elif cmd.startswith('get '):
            do_get(s, cmd[4:])
        elif cmd.startswith('put '):
            do_put(s, cmd[4:])
        elif cmd == 'quit':
            s.send(b'Q')
            s.close()
            sys.exit(0)

main()
