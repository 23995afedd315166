# Each worker makes its own Semaphore(2): it guards nothing.
import time
from multiprocessing import Process, Semaphore


def work(n):
    sem = Semaphore(2)
    with sem:
        print(f"worker {n} enters", flush=True)
        time.sleep(0.2)
        print(f"worker {n} leaves", flush=True)


if __name__ == "__main__":
    ps = [Process(target=work, args=(n,)) for n in range(1, 6)]
    for p in ps:
        p.start()
    for p in ps:
        p.join()
