# phitrail query, stats, report and tail --db FILE read a store file
# directly, read-only: after the collector stops they give the records it
# answered before, the file's bytes are unchanged and no -wal or -shm file
# is left beside it; a missing file and a database that is not a phitrail
# store are refused with a clear message.
. "$(dirname "$0")/lib.sh"
setup
start_collector

for p in 4711 5822; do
	mkdir -p "$P/$p"
	printf 'chart %s\n' "$p" >"$P/$p/chart.txt"
done
shim cat "$P/4711/chart.txt" "$P/5822/chart.txt" >/dev/null
shim sh -c "echo more >> '$P/4711/chart.txt'"
wait_count 2 --patient 4711
wait_count 1 --patient 5822
settle

DB=$T/db/audit.db
PHI="--event viewed --event modified"

# While the collector runs, its -wal is there: --db reads through it.
[ -e "$DB-wal" ] || fail "a running store has no -wal file"
[ "$("$PHITRAIL" query --db "$DB" --count --patient 4711)" = 2 ] ||
	fail "--db on a live store does not see its records"

# What the collector answers, then the same from the file once it stopped.
q >"$T/all.before"
q --patient 4711 >"$T/patient.before"
"$PHITRAIL" stats --config "$CONF" --by patient $PHI --format json >"$T/stats.before"
"$PHITRAIL" stats --config "$CONF" --by event $PHI --format json >"$T/events.before"
"$PHITRAIL" report patient 4711 --config "$CONF" --format json |
	jq -c 'del(.generated)' >"$T/report.before"
stop_collector
[ ! -e "$DB-wal" ] && [ ! -e "$DB-shm" ] || fail "the collector left -wal/-shm behind"
ls "$T/db" >"$T/files.before"
sum_before=$(sha256sum <"$DB")

# No configuration needed: an archived store is read on its own.
unset PHITRAIL_CONFIG
cd "$T/other"
"$PHITRAIL" query --db "$DB" --format json >"$T/all.after" || fail "query --db failed"
n=$(wc -l <"$T/all.before")
[ "$n" -ge 4 ] || fail "the collector answered only $n records"
head -n "$n" "$T/all.after" | cmp -s - "$T/all.before" ||
	fail "query --db differs from the collector's answer: $(head -n "$n" "$T/all.after" | diff "$T/all.before" -)"
# After those: only the audit of the queries and the collector's stop.
tail -n +"$((n + 1))" "$T/all.after" | jq -r .event_type | sort -u >"$T/extra"
grep -qv -e '^Audit Trail Queried$' -e '^Audit Collector Stopped$' "$T/extra" &&
	fail "query --db shows records the collector never had: $(cat "$T/extra")"
grep -q '^Audit Collector Stopped$' "$T/extra" || fail "the stop record is missing from the file"

"$PHITRAIL" query --db "$DB" --format json --patient 4711 | cmp -s - "$T/patient.before" ||
	fail "query --db --patient differs"
[ "$("$PHITRAIL" query --db "$DB" --count $PHI)" = 3 ] || fail "query --db --count"
[ "$("$PHITRAIL" query --db "$DB" --format json --target "$P/5822/*" | jq -r .end_user_id)" = 5822 ] ||
	fail "query --db --target"
"$PHITRAIL" stats --db "$DB" --by patient $PHI --format json | cmp -s - "$T/stats.before" ||
	fail "stats --db --by patient differs: $("$PHITRAIL" stats --db "$DB" --by patient $PHI --format json)"
"$PHITRAIL" stats --db "$DB" --by event $PHI --format json | cmp -s - "$T/events.before" ||
	fail "stats --db --by event differs"
grep -q '"count":2' "$T/stats.before" || fail "stats answered no group of 2: $(cat "$T/stats.before")"
# (the workspace is the records' own: no configuration is read here)
"$PHITRAIL" report patient 4711 --db "$DB" --format json | jq -c 'del(.generated)' |
	cmp -s - "$T/report.before" || fail "report patient --db differs"
grep -q 4711 "$T/report.before" || fail "the report does not name the patient"

# tail --db prints the newest records and keeps polling until interrupted.
"$PHITRAIL" tail --db "$DB" -n 2 --format json >"$T/tail.out" 2>&1 &
tail_pid=$!
sleep 1
kill -INT "$tail_pid"
wait "$tail_pid" || fail "tail --db exited with $?: $(cat "$T/tail.out")"
[ "$(wc -l <"$T/tail.out")" = 2 ] || fail "tail --db -n 2 printed: $(cat "$T/tail.out")"
tail -n 1 "$T/tail.out" | grep -q 'Audit Collector Stopped' || fail "tail --db: not the newest last"

# Nothing written: same bytes, no -wal, -shm or journal made.
[ "$(sha256sum <"$DB")" = "$sum_before" ] || fail "reading with --db changed the store"
ls "$T/db" | cmp -s - "$T/files.before" || fail "files appeared beside the store: $(ls "$T/db")"

# Refusals say what is wrong.
"$PHITRAIL" query --db "$T/none.db" >/dev/null 2>"$T/err" && fail "a missing file was accepted"
grep -q "No such file" "$T/err" || fail "missing file: $(cat "$T/err")"
[ ! -e "$T/none.db" ] || fail "--db created the missing file"
sqlite3 "$T/other.db" 'CREATE TABLE patients (id TEXT)'
sum_other=$(sha256sum <"$T/other.db")
"$PHITRAIL" query --db "$T/other.db" >/dev/null 2>"$T/err" && fail "a foreign database was accepted"
grep -q "not a phitrail store" "$T/err" || fail "foreign database: $(cat "$T/err")"
"$PHITRAIL" stats --db "$T/other.db" >/dev/null 2>"$T/err" && fail "stats on a foreign database"
grep -q "not a phitrail store" "$T/err" || fail "foreign database (stats): $(cat "$T/err")"
[ "$(sha256sum <"$T/other.db")" = "$sum_other" ] || fail "the foreign database was changed"
echo 'not a database at all' >"$T/text.db"
"$PHITRAIL" report patient 4711 --db "$T/text.db" >/dev/null 2>"$T/err" && fail "a text file was accepted"
grep -q "not an SQLite database" "$T/err" || fail "text file: $(cat "$T/err")"
pass
