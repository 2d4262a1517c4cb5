#!/bin/sh
# Interval snapshots of a program that waits: a snapshot in which nothing changed writes no
# site and adds at most 64 KiB to the database, and each site's state at it is the state at
# the snapshot before (site_states), as top shows it.
. "$srcdir/tests/lib.sh"
plan 6

db=$T/wait.db
mkfifo "$T/in"
"$HEAPSCOPE" run -o "$db" --interval 0.1 -- "$VICTIMS/waiter" <"$T/in" >"$T/out" 2>"$T/err" &
run=$!
exec 3>"$T/in"
wait_for "$T/out" '^ready'
# pages DB: the bytes of the database file, as SQLite counts them.
pages() { q "$1" "SELECT page_count * page_size FROM pragma_page_count, pragma_page_size"; }
wait_snapshots "$db" 2
size2=$(pages "$db")
n2=$(snapshots "$db")
wait_snapshots "$db" $((n2 + 4))
size6=$(pages "$db")
n6=$(snapshots "$db")
exec 3>&-
wait "$run"
is "$?" 0 "the waiter exits 0"
is "$(q "$db" "SELECT count(*) FROM sites WHERE snapshot_id > 1 AND snapshot_id <= $n6")" 0 \
    "the snapshots after the first, while it waits, write no site"
per=$(( (size6 - size2) / (n6 - n2) ))
is "$([ "$per" -le 65536 ] && echo yes)" yes \
    "a snapshot in which nothing changed adds at most 64 KiB ($per bytes)"
is "$(q "$db" "SELECT count(*) FROM site_states WHERE snapshot_id = $n6")" \
    "$(q "$db" "SELECT count(*) FROM site_states WHERE snapshot_id = 1")" \
    "every site has a state at a snapshot that wrote none"
is "$(q "$db" "SELECT sum(live_bytes), sum(live_blocks) FROM site_states WHERE snapshot_id = $n6")" \
    "$(q "$db" "SELECT live_bytes, live_blocks FROM snapshots WHERE id = $n6")" \
    "and the states add up to its totals"
"$HEAPSCOPE" top "$db" "$n6" -n 0 --json >"$T/t.json"
is "$(entry "$T/t.json" "waiter.c:$(line waiter.c start)")" "6666 3" "top at it: 3 x 2222"
done_testing
