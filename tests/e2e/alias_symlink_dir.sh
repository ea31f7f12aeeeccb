# A patient's folder reached through a symlinked directory outside the
# tree: cat of the chart through the link is one Viewed for that patient;
# a control file reached through a second link leaves nothing.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/alias.inc"
alias_setup
start_collector
alias_links
shim cat "$T/other/link/c.txt" >"$T/out" || fail "cat failed under the shim"
alias_same "$REAL" "$T/out"
shim cat "$T/other-link/control.txt" >/dev/null || fail "cat of the control failed"
alias_expect "$T/other/link/c.txt"
pass
