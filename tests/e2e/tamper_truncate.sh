#!/bin/sh
# tamper_truncate: the newest records deleted from the SQLite file
# (collector stopped).
#   1. records only      -> "records 9-S are missing: signed checkpoint K ...
#                            covers S records, the store ends at record 8"
#                            (K: the first checkpoint covering a missing one)
#   2. records and every checkpoint that covered them (the chain that is
#      left is valid) -> not visible in the store alone; found against a
#      checkpoint exported earlier (`phitrail checkpoint`): "records 9-M are
#      missing: the exported checkpoint covers M records".
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/integrity.inc"
integrity_setup
start_collector
cp "$KEY.pub" "$T/trusted.pub"
make_records 5
quiet
wait_signed "$(stored)"
make_records 6 p2
quiet
stop_collector
n=$(stored)
[ "$(signed_size)" = "$n" ] || fail "last checkpoint does not cover all $n records"
"$PHITRAIL" checkpoint --config "$CONF" --output "$T/exported.ckpt" || fail "checkpoint export"
expect_verify_ok --key "$T/trusted.pub" --since-checkpoint "$T/exported.ckpt"
keep_pristine

sql "DELETE FROM records WHERE id > 8"
# (the first checkpoint that covers a missing record is named)
expect_verify_fail "^FAILED: records 9-[0-9]+ are missing: signed checkpoint [0-9]+ \(.*\) covers [0-9]+ records, the store ends at record 8" --key "$T/trusted.pub"

# The careful attacker also drops the checkpoints that covered the removed
# records: the store alone cannot tell (nothing signed is left to say so) ...
sql "DELETE FROM checkpoints WHERE tree_size > 8"
left=$(sql "SELECT count(*) FROM checkpoints")
if [ "$left" -gt 0 ]; then
	expect_verify_ok --key "$T/trusted.pub"
fi
# ... but the checkpoint exported before does.
expect_verify_fail "^FAILED: records 9-$n are missing: the exported checkpoint covers $n records" \
	--key "$T/trusted.pub" --since-checkpoint "$T/exported.ckpt"
pass
