#!/bin/sh
# heapscope(1) against the option tables: for every command, the options that `heapscope COMMAND
# --help` shows (its usage line and option list, both printed from the command's table) are the
# options that the man page gives it, in SYNOPSIS and in COMMANDS.
. "$srcdir/tests/lib.sh"

man=$srcdir/man/heapscope.1
# Every command of heapscope --help, so that a new one is checked too.
commands=$("$HEAPSCOPE" --help | awk '/^  [a-z]/ { print $1 }')
plan $(($(echo "$commands" | wc -l) * 2 + 3))

# help_options COMMAND: the options of COMMAND as its --help shows them, one per line, sorted:
# the words of the usage line that start with a dash (the bare -- before run's command aside)
# and the first word of each entry of the option list.
help_options() {
	"$HEAPSCOPE" "$1" --help | awk '
	NR == 1 {
		for (i = 3; i <= NF; i++) {
			w = $i
			gsub(/[][]/, "", w)
			if (w ~ /^--?[a-zA-Z]/)
				print w
		}
	}
	/^  -/ { print $1 }' | sort -u
}

# man_options SECTION COMMAND: the options that SECTION (SYNOPSIS or COMMANDS) of the man page
# gives COMMAND, one per line, sorted.  Every word after Fl up to the next macro is an option,
# in SYNOPSIS and in the head of the command's entry in COMMANDS (.It Xo Ic COMMAND ... .Xc);
# in the lists of its entry, the first option of each item (.It Fl o Ar file , Fl -output Ar
# file documents -o, with --output as another name of it).  Ar report-options stands for the
# options of the list that follows ".Ar report-options" in the entry of top.
man_options() {
	awk -v section="$1" -v command="$2" '
	# Adds to SET the options named on the line from word FROM on, only the first if FIRST,
	# and "report-options" for the words Ar report-options.
	function options(set, from, first,    i, on) {
		on = 0
		for (i = from; i <= NF; i++) {
			if ($i == "report-options" && $(i - 1) == "Ar")
				set["report-options"] = 1
			else if ($i ~ /^[A-Z][a-z][a-z]?$/)
				on = $i == "Fl"
			else if (on && $i != "|" && $i != "," && $i != "-") {
				set["-" $i] = 1
				if (first)
					return
			}
		}
	}
	/^\.Sh / { sh = $2; depth = 0; mine = 0; next }
	sh == "SYNOPSIS" && /^\.Nm/ { mine = 0 }
	sh == "SYNOPSIS" && /^\.Ic/ { mine = $2 == command }
	sh == "SYNOPSIS" && mine && section == "SYNOPSIS" { options(found, 1, 0) }
	sh != "COMMANDS" { next }
	/^\.Bl/ { depth++; if (report == 1) { report = 2; report_depth = depth } }
	/^\.El/ { if (report == 2 && depth == report_depth) report = 3; depth-- }
	depth == 1 && /^\.It Xo Ic / { entry = $4; head = 1 }
	head && /^\.Xc/ { head = 0 }
	entry == "top" && !report && /^\.Ar report-options/ { report = 1 }
	report == 2 && depth == report_depth && /^\.It Fl / { options(reports, 2, 1) }
	section == "COMMANDS" && entry == command && head { options(found, 1, 0) }
	section == "COMMANDS" && entry == command && depth > 1 && /^\.It Fl / {
		options(found, 2, 1)
	}
	END {
		for (o in found)
			if (o != "report-options")
				print o
		if ("report-options" in found)
			for (o in reports)
				print o
	}' "$man" | sort -u
}

for c in $commands; do
	help=$(help_options "$c")
	is "$(man_options SYNOPSIS "$c")" "$help" "$c: the options of its --help are those of SYNOPSIS"
	is "$(man_options COMMANDS "$c")" "$help" "$c: and those of its entry in COMMANDS"
done

# The lists themselves, so that a parser gone wrong cannot pass by finding nothing on both sides.
is "$(echo $commands)" "run snapshots top diff leaks pools" "the commands of heapscope --help"
is "$(help_options top | wc -l)" 8 "top --help shows its 8 options"
is "$(help_options run | tr '\n' ' ')" \
    "--depth --error-exitcode --follow --interval --leak-check --signal --suppressions -o " \
    "run --help shows its 8 options"
done_testing
