# The workers do not wait: they print at once.
import threading

lock = threading.Lock()


def worker(n):
    with lock:
        print(f"thread {n} running", flush=True)


threads = [threading.Thread(target=worker, args=(n,)) for n in (1, 2, 3)]
for t in threads:
    t.start()
input()
for t in threads:
    t.join()
