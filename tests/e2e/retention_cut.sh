#!/bin/sh
# retention_cut: retention_days removes the oldest records behind a signed
# cut that verify accepts. Retention goes by received_at (the collector's
# own clock, in id order), and "now" for retention is moved a day ahead with
# PHITRAIL_TEST_RETENTION_NOW_NS (a test-only knob: records cannot be
# received in the past) so that exactly the records received before a
# moment T1 are older than retention_days = 1.
# Then: verify ok ("records 1-K were removed by retention"); checkpoints
# exported before the cut still check (--since-checkpoint, one older than
# the cut found on the chain); retained records still provable; the
# collector restarts from the cut and goes on; a record removed without a
# cut, or the cut itself removed, is found.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/integrity.inc"
integrity_setup "retention_days = 1"
start_collector
cp "$KEY.pub" "$T/trusted.pub"
make_records 6
quiet
wait_signed "$(stored)"
"$PHITRAIL" checkpoint --config "$CONF" --output "$T/early.ckpt" || fail "checkpoint export"
sleep 0.2
T1=$(date +%s%N)
sleep 0.2
make_records 4 p2
quiet
stop_collector
k=$(sql "SELECT max(id) FROM records WHERE received_ns < $T1")
n=$(stored)
[ "$k" -gt 0 ] && [ "$k" -lt "$n" ] || fail "expected records on both sides of T1 (k=$k n=$n)"
"$PHITRAIL" checkpoint --config "$CONF" --output "$T/before-cut.ckpt" || fail "checkpoint export"

# Second life: a day later, as far as retention knows.
export PHITRAIL_TEST_RETENTION_NOW_NS=$((T1 + 86400000000000))
start_collector
unset PHITRAIL_TEST_RETENTION_NOW_NS
grep -q "retention: removed records 1-$k " "$T/collector.log" || fail "no retention line for records 1-$k"
make_records 2 p3
quiet
stop_collector
first=$(sql "SELECT min(id) FROM records")
[ "$first" = $((k + 1)) ] || fail "the oldest record left is $first, expected $((k + 1))"
[ "$(sql "SELECT count(*) FROM checkpoints WHERE kind = 'cut' AND tree_size = $k")" = 1 ] || fail "no signed cut at $k"

expect_verify_ok --key "$T/trusted.pub"
echo "$out" | grep -q "records 1-$k were removed by retention" || fail "verify does not mention the cut: $out"
expect_verify_ok --key "$T/trusted.pub" --since-checkpoint "$T/before-cut.ckpt"
expect_verify_ok --key "$T/trusted.pub" --since-checkpoint "$T/early.ckpt"
echo "$out" | grep -q "found on the chain" || fail "an exported checkpoint older than the cut: $out"

# Retained records are still provable, the first one after the cut included.
for id in $((k + 1)) "$(stored)"; do
	"$PHITRAIL" prove --config "$CONF" "$id" >"$T/p" || fail "prove $id after the cut"
	"$PHITRAIL" verify --proof "$T/p" --key "$T/trusted.pub" >/dev/null || fail "proof of $id after the cut fails"
done
"$PHITRAIL" prove --config "$CONF" 1 >/dev/null 2>&1 && fail "a removed record was proven"

# Third life: the tree is rebuilt from the cut, ids go on.
start_collector
make_records 1 p4
quiet
stop_collector
grep -q "after a retention cut" "$T/collector.log" || fail "no rebuild from the cut"
expect_verify_ok --key "$T/trusted.pub"
keep_pristine

# A record removed without a cut.
sql "DELETE FROM records WHERE id = $((k + 1))"
expect_verify_fail "^FAILED: record $((k + 1)) is missing" --key "$T/trusted.pub"
# The cut removed (to hide that records are gone).
restore_pristine
sql "DELETE FROM checkpoints WHERE kind = 'cut'"
expect_verify_fail "^FAILED: checkpoint [0-9]+ does not follow the one signed before it" --key "$T/trusted.pub"
pass
