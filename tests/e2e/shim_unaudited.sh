# A shim loaded with a broken or a missing configuration audits nothing and
# says so where a sysadmin looks, never on the program's own output:
#  - broken, collector reachable: cat runs untouched (same output, nothing
#    on stderr); the collector's log and `phitrail status` name the
#    program, its pid and uid and the FILE:LINE of the error; status needs
#    attention; a program that runs twice is logged once and counted;
#  - missing, no collector: the notice goes to the system log (/dev/log),
#    tested in a private mount namespace where the test's own receiver is
#    /dev/log and /run is empty (so no collector of the machine takes it).
. "$(dirname "$0")/lib.sh"
setup
mkdir -p "$P/4711" && printf 'Name: Jane Doe\n' >"$P/4711/chart.txt"
CAT=$(readlink -f "$(command -v cat)")
sed '/^\[rule charts\]/i bogus = 1' "$CONF" >"$T/broken.conf"
line=$(grep -n '^bogus' "$T/broken.conf" | cut -d: -f1)
start_collector

PHITRAIL_CONFIG=$T/broken.conf LD_PRELOAD=$PHITRAIL_LIB cat "$P/4711/chart.txt" >"$T/out" 2>"$T/err" ||
	fail "cat failed under the shim with a broken configuration"
[ "$(cat "$T/out")" = "Name: Jane Doe" ] || fail "cat printed: $(cat "$T/out")"
[ -s "$T/err" ] && fail "the shim wrote on the program's stderr: $(cat "$T/err")"
i=0
until grep -q "runs unaudited" "$T/collector.log"; do
	i=$((i + 1)); [ $i -lt 100 ] || fail "no 'runs unaudited' in the collector's log"; sleep 0.1
done
grep -Eq "warning: program $CAT(| \(claimed\)) \(pid [0-9]+, uid $(id -u)\) runs unaudited: $T/broken.conf:$line: unknown key 'bogus'" \
	"$T/collector.log" || fail "unexpected log line: $(grep unaudited "$T/collector.log")"
PHITRAIL_CONFIG=$T/broken.conf LD_PRELOAD=$PHITRAIL_LIB cat "$P/4711/chart.txt" >/dev/null
i=0
until "$PHITRAIL" status --config "$CONF" --format json | jq -e '[.unaudited[] | select(.count >= 2)] | length >= 1' >/dev/null; do
	i=$((i + 1)); [ $i -lt 100 ] || fail "the second notice was not counted"; sleep 0.1
done
[ "$(grep -c "runs unaudited" "$T/collector.log")" -eq 1 ] || fail "the same program was logged more than once"
out=$("$PHITRAIL" status --config "$CONF") && fail "status said all is well with a program unaudited: $out"
echo "$out" | grep -Eq "^unaudited +program $CAT.* runs unaudited: $T/broken.conf:$line:" || fail "status does not show it: $out"
echo "$out" | grep -q "^attention .*runs unaudited" || fail "not under attention: $out"
expect_count 0 --event viewed
stop_collector

# --- missing configuration, no collector: the system log.
if [ "$(id -u)" -ne 0 ] || ! command -v unshare >/dev/null; then
	echo "note: not root, the system log case is not run"
	pass
fi
cat >"$T/syslog.py" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
open(sys.argv[2] + ".ready", "w").close()
s.settimeout(20)
try:
    data = s.recv(4096)
    open(sys.argv[2], "wb").write(data)
except socket.timeout:
    pass
PY
cat >"$T/ns.sh" <<'NS'
set -e
mount --make-rprivate /
mkdir -p "$T/olddev"
mount --bind /dev "$T/olddev"
mount -t tmpfs tmpfs /dev
for d in null zero full random urandom tty; do
	touch "/dev/$d"
	mount --bind "$T/olddev/$d" "/dev/$d"
done
ln -s /proc/self/fd /dev/fd
mount -t tmpfs tmpfs /run
python3 "$T/syslog.py" /dev/log "$T/syslog.out" &
listener=$!
i=0
until [ -e "$T/syslog.out.ready" ]; do i=$((i + 1)); [ $i -lt 200 ]; sleep 0.05; done
PHITRAIL_CONFIG=$T/none.conf LD_PRELOAD=$PHITRAIL_LIB cat "$P/4711/chart.txt" >"$T/out2" 2>"$T/err2"
wait "$listener"
NS
T=$T P=$P PHITRAIL_LIB=$PHITRAIL_LIB timeout 60 unshare -m sh "$T/ns.sh" || fail "the namespace run failed"
[ "$(cat "$T/out2")" = "Name: Jane Doe" ] || fail "cat printed with no configuration: $(cat "$T/out2")"
[ -s "$T/err2" ] && fail "the shim wrote on stderr with no configuration: $(cat "$T/err2")"
[ -s "$T/syslog.out" ] || fail "nothing reached the system log"
msg=$(cat "$T/syslog.out")
echo "$msg" | grep -Eq "^<36>phitrail\[[0-9]+\]: program $CAT \(pid [0-9]+, uid $(id -u)\) runs unaudited: $T/none.conf: cannot open: No such file or directory" ||
	fail "unexpected system log message: $msg"
pass
