"""File server, CORRECT sample "macos-library": a course written on a Mac. The library is
the teacher's own folder, hard-coded: '/Users/apple/Desktop/test/', a path whose top
directory (`/Users`) does not exist on Linux. The course's most common protocol family
(dialect lgpq-hash): L / G name / P name / Q, each one send; OK before the data; `##` sent
on its own after a sleep ends a download or an upload; the listing is the names joined by
`#`. Written with socketserver (a thread per client), paths with os.path.join.

The grader gives the server a root of its own in which the teacher's path holds the
seeded library; nothing is made on the machine.

Expected: every server check passes (where the grader can make that root; where it cannot,
server-start fails naming the path and why).
"""
import os
import signal
import socketserver
import sys
import time

HOST = '0.0.0.0'
PORT = 8888
BASE_DIR = '/Users/apple/Desktop/test/'


def safe(name):
    # no hidden files, no paths
    return name != '' and not name.startswith('.') and os.path.basename(name) == name


def files_in_library():
    names = []
    for name in sorted(os.listdir(BASE_DIR)):
        path = os.path.join(BASE_DIR, name)
        if name.startswith('.') or os.path.islink(path):
            continue
        if os.path.isfile(path):
            names.append(name)
    return names


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        print('client connected:', self.client_address)
        while True:
            msg = self.request.recv(1024)
            if not msg:
                break
            cmd = msg.decode()
            if cmd == 'Q':
                break
            elif cmd == 'L':
                self.request.send(b'OK')
                time.sleep(0.1)
                self.request.send('#'.join(files_in_library()).encode())
            elif cmd.startswith('G '):
                self.send_file(cmd[2:])
            elif cmd.startswith('P '):
                if not self.recv_file(cmd[2:]):
                    break
            else:
                self.request.send(b'unknown command')
        print('client left:', self.client_address)

    def send_file(self, name):
        path = os.path.join(BASE_DIR, name)
        if not safe(name) or os.path.islink(path) or not os.path.isfile(path):
            self.request.send(b'file not found')
            return
        with open(path, 'rb') as f:
            self.request.send(b'OK')
            time.sleep(0.1)
            while True:
                chunk = f.read(4096)
                if not chunk:
                    break
                self.request.sendall(chunk)
        time.sleep(0.1)
        self.request.send(b'##')

    def recv_file(self, name):
        path = os.path.join(BASE_DIR, name)
        if not safe(name) or os.path.isdir(path) or os.path.islink(path):
            self.request.send(b'bad file name')
            return True
        part = os.path.join(BASE_DIR, '.' + name + '.uploading')
        with open(part, 'wb') as f:
            self.request.send(b'OK')
            while True:
                chunk = self.request.recv(4096)
                if not chunk:
                    break
                if chunk == b'##':
                    f.close()
                    os.replace(part, path)
                    return True
                f.write(chunk)
        # the client went away in the middle: keep the old file
        os.remove(part)
        return False


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


def stop(signum, frame):
    sys.exit(0)


if __name__ == '__main__':
    signal.signal(signal.SIGTERM, stop)
    with Server((HOST, PORT), Handler) as server:
        print('serving', BASE_DIR, 'on port', PORT)
        server.serve_forever()
