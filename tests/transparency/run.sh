#!/bin/sh
# run.sh - transparency on code nobody here wrote: CPython's own regression
# tests (Debian's libpython3.11-testsuite, for /usr/bin/python3.11) run
# bare and then under the shim, with a policy that makes the tests'
# temporary directories PHI (TMPDIR under $T/patients/<run>, rule
# $T/patients/{patient}/**). Passes when every test case passes, fails and
# is skipped alike in both runs and the collector stored records of the
# shimmed run; prints the time ratio. Exit 0 pass, 1 a difference, 77 when
# the test suite is not installed.
#
#   sh tests/transparency/run.sh [TEST...]     (make test-transparency)
set -u
cd "$(dirname "$0")/../.."
ROOT=$PWD
PY=${PHITRAIL_PYTHON:-/usr/bin/python3.11}
BIN=${PHITRAIL_BIN:-$ROOT/build}
export PHITRAIL_LIB=${PHITRAIL_LIB:-$ROOT/build/libphitrail.so}
TESTS=${*:-test_os test_fileio test_io test_shutil test_tempfile test_glob test_subprocess test_threading test_signal}

if ! [ -x "$PY" ] || ! "$PY" -c 'import test.test_os, test.libregrtest' 2>/dev/null; then
	echo "SKIP: $PY with its test suite (Debian package libpython3.11-testsuite) is not installed"
	exit 77
fi
for f in "$BIN/phitraild" "$BIN/phitrail" "$PHITRAIL_LIB"; do
	[ -x "$f" ] || [ -f "$f" ] || { echo "no $f: run make first" >&2; exit 2; }
done

T=/tmp/phitrail-transparency
rm -rf "$T"
mkdir -p "$T/patients/bare" "$T/patients/shim" "$T/run"
chmod 755 "$T" "$T/patients" "$T/run"
CONF=$T/phitrail.conf
cat >"$CONF" <<EOC
[phitrail]
workspace_id = ws_transparency
socket       = $T/run/ingest.sock
query_socket = $T/run/query.sock
database     = $T/db/audit.db
spool        = $T/spool

[rule python-test-tmp]
files = $T/patients/{patient}/**
EOC
collector=""
trap '[ -n "$collector" ] && kill "$collector" 2>/dev/null; wait 2>/dev/null' EXIT INT TERM
"$BIN/phitraild" --config "$CONF" >"$T/collector.log" 2>&1 &
collector=$!
i=0
until "$BIN/phitrail" query --config "$CONF" --count >/dev/null 2>&1; do
	i=$((i + 1))
	[ $i -lt 200 ] || { echo "FAIL: collector did not start"; cat "$T/collector.log"; exit 1; }
	sleep 0.05
done

now() { date +%s.%N; }
# run NAME [PREFIX...]: the test suite with TMPDIR in the patient NAME.
run() {
	name=$1
	shift
	start=$(now)
	(cd "$T/patients/$name" && TMPDIR=$T/patients/$name "$@" "$PY" -m test -j2 \
		--junit-xml "$T/$name.xml" $TESTS >"$T/$name.log" 2>&1)
	end=$(now)
	echo "$start $end" | awk '{ printf "%.1f\n", $2 - $1 }' >"$T/$name.seconds"
	echo "$name run: $(cat "$T/$name.seconds") s, $(tail -n 1 "$T/$name.log")"
}
run bare
run shim "$BIN/phitrail" run --config "$CONF" --

status=0
"$PY" - "$T/bare.xml" "$T/shim.xml" <<'EOP' || status=1
import sys
import xml.etree.ElementTree as ET

def outcomes(path):
    result = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        kind = "passed"
        for child in case:
            if child.tag in ("skipped", "failure", "error"):
                kind = child.tag
        result[case.get("name")] = kind
    return result

bare, shim = outcomes(sys.argv[1]), outcomes(sys.argv[2])
counts = {}
for kind in bare.values():
    counts[kind] = counts.get(kind, 0) + 1
print("bare outcomes:", ", ".join(f"{n} {k}" for k, n in sorted(counts.items())))
differences = [(name, bare.get(name, "absent"), shim.get(name, "absent"))
               for name in sorted(set(bare) | set(shim))
               if bare.get(name) != shim.get(name)]
for name, b, s in differences:
    print(f"DIFFERENT {name}: bare {b}, under the shim {s}")
if not bare:
    print("FAIL: no test cases in the bare run")
    sys.exit(1)
print(f"{len(bare)} test cases, {len(differences)} different")
sys.exit(1 if differences else 0)
EOP

sleep 1
records=$("$BIN/phitrail" query --config "$CONF" --count --patient shim 2>/dev/null || echo 0)
# The bare run has no shim: whatever it stored came from the kernel safety
# net (fanotify, on by default), never from a shim.
"$BIN/phitrail" query --config "$CONF" --patient bare --format json >"$T/bare.jsonl" 2>/dev/null
bare_records=$(wc -l <"$T/bare.jsonl")
bare_shim=$(jq -c 'select(.detail.source != "kernel")' "$T/bare.jsonl" | wc -l)
echo "records of the shimmed run: $records (of the bare run: $bare_records, all from the kernel safety net)"
[ "$records" -gt 0 ] || { echo "FAIL: the shim recorded nothing"; status=1; }
[ "$bare_shim" -eq 0 ] || { echo "FAIL: $bare_shim record(s) of the bare run not from the kernel"; status=1; }
echo "time ratio (shim / bare): $(awk -v s="$(cat "$T/shim.seconds")" -v b="$(cat "$T/bare.seconds")" \
	'BEGIN { printf "%.2f\n", s / b }')"
grep -i "error\|fatal" "$T/collector.log" | head -n 5
[ $status -eq 0 ] && echo PASS || echo FAIL
exit $status
