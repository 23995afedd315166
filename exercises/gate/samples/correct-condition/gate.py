# A Condition instead of an Event; the threads take turns in order.
import sys
import threading

cond = threading.Condition()
started = False
turn = 1


def worker(n):
    global turn
    with cond:
        cond.wait_for(lambda: started and turn == n)
        print("thread", n, "running")
        sys.stdout.flush()
        turn += 1
        cond.notify_all()


ts = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(1, 4)]
for t in ts:
    t.start()
for line in sys.stdin:
    if line.strip() == "go":
        break
with cond:
    started = True
    cond.notify_all()
for t in ts:
    t.join()
