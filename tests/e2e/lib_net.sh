# lib_net.sh - what the socket scenarios share on top of lib.sh: a free
# loopback port, waiting for a listener, and a one-connection TCP sink.
# Loopback only; every wait is bounded.

# free_port [ADDRESS]: a TCP port nothing listens on now (the kernel picks it).
free_port() {
	python3 -c 'import socket,sys
fam = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
s = socket.socket(fam); s.bind((sys.argv[1], 0)); print(s.getsockname()[1])' "${1:-127.0.0.1}"
}

# wait_port PORT [ADDRESS]: up to 10 s until something accepts on it.
wait_port() {
	i=0
	while [ $i -lt 200 ]; do
		python3 -c 'import socket,sys
fam = socket.AF_INET6 if ":" in sys.argv[2] else socket.AF_INET
s = socket.socket(fam); s.settimeout(0.2); s.connect((sys.argv[2], int(sys.argv[1])))' \
			"$1" "${2:-127.0.0.1}" 2>/dev/null && return 0
		sleep 0.05
		i=$((i + 1))
	done
	fail "nothing listens on ${2:-127.0.0.1}:$1 after 10 s"
}

# wait_file FILE: up to 10 s until FILE exists and is not empty.
wait_file() {
	i=0
	while [ $i -lt 200 ]; do
		[ -s "$1" ] && return 0
		sleep 0.05
		i=$((i + 1))
	done
	fail "$1 did not appear within 10 s"
}

# wait_pid PID: up to 10 s for a background program to end; its status.
wait_pid() {
	i=0
	while [ $i -lt 200 ] && kill -0 "$1" 2>/dev/null; do
		sleep 0.05
		i=$((i + 1))
	done
	kill -0 "$1" 2>/dev/null && { kill "$1"; fail "process $1 still running after 10 s"; }
	wait "$1"
}
