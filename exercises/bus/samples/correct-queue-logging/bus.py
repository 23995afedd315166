"""Correct bus program that logs every event to a multiprocessing.Queue: the driver and the
conductor (a multiprocessing.Process, start method 'fork') put one record per signal they
get, and a logger thread in the driver writes the records to a log file. Each side's Queue
has a feeder thread that writes to the queue's pipe and exits when its process leaves, so
the bytes a process has written are spread over threads that come and go. The three lines
are printed as usual. Should pass every check.
"""

import multiprocessing
import os
import signal
import sys
import tempfile
import threading

LINE_GO = "老司机开车了"
LINE_BELT = "系好安全带，车速有点快"
LINE_STOP = "到站了，请下车"


def conductor(log):
    def on_int(signum, frame):
        log.put(("conductor", "SIGINT: telling the driver to go"))
        os.kill(os.getppid(), signal.SIGUSR1)

    def on_quit(signum, frame):
        log.put(("conductor", "SIGQUIT: telling the driver to buckle up"))
        os.kill(os.getppid(), signal.SIGUSR2)

    def on_usr1(signum, frame):
        log.put(("conductor", "SIGUSR1: arrived, leaving"))
        print(LINE_STOP, flush=True)
        # The Queue's feeder thread flushes the record and exits as the process leaves.
        sys.exit(0)

    signal.signal(signal.SIGTSTP, signal.SIG_IGN)
    signal.signal(signal.SIGINT, on_int)
    signal.signal(signal.SIGQUIT, on_quit)
    signal.signal(signal.SIGUSR1, on_usr1)
    log.put(("conductor", "ready"))
    while True:
        signal.pause()


def logger(log, out):
    """Writes each record to `out` until the None that ends the log."""
    while True:
        record = log.get()
        if record is None:
            return
        who, what = record
        out.write(f"{who}: {what}\n")
        out.flush()


def main():
    # 'fork' is the default on Linux up to Python 3.13; 3.14 defaults to 'forkserver', where
    # the conductor's parent would be the fork server, not the driver.
    multiprocessing.set_start_method("fork")
    log = multiprocessing.Queue()
    out = tempfile.TemporaryFile("w", encoding="utf-8")
    writer = threading.Thread(target=logger, args=(log, out), daemon=True)
    writer.start()
    p = multiprocessing.Process(target=conductor, args=(log,))
    p.start()

    def on_usr1(signum, frame):
        log.put(("driver", "SIGUSR1: go"))
        print(LINE_GO, flush=True)

    def on_usr2(signum, frame):
        log.put(("driver", "SIGUSR2: seatbelts"))
        print(LINE_BELT, flush=True)

    def on_tstp(signum, frame):
        log.put(("driver", "SIGTSTP: telling the conductor we arrived"))
        os.kill(p.pid, signal.SIGUSR1)

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGQUIT, signal.SIG_IGN)
    signal.signal(signal.SIGUSR1, on_usr1)
    signal.signal(signal.SIGUSR2, on_usr2)
    signal.signal(signal.SIGTSTP, on_tstp)
    log.put(("driver", "ready"))
    p.join()
    log.put(("driver", f"conductor left with status {p.exitcode}, leaving"))
    log.put(None)
    writer.join()
    out.close()


if __name__ == "__main__":
    main()
