#!/bin/sh
# run.sh - the shim on its own: real programs run under build/libphitrail.so
# with the collector absent (records land in the fallback spool) or with
# tests/shim/fake_collector.py answering the hand-off; every scenario
# compares the records written (tests/shim/spooldump -s, sorted) with what
# it expects. Ends with "N passed, N failed"; exit 1 when any failed.
#
#   sh tests/shim/run.sh            (after make build/libphitrail.so)
#   SHIM=/path/libphitrail.so sh tests/shim/run.sh
set -u
cd "$(dirname "$0")/../.."
root=$PWD
SHIM=${SHIM:-$root/build/libphitrail.so}
[ -f "$SHIM" ] || { echo "no $SHIM: run make first" >&2; exit 2; }
T=$(mktemp -d /tmp/phitrail-shim.XXXXXX)
chmod 755 "$T"
fc_pid=""
trap 'test -n "$fc_pid" && kill "$fc_pid" 2>/dev/null; rm -rf "$T"' EXIT INT TERM

cc -std=gnu11 -O1 -D_GNU_SOURCE -Icommon/format -o "$T/spooldump" tests/shim/spooldump.c \
	common/format/codec.c common/format/record_*.c common/format/spool.c -lmsgpackc -lbsd || exit 2
cc -std=gnu11 -O1 -pthread -o "$T/probe" tests/shim/probe.c || exit 2
cc -shared -fPIC -o "$T/early.so" tests/shim/early_constructor.c || exit 2
cc -O2 -D_FORTIFY_SOURCE=2 -o "$T/fortified" tests/shim/fortified.c || exit 2
cc -O2 -D_GNU_SOURCE -o "$T/every_call" tests/programs/every_call.c || exit 2
cc -O2 -pthread -o "$T/shapes" tests/programs/shapes.c || exit 2
mkdir -p "$T/scratch"
if command -v c++ >/dev/null; then
	c++ -O2 -o "$T/ifstream" tests/programs/ifstream.cc || exit 2
fi

P=$T/x/patients/4711
mkdir -p "$P" "$T/spool/incoming" "$T/active"
chmod 755 "$T/x" "$T/x/patients" "$P"
chmod 1733 "$T/spool/incoming"
conf() { # conf FILE SOCKET ON_DOWN
	cat >"$1" <<EOC
[phitrail]
workspace_id = ws_shim_test
socket = $2
spool = $T/spool
on_collector_down = $3

[rule charts]
files = $T/x/patients/{patient}/**
EOC
}
conf "$T/spool.conf" "$T/absent.sock" spool
conf "$T/deny.conf" "$T/absent.sock" deny
conf "$T/live.conf" "$T/ingest.sock" spool

passed=0
failed=0
reset_chart() {
	printf 'chart of 4711\n' >"$P/chart.txt"
	printf 'b\n' >"$P/b.txt"
	printf 'public\n' >"$T/x/public.txt"
	rm -f "$T"/spool/incoming/* "$T"/active/*
}
records() { # all records, short form, sorted; sed's random temp name folded
	for f in "$T"/spool/incoming/* "$T"/active/*; do
		[ -f "$f" ] && "$T/spooldump" -s "$f"
	done | sed -e "s#$T#T#g" -e 's#/sed[A-Za-z0-9]\{6\}\([|>]\)#/SEDTMP\1#g' | sort
}
# scenario NAME CONFIG EXPECTED CMD...: EXPECTED has one record per line.
scenario() {
	name=$1 config=$2 expected=$3
	shift 3
	reset_chart
	PHITRAIL_CONFIG=$config LD_PRELOAD=$SHIM "$@" >"$T/out" 2>"$T/err"
	printf '%s\n' "$expected" | sed '/^$/d' | sort >"$T/want"
	records >"$T/got"
	if cmp -s "$T/want" "$T/got"; then
		passed=$((passed + 1)); echo "ok   $name"
	else
		failed=$((failed + 1)); echo "FAIL $name"
		diff "$T/want" "$T/got" | sed 's/^/    /'
		sed 's/^/    stderr: /' "$T/err" | head -5
	fi
}
# check NAME COMMAND...: passes when the command succeeds.
check() {
	name=$1
	shift
	if "$@" >/dev/null 2>&1; then
		passed=$((passed + 1)); echo "ok   $name"
	else
		failed=$((failed + 1)); echo "FAIL $name"
	fi
}

S=$T/spool.conf
U=$(id -u)
C=T/x/patients/4711

scenario cat_viewed "$S" "PHI File Viewed|$C/chart.txt|4711|ok|$U" cat "$P/chart.txt"
scenario non_phi_no_record "$S" "" cat "$T/x/public.txt"
scenario head_viewed "$S" "PHI File Viewed|$C/chart.txt|4711|ok|$U" head -1 "$P/chart.txt"
scenario relative_path "$S" "PHI File Viewed|$C/chart.txt|4711|ok|$U" \
	sh -c "cd '$T/x' && cat patients/4711/../4711/chart.txt"
scenario cp_to_phi "$S" "PHI File Viewed|$C/chart.txt|4711|ok|$U
PHI File Created|$C/copy.txt|4711|ok|$U" cp "$P/chart.txt" "$P/copy.txt"
scenario cp_to_public "$S" "PHI File Viewed|$C/chart.txt|4711|ok|$U" \
	cp "$P/chart.txt" "$T/x/out.txt"
scenario sed_in_place "$S" "PHI File Viewed|$C/chart.txt|4711|ok|$U
PHI File Created|$C/SEDTMP|4711|ok|$U
PHI File Permissions Changed|$C/SEDTMP|4711|ok|$U
PHI File Permissions Changed|$C/SEDTMP|4711|ok|$U
PHI File Renamed|$C/SEDTMP>$C/chart.txt|4711|ok|$U" \
	sh -c "sed -i s/chart/CHART/ '$P/chart.txt'"
check sed_changed_content grep -q CHART "$P/chart.txt"
scenario rm_deleted "$S" "PHI File Deleted|$C/b.txt|4711|ok|$U" rm "$P/b.txt"
scenario mv_renamed_out "$S" "PHI File Renamed|$C/b.txt>T/x/b.txt|4711|ok|$U" \
	mv "$P/b.txt" "$T/x/b.txt"
scenario truncate_modified "$S" "PHI File Modified|$C/chart.txt|4711|ok|$U" \
	truncate -s 0 "$P/chart.txt"
scenario python_read_append "$S" "PHI File Viewed|$C/chart.txt|4711|ok|$U
PHI File Modified|$C/chart.txt|4711|ok|$U" python3 -c \
	"open('$P/chart.txt').read(); f = open('$P/chart.txt', 'a'); f.write('x\n'); f.write('y\n'); f.close()"
scenario python_create "$S" "PHI File Created|$C/new.txt|4711|ok|$U" python3 -c \
	"f = open('$P/new.txt', 'w'); f.write('x\n'); f.close()"
# two redirections, two open file descriptions: two records
scenario shell_append_builtin "$S" "PHI File Modified|$C/chart.txt|4711|ok|$U
PHI File Modified|$C/chart.txt|4711|ok|$U" \
	sh -c "echo more >> '$P/chart.txt'; echo more >> '$P/chart.txt'"
scenario shell_append_inherited "$S" "PHI File Viewed|$C/b.txt|4711|ok|$U
PHI File Modified|$C/chart.txt|4711|ok|$U" sh -c "cat '$P/b.txt' >> '$P/chart.txt'"
scenario shell_redirect_in "$S" "PHI File Viewed|$C/chart.txt|4711|ok|$U" \
	sh -c "cat < '$P/chart.txt'"
# fopen alone: Created for a new file, Modified for a truncated one; a
# stream only opened for reading or appending is not yet a use of the chart
scenario fopen_modes "$S" "PHI File Created|$C/f.txt|4711|ok|$U
PHI File Created|$C/public-w.txt|4711|ok|$U
PHI File Modified|$C/public-w.txt|4711|ok|$U" sh -c "printf x >'$P/public-w.txt'; python3 -c \"
import ctypes
c = ctypes.CDLL(None)
c.fopen.restype = ctypes.c_void_p
c.fclose.argtypes = [ctypes.c_void_p]
for p, m in (('$P/chart.txt', b'r'), ('$P/f.txt', b'w'), ('$P/b.txt', b'a'), ('$P/public-w.txt', b'w')):
    c.fclose(c.fopen(p.encode(), m))
\""
# stdio reads and writes through FILE*: one record per stream (every_call)
for step in fread fgets getline getc fgetc getc_unlocked fscanf read_eof \
	fwrite fputs fprintf putc putc_unlocked dprintf fopen_w fdopen; do
	want=$("$T/every_call" "$T/scratch" 2>/dev/null | sed -n "s/^$step|//p")
	scenario "stdio_$step" "$S" "$(echo "$want" | sed "s#^\(PHI [A-Za-z]* [A-Za-z]*\) \(.*\)#\1|$C/\2|4711|ok|$U#")" \
		"$T/every_call" "$P" "$step"
done
scenario stdio_open_no_io "$S" "" "$T/every_call" "$P" open_no_io
scenario tmpfile_not_phi "$S" "" "$T/every_call" "$P" tmpfile
sed 's#^files = .*#files = /tmp/**#' "$S" >"$T/tmp-phi.conf"
# (the program's stdout, redirected to a file under /tmp, is PHI too here)
scenario tmpfile_in_phi_tmp "$T/tmp-phi.conf" "PHI File Modified|/tmp|nil|ok|$U
PHI File Modified|T/out|nil|ok|$U
PHI File Viewed|/tmp|nil|ok|$U" "$T/every_call" "$P" tmpfile
scenario o_tmpfile_linked_in "$S" "PHI File Created|$C/tmpfile_linked.txt>$C|4711|ok|$U" \
	"$T/every_call" "$P" tmpfile_link
scenario sort_reads_stdio "$S" "PHI File Viewed|$C/chart.txt|4711|ok|$U" sort "$P/chart.txt"
scenario awk_writes_stdio "$S" "PHI File Viewed|$C/chart.txt|4711|ok|$U
PHI File Created|$C/out.txt|4711|ok|$U" awk "{ print > \"$P/out.txt\" }" "$P/chart.txt"
if command -v c++ >/dev/null; then
	scenario cxx_ifstream "$S" "PHI File Viewed|$C/chart.txt|4711|ok|$U" \
		"$T/ifstream" "$P/chart.txt"
fi
if command -v sqlite3 >/dev/null; then
	# two transactions: a rollback journal created, given the database's
	# owner (SQLite does that only as root), read and deleted twice
	chown_journal=""
	[ "$(id -u)" = 0 ] && chown_journal="PHI File Permissions Changed|$C/db.sqlite-journal|4711|ok|$U
PHI File Permissions Changed|$C/db.sqlite-journal|4711|ok|$U"
	scenario sqlite3_create "$S" "PHI File Created|$C/db.sqlite|4711|ok|$U
PHI File Viewed|$C/db.sqlite|4711|ok|$U
PHI File Created|$C/db.sqlite-journal|4711|ok|$U
$chown_journal
PHI File Viewed|$C/db.sqlite-journal|4711|ok|$U
PHI File Deleted|$C/db.sqlite-journal|4711|ok|$U
PHI File Created|$C/db.sqlite-journal|4711|ok|$U
PHI File Viewed|$C/db.sqlite-journal|4711|ok|$U
PHI File Deleted|$C/db.sqlite-journal|4711|ok|$U" \
		sqlite3 "$P/db.sqlite" "create table t(a); insert into t values(1);"
	scenario sqlite3_select "$S" "PHI File Viewed|$C/db.sqlite|4711|ok|$U
PHI File Viewed|$C/db.sqlite|4711|ok|$U" sqlite3 "$P/db.sqlite" "select * from t;"
	check sqlite3_select_result grep -qx 1 "$T/out"
	rm -f "$P/db.sqlite"
fi
printf 'secret\n' >"$P/locked.txt"
chmod 000 "$P/locked.txt"
if [ "$U" = 0 ] && command -v setpriv >/dev/null; then
	scenario access_denied "$S" "PHI File Access Denied|$C/locked.txt|4711|EACCES|65534" \
		setpriv --reuid=65534 --regid=65534 --clear-groups cat "$P/locked.txt"
fi
rm -f "$P/locked.txt"
check fortified_calls_chk_names sh -c "nm -D '$T/fortified' | grep -q __open_2 && nm -D '$T/fortified' | grep -q __read_chk"
scenario fortified_viewed "$S" "PHI File Viewed|$C/chart.txt|4711|ok|$U" \
	"$T/fortified" "$P/chart.txt"
scenario before_constructor "$S" "PHI File Viewed|$C/b.txt|4711|ok|$U" \
	env EARLY_FILE="$P/b.txt" LD_PRELOAD="$SHIM $T/early.so" true
scenario threads_one_viewed "$S" "PHI File Viewed|$C/chart.txt|4711|ok|$U" \
	"$T/probe" threads "$P/chart.txt" 16
scenario dup_one_viewed "$S" "PHI File Viewed|$C/chart.txt|4711|ok|$U" \
	"$T/probe" dup "$P/chart.txt"
scenario fork_child_own_spool "$S" "PHI File Viewed|$C/chart.txt|4711|ok|$U
PHI File Viewed|$C/chart.txt|4711|ok|$U
PHI File Viewed|$C/chart.txt|4711|ok|$U" "$T/probe" fork "$P/chart.txt"
check fork_three_spool_files_two_pids sh -c \
	"test \$(ls '$T/spool/incoming' | wc -l) -eq 2"
scenario close_every_fd "$S" "PHI File Viewed|$C/chart.txt|4711|ok|$U
PHI File Viewed|$C/b.txt|4711|ok|$U" "$T/probe" closeall "$P/chart.txt" "$P/b.txt"
check close_every_fd_seq_continues sh -c \
	"cat '$T'/spool/incoming/* | grep -q . && '$T/spooldump' '$T'/spool/incoming/* | grep -q '^1 PHI File Viewed .*b.txt'"
scenario dup2_over_spool "$S" "PHI File Viewed|$C/chart.txt|4711|ok|$U
PHI File Viewed|$C/b.txt|4711|ok|$U" "$T/probe" dup2over "$P/chart.txt" "$P/b.txt"
check dup2_over_spool_exit0 sh -c "PHITRAIL_CONFIG='$S' LD_PRELOAD='$SHIM' '$T/probe' dup2over '$P/chart.txt' '$P/b.txt'"
check errno_kept sh -c "PHITRAIL_CONFIG='$S' LD_PRELOAD='$SHIM' '$T/probe' errno '$P/chart.txt'"
# ---- process shapes ----
threads_expected=$(i=0; while [ $i -lt 8 ]; do j=0; while [ $j -lt 10 ]; do
	echo "PHI File Viewed|$C/t${i}_$j.txt|4711|ok|$U"; j=$((j + 1)); done; i=$((i + 1)); done)
reset_chart
i=0; while [ $i -lt 8 ]; do j=0; while [ $j -lt 10 ]; do
	echo x >"$P/t${i}_$j.txt"; j=$((j + 1)); done; i=$((i + 1)); done
PHITRAIL_CONFIG=$S LD_PRELOAD=$SHIM "$T/shapes" threads "$P" 8 >"$T/out" 2>"$T/err"
printf '%s\n' "$threads_expected" | sort >"$T/want"
records >"$T/got"
check threads_every_record cmp -s "$T/want" "$T/got"
check threads_seq_contiguous sh -c "'$T/spooldump' '$T'/spool/incoming/* | grep -v '^#' | cut -d' ' -f1 | sort -n | tr '\n' ' ' | grep -qx \"\$(seq 0 79 | tr '\n' ' ')\""
rm -f "$P"/t*_*.txt
scenario fork_from_threads "$S" "PHI File Viewed|$C/chart.txt|4711|ok|$U
PHI File Viewed|$C/chart.txt|4711|ok|$U
PHI File Viewed|$C/chart.txt|4711|ok|$U" sh -c "cd '$T/x' && exec timeout 60 '$T/shapes' forkthreads '$P/chart.txt' public.txt"
check fork_from_threads_own_spools sh -c "test \$(ls '$T/spool/incoming' | wc -l) -eq 3"
scenario Fork_child_own_identity "$S" "PHI File Viewed|$C/chart.txt|4711|ok|$U" \
	timeout 20 "$T/shapes" Fork "$P/chart.txt"
check Fork_child_pid_not_parent sh -c "'$T/spooldump' '$T'/spool/incoming/* | grep -q 'Viewed.*exe=$T/shapes' && test \$(ls '$T/spool/incoming' | wc -l) -eq 1"
scenario vfork_parent_state_whole "$S" "PHI File Viewed|$C/chart.txt|4711|ok|$U
PHI File Viewed|$C/b.txt|4711|ok|$U" timeout 20 "$T/shapes" vfork "$P/chart.txt" "$P/b.txt"
scenario exec_scrubbed_env_followed "$S" "PHI File Viewed|$C/chart.txt|4711|ok|$U" \
	timeout 20 "$T/shapes" scrubbed "$P/chart.txt"
scenario execv_after_unsetenv_followed "$S" "PHI File Viewed|$C/chart.txt|4711|ok|$U" \
	timeout 20 "$T/shapes" execv "$P/chart.txt"
scenario fexecve_followed "$S" "PHI File Viewed|$C/chart.txt|4711|ok|$U" \
	timeout 20 "$T/shapes" fexecve "$P/chart.txt"
scenario posix_spawn_and_spawnp_followed "$S" "PHI File Viewed|$C/chart.txt|4711|ok|$U
PHI File Viewed|$C/chart.txt|4711|ok|$U" timeout 20 "$T/shapes" spawn "$P/chart.txt"
scenario system_and_popen_followed "$S" "PHI File Viewed|$C/chart.txt|4711|ok|$U
PHI File Viewed|$C/chart.txt|4711|ok|$U" timeout 20 "$T/shapes" system "$P/chart.txt"
sed 's/^\(on_collector_down.*\)$/\1\nfollow_exec = no/' "$S" >"$T/nofollow.conf"
scenario exec_scrubbed_not_followed_when_off "$T/nofollow.conf" "" \
	timeout 20 "$T/shapes" scrubbed "$P/chart.txt"
scenario high_descriptor_tracked "$S" "PHI File Viewed|$C/chart.txt|4711|ok|$U" \
	"$T/shapes" highfd "$P/chart.txt"
for how in closefrom close_range closeloop; do
	scenario "${how}_keeps_auditing" "$S" "PHI File Viewed|$C/chart.txt|4711|ok|$U
PHI File Viewed|$C/b.txt|4711|ok|$U" "$T/shapes" "$how" "$P/chart.txt" "$P/b.txt"
done
printf 'sig\n' >"$P/sig.txt"
scenario signal_handler_nested_in_wrapper "$S" "PHI File Viewed|$C/sig.txt|4711|ok|$U" \
	timeout 20 "$T/shapes" signal "$P"
rm -f "$P/sig.txt" "$P/fifo"

scenario deny_refuses "$T/deny.conf" "" cat "$P/chart.txt"
check deny_gives_eacces grep -q "Permission denied" "$T/err"
check deny_public_ok sh -c "PHITRAIL_CONFIG='$T/deny.conf' LD_PRELOAD='$SHIM' cat '$T/x/public.txt'"
check deny_rm_not_done sh -c "! PHITRAIL_CONFIG='$T/deny.conf' LD_PRELOAD='$SHIM' rm '$P/b.txt' 2>/dev/null && test -f '$P/b.txt'"
printf '[phitrail]\nnonsense = 1\n' >"$T/broken.conf"
scenario broken_config_passes "$T/broken.conf" "" cat "$P/chart.txt"
check broken_config_output grep -q "chart of 4711" "$T/out"
scenario missing_config_passes "$T/none.conf" "" cat "$P/chart.txt"
check no_output_from_shim sh -c "PHITRAIL_CONFIG='$S' LD_PRELOAD='$SHIM' cat '$P/chart.txt' 2>&1 | cmp -s - '$P/chart.txt'"

# The hand-off with a collector stand-in.
if command -v python3 >/dev/null; then
	python3 tests/shim/fake_collector.py "$T/ingest.sock" "$T/active" ok >"$T/fc.log" 2>&1 &
	fc_pid=$!
	i=0
	while [ ! -S "$T/ingest.sock" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
	scenario handoff_spool_from_collector "$T/live.conf" \
		"PHI File Viewed|$C/chart.txt|4711|ok|$U" cat "$P/chart.txt"
	check handoff_claimed sh -c "grep -q 'claim=ok' '$T/fc.log'"
	check handoff_no_fallback sh -c "test -z \"\$(ls '$T/spool/incoming')\" && test -n \"\$(ls '$T/active')\""
	scenario handoff_reconnect_after_closeall "$T/live.conf" "PHI File Viewed|$C/chart.txt|4711|ok|$U
PHI File Viewed|$C/b.txt|4711|ok|$U" "$T/probe" closeall "$P/chart.txt" "$P/b.txt"
	# The claimed file is mapped: its mapping outlives every descriptor, so
	# the second record goes where the first went (one file).
	check handoff_mapping_outlives_closeall sh -c "test \$(ls '$T/active' | wc -l) -eq 1"
	kill "$fc_pid"; wait "$fc_pid" 2>/dev/null
	python3 tests/shim/fake_collector.py "$T/ingest.sock" "$T/active" silent >"$T/fc.log" 2>&1 &
	fc_pid=$!
	sleep 0.5
	# A collector that never reads: the first record is in the file the
	# process claimed (incoming/, left for the collector), nothing waited.
	scenario handoff_silent_collector "$T/live.conf" \
		"PHI File Viewed|$C/chart.txt|4711|ok|$U" cat "$P/chart.txt"
	check handoff_silent_kept_claim sh -c "ls '$T/spool/incoming' | grep -q '\.claim\$'"
	kill "$fc_pid"; wait "$fc_pid" 2>/dev/null
	fc_pid=""
fi

if command -v valgrind >/dev/null; then
	reset_chart
	check valgrind_cat_clean sh -c "PHITRAIL_CONFIG='$S' LD_PRELOAD='$SHIM' valgrind -q --error-exitcode=9 cat '$P/chart.txt' >/dev/null"
	mkdir -p "$P/vg"
	check valgrind_every_call_clean sh -c "PHITRAIL_CONFIG='$S' LD_PRELOAD='$SHIM' valgrind -q --error-exitcode=9 '$T/every_call' '$P/vg' >/dev/null"
	check valgrind_signal_nested_clean sh -c "printf s >'$P/sig.txt'; PHITRAIL_CONFIG='$S' LD_PRELOAD='$SHIM' valgrind -q --error-exitcode=9 '$T/shapes' signal '$P'"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
