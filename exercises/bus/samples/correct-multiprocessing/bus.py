"""Correct bus program written with multiprocessing.Process (start method 'fork'): the
conductor is the Process, the driver joins it with p.join(); the conductor leaves with
sys.exit(0) so its exit status is 0. Should pass every check.
"""

import multiprocessing
import os
import signal
import sys

LINE_GO = "老司机开车了"
LINE_BELT = "系好安全带，车速有点快"
LINE_STOP = "到站了，请下车"


def on_int(signum, frame):
    os.kill(os.getppid(), signal.SIGUSR1)


def on_quit(signum, frame):
    os.kill(os.getppid(), signal.SIGUSR2)


def on_stop(signum, frame):
    print(LINE_STOP, flush=True)
    # SystemExit leaves the target; multiprocessing turns it into exit status 0.
    sys.exit(0)


def conductor():
    signal.signal(signal.SIGTSTP, signal.SIG_IGN)
    signal.signal(signal.SIGINT, on_int)
    signal.signal(signal.SIGQUIT, on_quit)
    signal.signal(signal.SIGUSR1, on_stop)
    while True:
        signal.pause()


def main():
    # 'fork' is the default on Linux up to Python 3.13; 3.14 defaults to 'forkserver', where
    # the conductor's parent would be the fork server, not the driver.
    multiprocessing.set_start_method("fork")
    p = multiprocessing.Process(target=conductor)
    p.start()

    def on_usr1(signum, frame):
        print(LINE_GO, flush=True)

    def on_usr2(signum, frame):
        print(LINE_BELT, flush=True)

    def on_tstp(signum, frame):
        os.kill(p.pid, signal.SIGUSR1)

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGQUIT, signal.SIG_IGN)
    signal.signal(signal.SIGUSR1, on_usr1)
    signal.signal(signal.SIGUSR2, on_usr2)
    signal.signal(signal.SIGTSTP, on_tstp)
    p.join()


if __name__ == "__main__":
    main()
