# Programs that close every descriptor - closefrom(3), close_range(3, ~0),
# a close() loop up to RLIMIT_NOFILE - close the shim's spool descriptor
# too: the shim notices, never writes into a descriptor the program owns
# afterwards, and keeps auditing (the read after the closing is reported).
. "$(dirname "$0")/lib.sh"
setup
start_collector
cc -O2 -pthread -o "$T/shapes" "$ROOT/tests/programs/shapes.c" || fail "cannot build shapes"
n=0
for how in closefrom close_range closeloop; do
	mkdir -p "$P/$how-a" "$P/$how-b"
	echo a >"$P/$how-a/a.txt"
	echo b >"$P/$how-b/b.txt"
	shim "$T/shapes" "$how" "$P/$how-a/a.txt" "$P/$how-b/b.txt" || fail "$how failed under the shim"
	expect_event "PHI File Viewed" "$how-a"
	expect_event "PHI File Viewed" "$how-b"
done
expect_count 6 --event "PHI File Viewed"
pass
