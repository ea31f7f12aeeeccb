# make install with DESTDIR and PREFIX: every file where it belongs, the
# unit's ExecStart and the compiled-in shim directory follow PREFIX, the
# sample /etc/phitrail/phitrail.conf is installed once and never over an
# existing one, and the sample passes "policy check". Built into its own
# build directory so the tree's build/ is left as it was.
. "$(dirname "$0")/lib.sh"
T=$(mktemp -d /tmp/phitrail-install.XXXXXX)
trap 'rm -rf "$T"' EXIT
trap 'exit 1' INT TERM

mk() {
	make -C "$ROOT" -s -j2 B="$T/build" "$@" >>"$T/make.log" 2>&1 ||
		{ tail -n 30 "$T/make.log"; fail "make $*"; }
}

D=$T/root
mk install DESTDIR="$D" PREFIX=/usr/local
for f in usr/local/bin/phitrail:755 usr/local/sbin/phitraild:755 \
	usr/local/lib/libphitrail.so:644 usr/local/lib/systemd/system/phitraild.service:644 \
	usr/local/lib/sysusers.d/phitrail.conf:644 usr/local/lib/tmpfiles.d/phitrail.conf:644 \
	etc/phitrail/phitrail.conf:644 usr/local/share/man/man1/phitrail.1:644 \
	usr/local/share/man/man5/phitrail.conf.5:644 usr/local/share/man/man8/phitraild.8:644; do
	path=${f%:*}
	[ -f "$D/$path" ] || fail "$path not installed"
	[ "$(stat -c %a "$D/$path")" = "${f##*:}" ] || fail "$path has mode $(stat -c %a "$D/$path")"
done
grep -qx 'ExecStart=/usr/local/sbin/phitraild --config /etc/phitrail/phitrail.conf' \
	"$D/usr/local/lib/systemd/system/phitraild.service" || fail "ExecStart does not follow PREFIX"
grep -Eq '@[A-Z_]+@' "$D/usr/local/lib/systemd/system/phitraild.service" && fail "unit has unreplaced @VARIABLES@"
grep -aq '/usr/local/lib/libphitrail.so' "$D/usr/local/bin/phitrail" ||
	fail "phitrail run does not look for the shim in PREFIX/lib"
"$D/usr/local/bin/phitrail" policy check "$D/etc/phitrail/phitrail.conf" >/dev/null ||
	fail "the sample configuration does not check"
"$D/usr/local/sbin/phitraild" --version >/dev/null || fail "installed phitraild does not run"

# A configuration already there is kept, byte for byte.
printf '[phitrail]\nworkspace_id = ours\n' >"$D/etc/phitrail/phitrail.conf"
mk install DESTDIR="$D" PREFIX=/usr/local
[ "$(cat "$D/etc/phitrail/phitrail.conf")" = "$(printf '[phitrail]\nworkspace_id = ours')" ] ||
	fail "make install overwrote an existing /etc/phitrail/phitrail.conf"

# Another PREFIX, same build directory: the shim path compiled into the CLI
# follows (tools/run.c is rebuilt).
mk install DESTDIR="$T/usr-root" PREFIX=/usr
grep -aq '/usr/lib/libphitrail.so' "$T/usr-root/usr/bin/phitrail" ||
	fail "the CLI kept the previous PREFIX's shim directory"
grep -aq '/usr/local/lib/libphitrail.so' "$T/usr-root/usr/bin/phitrail" &&
	fail "the CLI still names /usr/local/lib"
grep -qx 'ExecStart=/usr/sbin/phitraild --config /etc/phitrail/phitrail.conf' \
	"$T/usr-root/usr/lib/systemd/system/phitraild.service" || fail "ExecStart for PREFIX=/usr"
pass
