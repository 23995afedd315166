"""Faulty: a driver in the polling style of correct-flag-polling (handlers set flags, the main
loop acts on them every 0.2 s, reaping with os.waitpid(..., WNOHANG)) that never ignores
SIGINT, so Ctrl-C raises KeyboardInterrupt in its sleep and it dies with a traceback; the
conductor is textbook (relays from its handlers, waits in pause()). Should fail handlers,
ctrl-c and repeat, like driver-dies-on-ctrl-c; the other checks are graded on fresh runs.
The driver's dying (traceback, interpreter shutdown) uses the CPU, but it is not a busy
loop: idle passes.
"""

import os
import signal
import time

LINE_GO = "老司机开车了"
LINE_BELT = "系好安全带，车速有点快"
LINE_STOP = "到站了，请下车"

PERIOD = 0.2


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
    flags = {"usr1": 0, "usr2": 0, "tstp": 0}

    def on_usr1(signum, frame):
        flags["usr1"] += 1

    def on_usr2(signum, frame):
        flags["usr2"] += 1

    def on_tstp(signum, frame):
        flags["tstp"] += 1

    # The fault: SIGINT is not ignored. Python's default handler raises KeyboardInterrupt
    # in the driver's sleep, and the driver dies with a traceback.
    signal.signal(signal.SIGQUIT, signal.SIG_IGN)
    signal.signal(signal.SIGUSR1, on_usr1)
    signal.signal(signal.SIGUSR2, on_usr2)
    signal.signal(signal.SIGTSTP, on_tstp)
    while True:
        while flags["usr1"] > 0:
            flags["usr1"] -= 1
            print(LINE_GO, flush=True)
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
