#!/bin/sh
# tamper_swap: two records' bytes swapped in the SQLite file (collector
# stopped): with the leaf hashes swapped too, and with every column swapped
# (whole rows exchanged but ids kept) -> "record 4: its bytes are those of
# record 8": the id inside the signed bytes names the first moved record.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/integrity.inc"
integrity_setup
start_collector
cp "$KEY.pub" "$T/trusted.pub"
make_records 5 p1
make_records 5 p2
quiet
stop_collector
expect_verify_ok --key "$T/trusted.pub"
keep_pristine

a=$(record_hex 4)
b=$(record_hex 8)
[ "$a" != "$b" ] || fail "records 4 and 8 are identical"
sql "UPDATE records SET bytes = X'$b', leaf_hash = X'$(leaf_of "$b")' WHERE id = 4;
     UPDATE records SET bytes = X'$a', leaf_hash = X'$(leaf_of "$a")' WHERE id = 8"
expect_verify_fail "^FAILED: record 4: its bytes are those of record 8" --key "$T/trusted.pub"

# Whole rows exchanged (every column), ids kept in place.
restore_pristine
cols="timestamp_ns, received_ns, workspace_id, actor_user_id, event_type, end_user_id, host, pid, uid, auid, exe, target, target2, rule, result, seq, identity, bytes, leaf_hash"
sql "CREATE TEMP TABLE r AS SELECT * FROM records WHERE id IN (4, 8);
     UPDATE records SET ($cols) = (SELECT $cols FROM r WHERE r.id = 12 - records.id) WHERE id IN (4, 8)"
[ "$(record_hex 4)" = "$b" ] || fail "the swap did not happen"
expect_verify_fail "^FAILED: record 4: its bytes are those of record 8" --key "$T/trusted.pub"
pass
