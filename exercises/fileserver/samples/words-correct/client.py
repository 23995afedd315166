"""FTP client for words-correct (dialect words: LIST / DOWNLOAD name / UPLOAD name / QUIT
with OK; the listing is lines, then `##` on its own; `##` on its own after a pause ends a
download or an upload).

Usage: python3 client.py HOST PORT

Menu: the protocol's own words, typed at the prompt `Command: `, the file name on the same
line (upper or lower case):
    LIST                list the server's files
    DOWNLOAD <name>     save a file of the server in the current directory
    UPLOAD <name>       send a file of the current directory
    QUIT                leave (so does end of input)
"""
import os
import select
import socket
import sys
import time


class Client:
    def __init__(self, host, port):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.connect((host, port))

    def _idle(self):
        ready, _, _ = select.select([self.sock], [], [], 0.3)
        return not ready

    def _recv(self):
        data = self.sock.recv(1024)
        if not data:
            raise ConnectionError('the server closed the connection')
        return data

    def _read_until_marker(self, sink, data):
        # "##" counts as the end only at the end of what arrived, with nothing behind it
        while True:
            if data.endswith(b'##') and self._idle():
                sink(data[:-2])
                return
            if len(data) > 2:
                sink(data[:-2])
                data = data[-2:]
            data += self._recv()

    def _reply(self):
        data = self._recv()
        if data.startswith(b'OK'):
            return True, data[2:]
        return False, data.decode('utf-8', 'replace')

    def list(self):
        self.sock.send(b'LIST')
        ok, rest = self._reply()
        if not ok:
            print('Error:', rest)
            return
        parts = []
        self._read_until_marker(parts.append, rest)
        for name in b''.join(parts).decode().splitlines():
            if name.strip():
                print(name)

    def download(self, name):
        self.sock.send(('DOWNLOAD ' + name).encode())
        ok, rest = self._reply()
        if not ok:
            print('Error:', rest)
            return
        local = os.path.basename(name)
        with open(local, 'wb') as f:
            self._read_until_marker(f.write, rest)
        print('Downloaded %s (%d bytes)' % (local, os.path.getsize(local)))

    def upload(self, path):
        if not os.path.isfile(path):
            print('Error: no local file %s' % path)
            return
        name = os.path.basename(path)
        self.sock.send(('UPLOAD ' + name).encode())
        ok, rest = self._reply()
        if not ok:
            print('Error:', rest)
            return
        size = 0
        with open(path, 'rb') as f:
            while True:
                chunk = f.read(10240)
                if not chunk:
                    break
                self.sock.sendall(chunk)
                size += len(chunk)
        time.sleep(0.1)
        self.sock.send(b'##')
        print('Uploaded %s (%d bytes)' % (name, size))

    def quit(self):
        self.sock.send(b'QUIT')
        self.sock.close()


def main():
    if len(sys.argv) != 3:
        print('Usage: python3 client.py HOST PORT')
        sys.exit(1)
    client = Client(sys.argv[1], int(sys.argv[2]))
    print('Commands: LIST, DOWNLOAD <name>, UPLOAD <name>, QUIT')
    while True:
        try:
            line = input('Command: ').strip()
        except EOFError:
            client.quit()
            break
        cmd, _, name = line.partition(' ')
        cmd, name = cmd.upper(), name.strip()
        try:
            if cmd == 'LIST':
                client.list()
            elif cmd == 'DOWNLOAD' and name:
                client.download(name)
            elif cmd == 'UPLOAD' and name:
                client.upload(name)
            elif cmd in ('QUIT', 'EXIT'):
                client.quit()
                break
            elif cmd:
                print('Unknown command:', line)
        except ConnectionError as e:
            print('Error:', e)
            sys.exit(1)


if __name__ == '__main__':
    main()
