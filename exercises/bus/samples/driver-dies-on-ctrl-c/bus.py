"""Faulty: the driver never ignores SIGINT (here SIG_DFL, made explicit), so Ctrl-C kills the
driver and the conductor is left alone. Classic mistake: only the conductor was meant to react
to Ctrl-C, but the key reaches the whole foreground process group. Should fail ctrl-c alone:
repeat then sends SIGINT to the conductor alone in place of Ctrl-C and passes, and handlers
(the same disposition, read from /proc) is ctrl-c's consequence.

Python's own default for SIGINT (KeyboardInterrupt) kills the driver too, but whether line 1
still gets printed while the interpreter unwinds is left to chance; SIG_DFL makes the kernel
end the driver as the key is pressed, so no line 1 ever, on every run.
"""

import os
import signal

LINE_GO = "老司机开车了"
LINE_BELT = "系好安全带，车速有点快"
LINE_STOP = "到站了，请下车"


def conductor(driver):
    def tell_driver(sig):
        # Only while the driver is still our parent: once it is dead, getppid() names a
        # reaper (init, or the grader) that must not get our signals.
        if os.getppid() == driver:
            os.kill(driver, sig)

    def on_int(signum, frame):
        tell_driver(signal.SIGUSR1)

    def on_quit(signum, frame):
        tell_driver(signal.SIGUSR2)

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

    # The fault: SIGINT left at its default (terminate) instead of SIG_IGN.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGQUIT, signal.SIG_IGN)
    signal.signal(signal.SIGUSR1, on_usr1)
    signal.signal(signal.SIGUSR2, on_usr2)
    signal.signal(signal.SIGTSTP, on_tstp)
    os.wait()


def main():
    driver_pid = os.getpid()
    pid = os.fork()
    if pid == 0:
        conductor(driver_pid)
    else:
        driver(pid)


if __name__ == "__main__":
    main()
