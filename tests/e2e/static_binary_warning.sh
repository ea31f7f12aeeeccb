# phitrail run warns that a statically linked program cannot be audited,
# and still runs it with its own exit status.
. "$(dirname "$0")/lib.sh"
setup
start_collector
printf 'int main(void) { return 3; }\n' >"$T/s.c"
cc -static -o "$T/static" "$T/s.c" 2>/dev/null || skip "no static libc to link with"
shim "$T/static" 2>"$T/err"
rc=$?
[ "$rc" = 3 ] || fail "exit status $rc, expected 3"
grep -q "statically linked" "$T/err" || fail "no warning: $(cat "$T/err")"
cc -o "$T/dynamic" "$T/s.c"
shim "$T/dynamic" 2>"$T/err2"
[ -s "$T/err2" ] && fail "a warning for a dynamic program: $(cat "$T/err2")"
pass
