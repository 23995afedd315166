"""File server, FAULTY sample "quit-ends-server": Q ends the whole server, not the connection.

Usage: python3 server.py <port> <library-dir>

A thread per client. The student read "Q: quit" as "the server quits": the handler first
tried sys.exit(), which only ends its own thread, and then os._exit(0), which ends the whole
process, every other client with it.

What the grader must get right: quit fails, saying that the whole server ended on Q; the
server is started again for cleanup, which passes (it exits on SIGTERM). Nothing else fails.

Expected failures: quit.
"""
from socket import socket, AF_INET, SOCK_STREAM, SOL_SOCKET, SO_REUSEADDR
from threading import Thread
import os
import signal
import sys


class Handler(Thread):
    def __init__(self, conn, folder):
        super().__init__(daemon=True)
        self.conn = conn
        self.folder = folder
        self.buf = b''

    def read_line(self):
        while b'\n' not in self.buf:
            if len(self.buf) > 4096:
                return None
            more = self.conn.recv(4096)
            if not more:
                return None
            self.buf += more
        line, _, self.buf = self.buf.partition(b'\n')
        return line

    def read_exact(self, n, out):
        # whatever came with the request line first
        take = self.buf[:n]
        self.buf = self.buf[n:]
        out.write(take)
        n -= len(take)
        while n > 0:
            data = self.conn.recv(min(n, 65536))
            if not data:
                return False
            out.write(data)
            n -= len(data)
        return True

    def bad(self, name):
        return (not name or name in ('.', '..') or name[0] == '.' or '/' in name
                or '\x00' in name)

    def run(self):
        try:
            self.serve()
        except OSError:
            pass
        finally:
            self.conn.close()

    def serve(self):
        while True:
            line = self.read_line()
            if line is None:
                return
            try:
                msg = line.decode().rstrip('\r')
            except UnicodeDecodeError:
                self.conn.sendall(b'ERR bad request\n')
                continue
            if msg == 'Q':
                self.conn.close()
                os._exit(0)
            elif msg == 'L':
                self.do_list()
            elif msg[:2] == 'G ':
                self.do_get(msg[2:])
            elif msg[:2] == 'P ':
                parts = msg[2:].split(' ', 1)
                if len(parts) != 2 or not parts[0].isdigit() or not parts[0].isascii():
                    self.conn.sendall(b'ERR bad request\n')
                elif not self.do_put(int(parts[0]), parts[1]):
                    return
            else:
                self.conn.sendall(b'ERR unknown request\n')

    def do_list(self):
        files = [f for f in os.listdir(self.folder)
                 if not f.startswith('.')
                 and os.path.isfile(os.path.join(self.folder, f))
                 and not os.path.islink(os.path.join(self.folder, f))]
        text = 'OK ' + str(len(files)) + '\n'
        for f in files:
            text += f + '\n'
        self.conn.sendall(text.encode())

    def do_get(self, name):
        path = os.path.join(self.folder, name)
        if self.bad(name) or os.path.islink(path) or not os.path.isfile(path):
            self.conn.sendall(b'ERR file not found\n')
            return
        with open(path, 'rb') as f:
            size = os.path.getsize(path)
            self.conn.sendall(b'OK ' + str(size).encode() + b'\n')
            while True:
                chunk = f.read(65536)
                if not chunk:
                    break
                self.conn.sendall(chunk)

    def do_put(self, size, name):
        path = os.path.join(self.folder, name)
        if self.bad(name) or os.path.isdir(path) or os.path.islink(path):
            self.conn.sendall(b'ERR invalid name\n')
            return True
        tmp = os.path.join(self.folder, '.tmp-%d-%s' % (self.ident, name))
        self.conn.sendall(b'OK\n')
        complete = False
        try:
            with open(tmp, 'wb') as out:
                complete = self.read_exact(size, out)
        finally:
            if not complete:
                os.remove(tmp)
        if not complete:
            return False
        os.rename(tmp, path)
        self.conn.sendall(b'OK\n')
        return True


def main():
    if len(sys.argv) != 3:
        print('usage: server.py PORT LIBRARY')
        sys.exit(1)
    port = int(sys.argv[1])
    folder = sys.argv[2]
    signal.signal(signal.SIGTERM, lambda s, f: sys.exit(0))
    signal.signal(signal.SIGINT, lambda s, f: sys.exit(0))
    server = socket(AF_INET, SOCK_STREAM)
    server.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)
    server.bind(('127.0.0.1', port))
    server.listen(10)
    print('listening on 127.0.0.1:' + str(port), flush=True)
    while True:
        conn, addr = server.accept()
        Handler(conn, folder).start()


main()
