"""File server, FAULTY sample "ldu-lists-hidden" of the L / D name / U name / Q family
(dialect ldu): otherwise ldu-correct (OK, listing lines then `##`; downloads and uploads
ended by `##` on its own; fork per client, SIGCHLD ignored; port 8700, library
/home/tarena/ftp/).

The fault: L lists everything os.listdir() returns: hidden files, directories and symbolic
links too, sorted (downloads still refuse them).

Expected: list fails; every other server check passes.
"""
import os
import signal
import sys
import time
from socket import socket, SOL_SOCKET, SO_REUSEADDR

HOST = '0.0.0.0'
PORT = 8700
FILE_PATH = '/home/tarena/ftp/'


def bad_name(name):
    return name == '' or '/' in name or name[0] == '.'


def do_list(c):
    file_list = sorted(os.listdir(FILE_PATH))
    names = ''
    for f in file_list:
        names += f + '\n'
    c.send(b'OK')
    time.sleep(0.1)
    if names:
        c.send(names.encode())
        time.sleep(0.1)
    c.send(b'##')


def do_download(c, name):
    p = FILE_PATH + name
    if bad_name(name) or os.path.islink(p) or not os.path.isfile(p):
        c.send('下载失败: 文件不存在'.encode())
        return
    try:
        f = open(p, 'rb')
    except IOError:
        c.send(b'download failed')
        return
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


def do_upload(c, name):
    p = FILE_PATH + name
    if bad_name(name) or os.path.isdir(p) or os.path.islink(p):
        c.send(b'upload failed: bad file name')
        return True
    tmp = FILE_PATH + '.uploading.' + str(os.getpid())
    f = open(tmp, 'wb')
    c.send(b'OK')
    try:
        while True:
            data = c.recv(1024)
            if not data:
                raise ConnectionError('client gone')
            if data == b'##':
                break
            f.write(data)
    except OSError:
        # the client went away in the middle: drop the half file
        f.close()
        os.remove(tmp)
        return False
    f.close()
    os.rename(tmp, p)
    return True


def handle(c):
    while True:
        data = c.recv(1024)
        if not data:
            break
        cmd = data.decode().split(' ', 1)
        if cmd[0] == 'L':
            do_list(c)
        elif cmd[0] == 'D' and len(cmd) == 2:
            do_download(c, cmd[1])
        elif cmd[0] == 'U' and len(cmd) == 2:
            if not do_upload(c, cmd[1]):
                break
        elif cmd[0] in ('Q', 'E'):
            break
        else:
            c.send(b'unknown command')
    c.close()


def main():
    s = socket()
    s.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)
    s.bind((HOST, PORT))
    s.listen(5)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda sig, frame: sys.exit(0))
    print('Listen the port %d...' % PORT)
    while True:
        try:
            c, addr = s.accept()
        except KeyboardInterrupt:
            s.close()
            sys.exit('server exit')
        except InterruptedError:
            continue
        print('Connect from', addr)
        pid = os.fork()
        if pid == 0:
            s.close()
            try:
                handle(c)
            except Exception as e:
                print(e)
            os._exit(0)
        else:
            c.close()


if __name__ == '__main__':
    main()
