# The collector stopped with SIGTERM under load drains before it exits:
# (1) three programs under the real shim write 90,000 PHI records as fast
# as they can; SIGTERM right after they end: the collector exits 0 with all
# 90,000 in the store and no spool file left. (2) SIGTERM while two paced
# programs are still writing, then a restart: every record exactly once.
. "$(dirname "$0")/../e2e/lib.sh"
command -v sqlite3 >/dev/null || skip "sqlite3 not installed"
setup
cc -O2 -o "$T/phiload" "$ROOT/tests/fault/phiload.c" || fail "cannot build phiload"
DB=$T/db/audit.db
r=1
while [ $r -le 5 ]; do
	mkdir -p "$P/p$r"
	k=0; while [ $k -lt 16 ]; do echo "chart $r $k" >"$P/p$r/f$k.txt"; k=$((k + 1)); done
	r=$((r + 1))
done
viewed() {
	sqlite3 "$DB" "SELECT count(*) FROM records WHERE event_type = 'PHI File Viewed' $1"
}

# (1) a burst, then SIGTERM at once.
start_collector
pids=""
for r in 1 2 3; do
	shim "$T/phiload" read "$P/p$r" 30000 >/dev/null &
	pids="$pids $!"
done
for p in $pids; do wait "$p" || fail "a program under the shim failed"; done
before=$(sqlite3 "$DB" "SELECT count(*) FROM records WHERE event_type = 'PHI File Viewed'" 2>/dev/null || echo "?")
stop_collector                         # fails the test unless it exits 0
got=$(viewed "")
echo "burst: $before stored at SIGTERM, $got after the stop"
[ "$got" = 90000 ] || fail "SIGTERM did not drain: $got of 90000 stored"
left=$(find "$T/spool" -type f ! -name phi-inodes | wc -l)   # phi-inodes: the hard-link index
[ "$left" = 0 ] || fail "$left spool file(s) left after a drained stop"
grep -q "stopped: .* record(s) stored, 0 reported lost" "$T/collector.log" ||
	fail "no clean stop line in the collector's log"

# (2) SIGTERM while programs write; they go on into their spool files.
start_collector
pids=""
for r in 4 5; do
	shim "$T/phiload" read "$P/p$r" 20000 16 200000 >/dev/null &
	pids="$pids $!"
done
sleep 0.8
running=0
for p in $pids; do kill -0 "$p" 2>/dev/null && running=$((running + 1)); done
[ "$running" -gt 0 ] || fail "the programs ended before SIGTERM: the test proves nothing"
stop_collector
mid=$(viewed "AND end_user_id IN ('p4', 'p5')")
echo "paced: $mid stored at the stop, $running program(s) still writing"
sleep 0.5
start_collector
for p in $pids; do wait "$p" || fail "a program under the shim failed"; done
wait_count 130000 --event viewed
stop_collector
got=$(viewed "")
[ "$got" = 130000 ] || fail "expected 130000 records, stored $got"
dups=$(sqlite3 "$DB" "SELECT count(*) FROM (SELECT pid, seq FROM records
	WHERE seq IS NOT NULL GROUP BY pid, seq HAVING count(*) > 1)")
[ "$dups" = 0 ] || fail "$dups (pid, seq) pairs stored twice"
bad=$(sqlite3 "$DB" "SELECT pid, count(*), min(seq), max(seq) FROM records
	WHERE event_type = 'PHI File Viewed' GROUP BY pid" |
	awk -F'|' '!(($2 == 30000 && $4 == 29999) || ($2 == 20000 && $4 == 19999)) || $3 != 0')
[ -z "$bad" ] || fail "a program's seq has gaps or repeats: $bad"
[ "$(sqlite3 "$DB" "SELECT count(*) FROM records WHERE event_type = 'Audit Collector Stopped'")" = 3 ] ||
	fail "expected 3 clean stops in the store"
[ "$(sqlite3 "$DB" "SELECT count(*) FROM records WHERE event_type IN ('Audit Records Lost', 'Audit Spool Tampered')")" = 0 ] ||
	fail "a loss or tampering was reported"
pass
