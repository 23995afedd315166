"""FTP client, sample "lgpq-stuck-download", in the course's `##` protocol (dialect
lgpq-hash; the server's address 127.0.0.1:8888 hard-coded). Commands at the prompt `>>`:
list, get <name>, put <name>, quit.

What it shows: the download loop compares the bytes received with the *text* '##'
(`data == '##'`), which is never true in Python 3, so it never leaves the loop: after the
file's bytes and the marker it waits in `recv` for ever, with nothing on its way.

Expected: every download fails (the file was opened but nothing written to it yet), each
judged as soon as the client can no longer move (no deadline waited out); a fresh client
serves the next check, so list, put, get-missing and quit pass.
"""
import sys
import time
from socket import socket

ADDR = ('127.0.0.1', 8888)


def do_list(s):
    s.send(b'L')
    data = s.recv(1024).decode()
    if data != 'OK':
        print(data)
        return
    names = s.recv(4096).decode()
    for n in names.split('#'):
        print(n)


def do_get(s, filename):
    s.send(('G ' + filename).encode())
    data = s.recv(1024)
    if not data.startswith(b'OK'):
        print(data.decode(errors='replace'))
        return
    f = open(filename, 'wb')
    data = data[2:]
    content = b''
    while True:
        if data == '##':
            break
        content += data
        data = s.recv(1024)
    f.write(content)
    f.close()
    print('下载完成')


def do_put(s, filename):
    try:
        f = open(filename, 'rb')
    except IOError:
        print('没有该文件')
        return
    s.send(('P ' + filename).encode())
    data = s.recv(1024).decode()
    if data != 'OK':
        print(data)
        return
    while True:
        data = f.read(1024)
        if not data:
            time.sleep(0.1)
            s.send(b'##')
            break
        s.send(data)
    f.close()
    print('上传完成')


def main():
    s = socket()
    try:
        s.connect(ADDR)
    except Exception as e:
        print(e)
        return
    while True:
        try:
            cmd = input('>>')
        except EOFError:
            s.send(b'Q')
            sys.exit(0)
        if cmd.strip() == 'list':
            do_list(s)
        elif cmd[:4] == 'get ':
            do_get(s, cmd[4:].strip())
        elif cmd[:4] == 'put ':
            do_put(s, cmd[4:].strip())
        elif cmd.strip() == 'quit':
            s.send(b'Q')
            s.close()
            sys.exit(0)
        else:
            print('请输入正确命令')


if __name__ == '__main__':
    main()
