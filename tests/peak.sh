#!/bin/sh
# The peak snapshot: a heap that climbs in 10 steps of 1000 x 1 KiB and a 4 KiB block to
# 10244096 bytes in 10001 blocks, then falls, has its peak exact to the block, site by site; diff
# from the peak shows what was freed after it; a process killed by SIGKILL at its high keeps a
# peak within a tenth of it.
. "$srcdir/tests/lib.sh"
plan 13

high="10244096 10001"
db=$T/peak.db
run_victim "$db" peak 10 10 2>"$T/err"
is "$?" 0 "the victim exits 0"
is "$(q "$db" "SELECT id, live_bytes, live_blocks FROM snapshots WHERE trigger = 'peak'")" \
    "0 $high" "one peak snapshot, id 0, exact to the block"
is "$(q "$db" "SELECT count(*) FROM snapshots")" 2 "beside the exit snapshot"
is "$(q "$db" "SELECT (SELECT elapsed FROM snapshots WHERE id = 0) <=
    (SELECT elapsed FROM snapshots WHERE trigger = 'exit')")" 1 "the peak comes before the exit"
is "$(q "$db" "SELECT sum(live_bytes), sum(live_blocks) FROM peak_sites")" "$high" \
    "its sites add up to it"
"$HEAPSCOPE" top "$db" peak -n 0 --json >"$T/top.json"
is "$(entry "$T/top.json" "peak.c:$(line peak.c step)")" "10240000 10000" "top peak: the steps"
is "$(entry "$T/top.json" "peak.c:$(line peak.c top)")" "4096 1" "top peak: the top block"
is "$(entry "$T/top.json" "peak.c:$(line peak.c after)")" "" \
    "top peak: nothing allocated after the high"
"$HEAPSCOPE" top "$db" -n 0 --json >"$T/last.json"
is "$(member "$T/last.json" 'd["snapshot"]["trigger"]')" exit "top's default is not the peak"
"$HEAPSCOPE" diff "$db" peak last -n 0 --json >"$T/diff.json"
is "$(member "$T/diff.json" '[(s["size_diff"], s["count_diff"]) for s in d["stats"]
    if s["key"].endswith("peak.c:'"$(line peak.c step)"'")]')" "[(-10240000, -10000)]" \
    "diff peak last: the steps freed after the high"

# Killed at its high, 1.5 s after reaching it: the writer thread wrote the peak on its own.
kdb=$T/kill.db
HEAPSCOPE_OUTPUT=$kdb LD_PRELOAD=$HEAPSCOPE_LIBRARY "$VICTIMS/peak" 10 10 kill 2>"$T/kerr"
is "$?" 137 "the victim dies of SIGKILL"
got=$(q "$kdb" "SELECT live_bytes FROM snapshots WHERE trigger = 'peak'")
is "$([ "${got:-0}" -ge 9219686 ] && [ "$got" -le 10244096 ] && echo yes)" yes \
    "its database keeps a peak within a tenth of the high ($got bytes)"
is "$(q "$kdb" "SELECT sum(live_bytes) FROM peak_sites") $(q "$kdb" "PRAGMA integrity_check")" \
    "$got ok" "whole, its sites adding up"
done_testing
