# The kernel as a safety net (fanotify, as root): a statically linked
# program, a program reading by raw syscall(2) and one reading through
# io_uring, none of which the shim can see, are each recorded once, with
# detail.source = "kernel", the patient from the path and the process's
# identity; a shim-audited cat is recorded once (the kernel's view of it is
# merged); non-PHI files read the same ways leave nothing.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip "fanotify needs CAP_SYS_ADMIN"
SAFETY_NET=on setup
for p in 1 2 3 4; do
	mkdir -p "$P/$p"
	printf 'Name: Patient %s\n' "$p" >"$P/$p/chart.txt"
done
printf 'public\n' >"$T/other/readme.txt"
start_collector
grep -q "kernel safety net: on" "$T/collector.log" ||
	skip "no fanotify here: $(grep 'kernel safety net' "$T/collector.log")"
src=$ROOT/tests/programs/kernel_read.c
cc -O2 -static -o "$T/static_read" "$src" 2>/dev/null || skip "no static libc"
cc -O2 -o "$T/raw_read" "$src" || fail "cannot build kernel_read"
cc -O2 -DWITH_URING -o "$T/uring_read" "$src" -luring || fail "cannot build kernel_read with liburing"

shim "$T/static_read" plain "$P/1/chart.txt" >"$T/out1" || fail "the static program failed"
# (compared with the text, not the file: a bare cmp would be a PHI read too)
[ "$(cat "$T/out1")" = "Name: Patient 1" ] || fail "the static program printed something else"
shim "$T/raw_read" raw "$P/2/chart.txt" >/dev/null || fail "the raw syscall program failed"
if "$T/uring_read" uring "$T/other/readme.txt" >/dev/null 2>&1; then
	shim "$T/uring_read" uring "$P/3/chart.txt" >/dev/null || fail "the io_uring program failed"
	uring=1
else
	echo "note: io_uring is not usable here; its case is left out"
	uring=0
fi
shim cat "$P/4/chart.txt" >/dev/null || fail "cat failed under the shim"
# controls: the same programs on a file no rule matches
shim "$T/static_read" plain "$T/other/readme.txt" >/dev/null
shim "$T/raw_read" raw "$T/other/readme.txt" >/dev/null

for p in 1 2; do
	wait_count 1 --patient $p
	expect_count 1 --patient $p
	[ "$(jfield '.detail.source' --patient $p)" = kernel ] || fail "patient $p's record is not from the kernel"
	[ "$(jfield '.event_type' --patient $p)" = "PHI File Viewed" ] || fail "patient $p's record is not a Viewed"
	[ "$(jfield '.target' --patient $p)" = "$P/$p/chart.txt" ] || fail "patient $p's target"
	[ "$(jfield '.uid' --patient $p)" = 0 ] || fail "patient $p's uid is not 0"
	[ "$(jfield '.rule' --patient $p)" = charts ] || fail "patient $p's rule"
done
case "$(jfield '.exe' --patient 1)" in */static_read) ;; *) fail "exe of the static program: $(jfield '.exe' --patient 1)" ;; esac
case "$(jfield '.exe' --patient 2)" in */raw_read) ;; *) fail "exe of the raw program: $(jfield '.exe' --patient 2)" ;; esac
if [ "$uring" = 1 ]; then
	wait_count 1 --patient 3
	expect_count 1 --patient 3
	[ "$(jfield '.detail.source' --patient 3)" = kernel ] || fail "the io_uring record is not from the kernel"
fi
# cat was audited by the shim: one record, the shim's
wait_count 1 --patient 4
sleep 1.5
expect_count 1 --patient 4
[ "$(jfield '.detail.source' --patient 4)" = null ] || fail "cat's record is the kernel's, not the shim's"
expect_count 0 --target "$T/other/**"
pass
