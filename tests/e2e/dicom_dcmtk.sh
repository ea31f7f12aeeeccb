# DICOM with dcmtk: dcmdump reads DICOM files under a `protocol = dicom`
# file rule whose path names no patient: each PHI File Viewed names the
# file's PatientID (found by content, explicit and implicit VR). Then
# storescu sends a file to storescp, both under the shim: the association
# is reported on both sides, and the C-STORE request carrying the dataset
# is one PHI Message Sent (storescu) and one PHI Message Received
# (storescp) with end_user_id = its PatientID.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_net.sh"
for tool in dcmdump storescu storescp dump2dcm; do
	command -v $tool >/dev/null || skip "$tool (dcmtk) is not installed"
done
setup
PORT=$(free_port)
D=$T/dicom
mkdir -p "$D" "$T/other/store"
cat >>"$CONF" <<EOF
[rule dicom-files]
files = $D/**
protocol = dicom

[rule pacs-out]
connect = 127.0.0.1:$PORT
protocol = dicom

[rule pacs-in]
accept = :$PORT
protocol = dicom
EOF
start_collector

DATA=$(cd "$(dirname "$0")/../data/dicom" && pwd)
cp "$DATA/sample-explicit.dcm" "$D/ct-explicit.dcm"
cp "$DATA/sample-implicit.dcm" "$D/ct-implicit.dcm"
# a second patient, generated here with dcmtk
sed 's/^(0010,0020) LO \[4711\]/(0010,0020) LO [8800]/' "$DATA/sample.dump" >"$T/8800.dump"
dump2dcm -e +te "$T/8800.dump" "$D/ct-8800.dcm" || fail "dump2dcm failed"

shim dcmdump "$D/ct-explicit.dcm" >"$T/dump1" || fail "dcmdump failed under the shim"
shim dcmdump "$D/ct-implicit.dcm" >"$T/dump2" || fail "dcmdump failed under the shim"
shim dcmdump "$D/ct-8800.dcm" >"$T/dump3" || fail "dcmdump failed under the shim"
dcmdump "$D/ct-explicit.dcm" | cmp -s - "$T/dump1" || fail "dcmdump printed something else under the shim"
grep -q '(0010,0020) LO \[8800\]' "$T/dump3" || fail "generated file does not hold PatientID 8800"

expect_count 2 --event "PHI File Viewed" --patient 4711 --exe "$(command -v dcmdump)"
expect_count 1 --event "PHI File Viewed" --patient 8800 --exe "$(command -v dcmdump)"

(cd "$T/other/store" && exec "$PHITRAIL" run --config "$CONF" -- storescp -od "$T/other/store" "$PORT" >"$T/storescp.log" 2>&1) &
SCP=$!
track_pid "$SCP"
wait_port "$PORT"
shim storescu 127.0.0.1 "$PORT" "$D/ct-8800.dcm" || fail "storescu failed under the shim"
wait_count 1 --event "PHI Message Received" --patient 8800
stop_pid "$SCP"
ls "$T/other/store" | grep -q . || fail "storescp stored nothing"

expect_count 1 --event "PHI Connection Opened" --rule pacs-out
expect_count 1 --event "PHI Message Sent" --patient 8800 --rule pacs-out
expect_count 1 --event "PHI Message Received" --patient 8800 --rule pacs-in
[ "$(jfield '.detail.message_type' --event 'PHI Message Sent' --patient 8800)" = "C-STORE-RQ" ] ||
	fail "the message sent is not a C-STORE-RQ"
[ "$(jfield '.detail.protocol' --event 'PHI Message Received' --patient 8800)" = "dicom" ] ||
	fail "protocol is not dicom"
# storescu read the file it sent: Viewed, patient by content
expect_count 1 --event "PHI File Viewed" --patient 8800 --exe "$(command -v storescu)"
pass
