# A PHI file given its mode, owner or ACL right after the same program
# created it is reported as Permissions Changed (patient, mode or owner or
# xattr in detail): gzip -k, tar x, sed -i, unzip, sqlite3 (its journal,
# owned as the database is when run as root) and setfacl. The same
# programs on files outside every rule leave nothing.
. "$(dirname "$0")/lib.sh"
setup
start_collector
for p in gzip tar sed unzip zip sqlite3 setfacl; do
	command -v $p >/dev/null || skip "no $p (scripts/install-deps.sh)"
done
mkdir -p "$P/4711" "$T/other/src" "$T/other/x"
printf 'Name: Jane Doe\nDx: hypertension\n' >"$P/4711/chart.txt"
printf 'public\n' >"$T/other/readme.txt"
printf 'Dx: asthma\n' >"$T/other/src/note.txt"
chmod 0640 "$T/other/src/note.txt"
(cd "$T/other/src" && tar cf "$T/other/notes.tar" note.txt && zip -q "$T/other/notes.zip" note.txt) ||
	fail "could not make the archives"

# perm COMMAND... -- GLOB: the command ran, and made at least one
# Permissions Changed for patient 4711 on a path matching GLOB
perm() {
	glob=$1
	shift
	"$@" || fail "$* failed under the shim"
	wait_count 1 --event permissions --patient 4711 --target "$glob"
}

perm "$P/4711/chart.txt.gz" shim gzip -k "$P/4711/chart.txt"
[ -f "$P/4711/chart.txt.gz" ] || fail "gzip -k made no archive"
perm "$P/4711/note.txt" shim sh -c 'cd "$1" && tar xf "$2"' sh "$P/4711" "$T/other/notes.tar"
rm -f "$P/4711/note.txt"
perm "$P/4711/note.txt" shim unzip -q "$T/other/notes.zip" -d "$P/4711"
perm "$P/4711/*" shim sed -i 's/hypertension/HTN/' "$P/4711/chart.txt"
grep -q HTN "$P/4711/chart.txt" || fail "sed -i did not edit the chart"
if [ "$(id -u)" = 0 ]; then
	# SQLite gives its journal the database's owner only as root
	perm "$P/4711/db.sqlite*" shim sqlite3 "$P/4711/db.sqlite" \
		'create table t(x); insert into t values (1);'
fi
perm "$P/4711/chart.txt" shim setfacl -m u:nobody:r "$P/4711/chart.txt"
getfacl -p "$P/4711/chart.txt" 2>/dev/null | grep -q '^user:nobody:r--' ||
	fail "setfacl set no ACL"

[ "$(jfield '.detail.xattr' --event permissions --target "$P/4711/chart.txt" | grep -c posix_acl_access)" -ge 1 ] ||
	fail "the ACL change names no xattr"
[ "$(jfield '.detail.mode' --event permissions --target "$P/4711/chart.txt.gz" | grep -c '^0[0-7][0-7][0-7]$')" -ge 1 ] ||
	fail "gzip's mode change carries no mode"
[ "$(jfield '.detail.mode // empty' --event permissions --target "$P/4711/note.txt" --exe "$(command -v unzip)" | sort -u)" = 0640 ] ||
	fail "unzip's mode change is not 0640"

# the controls: the same programs outside every rule
shim gzip -k "$T/other/readme.txt" || fail "gzip -k of the control failed"
shim sh -c 'cd "$1" && tar xf "$2"' sh "$T/other/x" "$T/other/notes.tar" || fail "tar x of the control failed"
shim unzip -qo "$T/other/notes.zip" -d "$T/other/x" || fail "unzip of the control failed"
shim sed -i 's/public/open/' "$T/other/readme.txt" || fail "sed -i of the control failed"
shim sqlite3 "$T/other/db.sqlite" 'create table t(x);' || fail "sqlite3 on the control failed"
shim setfacl -m u:nobody:r "$T/other/readme.txt" || fail "setfacl on the control failed"
expect_count 0 --target "$T/other/**"
pass
