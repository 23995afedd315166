# multiprocessing: a Process and a Queue; None says the input has ended.
from multiprocessing import Process, Queue


def child(q):
    while True:
        line = q.get()
        if line is None:
            break
        print(line.upper(), flush=True)


if __name__ == "__main__":
    q = Queue()
    p = Process(target=child, args=(q,))
    p.start()
    while True:
        try:
            q.put(input())
        except EOFError:
            break
    q.put(None)
    p.join()
