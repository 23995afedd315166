# Watches the clock in a loop: right output, a CPU spent waiting.
import sys
import time

next_tick = time.time() + 1
try:
    while True:
        if time.time() >= next_tick:
            print("tick", flush=True)
            next_tick += 1
except KeyboardInterrupt:
    print("bye", flush=True)
    sys.exit(0)
