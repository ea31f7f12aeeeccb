# chmod of a chart on a data volume the policy names by its symlink
# (/srv/ehr -> /mnt/san/ehr in production) while the program uses the real
# path: one Permissions Changed for the patient, the mode asked for in
# detail; chmod of a control file on the volume leaves nothing.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/alias.inc"
alias_volume_setup
start_collector
shim chmod 0600 "$REAL" || fail "chmod failed under the shim"
[ "$(stat -c %a "$REAL")" = 600 ] || fail "chmod did not change the mode"
shim chmod 0600 "$T/san/ehr/public/control.txt" || fail "chmod of the control failed"
alias_expect "$REAL" "$REAL" "PHI File Permissions Changed"
[ "$(jfield .detail.mode --rule charts)" = 0600 ] || fail "detail.mode is not 0600"
pass
