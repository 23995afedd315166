# A flag polled in a loop instead of an Event: right lines, a CPU spent waiting.
import threading

flag = False


def worker(n):
    while not flag:
        pass
    print(f"thread {n} running", flush=True)


threads = [threading.Thread(target=worker, args=(n,)) for n in (1, 2, 3)]
for t in threads:
    t.start()
while input().strip() != "go":
    pass
flag = True
for t in threads:
    t.join()
