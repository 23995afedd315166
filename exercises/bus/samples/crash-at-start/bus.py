"""Faulty: crashes before forking: `signal.SIGUSR3` does not exist, so the AttributeError ends
the program at once with a traceback and exit status 1. Classic mistake: a typo in a signal
name. Should fail start, and every other check with it.
"""

import os
import signal

LINE_GO = "老司机开车了"
LINE_BELT = "系好安全带，车速有点快"
LINE_STOP = "到站了，请下车"


def conductor():
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
    # The fault: there is no SIGUSR3; this raises AttributeError before the fork.
    signal.signal(signal.SIGUSR3, signal.SIG_IGN)
    pid = os.fork()
    if pid == 0:
        conductor()
    else:
        driver(pid)


if __name__ == "__main__":
    main()
