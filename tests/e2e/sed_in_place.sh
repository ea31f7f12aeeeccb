# sed -i edits a chart in place: it reads the chart (Viewed), writes a new
# temporary file beside it (Created), gives it the chart's owner and mode
# or ACL (Permissions Changed) and renames that over the chart (Renamed).
# Read in order, the trail tells exactly that story.
. "$(dirname "$0")/lib.sh"
setup
start_collector

mkdir -p "$P/4711"
printf 'Name: Jane Doe\nDx: hypertension\n' >"$P/4711/chart.txt"
shim sed -i 's/hypertension/hypertension, controlled/' "$P/4711/chart.txt" ||
	fail "sed -i failed under the shim"
grep -q 'hypertension, controlled' "$P/4711/chart.txt" || fail "sed -i did not edit the chart"

wait_count 1 --event renamed --patient 4711
# sed opens the chart, creates its temporary file, then reads the chart: the
# Viewed may come before or after the Created, but the rename ends the story.
story=$(jfield '.event_type' --patient 4711 | uniq | tr '\n' ',')
case "$story" in
"PHI File Viewed,PHI File Created,PHI File Permissions Changed,PHI File Renamed," | \
"PHI File Created,PHI File Viewed,PHI File Permissions Changed,PHI File Renamed,") ;;
*) fail "the trail says [$story], expected Viewed and Created, Permissions Changed, then Renamed" ;;
esac
tmp=$(jfield '.target' --event created --patient 4711)
case "$tmp" in "$P/4711/"*) ;; *) fail "Created names $tmp, not a file beside the chart" ;; esac
[ "$(jfield '.target' --event renamed --patient 4711)" = "$tmp" ] || fail "Renamed does not start from the temporary file"
[ "$(jfield '.target2' --event renamed --patient 4711)" = "$P/4711/chart.txt" ] || fail "Renamed does not end at the chart"
[ "$(jfield '.target' --event permissions --patient 4711 | sort -u)" = "$tmp" ] ||
	fail "Permissions Changed is not about the temporary file"
n=$(count --patient 4711)
[ "$(jfield '.seq' --patient 4711 | tr '\n' ,)" = "$(seq -s, 0 $((n - 1)))," ] || fail "seq is not 0..$((n - 1)) in order"
pass
