# phitrail status, against the real collector: up and well (exit 0, the
# table and every JSON key), the records it counts match the store, the
# newest signed checkpoint appears, a loss since start needs attention
# (exit 1) and says so, and a collector that is down is exit 1 "down".
# Also the time words (recent, today, yesterday, a local time with a zone)
# through the real query socket.
. "$(dirname "$0")/lib.sh"
setup "checkpoint_interval = 1"
mkdir -p "$P/4711" && echo "chart" >"$P/4711/chart.txt"

out=$("$PHITRAIL" status --config "$CONF" 2>&1) && fail "status of a collector not started said all is well: $out"
echo "$out" | grep -q "^collector *down" || fail "no 'collector down' in: $out"
"$PHITRAIL" status --config "$CONF" --format json 2>/dev/null | jq -e '.collector == "down" and (.attention | length) == 1' >/dev/null ||
	fail "status --format json of a stopped collector"

start_collector
shim cat "$P/4711/chart.txt" >/dev/null || fail "cat failed under the shim"
expect_event viewed 4711
# the time words against the real store: just now is "recent" and "today"
[ "$(count --event viewed --since recent)" -ge 1 ] || fail "--since recent misses the record"
[ "$(count --event viewed --since today)" -ge 1 ] || fail "--since today misses the record"
[ "$(count --event viewed --until yesterday)" -eq 0 ] || fail "--until yesterday holds today's record"
[ "$(count --event viewed --since "$(date -u +%Y-%m-%d) 00:00 UTC" --until "$(date -u -d tomorrow +%Y-%m-%d) 00:00 UTC")" -ge 1 ] ||
	fail "a day given as local times in UTC misses the record"
i=0
until "$PHITRAIL" status --config "$CONF" --format json | jq -e '.checkpoint_ns != null' >/dev/null; do
	i=$((i + 1)); [ $i -lt 100 ] || fail "no signed checkpoint reported within 10 s"; sleep 0.1
done
out=$("$PHITRAIL" status --config "$CONF") || fail "status of a healthy collector exited $?: $out"
for label in collector version uptime records lost tampered spool checkpoint store config kernel attention; do
	echo "$out" | grep -q "^$label " || fail "no '$label' line in: $out"
done
echo "$out" | grep -q "^attention *none" || fail "a healthy collector needs attention: $out"
echo "$out" | grep -q "$CONF: valid" || fail "config not reported valid: $out"
echo "$out" | grep -q "^kernel *off (kernel_safety_net = off)" || fail "the kernel safety net is not said to be off, and why: $out"

json=$("$PHITRAIL" status --config "$CONF" --format json) || fail "status --format json exited $?"
for key in collector version now_ns started_ns records stored_since_start lost_since_start \
	tampered_since_start spool_files spool_bytes spool_oldest_ns checkpoint_ns checkpoint_size \
	checkpoint_interval_s store_bytes disk_free_bytes disk_total_bytes config config_errors \
	config_error unaudited forwarders kernel_net kernel_marks kernel_events kernel_merged \
	kernel_stored kernel_overflows attention; do
	echo "$json" | jq -e "has(\"$key\")" >/dev/null || fail "no \"$key\" in: $json"
done
stored=$(count)
# status itself is not audited: the count does not move because of it
[ "$(echo "$json" | jq .records)" -eq "$stored" ] || fail "status says $(echo "$json" | jq .records) records, the store holds $stored"
echo "$json" | jq -e '.collector == "up" and .lost_since_start == 0 and .config_errors == 0 and
	.checkpoint_interval_s == 1 and .disk_total_bytes > 0 and .store_bytes > 0 and
	(.forwarders | length) == 0 and (.attention | length) == 0 and
	.now_ns >= .started_ns and .checkpoint_size >= 1' >/dev/null || fail "unexpected status: $json"
stop_collector

# A record lost while the collector was down: reported at start, and
# status needs attention until the collector starts again.
shim cat "$P/4711/chart.txt" >/dev/null
spooled=$(ls -t "$T/spool/incoming" | head -n 1)
[ -n "$spooled" ] || fail "no fallback spool file while the collector was down"
size=$(stat -c %s "$T/spool/incoming/$spooled")
truncate -s $((size - 5)) "$T/spool/incoming/$spooled"
start_collector
wait_count 1 --event "Audit Records Lost"
out=$("$PHITRAIL" status --config "$CONF") && fail "status after a loss said all is well: $out"
echo "$out" | grep -q "^attention .*lost since the collector started" || fail "the loss is not under attention: $out"
"$PHITRAIL" status --config "$CONF" --format json | jq -e '.lost_since_start >= 1' >/dev/null ||
	fail "lost_since_start not counted"
stop_collector
start_collector
"$PHITRAIL" status --config "$CONF" >/dev/null || fail "status still needs attention after a restart"
pass
