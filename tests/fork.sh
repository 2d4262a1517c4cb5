#!/bin/sh
# A forked child writes a database of its own; the parent's is untouched by it.
. "$srcdir/tests/lib.sh"
plan 12

"$HEAPSCOPE" run -o "$T/fork.%p.db" -- "$VICTIMS/forker" >"$T/out" 2>"$T/err"
is "$?" 7 "the exit status passes through (child's 3 + 4)"
set -- "$T"/fork.*.db
is "$#" 2 "two databases"
parent= child=
for f; do
	if [ "$(q "$f" "SELECT ppid FROM process")" = "$(q "$1" "SELECT pid FROM process")" ] ||
	    [ "$(q "$f" "SELECT ppid FROM process")" = "$(q "$2" "SELECT pid FROM process")" ]; then
		child=$f
	else
		parent=$f
	fi
done
ok "$([ -n "$parent" ] && [ -n "$child" ]; echo $?)" "the child's process row names the parent"
"$HEAPSCOPE" top "$parent" -n 0 --json >"$T/p.json"
"$HEAPSCOPE" top "$child" -n 0 --json >"$T/c.json"
is "$(entry "$T/p.json" "forker.c:$(line forker.c before-fork)")" "10000 10" "parent: before fork"
is "$(entry "$T/p.json" "forker.c:$(line forker.c parent)")" "2500 5" "parent: after fork"
is "$(entry "$T/p.json" "forker.c:$(line forker.c child)")" "" "parent: nothing of the child's"
is "$(entry "$T/c.json" "forker.c:$(line forker.c before-fork)")" "10000 10" "child: inherited"
is "$(entry "$T/c.json" "forker.c:$(line forker.c child)")" "140 20" "child: its own"
is "$(entry "$T/c.json" "forker.c:$(line forker.c parent)")" "" "child: nothing of the parent's"

# vfork: the child shares the parent's memory; its _exit must leave the parent traced.
"$HEAPSCOPE" run -o "$T/vfork.db" -- "$VICTIMS/vforker" >"$T/out" 2>"$T/err"
is "$?" 0 "vforker exits 0"
"$HEAPSCOPE" top "$T/vfork.db" -n 0 --json >"$T/v.json"
is "$(entry "$T/v.json" "vforker.c:$(line vforker.c before-vfork)")" "123 1" "before vfork"
is "$(entry "$T/v.json" "vforker.c:$(line vforker.c after-vfork)")" "456 1" \
    "after the vfork child's _exit, still traced"
done_testing
