"""Bad input: the driver forks (the conductor just sleeps), then writes to stdout without end,
as fast as the terminal takes it. The grader must bound what it keeps of the output and still
grade (and clean up) in time.
"""

import os
import signal

CHUNK = ("the bus never stops " * 50 + "\n").encode() * 4


def main():
    pid = os.fork()
    if pid == 0:
        while True:
            signal.pause()
    while True:
        os.write(1, CHUNK)


if __name__ == "__main__":
    main()
