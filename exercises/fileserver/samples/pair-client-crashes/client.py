"""FTP client, FAULTY pair sample "pair-client-crashes" (with server.py): a numbered menu,
the file name at a second prompt, the course's dialect. The listing is decoded as ASCII (the
student's files all had English names), so a library holding 报告.txt makes `1` (list) end
the client with a UnicodeDecodeError. Everything else is right.

Usage: python3 client.py HOST PORT

Expected: pair-list fails; the later pair checks start a fresh client and pass (the crash
must not take the student's server with it).
"""
import select
import socket
import sys
import time

s = socket.socket()


def list_files():
    s.send(b'LIST')
    if s.recv(128) != b'OK':
        print('服务器出错')
        return
    data = b''
    while True:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
        if data.endswith(b'##') and select.select([s], [], [], 0.3)[0] == []:
            data = data[:-2]
            break
    print(data.decode('ascii'))  # 文件名都是英文的


def download(name):
    s.send(('DOWNLOAD ' + name).encode())
    ans = s.recv(128)
    if ans != b'OK':
        print(ans.decode())
        return
    data = b''
    while True:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
        # ## 后面一会儿没有数据了，才算结束
        if data.endswith(b'##') and select.select([s], [], [], 0.3)[0] == []:
            data = data[:-2]
            break
    with open(name, 'wb') as f:
        f.write(data)
    print('下载成功')


def upload(name):
    try:
        f = open(name, 'rb')
    except OSError:
        print('文件不存在')
        return
    s.send(('UPLOAD ' + name).encode())
    if s.recv(128) != b'OK':
        print('服务器拒绝上传')
        return
    while True:
        chunk = f.read(10240)
        if not chunk:
            break
        s.sendall(chunk)
    f.close()
    time.sleep(0.1)
    s.send(b'##')
    print('上传成功')


def main():
    s.connect((sys.argv[1], int(sys.argv[2])))
    while True:
        print('1) 列表  2) 下载  3) 上传  4) 退出')
        try:
            choice = input('请选择:').strip()
        except EOFError:
            choice = '4'
        if choice == '1':
            list_files()
        elif choice == '2':
            download(input('文件名:').strip())
        elif choice == '3':
            upload(input('文件名:').strip())
        elif choice == '4':
            s.send(b'QUIT')
            s.close()
            break


main()
