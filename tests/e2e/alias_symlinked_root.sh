# A deployment whose data volume is reached through a symlink: the policy
# names the link (/srv/ehr -> /mnt/san/ehr in production) and programs use
# the real path, or the other way round. Either way one Viewed per read,
# the patient from the path, and nothing for a control file on the volume.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/alias.inc"
alias_volume_setup
start_collector
shim cat "$T/san/ehr/patients/p9/c.txt" >"$T/out" || fail "cat failed under the shim"
alias_same "$T/san/ehr/patients/p9/c.txt" "$T/out"
shim cat "$T/san/ehr/public/control.txt" >/dev/null || fail "cat of the control failed"
shim cat "$T/ehr/public/control.txt" >/dev/null || fail "cat of the control failed"
alias_expect "$T/san/ehr/patients/p9/c.txt" "$T/san/ehr/patients/p9/c.txt"
# the path as the policy writes it is matched as before, with no real_path
shim cat "$T/ehr/patients/p9/c.txt" >/dev/null || fail "cat failed under the shim"
wait_count 2 --patient p9
expect_count 2 --rule charts
pass
