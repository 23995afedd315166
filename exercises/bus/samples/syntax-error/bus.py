"""Faulty: a parenthesis is never closed (the driver's SIGTSTP line), so Python cannot even
read the program: it stops with a SyntaxError before anything runs, exit status 1. Should fail
start, with the SyntaxError and its line in the message; nothing else can be graded.
"""
import os
import signal
import sys

LINE1 = "老司机开车了"
LINE2 = "系好安全带，车速有点快"
LINE3 = "到站了，请下车"


def on_usr1(signum, frame):
    print(LINE1, flush=True)


def on_usr2(signum, frame):
    print(LINE2, flush=True)


def main():
    pid = os.fork()
    if pid == 0:
        signal.signal(signal.SIGTSTP, signal.SIG_IGN)
        signal.signal(signal.SIGINT, lambda s, f: os.kill(os.getppid(), signal.SIGUSR1))
        signal.signal(signal.SIGQUIT, lambda s, f: os.kill(os.getppid(), signal.SIGUSR2))
        signal.signal(signal.SIGUSR1, lambda s, f: (print(LINE3, flush=True), sys.exit(0)))
        while True:
            signal.pause()
    else:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGQUIT, signal.SIG_IGN)
        signal.signal(signal.SIGUSR1, on_usr1)
        signal.signal(signal.SIGUSR2, on_usr2)
        signal.signal(signal.SIGTSTP, lambda s, f: os.kill(pid, signal.SIGUSR1)
        os.wait()


if __name__ == "__main__":
    main()
