"""File server, FAULTY sample "lgpq-per-send-dies-on-disconnect" of the L/G/P/Q family whose
listing is one send per name (dialect lgpq-per-send): L is answered `OK`, then each name as
its own send after a 0.1 s sleep, then `##`; G name with `OK`, the file in 1024-byte chunks
and `##` on its own after a sleep; P name with `OK`, then the client's chunks until one recv
is exactly `##`. Port 8888 and the library /home/tarena/ftp/ are hard-coded, as in
lgpq-per-send-correct; but a thread per client instead of a double fork.

The fault: the handler was moved from the forked version into a thread and kept its
`os._exit(0)` for a client that vanishes in the middle of an upload ("客户端异常退出"). In a
child process that ended only the child; in a thread it ends the whole server, every
other client with it. Clients that leave properly (Q, or closing between requests) do no
harm, and so does a connection reset (recv() raises; the thread ends): the stalled
uploader of `concurrent` leaves that way.

Expected: disconnect fails (the server died when a client vanished mid-upload); every
other server check passes.
"""
from socket import *
from threading import Thread
import os, sys, time, signal

HOST = '0.0.0.0'
PORT = 8888
ADDR = (HOST, PORT)
FTP = '/home/tarena/ftp/'


class FtpServer(Thread):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.daemon = True

    def bad(self, filename):
        return filename == '' or '/' in filename or filename[0] == '.'

    def do_list(self):
        files = os.listdir(FTP)
        self.c.send(b'OK')
        for f in files:
            if f[0] == '.' or os.path.islink(FTP + f) or not os.path.isfile(FTP + f):
                continue
            time.sleep(0.1)
            self.c.send(f.encode())
        time.sleep(0.1)
        self.c.send(b'##')

    def do_get(self, filename):
        if self.bad(filename) or os.path.islink(FTP + filename) \
                or not os.path.isfile(FTP + filename):
            self.c.send('文件不存在'.encode())
            return
        self.c.send(b'OK')
        time.sleep(0.1)
        with open(FTP + filename, 'rb') as f:
            while True:
                data = f.read(1024)
                if not data:
                    break
                self.c.sendall(data)
        time.sleep(0.1)
        self.c.send(b'##')

    def do_put(self, filename):
        if self.bad(filename) or os.path.isdir(FTP + filename) \
                or os.path.islink(FTP + filename):
            self.c.send('文件名不合法'.encode())
            return
        tmp = FTP + '.' + filename + '.tmp'
        f = open(tmp, 'wb')
        self.c.send(b'OK')
        try:
            while True:
                data = self.c.recv(1024)
                if not data:
                    f.close()
                    os.remove(tmp)
                    print('客户端异常退出')
                    os._exit(0)
                if data == b'##':
                    break
                f.write(data)
        except Exception:
            f.close()
            os.remove(tmp)
            raise
        f.close()
        os.rename(tmp, FTP + filename)

    def run(self):
        try:
            while True:
                data = self.c.recv(1024).decode()
                if not data or data == 'Q':
                    break
                if data == 'L':
                    self.do_list()
                elif data[:2] == 'G ':
                    self.do_get(data[2:])
                elif data[:2] == 'P ':
                    self.do_put(data[2:])
                else:
                    self.c.send(b'wrong request')
        except Exception as e:
            print(e)
        self.c.close()


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
        print('Connect from', addr)
        FtpServer(c).start()


main()
