# The parent upper-cases and prints; the child only waits.
import os, sys

r, w = os.pipe()
if os.fork() == 0:
    os.close(w)
    os.read(r, 1)
    sys.exit(0)
os.close(r)
while True:
    try:
        line = input()
    except EOFError:
        break
    print(line.upper(), flush=True)
os.close(w)
os.wait()
