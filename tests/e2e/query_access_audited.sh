# The query socket answers root and the auditors group only, checked with
# the kernel's peer credentials: a real other user (nobody, via setpriv) is
# refused with a message saying what to do, the same user with the auditors
# group as its group is answered; and every query, answered or refused, is
# itself recorded as "Audit Trail Queried" with the asking user and filters.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root to run the CLI as another user"
command -v setpriv >/dev/null || skip "setpriv (util-linux) is not installed"
command -v jq >/dev/null || skip "jq is not installed"
group=
for g in staff adm users; do
	if getent group "$g" >/dev/null; then group=$g; break; fi
done
[ -n "$group" ] || skip "no group to use as the auditors group"
gid=$(getent group "$group" | cut -d: -f3)
setup "auditors = $group"
chmod 0644 "$CONF"
start_collector
nobody_actor=$(actor_for_uid 65534)

mkdir -p "$P/4711"
printf 'chart\n' >"$P/4711/chart.txt"
shim cat "$P/4711/chart.txt" >/dev/null
wait_count 1 --patient 4711

as_nobody() {
	setpriv --reuid=65534 --regid=65534 --clear-groups "$PHITRAIL" "$@"
}
as_auditor() {
	setpriv --reuid=65534 --regid="$gid" --clear-groups "$PHITRAIL" "$@"
}

# Refused: exit 1, nothing on stdout, a message naming the group.
out=$(as_nobody query --config "$CONF" --patient 4711 2>"$T/err")
rc=$?
[ "$rc" = 1 ] || fail "nobody's query exited $rc, not 1"
[ -z "$out" ] || fail "nobody got records: $out"
grep -q "permission denied" "$T/err" || fail "no 'permission denied': $(cat "$T/err")"
grep -q "group $group" "$T/err" || fail "the refusal does not name the group: $(cat "$T/err")"
as_nobody stats --config "$CONF" >/dev/null 2>&1 && fail "nobody's stats were answered"
as_nobody report patient 4711 --config "$CONF" >/dev/null 2>&1 && fail "nobody got a report"

# Allowed: the auditors group as the process's group.
[ "$(as_auditor query --config "$CONF" --patient 4711 --count)" = 1 ] ||
	fail "a member of $group was not answered"
[ "$(as_auditor query --config "$CONF" --patient 4711 --format json | jq -r .end_user_id)" = 4711 ] ||
	fail "the auditor's query returned no record"

# Every query audited: the refusal with EACCES and the asked filter, the
# answers with ok and the number matched, all by the real asking user.
settle
refused=$(q --event queried --result EACCES)
[ "$(echo "$refused" | jq -r 'select(.detail.op == "query") | .actor_user_id')" = "$nobody_actor" ] ||
	fail "the refused query is not recorded for $nobody_actor: $refused"
echo "$refused" | jq -se 'any(.[]; .detail.op == "query" and .detail.filters == "patient=4711" and .uid == 65534 and .identity == "verified")' >/dev/null ||
	fail "the refused query's record lacks its filter or verified uid: $refused"
[ "$(echo "$refused" | jq -r 'select(.detail.op == "stats") | .actor_user_id')" = "$nobody_actor" ] ||
	fail "the refused stats request is not recorded"
answered=$(q --event queried --actor "$nobody_actor" --result ok)
echo "$answered" | jq -se 'any(.[]; .detail.op == "count" and .detail.matched == 1 and .detail.filters == "patient=4711")' >/dev/null ||
	fail "the auditor's count is not recorded with 1 match: $answered"
echo "$answered" | jq -se 'any(.[]; .detail.op == "query" and .detail.matched == 1)' >/dev/null ||
	fail "the auditor's query is not recorded: $answered"
# Root's own questions are recorded too.
q --event queried --actor "$(actor_for_uid 0)" | jq -se 'any(.[]; .detail.filters == "patient=4711")' >/dev/null ||
	fail "root's query by patient is not recorded"
# An auditor can read but never write: the CLI has no verb that changes
# records, and the store is the collector's alone (root's, or the phitrail
# user's when its store process runs as that user).
owner=$(stat -c %u "$T/db/audit.db")
[ ! -w "$T/db/audit.db" ] || [ "$owner" = 0 ] || [ "$owner" = "$(id -u phitrail 2>/dev/null)" ] ||
	fail "store owned by someone else (uid $owner)"
setpriv --reuid=65534 --regid="$gid" --clear-groups sh -c "echo x >> '$T/db/audit.db'" 2>/dev/null &&
	fail "an auditor could write to the store file"
pass
