# The collector's memory stays bounded under a flood: 32 writers at once
# (24 through the ingest socket and 8 fallback spool files, each 8,000
# records as fast as they can) plus 4 programs under the real shim (5,000
# PHI reads each): 276,000 records. Every record is stored; the collector's
# peak resident set (VmHWM) is reported and must stay under 64 MiB.
# This test runs the normal (non-ASan) collector: AddressSanitizer's
# shadow memory and quarantine make RSS meaningless as a measure of the
# collector's own memory. (The ASan build is exercised by every other test.)
PHITRAIL_BIN=$(cd "$(dirname "$0")/../.." && pwd)/build
export PHITRAIL_BIN
. "$(dirname "$0")/../e2e/lib.sh"
BOUND_KB=$((64 * 1024))
[ -x "$PHITRAILD" ] || skip "no $PHITRAILD (run make)"
setup
CFLAGS="-std=gnu11 -O2 -D_GNU_SOURCE -I$ROOT/common/format -I$ROOT/common/protocol"
cc $CFLAGS -o "$T/driver" "$ROOT/tests/collector/driver.c" "$ROOT/common/format/codec.c" "$ROOT"/common/format/record_*.c \
	"$ROOT/common/format/spool.c" -lmsgpackc || fail "cannot build the driver"
cc -O2 -o "$T/phiload" "$ROOT/tests/fault/phiload.c" || fail "cannot build phiload"
r=1
while [ $r -le 4 ]; do
	mkdir -p "$P/p$r"
	k=0; while [ $k -lt 16 ]; do echo "chart $k" >"$P/p$r/f$k.txt"; k=$((k + 1)); done
	r=$((r + 1))
done
start_collector
[ -r "/proc/$COLLECTOR_PID/status" ] || fail "no /proc/$COLLECTOR_PID/status"
start_kb=$(collector_kb VmHWM)

pids=""
w=1
while [ $w -le 32 ]; do
	if [ $w -le 24 ]; then
		"$T/driver" --patient "d$w" --tag "t$w" "$T/run/ingest.sock" 8000 &
	else
		"$T/driver" --patient "d$w" --tag "t$w" --fallback "$T/spool" "$T/run/ingest.sock" 8000 &
	fi
	pids="$pids $!"
	w=$((w + 1))
done
for r in 1 2 3 4; do
	shim "$T/phiload" read "$P/p$r" 5000 >/dev/null &
	pids="$pids $!"
done
for p in $pids; do wait "$p" || fail "a writer failed"; done

total=276000
i=0
while [ $i -lt 240 ]; do
	got=$(count --event viewed 2>/dev/null || echo 0)
	[ "$got" -ge $total ] && break
	sleep 0.25
	i=$((i + 1))
done
peak_kb=$(collector_kb VmHWM)
echo "collector VmHWM (parent, store process and signer): ${start_kb} KiB at start, ${peak_kb} KiB after $got records from 36 writers (bound $BOUND_KB KiB)"
[ "$got" = $total ] || fail "expected $total records, stored $got"
[ "$peak_kb" -lt $BOUND_KB ] || fail "peak RSS ${peak_kb} KiB is over the bound of $BOUND_KB KiB"
stop_collector
pass
