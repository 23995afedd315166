"""FTP client for ftp-words-correct (dialect ftp-words: LIST / RETR name / STOR name / EXIT
with OK; the listing is the names joined by `#`, with no end marker; `##` on its own after
a pause ends a download or an upload).

Usage: python3 client.py HOST PORT

Menu: FTP-like words typed at the prompt `ftp> `, the file name on the same line:
    ls              list the server's files
    get <name>      RETR, saved in the current directory
    put <name>      STOR a file of the current directory
    bye             EXIT (so does end of input)
"""
import os
import socket
import sys
import time


def recv_quiet(sock, first_wait=1.0, gap=0.3):
    """What arrives until the server stays quiet for `gap` seconds (the listing has no end
    marker); waits up to `first_wait` for its beginning."""
    data = b''
    sock.settimeout(first_wait)
    try:
        while True:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
            sock.settimeout(gap)
    except socket.timeout:
        pass
    finally:
        sock.settimeout(None)
    return data


def ls(sock):
    sock.send(b'LIST')
    reply = sock.recv(1024)
    if not reply.startswith(b'OK'):
        print(reply.decode('utf-8', 'replace'))
        return
    names = reply[2:] + recv_quiet(sock)
    for n in names.decode().split('#'):
        if n:
            print(n)


def get(sock, name):
    sock.send(('RETR ' + name).encode())
    reply = sock.recv(1024)
    if not reply.startswith(b'OK'):
        print(reply.decode('utf-8', 'replace'))
        return
    filename = os.path.basename(name)
    n = 0
    with open(filename, 'wb') as fd:
        data = reply[2:]
        while True:
            if data.endswith(b'##'):
                more = recv_quiet(sock, first_wait=0.3)
                if not more:
                    # "##" and then silence: the end of the file
                    data = data[:-2]
                    fd.write(data)
                    n += len(data)
                    break
                data += more
                continue
            fd.write(data[:-2])
            n += len(data[:-2])
            data = data[-2:]
            chunk = sock.recv(1024)
            if not chunk:
                sys.exit('connection lost')
            data += chunk
    print('226 %s: %d bytes received' % (filename, n))


def put(sock, path):
    try:
        fd = open(path, 'rb')
    except OSError:
        print('local: %s: No such file or directory' % path)
        return
    name = os.path.basename(path)
    sock.send(('STOR ' + name).encode())
    reply = sock.recv(1024)
    if reply != b'OK':
        print(reply.decode('utf-8', 'replace'))
        fd.close()
        return
    n = 0
    while True:
        data = fd.read(1024)
        if not data:
            break
        sock.sendall(data)
        n += len(data)
    fd.close()
    time.sleep(0.1)
    sock.send(b'##')
    print('226 %s: %d bytes sent' % (name, n))


def main():
    if len(sys.argv) < 3:
        print('usage: python3 client.py HOST PORT')
        return
    sock = socket.socket()
    sock.connect((sys.argv[1], int(sys.argv[2])))
    print('Connected to %s.' % sys.argv[1])
    while True:
        try:
            line = input('ftp> ')
        except EOFError:
            line = 'bye'
        cmd, _, arg = line.strip().partition(' ')
        arg = arg.strip()
        if cmd == 'ls':
            ls(sock)
        elif cmd == 'get':
            if arg:
                get(sock, arg)
            else:
                print('usage: get <name>')
        elif cmd == 'put':
            if arg:
                put(sock, arg)
            else:
                print('usage: put <name>')
        elif cmd in ('bye', 'quit', 'exit'):
            sock.send(b'EXIT')
            sock.close()
            print('221 Goodbye.')
            break
        elif cmd:
            print('?Invalid command')


if __name__ == '__main__':
    main()
