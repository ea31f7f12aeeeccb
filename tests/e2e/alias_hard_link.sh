# A chart reached through a hard link outside the tree (same filesystem):
# the file is PHI by its identity, so one Viewed for the patient; a hard
# link to the control file leaves nothing.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/alias.inc"
alias_setup
alias_hard_links
start_collector
shim cat "$T/other/hard.txt" >"$T/out" || fail "cat failed under the shim"
alias_same "$REAL" "$T/out"
shim cat "$T/other/control-hard.txt" >/dev/null || fail "cat of the control failed"
alias_expect "$T/other/hard.txt"
pass
