# A unix = PATH rule end to end: socat UNIX-LISTEN and socat UNIX-CONNECT,
# both under the shim. The client reports PHI Connection Opened, the
# server PHI Connection Accepted, both with target unix:PATH; the 777
# bytes are reported at the end as sent by one and received by the other
# (scope=connection). A Unix socket at another path leaves no record.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_net.sh"
command -v socat >/dev/null || skip "socat is not installed"
setup
SOCK=$T/run/phi.sock
printf '[rule local]\nunix = %s\n' "$SOCK" >>"$CONF"
start_collector

# wait_socket PATH: up to 10 s until PATH is a socket.
wait_socket() {
	i=0
	while [ $i -lt 200 ]; do
		[ -S "$1" ] && return 0
		sleep 0.05
		i=$((i + 1))
	done
	fail "no socket at $1 after 10 s"
}

head -c 777 /dev/urandom >"$T/data"
for path in "$SOCK" "$T/run/other.sock"; do
	shim socat -u "UNIX-LISTEN:$path" "CREATE:$T/got" &
	SERVER=$!
	wait_socket "$path"
	shim socat -u "FILE:$T/data" "UNIX-CONNECT:$path" || fail "socat client to $path failed"
	wait_pid "$SERVER" || fail "socat server on $path failed"
	cmp -s "$T/data" "$T/got" || fail "the server received other bytes"
	rm -f "$T/got"
done

expect_count 1 --event "PHI Connection Opened"
expect_count 1 --event "PHI Connection Accepted"
expect_count 1 --event "PHI Message Sent"
expect_count 1 --event "PHI Message Received"
[ "$(jfield '.target' --rule local | sort -u)" = "unix:$SOCK" ] ||
	fail "targets are not unix:$SOCK: $(jfield '.target' --rule local | sort -u | tr '\n' ' ')"
[ "$(jfield '.detail.bytes' --event 'PHI Message Sent')" = 777 ] || fail "sent bytes are not 777"
[ "$(jfield '.detail.bytes' --event 'PHI Message Received')" = 777 ] || fail "received bytes are not 777"
[ "$(jfield '.pid' --event 'PHI Message Sent')" = "$(jfield '.pid' --event 'PHI Connection Opened')" ] ||
	fail "the bytes sent were not reported by the connecting process"
[ "$(jfield '.pid' --event 'PHI Message Received')" = "$(jfield '.pid' --event 'PHI Connection Accepted')" ] ||
	fail "the bytes received were not reported by the accepting process"
q | grep -q "other.sock" && fail "a socket no rule names was recorded"
pass
