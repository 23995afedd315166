"""FTP client for length-correct (dialect length: `L` is answered `Y`, then the names joined
by commas; `D`, then the name as a second message, is answered `Y <size>` and exactly size
bytes, or `N`; `U`, then `<size> <name>` as a second message, is answered `Y` (the data
follows) or `N`, and `Y` again once the file is stored). The server 127.0.0.1:9966 is
hard-coded.

Menu: numbered, 0 to leave; the choice is typed at `请输入序号: `, and for 2 and 3 the file
name at a second prompt `请输入文件名 > `.
    1  列出文件 (list)
    2  下载文件 (get)
    3  上传文件 (put)
    0  退出 (quit; end of input does the same)
"""
import os
import sys
import time
import socket

ADDR = ('127.0.0.1', 9966)


def recv_exact(s, n, f):
    """Exactly n bytes from s into file f, in a loop (one recv never gets a big file)."""
    while n > 0:
        data = s.recv(min(n, 65536))
        if not data:
            raise ConnectionError('连接被服务器关闭')
        f.write(data)
        n -= len(data)


def list_files(s):
    s.send(b'L')
    if s.recv(1) != b'Y':
        print('列表失败')
        return
    # the names come after a short pause, with no end mark: read until quiet
    s.settimeout(1)
    names = b''
    try:
        while True:
            data = s.recv(1024)
            if not data:
                break
            names += data
            s.settimeout(0.3)
    except socket.timeout:
        pass
    s.settimeout(None)
    names = [n for n in names.decode().split(',') if n]
    if not names:
        print('(空)')
    for i, n in enumerate(names, 1):
        print(i, n)


def download(s, name):
    s.send(b'D')
    time.sleep(0.1)
    s.send(name.encode())
    reply = s.recv(64).decode()
    if not reply.startswith('Y '):
        print('下载失败: 服务器上没有 %s (%s)' % (name, reply))
        return
    size = int(reply[2:])
    local = os.path.basename(name)
    with open(local, 'wb') as f:
        recv_exact(s, size, f)
    print('下载完成: %s, 共 %d 字节' % (local, size))


def upload(s, path):
    if not os.path.isfile(path):
        print('上传失败: 找不到本地文件 %s' % path)
        return
    size = os.path.getsize(path)
    name = os.path.basename(path)
    s.send(b'U')
    time.sleep(0.1)
    s.send(('%d %s' % (size, name)).encode())
    if s.recv(64) != b'Y':
        print('上传失败: 服务器拒绝了 %s' % name)
        return
    with open(path, 'rb') as f:
        while True:
            data = f.read(4096)
            if not data:
                break
            s.sendall(data)
    if s.recv(64) == b'Y':
        print('上传完成: %s, 共 %d 字节' % (name, size))
    else:
        print('上传失败: 服务器没有保存 %s' % name)


def main():
    s = socket.socket()
    s.connect(ADDR)
    while True:
        print()
        print('1. 列出文件')
        print('2. 下载文件')
        print('3. 上传文件')
        print('0. 退出')
        try:
            choice = input('请输入序号: ').strip()
            if choice == '1':
                list_files(s)
            elif choice == '2':
                download(s, input('请输入文件名 > ').strip())
            elif choice == '3':
                upload(s, input('请输入文件名 > ').strip())
            elif choice == '0':
                break
            else:
                print('没有这个选项')
        except EOFError:
            break
        except ConnectionError as e:
            print(e)
            sys.exit(1)
    s.send(b'Q')
    s.close()


if __name__ == '__main__':
    main()
