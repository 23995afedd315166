import time
from multiprocessing import Process, Semaphore


def work(n, sem):
    with sem:
        print(f"worker {n} enters", flush=True)
        time.sleep(0.2)
        print(f"worker {n} leaves", flush=True)


if __name__ == "__main__":
    sem = Semaphore(2)
    workers = [Process(target=work, args=(n, sem)) for n in range(1, 6)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
