# A user's copy of their own fallback spool file is not stored twice. With
# the collector down, cat reads a chart under the shim (a fallback file
# appears in incoming/); the file is copied to another .spool name in
# incoming/ and kept aside. The collector starts: the record is stored once
# and the copy is quarantined with "Audit Spool Tampered" (a replay). The
# same file replayed after the first was read and removed is refused too.
# The writer (cat) is gone at adoption, so its pid is the file's claim
# only: not recorded as the pid, named in the log.
. "$(dirname "$0")/lib.sh"
setup

mkdir -p "$P/4711"
printf 'Name: Jane Doe\n' >"$P/4711/chart.txt"
shim cat "$P/4711/chart.txt" >/dev/null || fail "cat failed under the shim with no collector"
orig=$(find "$T/spool/incoming" -name '*.spool' | head -n 1)
[ -n "$orig" ] || fail "no fallback spool file was written"
cp "$orig" "$T/spool/incoming/copy-of-mine.spool"
cp "$orig" "$T/saved.spool"
claimed=$(od -An -tu4 -j20 -N4 "$orig" | tr -d ' ')

start_collector
wait_count 1 --event viewed --patient 4711
wait_count 1 --event "Audit Spool Tampered"
expect_count 1 --event viewed --patient 4711
expect_count 1 --event "Audit Spool Tampered"
why=$(jfield '.detail.reason' --event "Audit Spool Tampered")
case "$why" in *replay*) ;; *) fail "the tamper record does not say replay: [$why]" ;; esac
[ "$(find "$T/spool/quarantine" -type f | wc -l)" = 1 ] || fail "the replayed file is not in quarantine"

# The pid of a writer that is gone is only a claim of the file.
[ "$(jfield '.pid' --event viewed --patient 4711)" = null ] ||
	fail "the unconfirmed pid $(jfield '.pid' --event viewed --patient 4711) was recorded"
grep -q "claims pid $claimed" "$T/collector.log" || fail "the claimed pid $claimed is not in the log"

# Later, once the original is read and removed: the same file again.
i=0
while [ -n "$(find "$T/spool/incoming" -name '*.spool')" ] && [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
cp "$T/saved.spool" "$T/spool/incoming/late.spool"
wait_count 2 --event "Audit Spool Tampered"
expect_count 1 --event viewed --patient 4711
expect_count 2 --event "Audit Spool Tampered"

# A real second run is not a replay: stored.
stop_collector
shim cat "$P/4711/chart.txt" >/dev/null
start_collector
wait_count 2 --event viewed --patient 4711
expect_count 2 --event viewed --patient 4711
expect_count 2 --event "Audit Spool Tampered"
pass
