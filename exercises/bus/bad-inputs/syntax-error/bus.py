"""Bad input: a bus program with a syntax error (a missing colon after `def main()`), so
Python refuses to run it at all: a traceback on stderr, exit status 1, no process forked.
"""

import os
import signal


def main()
    pid = os.fork()
    if pid == 0:
        signal.signal(signal.SIGTSTP, signal.SIG_IGN)
        while True:
            signal.pause()
    else:
        os.wait()


if __name__ == "__main__":
    main()
