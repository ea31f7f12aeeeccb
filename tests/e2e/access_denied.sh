# An unprivileged user opens a chart with mode 000: "PHI File Access Denied",
# with that user as actor and the errno as result; the program's own error
# is unchanged.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root to run a program as another user"
command -v setpriv >/dev/null || skip "setpriv (util-linux) is not installed"
setup
start_collector

mkdir -p "$P/4711"
chmod 0755 "$P/4711"
printf 'secret\n' >"$P/4711/psych-note.txt"
chmod 000 "$P/4711/psych-note.txt"

bare=$(setpriv --reuid=65534 --regid=65534 --clear-groups cat "$P/4711/psych-note.txt" 2>&1)
bare_rc=$?
shimmed=$(setpriv --reuid=65534 --regid=65534 --clear-groups \
	env LD_PRELOAD="$PHITRAIL_LIB" PHITRAIL_CONFIG="$CONF" cat "$P/4711/psych-note.txt" 2>&1)
shim_rc=$?
[ "$bare_rc" -ne 0 ] || fail "cat as nobody could read a mode 000 file"
[ "$shim_rc" = "$bare_rc" ] || fail "exit status $shim_rc under the shim, $bare_rc without"
[ "$shimmed" = "$bare" ] || fail "cat said '$shimmed' under the shim, '$bare' without"

expect_event "PHI File Access Denied" 4711
[ "$(jfield '.uid' --event denied)" = 65534 ] || fail "uid is not 65534"
[ "$(jfield '.actor_user_id' --event denied)" = "$(actor_for_uid 65534)" ] ||
	fail "actor is not $(actor_for_uid 65534)"
[ "$(jfield '.result' --event denied)" = EACCES ] || fail "result is not EACCES"
expect_count 1 --patient 4711
pass
