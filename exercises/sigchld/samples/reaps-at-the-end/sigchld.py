# Reaps, but only once every child has had time to end: zombies stay while it sleeps.
import os, time

kids = []
for i in range(3):
    pid = os.fork()
    if pid == 0:
        time.sleep(0.1 * (i + 1))
        os._exit(0)
    kids.append(pid)
time.sleep(1)
for pid in kids:
    os.waitpid(pid, 0)
    print(f"reaped {pid}", flush=True)
print("all done", flush=True)
