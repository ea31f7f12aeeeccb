# The shim host-wide through /etc/ld.so.preload, as the README's deployment
# guide does it, in a private mount namespace over a copy of /etc (the
# machine's own /etc/ld.so.preload is never written): ls, bash, python3,
# sshd -t, su and a root-owned setuid program run with it, each with the
# shim loaded (ldd says so), each printing and exiting exactly as without
# it, and their PHI reads recorded, the setuid one's included (the loader
# honours /etc/ld.so.preload in secure-execution mode; the shim then reads
# only /etc/phitrail/phitrail.conf). Emptying the file turns it off again.
if [ -z "${PHITRAIL_IN_NAMESPACE:-}" ]; then
	[ "$(id -u)" = 0 ] || { echo "SKIP: needs root for a mount namespace"; exit 77; }
	command -v unshare >/dev/null || { echo "SKIP: no unshare"; exit 77; }
	unshare -m --propagation private true 2>/dev/null ||
		{ echo "SKIP: cannot make a mount namespace here"; exit 77; }
	PHITRAIL_IN_NAMESPACE=1 exec unshare -m --propagation private sh "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"
command -v setpriv >/dev/null || skip "no setpriv"
command -v sshd >/dev/null || skip "no sshd (openssh-server)"
[ -x /usr/bin/python3 ] || skip "no /usr/bin/python3"
setup
unset PHITRAIL_CONFIG
made_run_sshd=0
trap '[ "$made_run_sshd" = 1 ] && rmdir /run/sshd; cleanup' EXIT
start_collector

chmod 0755 "$T" "$T/run"
mkdir -p "$P/4711"
chmod 0755 "$P" "$P/4711"
printf 'MRN 4711\n' >"$P/4711/chart.txt"
chmod 0644 "$P/4711/chart.txt"
CHART=$P/4711/chart.txt
cp "$(command -v cat)" "$T/suid-cat"
chmod 4755 "$T/suid-cat"
[ -d /run/sshd ] || { mkdir -m 0755 /run/sshd && made_run_sshd=1; }

# The same /etc, private to this namespace, with the system configuration
# naming this test's collector.
cp -a /etc "$T/etc" || fail "cannot copy /etc"
mount --bind "$T/etc" /etc || fail "cannot bind-mount the copy over /etc"
[ -e /etc/ld.so.preload ] && [ -s /etc/ld.so.preload ] &&
	skip "this machine already preloads something host-wide"
mkdir -p /etc/phitrail
cp "$CONF" /etc/phitrail/phitrail.conf
chmod 0644 /etc/phitrail/phitrail.conf

# Each program, its output and exit status: without the shim, then with.
run_all() {
	ls -l "$P/4711" >"$T/$1.ls" 2>&1; echo "ls $?" >"$T/$1.status"
	bash -c 'read -r line <"$1"; echo "$line"' bash "$CHART" >"$T/$1.bash" 2>&1
	echo "bash $?" >>"$T/$1.status"
	/usr/bin/python3 -c 'import sys; print(open(sys.argv[1]).read(), end="")' "$CHART" >"$T/$1.python3" 2>&1
	echo "python3 $?" >>"$T/$1.status"
	sshd -t >"$T/$1.sshd" 2>&1; echo "sshd $?" >>"$T/$1.status"
	su nobody -s /bin/sh -c "cat $CHART" >"$T/$1.su" 2>&1; echo "su $?" >>"$T/$1.status"
	setpriv --reuid=65534 --regid=65534 --clear-groups "$T/suid-cat" "$CHART" \
		>"$T/$1.suid" 2>&1
	echo "suid-cat $?" >>"$T/$1.status"
}
run_all bare
grep -v ' 0$' "$T/bare.status" && fail "a program fails even without the shim (above)"

printf '%s\n' "$PHITRAIL_LIB" >/etc/ld.so.preload
chmod 0644 /etc/ld.so.preload
# A failure while it is on turns it off first (the CLI that fail() runs is
# an ASan build, which must come first in the library list).
pfail() {
	: >/etc/ld.so.preload
	fail "$@"
}
for prog in /bin/ls /bin/bash /usr/bin/python3 "$(command -v sshd)" \
	"$(command -v su)" "$T/suid-cat"; do
	ldd "$prog" 2>/dev/null | grep -q "$PHITRAIL_LIB" || pfail "the shim is not preloaded into $prog"
done
run_all preload
: >/etc/ld.so.preload                  # off again (the queries below run without it)
ldd /bin/ls | grep -q libphitrail && fail "the shim is still preloaded after emptying the file"

for f in status ls bash python3 sshd su suid; do
	cmp -s "$T/bare.$f" "$T/preload.$f" ||
		fail "$f differs under the shim: $(diff "$T/bare.$f" "$T/preload.$f")"
done
grep -q 'MRN 4711' "$T/preload.suid" || fail "the setuid program did not print the chart"

# by_exe NAME EVENT: how many such records about patient 4711 a program
# whose name starts with NAME left (python3 runs as python3.11).
by_exe() {
	q --patient 4711 --event "$2" |
		jq -r --arg n "$1" 'select(.exe | split("/") | last | startswith($n)) | .uid' | wc -l
}
wait_count 5 --patient 4711
settle
[ "$(by_exe ls "PHI Directory Listed")" -ge 1 ] || fail "ls listing the chart's directory not recorded"
for prog in bash python3 suid-cat; do
	[ "$(by_exe "$prog" "PHI File Viewed")" -ge 1 ] || fail "$prog reading the chart not recorded"
done
# su's cat runs as nobody; the setuid copy as root (its effective uid).
[ "$(q --patient 4711 --event viewed | jq -r 'select(.exe | endswith("/suid-cat")) | "\(.uid) \(.identity)"')" = "0 verified" ] ||
	fail "the setuid program's read is not recorded, verified, with its effective uid 0"
q --patient 4711 --event viewed | jq -s -e 'any(.uid == 65534 and (.exe | endswith("/cat")))' \
	>/dev/null || fail "the read by su's cat (as nobody) is not recorded"
# sshd -t reads no PHI: nothing from it.
[ "$(q | jq -r 'select(.exe | endswith("/sshd")) | .id' | wc -l)" = 0 ] || fail "sshd -t left records"

# Off: the same programs leave nothing new.
before=$(count)
cat "$CHART" >/dev/null
/usr/bin/python3 -c 'import sys; open(sys.argv[1]).read()' "$CHART"
sleep 0.5
settle
[ "$(count)" = "$before" ] || fail "records after the shim was turned off"
pass
