# The ATNA sink ([syslog]) against a real rsyslog with rsyslog-gnutls on
# loopback: test certificates made here with certtool (two CAs, the
# receiver's certificate for 127.0.0.1, a client certificate rsyslog
# requires), rsyslog started with its own configuration, pid file, work
# directory and output file on a free port (imtcp, gtls stream driver,
# mode 1, x509/certvalid).
# 0. With the other CA as tls_ca the collector sends nothing; with the
#    right one (and a restart) the record made meanwhile goes out.
# 1. Real programs under the shim make PHI records; every stored record
#    arrives in rsyslog's output exactly once as well-formed DICOM audit
#    XML with the patient, event id and action of the mapping
#    (tests/programs/atna_check.py).
# 2. rsyslog is stopped 100 ms after a burst of 8 records, inside the
#    sink's settle time, more records are made, rsyslog is started again:
#    every record arrives (kept behind the committed cursor, not dropped),
#    those made while it was down exactly once. Records sent just before
#    the stop may arrive twice (RFC 5425 has no acknowledgement, so
#    unsettled frames are sent again after the reconnect): the check
#    allows that only for records made before the stop, and prints how
#    many there were.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_net.sh"
RSYSLOGD=$(command -v rsyslogd || echo /usr/sbin/rsyslogd)
[ -x "$RSYSLOGD" ] || skip "rsyslogd (rsyslog) is not installed"
[ -f /usr/lib/x86_64-linux-gnu/rsyslog/lmnsd_gtls.so ] ||
	ls /usr/lib/*/rsyslog/lmnsd_gtls.so >/dev/null 2>&1 ||
	skip "rsyslog-gnutls (lmnsd_gtls) is not installed"
command -v certtool >/dev/null || skip "certtool (gnutls-bin) is not installed"
command -v dcmdump >/dev/null || skip "dcmdump (dcmtk) is not installed"

setup
RSYSLOG_PID=""
stop_rsyslog() {
	[ -n "$RSYSLOG_PID" ] || return 0
	kill -TERM "$RSYSLOG_PID" 2>/dev/null
	wait "$RSYSLOG_PID" 2>/dev/null
	RSYSLOG_PID=""
}
trap 'stop_rsyslog; cleanup' EXIT
CHECK=$ROOT/tests/programs/atna_check.py
R=$T/rsyslog
mkdir -p "$R/work"

# ---- certificates ----
printf 'cn = "phitrail test CA"\nca\ncert_signing_key\nexpiration_days = 2\n' >"$R/ca.tmpl"
printf 'cn = "127.0.0.1"\nip_address = "127.0.0.1"\ntls_www_server\nexpiration_days = 2\n' >"$R/server.tmpl"
printf 'cn = "phitraild test client"\ntls_www_client\nexpiration_days = 2\n' >"$R/client.tmpl"
for who in ca other-ca server client; do
	certtool --generate-privkey --key-type=ecdsa --outfile "$R/$who.key" 2>/dev/null ||
		fail "certtool could not make the $who key"
done
for ca in ca other-ca; do
	certtool --generate-self-signed --load-privkey "$R/$ca.key" --template "$R/ca.tmpl" \
		--outfile "$R/$ca.pem" 2>/dev/null || fail "certtool: $ca"
done
for who in server client; do
	certtool --generate-certificate --load-privkey "$R/$who.key" --load-ca-certificate \
		"$R/ca.pem" --load-ca-privkey "$R/ca.key" --template "$R/$who.tmpl" \
		--outfile "$R/$who.pem" 2>/dev/null || fail "certtool: $who certificate"
done
# Started as root, the collector's store process reads the client key as
# the phitrail user, as under the unit: the key is that group's, 0640.
if [ "$(id -u)" = 0 ] && getent group phitrail >/dev/null; then
	chgrp phitrail "$R/client.key" && chmod 0640 "$R/client.key" ||
		fail "cannot give the client key to the phitrail group"
fi

# ---- rsyslog ----
PORT=$(free_port)
cat >"$R/rsyslog.conf" <<EOF
global(workDirectory="$R/work" maxMessageSize="128k"
       defaultNetstreamDriver="gtls"
       defaultNetstreamDriverCAFile="$R/ca.pem"
       defaultNetstreamDriverCertFile="$R/server.pem"
       defaultNetstreamDriverKeyFile="$R/server.key")
module(load="imtcp" StreamDriver.Name="gtls" StreamDriver.Mode="1"
       StreamDriver.AuthMode="x509/certvalid")
input(type="imtcp" address="127.0.0.1" port="$PORT")
template(name="atna" type="string" string="%hostname% %app-name% %msgid% %msg%\n")
*.* action(type="omfile" file="$R/out.log" template="atna")
EOF
start_rsyslog() {
	"$RSYSLOGD" -n -f "$R/rsyslog.conf" -i "$R/rsyslog.pid" >>"$R/rsyslog.log" 2>&1 &
	RSYSLOG_PID=$!
	wait_port "$PORT"
}
start_rsyslog

cat >>"$CONF" <<EOF

[rule dicom-files]
files = $T/dicom/**
protocol = dicom

[syslog]
server = 127.0.0.1:$PORT
tls_ca = $R/other-ca.pem
tls_cert = $R/client.pem
tls_key = $R/client.key
stall_time = 5
EOF

# ---- phase 0: a receiver whose certificate another CA signed: nothing is
# sent, the records wait; the right CA and a collector restart send them
# from the committed cursor ----
mkdir -p "$P/4711" "$P/5822" "$T/dicom"
printf 'chart\n' >"$P/4711/chart.txt"
start_collector
shim cat "$P/4711/chart.txt" >/dev/null || fail "cat failed"
i=0
until grep -q "certificate is not trusted for 127.0.0.1" "$T/collector.log"; do
	i=$((i + 1))
	[ $i -lt 100 ] || fail "the collector did not refuse a receiver of another CA"
	sleep 0.1
done
[ -s "$R/out.log" ] && fail "something was sent to a receiver whose certificate is not trusted"
stop_collector
sed -i "s|^tls_ca = $R/other-ca.pem|tls_ca = $R/ca.pem|" "$CONF"
start_collector

# records: the store file read directly (no collector query, which would
# add an "Audit Trail Queried" record each time)
stored() {
	"$PHITRAIL" query --db "$T/db/audit.db" --format json "$@"
}
# wait_arrived N: up to 30 s until rsyslog's output names record ids 1..N.
wait_arrived() {
	i=0
	while [ $i -lt 300 ]; do
		if [ -f "$R/out.log" ] && python3 -c 'import re,sys
ids = set(int(m) for m in re.findall(r"ParticipantObjectID=\"(\d+)\" ParticipantObjectTypeCode=\"2\" ParticipantObjectTypeCodeRole=\"13\"", open(sys.argv[1], errors="replace").read()))
sys.exit(0 if all(i in ids for i in range(1, int(sys.argv[2]) + 1)) else 1)' "$R/out.log" "$1"; then
			return 0
		fi
		sleep 0.1
		i=$((i + 1))
	done
	tail -n 5 "$R/rsyslog.log"
	fail "records 1..$1 did not all reach rsyslog within 30 s"
}

# ---- phase 1: receiver up ----
odd=$(printf '%s/5822/a"b<c>&d\\e\001f\377g\342\202\254.txt' "$P")
printf 'odd\n' >"$odd"
cp "$ROOT/tests/data/dicom/sample-explicit.dcm" "$T/dicom/ct.dcm"
shim cat "$P/4711/chart.txt" "$odd" >/dev/null || fail "cat failed"
shim sh -c "echo more >> '$P/4711/chart.txt'" || fail "append failed"
shim cp "$P/4711/chart.txt" "$P/4711/copy.txt" || fail "cp failed"
shim rm "$P/4711/copy.txt" || fail "rm failed"
shim dcmdump "$T/dicom/ct.dcm" >/dev/null || fail "dcmdump failed"
wait_count 1 --event "PHI File Deleted"
wait_count 1 --patient 4711 --exe "$(command -v dcmdump)"
settle
stored >"$T/phase1.jsonl"
n1=$(wc -l <"$T/phase1.jsonl")
wait_arrived "$n1"
python3 "$CHECK" "$R/out.log" "$T/phase1.jsonl" --dicom-rule dicom-files ||
	fail "phase 1: rsyslog's output does not hold every record exactly once, as mapped"
grep -q 'ParticipantObjectID="4711" ParticipantObjectTypeCode="1" ParticipantObjectTypeCodeRole="1"' \
	"$R/out.log" || fail "no patient object for 4711"
grep -q 'csd-code="110103"' "$R/out.log" || fail "the DICOM read is not 110103"

# ---- phase 2: receiver stopped just after a burst, records made while it
# is down, receiver back ----
mkdir -p "$P/7000"
for k in 1 2 3 4 5 6 7 8; do printf 'burst\n' >"$P/7000/n$k.txt"; done
shim sh -c "for k in 1 2 3 4 5 6 7 8; do cat '$P/7000/n'\$k.txt; done" >/dev/null
wait_count 8 --patient 7000
sleep 0.1                       # inside the sink's 300 ms settle time
stop_rsyslog
burst_last=$(stored | jq -s 'map(.id) | max')   # every record made before the stop
mkdir -p "$P/6933"
for k in 1 2 3 4 5; do
	printf 'note %s\n' "$k" >"$P/6933/note$k.txt"
	shim cat "$P/6933/note$k.txt" >/dev/null || fail "cat failed while rsyslog was down"
done
wait_count 5 --patient 6933
sleep 2                         # the sink has tried and is waiting
grep -q "records wait in the store\|connection to 127.0.0.1:$PORT broke" "$T/collector.log" ||
	fail "the collector did not say the receiver was down"
# stall_time = 5: the trail itself says the sink stalled.
i=0
until [ "$(count --event "Audit Forwarding Stalled" 2>/dev/null)" = 1 ]; do
	i=$((i + 1)); [ $i -lt 150 ] || fail "no Audit Forwarding Stalled record while the receiver was down"
	sleep 0.1
done
[ "$(jfield '.target' --event "Audit Forwarding Stalled")" = "forward:syslog" ] ||
	fail "the stall record does not name the sink"
[ "$(jfield '.detail.backlog' --event "Audit Forwarding Stalled")" -ge 5 ] ||
	fail "the stall record's backlog is not the records made while the receiver was down"
backlog=$("$PHITRAIL" status --config "$CONF" --format json | jq '[.forwarders[] | select(.name == "syslog") | .backlog] | first')
[ "${backlog:-0}" != null ] && [ "${backlog:-0}" -ge 5 ] ||
	fail "status shows no syslog backlog while the receiver is down (backlog: $backlog)"
start_rsyslog
settle
stored >"$T/phase2.jsonl"
n2=$(wc -l <"$T/phase2.jsonl")
wait_arrived "$n2"
# Records up to the burst may come twice (sent, not yet settled, sent
# again after the reconnect); none may be missing, and the ones made while
# rsyslog was down come exactly once.
python3 "$CHECK" "$R/out.log" "$T/phase2.jsonl" --dicom-rule dicom-files \
	--once-after "$burst_last" ||
	fail "phase 2: a record is missing, or one made while rsyslog was down came twice"
[ "$(grep -c 'ParticipantObjectID="6933" ParticipantObjectTypeCode="1"' "$R/out.log")" = 5 ] ||
	fail "the 5 records of patient 6933 did not arrive once each"
i=0
until [ "$("$PHITRAIL" status --config "$CONF" --format json | jq '[.forwarders[] | select(.name == "syslog") | .backlog] | first')" = 0 ]; do
	i=$((i + 1)); [ $i -lt 100 ] || fail "status still shows a syslog backlog after every record arrived"
	sleep 0.1
done

stop_collector
grep -q "syslog: shipped through id" "$T/collector.log" || fail "no shipping summary at stop"
pass
