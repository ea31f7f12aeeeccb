#!/bin/sh
# bench/pathloop.sh - user-space instructions per call that the shim adds
# to calls that name a file without opening it, on files no rule matches
# (bench/pathloop.c), counted by callgrind: bare, then under the shim with
# the PHI tree on the same filesystem as the files (/tmp here), then with
# the PHI tree on another filesystem (/dev/shm, when it is one).
#
#   sh bench/pathloop.sh [N]          (N files per call kind, default 2000)
#
# Prints "OP WHERE INSTRUCTIONS-PER-CALL SYSTEM-CALLS-PER-CALL" (the
# latter by strace: a run over 200 files less one over 100, when strace is
# there). No collector is needed: nothing
# is PHI, so nothing is recorded. PHITRAIL_LIB overrides the shim.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=$ROOT/build/bench
LIB=${PHITRAIL_LIB:-$ROOT/build/libphitrail.so}
N=${1:-2000}
command -v valgrind >/dev/null || { echo "pathloop: valgrind is needed" >&2; exit 1; }
mkdir -p "$OUT"
${CC:-cc} -std=gnu11 -O2 -g -Wall -Wextra -Werror -o "$OUT/pathloop" "$ROOT/bench/pathloop.c"
T=$(mktemp -d /tmp/phitrail-pathloop.XXXXXX)
S=$(mktemp -d /dev/shm/phitrail-pathloop.XXXXXX 2>/dev/null || echo "")
trap 'rm -rf "$T" ${S:+"$S"}' EXIT INT TERM
mkdir -p "$T/files" "$T/spool" "$T/patients"
conf() { # conf FILE ROOT
	cat >"$1" <<EOC
[phitrail]
workspace_id = ws_bench
socket = $T/ingest.sock
spool = $T/spool

[rule charts]
files = $2/{patient}/**
EOC
}
conf "$T/same.conf" "$T/patients"
where="bare same"
if [ -n "$S" ] && [ "$(stat -c %d "$S")" != "$(stat -c %d "$T")" ]; then
	mkdir -p "$S/patients"
	conf "$T/other.conf" "$S/patients"
	where="$where other"
fi
for op in stat chmod rename unlink; do
	for w in $where; do
		f=$OUT/pathloop.callgrind.$op.$w
		if [ "$w" = bare ]; then
			set -- env
		else
			set -- env LD_PRELOAD="$LIB" PHITRAIL_CONFIG="$T/$w.conf"
		fi
		"$@" valgrind --tool=callgrind --callgrind-out-file="$f" \
			--toggle-collect="pathloop_$op" "$OUT/pathloop" "$op" \
			"$T/files" "$N" >/dev/null 2>"$f.log" ||
			{ echo "pathloop: $op $w failed (see $f.log)" >&2; exit 1; }
		total=$(sed -n 's/^summary: *//p; s/^totals: *//p' "$f" | head -n 1)
		calls=""
		if command -v strace >/dev/null; then
			# system calls one call made: a run of 200 files less one of 100
			for k in 100 200; do
				"$@" strace -f -qq -o "$f.strace.$k" "$OUT/pathloop" "$op" \
					"$T/files" "$k" >/dev/null 2>&1 || true
			done
			calls=$(( ($(wc -l <"$f.strace.200") - $(wc -l <"$f.strace.100")) / 100 - 4 ))
			rm -f "$f.strace.100" "$f.strace.200"
		fi
		echo "$op $w $((total / N)) ${calls:+$calls}"
	done
done
