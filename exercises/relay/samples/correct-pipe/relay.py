import os
import sys

r, w = os.pipe()
pid = os.fork()
if pid == 0:
    os.close(w)
    with os.fdopen(r) as pipe:
        for line in pipe:
            print(line.rstrip("\n").upper(), flush=True)
    sys.exit(0)

os.close(r)
with os.fdopen(w, "w") as pipe:
    while True:
        try:
            line = input()
        except EOFError:
            break
        pipe.write(line + "\n")
        pipe.flush()
os.wait()
