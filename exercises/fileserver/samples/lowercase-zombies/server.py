"""File server, FAULTY sample "lowercase-zombies" of the lowercase family (dialect
lowercase): l / g name / p name / q, answered `ok`; the listing is the names one per line
with no end marker; data (both ways) ends with `--` sent on its own after a sleep. Port
65321 on 127.0.0.1 and the library file/ (relative to the working directory) are
hard-coded, as in lowercase-correct; but a process per client (fork) instead of a thread.

The fault: nobody ever waits for the children. There is no SIGCHLD handler (not even
signal(SIGCHLD, SIG_IGN)) and no waitpid(): every child that has served its client stays
behind as a zombie (state Z) for as long as the server runs.

Expected: cleanup fails (zombie children once the clients have left); every other server
check passes.
"""
from socket import *
import os
import sys
import time
import signal

HOST = '127.0.0.1'
PORT = 65321
ADDR = (HOST, PORT)
FILE_DIR = 'file/'


def name_ok(name):
    if name == '' or name == '.' or name == '..':
        return False
    if '/' in name or name[0] == '.':
        return False
    return True


def do_l(c):
    lst = []
    for name in os.listdir(FILE_DIR):
        path = FILE_DIR + name
        if name[0] == '.' or os.path.islink(path) or not os.path.isfile(path):
            continue
        lst.append(name)
    msg = '\n'.join(lst)
    c.send(msg.encode())


def do_g(c, name):
    path = FILE_DIR + name
    if not name_ok(name) or os.path.islink(path) or not os.path.isfile(path):
        c.send('文件不存在'.encode())
        return
    f = open(path, 'rb')
    c.send(b'ok')
    time.sleep(0.1)
    while True:
        data = f.read(10240)
        if not data:
            break
        c.sendall(data)
    f.close()
    time.sleep(0.1)
    c.send(b'--')


def do_p(c, name):
    path = FILE_DIR + name
    if not name_ok(name) or os.path.isdir(path) or os.path.islink(path):
        c.send('文件名错误'.encode())
        return True
    tmp = FILE_DIR + '.' + name + '.%d' % os.getpid()
    f = open(tmp, 'wb')
    c.send(b'ok')
    while True:
        try:
            data = c.recv(1024)
        except ConnectionError:
            data = b''
        if not data:
            # 客户端断开了
            f.close()
            os.remove(tmp)
            return False
        if data == b'--':
            break
        f.write(data)
    f.close()
    os.rename(tmp, path)
    return True


def handle(c):
    while True:
        data = c.recv(1024)
        if not data:
            break
        try:
            req = data.decode()
        except UnicodeDecodeError:
            c.send(b'bad request')
            continue
        if req == 'q':
            break
        elif req == 'l':
            do_l(c)
        elif req[:2] == 'g ':
            do_g(c, req[2:])
        elif req[:2] == 'p ':
            if not do_p(c, req[2:]):
                break
        else:
            c.send(b'bad request')


def main():
    s = socket(AF_INET, SOCK_STREAM)
    s.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)
    s.bind(ADDR)
    s.listen(5)
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
    print('waiting for connect...')
    while True:
        try:
            c, addr = s.accept()
        except KeyboardInterrupt:
            sys.exit('服务器退出')
        print('connect from', addr)
        pid = os.fork()
        if pid < 0:
            print('fork failed')
            c.close()
            continue
        elif pid == 0:
            s.close()
            try:
                handle(c)
            except Exception as e:
                print(e)
            c.close()
            os._exit(0)
        else:
            c.close()


if __name__ == '__main__':
    main()
