# 公交车, with the most common last mistake: on Ctrl-Z the driver tells the conductor to get
# off and leaves at once, without waiting for it (no os.wait()).
import os
import signal
import sys
import time


def conductor_int(sig, frame):
    os.kill(os.getppid(), signal.SIGUSR1)


def conductor_quit(sig, frame):
    os.kill(os.getppid(), signal.SIGUSR2)


def conductor_usr1(sig, frame):
    print("到站了，请下车")
    time.sleep(0.5)  # tidying up before getting off: the driver is gone by then
    sys.exit(0)


def driver_usr1(sig, frame):
    print("老司机开车了")


def driver_usr2(sig, frame):
    print("系好安全带，车速有点快")


def driver_tstp(sig, frame):
    os.kill(pid, signal.SIGUSR1)
    sys.exit(0)


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
    signal.signal(signal.SIGTSTP, driver_tstp)
    while True:
        signal.pause()
