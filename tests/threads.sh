#!/bin/sh
# Four threads allocating at once at one line: exact totals, one thread row per thread.
. "$srcdir/tests/lib.sh"
plan 6

db=$T/threads.db
run_victim "$db" threads 4 20000 >"$T/out" 2>"$T/err"
is "$?" 0 "threads exits 0"
"$HEAPSCOPE" top "$db" joined -n 0 --json >"$T/j.json"
is "$?" 0 "top of the api snapshot"
is "$(entry "$T/j.json" "threads.c:$(line threads.c thread-malloc)")" "1920000 40000" \
    "half of 4 x 20000 blocks of 48 bytes live"
is "$(entry "$T/j.json" "threads.c:$(line threads.c slots)")" "640000 4" "the slot arrays"
is "$(q "$db" "SELECT allocs, frees, temporaries FROM site_states s JOIN snapshots n ON n.id = s.snapshot_id
    WHERE n.label = 'joined' AND s.live_bytes = 1920000")" "80000 40000 0" \
    "per-site allocations and frees"
is "$(q "$db" "SELECT count(DISTINCT thread_id) FROM blocks b JOIN snapshots n ON n.id = b.snapshot_id
    WHERE n.label = 'joined' AND b.size = 48")" 4 "blocks carry the thread that made them"
done_testing
