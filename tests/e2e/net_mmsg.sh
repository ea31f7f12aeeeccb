# sendmmsg and recvmmsg on connected UDP sockets (tests/programs/net_mmsg.c)
# under the shim, with a rule connect = 127.0.0.1:* and no protocol: each
# socket reports PHI Connection Opened (udp:...) and, at close, exactly the
# bytes its batched calls moved: a sent 60 and received 12, b the reverse.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_net.sh"
setup
printf '[rule udp]\nconnect = 127.0.0.1:*\n' >>"$CONF"
start_collector
cc -O2 -Wall -o "$T/net_mmsg" "$ROOT/tests/programs/net_mmsg.c" || fail "cannot build net_mmsg"
shim "$T/net_mmsg" >"$T/out" || fail "net_mmsg failed under the shim (status $?)"
set -- $(cat "$T/out")
[ "$1" = ports ] || fail "net_mmsg printed $(cat "$T/out")"
A=$2
B=$3

expect_count 2 --event "PHI Connection Opened"
[ "$(jfield '.target' --event 'PHI Connection Opened' | sort | tr '\n' ' ')" = \
  "$(printf 'udp:127.0.0.1:%s\nudp:127.0.0.1:%s\n' "$A" "$B" | sort | tr '\n' ' ')" ] ||
	fail "Opened targets are not udp:127.0.0.1:$A and :$B"
# a's peer is b and the other way round
bytes() { q --event "$1" | jq -r "select(.target == \"udp:127.0.0.1:$2\") | .detail.bytes"; }
[ "$(bytes 'PHI Message Sent' "$B")" = 60 ] || fail "a sent $(bytes 'PHI Message Sent' "$B") bytes, not 60"
[ "$(bytes 'PHI Message Received' "$B")" = 12 ] || fail "a received $(bytes 'PHI Message Received' "$B"), not 12"
[ "$(bytes 'PHI Message Sent' "$A")" = 12 ] || fail "b sent $(bytes 'PHI Message Sent' "$A"), not 12"
[ "$(bytes 'PHI Message Received' "$A")" = 60 ] || fail "b received $(bytes 'PHI Message Received' "$A"), not 60"
expect_count 2 --event "PHI Message Sent"
expect_count 2 --event "PHI Message Received"
pass
