/*
 * test_config.c - phitrail.conf: the DESIGN.md example, defaults, every
 * error message with its line number, limits at the limit and one past,
 * long lines, config_load from a file, and config_match_path.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "unit.h"

static struct config cfg;

static int load(const char *text)
{
	return config_load_string(&cfg, "phitrail.conf", text, strlen(text));
}

/* The first error message after loading text, or "OK". */
static const char *error_of(const char *text)
{
	if (load(text) == 0)
		return cfg.error_count == 0 ? "OK" : "RETURNED 0 WITH ERRORS";
	return cfg.error;
}

static const char design_example[] =
	"[phitrail]\n"
	"workspace_id = ws_st_marys\n"
	"socket       = /run/phitrail/ingest.sock\n"
	"query_socket = /run/phitrail/query.sock\n"
	"database     = /var/lib/phitrail/audit.db\n"
	"spool        = /var/spool/phitrail\n"
	"on_collector_down = spool        ; or: deny (fail closed: the PHI call fails with EACCES)\n"
	"\n"
	"[rule charts]\n"
	"files = /srv/ehr/patients/{patient}/**    ; {patient} = one path segment \xe2\x86\x92 end_user_id\n"
	"\n"
	"[rule hl7-feed]\n"
	"connect = 127.0.0.1:2575                 ; peer address rule\n"
	"protocol = hl7                           ; content detector for end_user_id\n";

static void test_design_example(void)
{
	char patient[64];

	CHECK_STR(error_of(design_example), "OK");
	CHECK_STR(cfg.workspace_id, "ws_st_marys");
	CHECK_STR(cfg.socket_path, "/run/phitrail/ingest.sock");
	CHECK_STR(cfg.query_socket_path, "/run/phitrail/query.sock");
	CHECK_STR(cfg.database, "/var/lib/phitrail/audit.db");
	CHECK_STR(cfg.spool, "/var/spool/phitrail");
	CHECK_INT(cfg.on_collector_down, CONFIG_ON_DOWN_SPOOL);
	CHECK_INT(cfg.rule_count, 2);
	CHECK_STR(cfg.rules[0].name, "charts");
	CHECK_INT(cfg.rules[0].line, 9);
	CHECK_STR(cfg.rules[1].name, "hl7-feed");
	CHECK_STR(cfg.rules[1].protocol, "hl7");
	CHECK_INT(cfg.pattern_count, 1);
	CHECK_STR(cfg.patterns[0].glob.pattern, "/srv/ehr/patients/{patient}/**");
	CHECK_INT(cfg.address_count, 1);
	CHECK_INT(cfg.addresses[0].kind, CONFIG_ADDRESS_CONNECT);
	CHECK_INT(cfg.addresses[0].rule, 1);
	CHECK_STR(cfg.addresses[0].text, "127.0.0.1:2575");
	CHECK_INT(config_match_path(&cfg, "/srv/ehr/patients/4711/chart.txt",
				    patient, sizeof(patient)), 0);
	CHECK_STR(patient, "4711");
	CHECK_INT(config_match_path(&cfg, "/srv/ehr/patients/4711", patient,
				    sizeof(patient)), 0);
	CHECK_STR(patient, "4711");
	CHECK_INT(config_match_path(&cfg, "/etc/passwd", patient, sizeof(patient)), -1);
	CHECK_STR(patient, "");
}

static void test_defaults(void)
{
	CHECK_STR(error_of(""), "OK");
	CHECK_STR(cfg.workspace_id, "default");
	CHECK_STR(cfg.socket_path, "/run/phitrail/ingest.sock");
	CHECK_STR(cfg.query_socket_path, "/run/phitrail/query.sock");
	CHECK_STR(cfg.database, "/var/lib/phitrail/audit.db");
	CHECK_STR(cfg.spool, "/var/spool/phitrail");
	CHECK_STR(cfg.key_file, "/var/lib/phitrail/signing.key");
	CHECK_STR(cfg.auditors, "");
	CHECK_INT(cfg.on_collector_down, CONFIG_ON_DOWN_SPOOL);
	CHECK_INT(cfg.flush, CONFIG_FLUSH_BATCH);
	CHECK_INT(cfg.batch_delay_ms, 50);
	CHECK_INT(cfg.checkpoint_interval_s, 60);
	CHECK_INT(cfg.retention_days, 2190);
	CHECK_INT(cfg.follow_exec, 1);
	CHECK_INT(cfg.kernel_safety_net, 1);
	CHECK_INT(cfg.follow_aliases, 1);
	CHECK_INT(cfg.rule_count, 0);
}

static void test_all_main_keys(void)
{
	CHECK_STR(error_of("[phitrail]\n"
			   "on_collector_down = deny\n"
			   "flush = every-record\n"
			   "batch_delay_ms = 0\n"
			   "checkpoint_interval = 86400\n"
			   "retention_days = 1\n"
			   "auditors = hipaa-auditors\n"
			   "key_file = /etc/phitrail/key\n"
			   "follow_exec = no\n"
			   "kernel_safety_net = off\n"
			   "follow_aliases = no\n"), "OK");
	CHECK_INT(cfg.on_collector_down, CONFIG_ON_DOWN_DENY);
	CHECK_INT(cfg.flush, CONFIG_FLUSH_EVERY_RECORD);
	CHECK_INT(cfg.batch_delay_ms, 0);
	CHECK_INT(cfg.checkpoint_interval_s, 86400);
	CHECK_INT(cfg.retention_days, 1);
	CHECK_STR(cfg.auditors, "hipaa-auditors");
	CHECK_STR(cfg.key_file, "/etc/phitrail/key");
	CHECK_INT(cfg.follow_exec, 0);
	CHECK_INT(cfg.kernel_safety_net, 0);
	CHECK_INT(cfg.follow_aliases, 0);
}

static void test_rule_keys(void)
{
	CHECK_STR(error_of("[rule a]\n"
			   "files = /srv/a/** /srv/b/*.txt\n"
			   "files = /srv/c\n"
			   "  /srv/d\n"                       /* continuation line */
			   "accept = :2575 0.0.0.0:2576 [::1]:2577 2578\n"
			   "unix = /run/feed.sock @abstract\n"
			   "connect = 192.0.2.7:443 [fe80::1]:80\n"
			   "protocol = fhir\n"), "OK");
	CHECK_INT(cfg.pattern_count, 4);
	CHECK_STR(cfg.patterns[3].glob.pattern, "/srv/d");
	CHECK_INT(cfg.address_count, 8);
	CHECK_INT(cfg.addresses[0].kind, CONFIG_ADDRESS_ACCEPT);
	CHECK_STR(cfg.addresses[2].text, "[::1]:2577");
	CHECK_INT(cfg.addresses[4].kind, CONFIG_ADDRESS_UNIX);
	CHECK_STR(cfg.addresses[5].text, "@abstract");
	CHECK_INT(cfg.addresses[6].kind, CONFIG_ADDRESS_CONNECT);
	CHECK_STR(cfg.rules[0].protocol, "fhir");
}

struct error_case {
	const char *text;
	const char *error;
};

static const struct error_case error_cases[] = {
	{ "[phitrail]\n\n\n\n\n\n[rule charts]\nfiels = /srv/x\n",
	  "phitrail.conf:8: unknown key 'fiels' in [rule charts] (expected files, connect, accept, unix or protocol)" },
	{ "[phitrail]\non_collector_down = maybe\n",
	  "phitrail.conf:2: on_collector_down must be spool or deny, not 'maybe'" },
	{ "[phitrail]\nflush = sometimes\n",
	  "phitrail.conf:2: flush must be batch or every-record, not 'sometimes'" },
	{ "[phitrail]\nfollow_exec = true\n",
	  "phitrail.conf:2: follow_exec must be no or yes, not 'true'" },
	{ "[phitrail]\nkernel_safety_net = yes\n",
	  "phitrail.conf:2: kernel_safety_net must be off or on, not 'yes'" },
	{ "[phitrail]\nfollow_aliases = on\n",
	  "phitrail.conf:2: follow_aliases must be no or yes, not 'on'" },
	{ "[rule x]\nfiles = /srv/{x\n",
	  "phitrail.conf:2: bad glob '/srv/{x': '{' without '}'" },
	{ "[rule x]\nfiles = srv/x\n",
	  "phitrail.conf:2: bad glob 'srv/x': must be an absolute path" },
	{ "[rule a]\nfiles = /a\n[rule b]\nfiles = /b\n[rule a]\nfiles = /c\n",
	  "phitrail.conf:5: duplicate rule 'a' (first on line 1)" },
	{ "[phitrail]\nsocket =\n",
	  "phitrail.conf:2: socket needs a value" },
	{ "[rule a]\nfiles = \n",
	  "phitrail.conf:2: files needs a value" },
	{ "[phitrail]\nbatch_delay_ms = 10001\n",
	  "phitrail.conf:2: batch_delay_ms must be a whole number from 0 to 10000, not '10001'" },
	{ "[phitrail]\nbatch_delay_ms = -1\n",
	  "phitrail.conf:2: batch_delay_ms must be a whole number from 0 to 10000, not '-1'" },
	{ "[phitrail]\ncheckpoint_interval = 0\n",
	  "phitrail.conf:2: checkpoint_interval must be a whole number from 1 to 86400, not '0'" },
	{ "[phitrail]\nretention_days = 99999999999999999999\n",
	  "phitrail.conf:2: retention_days must be a whole number from 1 to 36500, not '99999999999999999999'" },
	{ "[phitrail]\nretention_days = 12abc\n",
	  "phitrail.conf:2: retention_days must be a whole number from 1 to 36500, not '12abc'" },
	{ "[rule lonely]\nprotocol = hl7\n[rule b]\nfiles = /b\n",
	  "phitrail.conf:1: rule 'lonely' says what it covers with none of files, connect, accept or unix" },
	{ "[phitrail]\n[rule empty]\n",
	  "phitrail.conf:2: rule 'empty' says what it covers with none of files, connect, accept or unix" },
	{ "[phitrail]\n[logging]\nlevel = 3\n",
	  "phitrail.conf:2: unknown section [logging] (expected [phitrail], [rule NAME], [syslog], [forward] or [aggregate])" },
	{ "[rules x]\n", "phitrail.conf:1: unknown section [rules x] (expected [phitrail], [rule NAME], [syslog], [forward] or [aggregate])" },
	{ "[rule]\n", "phitrail.conf:1: [rule] needs a name: [rule NAME]" },
	{ "[rule a/b]\nfiles = /x\n",
	  "phitrail.conf:1: rule name 'a/b' may hold only letters, digits, '-', '_' and '.'" },
	{ "[phitrail\n", "phitrail.conf:1: '[' without ']' (expected [phitrail] or [rule NAME])" },
	{ "[phitrail]\njust some words\n",
	  "phitrail.conf:2: expected 'key = value', a [section] or a comment" },
	{ "workspace_id = x\n",
	  "phitrail.conf:1: 'workspace_id' is outside any section (expected [phitrail] or [rule NAME] first)" },
	{ "[phitrail]\nsocket = /a\n; comment\nsocket = /b\n",
	  "phitrail.conf:4: socket is set twice (first on line 2)" },
	{ "[phitrail]\nsocket = run/x.sock\n",
	  "phitrail.conf:2: socket must be an absolute path, not 'run/x.sock'" },
	{ "[phitrail]\nworkspace_id = two words\n",
	  "phitrail.conf:2: workspace_id must be one word, not 'two words'" },
	{ "[phitrail]\ncolour = red\n",
	  "phitrail.conf:2: unknown key 'colour' in [phitrail] (expected workspace_id, socket, query_socket, database, spool, on_collector_down, flush, batch_delay_ms, checkpoint_interval, retention_days, auditors, key_file, follow_exec, kernel_safety_net or follow_aliases)" },
	{ "[rule a]\nconnect = 10.0.0.5\n",
	  "phitrail.conf:2: bad connect address '10.0.0.5': expected HOST:PORT" },
	{ "[rule a]\nconnect = 10.0.0.5:0\n",
	  "phitrail.conf:2: bad connect address '10.0.0.5:0': port must be a number from 1 to 65535" },
	{ "[rule a]\nconnect = 10.0.0.5:65536\n",
	  "phitrail.conf:2: bad connect address '10.0.0.5:65536': port must be a number from 1 to 65535" },
	{ "[rule a]\nconnect = :80\n",
	  "phitrail.conf:2: bad connect address ':80': expected HOST:PORT" },
	{ "[rule a]\naccept = fe80::1:80\n",
	  "phitrail.conf:2: bad accept address 'fe80::1:80': write an IPv6 address in brackets: [ADDRESS]:PORT" },
	{ "[rule a]\nunix = run/x.sock\n",
	  "phitrail.conf:2: bad unix address 'run/x.sock': must be an absolute path or @abstract-name" },
	{ "[rule a]\nfiles = /a\nprotocol = smtp\n",
	  "phitrail.conf:3: protocol must be hl7, fhir or dicom, not 'smtp'" },
	{ "[rule a]\nfiles = /a\nprotocol = hl7\nprotocol = hl7\n",
	  "phitrail.conf:4: protocol is set twice in [rule a] (first on line 3)" },
	/* the first error wins, even when inih would report another line */
	{ "[phitrail]\nflush = never\nnot a pair\n",
	  "phitrail.conf:2: flush must be batch or every-record, not 'never'" },
	{ "[phitrail]\nnot a pair\nflush = never\n",
	  "phitrail.conf:2: expected 'key = value', a [section] or a comment" },
	/* an indented line continues the key before it */
	{ "[phitrail]\nsocket = /a\n  /b\n",
	  "phitrail.conf:3: socket takes one value, but this indented line continues it" },
	{ "[rule a]\nfiles = /a\nprotocol = hl7\n  fhir\n",
	  "phitrail.conf:4: protocol takes one value, but this indented line continues it" },
	{ "[rule a]\nfiles = /a ; first\n  /b/{x ; second\n",
	  "phitrail.conf:3: bad glob '/b/{x': '{' without '}'" },
	/* CRLF line ends */
	{ "[phitrail]\r\nflush = never\r\n",
	  "phitrail.conf:2: flush must be batch or every-record, not 'never'" },
};

/* inih keeps inline comments on continuation lines: they must not become globs */
static void test_continuation_comments(void)
{
	CHECK_STR(error_of("[rule a]\n"
			   "files = /a ; c1\n"
			   "  /b ; c2\n"
			   "\t/c\n"
			   "# between\n"
			   "  /d;e\n"), "OK");
	CHECK_INT(cfg.pattern_count, 4);
	CHECK_STR(cfg.patterns[1].glob.pattern, "/b");
	CHECK_STR(cfg.patterns[2].glob.pattern, "/c");
	CHECK_STR(cfg.patterns[3].glob.pattern, "/d;e");
}

static void test_error_messages(void)
{
	size_t i;

	for (i = 0; i < sizeof(error_cases) / sizeof(error_cases[0]); i++) {
		const char *got = error_of(error_cases[i].text);

		if (strcmp(got, error_cases[i].error) != 0) {
			fprintf(stderr, "case %zu:\n  got  %s\n  want %s\n", i, got,
				error_cases[i].error);
			CHECK(0);
		}
	}
}

static void test_error_count(void)
{
	CHECK(load("[phitrail]\nflush = a\nflush = b\nnope\n[x]\n") == -EINVAL);
	CHECK_STR(cfg.error, "phitrail.conf:2: flush must be batch or every-record, not 'a'");
	CHECK_INT(cfg.error_count, 4);
}

/* A line of n bytes (before '\n'): "files = /aaaa..." */
static char *long_line_config(size_t n, unsigned line)
{
	static char text[1024];
	size_t k = 0, i;

	for (i = 1; i < line; i++)
		text[k++] = '\n';
	k += (size_t)snprintf(text + k, sizeof(text) - k, "[rule a]\nfiles = /");
	for (i = strlen("files = /"); i < n; i++)
		text[k++] = 'a';
	text[k++] = '\n';
	text[k] = '\0';
	return text;
}

static void test_long_lines(void)
{
	/* 198 bytes is the longest line inih holds whole; 199 is refused */
	CHECK_STR(error_of(long_line_config(198, 1)), "OK");
	CHECK_INT(cfg.pattern_count, 1);
	CHECK_INT(strlen(cfg.patterns[0].glob.pattern), 198 - strlen("files = "));
	CHECK_STR(error_of(long_line_config(199, 1)),
		  "phitrail.conf:2: line longer than 198 bytes");
	CHECK_INT(cfg.pattern_count, 0);
	CHECK_STR(error_of(long_line_config(600, 5)),
		  "phitrail.conf:6: line longer than 198 bytes");
	/* the line after a long one keeps its number */
	{
		char text[1024];

		snprintf(text, sizeof(text), "%sflush = x\n", long_line_config(300, 1));
		load(text);
		/* the long line, 'flush' in a rule, and the rule left without files */
		CHECK_INT(cfg.error_count, 3);
		/* no split line may have made a pattern or a spurious error */
		CHECK_INT(cfg.pattern_count, 0);
		CHECK(strstr(cfg.error, ":2: line longer") != NULL);
	}
	{
		char text[1024];

		snprintf(text, sizeof(text), "[phitrail]\n%s", long_line_config(300, 1) + strlen("[rule a]\n"));
		memcpy(text + strlen("[phitrail]\n"), "socket= /", 9);
		CHECK_STR(error_of(text), "phitrail.conf:2: line longer than 198 bytes");
	}
}

static void test_nul_byte(void)
{
	static const char text[] = "[phitrail]\nflush = batch\0 junk\n";

	CHECK_INT(config_load_string(&cfg, "phitrail.conf", text, sizeof(text) - 1), -EINVAL);
	CHECK_STR(cfg.error, "phitrail.conf:2: NUL byte in the line");
}

static void test_limits(void)
{
	static char text[64 * 1024];
	size_t k, i;

	/* CONFIG_MAX_RULES rules: fine; one more: refused on its line */
	k = 0;
	for (i = 0; i < CONFIG_MAX_RULES; i++)
		k += (size_t)snprintf(text + k, sizeof(text) - k,
				      "[rule r%zu]\nfiles = /r/%zu\n", i, i);
	CHECK_STR(error_of(text), "OK");
	CHECK_INT(cfg.rule_count, CONFIG_MAX_RULES);
	snprintf(text + k, sizeof(text) - k, "[rule extra]\nfiles = /x\n");
	CHECK_STR(error_of(text), "phitrail.conf:257: too many rules (at most 128)");

	/* CONFIG_MAX_PATTERNS globs (4 a line): fine; one more: refused */
	k = (size_t)snprintf(text, sizeof(text), "[rule many]\n");
	for (i = 0; i < CONFIG_MAX_PATTERNS; i += 4)
		k += (size_t)snprintf(text + k, sizeof(text) - k,
				      "files = /p/%zu /p/%zu /p/%zu /p/%zu\n", i, i + 1,
				      i + 2, i + 3);
	CHECK_STR(error_of(text), "OK");
	CHECK_INT(cfg.pattern_count, CONFIG_MAX_PATTERNS);
	CHECK_INT(config_match_path(&cfg, "/p/255", NULL, 0), 0);
	snprintf(text + k, sizeof(text) - k, "files = /p/extra\n");
	CHECK_STR(error_of(text), "phitrail.conf:66: too many file patterns (at most 256)");

	/* CONFIG_MAX_ADDRESSES addresses: fine; one more: refused */
	k = (size_t)snprintf(text, sizeof(text), "[rule net]\n");
	for (i = 0; i < CONFIG_MAX_ADDRESSES; i++)
		k += (size_t)snprintf(text + k, sizeof(text) - k, "accept = :%zu\n", i + 1);
	CHECK_STR(error_of(text), "OK");
	CHECK_INT(cfg.address_count, CONFIG_MAX_ADDRESSES);
	snprintf(text + k, sizeof(text) - k, "connect = h:1\n");
	CHECK_STR(error_of(text), "phitrail.conf:130: too many addresses (at most 128)");

	/* workspace_id: 63 bytes fine, 64 refused */
	snprintf(text, sizeof(text), "[phitrail]\nworkspace_id = %.63s\n",
		 "wwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwww");
	CHECK_STR(error_of(text), "OK");
	CHECK_INT(strlen(cfg.workspace_id), 63);
	snprintf(text, sizeof(text), "[phitrail]\nworkspace_id = %.64s\n",
		 "wwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwww");
	CHECK_STR(error_of(text), "phitrail.conf:2: workspace_id is longer than 63 bytes");

	/* socket: 107 bytes fine, 108 refused */
	memset(text, 0, sizeof(text));
	k = (size_t)snprintf(text, sizeof(text), "[phitrail]\nsocket = /");
	memset(text + k, 's', 106);
	CHECK_STR(error_of(text), "OK");
	CHECK_INT(strlen(cfg.socket_path), 107);
	text[k + 106] = 's';
	CHECK_STR(error_of(text), "phitrail.conf:2: socket is longer than 107 bytes");

	/* rule names: 63 bytes fine, 64 refused */
	snprintf(text, sizeof(text), "[rule %.63s]\nfiles = /x\n",
		 "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn");
	CHECK_STR(error_of(text), "OK");
	CHECK_INT(strlen(cfg.rules[0].name), 63);
	snprintf(text, sizeof(text), "[rule %.64s]\nfiles = /x\n",
		 "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn");
	CHECK_STR(error_of(text),
		  "phitrail.conf:1: rule name '" "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn" "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn" "' is longer than 63 bytes");

	/* numbers at their limits */
	CHECK_STR(error_of("[phitrail]\nbatch_delay_ms = 10000\nretention_days = 36500\n"), "OK");
	CHECK_STR(error_of("[phitrail]\nretention_days = 36501\n"),
		  "phitrail.conf:2: retention_days must be a whole number from 1 to 36500, not '36501'");
}

static void test_first_rule_wins(void)
{
	char patient[8];

	CHECK_STR(error_of("[rule wide]\nfiles = /srv/**\n"
			   "[rule narrow]\nfiles = /srv/ehr/patients/{patient}/**\n"), "OK");
	CHECK_INT(config_match_path(&cfg, "/srv/ehr/patients/4711/x", patient, sizeof(patient)), 0);
	CHECK_STR(patient, "");
	CHECK_STR(error_of("[rule narrow]\nfiles = /srv/ehr/patients/{patient}/**\n"
			   "[rule wide]\nfiles = /srv/**\n"), "OK");
	CHECK_INT(config_match_path(&cfg, "/srv/ehr/patients/4711/x", patient, sizeof(patient)), 0);
	CHECK_STR(patient, "4711");
	CHECK_INT(config_match_path(&cfg, "/srv/other", patient, sizeof(patient)), 1);
	/* a capture longer than the buffer is cut, never overrun */
	CHECK_INT(config_match_path(&cfg, "/srv/ehr/patients/123456789012/x", patient,
				    sizeof(patient)), 0);
	CHECK_STR(patient, "1234567");
	CHECK_INT(config_match_path(&cfg, "/srvx", patient, sizeof(patient)), -1);
}

/* [forward] and [aggregate]: keys, defaults, every check and its limit. */
static void test_fleet_sections(void)
{
	char text[1024], name[80];

	CHECK_STR(error_of("[forward]\nservers = nats://a:4222,tls://b:4223\n"
			   "stream = S_1\nsubject_prefix = x.y\nhost = ehr-1\n"
			   "user = u\npassword = p\ncredentials = /etc/c.creds\n"
			   "tls = yes\ntls_ca = /ca\ntls_cert = /c\ntls_key = /k\n"
			   "stall_time = 86400\nreplicas = 5\nmax_pending = 65536\n"
			   "[aggregate]\nservers = nats://c:1\ndurable = central\n"), "OK");
	CHECK(cfg.forward.enabled && cfg.aggregate.enabled);
	CHECK_STR(cfg.forward.servers, "nats://a:4222,tls://b:4223");
	CHECK_STR(cfg.forward.subject_prefix, "x.y");
	CHECK_INT(cfg.forward.tls, CONFIG_NATS_TLS_YES);
	CHECK_INT(cfg.forward.stall_s, 86400);
	CHECK_INT(cfg.forward.replicas, 5);
	CHECK_INT(cfg.forward.max_pending, 65536);
	CHECK_STR(cfg.aggregate.durable, "central");
	CHECK_STR(cfg.aggregate.stream, "PHITRAIL");        /* defaults */
	CHECK_STR(cfg.aggregate.subject_prefix, "phitrail");
	CHECK_INT(cfg.aggregate.stall_s, 60);
	CHECK_STR(error_of("[phitrail]\n"), "OK");
	CHECK(!cfg.forward.enabled && !cfg.aggregate.enabled);

	/* one past each number's limit */
	CHECK_STR(error_of("[forward]\nservers = nats://a:1\nstall_time = 86401\n"),
		  "phitrail.conf:3: stall_time must be a whole number from 1 to 86400, "
		  "not '86401'");
	CHECK_STR(error_of("[forward]\nservers = nats://a:1\nreplicas = 6\n"),
		  "phitrail.conf:3: replicas must be a whole number from 1 to 5, not '6'");
	CHECK_STR(error_of("[forward]\nservers = nats://a:1\nmax_pending = 65537\n"),
		  "phitrail.conf:3: max_pending must be a whole number from 1 to 65536, "
		  "not '65537'");
	/* names at CONFIG_NAME_MAX - 1 bytes and one past */
	memset(name, 'a', sizeof(name));
	name[CONFIG_NAME_MAX - 1] = '\0';
	snprintf(text, sizeof(text), "[forward]\nservers = nats://a:1\nstream = %s\n", name);
	CHECK_STR(error_of(text), "OK");
	name[CONFIG_NAME_MAX - 1] = 'a';
	name[CONFIG_NAME_MAX] = '\0';
	snprintf(text, sizeof(text), "[forward]\nservers = nats://a:1\nstream = %s\n", name);
	CHECK_STR(error_of(text), "phitrail.conf:3: stream is longer than 63 bytes");
	/* what a NATS name, a URL list and a section may not be */
	CHECK_STR(error_of("[forward]\nservers = nats://a:1\nstream = a.b\n"),
		  "phitrail.conf:3: stream may hold only letters, digits, '-' and '_', "
		  "not 'a.b'");
	CHECK_STR(error_of("[forward]\nservers = nats://a:1\nsubject_prefix = a..b\n"),
		  "phitrail.conf:3: subject_prefix may hold only letters, digits, '-' "
		  "and '_' (and '.' between words), not 'a..b'");
	CHECK_STR(error_of("[forward]\nservers = nats://a:1,http://b\n"),
		  "phitrail.conf:2: servers: 'http://b' is not a nats://HOST:PORT or "
		  "tls://HOST:PORT URL");
	CHECK_STR(error_of("[forward]\nservers = nats://a:1,\n"),
		  "phitrail.conf:2: servers: '' is not a nats://HOST:PORT or "
		  "tls://HOST:PORT URL");
	CHECK_STR(error_of("[forward]\nstream = s\n"),
		  "phitrail.conf:1: [forward] needs servers = nats://HOST:PORT[,...]");
	CHECK_STR(error_of("[aggregate]\nservers = nats://a:1\n[aggregate]\n"),
		  "phitrail.conf:3: [aggregate] appears twice (first on line 1)");
	CHECK_STR(error_of("[forward]\nservers = nats://a:1\nservers = nats://b:1\n"),
		  "phitrail.conf:3: servers is set twice (first on line 2)");
	CHECK_STR(error_of("[forward]\nservers = nats://a:1\ncredentials = rel.creds\n"),
		  "phitrail.conf:3: credentials must be an absolute path, not 'rel.creds'");
	CHECK_STR(error_of("[forward]\nservers = nats://a:1\ntls = maybe\n"),
		  "phitrail.conf:3: tls must be no or yes, not 'maybe'");
	CHECK_STR(error_of("[forward]\nservers = nats://a:1\nbogus = 1\n"),
		  "phitrail.conf:3: unknown key 'bogus' in [forward] (expected servers, "
		  "stream, subject_prefix, host, durable, user, password, credentials, "
		  "tls, tls_ca, tls_cert, tls_key, tls_hostname, stall_time, replicas "
		  "or max_pending)");
}

static void test_load_file(void)
{
	char path[] = "/tmp/phitrail-test-config-XXXXXX";
	int fd = mkstemp(path);
	static char big[(1 << 20) + 2];

	CHECK(fd >= 0);
	if (fd < 0)
		return;
	CHECK(write(fd, design_example, strlen(design_example)) == (ssize_t)strlen(design_example));
	CHECK_INT(config_load(&cfg, path), 0);
	CHECK_STR(cfg.workspace_id, "ws_st_marys");
	CHECK_STR(cfg.path, path);

	/* exactly 1 MiB: read; one byte more: refused */
	memset(big, '\n', sizeof(big));
	CHECK(ftruncate(fd, 0) == 0);
	CHECK(pwrite(fd, big, 1 << 20, 0) == 1 << 20);
	CHECK_INT(config_load(&cfg, path), 0);
	CHECK(pwrite(fd, big, (1 << 20) + 1, 0) == (1 << 20) + 1);
	CHECK_INT(config_load(&cfg, path), -EFBIG);
	CHECK(strstr(cfg.error, "larger than 1048576 bytes") != NULL);
	close(fd);
	unlink(path);

	CHECK_INT(config_load(&cfg, "/nonexistent/phitrail.conf"), -ENOENT);
	CHECK_STR(cfg.error, "/nonexistent/phitrail.conf: cannot open: No such file or directory");
	CHECK_INT(config_load(&cfg, "/tmp"), -EINVAL);
}

static void test_choose_path(void)
{
	unsetenv(CONFIG_ENV);
	CHECK_STR(config_choose_path(NULL), CONFIG_DEFAULT_PATH);
	CHECK_STR(config_choose_path("/x.conf"), "/x.conf");
	setenv(CONFIG_ENV, "/env.conf", 1);
	CHECK_STR(config_choose_path(NULL), "/env.conf");
	CHECK_STR(config_choose_path("/x.conf"), "/x.conf");
	setenv(CONFIG_ENV, "", 1);
	CHECK_STR(config_choose_path(NULL), CONFIG_DEFAULT_PATH);
	unsetenv(CONFIG_ENV);
}

/*
 * The quick test in front of matching: "no" only where matching says no,
 * for paths and for working directories, and off when a pattern starts
 * with a wildcard.
 */
static void test_quick_filter(void)
{
	static const char text[] =
		"[rule charts]\n"
		"files = /srv/ehr/patients/{patient}/**\n"
		"[rule labs]\n"
		"files = /srv/lab/{patient}/*.hl7 /var/lib/pacs/**\n"
		"[rule home]\n"
		"files = /home/*/phi/**\n";
	static const struct { const char *path; int match; } paths[] = {
		{ "/srv/ehr/patients/4711/chart", 1 },
		{ "/srv/lab/4711/a.hl7", 1 },
		{ "/var/lib/pacs", 1 },
		{ "/home/alice/phi/x", 1 },
		{ "/usr/lib/libc.so.6", 0 },
		{ "/srvx/ehr", 0 },
		{ "/var/lib/pacsx", 0 },
		{ "/", 0 },
		{ "/s", 0 },
		{ "/srv/ehr/patients", 0 },
	};
	static const struct { const char *dir; int maybe; } dirs[] = {
		{ "/", 1 }, { "/srv", 1 }, { "/srv/ehr/patients/4711", 1 },
		{ "/var", 1 }, { "/var/lib", 1 }, { "/home/bob/src", 1 },
		{ "/usr/lib", 0 }, { "/sr", 0 }, { "/srvx", 0 }, { "/varx/lib", 0 },
		{ "/tmp", 0 },
	};
	size_t i;

	CHECK_INT(load(text), 0);
	CHECK_INT(cfg.path_filter.built, 1);
	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		size_t len = strlen(paths[i].path);
		int full = config_match_path(&cfg, paths[i].path, NULL, 0) >= 0;

		CHECK_INT(full, paths[i].match);
		if (full)
			CHECK_INT(config_could_match_path(&cfg, paths[i].path, len), 1);
	}
	CHECK_INT(config_could_match_path(&cfg, "/usr/lib/libc.so.6", 18), 0);
	CHECK_INT(config_could_match_path(&cfg, "/tmp/x", 6), 0);
	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		CHECK_INT(config_could_match_under(&cfg, dirs[i].dir,
						   strlen(dirs[i].dir)),
			  dirs[i].maybe);
	/* a pattern that starts with a wildcard: every path "maybe" */
	CHECK_INT(load("[rule all]\nfiles = /*/phi/**\n"), 0);
	CHECK_INT(cfg.path_filter.built, 0);
	CHECK_INT(config_could_match_path(&cfg, "/tmp/x", 6), 1);
	CHECK_INT(config_could_match_under(&cfg, "/tmp", 4), 1);
	CHECK(config_match_path(&cfg, "/data/phi/x", NULL, 0) == 0);
	/* no file rules: nothing can match */
	CHECK_INT(load("[phitrail]\nworkspace_id = w\n"), 0);
	CHECK_INT(config_could_match_path(&cfg, "/srv/x", 6), 0);
	CHECK_INT(config_could_match_under(&cfg, "/", 1), 0);
}

/*
 * The quick test on a path as written: "no" exactly where the table says,
 * and never for a path whose normal form a rule matches.
 */
static void test_raw_filter(void)
{
	static const char text[] =
		"[rule charts]\n"
		"files = /srv/ehr/patients/{patient}/**\n"
		"[rule labs]\n"
		"files = /srv/lab/{patient}/*.hl7 /var/lib/pacs/**\n"
		"[rule home]\n"
		"files = /home/*/phi/**\n";
	static const struct { const char *path; int maybe; } paths[] = {
		{ "/srv/ehr/patients/4711/chart", 1 },
		{ "/srv/ehr/./patients/4711/chart", 1 },
		{ "/srv/ehr//patients/4711/chart", 1 },
		{ "/srv/ehr/patients/4711/chart/", 1 },
		{ "/usr/../srv/ehr/patients/4711/x", 1 },
		{ "/tmp/x/../../srv/lab/1/a.hl7", 1 },
		{ "//srv/lab/1/a.hl7", 1 },
		{ "/./var/lib/pacs", 1 },
		{ "/srv/ehr/.hidden", 1 },
		{ "/srv/ehr/x/..", 1 },
		{ "/home/alice/other", 1 },    /* the prefix "/home/" matches */
		{ "/srv/ehr/patients/../x", 1 },
		{ "relative/x", 1 },
		{ "/usr/lib/libc.so.6", 0 },
		{ "/usr/lib/./libc.so.6", 0 },
		{ "/usr//lib/libc.so.6", 0 },
		{ "/srv/ehr/other/x", 0 },
		{ "/srv/ehr/x..y", 0 },
		{ "/srv/ehr/x/..y", 0 },
		{ "/srv/ehr/x/...", 0 },
		{ "/srv/eh", 0 },
		{ "/srv/ehr/", 0 },
		{ "/var/lib/pac/x/.", 0 },
		{ "/tmp/x", 0 },
		{ "/", 0 },
	};
	char normal[PATH_MAX];
	size_t i;

	CHECK_INT(load(text), 0);
	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		int maybe = config_could_match_raw(&cfg, paths[i].path);

		if (maybe != paths[i].maybe)
			fprintf(stderr, "raw filter: %s\n", paths[i].path);
		CHECK_INT(maybe, paths[i].maybe);
		if (pathglob_normalise(NULL, paths[i].path, normal,
				       sizeof(normal)) >= 0 &&
		    config_match_path(&cfg, normal, NULL, 0) >= 0)
			CHECK_INT(maybe, 1);
	}
	/* a pattern that starts with a wildcard: every path "maybe" */
	CHECK_INT(load("[rule all]\nfiles = /*/phi/**\n"), 0);
	CHECK_INT(config_could_match_raw(&cfg, "/tmp/x"), 1);
	/* no file rules: nothing can match */
	CHECK_INT(load("[phitrail]\nworkspace_id = w\n"), 0);
	CHECK_INT(config_could_match_raw(&cfg, "/srv/x"), 0);
	CHECK_INT(config_could_match_raw(&cfg, "/srv/../x"), 1);
}

/* 1 when path has a ".." segment: the plain way, for the test below. */
static int has_dot_dot_plainly(const char *path)
{
	size_t len = strlen(path);

	return strstr(path, "/../") != NULL ||
		(len >= 3 && strcmp(path + len - 3, "/..") == 0);
}

/*
 * The raw filter's ".." search and prefix comparison at every length and
 * offset around their 16-byte steps: a path that leaves the prefix early
 * is "maybe" exactly when it has a ".." segment, wherever that lies.
 */
static void test_raw_filter_offsets(void)
{
	static const char *const tails[] = {
		"/..", "/../x", "/..x", "/x..", "/.x/..", "/x.", "/...", "/.",
		"/./..", "", "/../../srv/ehr/patients/1/c", "/a/b/..",
		/* the ".." followed by more than one 16-byte step */
		"/../bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
		"/..b/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
		"/.b/../bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
	};
	char path[256], normal[PATH_MAX];
	size_t pad, t, n;

	CHECK_INT(load("[rule charts]\n"
		       "files = /srv/ehr/patients/{patient}/**\n"
		       "[rule labs]\nfiles = /srv/lab/results/*.hl7\n"), 0);
	for (pad = 0; pad < 80; pad++) {
		for (t = 0; t < sizeof(tails) / sizeof(tails[0]); t++) {
			static const char *const heads[] = {
				"/srv/ehr/other", "/srv/ehr/patientsX", "/srv/l",
				"/usr", "/srv/ehr/patients-and-more-to-pass-16",
			};

			for (size_t h = 0; h < sizeof(heads) / sizeof(heads[0]); h++) {
				int want, got;

				n = (size_t)snprintf(path, sizeof(path), "%s/", heads[h]);
				memset(path + n, 'a', pad);
				n += pad;
				snprintf(path + n, sizeof(path) - n, "%s", tails[t]);
				want = has_dot_dot_plainly(path);
				got = config_could_match_raw(&cfg, path);
				if (got != want)
					fprintf(stderr, "raw filter: %s: %d\n", path, got);
				CHECK_INT(got, want);
				if (pathglob_normalise(NULL, path, normal,
						       sizeof(normal)) >= 0 &&
				    config_match_path(&cfg, normal, NULL, 0) >= 0)
					CHECK_INT(got, 1);
			}
		}
	}
	/* the literal prefix cut at every length: "maybe" only when whole */
	for (n = 2; n <= strlen("/srv/ehr/patients/"); n++) {
		snprintf(path, n + 1, "%s", "/srv/ehr/patients/");
		CHECK_INT(config_could_match_raw(&cfg, path),
			  n == strlen("/srv/ehr/patients/") ? 1 : 0);
	}
}

int main(void)
{
	RUN(test_design_example);
	RUN(test_defaults);
	RUN(test_all_main_keys);
	RUN(test_rule_keys);
	RUN(test_continuation_comments);
	RUN(test_error_messages);
	RUN(test_error_count);
	RUN(test_long_lines);
	RUN(test_nul_byte);
	RUN(test_limits);
	RUN(test_fleet_sections);
	RUN(test_first_rule_wins);
	RUN(test_load_file);
	RUN(test_choose_path);
	RUN(test_quick_filter);
	RUN(test_raw_filter);
	RUN(test_raw_filter_offsets);
	return unit_done();
}
