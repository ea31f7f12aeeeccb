# phitrail export right after the records were made, with a collector that
# signs only once an hour: export asks the collector for a fresh signed
# checkpoint instead of failing, --until defaults to now, and the export
# verifies with the public key alone. With a store file alone (--db) there
# is no collector to ask: it still says to try again later.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/integrity.inc"
setup "checkpoint_interval = 3600"
DB=$T/db/audit.db
KEY=$T/db/signing.key
command -v sqlite3 >/dev/null || skip "sqlite3 CLI not installed"
start_collector
make_records 3 p1
quiet
before=$(signed_size)
[ "$before" -lt "$(stored)" ] || fail "the newest records are signed already ($before of $(stored)): the test proves nothing"

out=$("$PHITRAIL" export --db "$DB" --since 1h --output "$T/nocollector.export" 2>&1) &&
	fail "export from a store file alone succeeded without a checkpoint: $out"
echo "$out" | grep -q "not covered by a signed checkpoint yet" || fail "unexpected refusal: $out"
[ -e "$T/nocollector.export" ] && fail "a refused export left its file"

out=$("$PHITRAIL" export --config "$CONF" --since 1h --output "$T/fresh.export" 2>&1) ||
	fail "export did not get a fresh checkpoint: $out"
[ "$(grep -c '^record ' "$T/fresh.export")" -ge 3 ] || fail "fewer than 3 records exported"
[ "$(signed_size)" -gt "$before" ] || fail "no new checkpoint was signed"
out=$(PHITRAIL_CONFIG=/nonexistent "$PHITRAIL" verify --export "$T/fresh.export" --key "$KEY.pub") ||
	fail "the export does not verify: $out"
stop_collector
pass
