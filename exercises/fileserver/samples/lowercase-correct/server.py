"""File server, CORRECT sample "lowercase-correct" of the lowercase family (dialect
lowercase): l / g name / p name / q. `l` is answered with the names, one per line, and no
end marker; `g name` with `ok`, the file in 10240-byte chunks and `--` on its own after a
sleep; `p name` with `ok`, then the client's chunks until one recv is exactly `--`. Port
65321 on 127.0.0.1 and the library file/ (relative to the working directory) are
hard-coded; a thread per client.

Expected: every server check passes.
"""
import os
import signal
import socket
import sys
import threading
import time

ADDR = ('127.0.0.1', 65321)
DIR = 'file/'
BUF = 10240


class Handler(threading.Thread):
    def __init__(self, conn):
        super().__init__(daemon=True)
        self.conn = conn

    def ok_name(self, name):
        return name not in ('', '.', '..') and '/' not in name and not name.startswith('.')

    def l(self):
        names = sorted(n for n in os.listdir(DIR)
                       if not n.startswith('.') and os.path.isfile(DIR + n)
                       and not os.path.islink(DIR + n))
        self.conn.send('\n'.join(names).encode())

    def g(self, name):
        if not self.ok_name(name) or not os.path.isfile(DIR + name) or os.path.islink(DIR + name):
            self.conn.send('没有这个文件'.encode())
            return
        self.conn.send(b'ok')
        time.sleep(0.1)
        with open(DIR + name, 'rb') as f:
            for chunk in iter(lambda: f.read(BUF), b''):
                self.conn.sendall(chunk)
        time.sleep(0.1)
        self.conn.send(b'--')

    def p(self, name):
        if not self.ok_name(name) or os.path.isdir(DIR + name) or os.path.islink(DIR + name):
            self.conn.send('文件名不对'.encode())
            return True
        part = DIR + '.' + name + '.tmp'
        self.conn.send(b'ok')
        done = False
        with open(part, 'wb') as f:
            while True:
                try:
                    data = self.conn.recv(1024)
                except OSError:
                    break
                if not data:
                    break
                if data == b'--':
                    done = True
                    break
                f.write(data)
        if done:
            os.replace(part, DIR + name)
        else:
            os.remove(part)
        return done

    def run(self):
        try:
            while True:
                req = self.conn.recv(1024).decode()
                if not req or req == 'q':
                    break
                if req == 'l':
                    self.l()
                elif req.startswith('g '):
                    self.g(req[2:])
                elif req.startswith('p '):
                    if not self.p(req[2:]):
                        break
                else:
                    self.conn.send(b'what?')
        except (OSError, UnicodeDecodeError):
            pass
        finally:
            self.conn.close()


def main():
    signal.signal(signal.SIGTERM, lambda *args: sys.exit(0))
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(ADDR)
    server.listen(10)
    while True:
        conn, addr = server.accept()
        Handler(conn).start()


if __name__ == '__main__':
    main()
