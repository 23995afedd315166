"""File server, sample "lgpq-no-upload": the lecture's server before the upload lesson, in
the course's `##` protocol (dialect lgpq-hash). It lists, sends files and quits; a command
it does not know (`P name` among them) is read and dropped without a word, and the server
waits for the next one.

Expected: the list and download checks pass; every check that uploads fails, judged at once:
after `P name` the server waits for a command while nothing is on its way, so no reply can
come, and the later uploads are judged from the first (no 5 s wait per upload).
`cleanup` fails too: it has no SIGTERM handler, so SIGTERM kills it, which the exact
policy does not accept.
"""
from socket import *
from threading import Thread
import os
import time

ADDR = ('0.0.0.0', 8888)
FTP = '/home/tarena/ftp/'


class FtpServer:
    def __init__(self, connfd):
        self.connfd = connfd

    def do_list(self):
        file_list = [f for f in os.listdir(FTP)
                     if f[0] != '.' and os.path.isfile(FTP + f) and not os.path.islink(FTP + f)]
        self.connfd.send(b'OK')
        time.sleep(0.1)
        self.connfd.send('#'.join(file_list).encode())

    def do_get(self, filename):
        if '/' in filename or filename.startswith('.') or os.path.islink(FTP + filename):
            self.connfd.send('文件不存在'.encode())
            return
        try:
            fd = open(FTP + filename, 'rb')
        except Exception:
            self.connfd.send('文件不存在'.encode())
            return
        self.connfd.send(b'OK')
        time.sleep(0.1)
        while True:
            data = fd.read(1024)
            if not data:
                break
            self.connfd.sendall(data)
        fd.close()
        time.sleep(0.1)
        self.connfd.send(b'##')


def handle(connfd):
    ftp = FtpServer(connfd)
    while True:
        data = connfd.recv(1024).decode(errors='replace')
        if not data or data == 'Q':
            connfd.close()
            return
        elif data == 'L':
            ftp.do_list()
        elif data[:2] == 'G ':
            ftp.do_get(data[2:])


def main():
    sockfd = socket()
    sockfd.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)
    sockfd.bind(ADDR)
    sockfd.listen(5)
    print('Listen the port 8888...')
    while True:
        connfd, addr = sockfd.accept()
        t = Thread(target=handle, args=(connfd,))
        t.daemon = True
        t.start()


main()
