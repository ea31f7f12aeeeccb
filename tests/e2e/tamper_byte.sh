#!/bin/sh
# tamper_byte: one byte of one record's stored bytes changed in the SQLite
# file (collector stopped), by an attacker of growing care:
#   1. bytes only                      -> "record 6: its column target ..."
#   2. bytes + leaf_hash recomputed    -> the same: the columns still tell
#   3. bytes + leaf_hash + the column  -> only the signed roots tell: "records
#      A-B do not match signed checkpoint K", a range that holds record 6
#   4. leaf_hash only                  -> "record 6: its leaf_hash column"
# Each is detected with the public key copied before the tampering.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/integrity.inc"
integrity_setup
start_collector
cp "$KEY.pub" "$T/trusted.pub"
records_and_stop 10
expect_verify_ok --key "$T/trusted.pub"
keep_pristine

hex=$(record_hex 6)
[ -n "$hex" ] || fail "no record 6"
from=$(hex_of "chart.txt")
to=$(hex_of "chbrt.txt")
bad=$(echo "$hex" | sed "s/$from/$to/")
[ "$bad" != "$hex" ] || fail "record 6 does not hold chart.txt"

# 1. one byte of the bytes
sql "UPDATE records SET bytes = X'$bad' WHERE id = 6"
expect_verify_fail "^FAILED: record 6: its column target" --key "$T/trusted.pub"

# 2. and the leaf_hash recomputed
sql "UPDATE records SET leaf_hash = X'$(leaf_of "$bad")' WHERE id = 6"
expect_verify_fail "^FAILED: record 6: its column target" --key "$T/trusted.pub"

# 3. and the target column rewritten to agree: only the tree can tell
target=$(sql "SELECT target FROM records WHERE id = 6" | sed 's/chart\.txt$/chbrt.txt/')
sql "UPDATE records SET target = '$target' WHERE id = 6"
expect_verify_fail "^FAILED: records [0-9]+-[0-9]+ do not match signed checkpoint [0-9]+" --key "$T/trusted.pub"
expect_range_holds 6

# 4. the leaf_hash column alone
restore_pristine
sql "UPDATE records SET leaf_hash = X'$(leaf_of "$bad")' WHERE id = 6"
expect_verify_fail "^FAILED: record 6: its leaf_hash column was changed" --key "$T/trusted.pub"

# The proof of the changed record no longer verifies either.
restore_pristine
"$PHITRAIL" prove --config "$CONF" 6 >"$T/proof6" || fail "prove 6"
sed "s/^record .*/record $(echo "$bad" | tr 'A-F' 'a-f')/" "$T/proof6" >"$T/proof6bad"
"$PHITRAIL" verify --proof "$T/proof6bad" --key "$T/trusted.pub" && fail "a proof of changed bytes verified"
pass
