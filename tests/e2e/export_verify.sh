#!/bin/sh
# export_verify: `phitrail export --since --until --output` writes a
# period's records with the signed checkpoint and the proof they are
# complete and unchanged; `phitrail verify --export FILE --key PUBFILE`
# checks it with nothing but the file and the public key (run from another
# directory, with no configuration). A changed record, a removed record, a
# truncated file and another key are each refused.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/integrity.inc"
integrity_setup
start_collector
cp "$KEY.pub" "$T/trusted.pub"
make_records 4 p1
quiet
sleep 1.1
since=$(date -u +%Y-%m-%dT%H:%M:%S.%NZ)
make_records 5 p2
quiet
until=$(date -u +%Y-%m-%dT%H:%M:%S.%NZ)
sleep 1.1
make_records 3 p3
quiet
stop_collector
expect_verify_ok --key "$T/trusted.pub"

"$PHITRAIL" export --config "$CONF" --since "$since" --until "$until" --output "$T/period.export" \
	|| fail "export failed"
head -n 5 "$T/period.export"
[ "$(grep -c '^record ' "$T/period.export")" -ge 5 ] || fail "fewer than 5 records exported"

# Checked elsewhere: no configuration, only the file and the public key.
mkdir -p "$T/elsewhere"
cp "$T/period.export" "$T/trusted.pub" "$T/elsewhere/"
out=$(cd "$T/elsewhere" && PHITRAIL_CONFIG=/nonexistent "$PHITRAIL" verify --export period.export --key trusted.pub) \
	|| fail "a good export fails: $out"
echo "$out"
echo "$out" | grep -Eq "^ok: records [0-9]+-[0-9]+ \(5 in the period" || fail "unexpected answer: $out"

# One record changed (a byte of its hex).
awk '/^record /&&!d{ n++; if (n == 2) { $2 = substr($2,1,40) (substr($2,41,1)=="0" ? "1" : "0") substr($2,42); d=1 } } {print}' \
	"$T/period.export" >"$T/bad1"
cmp -s "$T/bad1" "$T/period.export" && fail "the test did not change the export"
"$PHITRAIL" verify --export "$T/bad1" --key "$T/trusted.pub" && fail "a changed record verified"
# One record removed.
awk '/^record /&&!d{ n++; if (n == 3) { d=1; next } } {print}' "$T/period.export" >"$T/bad2"
out=$("$PHITRAIL" verify --export "$T/bad2" --key "$T/trusted.pub") && fail "a removed record verified"
echo "$out" | grep -q "not record" || fail "removed record: $out"
# Truncated (the end line gone).
head -n -1 "$T/period.export" >"$T/bad3"
"$PHITRAIL" verify --export "$T/bad3" --key "$T/trusted.pub" && fail "a truncated export verified"
# Another key.
printf '%064d\n' 0 | tr 0 b >"$T/other.pub"
out=$("$PHITRAIL" verify --export "$T/period.export" --key "$T/other.pub") && fail "verified with another key"
echo "$out" | grep -q "another key" || fail "other key: $out"
# An empty period is refused, not exported empty.
"$PHITRAIL" export --config "$CONF" --since 2001-01-01 --until 2001-01-02 --output "$T/none" 2>/dev/null \
	&& fail "an empty period was exported"
[ ! -e "$T/none" ] || fail "a failed export left a file behind"

# A failed write to a device (a full disk, here a copy of /dev/full's
# node) is an error, and the device is not removed: only a regular file
# the export wrote is taken back.
if [ "$(id -u)" -eq 0 ] && mknod "$T/full" c 1 7 2>/dev/null; then
	"$PHITRAIL" export --config "$CONF" --since "$since" --until "$until" --output "$T/full" \
		2>"$T/full.err" && fail "an export to a full device succeeded"
	grep -q 'cannot write' "$T/full.err" || fail "no write error said: $(cat "$T/full.err")"
	[ -c "$T/full" ] || fail "a failed export removed the device it was given"
fi
pass
