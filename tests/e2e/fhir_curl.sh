# FHIR over HTTP/1.1: curl under the shim fetches /fhir/Patient/4711 and
# /fhir/Observation?patient=4711 from python3 -m http.server (serving files
# from a temp dir), which runs under the shim too. The client reports the
# requests it sent (GET Patient, GET Observation) and the responses it
# received (200 Patient, 200 Bundle); the server the requests it received
# and the responses it sent; every message names patient 4711.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_net.sh"
command -v curl >/dev/null || skip "curl is not installed"
setup
PORT=$(free_port)
cat >>"$CONF" <<EOF
[rule fhir-client]
connect = 127.0.0.1:$PORT
protocol = fhir

[rule fhir-server]
accept = 127.0.0.1:$PORT
protocol = fhir
EOF
start_collector

W=$T/www
mkdir -p "$W/fhir/Patient"
printf '{"resourceType":"Patient","id":"4711","name":[{"family":"Doe","given":["Jane"]}],"birthDate":"1961-02-03"}' \
	>"$W/fhir/Patient/4711"
# http.server maps the query away: the file "Observation" answers the search
printf '{"resourceType":"Bundle","type":"searchset","entry":[{"resource":{"resourceType":"Observation","id":"o1","subject":{"reference":"Patient/4711"},"valueQuantity":{"value":5.4}}}]}' \
	>"$W/fhir/Observation"

(cd "$W" && exec "$PHITRAIL" run --config "$CONF" -- python3 -m http.server --bind 127.0.0.1 "$PORT" >"$T/server.log" 2>&1) &
SERVER=$!
track_pid "$SERVER"
wait_port "$PORT"
shim curl -sS -o "$T/patient.json" "http://127.0.0.1:$PORT/fhir/Patient/4711" ||
	fail "curl failed under the shim"
shim curl -sS -o "$T/obs.json" "http://127.0.0.1:$PORT/fhir/Observation?patient=4711" ||
	fail "curl (search) failed under the shim"
cmp -s "$T/patient.json" "$W/fhir/Patient/4711" || fail "curl got another Patient body"
cmp -s "$T/obs.json" "$W/fhir/Observation" || fail "curl got another search body"

wait_count 4 --event "PHI Message Sent" --patient 4711
wait_count 4 --event "PHI Message Received" --patient 4711
stop_pid "$SERVER"

expect_count 2 --event "PHI Connection Opened"
expect_count 3 --event "PHI Connection Accepted"   # two curls and wait_port's probe
types() { jfield '.detail.message_type' "$@" | sort | tr '\n' ',' ; }
[ "$(types --event 'PHI Message Sent' --patient 4711 --rule fhir-client)" = "GET Observation,GET Patient," ] ||
	fail "client sent: $(types --event 'PHI Message Sent' --rule fhir-client)"
[ "$(types --event 'PHI Message Received' --patient 4711 --rule fhir-client)" = "200 Bundle,200 Patient," ] ||
	fail "client received: $(types --event 'PHI Message Received' --rule fhir-client)"
[ "$(types --event 'PHI Message Received' --patient 4711 --rule fhir-server)" = "GET Observation,GET Patient," ] ||
	fail "server received: $(types --event 'PHI Message Received' --rule fhir-server)"
[ "$(types --event 'PHI Message Sent' --patient 4711 --rule fhir-server)" = "200 Bundle,200 Patient," ] ||
	fail "server sent: $(types --event 'PHI Message Sent' --rule fhir-server)"
[ "$(jfield '.target' --event 'PHI Message Sent' --rule fhir-client | sort -u)" = "tcp:127.0.0.1:$PORT" ] ||
	fail "client target is not the server"
pass
