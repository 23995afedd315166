"""File server, FAULTY sample "ftp-words-spins" of the FTP-words family (dialect ftp-words):
LIST / RETR name / STOR name / EXIT. LIST is answered `OK`, then the names joined by `#` in
one send; RETR with `OK`, the file in 1024-byte chunks and `##` on its own after a sleep;
STOR with `OK`, then the client's chunks until one recv is exactly `##`. Started as
`python3 server.py 0.0.0.0 <port>`; the library /home/tarena/桌面/ftp/ is hard-coded, as in
ftp-words-correct; but a process per client (fork, SIGCHLD ignored so the kernel reaps the
children) instead of a thread.

The fault: the STOR loop only ever looks for `##`, never for the end of the connection.
When a client vanishes in the middle of an upload, recv() returns b'' at once, forever: the
child spins at 100% CPU, holding its connection and its temporary file, while the server
goes on serving everyone else (what most of the course's servers do).

Expected: disconnect fails (handlers found spinning, their temporary files left); every
other server check passes. The stalled uploader of `concurrent` leaves with the OK unread,
which resets the connection: recv() raises instead of returning b'', so that child ends.
"""
import os
import sys
import time
import signal
from socket import *

FTP = '/home/tarena/桌面/ftp/'


def bad(filename):
    return filename in ('', '.', '..') or '/' in filename or filename.startswith('.')


def list_files(connfd):
    files = [f for f in os.listdir(FTP)
             if not f.startswith('.') and os.path.isfile(FTP + f) and not os.path.islink(FTP + f)]
    connfd.send(b'OK')
    time.sleep(0.1)
    connfd.send('#'.join(files).encode())


def retr(connfd, filename):
    if bad(filename) or os.path.islink(FTP + filename) or not os.path.isfile(FTP + filename):
        connfd.send('550 没有该文件'.encode())
        return
    connfd.send(b'OK')
    time.sleep(0.1)
    fd = open(FTP + filename, 'rb')
    while True:
        data = fd.read(1024)
        if not data:
            break
        connfd.sendall(data)
    fd.close()
    time.sleep(0.1)
    connfd.send(b'##')


def stor(connfd, filename):
    if bad(filename) or os.path.isdir(FTP + filename) or os.path.islink(FTP + filename):
        connfd.send(b'553 bad file name')
        return
    tmp = FTP + '.' + filename + '.stor'
    fd = open(tmp, 'wb')
    connfd.send(b'OK')
    try:
        while True:
            data = connfd.recv(1024)
            if data == b'##':
                break
            fd.write(data)
    except Exception:
        fd.close()
        os.remove(tmp)
        raise
    fd.close()
    os.rename(tmp, FTP + filename)


def handle(connfd):
    while True:
        request = connfd.recv(1024)
        if not request:
            break
        request = request.decode()
        if request == 'EXIT':
            break
        cmd = request.split(' ', 1)
        if cmd[0] == 'LIST':
            list_files(connfd)
        elif cmd[0] == 'RETR' and len(cmd) == 2:
            retr(connfd, cmd[1])
        elif cmd[0] == 'STOR' and len(cmd) == 2:
            stor(connfd, cmd[1])
        else:
            connfd.send(b'500 command not understood')


def main():
    if len(sys.argv) != 3:
        print('usage: python3 server.py HOST PORT')
        sys.exit(1)
    HOST = sys.argv[1]
    PORT = int(sys.argv[2])
    sockfd = socket(AF_INET, SOCK_STREAM)
    sockfd.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)
    sockfd.bind((HOST, PORT))
    sockfd.listen(5)
    # 处理僵尸进程
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    print('Listen the port %d...' % PORT)
    while True:
        try:
            connfd, addr = sockfd.accept()
        except KeyboardInterrupt:
            sockfd.close()
            sys.exit('服务器退出')
        except Exception as e:
            print(e)
            continue
        print('客户端登录:', addr)
        pid = os.fork()
        if pid == 0:
            sockfd.close()
            try:
                handle(connfd)
            except Exception as e:
                print(e)
            connfd.close()
            os._exit(0)
        else:
            connfd.close()


if __name__ == '__main__':
    main()
