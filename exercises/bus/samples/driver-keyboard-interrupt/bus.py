"""Faulty: the driver sets nothing for SIGINT, so Python's own default handler is in place and
Ctrl-C raises KeyboardInterrupt in the driver, which dies with a traceback. The most common
mistake of the exercise: the handlers are all set after the fork, only the driver's
signal.signal(signal.SIGINT, signal.SIG_IGN) is missing. Whether line 1 still gets printed
while the interpreter unwinds, and which signal finally ends the driver, is left to chance.
Should fail ctrl-c alone (the fault shows first there); repeat, whose Ctrl-C is then sent to
the conductor alone, and handlers, which reads the same disposition, are its consequences.
"""
import os
import signal
import sys
import time


def driver_usr1(signum, frame):
    print("老司机开车了", flush=True)


def driver_usr2(signum, frame):
    print("系好安全带，车速有点快", flush=True)


def driver_tstp(signum, frame):
    os.kill(pid, signal.SIGUSR1)


def conductor_int(signum, frame):
    os.kill(os.getppid(), signal.SIGUSR1)


def conductor_quit(signum, frame):
    os.kill(os.getppid(), signal.SIGUSR2)


def conductor_usr1(signum, frame):
    print("到站了，请下车", flush=True)
    sys.exit(0)


pid = os.fork()
if pid == 0:
    # conductor
    signal.signal(signal.SIGTSTP, signal.SIG_IGN)
    signal.signal(signal.SIGINT, conductor_int)
    signal.signal(signal.SIGQUIT, conductor_quit)
    signal.signal(signal.SIGUSR1, conductor_usr1)
    while True:
        signal.pause()
else:
    # driver
    signal.signal(signal.SIGQUIT, signal.SIG_IGN)
    signal.signal(signal.SIGUSR1, driver_usr1)
    signal.signal(signal.SIGUSR2, driver_usr2)
    signal.signal(signal.SIGTSTP, driver_tstp)
    os.wait()
    print("driver: conductor got off, bye")
