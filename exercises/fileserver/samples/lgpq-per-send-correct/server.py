"""File server, CORRECT sample "lgpq-per-send-correct" of the L/G/P/Q family whose listing is
one send per name (dialect lgpq-per-send): L is answered `OK`, then each name as its own
send after a 0.1 s sleep, then `##`; G name with `OK`, the file in 1024-byte chunks and `##`
on its own after a sleep; P name with `OK`, then the client's chunks until one recv is
exactly `##`. Port 8888 and the library /home/tarena/ftp/ are hard-coded; a process per
client by double fork (the child exits at once and is waited for; the grandchild serves).

Expected: every server check passes.
"""
from socket import *
import os, sys, time, signal

ADDR = ('0.0.0.0', 8888)
FTP = '/home/tarena/ftp/'


def do_list(c):
    files = os.listdir(FTP)
    c.send(b'OK')
    for f in files:
        if f[0] != '.' and os.path.isfile(FTP + f) and not os.path.islink(FTP + f):
            time.sleep(0.1)
            c.send(f.encode())
    time.sleep(0.1)
    c.send(b'##')


def do_get(c, filename):
    if filename == '' or '/' in filename or filename[0] == '.' \
            or os.path.islink(FTP + filename) or not os.path.isfile(FTP + filename):
        c.send('文件不存在'.encode())
        return
    f = open(FTP + filename, 'rb')
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
    if filename == '' or '/' in filename or filename[0] == '.' \
            or os.path.isdir(FTP + filename) or os.path.islink(FTP + filename):
        c.send('文件名不合法'.encode())
        return True
    tmp = FTP + '.' + filename + '.tmp'
    f = open(tmp, 'wb')
    c.send(b'OK')
    while True:
        try:
            data = c.recv(1024)
        except OSError:
            data = b''
        if not data:
            f.close()
            os.remove(tmp)
            return False
        if data == b'##':
            break
        f.write(data)
    f.close()
    os.rename(tmp, FTP + filename)
    return True


def do_request(c):
    while True:
        data = c.recv(1024).decode()
        if not data or data == 'Q':
            return
        elif data == 'L':
            do_list(c)
        elif data[0] == 'G' and data[1:2] == ' ':
            do_get(c, data[2:])
        elif data[0] == 'P' and data[1:2] == ' ':
            if not do_put(c, data[2:]):
                return
        else:
            c.send(b'wrong request')


def main():
    s = socket()
    s.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)
    s.bind(ADDR)
    s.listen(5)
    signal.signal(signal.SIGTERM, lambda a, b: sys.exit(0))
    print('Listen the port 8888...')
    while True:
        try:
            c, addr = s.accept()
        except KeyboardInterrupt:
            sys.exit('退出服务器')
        pid = os.fork()
        if pid == 0:
            pid2 = os.fork()
            if pid2 == 0:
                s.close()
                try:
                    do_request(c)
                except Exception as e:
                    print(e)
                c.close()
                os._exit(0)
            os._exit(0)
        else:
            c.close()
            os.wait()


main()
