# sqlite3 queries a PHI database file: it is Viewed; an update Modifies it.
. "$(dirname "$0")/lib.sh"
setup

mkdir -p "$P/4711"
sqlite3 "$P/4711/labs.db" "CREATE TABLE labs(name, value); INSERT INTO labs VALUES ('HbA1c', 6.1);"
start_collector

out=$(shim sqlite3 "$P/4711/labs.db" "SELECT value FROM labs WHERE name = 'HbA1c';") ||
	fail "sqlite3 failed under the shim"
[ "$out" = "6.1" ] || fail "sqlite3 printed '$out', expected 6.1"
expect_event "PHI File Viewed" 4711 --target "$P/4711/labs.db"
[ "$(count --event modified --patient 4711)" = 0 ] || fail "a read-only query was recorded as Modified"

shim sqlite3 "$P/4711/labs.db" "UPDATE labs SET value = 6.3 WHERE name = 'HbA1c';" ||
	fail "sqlite3 update failed under the shim"
expect_event "PHI File Modified" 4711 --target "$P/4711/labs.db"
pass
