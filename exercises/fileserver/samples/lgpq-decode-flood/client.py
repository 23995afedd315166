"""FTP client, sample "lgpq-decode-flood", in the course's `##` protocol (dialect
lgpq-hash; 127.0.0.1:8888 hard-coded). A menu, then `输入命令：` (full-width colon):
list, get <name>, put <name>, quit.

What it shows: the download decodes every piece it receives as text to look for the end
marker, and prints an error for each piece that is not UTF-8 ("解码错误 …"). The file is
saved right, but a binary download prints an error line per 1 KiB: thousands of lines, more
than the grader keeps of a transcript (64 KiB). Its prompt after that is only in the part of
the output that is not kept.

Expected: every client check passes (the errors are its own business: the files are saved
right and it prompts again), each prompt found from the output's tail: no deadline is
waited out.
"""
import os
import sys
import time
from socket import *

ADDR = ('127.0.0.1', 8888)


class TftpClient:
    def __init__(self, sockfd):
        self.sockfd = sockfd

    def do_list(self):
        self.sockfd.send(b'L')
        data = self.sockfd.recv(128).decode()
        if data != 'OK':
            print(data)
            return
        files = self.sockfd.recv(4096).decode()
        for f in files.split('#'):
            print(f)

    def do_get(self, filename):
        self.sockfd.send(('G ' + filename).encode())
        data = self.sockfd.recv(128)
        if data[:2] != b'OK':
            print(data.decode(errors='replace'))
            return
        fd = open(filename, 'wb')
        data = data[2:]
        while True:
            try:
                text = data.decode()
            except UnicodeDecodeError as e:
                print('解码错误:', e)
                text = ''
            if text.endswith('##') or data.endswith(b'##'):
                fd.write(data[:-2])
                break
            fd.write(data)
            data = self.sockfd.recv(1024)
            if not data:
                break
        fd.close()
        print('%s 下载完成' % filename)

    def do_put(self, filename):
        if not os.path.exists(filename):
            print('文件不存在')
            return
        self.sockfd.send(('P ' + filename).encode())
        data = self.sockfd.recv(128).decode()
        if data != 'OK':
            print(data)
            return
        fd = open(filename, 'rb')
        while True:
            data = fd.read(1024)
            if not data:
                time.sleep(0.1)
                self.sockfd.send(b'##')
                break
            self.sockfd.send(data)
        fd.close()
        print('%s 上传完成' % filename)

    def do_quit(self):
        self.sockfd.send(b'Q')
        self.sockfd.close()
        sys.exit(0)


def main():
    sockfd = socket()
    try:
        sockfd.connect(ADDR)
    except Exception as e:
        print(e)
        return
    ftp = TftpClient(sockfd)
    while True:
        print('\n=====命令选项=====')
        print('list / get file / put file / quit')
        try:
            cmd = input('输入命令：')
        except EOFError:
            ftp.do_quit()
        if cmd.strip() == 'list':
            ftp.do_list()
        elif cmd[:3] == 'get':
            ftp.do_get(cmd.split(' ')[-1])
        elif cmd[:3] == 'put':
            ftp.do_put(cmd.split(' ')[-1])
        elif cmd.strip() == 'quit':
            ftp.do_quit()
        else:
            print('请输入正确命令')


main()
