# Bad input never hurts: while programs under the real shim write PHI
# records (1,000 per process, for as long as the bad input lasts), other
# clients send the collector garbage, truncated, long and wrong-version
# hellos, a silent connection, and write into the spool
# files it hands them: garbage, impossible lengths, a bad checksum,
# truncated msgpack, a non-map, 2,000 nested maps, wrong types, a 16,000
# byte string, an oversized frame, unknown keys, trailing bytes; plus a
# fallback spool file with a bad header checksum. Each is rejected with a
# reason in the log (and a "Audit Spool Tampered" record for spool input),
# a file with a bad frame or header is set aside in quarantine/, and the
# collector keeps serving: every one of the good writer's records arrives.
. "$(dirname "$0")/../e2e/lib.sh"
setup
cc -O2 -o "$T/phiload" "$ROOT/tests/fault/phiload.c" || fail "cannot build phiload"
mkdir -p "$P/4711"
k=0; while [ $k -lt 16 ]; do echo "chart $k" >"$P/4711/f$k.txt"; k=$((k + 1)); done
start_collector

# The good writer runs in chunks of 1,000 reads (one process each) for as
# long as the bad input lasts, however slow the machine is.
(
	n=0
	while [ ! -e "$T/bad.done" ] || [ $n -lt 2 ]; do
		shim "$T/phiload" read "$P/4711" 1000 16 100000 >/dev/null || exit 1
		n=$((n + 1))
	done
	echo $n >"$T/good.chunks"
) &
good=$!

HELLO_KINDS="garbage-hello short-hello long-hello wrong-version empty-hello"
FD_KINDS="hello-with-fd claim-no-fd claim-two-fds claim-pipe"
FRAME_KINDS="garbage-frames huge-length bad-crc oversized-record"
RECORD_KINDS="truncated-record not-a-map nested-maps wrong-types huge-string unknown-keys trailing-bytes"
sleep 0.5
python3 "$ROOT/tests/fault/forge.py" bad "$T/run/ingest.sock" $HELLO_KINDS $FD_KINDS $FRAME_KINDS \
	$RECORD_KINDS >>"$T/bad.out" 2>&1 || fail "forge.py failed: $(tail -n 3 "$T/bad.out")"
kill -0 "$COLLECTOR_PID" 2>/dev/null || fail "the collector died on bad input"
python3 "$ROOT/tests/fault/forge.py" badheader "$T/spool" 6002 >>"$T/bad.out" 2>&1 ||
	fail "forge.py badheader failed"
touch "$T/bad.done"
cat "$T/bad.out"
wait "$good" || fail "the good writer failed under the shim"
good_records=$(( $(cat "$T/good.chunks") * 1000 ))
echo "the good writer read $good_records PHI files during the bad input"

wait_count $good_records --event viewed --patient 4711
expect_count $good_records --event viewed --patient 4711
[ "$(jfield '"\(.pid):\(.seq)"' --event viewed --patient 4711 | sort -u | wc -l)" = $good_records ] ||
	fail "the good writer's (pid, seq) pairs are not $good_records distinct values"
kill -0 "$COLLECTOR_PID" 2>/dev/null || fail "the collector died"

# Hellos: each closed with a reason in the log.
n=$(grep -c "ingest: connection from pid [0-9]* uid 0 closed: bad hello" "$T/collector.log")
[ "$n" -ge 4 ] || fail "$n bad hellos logged, expected 4"
grep -q "closed: no hello within" "$T/collector.log" || fail "the silent connection is not logged"
# Messages with the wrong descriptors (a hello with one, a claim with none,
# two, or a pipe): each closed with its reason, nothing followed.
for why in "bad hello: unexpected descriptor" "bad hello: wrong magic" \
	"bad hello: more than one descriptor" "closed: not a spool file in incoming/"; do
	grep -q "$why" "$T/collector.log" || fail "not logged: $why"
done
# Spool input: one tamper record per bad file, each with a reason.
spool_kinds=$(( $(echo $FRAME_KINDS $RECORD_KINDS | wc -w) + 1 ))
wait_count $spool_kinds --event "Audit Spool Tampered"
got=$(count --event "Audit Spool Tampered")
[ "$got" = $spool_kinds ] || fail "$got tamper records, expected $spool_kinds"
reasons=$(jfield '.detail.reason' --event "Audit Spool Tampered" | sort)
echo "$reasons" | sed 's/^/  tampered: /'
echo "$reasons" | grep -q "^null$\|^$" && fail "a tamper record without a reason"
[ "$(echo "$reasons" | grep -c "^undecodable record")" = $(echo $RECORD_KINDS | wc -w) ] ||
	fail "not every bad record is reported as undecodable"
# Bad frames and the bad header: the file set aside.
i=0
while [ "$(ls "$T/spool/quarantine" | wc -l)" -lt 5 ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
q_files=$(ls "$T/spool/quarantine" | wc -l)
[ "$q_files" = 5 ] || fail "$q_files file(s) in quarantine/, expected 5 (4 bad frames, 1 bad header)"
# Still serving a new writer after all that.
shim cat "$P/4711/f0.txt" >/dev/null
wait_count $((good_records + 1)) --event viewed --patient 4711
stop_collector
pass
