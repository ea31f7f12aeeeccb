#!/bin/sh
# bench/run.sh - phitrail's cost, as ratios against the bare program.
#
#   make bench          full run (about 15 minutes on 2 cores)
#   make bench-quick    every case briefly (under about 2 minutes; for CI)
#   sh bench/run.sh [--quick] [--callgrind] [--big] [--runs N] [--keep]
#                   [--case 1|2|fleet|kernel|forks]   (the calibration and that case alone)
#                   [--phi-dir DIR]  (the PHI tree under DIR, e.g. /dev/shm: by default
#                   it lies beside the non-PHI tree under /tmp, one filesystem)
#   sh bench/run.sh --case scale [--records 1M,10M,50M] [--scale-dir DIR]
#                   [--scale-budget-gb 40] [--verify-timeout-s 1800]
#                   (the store at each size: see bench/scale.py)
#   (--keep leaves the scratch deployments under /tmp/phitrail-bench-*)
#
# Compiles build/bench/fileloop (bench/fileloop.c: open, read 4 KiB, close
# in a bounded loop over 256 files, timed inside the process) and hands over
# to bench/bench.py, which starts scratch collectors under /tmp and runs:
#   1  the loop on files no rule matches, bare vs shim (target <= 1.01)
#   2  the loop on PHI files, bare vs shim: added ns per iteration and per
#      audited call, system calls per iteration (strace -c; target 1.15)
#   3  the PHI loop under strace -f -e trace=%file: strace's added cost over
#      the shim's added cost (target >= 30)
#   4  the PHI loop with 2 and 8 threads; one process per PHI file: forked
#      (open/read/close, exit) and forked+exec'd `cat FILE` as a shell loop
#      runs it (target 1.25 for both; --case forks runs these alone)
#   5  collector ingest (--case 5 alone): records/s stored from 1, 4 and 16 shimmed writer
#      processes, flush = batch and every-record, each into a new store
#   5b a store filled by bench/fillstore (10M records in the full run, 20k
#      quick): the store's own ingest at 0 vs N, collector start-up, 4-writer
#      ingest and case 6 on it; --big [--big-records N (100M)] the same at N
#      (needs ~700 bytes of disk per record; "not measured" when short)
#   6  warm queries: the report of one patient with 100 records among all
#      the others, and a one-day count, against the sqlite3 CLI reading the
#      same store directly (both timed as whole commands)
#   7  memory: the collector's VmHWM after the 16-writer flood vs idle, and
#      the shim's added VmRSS in fileloop after its PHI loop
#   8  fleet (bench/fleet.py): its own nats-server (1 JetStream node quick,
#      3 with replicas 3 full) on free loopback ports; from 1 and 4 writers:
#      host ingest with [forward] vs without (target >= 0.90), records/s
#      acknowledged (forward cursor), the aggregator's rate on a backlog
#      (target >= 100k/s), last host commit -> central store complete (lag);
#      "not measured" when nats-server is missing
#   scale  (--case scale only, bench/scale.py) per store size: fill time,
#      bytes per record (files, and per table and index from dbstat), the
#      store's own and 4-writer ingest, collector start, query --patient warm
#      and cold (page cache dropped, as root), phitrail verify (bounded)
#   9  the kernel safety net (bench/kernel.py; as root): cases 1 and 2 under
#      the shim with the collector's safety net on vs off, and a static
#      fileloop's PHI loop bare (a tree no collector watches) vs watched
#   --callgrind adds cases 1-2 as instruction counts per iteration
#   (valgrind --tool=callgrind, collecting only inside the timed loop).
#
# Discipline: every figure is a ratio against the bare program measured in
# the same run; timed runs alternate bare, shim, bare, shim, ...; the ratio is
# median(shim)/median(bare) with the min-max of the per-pair ratios. After an
# audited run the harness waits for the collector to store the backlog, so
# runs do not compete with it for the CPUs. The shim is preloaded with
# LD_PRELOAD (PHITRAIL_LIB overrides build/libphitrail.so).
#
# Output: a table on stdout (progress on stderr) and build/bench/summary.json
# (date, uname -a, CPU model, every case's numbers, or why it was not
# measured). Exit status 0 unless the harness itself fails.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=$ROOT/build/bench
mkdir -p "$OUT"
CC=${CC:-cc}
if [ ! -x "$OUT/fileloop" ] || [ "$ROOT/bench/fileloop.c" -nt "$OUT/fileloop" ]; then
	$CC -std=gnu11 -O2 -Wall -Wextra -Werror -Wformat=2 -Wshadow -o "$OUT/fileloop" \
		"$ROOT/bench/fileloop.c" -lpthread
fi
# case 9's static program: the same loop, which no preloaded library sees
if [ ! -x "$OUT/fileloop-static" ] || [ "$ROOT/bench/fileloop.c" -nt "$OUT/fileloop-static" ]; then
	$CC -std=gnu11 -O2 -static -o "$OUT/fileloop-static" "$ROOT/bench/fileloop.c" \
		-lpthread 2>/dev/null || rm -f "$OUT/fileloop-static"
fi
command -v python3 >/dev/null || { echo "bench: python3 is needed" >&2; exit 1; }
exec python3 "$ROOT/bench/bench.py" --root "$ROOT" "$@"
