# Volume through the real collector (tests/collector/driver.c writes the
# records exactly as the shim does): stats per patient, program and day are
# exact, and paging with --limit/--after walks every record once, in order,
# while another writer keeps inserting.
. "$(dirname "$0")/lib.sh"
command -v jq >/dev/null || skip "jq is not installed"
setup
cc -std=gnu11 -O1 -D_GNU_SOURCE -I"$ROOT/common/format" -I"$ROOT/common/protocol" -o "$T/driver" \
	"$ROOT/tests/collector/driver.c" "$ROOT/common/format/codec.c" "$ROOT"/common/format/record_*.c "$ROOT/common/format/spool.c" \
	-lmsgpackc || fail "cannot build the driver"
start_collector
SOCK=$T/run/ingest.sock

"$T/driver" --tag pre "$SOCK" 500 || fail "driver failed"
wait_count 500 --target '/srv/ehr/pre/**'

# stats: 500 records over p0..p9, 50 each, by one program, on one day.
json=$("$PHITRAIL" stats --config "$CONF" --by patient --target '/srv/ehr/pre/**' --format json)
[ "$(echo "$json" | jq -c '[.total, (.groups | length), ([.groups[].count] | unique)]')" = '[500,10,[50]]' ] ||
	fail "stats by patient: $json"
[ "$(echo "$json" | jq -r '[.groups[].key] | sort | join(",")')" = "p0,p1,p2,p3,p4,p5,p6,p7,p8,p9" ] ||
	fail "stats keys: $json"
[ "$("$PHITRAIL" stats --config "$CONF" --by exe --target '/srv/ehr/pre/**' --format json | jq -c '[.groups[].count]')" = '[500]' ] ||
	fail "stats by exe"
[ "$("$PHITRAIL" stats --config "$CONF" --by day --patient p3 --format csv | tail -n 1 | tr -d '\r' | cut -d, -f2)" = 50 ] ||
	fail "stats by day for p3"
table=$("$PHITRAIL" stats --config "$CONF" --by patient --target '/srv/ehr/pre/**')
echo "$table" | head -n 1 | grep -q '^PATIENT  *RECORDS$' || fail "table heading: $table"
echo "$table" | grep -q '^total  *500$' || fail "table total: $table"
echo "$table" | grep -q '^10 groups$' || fail "table group count: $table"
"$PHITRAIL" stats --config "$CONF" --by week 2>"$T/err" && fail "--by week accepted"
grep -q "actor, patient, event, exe, hour or day" "$T/err" || fail "no list of --by values: $(cat "$T/err")"

# Paging while a second writer inserts 3000 more.
"$T/driver" --sleep-us 300 --tag during "$SOCK" 3000 &
DRIVER=$!
after=0
: >"$T/ids"
pages=0
while :; do
	page=$("$PHITRAIL" query --config "$CONF" --target '/srv/ehr/pre/**' --limit 37 --after "$after" --format json) ||
		fail "page after $after failed"
	[ -z "$page" ] && break
	echo "$page" | jq -r .id >>"$T/ids"
	after=$(echo "$page" | tail -n 1 | jq -r .id)
	pages=$((pages + 1))
	[ $pages -lt 100 ] || fail "paging does not end"
done
# Every page of the whole store too, newest first, while inserts go on.
before=$(q --desc --limit 1 | jq -r .id)
: >"$T/all"
after=$((before + 1))
while :; do
	page=$("$PHITRAIL" query --config "$CONF" --desc --limit 500 --after "$after" --format json) || fail "desc page"
	[ -z "$page" ] && break
	echo "$page" | jq -r .id >>"$T/all"
	after=$(echo "$page" | tail -n 1 | jq -r .id)
done
wait "$DRIVER" || fail "the second writer failed"

[ "$(wc -l <"$T/ids")" = 500 ] || fail "paging saw $(wc -l <"$T/ids") records, not 500"
[ "$(sort -n -u "$T/ids" | wc -l)" = 500 ] || fail "paging saw a record twice"
sort -n -c "$T/ids" || fail "pages are not in id order"
[ "$(wc -l <"$T/all")" = "$before" ] || fail "the newest-first walk saw $(wc -l <"$T/all") of $before records"
[ "$(sort -rn -u "$T/all" | head -n 1)" = "$before" ] || fail "the walk did not start at $before"
sort -rn -c "$T/all" || fail "the newest-first walk is not in order"
wait_count 3000 --target '/srv/ehr/during/**'
[ "$("$PHITRAIL" query --config "$CONF" --count --target '/srv/ehr/pre/**')" = 500 ] ||
	fail "the first 500 changed"
# msgpack: the exact stored bytes, one map per record, nothing else.
"$PHITRAIL" query --config "$CONF" --target '/srv/ehr/pre/**' --limit 3 --format msgpack >"$T/three.mp"
python3 - "$T/three.mp" <<'PY' || fail "--format msgpack is not 3 msgpack maps"
import sys
data = open(sys.argv[1], 'rb').read()
n = 0; i = 0
while i < len(data):
    assert data[i] in (0xde,) or 0x80 <= data[i] <= 0x8f, hex(data[i])
    j = data.find(b'\xde', i + 1)
    i = j if j > 0 else len(data)
    n += 1
assert n >= 3 and data.count(b'workspace_id') == 3, (n, data.count(b'workspace_id'))
PY
pass
