# The kernel as a safety net for changes (fanotify with names, as root): a
# statically linked program and a program making raw syscall(2)s create,
# delete, rename and chmod PHI files; each change is recorded once from the
# kernel (detail.source = "kernel", the patient from the real path). The
# same changes made by shimmed cp, mv, rm and chmod are recorded once, by
# the shim (the kernel's view is merged). A change of times alone is no
# permissions change. Files no rule matches, changed
# the same ways, leave nothing.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip "fanotify needs CAP_SYS_ADMIN"
SAFETY_NET=on setup
for p in 2 3 4 5 6 7 8 9 10 11 12; do
	mkdir -p "$P/$p"
	printf 'Name: Patient %s\n' "$p" >"$P/$p/chart.txt"
done
mkdir -p "$P/1"
printf 'public\n' >"$T/other/readme.txt"
printf 'moving in\n' >"$T/other/in.txt"
printf 'public\n' >"$T/other/gone.txt"
start_collector
grep -q "kernel safety net: on.*created, deleted, renamed, permissions" "$T/collector.log" ||
	skip "no fanotify with names here: $(grep 'kernel safety net' "$T/collector.log")"
src=$ROOT/tests/programs/kernel_change.c
cc -O2 -static -o "$T/static_change" "$src" 2>/dev/null || skip "no static libc"
cc -O2 -o "$T/raw_change" "$src" || fail "cannot build kernel_change"

# without the shim's sight: one kernel record each
"$T/static_change" create "$P/1/new.txt" || fail "static create failed"
shim "$T/raw_change" chmod "$P/2/chart.txt" 640 || fail "raw chmod failed"
"$T/static_change" unlink "$P/3/chart.txt" || fail "static unlink failed"
shim "$T/raw_change" rename "$P/4/chart.txt" "$P/4/renamed.txt" || fail "raw rename failed"
"$T/static_change" rename "$T/other/in.txt" "$P/5/in.txt" || fail "static rename into the tree failed"
# under the shim: one record each, the shim's
shim cp "$T/other/readme.txt" "$P/6/copy.txt" || fail "cp failed under the shim"
shim mv "$P/7/chart.txt" "$P/7/moved.txt" || fail "mv failed under the shim"
shim rm "$P/8/chart.txt" || fail "rm failed under the shim"
shim chmod 0600 "$P/9/chart.txt" || fail "chmod failed under the shim"
# the same by relative paths: the shim's target is still the kernel's path
(cd "$P/11" && shim mv chart.txt moved.txt) || fail "mv by a relative path failed"
(cd "$P/12" && shim rm chart.txt) || fail "rm by a relative path failed"
# only the times change (touch without the shim): not a permissions change
touch -d 2020-01-01 "$P/10/chart.txt" || fail "touch failed"
# controls: no rule matches
"$T/static_change" create "$T/other/new.txt"
"$T/static_change" chmod "$T/other/readme.txt" 600
"$T/static_change" rename "$T/other/readme.txt" "$T/other/moved.txt"
"$T/static_change" unlink "$T/other/gone.txt"

# kernel_record PATIENT EVENT TARGET: exactly one record, the kernel's
kernel_record() {
	wait_count 1 --patient "$1"
	sleep 1.2                    # the merge window, and a little more
	expect_count 1 --patient "$1"
	[ "$(jfield '.event_type' --patient "$1")" = "$2" ] || fail "patient $1: $(jfield '.event_type' --patient "$1") is not $2"
	[ "$(jfield '.detail.source' --patient "$1")" = kernel ] || fail "patient $1's record is not from the kernel"
	[ "$(jfield '.identity' --patient "$1")" = kernel ] || fail "patient $1's identity"
	[ "$(jfield '.target' --patient "$1")" = "$3" ] || fail "patient $1's target: $(jfield '.target' --patient "$1")"
	[ "$(jfield '.uid' --patient "$1")" = 0 ] || fail "patient $1's uid is not 0"
	[ "$(jfield '.rule' --patient "$1")" = charts ] || fail "patient $1's rule"
	case "$(jfield '.exe' --patient "$1")" in */static_change|*/raw_change) ;; *) fail "patient $1's exe: $(jfield '.exe' --patient "$1")" ;; esac
}
kernel_record 1 "PHI File Created" "$P/1/new.txt"
[ "$(jfield '.detail.mode' --patient 1)" = 0600 ] || fail "the mode of patient 1's new file: $(jfield '.detail.mode' --patient 1)"
kernel_record 2 "PHI File Permissions Changed" "$P/2/chart.txt"
[ "$(jfield '.detail.mode' --patient 2)" = 0640 ] || fail "the mode of patient 2's chart: $(jfield '.detail.mode' --patient 2)"
kernel_record 3 "PHI File Deleted" "$P/3/chart.txt"
kernel_record 4 "PHI File Renamed" "$P/4/chart.txt"
[ "$(jfield '.target2' --patient 4)" = "$P/4/renamed.txt" ] || fail "patient 4's new name"
# moved in from a folder no rule covers: the kernel names only the new side
kernel_record 5 "PHI File Renamed" null
[ "$(jfield '.target2' --patient 5)" = "$P/5/in.txt" ] || fail "patient 5's new name"

# shim_record PATIENT EVENT: exactly one record, the shim's
shim_record() {
	wait_count 1 --patient "$1"
	expect_count 1 --patient "$1"
	[ "$(jfield '.event_type' --patient "$1")" = "$2" ] || fail "patient $1: $(jfield '.event_type' --patient "$1") is not $2"
	[ "$(jfield '.detail.source' --patient "$1")" = null ] || fail "patient $1's record is the kernel's, not the shim's"
}
shim_record 6 "PHI File Created"
shim_record 7 "PHI File Renamed"
shim_record 8 "PHI File Deleted"
shim_record 9 "PHI File Permissions Changed"
shim_record 11 "PHI File Renamed"
shim_record 12 "PHI File Deleted"
expect_count 0 --target "$T/other/**"
expect_count 0 --event permissions --patient 10
# phitrail status says the net is on, and what it did: the five changes
# above and touch's close after opening for writing (a Modified)
json=$("$PHITRAIL" status --config "$CONF" --format json) || fail "status exited $?"
echo "$json" | jq -e '(.kernel_net | startswith("on (fanotify")) and .kernel_marks >= 10 and
	.kernel_events >= 9 and .kernel_stored == 6 and .kernel_merged >= 4 and
	.kernel_overflows == 0' >/dev/null || fail "unexpected kernel safety net status: $json"
"$PHITRAIL" status --config "$CONF" | grep -q " 6 stored from the kernel" ||
	fail "status does not say what the kernel stored: $("$PHITRAIL" status --config "$CONF")"
pass
