# Allocations of known sizes at known lines, for tests/python-capture.sh.  Lines marked "tag:NAME"
# are found by the test; keep each allocation on its tagged line.
import ctypes, sys, threading

snap = ctypes.CDLL(None).heapscope_snapshot
snap.argtypes = [ctypes.c_char_p]


def make():
    return [bytes(100) for i in range(10000)]  # tag:bytes


def deep(n):
    if n:
        return deep(n - 1)  # tag:recurse
    return [bytes(200) for i in range(7)]  # tag:deep


def gen():
    for i in range(300):
        yield bytes(300)  # tag:gen


def worker(out):
    out.extend(bytes(400) for i in range(1000))  # tag:thread


objs = make()  # tag:make
items = [None] * 1000  # tag:list
nested = deep(30)
from_gen = list(gen())
threaded = []
t = threading.Thread(target=worker, args=(threaded,))
t.start()
t.join()
if "tracemalloc" in sys.argv:
    import tracemalloc
    traces = tracemalloc.take_snapshot().traces
    print("tracemalloc", sum(1 for tr in traces
                             if tr.size == 133 and tr.traceback[0].filename == __file__))
print("snapshot", snap(b"here"))
