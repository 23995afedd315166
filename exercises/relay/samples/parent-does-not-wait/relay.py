# Right lines, but the parent exits at Ctrl-D without waiting: the child is orphaned.
import os, sys, time

r, w = os.pipe()
if os.fork() == 0:
    os.close(w)
    f = os.fdopen(r)
    for line in f:
        print(line.strip().upper(), flush=True)
    time.sleep(0.3)
    sys.exit(0)
os.close(r)
out = os.fdopen(w, "w")
for line in sys.stdin:
    out.write(line)
    out.flush()
out.close()
