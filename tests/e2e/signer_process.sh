#!/bin/sh
# signer_process: the signing key lives in a process of its own. The
# collector's child "phitraild: signer" (started by the privileged parent
# for the store process, which talks to it) runs without capabilities,
# with no_new_privs and a seccomp filter, as the phitrail user when the
# collector runs as root (the user is created for the test when missing,
# and removed after). Killed with SIGKILL, it is replaced within seconds
# and checkpoints go on; killed just before a clean stop, the stop still
# signs its last checkpoint. Nothing is lost: every record is covered by a
# signed checkpoint and verify accepts the whole store.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/integrity.inc"
integrity_setup

. "$(dirname "$0")/phitrail_user.inc"

# signers_of PID: the collector's children that are signers.
signers_of() {
	for kid in $(pgrep -P "$1"); do
		grep -q signer "/proc/$kid/cmdline" 2>/dev/null && echo "$kid"
	done
	true
}

# signer_of PID: the collector's one signer.
signer_of() {
	kids=$(signers_of "$1")
	[ "$(echo "$kids" | grep -c .)" = 1 ] || fail "the collector has not one signer: '$kids'"
	echo "$kids"
}

# confined PID: uid, capabilities, no_new_privs and seccomp of the signer.
confined() {
	s=/proc/$1/status
	grep -q "^Uid:	$want_uid	$want_uid	$want_uid	$want_uid\$" "$s" ||
		fail "signer uid: $(grep ^Uid: "$s"), expected $want_uid"
	grep -q '^CapEff:	0000000000000000$' "$s" || fail "signer $(grep ^CapEff: "$s")"
	grep -q '^CapPrm:	0000000000000000$' "$s" || fail "signer $(grep ^CapPrm: "$s")"
	grep -q '^NoNewPrivs:	1$' "$s" || fail "signer $(grep ^NoNewPrivs: "$s")"
	grep -q '^Seccomp:	2$' "$s" || fail "signer $(grep ^Seccomp: "$s"), expected a filter (2)"
}

# signed_size: the size of the newest checkpoint in the store.
# (0 while there is none: the first one may not be signed yet)
signed_size() {
	n=$(sqlite3 "file:$DB?mode=ro" "SELECT tree_size FROM checkpoints WHERE kind = 'checkpoint' ORDER BY seq DESC LIMIT 1" 2>/dev/null)
	echo "${n:-0}"
}

# wait_signed N: until a checkpoint covers N records (10 s).
wait_signed() {
	i=0
	while [ $i -lt 100 ] && [ "$(signed_size)" -lt "$1" ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ "$(signed_size)" -ge "$1" ] || fail "no checkpoint covers $1 record(s) (newest: $(signed_size))"
}

start_collector
first=$(signer_of "$COLLECTOR_PID")
confined "$first"
make_records 3
quiet
wait_signed "$(stored)"

kill -KILL "$first"
i=0
while [ $i -lt 50 ]; do
	second=$(signers_of "$COLLECTOR_PID")
	[ -n "$second" ] && [ "$second" != "$first" ] && break
	sleep 0.1
	i=$((i + 1))
done
[ -n "$second" ] && [ "$second" != "$first" ] || fail "no new signer within 5 s"
[ "$(signer_of "$COLLECTOR_PID")" = "$second" ] || fail "signer changed twice"
confined "$second"
grep -q "signer (pid $first) was killed by signal 9: starting another" "$T/collector.log" ||
	fail "the collector did not say the signer was killed"
make_records 3 p2
quiet
wait_signed "$(stored)"

# Killed again just before the stop: the stop's checkpoint is still signed.
make_records 2 p3
quiet
kill -KILL "$second"
stop_collector
[ "$(signed_size)" = "$(stored)" ] ||
	fail "the last checkpoint covers $(signed_size) of $(stored) record(s)"
out=$(expect_verify_ok)
case "$out" in "ok: $(stored) records"*) ;; *) fail "verify: $out" ;; esac
grep -q "signer (pid $second) \(was killed\|is gone: killed\) by signal 9" "$T/collector.log" ||
	fail "the collector did not notice the second kill"
remove_user
pass
