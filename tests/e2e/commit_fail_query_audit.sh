# A failed group commit loses no "Audit Trail Queried" record: a query is
# answered, the commit that holds its audit record fails (the test build's
# PHITRAILD_FAULT_COMMIT hook fails the next commit once), and the audit
# record is stored afterwards with the next group, once; the writer records
# rolled back with it are stored once too. Twice: the query's audit
# committed on its own (no group open), and appended into an open group of
# spool records.
. "$(dirname "$0")/lib.sh"
command -v jq >/dev/null || skip "jq is not installed"
setup
sed -i 's/^batch_delay_ms = 20$/batch_delay_ms = 3000/' "$CONF"
FAULT=$T/db/fail-next-commit     # the store process (the phitrail user) removes it
export PHITRAILD_FAULT_COMMIT=$FAULT
mkdir -p "$P/6001"
for k in 1 2 3 4 5; do echo "chart $k" >"$P/6001/c$k.txt"; done
start_collector
[ -n "${KEEP:-}" ] && echo "scratch: $T"

# audits FILTERS: how many "Audit Trail Queried" records of a "query" (not
# the counts this script waits with) have those filters.
audits() {
	q --event queried | jq -s --arg f "$1" \
		'[.[] | select(.detail.op == "query" and .detail.filters == $f)] | length'
}
# wait_fault: the injected fault has been used (the file is gone).
wait_fault() {
	i=0
	while [ -e "$FAULT" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
	[ ! -e "$FAULT" ] || fail "no commit was attempted within 10 s"
}
# wait_audit FILTERS: exactly one audit record with those filters, within 10 s.
wait_audit() {
	i=0
	while [ $i -lt 100 ]; do
		[ "$(audits "$1")" -ge 1 ] && break
		sleep 0.1
		i=$((i + 1))
	done
	n=$(audits "$1")
	[ "$n" = 1 ] || fail "expected one Audit Trail Queried record with filters '$1', found $n"
}

# 1. An open group of spool records (batch_delay_ms = 3000) takes the
#    query's audit record; that group's commit fails.
shim cat "$P/6001/c1.txt" "$P/6001/c2.txt" "$P/6001/c3.txt" "$P/6001/c4.txt" \
	"$P/6001/c5.txt" >/dev/null || fail "cat failed under the shim"
sleep 0.5                            # read into the group, not committed
[ "$(count --patient 6001)" = 0 ] || fail "the group was committed before its delay"
touch "$FAULT"
"$PHITRAIL" query --config "$CONF" --patient 6002 >/dev/null ||
	fail "the query during the open group was not answered"
wait_fault
grep -q "injected commit fault\|rolled back" "$T/collector.log" ||
	fail "the collector did not report the failed commit"
wait_count 5 --patient 6001
wait_audit "patient=6002"
expect_count 5 --patient 6001 --event viewed

# 2. No group open: the query's audit record is committed on its own, and
#    that commit fails. The answer has been sent (5 records) regardless.
settle
touch "$FAULT"
n=$("$PHITRAIL" query --config "$CONF" --patient 6001 --format json | wc -l)
[ "$n" = 5 ] || fail "the query was answered with $n records, not 5"
wait_fault
wait_audit "patient=6001"
expect_count 5 --patient 6001 --event viewed
[ "$(audits "patient=6002")" = 1 ] || fail "the first query's audit record is stored twice"

stop_collector
pass
