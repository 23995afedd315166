"""File server, sample "lgpq-course-lenient": the course's own kind of server for the
lgpq-hash protocol (L / G name / P name / Q, OK before the data, `##` on its own ends it,
names joined by `#`), written as the course writes it: a forked process per client
(SIGCHLD ignored, so no zombies), the listing filtered with os.path.isfile (which follows
links, so the seeded symbolic link link-to-secret is listed and served), uploads written in
place with open(path, 'wb'), no SIGTERM handler (SIGTERM's default action ends it), and a
receive loop that waits for b'##' and never tests for b'' (a vanished uploader leaves its
process spinning, and its partial file).

Graded under its dialect's policy (lenient: what the course asks): list, concurrent,
disconnect and cleanup pass, each with a note saying what it saw beyond the course's
requirements; traversal fails, once, for serving the link that leads out of the library.
"""
from socket import *
import os, sys, time, signal

HOST = '0.0.0.0'
PORT = 8888
ADDR = (HOST, PORT)
FTP = '/home/tarena/ftp/'


def do_list(c):
    # 获取文件列表
    files = os.listdir(FTP)
    names = []
    for f in files:
        if f[0] != '.' and os.path.isfile(FTP + f):
            names.append(f)
    c.send(b'OK')
    time.sleep(0.1)
    c.send('#'.join(names).encode())


def do_get(c, filename):
    if '/' in filename or filename.startswith('.'):
        c.send('文件不存在'.encode())
        return
    try:
        fd = open(FTP + filename, 'rb')
    except Exception:
        c.send('文件不存在'.encode())
        return
    c.send(b'OK')
    time.sleep(0.1)
    while True:
        data = fd.read(1024)
        if not data:
            time.sleep(0.1)
            c.send(b'##')
            break
        c.send(data)
    fd.close()


def do_put(c, filename):
    if '/' in filename or filename.startswith('.') or os.path.isdir(FTP + filename):
        c.send('文件名不合法'.encode())
        return
    fd = open(FTP + filename, 'wb')
    c.send(b'OK')
    while True:
        data = c.recv(1024)
        if data == b'##':
            break
        fd.write(data)
    fd.close()


def do_request(c):
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


def main():
    s = socket()
    s.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)
    s.bind(ADDR)
    s.listen(5)
    # 处理僵尸进程
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    print('Listen the port 8888...')
    while True:
        try:
            c, addr = s.accept()
        except KeyboardInterrupt:
            s.close()
            sys.exit('服务器退出')
        except Exception as e:
            print(e)
            continue
        print('连接的客户端:', addr)
        pid = os.fork()
        if pid == 0:
            s.close()
            do_request(c)
        else:
            c.close()


main()
