# KeyboardInterrupt instead of a handler; time.sleep instead of alarm.
import time

try:
    while True:
        time.sleep(1)
        print("tick", flush=True)
except KeyboardInterrupt:
    print("bye", flush=True)
