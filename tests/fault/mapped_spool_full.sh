# The spool filesystem fills up under a program writing its mapped spool
# file (a 2 MiB tmpfs for the spool directory; needs root and mount, else
# skipped): growing the file (fallocate) fails, the shim gives the mapping
# up without a hole or a SIGBUS and appends with write() from then on; what
# cannot be written anywhere is counted and reported once space is back.
# Nothing is lost silently: stored + reported lost = every record, and the
# records stored are each stored once.
. "$(dirname "$0")/../e2e/lib.sh"
setup
mkdir -p "$T/spool"
mount -t tmpfs -o size=2m,mode=0755 phitrail-test "$T/spool" 2>/dev/null ||
	skip "cannot mount a tmpfs (needs root)"
MOUNTED=$T/spool
trap 'cleanup_full' EXIT
cleanup_full() {
	if [ -n "$COLLECTOR_PID" ] && kill -0 "$COLLECTOR_PID" 2>/dev/null; then
		kill -KILL "$COLLECTOR_PID" 2>/dev/null
		wait "$COLLECTOR_PID" 2>/dev/null
	fi
	COLLECTOR_PID=""
	[ -n "${MOUNTED:-}" ] && umount "$MOUNTED" 2>/dev/null
	MOUNTED=""
	cleanup
}
cc -O2 -o "$T/phiload" "$ROOT/tests/fault/phiload.c" || fail "cannot build phiload"
mkdir -p "$P/4711"
k=0; while [ $k -lt 16 ]; do echo "chart $k" >"$P/4711/f$k.txt"; k=$((k + 1)); done
start_collector
N=30000
# 30,000 records of ~300 bytes do not fit in 2 MiB; a 0.2 s pause every
# 1,000 stretches the run over about 6 s.
shim "$T/phiload" read "$P/4711" $N 16 200000 >"$T/out" &
shell=$!
i=0
while [ "$(grep -c "No space left\|lost" "$T/collector.log")" = 0 ] && [ $i -lt 40 ]; do
	sleep 0.1
	i=$((i + 1))
done
sleep 1.5
df -k "$T/spool" | tail -n 1
mount -o remount,size=256m "$T/spool" || fail "cannot grow the tmpfs"
wait $shell || fail "the program failed under the shim (a full disk must not show)"
[ "$(cat "$T/out")" = $N ] || fail "the program did not finish"
sleep 1.5
settle
stored=$(count --event viewed --patient 4711)
lost=$(jfield '.detail.count' --event "Audit Records Lost" | awk '{ s += $1 } END { print s + 0 }')
echo "stored $stored, reported lost $lost, of $N"
[ "$lost" -gt 0 ] || fail "nothing was lost: the disk never filled, the test proves nothing"
[ $((stored + lost)) = $N ] || fail "stored $stored + reported lost $lost != $N"
[ "$(jfield '.seq' --event viewed --patient 4711 | sort -n | uniq -d | wc -l)" = 0 ] ||
	fail "a record was stored twice"
[ "$(count --event "Audit Spool Tampered")" = 0 ] || fail "tampering was reported"
[ -z "$(find "$T/spool/quarantine" "$T/spool/incoming" -type f)" ] ||
	fail "spool files left behind: $(find "$T/spool" -type f)"
pass
