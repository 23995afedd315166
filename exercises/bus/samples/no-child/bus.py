"""Faulty: never forks; the one process installs every handler and prints all three lines
itself (Ctrl-C, Ctrl-\\ and Ctrl-Z each print their line; Ctrl-Z then exits with status 0).
Classic mistake: the output looks right but there is no conductor. Should fail start (one
process, not two) and the checks that need a conductor: handlers, roles, exit-order.
"""

import signal
import sys

LINE_GO = "老司机开车了"
LINE_BELT = "系好安全带，车速有点快"
LINE_STOP = "到站了，请下车"


def on_int(signum, frame):
    print(LINE_GO, flush=True)


def on_quit(signum, frame):
    print(LINE_BELT, flush=True)


def on_tstp(signum, frame):
    print(LINE_STOP, flush=True)
    sys.exit(0)


def main():
    signal.signal(signal.SIGINT, on_int)
    signal.signal(signal.SIGQUIT, on_quit)
    signal.signal(signal.SIGTSTP, on_tstp)
    while True:
        signal.pause()


if __name__ == "__main__":
    main()
