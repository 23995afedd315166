"""Faulty, in the polling style of correct-flag-polling (handlers only set flags, each main
loop acts on them every 0.2 s): the driver's SIGUSR1 handler sets a variable of its own (an
assignment without `nonlocal`), not the flag its loop reads, so every SIGUSR1 is lost and line
1 is never printed. Classic polling mistake: the handler and the loop do not share the flag.
Should fail ctrl-c (line 1 missing), with repeat and roles its consequences, and pass the
rest, like wrong-line.

(It used to clear its flag after its sleep instead; a SIGUSR1 that came while the loop was
awake, rarely, was then printed, so the program itself did not behave the same every time.)
"""

import os
import signal
import time

LINE_GO = "老司机开车了"
LINE_BELT = "系好安全带，车速有点快"
LINE_STOP = "到站了，请下车"

PERIOD = 0.2


def conductor():
    flags = {"int": 0, "quit": 0, "usr1": False}

    def on_int(signum, frame):
        flags["int"] += 1

    def on_quit(signum, frame):
        flags["quit"] += 1

    def on_usr1(signum, frame):
        flags["usr1"] = True

    signal.signal(signal.SIGTSTP, signal.SIG_IGN)
    signal.signal(signal.SIGINT, on_int)
    signal.signal(signal.SIGQUIT, on_quit)
    signal.signal(signal.SIGUSR1, on_usr1)
    while True:
        while flags["int"] > 0:
            flags["int"] -= 1
            os.kill(os.getppid(), signal.SIGUSR1)
        while flags["quit"] > 0:
            flags["quit"] -= 1
            os.kill(os.getppid(), signal.SIGUSR2)
        if flags["usr1"]:
            print(LINE_STOP, flush=True)
            os._exit(0)
        time.sleep(PERIOD)


def driver(child):
    flags = {"usr2": 0, "tstp": 0}
    usr1 = 0

    def on_usr1(signum, frame):
        # The fault: a new variable of the handler's own (no `nonlocal usr1`): the loop's
        # `usr1` never changes.
        usr1 = 1  # noqa: F841

    def on_usr2(signum, frame):
        flags["usr2"] += 1

    def on_tstp(signum, frame):
        flags["tstp"] += 1

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGQUIT, signal.SIG_IGN)
    signal.signal(signal.SIGUSR1, on_usr1)
    signal.signal(signal.SIGUSR2, on_usr2)
    signal.signal(signal.SIGTSTP, on_tstp)
    while True:
        if usr1 > 0:
            print(LINE_GO, flush=True)
            usr1 = 0
        while flags["usr2"] > 0:
            flags["usr2"] -= 1
            print(LINE_BELT, flush=True)
        if flags["tstp"] > 0:
            flags["tstp"] = 0
            os.kill(child, signal.SIGUSR1)
        pid, _ = os.waitpid(child, os.WNOHANG)
        if pid == child:
            break
        time.sleep(PERIOD)


def main():
    pid = os.fork()
    if pid == 0:
        conductor()
    else:
        driver(pid)


if __name__ == "__main__":
    main()
