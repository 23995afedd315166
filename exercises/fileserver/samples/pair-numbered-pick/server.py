"""FTP server, pair sample "pair-numbered-pick" (with client.py): the two-step numbered
dialect. `L` is answered with `1:name` lines in the directory's own order (os.listdir, not
sorted: the numbers differ from the reference server's), then `##` as its own send; `G`,
then a number of the list this client saw last, is answered with that file itself and `##`;
`P`, then the name, `OK`, the data until a recv is exactly `##`. Port 6699 and the library
/home/tarena/ftp/ are hard-coded; a process per client (fork).

Expected: every pair check passes: the grader types the numbers this server lists.
"""
import os
import signal
import sys
import threading
import time
from socket import *

FTP_DIR = '/home/tarena/ftp/'
PORT = 6699


def file_list():
    fs = []
    for name in os.listdir(FTP_DIR):
        path = FTP_DIR + name
        if name.startswith('.') or os.path.islink(path) or not os.path.isfile(path):
            continue
        fs.append(name)
    return fs


def show_list(c):
    fs = file_list()
    msg = ''
    for i, name in enumerate(fs):
        msg += '%d:%s\n' % (i + 1, name)
    if msg:
        c.send(msg.encode())
        time.sleep(0.1)
    c.send(b'##')
    return fs


def get_file(c, fs):
    # the numbers are those of the list this client saw last
    num = c.recv(1024).decode().strip()
    if not num.isdigit() or not 1 <= int(num) <= len(fs):
        c.send(b'ERR no such number')
        return
    try:
        f = open(FTP_DIR + fs[int(num) - 1], 'rb')
    except IOError:
        c.send(b'ERR file is gone')
        return
    with f:
        while True:
            data = f.read(1024)
            if not data:
                break
            c.sendall(data)
    time.sleep(0.1)
    c.send(b'##')


def put_file(c):
    name = c.recv(1024).decode()
    path = FTP_DIR + name
    if name in ('', '.', '..') or name.startswith('.') or '/' in name:
        c.send(b'ERR bad name')
        return True
    if os.path.exists(path) or os.path.islink(path):
        c.send('ERR 文件已存在'.encode())
        return True
    tmp = FTP_DIR + '.part-%d-%s' % (os.getpid(), name)
    c.send(b'OK')
    with open(tmp, 'wb') as f:
        while True:
            try:
                data = c.recv(1024)
            except ConnectionError:
                data = b''
            if not data:
                f.close()
                os.unlink(tmp)
                return False
            if data == b'##':
                break
            f.write(data)
    os.rename(tmp, path)
    return True


def client_main(c):
    last = None
    while True:
        cmd = c.recv(1024)
        if not cmd or cmd == b'Q':
            break
        if cmd == b'L':
            last = show_list(c)
        elif cmd == b'G':
            get_file(c, last if last is not None else file_list())
        elif cmd == b'P':
            if not put_file(c):
                break
        else:
            c.send(b'ERR unknown command')
    c.close()


def reaper():
    while True:
        try:
            os.wait()
        except ChildProcessError:
            time.sleep(0.5)


def main():
    signal.signal(signal.SIGTERM, lambda s, f: sys.exit(0))
    s = socket(AF_INET, SOCK_STREAM)
    s.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)
    s.bind(('0.0.0.0', PORT))
    s.listen(5)
    threading.Thread(target=reaper, daemon=True).start()
    while True:
        c, addr = s.accept()
        pid = os.fork()
        if pid == 0:
            s.close()
            try:
                client_main(c)
            except Exception:
                pass
            os._exit(0)
        c.close()


main()
