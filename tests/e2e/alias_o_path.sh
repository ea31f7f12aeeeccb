# A chart reached through an O_PATH descriptor opened through a symlinked
# directory (tests/programs/opath.c): chmod of /proc/self/fd/N, fchownat
# with AT_EMPTY_PATH, and openat relative to an O_PATH directory then read
# are each one record for the patient, target as written (the /proc name;
# the path the descriptor was opened by; that path joined to the name),
# the real path in detail. The same on the control file leaves nothing.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/alias.inc"
alias_setup
cc -O2 -o "$T/opath" "$ROOT/tests/programs/opath.c" || fail "cannot build opath"
alias_links
C=$T/other-link/control.txt
start_collector
round() { # round EVENT WRITTEN: the one record, then an empty store
	alias_expect "$2" "$REAL" "$1"
	stop_collector
	rm -rf "$T/db" "$T/spool"
	start_collector
}
shim "$T/opath" chmod-proc "$T/other/link/c.txt" 2>"$T/name" || fail "chmod-proc failed"
shim "$T/opath" chmod-proc "$C" 2>/dev/null || fail "chmod-proc of the control failed"
round "PHI File Permissions Changed" "$(cat "$T/name")"
shim "$T/opath" chown-empty "$T/other/link/c.txt" || fail "chown-empty failed"
shim "$T/opath" chown-empty "$C" || fail "chown-empty of the control failed"
round "PHI File Permissions Changed" "$T/other/link/c.txt"
shim "$T/opath" openat "$T/other/link" c.txt >"$T/out" || fail "openat failed"
alias_same "$REAL" "$T/out"
shim "$T/opath" openat "$T/other-link" control.txt >/dev/null || fail "openat of the control failed"
round "PHI File Viewed" "$T/other/link/c.txt"
pass
