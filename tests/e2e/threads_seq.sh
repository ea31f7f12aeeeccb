# 8 threads read 10 PHI files each at once: all 80 Viewed records arrive,
# from one process, with seq 0..79 and no gap.
. "$(dirname "$0")/lib.sh"
setup
start_collector
cc -O2 -pthread -o "$T/shapes" "$ROOT/tests/programs/shapes.c" || fail "cannot build shapes"
mkdir -p "$P/4711"
i=0; while [ $i -lt 8 ]; do j=0; while [ $j -lt 10 ]; do
	echo x >"$P/4711/t${i}_$j.txt"; j=$((j + 1)); done; i=$((i + 1)); done
shim "$T/shapes" threads "$P/4711" 8 || fail "threads failed under the shim"
wait_count 80 --event "PHI File Viewed" --patient 4711
expect_count 80 --patient 4711
[ "$(jfield '.pid' --patient 4711 | sort -u | wc -l)" = 1 ] || fail "records from more than one pid"
[ "$(jfield '.seq' --patient 4711 | sort -n | tr '\n' ' ')" = "$(seq 0 79 | tr '\n' ' ')" ] ||
	fail "seq is not 0..79: $(jfield '.seq' --patient 4711 | sort -n | tr '\n' ' ')"
[ "$(jfield '.target' --patient 4711 | sort -u | wc -l)" = 80 ] || fail "not one record per file"
pass
