# A file in active/ that no progress row names (the collector creates
# every active/ file itself and records it before handing it out, so such
# a file was put there by someone else, or its row was lost) is never read
# as records: at start it is moved to quarantine/ with "Audit Spool
# Tampered" ("spool file without progress record"); one that holds no more
# than a header (created, never handed out) is deleted without a record.
. "$(dirname "$0")/lib.sh"
setup

mkdir -p "$P/4711"
printf 'Name: Jane Doe\n' >"$P/4711/chart.txt"
shim cat "$P/4711/chart.txt" >/dev/null || fail "cat failed under the shim with no collector"
orig=$(find "$T/spool/incoming" -name '*.spool' | head -n 1)
[ -n "$orig" ] || fail "no fallback spool file was written"
mkdir -p "$T/spool/active"
cp "$orig" "$T/spool/active/planted.spool"
head -c 64 "$orig" >"$T/spool/active/empty.spool"

start_collector
wait_count 1 --event viewed --patient 4711
wait_count 1 --event "Audit Spool Tampered"
settle
expect_count 1 --event viewed --patient 4711
expect_count 1 --event "Audit Spool Tampered"
why=$(jfield '.detail.reason' --event "Audit Spool Tampered")
[ "$why" = "spool file without progress record" ] ||
	fail "the tamper record's reason is [$why]"
target=$(jfield '.target' --event "Audit Spool Tampered")
case "$target" in */active/planted.spool) ;; *) fail "the tamper record's target is [$target]" ;; esac
[ -f "$T/spool/quarantine/active-planted.spool" ] ||
	fail "the planted file is not in quarantine/: $(ls "$T/spool/quarantine")"
[ ! -e "$T/spool/active/planted.spool" ] || fail "the planted file is still in active/"
[ ! -e "$T/spool/active/empty.spool" ] || fail "the header-only file was not removed"
pass
