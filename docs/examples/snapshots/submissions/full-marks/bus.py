# 公交车: 司机 (parent) and 售票员 (child). Full marks: the driver ignores Ctrl-C and Ctrl-\,
# the conductor ignores Ctrl-Z, they talk with SIGUSR1/SIGUSR2, and the driver waits for the
# conductor before it leaves.
import os
import signal
import sys


def conductor_int(sig, frame):
    os.kill(os.getppid(), signal.SIGUSR1)


def conductor_quit(sig, frame):
    os.kill(os.getppid(), signal.SIGUSR2)


def conductor_usr1(sig, frame):
    print("到站了，请下车")
    sys.exit(0)


def driver_usr1(sig, frame):
    print("老司机开车了")


def driver_usr2(sig, frame):
    print("系好安全带，车速有点快")


pid = os.fork()
if pid == 0:
    signal.signal(signal.SIGINT, conductor_int)
    signal.signal(signal.SIGQUIT, conductor_quit)
    signal.signal(signal.SIGUSR1, conductor_usr1)
    signal.signal(signal.SIGTSTP, signal.SIG_IGN)
    while True:
        signal.pause()
else:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGQUIT, signal.SIG_IGN)
    signal.signal(signal.SIGUSR1, driver_usr1)
    signal.signal(signal.SIGUSR2, driver_usr2)
    signal.signal(signal.SIGTSTP, lambda sig, frame: os.kill(pid, signal.SIGUSR1))
    os.wait()
