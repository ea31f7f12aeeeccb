#!/bin/sh
# tamper_delete: one record deleted from the SQLite file (collector
# stopped) -> "record 5 is missing"; deleted and every later id moved down
# by one so the ids look whole -> record 5's bytes carry id 6 ("its bytes
# are those of record 6").
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/integrity.inc"
integrity_setup
start_collector
cp "$KEY.pub" "$T/trusted.pub"
records_and_stop 10
expect_verify_ok --key "$T/trusted.pub"
keep_pristine

sql "DELETE FROM records WHERE id = 5"
expect_verify_fail "^FAILED: record 5 is missing \(the next stored record is 6\)" --key "$T/trusted.pub"

# Closing the gap: ids renumbered (what a careful attacker would do).
restore_pristine
sql "DELETE FROM records WHERE id = 5; UPDATE records SET id = id - 1 WHERE id > 5"
expect_verify_fail "^FAILED: record 5: its bytes are those of record 6" --key "$T/trusted.pub"
pass
