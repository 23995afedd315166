# The parent waits for its children's time to pass, and reaps nobody before it exits.
import os, time

for i in range(3):
    if os.fork() == 0:
        time.sleep(0.1 * (i + 1))
        os._exit(0)
time.sleep(1)
print("all done", flush=True)
