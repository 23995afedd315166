"""Bad input: a correct bus program (as correct-fork) whose driver first writes invalid UTF-8
bytes and the ANSI escapes `\x1b[2J\x1b[31m` (clear screen, red) to stdout. The lines are all
right and should pass; the report must show the noise safely (lossy, escaped), not replay it.
"""

import os
import signal

LINE_GO = "老司机开车了"
LINE_BELT = "系好安全带，车速有点快"
LINE_STOP = "到站了，请下车"
# Invalid UTF-8 (a lone 0xFF, a truncated 3-byte sequence, a bad continuation, an overlong
# NUL) and ANSI escapes that clear the screen and turn the text red.
NOISE = b"\xff\xe8\x80 \xc3\x28 \xc0\x80 \x1b[2J\x1b[31m\n"


def conductor():
    def on_int(signum, frame):
        os.kill(os.getppid(), signal.SIGUSR1)

    def on_quit(signum, frame):
        os.kill(os.getppid(), signal.SIGUSR2)

    def on_usr1(signum, frame):
        print(LINE_STOP, flush=True)
        os._exit(0)

    signal.signal(signal.SIGTSTP, signal.SIG_IGN)
    signal.signal(signal.SIGINT, on_int)
    signal.signal(signal.SIGQUIT, on_quit)
    signal.signal(signal.SIGUSR1, on_usr1)
    while True:
        signal.pause()


def driver(child):
    def on_usr1(signum, frame):
        print(LINE_GO, flush=True)

    def on_usr2(signum, frame):
        print(LINE_BELT, flush=True)

    def on_tstp(signum, frame):
        os.kill(child, signal.SIGUSR1)

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGQUIT, signal.SIG_IGN)
    signal.signal(signal.SIGUSR1, on_usr1)
    signal.signal(signal.SIGUSR2, on_usr2)
    signal.signal(signal.SIGTSTP, on_tstp)
    # The twist: garbage on stdout first (raw bytes, not through print).
    os.write(1, NOISE)
    # os.wait() is retried after each handler (PEP 475), so it returns only when the
    # conductor has exited and been reaped.
    os.wait()


def main():
    pid = os.fork()
    if pid == 0:
        conductor()
    else:
        driver(pid)


if __name__ == "__main__":
    main()
