import signal
import sys


def on_alarm(sig, frame):
    print("tick", flush=True)
    signal.alarm(1)


def on_int(sig, frame):
    # No tick may come any more: an alarm left pending fires while Python shuts down,
    # when SIGALRM's default action ends the program.
    signal.alarm(0)
    print("bye", flush=True)
    sys.exit(0)


signal.signal(signal.SIGALRM, on_alarm)
signal.signal(signal.SIGINT, on_int)
signal.alarm(1)
while True:
    signal.pause()
