"""FTP client, pair sample "pair-numbered-pick" (with server.py): the two-step numbered
dialect; to download, the user picks a FILE NUMBER from the listing (`1:name` lines, then
`##`), and the client sends `G`, then the number as a second message; the file comes
without OK, then `##` after a pause. `P`, then the name, `OK`, the data, `##` after a
pause. The server's port 6699 is hard-coded.

Menu (numbers), then a second prompt: 1 list, 2 download (asks 文件编号:), 3 upload (asks
文件名:), 4 quit. The grader is told `get_by = "number"`: in pair mode it lists first and
types the number the student's server gave the file.

Expected: every pair check passes.
"""
import socket
import sys
import time

HOST = '127.0.0.1'
PORT = 6699


def recv_listing(sock):
    data = b''
    while not data.endswith(b'##'):
        chunk = sock.recv(1024)
        if not chunk:
            break
        data += chunk
    data = data[:-2] if data.endswith(b'##') else data
    files = {}
    for line in data.decode().split('\n'):
        line = line.strip()
        if ':' in line:
            num, name = line.split(':', 1)
            files[num] = name
    return files


def show_list(sock):
    sock.send(b'L')
    files = recv_listing(sock)
    for num in sorted(files, key=int):
        print(num + '. ' + files[num])
    return files


def download(sock, num):
    # The name to save under comes from a fresh listing.
    sock.send(b'L')
    files = recv_listing(sock)
    sock.send(b'G')
    time.sleep(0.1)
    sock.send(num.encode())
    first = sock.recv(1024)
    if first.startswith(b'ERR'):
        print('没有这个编号的文件')
        return
    name = files.get(num, 'download_' + num)
    with open(name, 'wb') as f:
        data = first
        while data != b'##':
            if data.endswith(b'##') and len(data) > 2:
                # The end marker came with the last bytes.
                f.write(data[:-2])
                break
            f.write(data)
            data = sock.recv(1024)
            if not data:
                break
    print('下载完成:', name)


def upload(sock, name):
    try:
        f = open(name, 'rb')
    except OSError:
        print('本地没有这个文件')
        return
    sock.send(b'P')
    time.sleep(0.1)
    sock.send(name.encode())
    reply = sock.recv(1024)
    if reply != b'OK':
        print('服务器拒绝:', reply.decode(errors='replace'))
        f.close()
        return
    while True:
        block = f.read(1024)
        if not block:
            break
        sock.sendall(block)
    f.close()
    time.sleep(0.1)
    sock.send(b'##')
    print('上传完成:', name)


def main():
    sock = socket.socket()
    try:
        sock.connect((HOST, PORT))
    except OSError as e:
        print('连接失败:', e)
        sys.exit(1)
    while True:
        print('1.查看文件  2.下载  3.上传  4.退出')
        try:
            choice = input('请选择>').strip()
            if choice == '1':
                show_list(sock)
            elif choice == '2':
                download(sock, input('文件编号:').strip())
            elif choice == '3':
                upload(sock, input('文件名:').strip())
            elif choice == '4':
                sock.send(b'Q')
                break
        except EOFError:
            sock.send(b'Q')
            break
    sock.close()
    sys.exit(0)


if __name__ == '__main__':
    main()
