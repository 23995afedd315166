"""File server, CORRECT sample "words-correct" of the LIST / DOWNLOAD / UPLOAD / QUIT family
(dialect words): OK before the data; the listing is one line per name, then `##` as its own
send; the data's end is `##` sent on its own after a sleep. Started as
`python3 server.py 127.0.0.1 <port>`; the library is the relative path ../../day07/code/.
A thread per client, files sent in 10240-byte chunks.

Expected: every server check passes.
"""
import os
import socket
import sys
import threading
import time
import signal

LIB = '../../day07/code/'


def safe(name):
    return name and '/' not in name and not name.startswith('.')


def send_list(conn):
    names = [n for n in sorted(os.listdir(LIB))
             if not n.startswith('.') and os.path.isfile(LIB + n) and not os.path.islink(LIB + n)]
    conn.send(b'OK')
    time.sleep(0.1)
    conn.send(('\n'.join(names) + '\n').encode())
    time.sleep(0.1)
    conn.send(b'##')


def send_file(conn, name):
    path = LIB + name
    if not safe(name) or os.path.islink(path) or not os.path.isfile(path):
        conn.send('NO such file'.encode())
        return
    conn.send(b'OK')
    time.sleep(0.1)
    with open(path, 'rb') as f:
        while True:
            chunk = f.read(10240)
            if not chunk:
                break
            conn.sendall(chunk)
    time.sleep(0.1)
    conn.send(b'##')


def recv_file(conn, name):
    path = LIB + name
    if not safe(name) or os.path.isdir(path) or os.path.islink(path):
        conn.send(b'NO bad name')
        return True
    tmp = LIB + '.upload-' + str(threading.get_ident())
    conn.send(b'OK')
    f = open(tmp, 'wb')
    ok = False
    try:
        while True:
            data = conn.recv(1024)
            if not data:
                break
            if data == b'##':
                ok = True
                break
            f.write(data)
    except OSError:
        pass
    f.close()
    if ok:
        os.replace(tmp, path)
    else:
        os.unlink(tmp)
    return ok


def client(conn):
    try:
        while True:
            data = conn.recv(1024)
            if not data:
                break
            msg = data.decode()
            cmd = msg.split(' ', 1)
            if cmd[0] == 'LIST':
                send_list(conn)
            elif cmd[0] == 'DOWNLOAD' and len(cmd) == 2:
                send_file(conn, cmd[1])
            elif cmd[0] == 'UPLOAD' and len(cmd) == 2:
                if not recv_file(conn, cmd[1]):
                    break
            elif cmd[0] in ('QUIT', 'EXIT'):
                break
            else:
                conn.send(b'NO unknown command')
    except (OSError, UnicodeDecodeError) as e:
        print(e)
    conn.close()


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    signal.signal(signal.SIGTERM, lambda s, f: sys.exit(0))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(10)
    while True:
        conn, addr = sock.accept()
        threading.Thread(target=client, args=(conn,), daemon=True).start()


if __name__ == '__main__':
    main()
