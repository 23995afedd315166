"""File client, CORRECT sample "hardcoded-port": the server's address is hard-coded.

Usage: python3 client.py          (connects to 127.0.0.1:8888)

Commands at the `ftp>` prompt: list, get <name>, put <name>, quit (or Ctrl-D). Speaks the
exact protocol of the README. config.toml tells the grader to run it without arguments and to
put its reference server on port 8888 (each grading has a network namespace of its own).

Expected: every check passes.
"""
from socket import *
import os
import sys

ADDR = ('127.0.0.1', 8888)


def reply(fr):
    line = fr.readline()
    if not line.endswith(b'\n'):
        print('服务器断开了')
        sys.exit(1)
    line = line[:-1].decode()
    if line.startswith('ERR'):
        return False, line[4:]
    return True, line[3:]


def do_list(s, fr):
    s.sendall(b'L\n')
    ok, n = reply(fr)
    if not ok:
        print('错误:', n)
        return
    for i in range(int(n)):
        print(fr.readline().decode().rstrip('\n'))


def do_get(s, fr, name):
    s.sendall(('G %s\n' % name).encode())
    ok, size = reply(fr)
    if not ok:
        print('下载失败:', size)
        return
    left = int(size)
    with open(name, 'wb') as f:
        while left > 0:
            data = fr.read(min(left, 65536))
            if not data:
                print('服务器断开了')
                sys.exit(1)
            f.write(data)
            left -= len(data)
    print('下载完成')


def do_put(s, fr, path):
    if not os.path.isfile(path):
        print('没有这个文件')
        return
    name = os.path.basename(path)
    s.sendall(('P %d %s\n' % (os.path.getsize(path), name)).encode())
    ok, why = reply(fr)
    if not ok:
        print('上传失败:', why)
        return
    with open(path, 'rb') as f:
        s.sendfile(f)
    ok, why = reply(fr)
    print('上传完成' if ok else '上传失败: ' + why)


def main():
    s = socket()
    s.connect(ADDR)
    fr = s.makefile('rb')
    while True:
        try:
            cmd = input('ftp> ').strip()
        except EOFError:
            cmd = 'quit'
        if cmd == 'list':
            do_list(s, fr)
        elif cmd.startswith('get '):
            do_get(s, fr, cmd[4:])
        elif cmd.startswith('put '):
            do_put(s, fr, cmd[4:])
        elif cmd == 'quit':
            s.sendall(b'Q\n')
            s.close()
            sys.exit(0)
        else:
            print('命令: list, get <name>, put <name>, quit')


main()
