# mv of a chart inside the patients tree bind-mounted elsewhere (a private
# mount namespace, as root): one Renamed for the patient, both names as
# written (target, target2) and both real paths in the tree
# (detail.real_path, detail.real_path2: the new name is placed by its
# directory); mv of a control file inside another bind mount leaves nothing.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/alias.inc"
[ "$(id -u)" = 0 ] || skip "bind mounts need root"
command -v unshare >/dev/null || skip "no unshare"
alias_setup
start_collector
mkdir -p "$T/other/bind" "$T/other/bind2" "$T/other/src"
cp "$T/other/control.txt" "$T/other/src/control.txt"
unshare -m sh -c '
	mount --bind "$1/patients" "$1/other/bind" || exit 77
	mount --bind "$1/other/src" "$1/other/bind2" || exit 77
	"$2" run --config "$3" -- mv "$1/other/bind/p9/c.txt" "$1/other/bind/p9/d.txt" || exit 1
	"$2" run --config "$3" -- mv "$1/other/bind2/control.txt" "$1/other/bind2/c2.txt" || exit 1
' sh "$T" "$PHITRAIL" "$CONF"
rc=$?
[ "$rc" = 77 ] && skip "mount --bind is not allowed here"
[ "$rc" = 0 ] || fail "mv failed under the shim in the mount namespace"
[ -e "$P/p9/d.txt" ] && [ ! -e "$REAL" ] || fail "mv did not rename the chart"
[ -e "$T/other/src/c2.txt" ] || fail "mv did not rename the control"
alias_expect "$T/other/bind/p9/c.txt" "$REAL" "PHI File Renamed"
[ "$(jfield .target2 --rule charts)" = "$T/other/bind/p9/d.txt" ] ||
	fail "target2 is not the new name as written"
[ "$(jfield .detail.real_path2 --rule charts)" = "$P/p9/d.txt" ] ||
	fail "detail.real_path2 is not the new name's real path"
pass
