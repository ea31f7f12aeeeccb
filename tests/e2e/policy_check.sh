# phitrail policy check: a good file is summarised; each broken file is
# rejected with FILE:LINE and what was expected. policy explain names the
# rule and the patient a path yields.
. "$(dirname "$0")/lib.sh"
setup

out=$("$PHITRAIL" policy check "$CONF") || fail "a good configuration was rejected: $out"
echo "$out" | grep -q "ok" || fail "policy check did not say ok: $out"

bad() { # name, expected line, expected words, file text
	printf '%s\n' "$4" >"$T/$1.conf"
	out=$("$PHITRAIL" policy check "$T/$1.conf" 2>&1)
	rc=$?
	[ "$rc" -ne 0 ] || fail "$1: a broken configuration was accepted"
	echo "$out" | grep -q "$T/$1.conf:$2:" || fail "$1: no FILE:LINE ($2) in: $out"
	echo "$out" | grep -qi "$3" || fail "$1: '$3' not in: $out"
}
bad unknown_key 3 "fiels" "[phitrail]
[rule charts]
fiels = /srv/{patient}/**"
bad bad_mode 2 "on_collector_down" "[phitrail]
on_collector_down = maybe"
bad bad_glob 3 "{" "[phitrail]
[rule charts]
files = /srv/{patient/**"
bad relative_glob 3 "absolute" "[phitrail]
[rule charts]
files = srv/**"
bad unknown_section 1 "section" "[rules charts]
files = /srv/**"

out=$("$PHITRAIL" policy explain --config "$CONF" "$P/4711/chart.txt") || fail "explain failed: $out"
echo "$out" | grep -q charts || fail "explain does not name the rule: $out"
echo "$out" | grep -q 4711 || fail "explain does not give the patient: $out"
out=$("$PHITRAIL" policy explain --config "$CONF" "$T/other/readme.txt")
echo "$out" | grep -qi "no rule" || fail "explain of an unmatched path: $out"

# A program started with a broken configuration keeps running, untouched.
printf '[phitrail]\nbogus = 1\n' >"$T/broken.conf"
mkdir -p "$P/4711"
printf 'x\n' >"$P/4711/chart.txt"
out=$("$PHITRAIL" run --config "$T/broken.conf" -- cat "$P/4711/chart.txt" 2>&1) ||
	fail "cat failed under the shim with a broken configuration"
[ "$out" = x ] || fail "cat printed '$out' with a broken configuration"
pass
