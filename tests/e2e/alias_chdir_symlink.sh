# A shell that changes directory through a symlink and a program that
# opens the chart by a relative path: one Viewed for the patient; the
# control file read the same way leaves nothing. (The kernel keeps the
# working directory as the real directory, so the path is the real one.)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/alias.inc"
alias_setup
start_collector
alias_links
shim sh -c 'cd "$1" && cat c.txt' sh "$T/other/link" >"$T/out" ||
	fail "cat failed under the shim"
alias_same "$REAL" "$T/out"
shim sh -c 'cd "$1" && cat control.txt' sh "$T/other-link" >/dev/null ||
	fail "cat of the control failed"
alias_expect "$REAL" -
pass
