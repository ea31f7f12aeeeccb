# The patients tree bind-mounted elsewhere (a private mount namespace, as
# root): cat of a chart through the bind mount is one Viewed for the
# patient, with the path in the tree as the real path; the control file
# bind-mounted the same way leaves nothing.
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
	"$2" run --config "$3" -- cat "$1/other/bind/p9/c.txt" >"$1/out" || exit 1
	"$2" run --config "$3" -- cat "$1/other/bind2/control.txt" >/dev/null || exit 1
' sh "$T" "$PHITRAIL" "$CONF"
rc=$?
[ "$rc" = 77 ] && skip "mount --bind is not allowed here"
[ "$rc" = 0 ] || fail "cat failed under the shim in the mount namespace"
alias_same "$REAL" "$T/out"
alias_expect "$T/other/bind/p9/c.txt"
pass
