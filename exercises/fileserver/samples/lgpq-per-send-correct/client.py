"""FTP client for lgpq-per-send-correct (dialect lgpq-per-send: L / G name / P name / Q with
OK; the listing is one send per name, then `##`; `##` on its own after a pause ends a
download or an upload). The server 127.0.0.1:8888 is hard-coded.

Menu: a numbered menu, the choice typed at `请选择(1-4)>> `; for 2 and 3 the file name is
asked at a second prompt `请输入文件名:`.
    1  查看文件列表 (list)
    2  下载文件 (get)
    3  上传文件 (put)
    4  退出 (quit; end of input does the same)
"""
import os
import sys
import time
import socket
import select

HOST = '127.0.0.1'
PORT = 8888
BUFSIZE = 1024


def has_more(sockfd, timeout=0.3):
    r, _, _ = select.select([sockfd], [], [], timeout)
    return bool(r)


def show_list(sockfd):
    sockfd.send(b'L')
    data = sockfd.recv(BUFSIZE)
    if not data.startswith(b'OK'):
        print(data.decode(errors='replace'))
        return
    rest = data[2:]
    names = []
    while True:
        if not rest:
            rest = sockfd.recv(BUFSIZE)
            if not rest:
                print('服务器断开')
                sys.exit(1)
        if rest == b'##':
            break
        if rest.endswith(b'##'):
            # 最后一个名字和 ## 粘在一起了
            names.append(rest[:-2])
            break
        names.append(rest)
        rest = b''
    for n in names:
        print(n.decode(errors='replace'))


def download(sockfd, filename):
    sockfd.send(('G ' + filename).encode())
    reply = sockfd.recv(BUFSIZE)
    if not reply.startswith(b'OK'):
        print('下载失败:', reply.decode(errors='replace'))
        return
    localname = filename.split('/')[-1]
    total = 0
    with open(localname, 'wb') as f:
        tail = reply[2:]
        while True:
            # 只有在 ## 之后服务器不再发送数据时, ## 才是结束标志
            if tail.endswith(b'##') and not has_more(sockfd):
                f.write(tail[:-2])
                total += len(tail) - 2
                break
            f.write(tail[:-2])
            total += max(len(tail) - 2, 0)
            tail = tail[-2:]
            data = sockfd.recv(BUFSIZE)
            if not data:
                print('服务器断开')
                sys.exit(1)
            tail += data
    print('下载成功: %s, %d 字节' % (localname, total))


def upload(sockfd, filename):
    if not os.path.isfile(filename):
        print('上传失败: 文件 %s 不存在' % filename)
        return
    f = open(filename, 'rb')
    name = os.path.basename(filename)
    sockfd.send(('P ' + name).encode())
    reply = sockfd.recv(BUFSIZE).decode(errors='replace')
    if reply != 'OK':
        print('上传失败:', reply)
        f.close()
        return
    while True:
        data = f.read(BUFSIZE)
        if not data:
            break
        sockfd.sendall(data)
    f.close()
    time.sleep(0.1)
    sockfd.send(b'##')
    print('上传成功:', name)


def bye(sockfd):
    sockfd.send(b'Q')
    sockfd.close()
    print('再见')
    sys.exit(0)


def menu():
    print('+----------------------+')
    print('|  1. 查看文件列表     |')
    print('|  2. 下载文件         |')
    print('|  3. 上传文件         |')
    print('|  4. 退出             |')
    print('+----------------------+')


def ask(prompt):
    sys.stdout.write(prompt)
    sys.stdout.flush()
    line = sys.stdin.readline()
    if not line:
        raise EOFError
    return line.strip()


def main():
    sockfd = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sockfd.connect((HOST, PORT))
    except OSError as e:
        print('连接服务器失败:', e)
        sys.exit(1)
    while True:
        menu()
        try:
            choice = ask('请选择(1-4)>> ')
            if choice == '1':
                show_list(sockfd)
            elif choice == '2':
                download(sockfd, ask('请输入文件名:'))
            elif choice == '3':
                upload(sockfd, ask('请输入文件名:'))
            elif choice == '4':
                bye(sockfd)
            else:
                print('没有这个选项')
        except EOFError:
            bye(sockfd)


if __name__ == '__main__':
    main()
