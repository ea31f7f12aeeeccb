# A user tries to hide a read while the shim is loaded: after a first
# audited read, the program (tests/fault/hide.c) attacks the shim's means
# of recording and reads another patient's chart. For each attack the read
# must be recorded, or the program must not get the bytes, or a loss or
# tampering must be reported: never silent.
#
# The attacks (hide.c): dup2 of /dev/null over the shim's descriptors,
# munmap or mprotect of the mapped spool file (also with a SIGSEGV handler
# jumping back out of the shim), close_range then RLIMIT_NOFILE 4,
# RLIMIT_FSIZE 0, a seccomp filter failing the shim's write, send,
# connect and socket calls, with and without close_range first.
# HIDE_MODES="..." runs a few of them.
. "$(dirname "$0")/../e2e/lib.sh"
setup
cc -O2 -Wall -o "$T/hide" "$ROOT/tests/fault/hide.c" || fail "cannot build hide"
start_collector

# (lib.sh's helpers use i: the mode's number is mi.)
MODES=${HIDE_MODES:-"dup2 munmap munmapjmp mprotect nofile fsize seccomp closeseccomp"}
# Each attack after 1 warm-up read (the spool file the process claimed and
# mapped itself) and after 70 (the collector's mapped file, from the 64th).
RUNS=""
for m in $MODES; do
	RUNS="$RUNS $m:1 $m:70"
done
mi=0
for run in $RUNS; do
	mi=$((mi + 1))
	mkdir -p "$P/w$mi" "$P/x$mi"
	echo "warm-up chart $mi" >"$P/w$mi/chart.txt"
	echo "hidden chart $mi" >"$P/x$mi/chart.txt"
done
reported() {
	echo $(( $(count --event "Audit Records Lost") + $(count --event "Audit Spool Tampered") ))
}

mi=0
silent=""
for run in $RUNS; do
	mi=$((mi + 1))
	m=${run%:*}
	warm=${run#*:}
	before=$(reported)
	# A program the attack leaves hanging is stopped after 20 s.
	timeout -s KILL 20 "$PHITRAIL" run --config "$CONF" -- "$T/hide" "$m" \
		"$P/w$mi/chart.txt" "$P/x$mi/chart.txt" "$warm" 2>"$T/hide.$m.err"
	rc=$?
	[ "$rc" = 2 ] && fail "$m: the attack could not be set up: $(cat "$T/hide.$m.err")"
	wait_count 1 --event viewed --patient "w$mi"
	# Up to 10 s for the record or a report of the loss.
	deadline=$(($(date +%s) + 10))
	outcome=""
	while [ "$(date +%s)" -lt "$deadline" ]; do
		if [ "$(count --event viewed --patient "x$mi")" -ge 1 ]; then
			outcome="recorded"
		elif [ "$(reported)" -gt "$before" ]; then
			outcome="reported as loss or tampering"
		fi
		[ -n "$outcome" ] && break
		sleep 0.1
	done
	if [ -z "$outcome" ]; then
		if [ "$rc" = 0 ]; then
			outcome="SILENT"
			silent="$silent $run"
		else
			outcome="not read (the program ended with status $rc before it had the bytes)"
		fi
	fi
	echo "$run: $outcome"
done
[ -z "$silent" ] || fail "a read was hidden without a trace:$silent"
kill -0 "$COLLECTOR_PID" || fail "the collector died"
pass
