"""File server, CORRECT sample "numbered-relists" of the two-step numbered family (dialect
numbered), written the way most course servers are: `G` reads the directory again (sorted
by name) and takes the entry at the number the client sends, so the numbers are only right
while nobody adds a file between the client's `L` and its `G` (concurrent-up-1.bin sorts
before concurrent.bin).
`L` is answered with `1:name` lines and then `##` after a pause; `G`, then the number, with
the file (no OK first) in 10240-byte chunks and `##` after a pause, or `ERR ...`; `P`, then
the name, with `OK` (the data follows until one recv is exactly `##`), or `ERR ...` when the
name exists already. A thread per client; port 6699 and the library /home/tarena/ftp
hard-coded.

Expected: every server check passes, however loaded the machine is (the grader's concurrent
uploads do not land between a download's L and its G).
"""
import os
import sys
import time
import signal
import socket
import threading

HOST = '0.0.0.0'
PORT = 6699
BASE = '/home/tarena/ftp'


def names():
    out = []
    for n in sorted(os.listdir(BASE)):
        p = os.path.join(BASE, n)
        if n[0] != '.' and os.path.isfile(p) and not os.path.islink(p):
            out.append(n)
    return out


class Handler(threading.Thread):
    def __init__(self, conn):
        super().__init__(daemon=True)
        self.conn = conn

    def do_list(self):
        lines = ''.join('%d:%s\n' % (i, n) for i, n in enumerate(names(), 1))
        if lines:
            self.conn.send(lines.encode('utf-8'))
            time.sleep(0.1)
        self.conn.send(b'##')

    def do_get(self):
        which = self.conn.recv(1024).decode().strip()
        fs = names()  # the directory again, as it is now
        try:
            name = fs[int(which) - 1]
            if int(which) < 1:
                raise IndexError
        except (ValueError, IndexError):
            self.conn.send(b'ERR no file with that number')
            return
        with open(os.path.join(BASE, name), 'rb') as f:
            while True:
                chunk = f.read(10240)
                if not chunk:
                    break
                self.conn.sendall(chunk)
        time.sleep(0.1)
        self.conn.send(b'##')

    def do_put(self):
        name = self.conn.recv(1024).decode()
        if not name or name.startswith('.') or '/' in name or '\0' in name:
            self.conn.send(b'ERR bad file name')
            return True
        path = os.path.join(BASE, name)
        if os.path.lexists(path):
            self.conn.send(b'ERR file exists')
            return True
        part = os.path.join(BASE, '.%s.%d.part' % (name, threading.get_ident()))
        self.conn.send(b'OK')
        done = False
        try:
            with open(part, 'wb') as f:
                while True:
                    data = self.conn.recv(10240)
                    if not data:
                        return False
                    if data == b'##':
                        break
                    f.write(data)
            os.rename(part, path)
            done = True
            return True
        finally:
            if not done and os.path.exists(part):
                os.remove(part)

    def run(self):
        try:
            while True:
                cmd = self.conn.recv(1024)
                if not cmd or cmd == b'Q':
                    break
                if cmd == b'L':
                    self.do_list()
                elif cmd == b'G':
                    self.do_get()
                elif cmd == b'P':
                    if not self.do_put():
                        break
                else:
                    self.conn.send(b'ERR what?')
        except OSError:
            pass
        finally:
            self.conn.close()


def main():
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((HOST, PORT))
    sock.listen(10)
    while True:
        conn, _ = sock.accept()
        Handler(conn).start()


if __name__ == '__main__':
    main()
