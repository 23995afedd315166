import signal
import sys


def on_alarm(sig, frame):
    print("tick", flush=True)
    signal.alarm(1)


def on_int(sig, frame):
    print("bye", flush=True)
    sys.exit(0)


signal.signal(signal.SIGALRM, on_alarm)
signal.signal(signal.SIGINT, on_int)
signal.alarm(1)
while True:
    signal.pause()
