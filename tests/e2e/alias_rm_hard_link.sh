# rm of a second name (a hard link outside the tree) of a chart: the file
# is PHI by its identity (the collector's phi-inodes index), so one Deleted
# whose patient and real path the collector adds; rm of a second name of
# the control file leaves nothing. The chart itself stays.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/alias.inc"
alias_setup
alias_hard_links
start_collector
shim rm "$T/other/hard.txt" || fail "rm failed under the shim"
[ ! -e "$T/other/hard.txt" ] && [ -e "$REAL" ] || fail "rm removed the wrong name"
shim rm "$T/other/control-hard.txt" || fail "rm of the control failed"
alias_expect "$T/other/hard.txt" "$REAL" "PHI File Deleted"
[ "$(jfield '.detail.inode != null' --rule charts)" = true ] ||
	fail "no detail.inode"
pass
