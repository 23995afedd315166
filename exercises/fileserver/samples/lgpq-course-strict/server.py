"""File server, sample "lgpq-course-strict": the course's own kind of server for the
lgpq-hash protocol, written as the course writes it, a thread per client this time: the
listing filtered with os.path.isfile (the seeded symbolic link link-to-secret is listed and
served), uploads written in place with open(path, 'wb'), no SIGTERM handler, and an upload
loop that waits for b'##' without testing for b'' (a vanished uploader leaves its thread
spinning, and its partial file).

Graded with the exact protocol's policy stated in its config (every requirement of the
exercise's README, over the course's dialect): list fails for the link, concurrent for the
downloads that the stalled in-place upload truncated, disconnect for the damaged file, the
partial file and the spinning handlers, cleanup for the end by SIGTERM; traversal fails
for serving the link, as under any policy.
"""
import os
import socket
import sys
import threading
import time

FILE_PATH = '/home/tarena/ftp/'


class Handler(threading.Thread):
    def __init__(self, conn):
        super().__init__()
        self.conn = conn
        self.daemon = True

    def run(self):
        while True:
            msg = self.conn.recv(1024).decode()
            if not msg or msg == 'Q':
                break
            cmd = msg.split(' ', 1)
            if cmd[0] == 'L':
                self.list_files()
            elif cmd[0] == 'G' and len(cmd) == 2:
                self.send_file(cmd[1])
            elif cmd[0] == 'P' and len(cmd) == 2:
                self.recv_file(cmd[1])
        self.conn.close()

    def list_files(self):
        names = [n for n in os.listdir(FILE_PATH)
                 if not n.startswith('.') and os.path.isfile(os.path.join(FILE_PATH, n))]
        self.conn.send(b'OK')
        time.sleep(0.1)
        self.conn.send('#'.join(names).encode())

    def send_file(self, name):
        path = os.path.join(FILE_PATH, name)
        if '/' in name or name.startswith('.') or not os.path.isfile(path):
            self.conn.send('文件不存在'.encode())
            return
        self.conn.send(b'OK')
        time.sleep(0.1)
        with open(path, 'rb') as f:
            while True:
                data = f.read(4096)
                if not data:
                    break
                self.conn.sendall(data)
        time.sleep(0.1)
        self.conn.send(b'##')

    def recv_file(self, name):
        if '/' in name or name.startswith('.') or os.path.isdir(os.path.join(FILE_PATH, name)):
            self.conn.send('文件名不合法'.encode())
            return
        f = open(os.path.join(FILE_PATH, name), 'wb')
        self.conn.send(b'OK')
        while True:
            data = self.conn.recv(4096)
            if data == b'##':
                break
            f.write(data)
        f.close()


def main():
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(('127.0.0.1', 8888))
    sock.listen(10)
    print('等待连接...')
    while True:
        conn, addr = sock.accept()
        print('连接来自', addr)
        Handler(conn).start()


if __name__ == '__main__':
    main()
