"""Correct but slow to get ready: after the fork both processes sleep 0.3 s before they install
their handlers. A grader that sends keys as soon as the processes look idle, without waiting
for the signal dispositions, would kill the driver with Ctrl-C. Should pass every check.
"""

import os
import signal
import time

LINE_GO = "老司机开车了"
LINE_BELT = "系好安全带，车速有点快"
LINE_STOP = "到站了，请下车"


def conductor():
    time.sleep(0.3)  # The twist: the handlers come late.
    def on_int(signum, frame):
        os.kill(os.getppid(), signal.SIGUSR1)

    def on_quit(signum, frame):
        os.kill(os.getppid(), signal.SIGUSR2)

    def on_usr1(signum, frame):
        print(LINE_STOP, flush=True)
        os._exit(0)

    signal.signal(signal.SIGTSTP, signal.SIG_IGN)
    signal.signal(signal.SIGINT, on_int)
    signal.signal(signal.SIGQUIT, on_quit)
    signal.signal(signal.SIGUSR1, on_usr1)
    while True:
        signal.pause()


def driver(child):
    time.sleep(0.3)  # The twist: the handlers come late.
    def on_usr1(signum, frame):
        print(LINE_GO, flush=True)

    def on_usr2(signum, frame):
        print(LINE_BELT, flush=True)

    def on_tstp(signum, frame):
        os.kill(child, signal.SIGUSR1)

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGQUIT, signal.SIG_IGN)
    signal.signal(signal.SIGUSR1, on_usr1)
    signal.signal(signal.SIGUSR2, on_usr2)
    signal.signal(signal.SIGTSTP, on_tstp)
    # os.wait() is retried after each handler (PEP 475), so it returns only when the
    # conductor has exited and been reaped.
    os.wait()


def main():
    pid = os.fork()
    if pid == 0:
        conductor()
    else:
        driver(pid)


if __name__ == "__main__":
    main()
