import threading

go = threading.Event()
lock = threading.Lock()


def worker(n):
    go.wait()
    with lock:
        print(f"thread {n} running", flush=True)


threads = [threading.Thread(target=worker, args=(n,)) for n in (1, 2, 3)]
for t in threads:
    t.start()
while input().strip() != "go":
    pass
go.set()
for t in threads:
    t.join()
