# A signal handler makes PHI reads (SIGALRM every millisecond) while the
# program floods 20,000 of its own: a handler that interrupts a reservation
# or a copy into the mapped spool file makes its own, lock-free. Every
# record of both is stored once, none lost.
. "$(dirname "$0")/../e2e/lib.sh"
setup
cc -O2 -o "$T/mapload" "$ROOT/tests/fault/mapload.c" -lpthread || fail "cannot build mapload"
N=20000
mkdir -p "$P/4711"
j=0; while [ $j -lt 16 ]; do echo "chart" >"$P/4711/m$j.txt"; j=$((j + 1)); done
echo "chart" >"$P/4711/sig.txt"
start_collector
shim "$T/mapload" signals "$P/4711" $N >"$T/out" || fail "the program failed under the shim"
sig=$(sed -n 's/^main=[0-9]* signal=\([0-9]*\)$/\1/p' "$T/out")
[ -n "$sig" ] || fail "the program printed no counts: $(cat "$T/out")"
[ "$sig" -gt 0 ] || fail "the handler never ran"
wait_count $((N + sig)) --event viewed --patient 4711
expect_count $((N + sig)) --event viewed --patient 4711
[ "$(count --event "Audit Records Lost")" = 0 ] || fail "a loss was reported"
[ "$(jfield '.target' --event viewed --patient 4711 | grep -c '/sig.txt$')" = "$sig" ] ||
	fail "the handler's records are not all there ($sig made)"
pass
