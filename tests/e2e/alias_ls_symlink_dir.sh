# ls of a patient's folder through a symlink outside the tree: one
# Directory Listed for the patient, target the path as written, the real
# path in detail; ls of a control folder through a link leaves nothing.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/alias.inc"
alias_setup
start_collector
ln -s "$P/p9" "$T/other/link"
mkdir -p "$T/other/pub"
ln -s "$T/other/pub" "$T/other/pub-link"
shim ls "$T/other/link/" >"$T/out" || fail "ls failed under the shim"
ls "$P/p9/" | cmp -s - "$T/out" || fail "ls printed something else under the shim"
shim ls "$T/other/pub-link/" >/dev/null || fail "ls of the control failed"
alias_expect "$T/other/link" "$P/p9" "PHI Directory Listed"
pass
