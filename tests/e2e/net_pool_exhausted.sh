# More PHI connections than the shim's tables hold (tests/programs/
# net_many.c holds 1030 open at once, each sending one HL7 message, rule
# with protocol = hl7): every connection is reported Opened; the first 48
# (the detector pool) report their message with its PID-3; the next 976
# are still audited at connection level, one PHI Message Sent with the
# exact byte count and a note that no detector was free; the last 6 find
# no socket slot (1024) and their Opened record says later data is not
# audited. The program's data is intact throughout.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_net.sh"
setup
printf '[rule hl7-out]\nconnect = 127.0.0.1:*\nprotocol = hl7\n' >>"$CONF"
# Each connection takes a descriptor on both ends: raise the soft limit to
# the hard one where the default (often 1024) is lower.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
start_collector
cc -O2 -Wall -o "$T/net_many" "$ROOT/tests/programs/net_many.c" || fail "cannot build net_many"
shim "$T/net_many" 1030 >"$T/out"
rc=$?
[ $rc -eq 77 ] && skip "the descriptor limit is too low for 1030 connections"
[ $rc -eq 0 ] || fail "net_many failed under the shim (status $rc)"
wait_count 1024 --event "PHI Message Sent"

expect_count 1030 --event "PHI Connection Opened"
expect_count 1024 --event "PHI Message Sent"
q --event "PHI Message Sent" >"$T/sent"
q --event "PHI Connection Opened" >"$T/opened"
[ "$(jq -r 'select(.end_user_id != null) | .end_user_id' "$T/sent" | sort -n | tr '\n' ' ')" = \
  "$(seq 1000 1047 | tr '\n' ' ')" ] || fail "the 48 messages with a detector are not patients 1000..1047"
[ "$(jq -r 'select(.detail.scope == "connection" and
	(.detail.note | startswith("more PHI sockets open than detectors"))) | .detail.bytes' "$T/sent" | wc -l)" = 976 ] ||
	fail "not 976 connection-level records noting the detector pool"
# each count is exactly that connection's message: 82 bytes plus the
# digits of i (i = 48..99: 84, 100..999: 85, 1000..1023: 86)
[ "$(jq -r 'select(.detail.scope == "connection") | .detail.bytes' "$T/sent" | sort -n | uniq -c |
	awk '{ printf "%s:%s ", $2, $1 }')" = "84:52 85:900 86:24 " ] ||
	fail "connection-level byte counts are not those of the messages"
[ "$(jq -r 'select(.detail.note == "too many PHI sockets open: later data not audited") | .id' "$T/opened" | wc -l)" = 6 ] ||
	fail "not 6 Opened records noting the socket table"
[ "$(jq -r '.result' "$T/opened" | sort -u)" = ok ] || fail "an Opened record is not ok"
pass
