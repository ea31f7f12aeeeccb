# mv of a chart inside the patients tree bind-mounted elsewhere (a private
# mount namespace, as root): one Renamed for the patient, both names as
# written (target, target2) and both real paths in the tree
# (detail.real_path, detail.real_path2: the new name is placed by its
# directory); mv of a control file inside another bind mount leaves nothing.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/alias.inc"
alias_setup
start_collector
alias_bind_run '
	"$2" run --config "$3" -- mv "$1/other/bind/p9/c.txt" "$1/other/bind/p9/d.txt" || exit 1
	"$2" run --config "$3" -- mv "$1/other/bind2/control.txt" "$1/other/bind2/c2.txt" || exit 1'
[ -e "$P/p9/d.txt" ] && [ ! -e "$REAL" ] || fail "mv did not rename the chart"
[ -e "$T/other/src/c2.txt" ] || fail "mv did not rename the control"
alias_expect "$T/other/bind/p9/c.txt" "$REAL" "PHI File Renamed"
[ "$(jfield .target2 --rule charts)" = "$T/other/bind/p9/d.txt" ] ||
	fail "target2 is not the new name as written"
[ "$(jfield .detail.real_path2 --rule charts)" = "$P/p9/d.txt" ] ||
	fail "detail.real_path2 is not the new name's real path"
pass
