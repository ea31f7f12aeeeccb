#!/bin/sh
# collector_e2e.sh - phitraild on its own, with a stand-in writer (driver.c)
# and a minimal query client (qclient.c): hand-off, verified identity,
# group commit, kill -9 and restart (nothing lost, nothing twice), fallback
# files adopted at start, losses and tampering reported, quarantine, access
# control of the query socket, clean stop.
#
#   sh tests/collector/collector_e2e.sh      (PHITRAILD=... to pick a binary)
# Prints "PASS name" / "FAIL name" per check and exits 1 when any failed.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PHITRAILD=${PHITRAILD:-$ROOT/build/asan/phitraild}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:exitcode=86}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
T=$(mktemp -d /tmp/phitraild-test.XXXXXX)
chmod 0755 "$T"
FAILED=0
PID=""

cleanup() {
	[ -n "$PID" ] && kill -9 "$PID" 2>/dev/null
	[ -z "${KEEP:-}" ] && rm -rf "$T"
}
trap cleanup EXIT

check() {   # check NAME COMMAND...
	name=$1
	shift
	if "$@"; then
		echo "PASS $name"
	else
		echo "FAIL $name"
		FAILED=1
		tail -n 20 "$T/log" | sed 's/^/    /'
	fi
}

CFLAGS="-std=gnu11 -O1 -g -D_GNU_SOURCE -I$ROOT/common/format -I$ROOT/common/protocol"
cc $CFLAGS -o "$T/driver" "$ROOT/tests/collector/driver.c" "$ROOT/common/format/codec.c" "$ROOT"/common/format/record_*.c \
	"$ROOT/common/format/spool.c" -lmsgpackc || exit 1
cc $CFLAGS -o "$T/qclient" "$ROOT/tests/collector/qclient.c" "$ROOT/common/format/codec.c" "$ROOT"/common/format/record_*.c \
	"$ROOT/common/protocol/query_codec.c" \
	-lmsgpackc -lbsd || exit 1
chmod 0755 "$T/driver" "$T/qclient"

cat >"$T/c.conf" <<CONF
[phitrail]
workspace_id = ws_test
socket = $T/run/ingest.sock
query_socket = $T/run/query.sock
database = $T/db/audit.db
spool = $T/spool
batch_delay_ms = 20
CONF
SOCK=$T/run/ingest.sock
QS=$T/run/query.sock
DB=$T/db/audit.db

start() {
	"$PHITRAILD" --config "$T/c.conf" 2>>"$T/log" &
	PID=$!
	i=0
	while [ ! -S "$QS" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
	# the query socket exists once everything left from before is adopted
	sleep 0.1
}
stop() {
	kill -TERM "$PID"
	wait "$PID"
	rc=$?
	PID=""
	return $rc
}
q() { "$T/qclient" "$QS" "$@"; }
count() { q count "$@" | sed -n 's/^end //p'; }
settle() {   # until two counts 300 ms apart agree
	prev=-1
	for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
		now=$(count)
		[ "$now" = "$prev" ] && return 0
		prev=$now
		sleep 0.3
	done
}
sql() { sqlite3 "$DB" "$1"; }
eventually() {   # eventually COMMAND...: true within 5 s
	for _ in $(seq 50); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}

# --- start: directories, modes, started record ------------------------------
start
check dirs_created sh -c "[ \"\$(stat -c %a '$T/spool/active')\" = 700 ] && \
	[ \"\$(stat -c %a '$T/spool/incoming')\" = 1733 ] && \
	[ \"\$(stat -c %a '$T/spool/quarantine')\" = 700 ] && \
	[ \"\$(stat -c %a '$SOCK')\" = 666 ] && [ \"\$(stat -c %a '$QS')\" = 666 ]"
check started_recorded [ "$(count "event=Audit Collector Started")" = 1 ]
check second_collector_refused sh -c "'$PHITRAILD' --config '$T/c.conf' 2>&1 | \
	grep -q 'another phitraild (pid $PID) is using'"
check second_collector_refused_exit1 sh -c "! '$PHITRAILD' --config '$T/c.conf' 2>/dev/null"

# --- hand-off and verified identity ----------------------------------------
"$T/driver" --claim-pid 4242 --tag a "$SOCK" 50
settle
check records_stored [ "$(count target='/srv/ehr/a/**')" = 50 ]
check claimed_pid_replaced [ "$(count pid=4242)" = 0 ]
check actor_verified [ "$(count actor=mallory)" = 0 ]
check identity_verified [ "$(sql "select count(*) from records where target like '/srv/ehr/a/%' and identity = 'verified' and uid = $(id -u)")" = 50 ]
check spool_file_retired eventually sh -c "[ -z \"\$(ls '$T/spool/active')\" ]"
check progress_row_retired eventually sh -c "[ \"\$(sqlite3 '$DB' 'select count(*) from progress')\" = 0 ]"
check leaf_hash_matches [ "$(sql "select count(*) from records where leaf_hash = unhex(sha256(x'00' || bytes))" 2>/dev/null || echo skip)" != 0 ]

# --- queries ------------------------------------------------------------------
check query_patient [ "$(count patient=p3 target='/srv/ehr/a/**')" = 5 ]
check query_failed [ "$(count failed)" = 7 ]
check query_limit_desc [ "$(q target='/srv/ehr/a/*' limit=2 desc | cut -d'|' -f8 | tr '\n' ' ')" = "/srv/ehr/a/49 /srv/ehr/a/48 end 2 " ]
check query_after_id [ "$(q after=$(sql 'select max(id) - 3 from records') | grep -c '^[0-9]')" = 3 ]
check query_bad_request sh -c "'$T/qclient' '$QS' raw=8100 | grep -q '^error bad request'"
if id nobody >/dev/null 2>&1 && command -v runuser >/dev/null; then
	check query_denied_to_others sh -c "runuser -u nobody -- '$T/qclient' '$QS' count | grep -q '^error permission denied'"
fi

# --- losses and tampering ------------------------------------------------------
"$T/driver" --skip 5 --cut --tag b "$SOCK" 20
"$T/driver" --bad-crc --tag c "$SOCK" 10
"$T/driver" --garbage --tag d "$SOCK" 10
"$T/driver" --forge --tag e "$SOCK" 10
settle
sleep 1.5
settle
check gap_reported [ "$(sql "select count(*) from records where event_type = 'Audit Records Lost' and target like '%active%'")" = 2 ]
check gap_records_kept [ "$(count target='/srv/ehr/b/**')" = 19 ]
check bad_crc_quarantined [ "$(ls "$T/spool/quarantine" | wc -l)" = 1 ]
check tamper_recorded [ "$(count "event=Audit Spool Tampered")" = 3 ]
check frames_before_bad_crc_kept [ "$(count target='/srv/ehr/c/**')" = 10 ]
check garbage_skipped_rest_kept [ "$(count target='/srv/ehr/d/**')" = 10 ]
check forged_event_not_stored [ "$(count "event=Audit Collector Started")" = 1 ]

# --- kill -9 in the middle of a stream ----------------------------------------
"$T/driver" --sleep-us 100 --tag k "$SOCK" 20000 &
DRV=$!
sleep 0.8
kill -9 "$PID"
wait "$PID" 2>/dev/null
PID=""
sleep 0.3
start
wait "$DRV"
check driver_survived_restart [ $? = 0 ]
sleep 1.5
settle
check kill9_nothing_lost [ "$(count target='/srv/ehr/k/**')" = 20000 ]
check kill9_nothing_twice [ "$(sql "select count(distinct seq) from records where target like '/srv/ehr/k/%'")" = 20000 ]

# --- fallback files written while the collector is down ---------------------
stop
check clean_stop_exit0 [ $? = 0 ]
check stopped_recorded [ "$(sql "select count(*) from records where event_type = 'Audit Collector Stopped'")" = 1 ]
"$T/driver" --fallback "$T/spool" --tag f x 30
(echo go | "$T/driver" --fallback "$T/spool" --hold --tag g x 5) &
HOLD=$!
sleep 0.2
start
settle
sleep 1.5
settle
check fallback_adopted [ "$(count target='/srv/ehr/f/**')" = 30 ]
check fallback_identity [ "$(sql "select count(*) from records where target like '/srv/ehr/f/%' and identity = 'file-owner'")" = 30 ]
check fallback_deleted [ -z "$(ls "$T/spool/incoming")" ]
wait "$HOLD"

# --- group commit: the store is never ahead of or behind the offsets ---------
"$T/driver" --tag h "$SOCK" 3000
settle
check thousands_in_groups [ "$(count target='/srv/ehr/h/**')" = 3000 ]
check next_id_continues [ "$(sql 'select max(id) = count(*) from records')" = 1 ]

stop
check asan_clean_exit [ $? = 0 ]
check no_errors_logged sh -c "! grep -q 'ERROR: AddressSanitizer\|runtime error' '$T/log'"
exit $FAILED
