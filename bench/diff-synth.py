#!/usr/bin/env python3
"""diff-synth: writes a synthetic heapscope database for benchmarking heapscope diff.

Usage: diff-synth.py BASE.db OUT.db [--blocks N] [--sites N] [--shift K] [--aslr]

BASE.db is a real trace (any program run under heapscope): its process and modules rows, its
format version and application id are kept, everything else is replaced by two api snapshots,
"before" and "after", of about N live blocks each (default 1000000) over S sites each (default
100000).  Stacks 0 .. S-1 are live in "before" and stacks K .. S+K-1 in "after" (K = S / 10 by
default), with counts that change, so the diff has keys that grew, shrank, appeared and vanished.

Each stack is 6 or 7 frames deep: one in ten starts in libc (like strdup's), then a key frame of
its own (a distinct file:line, ten sites per function), three of 1000 caller frames, main and
_start, all in the executable.  The symbols of every frame of the executable are in the symbols
table, as after a first report, so that diff does no DWARF work and the benchmark times the
analyzer itself.  With --aslr, the modules get other load addresses and every id (frames, stacks)
is permuted, as in another run of the same build: a cross-run diff must still match every key.
"""
import argparse
import os
import random
import shutil
import sqlite3
import sys


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("base")
    ap.add_argument("out")
    ap.add_argument("--blocks", type=int, default=1000000)
    ap.add_argument("--sites", type=int, default=100000)
    ap.add_argument("--shift", type=int, default=None)
    ap.add_argument("--aslr", action="store_true")
    a = ap.parse_args()
    nsites = a.sites
    shift = a.shift if a.shift is not None else nsites // 10
    nstacks = nsites + shift
    per_site = a.blocks / nsites
    rnd = random.Random(7)

    if os.path.exists(a.out):
        os.unlink(a.out)
    shutil.copyfile(a.base, a.out)
    db = sqlite3.connect(a.out)
    db.execute("PRAGMA journal_mode=OFF")
    db.execute("PRAGMA synchronous=OFF")
    for t in ("blocks", "mappings", "sites", "symbols", "stack_frames", "stacks", "frames",
              "snapshots", "threads"):
        db.execute("DELETE FROM %s" % t)
    exe, libc = None, None
    executable = db.execute("SELECT executable FROM process").fetchone()[0]
    for mid, path in db.execute("SELECT id, path FROM modules"):
        if path in ("", executable) and exe is None:
            exe = mid
        if path.endswith("/libc.so.6"):
            libc = mid
    if exe is None or libc is None:
        sys.exit("diff-synth: %s: no executable or libc module" % a.base)
    if a.aslr:
        # Another run: every module elsewhere, by a page-aligned amount.
        db.execute("UPDATE modules SET base = base + 0x7000000, start = start + 0x7000000,"
                   " end = end + 0x7000000")
    base = dict(db.execute("SELECT id, base FROM modules"))

    # Frames: key frames, callers, main, _start (executable), one libc frame.
    nkey, ncallers = nstacks, 1000
    frames = []             # (module, offset, symbol row or None)
    for i in range(nkey):
        frames.append((exe, 0x10000 + 16 * i,
                       ("fn_%d" % (i // 10), "/bench/src/file_%d.c" % (i // 100), 10 + i % 100)))
    for j in range(ncallers):
        frames.append((exe, 0x800000 + 16 * j, ("caller_%d" % j, "/bench/src/callers.c", 10 + j)))
    frames.append((exe, 0x900000, ("main", "/bench/src/main.c", 42)))
    frames.append((exe, 0x900100, ("_start", None, None)))
    frames.append((libc, 0x8a000, None))
    main_f, start_f, libc_f = nkey + ncallers, nkey + ncallers + 1, nkey + ncallers + 2
    # Frame ids: 1.. in order, or permuted for --aslr.
    fid = list(range(1, len(frames) + 1))
    if a.aslr:
        rnd.shuffle(fid)
    db.executemany("INSERT INTO frames (id, address, module_id, offset) VALUES (?, ?, ?, ?)",
                   ((fid[k], off + base[m], m, off) for k, (m, off, _) in enumerate(frames)))
    db.executemany("INSERT INTO symbols (frame_id, inline_level, function, file, line)"
                   " VALUES (?, 0, ?, ?, ?)",
                   ((fid[k], s[0], s[1], s[2]) for k, (_, _, s) in enumerate(frames)
                    if s is not None))

    # Stacks: ids 1.. or permuted.
    sid = list(range(1, nstacks + 1))
    if a.aslr:
        rnd.shuffle(sid)

    def stack_frames(i):
        fr = [libc_f] if i % 10 == 0 else []
        fr += [i, nkey + (i * 7) % ncallers, nkey + (i * 13) % ncallers,
               nkey + (i * 17) % ncallers, main_f, start_f]
        return fr

    db.executemany("INSERT INTO stacks (id, depth) VALUES (?, ?)",
                   ((sid[i], len(stack_frames(i))) for i in range(nstacks)))
    db.executemany("INSERT INTO stack_frames (stack_id, level, frame_id) VALUES (?, ?, ?)",
                   ((sid[i], lv, fid[f]) for i in range(nstacks)
                    for lv, f in enumerate(stack_frames(i))))
    db.execute("INSERT INTO threads (id, tid) VALUES (1, 1)")

    # Two snapshots: per stack a count around per_site and a size; "after" changes them.
    def count(i, snap):
        c = max(1, int(per_site + ((i * 2654435761) % 9) - 4))
        return c + ((i % 7) - 3 if snap == 2 else 0)

    def size(i):
        return 16 * (1 + i % 64)

    address = 0x10000000
    for snap, label, lo in ((1, "before", 0), (2, "after", shift)):
        rows, blocks = [], []
        for i in range(lo, lo + nsites):
            c = max(1, count(i, snap))
            rows.append((snap, sid[i], c * size(i), c, c, 0, c * size(i), 0, "{}"))
            for _ in range(c):
                blocks.append((snap, address, size(i), sid[i], 1, 1.0))
                address += 64
        live_bytes = sum(r[2] for r in rows)
        live_blocks = sum(r[3] for r in rows)
        db.execute("INSERT INTO snapshots (id, label, trigger, time, elapsed, live_bytes,"
                   " live_blocks, mapped_bytes, mappings, total_allocs, total_frees, full,"
                   " scanned)"
                   " VALUES (?, ?, 'api', ?, ?, ?, ?, 0, 0, ?, 0, 1, 0)",
                   (snap, label, 1.8e9 + snap, float(snap), live_bytes, live_blocks,
                    live_blocks))
        rows.sort(key=lambda r: r[1])
        db.executemany("INSERT INTO sites (snapshot_id, stack_id, live_bytes, live_blocks,"
                       " allocs, frees, alloc_bytes, temporaries, lifetimes)"
                       " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        db.executemany("INSERT INTO blocks (snapshot_id, address, size, stack_id, thread_id,"
                       " age) VALUES (?, ?, ?, ?, ?, ?)", blocks)
        print("%s: snapshot %d %s: %d B in %d blocks over %d sites" %
              (a.out, snap, label, live_bytes, live_blocks, len(rows)))
    db.commit()
    db.execute("VACUUM")
    db.close()


if __name__ == "__main__":
    main()
