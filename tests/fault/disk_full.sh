# The store's filesystem fills up (a 3 MiB tmpfs for the database
# directory; needs root and mount, else skipped): ingest pauses, the
# collector keeps running, the spool files are kept, the database is not
# corrupted; once the tmpfs grows, ingest resumes and every record is
# stored exactly once.
. "$(dirname "$0")/../e2e/lib.sh"
command -v sqlite3 >/dev/null || skip "sqlite3 not installed"
setup
mkdir -p "$T/db"
mount -t tmpfs -o size=3m phitrail-test "$T/db" 2>/dev/null || skip "cannot mount a tmpfs (needs root)"
MOUNTED=$T/db
umount_db() {
	[ -n "${MOUNTED:-}" ] && umount "$MOUNTED" 2>/dev/null
	MOUNTED=""
}
trap 'cleanup_full' EXIT
cleanup_full() {
	if [ -n "$COLLECTOR_PID" ] && kill -0 "$COLLECTOR_PID" 2>/dev/null; then
		kill -KILL "$COLLECTOR_PID" 2>/dev/null
		wait "$COLLECTOR_PID" 2>/dev/null
	fi
	COLLECTOR_PID=""
	umount_db
	cleanup
}
cc -O2 -o "$T/phiload" "$ROOT/tests/fault/phiload.c" || fail "cannot build phiload"
DB=$T/db/audit.db
mkdir -p "$P/4711"
k=0; while [ $k -lt 16 ]; do echo "chart $k" >"$P/4711/f$k.txt"; k=$((k + 1)); done

start_collector
N=30000
shim "$T/phiload" read "$P/4711" $N >/dev/null || fail "the program failed under the shim"
# The store cannot hold 30,000 records in 3 MiB: wait for the first failure.
i=0
while ! grep -q "cannot commit to the store\|cannot write to the store" "$T/collector.log"; do
	[ $i -lt 200 ] || fail "the store never reported a full disk"
	sleep 0.1
	i=$((i + 1))
done
sleep 2
kill -0 "$COLLECTOR_PID" 2>/dev/null || fail "the collector died on a full disk"
df -k "$T/db" | tail -n 1
stored=$(count --event viewed || fail "the collector does not answer queries on a full disk")
echo "full: $stored of $N stored"
[ "$stored" -lt $N ] || fail "everything fit: the test proves nothing"
files=$(find "$T/spool" -type f -name '*.spool' | wc -l)
[ "$files" -ge 1 ] || fail "spool files were deleted before their records were stored"
# Still full a second later: nothing moved, nothing lost.
sleep 1.2
again=$(count --event viewed)
[ "$again" = "$stored" ] || echo "note: $again stored a second later (space freed by checkpoints)"

mount -o remount,size=256m "$T/db" || fail "cannot grow the tmpfs"
wait_count $N --event viewed
expect_count $N --event viewed
stop_collector
dups=$(sqlite3 "$DB" "SELECT count(*) FROM (SELECT pid, seq FROM records
	WHERE seq IS NOT NULL GROUP BY pid, seq HAVING count(*) > 1)")
[ "$dups" = 0 ] || fail "$dups (pid, seq) pairs stored twice"
range=$(sqlite3 "$DB" "SELECT count(DISTINCT seq), min(seq), max(seq) FROM records
	WHERE event_type = 'PHI File Viewed'")
[ "$range" = "$N|0|$((N - 1))" ] || fail "seq is not 0..$((N - 1)) once each: $range"
ok=$(sqlite3 "$DB" "PRAGMA integrity_check")
[ "$ok" = ok ] || fail "the database is damaged: $ok"
[ "$(sqlite3 "$DB" "SELECT count(*) FROM records WHERE event_type IN ('Audit Records Lost', 'Audit Spool Tampered')")" = 0 ] ||
	fail "a loss or tampering was reported"
left=$(find "$T/spool" -type f ! -name phi-inodes | wc -l)   # phi-inodes: the hard-link index
[ "$left" = 0 ] || fail "$left spool file(s) left after everything was stored"
umount_db
pass
