# No SIGINT handler: Ctrl-C kills it with a traceback.
import signal

def on_alarm(sig, frame):
    print("tick", flush=True)
    signal.alarm(1)

signal.signal(signal.SIGALRM, on_alarm)
signal.alarm(1)
while True:
    signal.pause()
