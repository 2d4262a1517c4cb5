#!/bin/sh
# A Python program that uses SQLite itself (the sqlite3 module, the same libsqlite3 as heapscope)
# runs unchanged, and a snapshot from Python through the API holds exactly the block it made.
. "$srcdir/tests/lib.sh"
PYTHON=${PYTHON:-/usr/bin/python3}
[ -x "$PYTHON" ] || skip_all "$PYTHON is not installed"
"$PYTHON" -c 'import sqlite3' 2>/dev/null || skip_all "$PYTHON has no sqlite3 module"
plan 6

cat >"$T/prog.py" <<'PY'
import ctypes, sqlite3, sys
con = sqlite3.connect(sys.argv[1])
con.execute("CREATE TABLE t (x INTEGER)")
con.executemany("INSERT INTO t VALUES (?)", [(i,) for i in range(10000)])
con.commit()
print(con.execute("SELECT count(*), sum(x) FROM t").fetchone())
big = bytes(1000000)
snap = getattr(ctypes.CDLL(None), "heapscope_snapshot", None)
if snap is not None:
    snap.argtypes = [ctypes.c_char_p]
    print("snapshot", snap(b"big") > 0)
del big
con.close()
PY
"$PYTHON" "$T/prog.py" "$T/plain.sqlite" >"$T/want"
"$HEAPSCOPE" run -o "$T/py.db" -- "$PYTHON" "$T/prog.py" "$T/traced.sqlite" >"$T/got" 2>"$T/err"
is "$?" 0 "python exits 0 under heapscope"
is "$(head -1 "$T/got")" "$(head -1 "$T/want")" "the program's SQLite results are unchanged"
is "$(sed -n 2p "$T/got")" "snapshot True" "heapscope_snapshot through ctypes"
is "$(q "$T/traced.sqlite" "SELECT count(*) FROM t")" 10000 "the program's own database is whole"
# bytes(10**6) is one PyBytesObject: a 33-byte header and the bytes, one malloc.
is "$(q "$T/py.db" "SELECT count(*) FROM blocks b JOIN snapshots s ON s.id = b.snapshot_id
    WHERE s.label = 'big' AND b.size = 1000033")" 1 "the snapshot holds the 1000033-byte object"
is "$(q "$T/py.db" "SELECT count(*) FROM blocks b JOIN snapshots s ON s.id = b.snapshot_id
    WHERE s.trigger = 'exit' AND b.size = 1000033")" 0 "freed by exit"
done_testing
