"""FTP client for ok-words-per-command: l / g name / p name / q; `l` and `g` are answered
`ok`, `p` is answered `OK` (checked exactly: the course's client compares the whole reply).
The prompt is `>>> `; the file name follows the command on the same line. Downloads end
with `--` sent on its own after a pause; so do uploads.

Expected: every client check passes against a server speaking the same words.
"""
import os
import socket
import sys
import time

s = socket.socket()
s.connect(('127.0.0.1', 65321))


def recv_quiet(first_wait=5.0, gap=0.3):
    """Everything until the server is quiet."""
    s.settimeout(first_wait)
    got = b''
    try:
        while True:
            d = s.recv(4096)
            if not d:
                break
            got += d
            s.settimeout(gap)
    except socket.timeout:
        pass
    s.settimeout(None)
    return got


while True:
    try:
        line = input('>>> ').strip()
    except EOFError:
        line = 'q'
    if line == 'q':
        s.send(b'q')
        s.close()
        print('bye')
        sys.exit(0)
    if line == 'l':
        s.send(b'l')
        reply = recv_quiet()
        if reply[:2] != b'ok':
            print('error:', reply.decode(errors='replace'))
            continue
        print(reply[2:].decode(errors='replace'))
    elif line.startswith('g '):
        name = line[2:].strip()
        s.send(('g ' + name).encode())
        head = s.recv(2)
        if head != b'ok':
            print('error:', (head + recv_quiet(0.3)).decode(errors='replace'))
            continue
        data = b''
        while True:
            part = recv_quiet()
            if not part:
                print('connection lost')
                sys.exit(1)
            data += part
            if data.endswith(b'--'):
                break
        with open(os.path.basename(name), 'wb') as f:
            f.write(data[:-2])
        print('saved', os.path.basename(name), len(data) - 2, 'bytes')
    elif line.startswith('p '):
        path = line[2:].strip()
        try:
            f = open(path, 'rb')
        except OSError:
            print('no such local file:', path)
            continue
        s.send(('p ' + os.path.basename(path)).encode())
        if s.recv(1024) != b'OK':
            print('upload refused')
            f.close()
            continue
        while True:
            chunk = f.read(4096)
            if not chunk:
                break
            s.sendall(chunk)
        f.close()
        time.sleep(0.3)
        s.send(b'--')
        print('sent', os.path.basename(path))
    elif line:
        print('commands: l, g NAME, p NAME, q')
