"""FTP client, CORRECT pair sample "pair-numbered-menu" (with server.py): a numbered menu,
the file name asked for at a second prompt, the course's dialect (LIST / DOWNLOAD name /
UPLOAD name / QUIT with ## end markers and pauses).

Usage: python3 client.py HOST PORT

Expected: every pair check passes.
"""
from socket import *
import sys
import time


class FtpClient:
    def __init__(self, sockfd):
        self.sockfd = sockfd

    def do_list(self):
        self.sockfd.send(b'LIST')
        data = self.sockfd.recv(128).decode()
        if data == 'OK':
            while True:
                data = self.sockfd.recv(4096)
                if data == b'##':
                    break
                print(data.decode())
        else:
            print(data)

    def do_download(self, filename):
        self.sockfd.send(('DOWNLOAD ' + filename).encode())
        data = self.sockfd.recv(128).decode()
        if data == 'OK':
            f = open(filename, 'wb')
            while True:
                data = self.sockfd.recv(1024)
                if data == b'##':
                    break
                f.write(data)
            f.close()
            print('%s 下载完成' % filename)
        else:
            print(data)

    def do_upload(self, filename):
        try:
            f = open(filename, 'rb')
        except Exception:
            print('没有这个文件')
            return
        filename = filename.split('/')[-1]
        self.sockfd.send(('UPLOAD ' + filename).encode())
        data = self.sockfd.recv(128).decode()
        if data == 'OK':
            while True:
                data = f.read(1024)
                if not data:
                    time.sleep(0.1)
                    self.sockfd.send(b'##')
                    break
                self.sockfd.sendall(data)
            f.close()
            print('%s 上传完成' % filename)
        else:
            print(data)

    def do_quit(self):
        self.sockfd.send(b'QUIT')
        self.sockfd.close()
        sys.exit(0)


def main():
    if len(sys.argv) < 3:
        print('argv is error')
        return
    ADDR = (sys.argv[1], int(sys.argv[2]))
    sockfd = socket()
    try:
        sockfd.connect(ADDR)
    except Exception as e:
        print('连接服务器失败', e)
        return
    ftp = FtpClient(sockfd)
    while True:
        print('\n=========== 命令选项 ===========')
        print('1. 查看文件列表')
        print('2. 下载文件')
        print('3. 上传文件')
        print('4. 退出')
        print('================================')
        try:
            cmd = input('请选择:')
        except EOFError:
            ftp.do_quit()
        if cmd.strip() == '1':
            ftp.do_list()
        elif cmd.strip() == '2':
            filename = input('请输入文件名:')
            ftp.do_download(filename.strip())
        elif cmd.strip() == '3':
            filename = input('请输入文件名:')
            ftp.do_upload(filename.strip())
        elif cmd.strip() == '4':
            ftp.do_quit()
        else:
            print('请输入正确选项')


if __name__ == '__main__':
    main()
