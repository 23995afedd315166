"""FTP client for lowercase-correct (dialect lowercase: l / g name / p name / q answered
`ok`; the listing is the names one per line with no end marker; `--` on its own after a
pause ends a download or an upload). The server 127.0.0.1:65321 is hard-coded.

Menu: the protocol's own letters typed at the prompt `(l/g/p/q) > `, the file name on the
same line:
    l           list
    g <name>    get (saved in the current directory)
    p <name>    put (a file of the current directory)
    q           quit (so does end of input)
"""
import os
import sys
import time
from socket import socket, timeout

ADDR = ('127.0.0.1', 65321)


def main():
    s = socket()
    s.connect(ADDR)
    while True:
        try:
            cmd = input('(l/g/p/q) > ').strip()
        except EOFError:
            cmd = 'q'
        if cmd == 'q':
            s.send(b'q')
            s.close()
            break
        elif cmd == 'l':
            s.send(b'l')
            # no "ok" and no end mark: the list is whatever comes until the server is quiet
            names = b''
            s.settimeout(1)
            try:
                while True:
                    data = s.recv(1024)
                    if not data:
                        break
                    names += data
                    s.settimeout(0.3)
            except timeout:
                pass
            s.settimeout(None)
            print(names.decode(errors='replace'))
        elif cmd.startswith('g '):
            name = cmd[2:].strip()
            s.send(('g ' + name).encode())
            msg = s.recv(1024)
            if msg[:2] != b'ok':
                print('下载失败:', msg.decode(errors='replace'))
                continue
            name = os.path.basename(name)
            f = open(name, 'wb')
            buf = msg[2:]
            while True:
                if buf.endswith(b'--'):
                    # "--" may just be in the file: it is the end only if nothing follows
                    s.settimeout(0.3)
                    try:
                        data = s.recv(1024)
                    except timeout:
                        data = None
                    s.settimeout(None)
                    if data is None:
                        f.write(buf[:-2])
                        break
                else:
                    f.write(buf[:-2])
                    buf = buf[-2:]
                    data = s.recv(1024)
                if not data:
                    f.close()
                    print('连接断开')
                    sys.exit(1)
                buf += data
            f.close()
            print('下载完成:', name)
        elif cmd.startswith('p '):
            path = cmd[2:].strip()
            if not os.path.isfile(path):
                print('上传失败: 没有文件', path)
                continue
            s.send(('p ' + os.path.basename(path)).encode())
            msg = s.recv(1024)
            if msg != b'ok':
                print('上传失败:', msg.decode(errors='replace'))
                continue
            with open(path, 'rb') as f:
                while True:
                    data = f.read(1024)
                    if not data:
                        break
                    s.sendall(data)
            time.sleep(0.1)
            s.send(b'--')
            print('上传完成:', os.path.basename(path))
        elif cmd:
            print('l: list, g name: get, p name: put, q: quit')


if __name__ == '__main__':
    main()
