# A chart reached through a symlink to the file itself, outside the tree:
# one Viewed for the patient; a symlink to the control file leaves nothing.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/alias.inc"
alias_setup
start_collector
ln -s "$REAL" "$T/other/chart-link.txt"
ln -s "$T/other/control.txt" "$T/other/control-link.txt"
shim cat "$T/other/chart-link.txt" >"$T/out" || fail "cat failed under the shim"
alias_same "$REAL" "$T/out"
shim cat "$T/other/control-link.txt" >/dev/null || fail "cat of the control failed"
alias_expect "$T/other/chart-link.txt"
pass
