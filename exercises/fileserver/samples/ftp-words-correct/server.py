"""File server, CORRECT sample "ftp-words-correct" of the FTP-words family (dialect
ftp-words): LIST / RETR name / STOR name / EXIT. LIST is answered `OK`, then the names joined
by `#` in one send; RETR with `OK`, the file in 1024-byte chunks and `##` on its own after a
sleep; STOR with `OK`, then the client's chunks until one recv is exactly `##`. Started as
`python3 server.py 0.0.0.0 <port>`; the library /home/tarena/桌面/ftp/ is hard-coded; a
thread per client.

Expected: every server check passes.
"""
import os
import signal
import sys
import time
from socket import socket, SOL_SOCKET, SO_REUSEADDR
from threading import Thread

FTP = '/home/tarena/桌面/ftp/'


def legal(filename):
    if not filename or filename in ('.', '..'):
        return False
    return '/' not in filename and not filename.startswith('.')


class FTPServer:
    def __init__(self, connfd):
        self.connfd = connfd

    def do_list(self):
        names = []
        for f in os.listdir(FTP):
            full = os.path.join(FTP, f)
            if f[0] != '.' and os.path.isfile(full) and not os.path.islink(full):
                names.append(f)
        self.connfd.send(b'OK')
        time.sleep(0.1)
        self.connfd.send('#'.join(names).encode())

    def do_retr(self, filename):
        full = os.path.join(FTP, filename)
        if not legal(filename) or os.path.islink(full) or not os.path.isfile(full):
            self.connfd.send('550 文件不存在'.encode())
            return
        self.connfd.send(b'OK')
        time.sleep(0.1)
        with open(full, 'rb') as fd:
            while True:
                data = fd.read(1024)
                if not data:
                    break
                self.connfd.sendall(data)
        time.sleep(0.1)
        self.connfd.send(b'##')

    def do_stor(self, filename):
        full = os.path.join(FTP, filename)
        if not legal(filename) or os.path.isdir(full) or os.path.islink(full):
            self.connfd.send(b'553 file name not allowed')
            return True
        temp = os.path.join(FTP, '.stor-%s' % filename)
        fd = open(temp, 'wb')
        self.connfd.send(b'OK')
        while True:
            try:
                data = self.connfd.recv(1024)
            except ConnectionResetError:
                data = b''
            if not data:
                fd.close()
                os.remove(temp)
                return False
            if data == b'##':
                break
            fd.write(data)
        fd.close()
        os.replace(temp, full)
        return True

    def serve(self):
        while True:
            try:
                request = self.connfd.recv(1024).decode()
            except (OSError, UnicodeDecodeError):
                break
            if not request or request == 'EXIT':
                break
            cmd, _, arg = request.partition(' ')
            if cmd == 'LIST':
                self.do_list()
            elif cmd == 'RETR':
                self.do_retr(arg)
            elif cmd == 'STOR':
                if not self.do_stor(arg):
                    break
            else:
                self.connfd.send(b'500 unknown command')
        self.connfd.close()


def main():
    if len(sys.argv) < 3:
        print('usage: python3 server.py HOST PORT')
        return
    addr = (sys.argv[1], int(sys.argv[2]))
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    sockfd = socket()
    sockfd.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)
    sockfd.bind(addr)
    sockfd.listen(5)
    print('Listen the port', addr[1])
    while True:
        connfd, client = sockfd.accept()
        t = Thread(target=FTPServer(connfd).serve)
        t.setDaemon(True)
        t.start()


if __name__ == '__main__':
    main()
