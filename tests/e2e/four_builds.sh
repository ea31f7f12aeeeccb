# One program exercising every wrapped call, compiled four ways (plain,
# -D_FORTIFY_SOURCE=2 -O2, -D_FILE_OFFSET_BITS=64, both): each build reaches
# libc through other names (__read_chk, fopen64, __fprintf_chk, mmap64...),
# and the trail - event types and files, in order - is the same for all
# four and is the one the program expects.
. "$(dirname "$0")/lib.sh"
setup
start_collector
src=$ROOT/tests/programs/every_call.c
cc -O0 -D_GNU_SOURCE -o "$T/plain" "$src" || fail "cannot build plain"
cc -O2 -D_GNU_SOURCE -D_FORTIFY_SOURCE=2 -o "$T/fortify" "$src" || fail "cannot build fortify"
cc -O0 -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 -o "$T/lfs" "$src" || fail "cannot build lfs"
cc -O2 -D_GNU_SOURCE -D_FORTIFY_SOURCE=2 -D_FILE_OFFSET_BITS=64 -o "$T/both" "$src" ||
	fail "cannot build both"
nm -D "$T/fortify" | grep -q __fprintf_chk || fail "the fortified build does not call __fprintf_chk"
nm -D "$T/lfs" | grep -q fopen64 || fail "the large-file build does not call fopen64"
for build in plain fortify lfs both; do
	mkdir -p "$P/$build"
	shim "$T/$build" "$P/$build" >"$T/$build.expect" || fail "$build: a call misbehaved under the shim"
	sed -n 's/^[^|]*|//p' "$T/$build.expect" | grep -v '^-$' >"$T/$build.want"
	n=$(wc -l <"$T/$build.want")
	wait_count "$n" --patient "$build"
	settle
	q --patient "$build" | jq -r '"\(.event_type) \(.target | sub(".*/"; ""))"' >"$T/$build.got"
	cmp -s "$T/$build.want" "$T/$build.got" || {
		diff "$T/$build.want" "$T/$build.got"
		fail "$build: the trail is not the expected one"
	}
done
for build in fortify lfs both; do
	cmp -s "$T/plain.got" "$T/$build.got" || fail "$build's trail differs from plain's"
done
pass
