"""File client, FAULTY sample "out-of-step-client": a download reads one 64 KiB buffer and
goes back to the prompt.

Usage: python3 client.py <host> <port>

The student took 64 KiB for "big enough". Every file up to 64 KiB arrives whole; of a larger
one the client keeps 64 KiB, and the rest stays unread in its socket, so the next reply it
reads is file data: the upload that follows the large download fails ("上传失败") although
the upload code is right. One fault, one check: the check that follows is judged on a fresh
client.

Expected failures: client-get-large.
"""
from socket import *
import os
import sys



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
        # 64 KiB "is enough": the rest of a larger file stays in the socket
        f.write(fr.read(min(left, 65536)))
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
    s.connect((sys.argv[1], int(sys.argv[2])))
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
