# The patients tree bind-mounted elsewhere (a private mount namespace, as
# root): cat of a chart through the bind mount is one Viewed for the
# patient, with the path in the tree as the real path; the control file
# bind-mounted the same way leaves nothing.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/alias.inc"
alias_setup
start_collector
alias_bind_run '
	"$2" run --config "$3" -- cat "$1/other/bind/p9/c.txt" >"$1/out" || exit 1
	"$2" run --config "$3" -- cat "$1/other/bind2/control.txt" >/dev/null || exit 1'
alias_same "$REAL" "$T/out"
alias_expect "$T/other/bind/p9/c.txt"
pass
