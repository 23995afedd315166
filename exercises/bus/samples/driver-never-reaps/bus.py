"""Faulty: the driver learns that the conductor has exited from a SIGCHLD handler (a flag) and
then exits without ever calling wait(), so the conductor stays a zombie until the driver is
gone. Classic mistake: treating SIGCHLD as the end of the child. Should fail exit-order (the
conductor is not reaped by the driver); cleanup, where its zombie outlives the driver (only
because the grader, as subreaper, holds it), is exit-order's consequence; the lines are right.
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
    child_gone = False

    def on_chld(signum, frame):
        nonlocal child_gone
        child_gone = True

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
    signal.signal(signal.SIGCHLD, on_chld)
    # Sleep on a wakeup pipe rather than signal.pause(): Python writes each signal's number
    # into it as the signal arrives, so a SIGCHLD that lands just before the read is not
    # slept through (with pause() it could be, and the driver would hang, sometimes).
    r, w = os.pipe()
    os.set_blocking(w, False)
    signal.set_wakeup_fd(w)
    while not child_gone:
        if signal.SIGCHLD in os.read(r, 64):
            break
    # The fault: exit without os.wait(); the conductor is left a zombie.


def main():
    pid = os.fork()
    if pid == 0:
        conductor()
    else:
        driver(pid)


if __name__ == "__main__":
    main()
