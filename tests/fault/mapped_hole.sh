# A spool file left by a mapped writer that died while some of its threads
# were between reserving a frame and publishing it: a zero length word with
# valid frames after it, once with the payload already copied in and once
# with nothing written, and at the end a frame never published followed by
# the preallocated zero tail. The collector stores every valid frame, skips
# each unpublished one and reports it lost ("Audit Records Lost"), takes the
# zero tail for the end (not a loss), reports no tampering, and deletes the
# file. The file is made by hand (tests/fault/forge.py's encoders) as a
# fallback spool file whose writer is gone.
. "$(dirname "$0")/../e2e/lib.sh"
setup
start_collector
python3 - "$ROOT/tests/fault" "$T/spool" <<'PY' || fail "cannot write the spool file"
import os, struct, sys
sys.path.insert(0, sys.argv[1])
import forge
spool = sys.argv[2]
def unpublished(payload):
    f = forge.frame(payload)
    return b"\0\0\0\0" + f[4:]           # bytes copied, length word not
body = forge.header(999999, os.getuid(), os.getgid(), 12345, 0x2)
body += forge.frame(forge.record("4711", 0)) + forge.frame(forge.record("4711", 1))
body += unpublished(forge.record("4711", 2))
body += forge.frame(forge.record("4711", 3)) + forge.frame(forge.record("4711", 4))
body += b"\0" * len(forge.frame(forge.record("4711", 5)))   # reserved, nothing written
body += forge.frame(forge.record("4711", 6))
body += unpublished(forge.record("4711", 7))
body += b"\0" * 65536                                       # preallocated end
path = "%s/incoming/999999.12345.hole.spool" % spool
with open(path + ".tmp", "wb") as f:
    f.write(body)
os.rename(path + ".tmp", path)
PY
wait_count 5 --event viewed --patient 4711
sleep 1.5
settle
expect_count 5 --event viewed --patient 4711
[ "$(jfield '.seq' --event viewed --patient 4711 | sort -n | tr '\n' ' ')" = "0 1 3 4 6 " ] ||
	fail "not the valid frames: $(jfield '.seq' --event viewed --patient 4711 | tr '\n' ' ')"
lost=$(jfield '.detail.count' --event "Audit Records Lost" | awk '{ s += $1 } END { print s + 0 }')
[ "$lost" = 3 ] || fail "reported lost: $lost, expected 3 (seq 2, 5 and 7)"
[ "$(count --event "Audit Spool Tampered")" = 0 ] || fail "tampering was reported"
i=0
while [ -n "$(find "$T/spool/incoming" -type f)" ] && [ $i -lt 40 ]; do sleep 0.1; i=$((i + 1)); done
[ -z "$(find "$T/spool/incoming" -type f)" ] || fail "the file was not deleted once read"
pass
