# lib_fleet.sh - what the fleet scenarios share (after lib.sh's setup): a
# NATS JetStream cluster of real nats-server processes on loopback ports
# chosen at run time, host collectors with [forward] and an aggregator,
# each with its own deployment under $T, all stopped by the scenario's
# exit trap.
#
#   fleet_ports N          N free loopback ports into $PORTS
#   nats_cluster_start N   N JetStream nodes n1..nN (store dirs $T/nats/nI)
#   nats_node_start I / nats_node_kill I / nats_node_stop I
#   host_setup NAME        a host deployment in $T/NAME ($T/NAME/phitrail.conf)
#   aggregator_setup       the central deployment in $T/central
#   daemon_start NAME [--aggregate] / daemon_kill NAME / daemon_stop NAME
#   central_sql SQL        sqlite3 on the central store

NATS_SERVER=$(command -v nats-server || echo /usr/sbin/nats-server)
[ -x "$NATS_SERVER" ] || skip "nats-server is not installed"
FLEET_PIDS=""

fleet_ports() {
	PORTS=$(python3 -c '
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
' "$1")
}

# $1: index from 1; client port and cluster port of node I.
nats_port() { echo "$NATS_CLIENT_PORTS" | cut -d' ' -f"$1"; }
nats_cport() { echo "$NATS_CLUSTER_PORTS" | cut -d' ' -f"$1"; }

nats_cluster_start() {
	NATS_N=$1
	fleet_ports $((2 * NATS_N))
	NATS_CLIENT_PORTS=$(echo "$PORTS" | cut -d' ' -f1-"$NATS_N")
	NATS_CLUSTER_PORTS=$(echo "$PORTS" | cut -d' ' -f$((NATS_N + 1))-)
	NATS_URLS=""
	i=1
	while [ "$i" -le "$NATS_N" ]; do
		NATS_URLS="${NATS_URLS:+$NATS_URLS,}nats://127.0.0.1:$(nats_port $i)"
		i=$((i + 1))
	done
	i=1
	while [ "$i" -le "$NATS_N" ]; do
		mkdir -p "$T/nats/n$i"
		routes=""
		j=1
		while [ "$j" -le "$NATS_N" ]; do
			[ "$j" -ne "$i" ] && routes="${routes:+$routes, }nats-route://127.0.0.1:$(nats_cport $j)"
			j=$((j + 1))
		done
		cat >"$T/nats/n$i.conf" <<NATSEOF
server_name: n$i
listen: 127.0.0.1:$(nats_port $i)
jetstream { store_dir: "$T/nats/n$i" }
NATSEOF
		[ "$NATS_N" -gt 1 ] && cat >>"$T/nats/n$i.conf" <<NATSEOF
cluster {
  name: phitrail-test
  listen: 127.0.0.1:$(nats_cport $i)
  routes: [ $routes ]
}
NATSEOF
		nats_node_start "$i"
		i=$((i + 1))
	done
}

nats_node_start() {
	"$NATS_SERVER" -c "$T/nats/n$1.conf" >>"$T/nats/n$1.log" 2>&1 &
	eval "NATS_PID_$1=$!"
	FLEET_PIDS="$FLEET_PIDS $!"
}

nats_node_kill() {
	eval "pid=\$NATS_PID_$1"
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
}

nats_node_stop() {
	eval "pid=\$NATS_PID_$1"
	kill -TERM "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
}

# host_setup NAME [extra [forward] lines]
host_setup() {
	d=$T/$1
	mkdir -p "$d/run" "$d/db"
	chmod 0755 "$d" "$d/run"
	cat >"$d/phitrail.conf" <<HOSTEOF
[phitrail]
workspace_id = ws_fleet
socket       = $d/run/ingest.sock
query_socket = $d/run/query.sock
database     = $d/db/audit.db
spool        = $d/spool
key_file     = $d/db/signing.key
batch_delay_ms = 20

[forward]
servers = $NATS_URLS
stream = PHITRAIL_TEST
replicas = ${FLEET_REPLICAS:-3}
host = $1
stall_time = 5
${2:-}

[rule charts]
files = $P/{patient}/**
HOSTEOF
}

aggregator_setup() {
	d=$T/central
	mkdir -p "$d/run" "$d/db"
	chmod 0755 "$d" "$d/run"
	cat >"$d/phitrail.conf" <<AGGEOF
[phitrail]
workspace_id = ws_fleet
socket       = $d/run/ingest.sock
query_socket = $d/run/query.sock
database     = $d/db/central.db
spool        = $d/spool
key_file     = $d/db/signing.key

[aggregate]
servers = $NATS_URLS
stream = PHITRAIL_TEST
replicas = ${FLEET_REPLICAS:-3}
durable = central
stall_time = ${FLEET_GAP_S:-5}
${1:-}
AGGEOF
}

daemon_start() {
	name=$1
	shift
	"$PHITRAILD" --config "$T/$name/phitrail.conf" "$@" >>"$T/$name.log" 2>&1 &
	eval "DAEMON_PID_$name=$!"
	FLEET_PIDS="$FLEET_PIDS $!"
	i=0
	while [ $i -lt 200 ]; do
		"$PHITRAIL" query --config "$T/$name/phitrail.conf" --count \
			>/dev/null 2>&1 && return 0
		eval "kill -0 \$DAEMON_PID_$name" 2>/dev/null ||
			fail "phitraild $name exited at start: $(tail -n 5 "$T/$name.log")"
		sleep 0.05
		i=$((i + 1))
	done
	fail "phitraild $name did not answer within 10 s"
}

daemon_kill() {
	eval "pid=\$DAEMON_PID_$1"
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
}

daemon_stop() {
	eval "pid=\$DAEMON_PID_$1"
	kill -TERM "$pid" 2>/dev/null
	wait "$pid"
	rc=$?
	[ "$rc" -eq 0 ] || fail "phitraild $1 exited with status $rc on SIGTERM: $(tail -n 20 "$T/$1.log")"
}

central_sql() {
	sqlite3 "$T/central/db/central.db" "$1"
}

host_sql() {
	sqlite3 "$T/$1/db/audit.db" "$2"
}

fleet_cleanup() {
	for pid in $FLEET_PIDS; do
		kill -KILL "$pid" 2>/dev/null
	done
	for pid in $FLEET_PIDS; do
		wait "$pid" 2>/dev/null
	done
	[ -n "${KEEP:-}" ] || cleanup
}
trap fleet_cleanup EXIT
