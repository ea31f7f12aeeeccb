# Reads and writes through FILE*: fread, fgets, getline, getc (and the
# getc_unlocked macro's __uflow), fscanf, fwrite, fputs, fprintf, putc (and
# __overflow), dprintf, fdopen, and C++ std::ifstream each leave exactly one
# Viewed or Modified on the file they used; a stream opened and closed
# without a read or write leaves nothing.
. "$(dirname "$0")/lib.sh"
setup
start_collector
cc -O2 -D_GNU_SOURCE -o "$T/every_call" "$ROOT/tests/programs/every_call.c" ||
	fail "cannot build every_call"
mkdir -p "$P/4711"
n=0
for step in fread fgets getline getc fgetc getc_unlocked fscanf read_eof \
	fwrite fputs fprintf putc putc_unlocked dprintf fopen_w fdopen open_no_io; do
	shim "$T/every_call" "$P/4711" "$step" >/dev/null || fail "step $step failed under the shim"
	want=$("$T/every_call" "$T/other" "$step" 2>/dev/null | sed -n "s/^$step|//p")
	[ "$want" = "-" ] && continue
	n=$((n + 1))
	ev=${want% *}
	file=${want##* }
	wait_count 1 --event "$ev" --target "$P/4711/$file"
	expect_count 1 --target "$P/4711/$file"
done
expect_count "$n" --patient 4711
expect_count 0 --target "$P/4711/untouched.txt"
if command -v c++ >/dev/null; then
	c++ -O2 -o "$T/ifstream" "$ROOT/tests/programs/ifstream.cc" || fail "cannot build ifstream"
	printf 'a\nb\nc\n' >"$P/4711/chart.txt"
	[ "$(shim "$T/ifstream" "$P/4711/chart.txt")" = 3 ] || fail "ifstream read something else"
	wait_count 1 --event "PHI File Viewed" --target "$P/4711/chart.txt"
	expect_count 1 --target "$P/4711/chart.txt"
fi
pass
