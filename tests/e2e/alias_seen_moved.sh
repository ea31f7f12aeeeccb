# A file the shim already found outside every rule (and so remembers, by
# device, inode, mount and ctime) is moved into a patient's folder by
# another program; the same process then reads it through a symlink
# outside the tree: one Viewed for the patient, as for a file never seen
# (and no detail.inode: it has one name). The control file, read the same
# way before and after, leaves nothing.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/alias.inc"
py=/usr/bin/python3
[ -x "$py" ] || py=python3
command -v "$py" >/dev/null || skip "no python3"
alias_setup
start_collector
mkdir -p "$T/other/stage"
printf 'Name: John Roe\nDx: asthma\n' >"$T/other/stage/c.txt"
rm -f "$REAL"
ln -s "$P/p9" "$T/other/link"
mkfifo "$T/go"
sleep 0.3                      # older than the shim's settling time
shim "$py" -c '
import sys
t = sys.argv[1]
for _ in range(3):             # seen outside, then remembered
    open(t + "/other/stage/c.txt").read()
    open(t + "/other/control.txt").read()
open(t + "/seen", "w").close()
open(t + "/go").read()         # until the file has been moved
sys.stdout.write(open(t + "/other/link/c.txt").read())
open(t + "/other/control.txt").read()
' "$T" >"$T/out" &
pid=$!
i=0
while [ ! -e "$T/seen" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
[ -e "$T/seen" ] || { kill $pid; fail "python3 did not read the files"; }
mv "$T/other/stage/c.txt" "$REAL"
echo go >"$T/go"
wait $pid || fail "python3 failed under the shim"
alias_same "$REAL" "$T/out"
alias_expect "$T/other/link/c.txt"
[ "$(jfield .detail.inode --rule charts)" = null ] ||
	fail "detail.inode set for a file with one name"
pass
