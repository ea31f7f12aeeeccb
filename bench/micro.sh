#!/bin/sh
# bench/micro.sh - instructions per call of the shim's per-call work in
# common/ (CRC-32C, record encoding, path matching), counted by callgrind.
#
#   sh bench/micro.sh [CASE...]     (default: every case)
#
# Compiles build/bench/micro_common (bench/micro_common.c with the common/
# sources it needs, -O2 -fPIC as in the shim) and runs each case under
# valgrind --tool=callgrind, collecting only inside the case's loop; prints
# "CASE INSTRUCTIONS-PER-CALL". Counts are repeatable, unlike wall-clock
# times on a shared machine. See micro_common.c for what each case does.
# MICRO_CFLAGS=-UMICRO_NEW_API builds only the cases the older common/ API
# had (crc frame encode match-nonphi match-phi), for before/after figures.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=$ROOT/build/bench
mkdir -p "$OUT"
CC=${CC:-cc}
ITERATIONS=10000
CASES=${*:-"crc crc-table frame encode encode-prefix match-nonphi quick-nonphi match-phi under-nonphi raw-nonphi"}
command -v valgrind >/dev/null || { echo "micro: valgrind is needed" >&2; exit 1; }
# shellcheck disable=SC2086
$CC -std=gnu11 -O2 -g -fPIC -D_GNU_SOURCE -Wall -Wextra -Werror -Wformat=2 -Wshadow \
	-Wno-unused-parameter ${MICRO_CFLAGS:--DMICRO_NEW_API} -I"$ROOT/common/format" -I"$ROOT/common/policy" \
	$(pkg-config --cflags msgpack 2>/dev/null) -o "$OUT/micro_common" \
	"$ROOT/bench/micro_common.c" "$ROOT/common/format/spool.c" "$ROOT/common/format/codec.c" "$ROOT/common/format/record_schema.c" "$ROOT/common/format/record_encode.c" \
	"$ROOT/common/policy/pathglob.c" "$ROOT"/common/policy/config*.c "$ROOT/common/policy/netaddr.c" \
	-lmsgpackc -linih -lbsd
for c in $CASES; do
	f=$OUT/micro.callgrind.$c
	fn=case_$(echo "$c" | sed 's/-nonphi$//; s/-phi$//; s/-/_/g')
	valgrind --tool=callgrind --callgrind-out-file="$f" \
		--toggle-collect="$fn*" "$OUT/micro_common" "$c" >/dev/null 2>"$f.log" ||
		{ echo "micro: $c failed (see $f.log)" >&2; exit 1; }
	total=$(sed -n 's/^summary: *//p' "$f")
	echo "$c $((total / ITERATIONS))"
done
