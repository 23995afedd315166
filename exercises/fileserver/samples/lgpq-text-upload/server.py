"""File server, FAULTY sample "lgpq-text-upload" of the course's most common protocol family
(dialect lgpq-hash): L / G name / P name / Q, each one send; OK before the data; the end of
a download or an upload is `##` sent as its own message after a sleep; the listing is the
names joined by `#`. The port and library are hard-coded as in the course's handouts; a
thread per client.

The fault: each uploaded chunk is decoded as UTF-8 and written to a file opened in
text mode; a binary upload raises UnicodeDecodeError, the handler ends and the upload
is lost.

Expected: put-binary and put-large fail; every other server check passes.
"""
from socket import *
from threading import Thread
import os, sys, time, signal

ADDR = ('0.0.0.0', 8888)
FTP = '/home/tarena/ftp/'


def check_name(name):
    if name == '' or '/' in name or name.startswith('.'):
        return False
    return True


class FtpServer(object):
    def __init__(self, c):
        self.c = c

    def do_list(self):
        files = []
        for f in os.listdir(FTP):
            if not f.startswith('.') and os.path.isfile(FTP + f) and not os.path.islink(FTP + f):
                files.append(f)
        self.c.send(b'OK')
        time.sleep(0.1)
        self.c.send('#'.join(files).encode())

    def do_get(self, filename):
        if not check_name(filename) or os.path.islink(FTP + filename) or not os.path.isfile(FTP + filename):
            self.c.send('文件不存在'.encode())
            return
        fd = open(FTP + filename, 'rb')
        self.c.send(b'OK')
        time.sleep(0.1)
        while True:
            data = fd.read(1024)
            if not data:
                break
            self.c.sendall(data)
        fd.close()
        time.sleep(0.1)
        self.c.send(b'##')

    def do_put(self, filename):
        if not check_name(filename) or os.path.isdir(FTP + filename) or os.path.islink(FTP + filename):
            self.c.send('文件名不合法'.encode())
            return
        tmp = FTP + '.' + filename + '.part'
        fd = open(tmp, 'w')
        self.c.send(b'OK')
        try:
            while True:
                data = self.c.recv(1024)
                if not data:
                    fd.close()
                    os.remove(tmp)
                    return 'gone'
                if data == b'##':
                    break
                fd.write(data.decode())
        except (UnicodeDecodeError, OSError):
            fd.close()
            os.remove(tmp)
            raise
        fd.close()
        os.rename(tmp, FTP + filename)


def handle(c):
    ftp = FtpServer(c)
    try:
        serve(c, ftp)
    except Exception as e:
        print('error:', e)
    c.close()


def serve(c, ftp):
    while True:
        data = c.recv(1024).decode()
        if not data or data == 'Q':
            break
        if data == 'L':
            ftp.do_list()
        elif data[:2] == 'G ':
            ftp.do_get(data[2:])
        elif data[:2] == 'P ':
            if ftp.do_put(data[2:]) == 'gone':
                break
        else:
            c.send(b'unknown command')


def main():
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    s = socket()
    s.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)
    s.bind(ADDR)
    s.listen(5)
    print('Listen the port 8888...')
    while True:
        c, addr = s.accept()
        print('Connect from', addr)
        t = Thread(target=handle, args=(c,))
        t.daemon = True
        t.start()


main()
