#!/bin/sh
# tamper_key: the attacker changes a record, replaces the key pair (secret
# and public file) and re-signs the whole chain with the new key, so that
# the store verifies with the public key now beside it. Verify with the
# ORIGINAL public key (kept by the auditor) names the first checkpoint
# signed with another key; the collector, restarted, signs on with the new
# key and that is found the same way.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/integrity.inc"
integrity_setup
start_collector
cp "$KEY.pub" "$T/trusted.pub"
records_and_stop 6
expect_verify_ok --key "$T/trusted.pub"

# The attacker's re-signing: a new key, every checkpoint rebuilt with the
# collector's own format, through a throwaway collector on a copy that
# never saw the original key: stop, drop the key, let it create a new one
# and sign; then carry its chain over.
cp -r "$T/db" "$T/forge"
rm -f "$T/forge/signing.key" "$T/forge/signing.key.pub" "$T/forge/audit.db.pid"
sqlite3 "$T/forge/audit.db" "DELETE FROM checkpoints"
sed "s|$T/db/|$T/forge/|g; s|$T/run/|$T/forge/|g" "$CONF" >"$T/forge.conf"
"$PHITRAILD" --config "$T/forge.conf" >>"$T/forge.log" 2>&1 &
fpid=$!
i=0
while [ $i -lt 100 ] && [ "$(sqlite3 "$T/forge/audit.db" "SELECT count(*) FROM checkpoints" 2>/dev/null || echo 0)" -lt 1 ]; do
	sleep 0.1
	i=$((i + 1))
done
kill -TERM $fpid
wait $fpid
cp "$T/forge/audit.db" "$DB"
rm -f "$DB-wal" "$DB-shm"
cp "$T/forge/signing.key" "$KEY"
cp "$T/forge/signing.key.pub" "$KEY.pub"

# With the key now beside the store, it all fits ...
out=$("$PHITRAIL" verify --config "$CONF" 2>/dev/null) || fail "the forged store should fit its forged key: $out"
# ... with the original public key it does not.
expect_verify_fail "^FAILED: checkpoint 1 does not hold: signed with another key" --key "$T/trusted.pub"
[ "$("$PHITRAIL" verify --config "$CONF" --public-key)" != "$(cat "$T/trusted.pub")" ] || fail "public key unchanged?"
pass
