"""FTP client of sample "lgpq-course-strict" (dialect lgpq-hash), written as the course
writes it: the server's address 127.0.0.1:8888 hard-coded, the menu words typed at the
prompt `输入命令：`, and quit says goodbye with `sys.exit("再见")`: the message on stderr,
exit status 1.

Graded with the exact protocol's policy (client_quit = "status-0"): client-quit fails.
"""
from socket import *
import os
import sys
import time
import select

ADDR = ('127.0.0.1', 8888)


class FtpClient(object):
    def __init__(self, s):
        self.s = s

    def quiet(self, t=0.3):
        """Nothing more to read for t seconds: the server has finished sending."""
        r, w, x = select.select([self.s], [], [], t)
        return not r

    def do_list(self):
        self.s.send(b'L')
        data = self.s.recv(1024)
        if data[:2] != b'OK':
            print(data.decode(errors='replace'))
            return
        names = data[2:]
        # 服务器睡 0.1 秒再发文件名, 文件库为空时什么也不发
        if not names and self.quiet(1):
            print('(没有文件)')
            return
        while not self.quiet():
            more = self.s.recv(4096)
            if not more:
                break
            names += more
        for name in names.decode().split('#'):
            if name:
                print(name)

    def recv_file(self, f, first=b''):
        """Writes the data to f until the end marker ## followed by silence."""
        buf = first
        while True:
            if buf.endswith(b'##') and self.quiet():
                f.write(buf[:-2])
                return True
            f.write(buf[:-2])
            buf = buf[-2:]
            data = self.s.recv(4096)
            if not data:
                f.write(buf)
                return False
            buf += data

    def do_get(self, filename):
        self.s.send(('G ' + filename).encode())
        data = self.s.recv(1024)
        if data[:2] != b'OK':
            print('下载失败:', data.decode(errors='replace'))
            return
        name = os.path.basename(filename)
        f = open(name, 'wb')
        ok = self.recv_file(f, data[2:])
        f.close()
        if ok:
            print('%s 下载完成 (%d 字节)' % (name, os.path.getsize(name)))
        else:
            print('下载中断: 服务器断开了连接')
            sys.exit(1)

    def do_put(self, filename):
        try:
            f = open(filename, 'rb')
        except IOError:
            print('上传失败: 本地没有这个文件')
            return
        name = os.path.basename(filename)
        self.s.send(('P ' + name).encode())
        data = self.s.recv(1024).decode(errors='replace')
        if data != 'OK':
            print('上传失败:', data)
            f.close()
            return
        size = 0
        while True:
            chunk = f.read(1024)
            if not chunk:
                break
            self.s.sendall(chunk)
            size += len(chunk)
        f.close()
        time.sleep(0.1)
        self.s.send(b'##')
        print('%s 上传完成 (%d 字节)' % (name, size))

    def do_quit(self):
        self.s.send(b'Q')
        self.s.close()
        sys.exit('再见')


def main():
    s = socket()
    try:
        s.connect(ADDR)
    except Exception as e:
        print('连接服务器失败:', e)
        return
    ftp = FtpClient(s)
    while True:
        print()
        print('=========== 命令选项 ===========')
        print('             list')
        print('           get file')
        print('           put file')
        print('             quit')
        print('================================')
        cmd = input('输入命令：').strip()
        if cmd == 'list':
            ftp.do_list()
        elif cmd[:4] == 'get ' and cmd[4:].strip():
            ftp.do_get(cmd[4:].strip())
        elif cmd[:4] == 'put ' and cmd[4:].strip():
            ftp.do_put(cmd[4:].strip())
        elif cmd == 'quit':
            ftp.do_quit()
        elif cmd:
            print('请输入正确命令')


if __name__ == '__main__':
    main()
