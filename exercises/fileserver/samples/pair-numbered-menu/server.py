"""FTP server, CORRECT pair sample "pair-numbered-menu" (with client.py): the course's own
dialect, not the exercise's protocol.

    LIST            -> OK, (pause) the names joined by newlines, (pause) ##
    DOWNLOAD name   -> OK, (pause) the file in 1024-byte chunks, (pause) ##   or an error text
    UPLOAD name     -> OK, then the client's bytes until a recv that is exactly ##
    QUIT            -> the connection ends

Port 8888 and the library /home/tarena/ftp/ are hard-coded; a thread per client.
config.toml tells the grader so, and turns pair mode on ("only": the grader does not know
this dialect, so it grades the pair end to end through the client's numbered menu).

Expected: every pair check passes.
"""
from socket import *
from threading import Thread
import os
import sys
import time

HOST = '0.0.0.0'
PORT = 8888
ADDR = (HOST, PORT)
FTP = '/home/tarena/ftp/'


class FtpServer(Thread):
    def __init__(self, connfd):
        super().__init__()
        self.connfd = connfd
        self.daemon = True

    def do_list(self):
        files = []
        for f in os.listdir(FTP):
            if f[0] != '.' and os.path.isfile(FTP + f):
                files.append(f)
        if not files:
            self.connfd.send('文件库为空'.encode())
            return
        self.connfd.send(b'OK')
        time.sleep(0.1)
        self.connfd.send('\n'.join(files).encode())
        time.sleep(0.1)
        self.connfd.send(b'##')

    def do_download(self, filename):
        try:
            f = open(FTP + filename, 'rb')
        except Exception:
            self.connfd.send('文件不存在'.encode())
            return
        self.connfd.send(b'OK')
        time.sleep(0.1)
        while True:
            data = f.read(1024)
            if not data:
                time.sleep(0.1)
                self.connfd.send(b'##')
                break
            self.connfd.sendall(data)
        f.close()

    def do_upload(self, filename):
        f = open(FTP + filename, 'wb')
        self.connfd.send(b'OK')
        while True:
            data = self.connfd.recv(1024)
            if data == b'##' or not data:
                break
            f.write(data)
        f.close()

    def run(self):
        while True:
            data = self.connfd.recv(1024).decode()
            if not data or data == 'QUIT':
                self.connfd.close()
                return
            elif data == 'LIST':
                self.do_list()
            elif data.startswith('DOWNLOAD '):
                self.do_download(data.split(' ', 1)[1])
            elif data.startswith('UPLOAD '):
                self.do_upload(data.split(' ', 1)[1])


def main():
    s = socket()
    s.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)
    s.bind(ADDR)
    s.listen(5)
    print('Listen the port 8888...')
    while True:
        try:
            c, addr = s.accept()
            print('Connect from', addr)
        except KeyboardInterrupt:
            sys.exit('退出服务器')
        t = FtpServer(c)
        t.start()


if __name__ == '__main__':
    main()
