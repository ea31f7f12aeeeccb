# A shell loop of cat over PHI files under the shim (for f in ...; do cat
# "$f"; done): every cat is a new exec'd process whose first record claims a
# spool file of its own without waiting for the collector (handoff.c). One
# cat in five is SIGKILLed right after its read (it then blocks on a FIFO;
# its output shows the read returned, so its record is in its spool file).
#   A  collector running, 40 files: 40 records, each file's once, each with
#      the pid of the cat that read it, exe cat, identity "verified";
#   B  collector stopped, 20 files, then started: each file's record once,
#      identity "file-owner" (adopted, as for any fallback file: uid from
#      the file's owner, no pid);
#   C  collector SIGKILLed while a loop of 40 files runs and restarted
#      while it still runs: each file's record once, identity "verified"
#      with its cat's pid or "file-owner" (claims the collector never read
#      are adopted);
#   D  collector frozen (SIGSTOP) while a loop of 10 files runs, then
#      thawed: each file's record once, "verified", with its cat's pid: no
#      cat waited for an answer beyond the ack's bound (a process that
#      waits for the hello's reply gives up after 500 ms and writes a
#      fallback file, "file-owner"); run with login uid 4242 (where root
#      may set it), they were gone before their claims were read: no login
#      uid, the actor is the uid's user (README's limit);
#   E  a cat with login uid 4242 still running when its claim is read:
#      its record says auid 4242;
#   F  collector running but busy (another loop of 40 cats with no login
#      uid alongside), a loop of 20 cats with login uid 4242 that exit
#      normally: every record says auid 4242 (each waited at its exit for
#      the claim's ack: handoff.h);
#   G  collector frozen: 5 cats with login uid 4242 each wait at their exit
#      at least HANDOFF_ACK_WAIT_MS (100 ms) and not much more (the loop
#      under 5 s), stored without login uid once it is thawed; 4 cats with
#      the login uid unset wait for nothing (the loop under 400 ms);
# and nothing is reported lost or tampered with, and nothing is left in
# incoming/ once all is stored.
. "$(dirname "$0")/lib.sh"
setup
command -v jq >/dev/null || skip "jq is needed"
CAT=$(command -v cat)
for i in $(seq 1 180); do mkdir -p "$P/p$i"; echo "chart $i" >"$P/p$i/chart.txt"; done
mkfifo "$T/in"

# The loop: cat on files FIRST..LAST, one in five killed after its read;
# each cat's pid is appended to $T/pids as "patient pid".
cat >"$T/loop.sh" <<'SH'
P=$1 T=$2 first=$3 last=$4
exec 3<>"$T/in"                  # read-write: never blocks, never has data
i=$first
while [ "$i" -le "$last" ]; do
	f=$P/p$i/chart.txt
	if [ $((i % 5)) -eq 0 ]; then
		# Its output goes through a pipe: into a regular file cat
		# would copy with copy_file_range, whose record is written
		# after the data lands (before the call returns to cat).
		rm -f "$T/out" "$T/kpid"
		sh -c 'echo $$ >"$0"; exec cat "$1" -' "$T/kpid" "$f" <&3 |
			cat >"$T/out" &
		n=0
		while [ ! -s "$T/out" ] && [ $n -lt 1000 ]; do sleep 0.01; n=$((n + 1)); done
		[ -s "$T/out" ] || echo "p$i" >>"$T/unread"
		pid=$(cat "$T/kpid")
		kill -KILL "$pid"
		wait
	else
		cat "$f" >/dev/null &
		pid=$!
		wait "$pid"
	fi
	echo "p$i $pid" >>"$T/pids"
	i=$((i + 1))
done
SH

# The plain loop: cat on files FIRST..LAST, nothing killed.
cat >"$T/plain.sh" <<'SH'
P=$1 first=$2 last=$3
i=$first
while [ "$i" -le "$last" ]; do
	cat "$P/p$i/chart.txt" >/dev/null || exit 1
	i=$((i + 1))
done
SH

# ms: the monotonic-enough clock in milliseconds.
ms() {
	echo $(($(date +%s%N) / 1000000))
}

# check FIRST LAST KINDS: each file's record once, with an identity among
# KINDS ("verified" or "verified|file-owner"), its cat's pid when verified,
# exe cat and our uid.
check() {
	for i in $(seq "$1" "$2"); do
		rec=$(q --event viewed --patient "p$i" | jq -sc 'map([.pid, .identity, .exe, .uid])')
		[ "$(echo "$rec" | jq length)" = 1 ] || fail "p$i: not exactly one record: $rec"
		want=$(grep "^p$i " "$T/pids" | cut -d' ' -f2)
		kind=$(echo "$rec" | jq -r '.[0][1]')
		echo "$kind" | grep -Eqx "$3" || fail "p$i: identity not $3: $rec"
		pid=$(echo "$rec" | jq '.[0][0]')
		# an adopted file's records carry no pid (nothing verified it)
		[ "$pid" = "$want" ] || { [ "$kind" = file-owner ] && [ "$pid" = null ]; } ||
			fail "p$i: pid is not its cat's ($want): $rec"
		[ "$(echo "$rec" | jq '.[0][3]')" = "$(id -u)" ] || fail "p$i: uid is not $(id -u): $rec"
		[ "$(echo "$rec" | jq -r '.[0][2]')" = "$CAT" ] || fail "p$i: exe is not $CAT: $rec"
	done
}

# check_read: every killed cat had read its file before the kill.
check_read() {
	[ ! -e "$T/unread" ] || fail "cat never read (killed anyway): $(cat "$T/unread")"
}

# A: the collector runs.
start_collector
shim sh "$T/loop.sh" "$P" "$T" 1 40 || fail "loop A failed"
check_read
wait_count 40 --event viewed
check 1 40 verified

# B: the collector is stopped for a whole loop, then started.
stop_collector
shim sh "$T/loop.sh" "$P" "$T" 41 60 || fail "loop B failed"
check_read
start_collector
wait_count 60 --event viewed
check 41 60 file-owner

# C: the collector is SIGKILLed while the loop runs, restarted while it runs.
shim sh "$T/loop.sh" "$P" "$T" 61 100 &
loop=$!
n=0
while [ "$(grep -c '^p[6-9][0-9] ' "$T/pids")" -lt 10 ] && [ $n -lt 400 ]; do sleep 0.02; n=$((n + 1)); done
kill_collector
n=0
while [ "$(grep -c '^p[6-9][0-9] \|^p100 ' "$T/pids")" -lt 20 ] && [ $n -lt 400 ]; do sleep 0.02; n=$((n + 1)); done
start_collector
wait "$loop" || fail "loop C failed"
check_read
wait_count 100 --event viewed
check 61 100 "verified|file-owner"

# with_loginuid CMD...: CMD with login uid 4242 where root may set it
# (unset in this session), else as it is.
with_loginuid() {
	if [ -n "$LOGIN_OK" ]; then
		sh -c 'echo 4242 >/proc/self/loginuid && exec "$@"' sh "$@"
	else
		"$@"
	fi
}
LOGIN_OK=""
sh -c 'echo 4242 >/proc/self/loginuid' 2>/dev/null && LOGIN_OK=1

# D: the collector is frozen for a whole loop (login uid 4242).
kill -STOP "$COLLECTOR_PID"
with_loginuid "$PHITRAIL" run --config "$CONF" -- sh "$T/loop.sh" "$P" "$T" 101 110 ||
	{ kill -CONT "$COLLECTOR_PID"; fail "loop D failed"; }
kill -CONT "$COLLECTOR_PID"
wait_count 110 --event viewed
check 101 110 verified
if [ -n "$LOGIN_OK" ]; then
	# README's limit: a process gone before its claim is read keeps its
	# verified pid and uid but not its login uid (gone from /proc).
	[ "$(jfield '.auid' --event viewed --patient p101)" = null ] ||
		fail "p101: a login uid the collector could not have read"
	[ "$(jfield '.actor_user_id' --event viewed --patient p101)" = "$(id -nu)" ] ||
		fail "p101: actor is not the uid's user"
	# E: a cat still running when its claim is read keeps its login uid.
	mkdir -p "$P/p111"
	echo "chart 111" >"$P/p111/chart.txt"
	exec 3<>"$T/in"
	with_loginuid "$PHITRAIL" run --config "$CONF" -- cat "$P/p111/chart.txt" - <&3 |
		cat >"$T/outE" &
	reader=$!
	wait_count 1 --event viewed --patient p111
	pid=$(jfield '.pid' --event viewed --patient p111)
	auid=$(jfield '.auid' --event viewed --patient p111)
	kill -KILL "$pid"
	wait "$reader"
	[ "$auid" = 4242 ] || fail "p111: login uid not 4242 while the cat ran: $auid"
	[ "$(jfield '.identity' --event viewed --patient p111)" = verified ] ||
		fail "p111: identity not verified"

	# F: busy but running; every cat with login uid 4242 keeps it.
	shim sh "$T/plain.sh" "$P" 141 180 &
	load=$!
	with_loginuid "$PHITRAIL" run --config "$CONF" -- sh "$T/plain.sh" "$P" 121 140 ||
		fail "loop F failed"
	wait "$load" || fail "load loop failed"
	wait_count 171 --event viewed
	for i in $(seq 121 140); do
		[ "$(jfield '.auid' --event viewed --patient "p$i")" = 4242 ] ||
			fail "p$i: login uid lost though the cat exited normally: $(q --event viewed --patient "p$i")"
	done

	# G: frozen; with the login uid each exit waits the bound, without none.
	kill -STOP "$COLLECTOR_PID"
	t0=$(ms)
	with_loginuid "$PHITRAIL" run --config "$CONF" -- sh "$T/plain.sh" "$P" 112 116 ||
		{ kill -CONT "$COLLECTOR_PID"; fail "loop G failed"; }
	t1=$(ms)
	shim sh "$T/plain.sh" "$P" 117 120 || { kill -CONT "$COLLECTOR_PID"; fail "loop G' failed"; }
	t2=$(ms)
	kill -CONT "$COLLECTOR_PID"
	echo "G: collector frozen: 5 cats with login uid 4242 $((t1 - t0)) ms, 4 without $((t2 - t1)) ms"
	[ $((t1 - t0)) -ge 500 ] || fail "cats with a login uid did not wait for the ack ($((t1 - t0)) ms)"
	[ $((t1 - t0)) -lt 5000 ] || fail "cats waited past the bound ($((t1 - t0)) ms for 5)"
	[ $((t2 - t1)) -lt 400 ] || fail "cats without a login uid waited ($((t2 - t1)) ms for 4)"
	wait_count 180 --event viewed
	[ "$(jfield '.auid' --event viewed --patient p112)" = null ] ||
		fail "p112: a login uid the collector could not have read"
fi

expect_count "$([ -n "$LOGIN_OK" ] && echo 180 || echo 110)" --event viewed
[ "$(count --event "Audit Records Lost")" = 0 ] || fail "a loss was reported"
[ "$(count --event "Audit Spool Tampered")" = 0 ] || fail "tampering was reported"
i=0
while ls "$T/spool/incoming" | grep -q . && [ $i -lt 150 ]; do sleep 0.1; i=$((i + 1)); done
[ -z "$(ls "$T/spool/incoming")" ] || fail "files left in incoming/: $(ls "$T/spool/incoming")"
pass
