"""Bad input: forks, then both processes ignore every signal that can be ignored and sleep
forever; no key, no signal but SIGKILL (or SIGSTOP) ends them. The grader must give up at its
deadlines and still clean up.
"""

import os
import signal
import time


def ignore_everything():
    for sig in signal.valid_signals():
        try:
            signal.signal(sig, signal.SIG_IGN)
        except (OSError, ValueError):
            pass  # SIGKILL, SIGSTOP and the ones the C library keeps for itself.


def main():
    os.fork()
    ignore_everything()
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
