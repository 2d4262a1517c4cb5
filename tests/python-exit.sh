#!/bin/sh
# A traced CPython's exit snapshot is taken when the interpreter starts to finalize, after the
# program's atexit handlers, with its objects alive: a script keeps 20 bytearrays of 100000
# bytes (blocks of 100001) in a global and its atexit handler one of 77777; the exit snapshot
# holds them all, the final one (the process's exit, after the finalization) none, and it is
# what top shows by default.  A script that leaves by os._exit or dies of SIGTERM runs no
# atexit handler: its one exit snapshot is the process's, with the blocks.  Debian's python3,
# then pyenv's 3.12 and 3.13 when they are installed.
. "$srcdir/tests/lib.sh"
PER=8
plan $((3 * PER))

cat >"$T/exit.py" <<'PY'
import atexit, os, signal, sys

keep = [bytearray(100000) for _ in range(20)]  # tag:keep
late = []


@atexit.register
def handler():
    late.append(bytearray(77777))


if sys.argv[1] == "_exit":
    os._exit(3)
if sys.argv[1] == "term":
    os.kill(os.getpid(), signal.SIGTERM)
PY

# blocks DB TRIGGER SIZE: the blocks of SIZE bytes in DB's snapshot with TRIGGER.
blocks() {
	q "$1" "SELECT count(*) FROM blocks WHERE size = $3 AND
	    snapshot_id = (SELECT id FROM snapshots WHERE trigger = '$2')"
}
keep=$(grep -n 'tag:keep' "$T/exit.py" | cut -d: -f1)
triggers() { q "$1" "SELECT group_concat(trigger, ' ') FROM snapshots WHERE id > 0"; }

pyrun() {
	py=$1 name=$2
	if [ ! -x "$py" ]; then
		skip "$PER" "$name is not installed"
		return
	fi
	db=$T/$name.db
	"$HEAPSCOPE" run -o "$db" -- "$py" "$T/exit.py" normal 2>"$T/err"
	is "$(triggers "$db")" "exit final" "$name: an exit snapshot, then the final one"
	is "$(blocks "$db" exit 100001) $(blocks "$db" exit 77778)" "20 1" \
	    "$name: at exit, the program's objects and its atexit handler's"
	is "$(blocks "$db" final 100001)" 0 "$name: at the final one, none"
	"$HEAPSCOPE" top "$db" -n 0 --json >"$T/top.json"
	is "$(member "$T/top.json" 'd["snapshot"]["trigger"]')" exit "$name: top shows the exit one"
	like "$(member "$T/top.json" '[s["size"] for s in d["stats"]
	    if s["key"].endswith("exit.py:'"$keep"'")]')" '^\[20[0-9]{5}\]$' \
	    "$name: and names the script's line, with its 2 MB"

	"$HEAPSCOPE" run -o "$T/$name-x.db" -- "$py" "$T/exit.py" _exit 2>"$T/err"
	is "$? $(triggers "$T/$name-x.db")" "3 exit" "$name: os._exit: one exit snapshot"
	is "$(blocks "$T/$name-x.db" exit 100001)" 20 "$name: os._exit: with the objects"

	"$HEAPSCOPE" run -o "$T/$name-t.db" -- "$py" "$T/exit.py" term 2>"$T/err"
	is "$(triggers "$T/$name-t.db") $(blocks "$T/$name-t.db" exit 100001)" "exit 20" \
	    "$name: SIGTERM: one exit snapshot, with the objects"
}

pyrun /usr/bin/python3 python3
pyrun /root/.pyenv/versions/3.12.1/bin/python3.12 python3.12
pyrun /root/.pyenv/versions/3.13.0/bin/python3.13 python3.13
done_testing
