import os, signal, sys, time

reaped = 0

def on_child(signum, frame):
    global reaped
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        reaped += 1
        # Not print(): a second SIGCHLD can run this handler again in the middle of a
        # print, and Python's buffered stdout then raises "reentrant call". os.write is
        # one system call, safe to repeat.
        os.write(1, f"reaped {pid}\n".encode())

signal.signal(signal.SIGCHLD, on_child)
for i in range(3):
    if os.fork() == 0:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        time.sleep(0.1 * (i + 1))
        os._exit(0)
while reaped < 3:
    signal.pause()
print("all done", flush=True)
