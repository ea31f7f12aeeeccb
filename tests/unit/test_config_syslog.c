/*
 * test_config_syslog.c - the [syslog] section of phitrail.conf: defaults,
 * every key, the checks on server, app_name and facility at their limits
 * and one past, and the section's required keys.
 */
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "unit.h"

static struct config cfg;

static const char *
error_of(const char *body)
{
	char text[2048];

	snprintf(text, sizeof(text), "[phitrail]\nworkspace_id = ws\n[syslog]\n%s", body);
	if (config_load_string(&cfg, "phitrail.conf", text, strlen(text)) == 0)
		return cfg.error_count == 0 ? "OK" : "RETURNED 0 WITH ERRORS";
	return cfg.error;
}

static void
test_defaults_and_keys(void)
{
	const char *text = "[phitrail]\nworkspace_id = ws\n";

	CHECK_INT(config_load_string(&cfg, "c", text, strlen(text)), 0);
	CHECK_INT(cfg.syslog.enabled, 0);
	CHECK_STR(cfg.syslog.app_name, "phitraild");
	CHECK_INT(cfg.syslog.facility, 10);
	CHECK_INT(cfg.syslog.stall_s, 60);
	CHECK_STR(error_of("server = arr.example.org:6514\n"
			   "tls_ca = /etc/phitrail/ca.pem\n"
			   "tls_cert = /etc/phitrail/client.pem\n"
			   "tls_key = /etc/phitrail/client.key\n"
			   "tls_hostname = arr.example.org\n"
			   "app_name = phitraild-ward3\n"
			   "facility = 13\n"
			   "stall_time = 5\n"
			   "max_pending = 64\n"), "OK");
	CHECK_INT(cfg.syslog.enabled, 1);
	CHECK_INT(cfg.syslog.line, 3);
	CHECK_STR(cfg.syslog.server, "arr.example.org:6514");
	CHECK_STR(cfg.syslog.tls_ca, "/etc/phitrail/ca.pem");
	CHECK_STR(cfg.syslog.tls_cert, "/etc/phitrail/client.pem");
	CHECK_STR(cfg.syslog.tls_key, "/etc/phitrail/client.key");
	CHECK_STR(cfg.syslog.tls_hostname, "arr.example.org");
	CHECK_STR(cfg.syslog.app_name, "phitraild-ward3");
	CHECK_INT(cfg.syslog.facility, 13);
	CHECK_INT(cfg.syslog.stall_s, 5);
	CHECK_INT(cfg.syslog.max_pending, 64);
	CHECK_STR(error_of("server = [::1]:6514\ntls_ca = /ca\n"), "OK");
	CHECK_STR(cfg.syslog.server, "[::1]:6514");
	CHECK_STR(error_of("server = 127.0.0.1:1\ntls_ca = /ca\n"), "OK");
	CHECK_STR(error_of("server = 127.0.0.1:65535\ntls_ca = /ca\n"), "OK");
}

static void
test_errors(void)
{
	CHECK_STR(error_of("server = 127.0.0.1:65536\ntls_ca = /ca\n"),
		  "phitrail.conf:4: server must be HOST:PORT or [IPV6]:PORT (port 1 "
		  "to 65535, at most 255 bytes), not '127.0.0.1:65536'");
	CHECK(strstr(error_of("server = 127.0.0.1:0\ntls_ca = /ca\n"), ":4: server must") != NULL);
	CHECK(strstr(error_of("server = 127.0.0.1\ntls_ca = /ca\n"), ":4: server must") != NULL);
	CHECK(strstr(error_of("server = :6514\ntls_ca = /ca\n"), ":4: server must") != NULL);
	CHECK(strstr(error_of("server = ::1:6514\ntls_ca = /ca\n"), ":4: server must") != NULL);
	CHECK_STR(error_of("tls_ca = /ca\n"),
		  "phitrail.conf:3: [syslog] needs server = HOST:PORT and tls_ca = "
		  "FILE (RFC 5425: TLS only)");
	CHECK(strstr(error_of("server = h:1\n"), "needs server") != NULL);
	CHECK(strstr(error_of("server = h:1\ntls_ca = /ca\ntls_cert = /c\n"),
		     "tls_cert and tls_key together") != NULL);
	CHECK_STR(error_of("server = h:1\ntls_ca = ca.pem\n"),
		  "phitrail.conf:5: tls_ca must be an absolute path, not 'ca.pem'");
	CHECK_STR(error_of("server = h:1\ntls_ca = /ca\nfacility = 24\n"),
		  "phitrail.conf:6: facility must be a whole number from 0 to 23, not '24'");
	CHECK_STR(error_of("server = h:1\ntls_ca = /ca\nfacility = 23\n"), "OK");
	CHECK_STR(error_of("server = h:1\ntls_ca = /ca\nstall_time = 0\n"),
		  "phitrail.conf:6: stall_time must be a whole number from 1 to 86400, not '0'");
	CHECK_STR(error_of("server = h:1\ntls_ca = /ca\nport = 6514\n"),
		  "phitrail.conf:6: unknown key 'port' in [syslog] (expected server, "
		  "tls_ca, tls_cert, tls_key, tls_hostname, app_name, facility, "
		  "stall_time or max_pending)");
	CHECK_STR(error_of("server = h:1\ntls_ca = /ca\nserver = h:2\n"),
		  "phitrail.conf:6: server is set twice (first on line 4)");
	CHECK(strstr(error_of("server = h:1\ntls_ca = /ca\n[syslog]\n"),
		     ":6: [syslog] appears twice (first on line 3)") != NULL);
	/* APP-NAME: 48 printable ASCII bytes at most */
	CHECK_STR(error_of("server = h:1\ntls_ca = /ca\napp_name = "
			   "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n"), "OK");
	CHECK_STR(error_of("server = h:1\ntls_ca = /ca\napp_name = "
			   "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n"),
		  "phitrail.conf:6: app_name is longer than 48 bytes");
	CHECK(strstr(error_of("server = h:1\ntls_ca = /ca\napp_name = caf\xc3\xa9\n"),
		     "printable ASCII") != NULL);
}

int
main(void)
{
	RUN(test_defaults_and_keys);
	RUN(test_errors);
	return unit_done();
}
