#!/bin/sh
# Installs the Debian packages phitrail needs to build and test, when any is
# missing. Safe to run again: it does nothing when everything is there.
set -eu

PACKAGES="
build-essential
pkg-config
libmsgpack-dev
libbsd-dev
libsqlite3-dev
libsodium-dev
libinih-dev
libnats-dev
nats-server
clang
valgrind
sqlite3
socat
curl
dcmtk
strace
g++
libpython3.11-testsuite
python3.11
chromium
jq
python3
procps
util-linux
file
"

missing=""
for p in $PACKAGES; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done

if [ -z "$missing" ]; then
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing packages:$missing" >&2
	echo "install-deps: run as root, or: sudo apt-get install$missing" >&2
	exit 1
fi

echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing
