#!/bin/sh
# store_process: what parses untrusted bytes runs apart from privilege.
# The collector is a privileged parent and two children: the store process
# ("phitraild: store ...", which follows spool files, answers queries and
# runs SQLite) and the signer. Started as root, the parent keeps uid 0;
# the store process runs as the phitrail user (created for the test when
# missing), with no capability at all (bounding and ambient too),
# no_new_privs and a seccomp filter, holds no descriptor of the signing key
# and cannot open it. Records still flow: a writer under the shim is
# handed its spool file by the parent and stored by the store process; a
# fallback file another user leaves in incoming/ while the collector runs
# (mode 0600, which the store process may not open) is opened by the
# parent for it and stored under that user; a query is answered.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root (the store process drops to the phitrail user)"
setup

. "$(dirname "$0")/phitrail_user.inc"

# child_of PID WORD: the collector's one child whose title holds WORD.
child_of() {
	kids=""
	for kid in $(pgrep -P "$1"); do
		grep -q "$2" "/proc/$kid/cmdline" 2>/dev/null && kids="$kids $kid"
	done
	set -- $kids
	[ $# = 1 ] || fail "not one child named '$2' among: $(pgrep -P "$COLLECTOR_PID" -a | tr '\n' ';')"
	echo "$1"
}

mkdir -p "$P/8001" && echo "chart" >"$P/8001/chart.txt"
start_collector
store=$(child_of "$COLLECTOR_PID" store)
signer=$(child_of "$COLLECTOR_PID" signer)
s=/proc/$store/status
grep -q "^Uid:	$want_uid	$want_uid	$want_uid	$want_uid\$" "$s" ||
	fail "store process uid: $(grep ^Uid: "$s"), expected $want_uid"
grep -q "^Gid:	$(id -g phitrail)	" "$s" || fail "store process $(grep ^Gid: "$s")"
grep -Eq '^Groups:[[:space:]]*$' "$s" || fail "store process $(grep ^Groups: "$s")"
for cap in CapInh CapPrm CapEff CapBnd CapAmb; do
	grep -q "^$cap:	0000000000000000\$" "$s" || fail "store process $(grep "^$cap:" "$s")"
done
grep -q '^NoNewPrivs:	1$' "$s" || fail "store process $(grep ^NoNewPrivs: "$s")"
grep -q '^Seccomp:	2$' "$s" || fail "store process $(grep ^Seccomp: "$s"), expected a filter (2)"
# The parent keeps its privilege; the signer is confined as before.
grep -q '^Uid:	0	0	0	0$' "/proc/$COLLECTOR_PID/status" ||
	fail "parent $(grep ^Uid: "/proc/$COLLECTOR_PID/status")"
grep -q '^Seccomp:	2$' "/proc/$signer/status" || fail "signer not under seccomp"
# No descriptor of the key, and the key is not the store's to read.
key=$(readlink -f "$T/db/signing.key")
for fd in /proc/$store/fd/*; do
	[ "$(readlink "$fd")" != "$key" ] || fail "the store process holds the key open ($fd)"
done
[ "$(stat -c %u "$key")" = 0 ] || fail "the key file is not root's"
setpriv --reuid="$want_uid" --regid="$(id -g phitrail)" --clear-groups cat "$key" >/dev/null 2>&1 &&
	fail "the phitrail user can read the key file"

# A writer under the shim, through the parent's ingest.
shim cat "$P/8001/chart.txt" >/dev/null
wait_count 1 --patient 8001 --event viewed
# Another user's fallback file left in incoming/ while the collector runs.
nobody_uid=$(id -u nobody)
mkdir -p "$P/8002" && echo "chart" >"$P/8002/chart.txt" && chmod -R a+rX "$P"
mv "$T/run/ingest.sock" "$T/run/ingest.sock.away"
setpriv --reuid="$nobody_uid" --regid="$(id -g nobody)" --clear-groups \
	env LD_PRELOAD="$PHITRAIL_LIB" PHITRAIL_CONFIG="$CONF" cat "$P/8002/chart.txt" >/dev/null ||
	fail "cat as nobody failed under the shim"
mv "$T/run/ingest.sock.away" "$T/run/ingest.sock"
wait_count 1 --patient 8002 --event viewed
[ "$(jfield '"\(.uid) \(.identity)"' --patient 8002 | sort -u)" = "$nobody_uid file-owner" ] ||
	fail "the fallback record is not nobody's: $(jfield '"\(.uid) \(.identity)"' --patient 8002)"
stop_collector

# The store process dies with its parent even after its change of user
# (which clears a parent-death signal set before it): stopped, so that it
# cannot notice the parent's end by itself, it is gone once the parent is
# killed, and never commits beside the next collector.
start_collector
store=$(child_of "$COLLECTOR_PID" store)
kill -STOP "$store"
kill_collector
i=0
while kill -0 "$store" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
if kill -0 "$store" 2>/dev/null; then
	kill -CONT "$store"
	fail "the store process (pid $store) outlived its killed parent"
fi
remove_user
pass
