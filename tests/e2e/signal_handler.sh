# The program blocks inside open() of a PHI FIFO (inside the shim's
# wrapper); a SIGALRM handler reads another chart meanwhile. The handler's
# read is audited, and the program completes normally.
. "$(dirname "$0")/lib.sh"
setup
start_collector
cc -O2 -pthread -o "$T/shapes" "$ROOT/tests/programs/shapes.c" || fail "cannot build shapes"
mkdir -p "$P/4711"
echo sig >"$P/4711/sig.txt"
shim timeout 20 "$T/shapes" signal "$P/4711" || fail "signal shape failed or hung under the shim"
expect_event "PHI File Viewed" 4711 --target "$P/4711/sig.txt"
expect_count 1 --target "$P/4711/sig.txt"
pass
