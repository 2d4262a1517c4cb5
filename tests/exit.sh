#!/bin/sh
# The exit snapshot: after exit(), after _exit(), and on a SIGTERM left at its default action.
. "$srcdir/tests/lib.sh"
plan 12

for how in exit _exit term; do
	db=$T/$how.db
	run_victim "$db" exiter "$how" >"$T/out" 2>"$T/err"
	status=$?
	case $how in
	exit) is "$status" 7 "exit(7) passes through" ;;
	_exit) is "$status" 8 "_exit(8) passes through" ;;
	term) is "$status" 143 "death by SIGTERM passes through" ;;
	esac
	is "$(q "$db" "SELECT trigger FROM snapshots WHERE trigger != 'peak'")" exit "$how: one exit snapshot"
	"$HEAPSCOPE" top "$db" -n 0 --json >"$T/$how.json"
	is "$(entry "$T/$how.json" "exiter.c:$(line exiter.c six-hundred)")" "2400 4" "$how: 4 x 600"
	is "$(entry "$T/$how.json" "exiter.c:$(line exiter.c forty)")" "80 2" "$how: 2 x 40"
done
done_testing
