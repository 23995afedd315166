# -*- coding: utf-8 -*-
# A bus program written for Python 2 (print statements): Python 3 stops at the first one
# with a SyntaxError. The report says it is Python 2 source, not only that it died.
import os
import signal
import sys


def conductor():
    def on_int(signum, frame):
        os.kill(os.getppid(), signal.SIGUSR1)

    def on_quit(signum, frame):
        os.kill(os.getppid(), signal.SIGUSR2)

    def on_usr1(signum, frame):
        print "到站了，请下车"
        sys.stdout.flush()
        os._exit(0)

    signal.signal(signal.SIGTSTP, signal.SIG_IGN)
    signal.signal(signal.SIGINT, on_int)
    signal.signal(signal.SIGQUIT, on_quit)
    signal.signal(signal.SIGUSR1, on_usr1)
    while True:
        signal.pause()


def driver(child):
    def on_usr1(signum, frame):
        print "老司机开车了"
        sys.stdout.flush()

    def on_usr2(signum, frame):
        print "系好安全带，车速有点快"
        sys.stdout.flush()

    def on_tstp(signum, frame):
        os.kill(child, signal.SIGUSR1)

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGQUIT, signal.SIG_IGN)
    signal.signal(signal.SIGUSR1, on_usr1)
    signal.signal(signal.SIGUSR2, on_usr2)
    signal.signal(signal.SIGTSTP, on_tstp)
    os.wait()


pid = os.fork()
if pid == 0:
    conductor()
else:
    driver(pid)
