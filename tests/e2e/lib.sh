# lib.sh - what every end-to-end scenario shares: a scratch deployment (its
# own config, sockets, store and spool under one temporary directory), the
# real collector started and stopped, programs run under the real shim, and
# assertions over the records the collector returns.
#
# A scenario sources this file, calls setup, and ends with pass. Any failed
# expectation prints what was expected and what the store holds, and exits 1.
# The collector and CLI are the ASan/UBSan builds unless PHITRAIL_BIN says
# otherwise; the shim is the normal build (it runs inside uninstrumented
# programs).

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${PHITRAIL_BIN:-$ROOT/build/asan}
PHITRAILD=$BIN/phitraild
PHITRAIL=$BIN/phitrail
export PHITRAIL_LIB=${PHITRAIL_LIB:-$ROOT/build/libphitrail.so}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:exitcode=86}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
COLLECTOR_PID=""

fail() {
	echo "FAIL: $*"
	if [ -n "${T:-}" ]; then
		echo "--- records in the store:"
		"$PHITRAIL" query --config "$CONF" --format json 2>&1 | head -n 50
		echo "--- collector log:"
		tail -n 40 "$T/collector.log" 2>/dev/null
	fi
	exit 1
}

skip() {
	echo "SKIP: $*"
	exit 77
}

pass() {
	echo "PASS"
	exit 0
}

# track_pid PID: a server the scenario started in the background (its own
# pid, not a subshell's: start it as "( cd DIR && exec shim ... ) &"),
# stopped by cleanup however the scenario ends.
TRACKED_PIDS=""
track_pid() {
	TRACKED_PIDS="$TRACKED_PIDS $1"
}

# stop_pid PID: stops a tracked server now and waits for it.
stop_pid() {
	kill -TERM "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}

cleanup() {
	for p in $TRACKED_PIDS; do
		stop_pid "$p"
	done
	if [ -n "$COLLECTOR_PID" ] && kill -0 "$COLLECTOR_PID" 2>/dev/null; then
		kill -TERM "$COLLECTOR_PID" 2>/dev/null
		wait "$COLLECTOR_PID" 2>/dev/null
	fi
	[ -n "${T:-}" ] && [ -z "${KEEP:-}" ] && rm -rf "$T"
}

# setup [extra config lines for [phitrail]]: a fresh deployment in $T with a
# rule "charts" covering $T/patients/{patient}/**. $P is the patients tree.
setup() {
	T=$(mktemp -d /tmp/phitrail-e2e.XXXXXX)
	chmod 0755 "$T"
	trap cleanup EXIT
	trap 'exit 1' INT TERM
	P=$T/patients
	mkdir -p "$P" "$T/run" "$T/other"
	chmod 0755 "$P" "$T/run" "$T/other"
	CONF=$T/phitrail.conf
	cat >"$CONF" <<EOF
[phitrail]
workspace_id = ws_e2e
socket       = $T/run/ingest.sock
query_socket = $T/run/query.sock
database     = $T/db/audit.db
spool        = $T/spool
key_file     = $T/db/signing.key
batch_delay_ms = 20
kernel_safety_net = ${SAFETY_NET:-off}
${1:-}

[rule charts]
files = $P/{patient}/**
EOF
	export PHITRAIL_CONFIG="$CONF"
}

# The actor the collector should name for a uid: the login user when the
# kernel has one for this session, else the user of the uid.
actor_for_uid() {
	loginuid=$(cat /proc/self/loginuid 2>/dev/null || echo 4294967295)
	if [ "$loginuid" != 4294967295 ]; then
		id -nu "$loginuid" 2>/dev/null || echo "uid:$loginuid"
	else
		id -nu "$1" 2>/dev/null || echo "uid:$1"
	fi
}

start_collector() {
	"$PHITRAILD" --config "$CONF" >>"$T/collector.log" 2>&1 &
	COLLECTOR_PID=$!
	i=0
	while [ $i -lt 200 ]; do
		if "$PHITRAIL" query --config "$CONF" --count >/dev/null 2>&1; then
			return 0
		fi
		kill -0 "$COLLECTOR_PID" 2>/dev/null || fail "collector exited at start"
		sleep 0.05
		i=$((i + 1))
	done
	fail "collector did not answer within 10 s"
}

stop_collector() {
	[ -n "$COLLECTOR_PID" ] || return 0
	kill -TERM "$COLLECTOR_PID"
	wait "$COLLECTOR_PID"
	rc=$?
	COLLECTOR_PID=""
	[ "$rc" -eq 0 ] || fail "collector exited with status $rc on SIGTERM"
}

# collector_kb KEY: KEY of /proc/PID/status (VmHWM, VmRSS: KiB) summed over
# the collector's processes: the parent and its children (the store
# process, the signer).
collector_kb() {
	kids=$(cat "/proc/$COLLECTOR_PID/task/$COLLECTOR_PID/children" 2>/dev/null)
	for p in "$COLLECTOR_PID" $kids; do
		awk -v k="$1:" '$1 == k { print $2 }' "/proc/$p/status" 2>/dev/null
	done | awk '{ s += $1 } END { print s + 0 }'
}

kill_collector() {
	[ -n "$COLLECTOR_PID" ] || return 0
	kill -KILL "$COLLECTOR_PID"
	wait "$COLLECTOR_PID" 2>/dev/null
	COLLECTOR_PID=""
}

# shim CMD ARGS...: runs a real program under the shim via phitrail run.
shim() {
	"$PHITRAIL" run --config "$CONF" -- "$@"
}

# q [filters...]: the matching records as JSON lines.
q() {
	"$PHITRAIL" query --config "$CONF" --format json "$@"
}

count() {
	"$PHITRAIL" query --config "$CONF" --count "$@"
}

# wait_count N [filters...]: waits up to 10 s until at least N records match.
wait_count() {
	want=$1
	shift
	i=0
	while [ $i -lt 200 ]; do
		got=$(count "$@" 2>/dev/null || echo 0)
		[ "$got" -ge "$want" ] && return 0
		sleep 0.05
		i=$((i + 1))
	done
	fail "expected at least $want records matching [$*], found $got"
}

# settle: waits until the collector has stored everything written so far:
# two counts 300 ms apart agree.
settle() {
	prev=-1
	i=0
	while [ $i -lt 50 ]; do
		now=$(count 2>/dev/null || echo -2)
		[ "$now" = "$prev" ] && return 0
		prev=$now
		sleep 0.3
		i=$((i + 1))
	done
}

# expect_event EVENT PATIENT [more filters]: at least one such record.
expect_event() {
	ev=$1
	pt=$2
	shift 2
	wait_count 1 --event "$ev" --patient "$pt" "$@"
}

# expect_count N [filters...]: exactly N records match (after settling).
expect_count() {
	want=$1
	shift
	settle
	got=$(count "$@")
	[ "$got" = "$want" ] || fail "expected exactly $want records matching [$*], found $got"
}

# field FILTERS... -- JQ: a jq expression over the matching records' JSON.
jfield() {
	expr=$1
	shift
	q "$@" | jq -r "$expr"
}
