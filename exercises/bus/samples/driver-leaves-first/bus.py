"""Faulty: on Ctrl-Z the driver sends SIGUSR1 to the conductor and exits at once, without
waiting; the conductor prints `到站了，请下车` at once but exits only 0.5 s after its parent
is gone, so the driver always leaves first. Classic mistake: no wait() in the driver. Should
fail exit-order (the driver left first); cleanup, which finds the conductor still running when
the driver has exited, is exit-order's consequence. Everything else is right.
"""

import os
import signal
import sys
import time

LINE_GO = "老司机开车了"
LINE_BELT = "系好安全带，车速有点快"
LINE_STOP = "到站了，请下车"


def conductor(driver):
    def on_int(signum, frame):
        os.kill(os.getppid(), signal.SIGUSR1)

    def on_quit(signum, frame):
        os.kill(os.getppid(), signal.SIGUSR2)

    def on_usr1(signum, frame):
        print(LINE_STOP, flush=True)
        # Make the order certain: leave only once the driver has gone (we are reparented),
        # and a while after that, so that whoever watches has seen the driver go first.
        while os.getppid() == driver:
            time.sleep(0.01)
        time.sleep(0.5)
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
        # The fault: leave at once instead of waiting for the conductor.
        sys.exit(0)

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGQUIT, signal.SIG_IGN)
    signal.signal(signal.SIGUSR1, on_usr1)
    signal.signal(signal.SIGUSR2, on_usr2)
    signal.signal(signal.SIGTSTP, on_tstp)
    while True:
        signal.pause()


def main():
    driver_pid = os.getpid()
    pid = os.fork()
    if pid == 0:
        conductor(driver_pid)
    else:
        driver(pid)


if __name__ == "__main__":
    main()
