"""File server, CORRECT sample "ok-words-per-command": the lowercase commands l / g name /
p name / q, but `l` and `g` are answered `ok` and `p` is answered `OK` (the course's put
handler came from another hand). `l` sends `ok`, then the names joined by newlines;
`g name` sends `ok`, the file and `--` on its own; `p name` sends `OK`, then takes the
client's sends until one is exactly `--`. A process per client (os.fork); children are
reaped by SIGCHLD. Port 65321 and the library file/ are hard-coded.

Expected: every server check passes once the config says `put = "OK"` under
[server.dialect.replies.ok_for].
"""
import os
import signal
import socket
import time

HOST, PORT = '127.0.0.1', 65321
LIB = 'file'


def reap(signum, frame):
    try:
        while os.waitpid(-1, os.WNOHANG)[0] > 0:
            pass
    except ChildProcessError:
        pass


def safe(name):
    return name and '/' not in name and not name.startswith('.')


def path_of(name):
    return os.path.join(LIB, name)


def do_list(c):
    files = [n for n in sorted(os.listdir(LIB))
             if not n.startswith('.') and os.path.isfile(path_of(n))
             and not os.path.islink(path_of(n))]
    c.send(b'ok')
    time.sleep(0.1)
    c.send('\n'.join(files).encode())


def do_get(c, name):
    p = path_of(name)
    if not safe(name) or not os.path.isfile(p) or os.path.islink(p):
        c.send('文件不存在'.encode())
        return
    c.send(b'ok')
    time.sleep(0.1)
    with open(p, 'rb') as f:
        while True:
            block = f.read(4096)
            if not block:
                break
            c.sendall(block)
    time.sleep(0.1)
    c.send(b'--')


def do_put(c, name):
    p = path_of(name)
    if not safe(name) or os.path.isdir(p) or os.path.islink(p):
        c.send('文件名非法'.encode())
        return True
    c.send(b'OK')
    tmp = path_of('.' + name + '.part')
    f = open(tmp, 'wb')
    while True:
        data = c.recv(4096)
        if not data:
            f.close()
            os.remove(tmp)
            return False
        if data == b'--':
            break
        f.write(data)
    f.close()
    os.rename(tmp, p)
    return True


def serve(c):
    while True:
        try:
            req = c.recv(1024).decode()
        except (OSError, UnicodeDecodeError):
            break
        if not req or req == 'q':
            break
        if req == 'l':
            do_list(c)
        elif req[:2] == 'g ':
            do_get(c, req[2:])
        elif req[:2] == 'p ':
            if not do_put(c, req[2:]):
                break
        else:
            c.send('未知命令'.encode())
    c.close()


def main():
    signal.signal(signal.SIGCHLD, reap)
    signal.signal(signal.SIGTERM, lambda s, f: os._exit(0))
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((HOST, PORT))
    s.listen(5)
    while True:
        try:
            c, addr = s.accept()
        except InterruptedError:
            continue
        if os.fork() == 0:
            s.close()
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            serve(c)
            os._exit(0)
        c.close()


main()
