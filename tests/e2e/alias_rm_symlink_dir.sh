# rm of a chart through a symlinked directory outside the tree: unlink
# removes the name in the patient's folder, so one Deleted for the patient,
# target the path as written, the real path in detail (found before the
# call: the name is gone after it). rm of a control file through a second
# link, and of a symlink outside the tree that points at a chart (the link
# is removed, not the chart), leave nothing.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/alias.inc"
alias_setup
start_collector
alias_links
ln -s "$REAL" "$T/other/chart-link"
shim rm "$T/other/link/c.txt" || fail "rm failed under the shim"
[ ! -e "$REAL" ] || fail "rm did not remove the chart"
shim rm "$T/other-link/control.txt" || fail "rm of the control failed"
[ ! -e "$T/other/control.txt" ] || fail "rm did not remove the control"
shim rm "$T/other/chart-link" || fail "rm of the link failed"
alias_expect "$T/other/link/c.txt" "$REAL" "PHI File Deleted"
pass
