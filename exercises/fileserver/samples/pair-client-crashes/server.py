"""FTP server, pair sample "pair-client-crashes" (with client.py): the course's dialect
(LIST / DOWNLOAD name / UPLOAD name / QUIT, ## end markers after pauses), a process per
client (fork, SIGCHLD ignored), port 8888 and the library /home/tarena/ftp/ hard-coded.
The server is right; the client is not (see client.py).
"""
import os
import signal
import socket
import sys
import time

FTP = '/home/tarena/ftp/'


def do_list(c):
    names = [n for n in os.listdir(FTP)
             if not n.startswith('.') and os.path.isfile(os.path.join(FTP, n))]
    c.send(b'OK')
    time.sleep(0.1)
    c.sendall('\n'.join(names).encode())
    time.sleep(0.1)
    c.send(b'##')


def do_download(c, name):
    path = FTP + name
    if not os.path.isfile(path):
        c.send('文件不存在'.encode())
        return
    c.send(b'OK')
    time.sleep(0.1)
    with open(path, 'rb') as f:
        while True:
            chunk = f.read(10240)
            if not chunk:
                break
            c.sendall(chunk)
    time.sleep(0.1)
    c.send(b'##')


def do_upload(c, name):
    c.send(b'OK')
    with open(FTP + name, 'wb') as f:
        while True:
            chunk = c.recv(10240)
            if not chunk or chunk == b'##':
                break
            f.write(chunk)


def handle(c):
    while True:
        req = c.recv(1024).decode()
        if not req or req == 'QUIT':
            break
        cmd, _, arg = req.partition(' ')
        if cmd == 'LIST':
            do_list(c)
        elif cmd == 'DOWNLOAD':
            do_download(c, arg)
        elif cmd == 'UPLOAD':
            do_upload(c, arg)
    c.close()


def main():
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(('0.0.0.0', 8888))
    s.listen(5)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    while True:
        try:
            c, addr = s.accept()
        except KeyboardInterrupt:
            sys.exit(0)
        pid = os.fork()
        if pid == 0:
            s.close()
            handle(c)
            os._exit(0)
        c.close()


main()
