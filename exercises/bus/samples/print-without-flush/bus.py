"""Faulty: the driver prints line 1 with print(..., end="") and no flush. On a terminal
Python's stdout is line-buffered, so without a newline the text stays in the driver's buffer:
Ctrl-C shows nothing, and line 1 comes out only with the next newline, glued to the front of
line 2. Everything else (signals, relaying, exit order) is right. Should fail ctrl-c with
advice about buffering (flush, or end the line); repeat and roles see the same fault and are
its consequences; the rest passes: the late line 1 at Ctrl-\\ is the same fault, already
counted at Ctrl-C.
"""

import os
import signal
import sys

child_pid = 0


def say(text, newline=True):
    # The fault: line 1 is printed without its newline and never flushed.
    if newline:
        print(text)
    else:
        print(text, end="")


def on_go(sig, frm):
    say("老司机开车了", newline=False)


def on_belt(sig, frm):
    say("系好安全带，车速有点快")
    sys.stdout.flush()


def on_stop(sig, frm):
    os.kill(child_pid, signal.SIGUSR1)


def ask_driver(sig, frm):
    os.kill(os.getppid(), signal.SIGUSR1 if sig == signal.SIGINT else signal.SIGUSR2)


def get_off(sig, frm):
    print("到站了，请下车", flush=True)
    sys.exit(0)


child_pid = os.fork()
if child_pid == 0:
    signal.signal(signal.SIGTSTP, signal.SIG_IGN)
    signal.signal(signal.SIGINT, ask_driver)
    signal.signal(signal.SIGQUIT, ask_driver)
    signal.signal(signal.SIGUSR1, get_off)
    while True:
        signal.pause()
else:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGQUIT, signal.SIG_IGN)
    signal.signal(signal.SIGUSR1, on_go)
    signal.signal(signal.SIGUSR2, on_belt)
    signal.signal(signal.SIGTSTP, on_stop)
    os.waitpid(child_pid, 0)
    sys.exit(0)
