# The Debian packages, built, installed and purged on this machine: the
# source tree (as it is, built products left out) goes through
# dpkg-buildpackage -us -uc -b, lintian must find no error, "apt-get install"
# installs phitrail and libphitrail, systemd-analyze verifies the installed
# unit, and the collector is started the way phitraild.service starts it
# (its ExecStart, as its User with its capabilities and directories: there
# is no systemd to do it here). cat under the installed shim, run by root and
# by nobody, is recorded and found with the installed CLI; a record nobody
# left in the spool while the collector was down is read by the restarted
# collector (it needs CAP_DAC_READ_SEARCH for that). Then "apt-get purge"
# must leave nothing but what the package says it keeps: the audit trail in
# /var/lib/phitrail and the phitrail user.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root to install packages"
for c in dpkg-buildpackage lintian apt-get setpriv systemd-analyze; do
	command -v "$c" >/dev/null || skip "no $c"
done
dpkg-checkbuilddeps "$ROOT/debian/control" >/dev/null 2>&1 ||
	skip "build dependencies missing (scripts/install-deps.sh)"
if dpkg-query -W -f='${Status}' phitrail libphitrail 2>/dev/null | grep -q installed ||
	[ -e /etc/phitrail ] || [ -e /var/spool/phitrail ] || [ -e /run/phitrail ]; then
	skip "phitrail is installed on this machine: the test would disturb it"
fi

T=$(mktemp -d /tmp/phitrail-deb.XXXXXX)
chmod 0755 "$T"
PHITRAIL=/usr/bin/phitrail
CONF=/etc/phitrail/phitrail.conf
# A store left at the default place by something else is set aside and put
# back at the end.
if [ -e /var/lib/phitrail ]; then
	mv /var/lib/phitrail "$T/saved-var-lib" || skip "cannot set /var/lib/phitrail aside"
fi
had_user=0
getent passwd phitrail >/dev/null && had_user=1
UNIT=/lib/systemd/system/phitraild.service
deb_cleanup() {
	if [ -n "$COLLECTOR_PID" ] && kill -0 "$COLLECTOR_PID" 2>/dev/null; then
		kill -TERM "$COLLECTOR_PID"
		wait "$COLLECTOR_PID" 2>/dev/null
	fi
	# A collector under strace is not COLLECTOR_PID; any phitraild of the
	# phitrail user is this test's (it skips when phitrail was installed).
	if [ "$had_user" = 0 ] && getent passwd phitrail >/dev/null &&
		pkill -TERM -x -u phitrail phitraild; then
		sleep 1
	fi
	if dpkg-query -W -f='${Status}' phitrail libphitrail 2>/dev/null | grep -q installed; then
		apt-get purge -y phitrail libphitrail >/dev/null 2>&1
	fi
	rm -rf /var/lib/phitrail /var/spool/phitrail /run/phitrail
	[ -e "$T/saved-var-lib" ] && mv "$T/saved-var-lib" /var/lib/phitrail
	[ -n "${KEEP:-}" ] && return
	if [ "$had_user" = 0 ] && getent passwd phitrail >/dev/null; then
		userdel phitrail 2>/dev/null
		groupdel phitrail 2>/dev/null
	fi
	rm -rf "$T"
}
trap deb_cleanup EXIT
trap 'exit 1' INT TERM

# Every file whose path names phitrail, outside the scratch places and
# man-db's cache of formatted pages (man-db's own, kept up by it).
phitrail_files() {
	find / -xdev \( -path /proc -o -path /sys -o -path /tmp -o -path /var/tmp \
		-o -path /work -o -path "$ROOT" -o -path /var/cache/man \) -prune \
		-o -print 2>/dev/null |
		grep -i phitrail | sort
}
phitrail_files >"$T/before"

# Build (a copy of the tree: dpkg-buildpackage writes beside its parent).
mkdir "$T/src"
(cd "$ROOT" && tar --exclude=./build --exclude=./.git -cf - .) | tar -C "$T/src" -xf -
(cd "$T/src" && DEB_BUILD_OPTIONS=parallel=2 dpkg-buildpackage -us -uc -b) \
	>"$T/build.log" 2>&1 || { tail -n 40 "$T/build.log"; fail "dpkg-buildpackage failed"; }
ls "$T"/phitrail_*.deb "$T"/libphitrail_*.deb >/dev/null 2>&1 || fail "no packages built"
lintian "$T"/phitrail_*.changes >"$T/lintian.log" 2>&1
grep '^E:' "$T/lintian.log" && fail "lintian reports errors"
grep '^W:' "$T/lintian.log" && fail "lintian reports warnings (fix them, or explain them in README)"
dpkg-deb -e "$T"/phitrail_*.deb "$T/control"
grep -qx /etc/phitrail/phitrail.conf "$T/control/conffiles" ||
	fail "/etc/phitrail/phitrail.conf is not a conffile"

# Install.
(cd "$T" && apt-get install -y ./phitrail_*.deb ./libphitrail_*.deb) >"$T/apt.log" 2>&1 ||
	{ tail -n 30 "$T/apt.log"; fail "apt-get install failed"; }
getent passwd phitrail >/dev/null || fail "no phitrail user after install"
SHIM=$(dpkg -L libphitrail | grep '/libphitrail\.so$')
[ -f "$SHIM" ] || fail "libphitrail ships no libphitrail.so"
for f in /usr/bin/phitrail /usr/sbin/phitraild "$UNIT" /usr/lib/sysusers.d/phitrail.conf \
	/usr/lib/tmpfiles.d/phitrail.conf "$CONF"; do
	[ -e "$f" ] || fail "$f not installed"
done
[ "$(stat -c '%a %U' /var/spool/phitrail/incoming)" = "1733 phitrail" ] ||
	fail "tmpfiles did not make the spool: $(stat -c '%a %U' /var/spool/phitrail/incoming)"
"$PHITRAIL" policy check "$CONF" >/dev/null || fail "the sample configuration does not check"
for m in man1/phitrail.1 man5/phitrail.conf.5 man8/phitraild.8; do
	[ -f "/usr/share/man/$m.gz" ] || fail "man page $m not installed"
done
systemd-analyze verify "$UNIT" >"$T/verify.log" 2>&1 || {
	cat "$T/verify.log"
	fail "systemd-analyze verify rejects the unit"
}
systemd-analyze security --offline=yes "$UNIT" 2>&1 | grep 'Overall exposure'

# A rule for a chart the test owns (the sample names no PHI).
P=$T/patients
mkdir -p "$P/4711"
chmod 0755 "$P" "$P/4711"
printf 'MRN 4711\n' >"$P/4711/chart.txt"
chmod 0644 "$P/4711/chart.txt"
printf '\n[rule charts]\nfiles = %s/{patient}/**\n' "$P" >>"$CONF"
"$PHITRAIL" policy check "$CONF" >/dev/null || fail "the configuration with a rule does not check"

# The unit's settings, read from the installed unit.
unit_value() {
	sed -n "s/^$1=//p" "$UNIT" | grep -v '^~' | tail -n 1
}
exec_start=$(unit_value ExecStart)
user=$(unit_value User)
group=$(unit_value Group)
caps=$(unit_value AmbientCapabilities | tr '[:upper:]' '[:lower:]' | sed 's/cap_/+/g; s/ /,/g')
bound=$(unit_value CapabilityBoundingSet | tr '[:upper:]' '[:lower:]' | sed 's/cap_/+/g; s/ /,/g')
umask_value=$(unit_value UMask)
[ -n "$exec_start" ] && [ -n "$user" ] && [ -n "$caps" ] || fail "cannot read the unit"
install -d -m "$(unit_value RuntimeDirectoryMode)" -o "$user" -g "$group" \
	"/run/$(unit_value RuntimeDirectory)"
install -d -m "$(unit_value StateDirectoryMode)" -o "$user" -g "$group" \
	"/var/lib/$(unit_value StateDirectory)"
COLLECTOR_PID=""
start_unit() {
	# shellcheck disable=SC2086 # ExecStart is split into words, as systemd does
	setpriv --reuid="$user" --regid="$group" --init-groups --no-new-privs \
		--inh-caps="-all,$caps" --ambient-caps="-all,$caps" \
		--bounding-set="-all,$bound" \
		sh -c "umask $umask_value; exec $exec_start" >>"$T/collector.log" 2>&1 &
	COLLECTOR_PID=$!
	i=0
	while ! "$PHITRAIL" query --count >/dev/null 2>&1; do
		kill -0 "$COLLECTOR_PID" 2>/dev/null || fail "collector exited at start"
		i=$((i + 1))
		[ $i -lt 200 ] || fail "collector did not answer within 10 s"
		sleep 0.05
	done
	[ "$(stat -c %U /proc/$COLLECTOR_PID)" = "$user" ] || fail "collector is not running as $user"
}
count() {
	"$PHITRAIL" query --count "$@"
}
q() {
	"$PHITRAIL" query --format json "$@"
}

start_unit
[ "$(stat -c '%a %U' /run/phitrail/ingest.sock)" = "666 $user" ] ||
	fail "ingest socket: $(stat -c '%a %U' /run/phitrail/ingest.sock)"

# root, then nobody: both verified by the kernel, exe read from /proc.
LD_PRELOAD=$SHIM cat "$P/4711/chart.txt" >"$T/out" || fail "cat under the shim failed"
grep -q 'MRN 4711' "$T/out" || fail "cat printed the wrong thing"
setpriv --reuid=65534 --regid=65534 --clear-groups \
	env LD_PRELOAD="$SHIM" cat "$P/4711/chart.txt" >/dev/null || fail "cat as nobody failed"
wait_count 2 --patient 4711 --event "PHI File Viewed"
q --patient 4711 --event "PHI File Viewed" >"$T/records"
[ "$(jq -r 'select(.uid == 65534) | .identity + " " + .exe' "$T/records")" = "verified /usr/bin/cat" ] ||
	fail "nobody's read not recorded as verified /usr/bin/cat: $(cat "$T/records")"
[ "$(jq -r 'select(.uid == 0) | .identity' "$T/records")" = verified ] ||
	fail "root's read not recorded as verified"

# Down: nobody's record waits in the spool (a 0600 file of nobody's) and
# the restarted collector reads it.
stop_collector
setpriv --reuid=65534 --regid=65534 --clear-groups \
	env LD_PRELOAD="$SHIM" cat "$P/4711/chart.txt" >/dev/null || fail "cat as nobody failed (collector down)"
start_unit
wait_count 3 --patient 4711 --event "PHI File Viewed"
[ "$(q --patient 4711 | jq -r 'select(.identity == "file-owner") | .uid')" = 65534 ] ||
	fail "the spooled record of nobody was not read back"
"$PHITRAIL" verify >"$T/verify-store.log" 2>&1 || { cat "$T/verify-store.log"; fail "verify failed"; }
stop_collector

# The unit's SystemCallFilter, checked against what the collector calls
# (systemd is not there to apply it): a start, a record handed off, a
# record from the spool, a query, a stop, all under strace.
syscall_set() {
	systemd-analyze syscall-filter "$1" | sed 1d | grep -v '#' | tr -d ' ' | grep . |
		while read -r name; do
			case $name in @*) syscall_set "$name" ;; *) echo "$name" ;; esac
		done
}
if command -v strace >/dev/null; then
	setpriv --reuid=65534 --regid=65534 --clear-groups \
		env LD_PRELOAD="$SHIM" cat "$P/4711/chart.txt" >/dev/null
	strace -f -qq -o "$T/trace" setpriv --reuid="$user" --regid="$group" --init-groups \
		--no-new-privs --inh-caps="-all,$caps" --ambient-caps="-all,$caps" \
		--bounding-set="-all,$bound" sh -c "umask $umask_value; exec $exec_start" \
		>>"$T/collector.log" 2>&1 &
	traced=$!
	wait_count 4 --patient 4711 --event "PHI File Viewed"
	LD_PRELOAD=$SHIM cat "$P/4711/chart.txt" >/dev/null
	wait_count 5 --patient 4711 --event "PHI File Viewed"
	pkill -TERM -x -u "$user" phitraild
	wait "$traced" || fail "the traced collector did not stop cleanly"
	# As systemd reads them: the first line allows, each later line takes
	# away (~) or gives back, in order.
	: >"$T/allowed"
	sed -n 's/^SystemCallFilter=//p' "$UNIT" | while read -r line; do
		for g in ${line#\~}; do
			case $g in @*) syscall_set "$g" ;; *) echo "$g" ;; esac
		done | sort -u >"$T/line"
		case $line in
		~*) comm -23 "$T/allowed" "$T/line" ;;
		*) sort -u "$T/allowed" "$T/line" ;;
		esac >"$T/next"
		mv "$T/next" "$T/allowed"
	done
	sed -n 's/^SystemCallFilter=~//p' "$UNIT" | tr ' ' '\n' | grep . |
		while read -r g; do syscall_set "$g"; done | sort -u |
		comm -23 - "$T/allowed" >"$T/denied"
	allowed="the unit's SystemCallFilter"
	# From the collector's exec on (setpriv and sh are not under the filter),
	# with its threads and its signer child, which the filter covers too.
	awk '/execve\("\/usr\/sbin\/phitraild"/ && !root { root = $1; pids[$1] = 1 }
		root && ($1 in pids) {
			print
			if ($0 ~ /(clone3?|v?fork)(\(| resumed>)/ && match($0, /= [0-9]+$/))
				pids[substr($0, RSTART + 2)] = 1
		}' "$T/trace" |
		sed -E 's/^[0-9]+ +//' | grep -oE '^[a-z_0-9]+\(' | tr -d '(' | sort -u >"$T/used"
	[ -s "$T/used" ] || fail "no system calls traced"
	comm -23 "$T/used" "$T/allowed" | grep . && fail "calls outside $allowed (above)"
	comm -12 "$T/used" "$T/denied" | grep . && fail "calls the unit denies (above)"
fi

# Purge, and what is left.
apt-get purge -y phitrail libphitrail >"$T/purge.log" 2>&1 ||
	{ tail -n 30 "$T/purge.log"; fail "apt-get purge failed"; }
phitrail_files >"$T/after"
comm -13 "$T/before" "$T/after" >"$T/left"
grep -v '^/var/lib/phitrail\(/\|$\)' "$T/left" && fail "left behind after purge (above)"
grep -qx /var/lib/phitrail/audit.db "$T/left" || fail "purge removed the audit trail"
comm -23 "$T/before" "$T/after" | grep . && fail "purge removed files it did not install (above)"
[ -e /etc/phitrail ] && fail "/etc/phitrail left behind"
pass
