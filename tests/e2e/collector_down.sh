# A program that runs while the collector is down keeps working; its records
# wait in the fallback spool and appear once the collector starts, marked
# with how their identity was learnt.
. "$(dirname "$0")/lib.sh"
setup

mkdir -p "$P/4711" "$P/5822"
printf 'Name: Jane Doe\n' >"$P/4711/chart.txt"
printf 'Name: John Roe\n' >"$P/5822/chart.txt"
shim cat "$P/4711/chart.txt" >/dev/null || fail "cat failed under the shim with no collector"
shim cp "$P/4711/chart.txt" "$P/5822/copy.txt" || fail "cp failed under the shim with no collector"
ls "$T/spool/incoming" >/dev/null 2>&1 || fail "no fallback spool directory was made"

start_collector
wait_count 1 --patient 4711 --exe "$(readlink -f "$(command -v cat)")"
expect_count 2 --event viewed --patient 4711
expect_count 1 --event created --patient 5822
[ "$(jfield '.identity' --patient 4711 | sort -u)" = "file-owner" ] ||
	fail "adopted records do not say their identity came from the spool file's owner"
[ "$(jfield '.uid' --patient 4711 | sort -u)" = 0 ] || fail "uid is not the spool file's owner"

# Fully read files of processes that are gone are removed.
settle
left=$(find "$T/spool/incoming" -type f | wc -l)
i=0
while [ "$left" -ne 0 ] && [ $i -lt 50 ]; do
	sleep 0.1
	left=$(find "$T/spool/incoming" -type f | wc -l)
	i=$((i + 1))
done
[ "$left" -eq 0 ] || fail "$left spool files were left behind after adoption"
pass
