# Secure-execution mode (a setuid program): the shim, preloaded the only
# way the loader then allows (a setuid library in a system directory,
# named without a slash), is loaded but ignores PHITRAIL_CONFIG from the
# environment - an unprivileged user cannot point a privileged program's
# audit trail at a file of their choosing. The same program without the
# setuid bit, same user, same environment, is audited with that config.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root to make a setuid program"
command -v setpriv >/dev/null || skip "no setpriv"
[ -e /etc/phitrail/phitrail.conf ] && skip "a system configuration exists; its trail cannot be told apart"
libdir=/usr/lib/x86_64-linux-gnu
[ -d "$libdir" ] || libdir=/usr/lib
setup
lib_name=libphitrail-securetest-$$.so
trap 'rm -f "$libdir/$lib_name"; cleanup' EXIT
cp "$PHITRAIL_LIB" "$libdir/$lib_name" && chmod 4755 "$libdir/$lib_name" ||
	skip "cannot install a test library in $libdir"
start_collector
chmod 0755 "$T" "$T/run"
mkdir -p "$P/4711"
chmod 0755 "$P" "$P/4711"
printf 'chart\n' >"$P/4711/chart.txt"
chmod 0644 "$P/4711/chart.txt"
cp "$(command -v cat)" "$T/plain-cat"
cp "$(command -v cat)" "$T/suid-cat"
chmod 0755 "$T/plain-cat"
chmod 4755 "$T/suid-cat"
as_nobody() {
	setpriv --reuid=65534 --regid=65534 --clear-groups \
		env LD_PRELOAD="$lib_name" PHITRAIL_CONFIG="$CONF" "$@"
}

as_nobody "$T/plain-cat" "$P/4711/chart.txt" >/dev/null || fail "plain cat failed"
expect_event "PHI File Viewed" 4711
expect_count 1 --patient 4711

# The setuid copy: prove the shim is in it, then that it kept no trail here.
mkfifo "$T/fifo"
chmod 0666 "$T/fifo"
setpriv --reuid=65534 --regid=65534 --clear-groups env LD_PRELOAD="$lib_name" \
	PHITRAIL_CONFIG="$CONF" "$T/suid-cat" "$T/fifo" "$P/4711/chart.txt" >"$T/out" &
pid=$!
i=0
while ! grep -q "$lib_name" "/proc/$pid/maps" 2>/dev/null; do
	i=$((i + 1))
	[ $i -lt 100 ] || { echo x >"$T/fifo"; fail "the shim is not loaded into the setuid program"; }
	sleep 0.05
done
grep -Eq "^Uid:[[:space:]]+65534[[:space:]]+0" "/proc/$pid/status" ||
	{ echo x >"$T/fifo"; fail "the program is not running setuid"; }
echo x >"$T/fifo"
wait "$pid" || fail "setuid cat failed"
grep -q chart "$T/out" || fail "setuid cat did not print the chart"
expect_count 1 --patient 4711
pass
