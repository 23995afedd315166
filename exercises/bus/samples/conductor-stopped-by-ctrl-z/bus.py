"""Faulty: the conductor never ignores SIGTSTP, so Ctrl-Z stops it (the default action) while the
driver relays the key as SIGUSR1; a stopped conductor cannot print `到站了，请下车` or exit,
and the driver waits for it forever. Classic mistake: forgetting that Ctrl-Z reaches both
processes. Should fail ctrl-z; handlers (the same disposition) is its consequence, and
exit-order and cleanup, which cannot see a ride that never ends, are skipped because of it;
everything else is right.
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

    # The fault: SIGTSTP left at its default (stop) instead of SIG_IGN.
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

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGQUIT, signal.SIG_IGN)
    signal.signal(signal.SIGUSR1, on_usr1)
    signal.signal(signal.SIGUSR2, on_usr2)
    signal.signal(signal.SIGTSTP, on_tstp)
    # os.wait() is retried after each handler (PEP 475), so it returns only when the
    # conductor has exited and been reaped.
    os.wait()


def main():
    pid = os.fork()
    if pid == 0:
        conductor()
    else:
        driver(pid)


if __name__ == "__main__":
    main()
