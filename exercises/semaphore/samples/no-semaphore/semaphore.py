# Forgot the semaphore: all five are inside together.
import time
from multiprocessing import Process


def work(n):
    print(f"worker {n} enters", flush=True)
    time.sleep(0.2)
    print(f"worker {n} leaves", flush=True)


if __name__ == "__main__":
    ps = [Process(target=work, args=(n,)) for n in range(1, 6)]
    [p.start() for p in ps]
    [p.join() for p in ps]
