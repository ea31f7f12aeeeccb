#!/bin/sh
# Runs every phitrail test and ends with one line "N passed, N failed".
#
#   unit:  build/tests/test_*      each prints PASS/FAIL lines, one per test
#   fuzz:  build/fuzz/fuzz_*       a short run over the seed corpus (smoke)
#   e2e:   tests/e2e/*.sh          real programs under the real shim, a real
#                                  collector (ASan/UBSan build), real store
#
# Options: -k PATTERN runs only e2e scripts whose name contains PATTERN;
# --no-fuzz skips the fuzz smoke runs; FUZZ_SECONDS (default 5) per target;
# --quick (make test-quick): no fuzzing, unit tests from build/tests-quick
# and the collector and CLI of build/ (no sanitizers).
# Each part starts with a "== ..." line; the line before the last says how
# long it all took (from PHITRAIL_TEST_STARTED, epoch seconds, when make
# passes it, so the builds count too).
# An e2e script exits 0 for pass, 77 for skip, anything else for fail.
set -u
cd "$(dirname "$0")/.."

pattern=""
fuzz=1
unit_dir=build/tests
started=${PHITRAIL_TEST_STARTED:-$(date +%s)}
while [ $# -gt 0 ]; do
	case "$1" in
	-k) pattern="$2"; shift 2 ;;
	--no-fuzz) fuzz=0; shift ;;
	--quick)
		fuzz=0
		unit_dir=build/tests-quick
		PHITRAIL_BIN=${PHITRAIL_BIN:-$PWD/build}
		PHITRAILD=${PHITRAILD:-$PWD/build/phitraild}
		export PHITRAIL_BIN PHITRAILD
		shift ;;
	*) echo "usage: tests/run.sh [-k PATTERN] [--no-fuzz] [--quick]" >&2; exit 2 ;;
	esac
done

passed=0
failed=0
skipped=0
failures=""
log_dir=build/test-logs
mkdir -p "$log_dir"

note_fail() {
	failed=$((failed + 1))
	failures="$failures $1"
}

if [ -z "$pattern" ]; then
	echo "== unit tests ($unit_dir)"
	for t in "$unit_dir"/test_*; do
		[ -x "$t" ] || continue
		name=$(basename "$t")
		out="$log_dir/$name.log"
		"$t" >"$out" 2>&1
		rc=$?
		p=$(grep -c '^PASS ' "$out")
		f=$(grep -c '^FAIL ' "$out")
		passed=$((passed + p))
		if [ "$f" -gt 0 ] || [ "$rc" -ne 0 ]; then
			[ "$f" -eq 0 ] && f=1
			failed=$((failed + f))
			failures="$failures $name"
			echo "FAIL unit $name (see $out)"
			grep -v '^PASS ' "$out" | head -n 20
		else
			echo "ok   unit $name ($p tests)"
		fi
	done

	if [ "$fuzz" = 1 ]; then
		secs=${FUZZ_SECONDS:-5}
		echo "== fuzz smoke runs (${secs}s per target)"
		for f in build/fuzz/fuzz_*; do
			[ -x "$f" ] || continue
			name=$(basename "$f")
			corpus=tests/fuzz/corpus/$name
			work=$(mktemp -d)
			[ -d "$corpus" ] && cp -r "$corpus"/. "$work"/ 2>/dev/null
			if "$f" -max_total_time="$secs" -rss_limit_mb=2048 \
				-artifact_prefix="$log_dir/$name-" "$work" \
				>"$log_dir/$name.log" 2>&1; then
				passed=$((passed + 1))
				echo "ok   fuzz $name (${secs}s)"
			else
				note_fail "$name"
				echo "FAIL fuzz $name (see $log_dir/$name.log)"
				tail -n 20 "$log_dir/$name.log"
			fi
			rm -rf "$work"
		done
	fi
fi

# Suites that check one part against real programs and print their own
# "N passed, N failed" line: the shim alone (fallback spool, a stand-in
# collector) and the collector alone (a stand-in shim that also misbehaves).
if [ -z "$pattern" ]; then
	echo "== suites: the shim alone, the collector alone"
	for s in tests/shim/run.sh tests/collector/collector_e2e.sh; do
		[ -f "$s" ] || continue
		name=$(basename "$(dirname "$s")")
		out="$log_dir/suite-$name.log"
		sh "$s" >"$out" 2>&1
		rc=$?
		line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$out" | tail -n 1)
		p=$(echo "$line" | sed -n 's/^\([0-9]*\) passed.*/\1/p')
		f=$(echo "$line" | sed -n 's/.*passed, \([0-9]*\) failed.*/\1/p')
		# a suite without the summary line prints PASS/FAIL lines
		[ -n "$p" ] || p=$(grep -c '^PASS ' "$out")
		[ -n "$f" ] || f=$(grep -c '^FAIL ' "$out")
		if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
		passed=$((passed + p))
		if [ "$f" -gt 0 ]; then
			failed=$((failed + f))
			failures="$failures suite-$name"
			echo "FAIL suite $name: $line (see $out)"
			grep -iE 'fail' "$out" | head -n 20
		else
			echo "ok   suite $name ($p checks)"
		fi
	done
fi

# run_e2e SCRIPT OUT: runs it in a session of its own; a process of that
# session still alive 2 s after the script ended (a server it did not stop)
# is listed, killed, and fails the test (status 99). A script still running
# after E2E_LIMIT_S seconds (default 1200) is killed with its process
# group and fails, so one hung program cannot hold the whole run.
e2e_limit_s=${E2E_LIMIT_S:-1200}
run_e2e() {
	setsid sh "$1" >"$2" 2>&1 &
	sid=$!
	sh -c 'sleep "$1" && kill -KILL -"$2" 2>/dev/null &&
		echo "FAIL: still running after $1 s: stopped" >>"$3"' \
		watchdog "$e2e_limit_s" "$sid" "$2" &
	dog=$!
	wait "$sid"
	rc=$?
	pkill -KILL -P "$dog" sleep 2>/dev/null
	wait "$dog" 2>/dev/null
	i=0
	while [ -n "$(ps -o pid= -s "$sid")" ] && [ $i -lt 20 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	left=$(ps -o pid=,args= -s "$sid")
	if [ -n "$left" ]; then
		echo "FAIL: processes left behind by the test:" >>"$2"
		echo "$left" >>"$2"
		ps -o pid= -s "$sid" | xargs -r kill -KILL 2>/dev/null
		rc=99
	fi
	return "$rc"
}

echo "== end-to-end and fault scenarios"
for t in tests/e2e/*.sh tests/fault/*.sh; do
	name=$(basename "$t" .sh)
	[ "$name" = lib ] && continue
	case "$name" in *"$pattern"*) ;; *) continue ;; esac
	out="$log_dir/e2e-$name.log"
	run_e2e "$t" "$out"
	rc=$?
	if [ "$rc" -eq 0 ]; then
		passed=$((passed + 1))
		echo "ok   e2e  $name"
	elif [ "$rc" -eq 77 ]; then
		skipped=$((skipped + 1))
		echo "skip e2e  $name: $(tail -n 1 "$out")"
	else
		note_fail "$name"
		echo "FAIL e2e  $name (see $out)"
		tail -n 30 "$out"
	fi
done

[ -n "$failures" ] && echo "failed:$failures"
took=$(($(date +%s) - started))
echo "took $((took / 60))m $((took % 60))s"
if [ "$skipped" -gt 0 ]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
