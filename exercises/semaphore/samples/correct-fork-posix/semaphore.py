# fork and a semaphore acquired and released by hand.
import multiprocessing
import os
import time

sem = multiprocessing.Semaphore(2)
pids = []
for n in range(5):
    pid = os.fork()
    if pid == 0:
        sem.acquire()
        try:
            print("worker %d enters" % (n + 1), flush=True)
            time.sleep(0.15)
            print("worker %d leaves" % (n + 1), flush=True)
        finally:
            sem.release()
        os._exit(0)
    pids.append(pid)
for pid in pids:
    os.waitpid(pid, 0)
