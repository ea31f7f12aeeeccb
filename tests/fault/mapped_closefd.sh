# A program closes every descriptor (closefrom(3)) a quarter of the way
# through 20,000 PHI reads: the mapped spool file's descriptor and the
# collector's eventfd go with them. The shim never writes into what the
# program opens next, keeps writing into the mapping while it has room,
# then asks for a new spool file: every record is stored once, none lost.
. "$(dirname "$0")/../e2e/lib.sh"
setup
cc -O2 -o "$T/mapload" "$ROOT/tests/fault/mapload.c" -lpthread || fail "cannot build mapload"
N=20000
mkdir -p "$P/4711"
j=0; while [ $j -lt 16 ]; do echo "chart" >"$P/4711/f$j.txt"; j=$((j + 1)); done
start_collector
shim "$T/mapload" closefd "$P/4711" $N >"$T/out" || fail "the program failed under the shim"
[ "$(cat "$T/out")" = $N ] || fail "the program did not finish its reads"
wait_count $N --event viewed --patient 4711
expect_count $N --event viewed --patient 4711
[ "$(count --event "Audit Records Lost")" = 0 ] || fail "a loss was reported"
[ "$(jfield '.seq' --event viewed --patient 4711 | sort -n | uniq | wc -l)" = $N ] ||
	fail "a seq is missing or repeated"
pass
