# A stdio stream (fopen) opened through a symlinked directory: sort reads
# the chart through the link, one Viewed for the patient from the real
# path; the control file through a link leaves nothing.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/alias.inc"
alias_setup
start_collector
alias_links
shim sort "$T/other/link/c.txt" >"$T/out" || fail "sort failed under the shim"
sort "$REAL" | cmp -s - "$T/out" || fail "sort printed something else under the shim"
shim sort "$T/other-link/control.txt" >/dev/null || fail "sort of the control failed"
alias_expect "$T/other/link/c.txt"
pass
