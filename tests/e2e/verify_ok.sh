#!/bin/sh
# verify_ok: a clean store verifies ("ok: N records, root, last checkpoint");
# the key pair is created on first start (secret 0600, public beside it) and
# `verify --public-key` prints it; checkpoints are signed even when idle and
# chain to each other; `prove ID` + `verify --proof` round trip with the
# public key alone, and a proof with one byte changed fails; `checkpoint`
# exports the newest checkpoint and `verify --since-checkpoint` accepts the
# grown store.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/integrity.inc"
integrity_setup
start_collector

[ -f "$KEY" ] || fail "no signing key created at $KEY"
[ "$(stat -c %a "$KEY")" = 600 ] || fail "signing key mode is $(stat -c %a "$KEY"), not 600"
[ -f "$KEY.pub" ] || fail "no public key beside the signing key"
pub=$("$PHITRAIL" verify --config "$CONF" --public-key) || fail "verify --public-key failed"
[ "$pub" = "$(cat "$KEY.pub")" ] || fail "verify --public-key printed $pub, the file holds $(cat "$KEY.pub")"
echo "$pub" | grep -Eq '^[0-9a-f]{64}$' || fail "public key is not 64 hex digits: $pub"
cp "$KEY.pub" "$T/trusted.pub"

make_records 12
quiet
n=$(stored)
wait_signed "$n"

# Idle: more checkpoints of the same size are still signed, and chained.
before=$(sqlite3 "$DB" "SELECT count(*) FROM checkpoints")
sleep 2.5
after=$(sqlite3 "$DB" "SELECT count(*) FROM checkpoints")
[ "$after" -ge $((before + 2)) ] || fail "idle: $before checkpoints before, $after after 2.5 s (interval 1 s)"

expect_verify_ok --key "$T/trusted.pub"
echo "$out" | grep -q "ok: $n records, root [0-9a-f]\{64\}, last checkpoint 20" || fail "unexpected ok line: $out"

# Export the checkpoint, grow the store, prove the store extends it.
"$PHITRAIL" checkpoint --config "$CONF" --output "$T/old.ckpt" || fail "phitrail checkpoint failed"
[ "$(wc -c <"$T/old.ckpt")" = 329 ] || fail "checkpoint text is not 328 hex digits and a newline"
make_records 5 p2
quiet
stop_collector
n=$(stored)
expect_verify_ok --key "$T/trusted.pub" --since-checkpoint "$T/old.ckpt"
echo "$out" | grep -q "ok: $n records" || fail "expected $n records: $out"
echo "$out" | grep -q "extends the exported checkpoint" || fail "no word on the exported checkpoint: $out"

# The store is also read with --db alone (an archived copy), read-only.
cp "$DB" "$T/copy.db"
chmod 0444 "$T/copy.db"
out=$("$PHITRAIL" verify --db "$T/copy.db" --key "$T/trusted.pub") || fail "verify --db failed: $out"
echo "$out"

# prove + verify --proof, with the public key alone.
"$PHITRAIL" prove --config "$CONF" 7 >"$T/proof7" || fail "prove 7 failed"
head -n 3 "$T/proof7"
out=$("$PHITRAIL" verify --proof "$T/proof7" --key "$T/trusted.pub") || fail "a good proof fails: $out"
echo "$out" | grep -q "^ok: record 7 " || fail "unexpected proof answer: $out"
# Every record provable, including the first and the last.
last=$(sqlite3 "$DB" "SELECT max(id) FROM records")
for id in 1 2 "$last"; do
	"$PHITRAIL" prove --config "$CONF" "$id" >"$T/p" || fail "prove $id failed"
	"$PHITRAIL" verify --proof "$T/p" --key "$T/trusted.pub" >/dev/null || fail "proof of $id fails"
done
# A changed proof hash, a changed record, another key: each refused.
awk '/^proof /&&!d{ $2 = (substr($2,1,1)=="0" ? "1" : "0") substr($2,2); d=1 } {print}' "$T/proof7" >"$T/bad1"
out=$("$PHITRAIL" verify --proof "$T/bad1" --key "$T/trusted.pub") && fail "a changed proof hash verified"
echo "$out" | grep -q "not in the signed tree" || fail "changed proof: $out"
sed 's/^record-id 7$/record-id 8/; s/^leaf-index 6$/leaf-index 7/' "$T/proof7" >"$T/bad2"
"$PHITRAIL" verify --proof "$T/bad2" --key "$T/trusted.pub" >/dev/null && fail "a proof claiming another id verified"
printf '%064d\n' 0 | tr 0 a >"$T/other.pub"
out=$("$PHITRAIL" verify --proof "$T/proof7" --key "$T/other.pub") && fail "a proof verified with another key"
echo "$out" | grep -q "another key" || fail "other key: $out"
pass
