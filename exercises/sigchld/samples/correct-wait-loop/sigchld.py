# Another way: no handler at all; os.wait() blocks until the next child ends and reaps it.
import os
import time

for n in (3, 1, 2):
    pid = os.fork()
    if pid == 0:
        time.sleep(n / 10)
        os._exit(0)

for _ in range(3):
    pid, status = os.wait()
    print("reaped", pid, flush=True)
print("all done", flush=True)
