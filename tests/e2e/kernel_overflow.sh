# The kernel safety net's queue is bounded (the collector's memory stays
# bounded under any load), and its overflow is never silent: with the
# kernel's queue made small (fs.fanotify.max_queued_events = 64, read when
# the collector creates its groups, restored at once after), the collector
# is stopped (SIGSTOP, all its processes) while a static program reads 600 PHI files; once it
# runs again, it stores an Audit Records Lost (detail.source = "kernel",
# count "unknown": the kernel does not say how many), stores fewer than
# 600 Viewed, and `phitrail status` counts the overflow and needs
# attention. (A collector another test starts in that second also gets the
# small queue; it reports its overflows the same way.)
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip "fanotify needs CAP_SYS_ADMIN"
LIMIT=/proc/sys/fs/fanotify/max_queued_events
[ -w "$LIMIT" ] || skip "cannot set $LIMIT here"
SAFETY_NET=on setup
total=600
mkdir -p "$P/flood"
i=0
while [ $i -lt $total ]; do
	f=$P/flood/f$i.txt
	echo "chart $i" >"$f"
	echo "$f" >>"$T/list"
	i=$((i + 1))
done
cc -O2 -static -o "$T/static_read" "$ROOT/tests/programs/kernel_read.c" 2>/dev/null ||
	skip "no static libc"
saved=$(cat "$LIMIT")
restore_limit() { echo "$saved" >"$LIMIT"; }
trap 'restore_limit; cleanup' EXIT
echo 64 >"$LIMIT"
start_collector
restore_limit
grep -q "kernel safety net: on" "$T/collector.log" ||
	skip "no fanotify here: $(grep 'kernel safety net' "$T/collector.log")"
[ "$(count --event lost)" = 0 ] || fail "a loss before the flood"

# the whole collector: the store process reads the kernel's queue
frozen="$COLLECTOR_PID $(pgrep -P "$COLLECTOR_PID" | tr '\n' ' ')"
kill -STOP $frozen
PAUSE_MS=0 "$T/static_read" plain "@$T/list" >/dev/null
rc=$?
kill -CONT $frozen
[ $rc = 0 ] || fail "the static program failed"
wait_count 1 --event lost
sleep 1.5                        # what the queue held waits out the merge window
settle
expect_count 1 --event lost
[ "$(jfield '.detail.source' --event lost)" = kernel ] || fail "the loss is not the kernel safety net's"
[ "$(jfield '.detail.count' --event lost)" = unknown ] || fail "the loss names a count the kernel did not give"
[ "$(jfield '.identity' --event lost)" = collector ] || fail "the loss is not the collector's own record"
got=$(count --event viewed)
[ "$got" -lt $total ] || fail "$got of $total reads stored: the queue did not overflow"
[ "$got" -ge 1 ] || fail "nothing stored of what the queue held"
echo "note: $got of $total reads stored before the overflow"
json=$("$PHITRAIL" status --config "$CONF" --format json) && fail "status after an overflow needs no attention"
echo "$json" | jq -e '.kernel_overflows == 1 and
	any(.attention[]; test("safety net.s queue overflowed 1 time"))' >/dev/null ||
	fail "status does not count the overflow: $json"
pass
