# Patient ids and paths an attacker picks so that the audit output attacks
# its reader: spreadsheet formulas (=cmd|' /C calc'!A0, + - @ TAB CR
# starts) and terminal escapes (ESC ] 0 ; title BEL, ESC [ 31m, a C1 CSI,
# DEL). Real programs read charts in such directories under the real shim;
# every text output of the CLI (query, tail, stats, report: csv, table,
# text) must hold no raw control byte and no cell a spreadsheet would run,
# while JSON still gives back the exact bytes.
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || skip "python3 is not installed"
setup
start_collector

# The corpus, made by python so every byte is exact; one chart in each.
python3 - "$P" <<'EOF'
import os, sys
names = [
    b"=cmd|' /C calc'!A0",
    b"+1+cmd|' /C notepad'!A0",
    b"-2+3",
    b"@SUM(1+1)*cmd|' /C calc'!A0",
    b"\tx=1",
    b"\rcr",
    b"\x1b]0;owned\x07title",
    b"\x1b[31mred\x1b[0m",
    b"csi\xc2\x9b" b"2J",
    b"del\x7fx",
    b"bell\x07,comma\"quote",
]
for n in names:
    d = os.path.join(sys.argv[1].encode(), n)
    os.makedirs(d)
    with open(os.path.join(d, b"chart.txt"), "wb") as f:
        f.write(b"chart\n")
EOF
[ "$(find "$P" -name chart.txt | wc -l)" = 11 ] || fail "the corpus is not 11 directories"
# Each chart read by cat and by python3 (paths as bytes).
find "$P" -name chart.txt -print0 | xargs -0 "$PHITRAIL" run --config "$CONF" -- cat >/dev/null
shim python3 -c '
import os, sys
for top, dirs, files in os.walk(sys.argv[1].encode()):
    if b"chart.txt" in files:
        open(os.path.join(top, b"chart.txt"), "rb").read()
' "$P"
wait_count 22 --event viewed
[ "$(count --event viewed)" = 22 ] || fail "expected 22 views of hostile charts"

# JSON keeps the exact bytes: every hostile id comes back as it was made
# (the patient is the first directory: "=cmd|' " of "=cmd|' /C calc'!A0").
q --event viewed | python3 -c '
import json, os, sys
want = set(os.listdir(sys.argv[1].encode()))
got = set(json.loads(l)["end_user_id"].encode() for l in sys.stdin)
sys.exit(0 if got == want else "JSON ids %r, made %r" % (sorted(got), sorted(want)))
' "$P" || fail "JSON does not give back the hostile ids"

# check_text NAME FILE: no raw control byte but LF (CR only in CRLF line
# ends), no C1 control, no DEL.
check_text() {
	python3 - "$1" "$2" <<'EOF' || fail "$1 holds a raw control byte"
import sys
name, path = sys.argv[1], sys.argv[2]
data = open(path, "rb").read()
if not data:
    sys.exit("%s: empty" % name)
text = data.replace(b"\r\n", b"\n")
for i, b in enumerate(text):
    if (b < 0x20 and b != 0x0a) or b == 0x7f:
        sys.exit("%s: byte 0x%02x at %d: %r" % (name, b, i, text[max(0, i-20):i+20]))
if b"\xc2\x9b" in text:
    sys.exit("%s: a C1 control" % name)
EOF
}

# check_csv NAME FILE: as check_text, and no cell starts a formula.
check_csv() {
	check_text "$1" "$2"
	python3 - "$1" "$2" <<'EOF' || fail "$1 has a cell a spreadsheet would run"
import csv, sys
name, path = sys.argv[1], sys.argv[2]
rows = list(csv.reader(open(path, newline="", encoding="utf-8", errors="surrogateescape")))
if len(rows) < 2:
    sys.exit("%s: no data rows" % name)
for row in rows:
    for cell in row:
        if cell and cell[0] in "=+-@\t\r":
            sys.exit("%s: cell %r starts a formula" % (name, cell))
EOF
}

run_out() {
	out=$1
	shift
	"$PHITRAIL" "$@" --config "$CONF" >"$T/$out" || fail "phitrail $* failed"
}

run_out query.csv query --event viewed --format csv
check_csv "query csv" "$T/query.csv"
# Neutralised, not dropped: the formula is there as text, the escape as \xHH.
grep -qF "\"'=cmd|' \"" "$T/query.csv" || fail "query csv lacks the neutralised formula"
grep -qF '\x1b]0;owned\x07title' "$T/query.csv" || fail "query csv lacks the escaped OSC title"
grep -qF '\x1b[31mred\x1b[0m' "$T/query.csv" || fail "query csv lacks the escaped colour"
run_out query.table query --event viewed --format table
check_text "query table" "$T/query.table"
grep -q "^22 records" "$T/query.table" || fail "query table: no count line"
# tail follows until interrupted: stopped after 3 s, its first page checked.
timeout -k 5 3 "$PHITRAIL" tail --config "$CONF" -n 30 --event viewed --format csv >"$T/tail.csv"
check_csv "tail csv" "$T/tail.csv"
timeout -k 5 3 "$PHITRAIL" tail --config "$CONF" -n 30 --event viewed --format table >"$T/tail.table"
check_text "tail table" "$T/tail.table"
run_out stats.csv stats --by patient --event viewed --format csv
check_csv "stats csv" "$T/stats.csv"
run_out stats.table stats --by patient --event viewed --format table
check_text "stats table" "$T/stats.table"

me=$(actor_for_uid 0)
run_out actor.txt report actor "$me"
check_text "report actor text" "$T/actor.txt"
run_out actor.csv report actor "$me" --format csv
check_csv "report actor csv" "$T/actor.csv"
for id in "=cmd|' " "$(printf '\033]0;owned\007title')" "$(printf '\033[31mred\033[0m')"; do
	run_out patient.txt report patient "$id"
	check_text "report patient text" "$T/patient.txt"
	[ "$(grep -c 'PHI File Viewed' "$T/patient.txt")" = 2 ] || fail "report patient: not 2 views: $(cat -v "$T/patient.txt")"
	run_out patient.csv report patient "$id" --format csv
	check_csv "report patient csv" "$T/patient.csv"
	[ "$(grep -c 'PHI File Viewed' "$T/patient.csv")" = 2 ] || fail "report patient csv: not 2 views"
done
pass
