#!/bin/sh
# Snapshots on the signal (SIGUSR2, or another one chosen with --signal) and on the interval timer.
. "$srcdir/tests/lib.sh"
plan 11

# A conversation with the waiter through a FIFO: signal, one line, signal, end of input.
db=$T/sig.db
mkfifo "$T/in"
"$HEAPSCOPE" run -o "$db" -- "$VICTIMS/waiter" <"$T/in" >"$T/out" 2>"$T/err" &
run=$!
exec 3>"$T/in"
wait_for "$T/out" '^ready'
pid=$(sed -n 's/^ready //p' "$T/out")
kill -USR2 "$pid"
wait_snapshots "$db" 1
echo line >&3
wait_for "$T/out" '^ok'
kill -USR2 "$pid"
wait_snapshots "$db" 2
exec 3>&-
wait "$run"
is "$?" 0 "the waiter exits 0"
is "$(q "$db" "SELECT group_concat(trigger, ' ') FROM snapshots WHERE id > 0")" "signal signal exit" \
    "two signal snapshots and the exit one"
"$HEAPSCOPE" top "$db" 1 -n 0 --json >"$T/1.json"
"$HEAPSCOPE" top "$db" 2 -n 0 --json >"$T/2.json"
is "$(entry "$T/1.json" "waiter.c:$(line waiter.c start)")" "6666 3" "first signal: 3 x 2222"
is "$(entry "$T/1.json" "waiter.c:$(line waiter.c line)")" "" "first signal: no line yet"
is "$(entry "$T/2.json" "waiter.c:$(line waiter.c line)")" "111 1" "second signal: one line"
is "$(q "$db" "SELECT count(*) FROM blocks WHERE snapshot_id = 2 AND size IN (111, 2222)")" 4 \
    "signal snapshots hold the blocks"

# Another signal, and interval snapshots every 0.2 s.
db=$T/int.db
rm -f "$T/in" "$T/out"
mkfifo "$T/in"
"$HEAPSCOPE" run -o "$db" --signal USR1 --interval 0.2 -- "$VICTIMS/waiter" <"$T/in" \
    >"$T/out" 2>"$T/err" &
run=$!
exec 3>"$T/in"
wait_for "$T/out" '^ready'
pid=$(sed -n 's/^ready //p' "$T/out")
wait_snapshots "$db" 2
kill -USR1 "$pid"
i=0
while [ "$(q "$db" "SELECT count(*) FROM snapshots WHERE trigger = 'signal'")" != 1 ] &&
    [ $i -lt 200 ]; do
	i=$((i + 1))
	sleep 0.1
done
# The snapshot signal sent to heapscope run itself reaches the command.
kill -USR1 "$run"
while [ "$(q "$db" "SELECT count(*) FROM snapshots WHERE trigger = 'signal'")" != 2 ] &&
    [ $i -lt 400 ]; do
	i=$((i + 1))
	sleep 0.1
done
exec 3>&-
wait "$run"
is "$?" 0 "the waiter exits 0"
is "$(q "$db" "SELECT count(*) >= 2 FROM snapshots WHERE trigger = 'interval'")" 1 \
    "interval snapshots"
is "$(q "$db" "SELECT count(*) FROM snapshots WHERE trigger = 'signal'")" 2 \
    "--signal USR1, sent to the command and to heapscope run"
first=$(q "$db" "SELECT min(id) FROM snapshots WHERE trigger = 'interval'")
"$HEAPSCOPE" top "$db" "$first" -n 0 --json >"$T/i.json"
is "$(entry "$T/i.json" "waiter.c:$(line waiter.c start)")" "6666 3" "interval: per-site counts"
is "$(q "$db" "SELECT count(*) FROM blocks WHERE snapshot_id = $first")" 0 \
    "interval snapshots hold no blocks"
done_testing
