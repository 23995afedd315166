"""FTP client for ldu-correct (dialect ldu: L / D name / U name / Q with OK; the listing is
lines, then `##` on its own; `##` on its own after a pause ends a download or an upload).
The server's port 8700 on this machine is hard-coded.

Menu: shell-like words typed at the prompt `[ftp] $ `, the file name on the same line:
    ls                  list the files on the server
    download <name>     download into the current directory
    upload <name>       upload a file of the current directory
    exit                leave (end of input does the same)
"""
import os
import socket
import sys
import time

SERVER = ('127.0.0.1', 8700)
END = b'##'


def recv_to_end(s, data=b''):
    """Everything up to the end marker: ## that nothing follows for a moment."""
    while True:
        if not data.endswith(END):
            chunk = s.recv(4096)
            if not chunk:
                raise ConnectionError('server closed the connection')
            data += chunk
        if data.endswith(END):
            s.settimeout(0.3)
            try:
                more = s.recv(4096)
            except socket.timeout:
                more = None
            finally:
                s.settimeout(None)
            if more is None:
                return data[:-2]
            if not more:
                raise ConnectionError('server closed the connection')
            data += more


def cmd_ls(s, arg):
    s.send(b'L')
    reply = s.recv(1024)
    if reply[:2] != b'OK':
        print('error:', reply.decode(errors='replace'))
        return
    names = recv_to_end(s, reply[2:]).decode()
    for name in names.split('\n'):
        if name:
            print(name)


def cmd_download(s, name):
    s.send(('D ' + name).encode())
    reply = s.recv(1024)
    if reply[:2] != b'OK':
        print('error:', reply.decode(errors='replace'))
        return
    local = os.path.basename(name)
    with open(local, 'wb') as f:
        first = reply[2:]
        # the file is written as it comes; the last two bytes wait until we know
        # whether they are the end marker
        pending = first
        while True:
            if pending.endswith(END):
                s.settimeout(0.3)
                try:
                    more = s.recv(4096)
                except socket.timeout:
                    more = None
                finally:
                    s.settimeout(None)
                if more is None:
                    f.write(pending[:-2])
                    break
                if not more:
                    raise ConnectionError('server closed the connection')
                pending += more
                continue
            f.write(pending[:-2])
            pending = pending[-2:]
            chunk = s.recv(4096)
            if not chunk:
                raise ConnectionError('server closed the connection')
            pending += chunk
    print('downloaded %s (%d bytes)' % (local, os.path.getsize(local)))


def cmd_upload(s, path):
    try:
        f = open(path, 'rb')
    except OSError as e:
        print('error: cannot open %s: %s' % (path, e.strerror))
        return
    name = os.path.basename(path)
    s.send(('U ' + name).encode())
    reply = s.recv(1024)
    if reply != b'OK':
        print('error:', reply.decode(errors='replace'))
        f.close()
        return
    sent = 0
    with f:
        for block in iter(lambda: f.read(4096), b''):
            s.sendall(block)
            sent += len(block)
    time.sleep(0.1)
    s.send(END)
    print('uploaded %s (%d bytes)' % (name, sent))


def cmd_exit(s, arg):
    try:
        s.send(b'Q')
    finally:
        s.close()
    sys.exit(0)


COMMANDS = {
    'ls': (cmd_ls, False),
    'download': (cmd_download, True),
    'upload': (cmd_upload, True),
    'exit': (cmd_exit, False),
}


def main():
    s = socket.socket()
    s.connect(SERVER)
    print('connected to %s:%d, commands: ls, download <name>, upload <name>, exit' % SERVER)
    while True:
        try:
            line = input('[ftp] $ ')
        except EOFError:
            print()
            cmd_exit(s, None)
        word, _, arg = line.strip().partition(' ')
        arg = arg.strip()
        if not word:
            continue
        if word not in COMMANDS:
            print('unknown command:', word)
            continue
        func, needs_arg = COMMANDS[word]
        if needs_arg and not arg:
            print('usage: %s <name>' % word)
            continue
        try:
            func(s, arg)
        except ConnectionError as e:
            print('error:', e)
            sys.exit(1)


if __name__ == '__main__':
    main()
