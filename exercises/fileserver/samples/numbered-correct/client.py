"""FTP client for numbered-correct (dialect numbered: `L` lists `1:name` lines, then `##`;
`G`, then the file's number as a second message, is answered with the file itself (no OK)
and `##` after a pause, or `ERR ...`; `P`, then the name as a second message, is answered
`OK` or `ERR ...` (an existing name is refused), then the data and `##` after a pause).
The server's port 6699 is hard-coded.

Menu: numbered, in Chinese; the choice is typed at `请选择：` and, for 2 and 3, the file
name at a second prompt `文件名：` (full-width colons). The user gives names; the client
looks their numbers up in a fresh listing (L) before each download.
    1  查看文件 (list)
    2  下载文件 (get)
    3  上传文件 (put)
    4  退出 (quit; end of input does the same)
"""
from socket import *
from select import select
import os
import sys
import time

ADDR = ('127.0.0.1', 6699)


def wait_quiet(s, t=0.3):
    rs, ws, xs = select([s], [], [], t)
    return rs == []


def recv_until_end(s, out, data=b''):
    """Passes the data on to out() until `##` with nothing after it; False if the
    connection ended first."""
    while True:
        if data.endswith(b'##') and wait_quiet(s):
            out(data[:-2])
            return True
        if not data.endswith(b'##'):
            out(data[:-2])
            data = data[-2:]
        more = s.recv(1024)
        if not more:
            out(data)
            return False
        data += more


def get_list(s):
    """The server's list as (number, name) pairs."""
    s.send(b'L')
    buf = []
    if not recv_until_end(s, buf.append):
        print('服务器断开了')
        sys.exit(1)
    text = b''.join(buf).decode()
    files = []
    for line in text.split('\n'):
        num, sep, name = line.partition(':')
        if sep and num.isdigit():
            files.append((num, name))
    return files


def do_list(s):
    files = get_list(s)
    if not files:
        print('文件库是空的')
    for num, name in files:
        print('%s: %s' % (num, name))


def do_get(s, filename):
    num = None
    for n, name in get_list(s):
        if name == filename:
            num = n
    if num is None:
        print('服务器上没有这个文件:', filename)
        return
    s.send(b'G')
    time.sleep(0.1)
    s.send(num.encode())
    first = s.recv(1024)
    if first.startswith(b'ERR'):
        print('下载失败:', first.decode(errors='replace'))
        return
    local = os.path.basename(filename)
    f = open(local, 'wb')
    ok = recv_until_end(s, f.write, first)
    f.close()
    if not ok:
        print('下载失败: 连接断开')
        sys.exit(1)
    print('下载完成: %s (%d 字节)' % (local, os.path.getsize(local)))


def do_put(s, filename):
    if not os.path.isfile(filename):
        print('本地没有这个文件:', filename)
        return
    s.send(b'P')
    time.sleep(0.1)
    s.send(os.path.basename(filename).encode())
    reply = s.recv(1024).decode(errors='replace')
    if reply != 'OK':
        print('上传失败:', reply)
        return
    with open(filename, 'rb') as f:
        while True:
            data = f.read(1024)
            if not data:
                break
            s.sendall(data)
    time.sleep(0.1)
    s.send(b'##')
    print('上传完成:', os.path.basename(filename))


def do_quit(s):
    s.send(b'Q')
    s.close()
    sys.exit(0)


def main():
    s = socket()
    try:
        s.connect(ADDR)
    except Exception as e:
        print('无法连接服务器:', e)
        sys.exit(1)
    while True:
        print('----------------------------------')
        print('1.查看文件  2.下载文件  3.上传文件  4.退出')
        print('----------------------------------')
        try:
            c = input('请选择：').strip()
            if c == '1':
                do_list(s)
            elif c == '2':
                do_get(s, input('文件名：').strip())
            elif c == '3':
                do_put(s, input('文件名：').strip())
            elif c == '4':
                do_quit(s)
            else:
                print('输入有误, 请重新选择')
        except EOFError:
            do_quit(s)


main()
