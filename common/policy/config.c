/*
 * config.c - loading phitrail.conf into struct config, and matching paths
 * against its rules.
 *
 * Owns the meaning of every section and key (the tables below), the checks
 * on their values and the "FILE:LINE: what was expected" messages. inih does
 * the tokenising; it is fed through our own line reader (ini_parse_stream,
 * which is what ini_parse_string is built on) so that we always know the
 * line the handler is looking at, can refuse lines longer than inih's buffer
 * instead of having them split, refuse NUL bytes, and see section headers
 * (inih reports neither). The reader hands inih exactly one line per call,
 * so inih's line count and ours never differ.
 *
 * Runs inside host programs (the shim loads it once at start-up): the only
 * allocation is the file buffer in config_load, no stdio, no exit, no
 * output. config_match_path runs on every audited call and never allocates.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bsd/string.h>
#include <ini.h>

#include "config.h"

#define CONFIG_FILE_MAX (1u << 20)       /* largest file read, bytes */

/* ---- the parse context ---- */

enum section_kind {
	SECTION_NONE = 0,    /* before any section header */
	SECTION_MAIN,        /* [phitrail] */
	SECTION_RULE,        /* [rule NAME] */
	SECTION_SYSLOG,      /* [syslog] */
	SECTION_FORWARD,     /* [forward] */
	SECTION_AGGREGATE,   /* [aggregate] */
	SECTION_UNKNOWN,     /* already reported; its keys are skipped */
};

#define MAIN_KEY_SLOTS 16
#define SYSLOG_KEY_SLOTS 12
#define NATS_KEY_SLOTS 20

struct parse {
	struct config *cfg;
	const char *text;
	size_t len, pos;
	unsigned line;                        /* of the line inih holds now */
	enum section_kind section;
	int rule;                             /* index when SECTION_RULE */
	bool rule_has_target;                 /* files/connect/accept/unix seen */
	unsigned rule_protocol_line;
	bool key_open;                        /* inih's prev_name is set */
	bool continuation;                    /* the line continues a value */
	unsigned main_key_line[MAIN_KEY_SLOTS];
	char *key_base;                       /* what key offsets are into */
	unsigned syslog_key_line[SYSLOG_KEY_SLOTS];  /* [syslog] */
	unsigned nats_key_line[2][NATS_KEY_SLOTS];  /* [forward], [aggregate] */
};

static bool is_space(char c);
static const char *find_chars_or_comment(const char *s, const char *chars);
static void config_error(struct parse *p, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void error_set(struct config *cfg, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Sets cfg->error (cut to its size) and counts one error. */
static void error_set(struct config *cfg, const char *fmt, ...)
{
	va_list ap;

	cfg->error_count++;
	if (cfg->error_count > 1)
		return;
	va_start(ap, fmt);
	vsnprintf(cfg->error, sizeof(cfg->error), fmt, ap);
	va_end(ap);
}

static void config_error(struct parse *p, unsigned line, const char *fmt, ...)
{
	char message[CONFIG_ERROR_MAX];
	va_list ap;

	if (p->cfg->error_count > 0) {
		p->cfg->error_count++;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	error_set(p->cfg, "%s:%u: %s", p->cfg->path, line, message);
}

/* ---- value checks ---- */

static int parse_number(const char *value, unsigned min, unsigned max,
			unsigned *out)
{
	unsigned long n = 0;
	const char *s = value;

	if (*s == '\0')
		return -EINVAL;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		n = n * 10 + (unsigned long)(*s - '0');
		if (n > max)
			return -ERANGE;
	}
	if (n < min)
		return -ERANGE;
	*out = (unsigned)n;
	return 0;
}

static bool has_space_or_control(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= ' ' || *s == 0x7f)
			return true;
	return false;
}

/* ---- [phitrail] keys ---- */

struct main_key;
typedef void (*main_key_handler)(struct parse *p, const struct main_key *k,
				 const char *value);

struct main_key {
	const char *name;
	main_key_handler handler;
	size_t offset;        /* into struct config */
	size_t size;          /* of a string field */
	unsigned min, max;    /* of a number field */
};

static void *config_field(struct parse *p, const struct main_key *k)
{
	return p->key_base + k->offset;
}

static void key_name(struct parse *p, const struct main_key *k, const char *value)
{
	if (has_space_or_control(value)) {
		config_error(p, p->line, "%s must be one word, not '%s'", k->name, value);
		return;
	}
	if (strlen(value) >= k->size) {
		config_error(p, p->line, "%s is longer than %zu bytes", k->name,
			     k->size - 1);
		return;
	}
	strlcpy(config_field(p, k), value, k->size);
}

static void key_path(struct parse *p, const struct main_key *k, const char *value)
{
	if (value[0] != '/') {
		config_error(p, p->line, "%s must be an absolute path, not '%s'",
			     k->name, value);
		return;
	}
	if (strlen(value) >= k->size) {
		config_error(p, p->line, "%s is longer than %zu bytes", k->name,
			     k->size - 1);
		return;
	}
	strlcpy(config_field(p, k), value, k->size);
}

static void key_number(struct parse *p, const struct main_key *k, const char *value)
{
	int rc = parse_number(value, k->min, k->max, config_field(p, k));

	if (rc < 0)
		config_error(p, p->line, "%s must be a whole number from %u to %u, not '%s'",
			     k->name, k->min, k->max, value);
}

/* Words that a key accepts, in enum order. */
struct choice {
	const char *key;
	const char *words[3];
	size_t offset;
};

static const struct choice choices[] = {
	{ "on_collector_down", { "spool", "deny", NULL },
	  offsetof(struct config, on_collector_down) },
	{ "flush", { "batch", "every-record", NULL },
	  offsetof(struct config, flush) },
	{ "follow_exec", { "no", "yes", NULL },
	  offsetof(struct config, follow_exec) },
	{ "kernel_safety_net", { "off", "on", NULL },
	  offsetof(struct config, kernel_safety_net) },
	{ "follow_aliases", { "no", "yes", NULL },
	  offsetof(struct config, follow_aliases) },
	{ "tls", { "no", "yes", NULL }, offsetof(struct config_nats, tls) },
};

static void key_choice(struct parse *p, const struct main_key *k, const char *value)
{
	const struct choice *c = NULL;
	size_t i;

	for (i = 0; i < sizeof(choices) / sizeof(choices[0]); i++)
		if (strcmp(choices[i].key, k->name) == 0)
			c = &choices[i];
	if (c == NULL)
		return;
	for (i = 0; c->words[i] != NULL; i++) {
		if (strcmp(c->words[i], value) == 0) {
			/* every choice field is an enum or int */
			*(int *)(p->key_base + c->offset) = (int)i;
			return;
		}
	}
	config_error(p, p->line, "%s must be %s or %s, not '%s'", k->name,
		     c->words[0], c->words[1], value);
}

#define STRING_KEY(key, handler, field) \
	{ key, handler, offsetof(struct config, field), \
	  sizeof(((struct config *)0)->field), 0, 0 }
#define NUMBER_KEY(key, field, min, max) \
	{ key, key_number, offsetof(struct config, field), 0, min, max }
#define CHOICE_KEY(key) { key, key_choice, 0, 0, 0, 0 }

static const struct main_key main_keys[] = {
	STRING_KEY("workspace_id", key_name, workspace_id),
	STRING_KEY("socket", key_path, socket_path),
	STRING_KEY("query_socket", key_path, query_socket_path),
	STRING_KEY("database", key_path, database),
	STRING_KEY("spool", key_path, spool),
	CHOICE_KEY("on_collector_down"),
	CHOICE_KEY("flush"),
	NUMBER_KEY("batch_delay_ms", batch_delay_ms, 0, 10000),
	NUMBER_KEY("checkpoint_interval", checkpoint_interval_s, 1, 86400),
	NUMBER_KEY("retention_days", retention_days, 1, 36500),
	STRING_KEY("auditors", key_name, auditors),
	STRING_KEY("key_file", key_path, key_file),
	CHOICE_KEY("follow_exec"),
	CHOICE_KEY("kernel_safety_net"),
	CHOICE_KEY("follow_aliases"),
};

#define MAIN_KEY_COUNT (sizeof(main_keys) / sizeof(main_keys[0]))
_Static_assert(MAIN_KEY_COUNT <= MAIN_KEY_SLOTS, "main_key_line too small");

/* A key of a section of single keys ([phitrail], [syslog], [forward],
 * [aggregate]). */
static void table_key(struct parse *p, const struct main_key *keys, size_t count,
		      unsigned *lines, const char *section, const char *expected,
		      const char *name, const char *value)
{
	size_t i;

	for (i = 0; i < count; i++)
		if (strcmp(keys[i].name, name) == 0)
			break;
	if (i == count) {
		config_error(p, p->line, "unknown key '%s' in [%s] (expected %s)",
			     name, section, expected);
		return;
	}
	if (lines[i] != 0) {
		config_error(p, p->line, "%s is set twice (first on line %u)", name,
			     lines[i]);
		return;
	}
	lines[i] = p->line;
	if (value[0] == '\0') {
		config_error(p, p->line, "%s needs a value", name);
		return;
	}
	keys[i].handler(p, &keys[i], value);
}

static void main_key(struct parse *p, const char *name, const char *value)
{
	p->key_base = (char *)p->cfg;
	table_key(p, main_keys, MAIN_KEY_COUNT, p->main_key_line, "phitrail",
		  "workspace_id, socket, query_socket, database, spool, "
		  "on_collector_down, flush, batch_delay_ms, checkpoint_interval, "
		  "retention_days, auditors, key_file, follow_exec, "
		  "kernel_safety_net or follow_aliases", name, value);
}

/* ---- [syslog] keys (struct config_syslog) ---- */

/* server: HOST:PORT or [IPV6]:PORT, port 1..65535. */
static void key_host_port(struct parse *p, const struct main_key *k, const char *value)
{
	const char *colon = strrchr(value, ':');
	unsigned port;

	if (has_space_or_control(value) || strlen(value) >= k->size ||
	    colon == NULL || colon == value ||
	    (value[0] == '[' && colon[-1] != ']') ||
	    (value[0] != '[' && memchr(value, ':', (size_t)(colon - value)) != NULL) ||
	    parse_number(colon + 1, 1, 65535, &port) < 0) {
		config_error(p, p->line, "%s must be HOST:PORT or [IPV6]:PORT (port "
			     "1 to 65535, at most %zu bytes), not '%s'", k->name,
			     k->size - 1, value);
		return;
	}
	strlcpy(config_field(p, k), value, k->size);
}

/* app_name: RFC 5424 APP-NAME, 1 to 48 printable ASCII characters. */
static void key_app_name(struct parse *p, const struct main_key *k, const char *value)
{
	for (const char *c = value; *c; c++) {
		if (*c < '!' || *c > '~') {
			config_error(p, p->line, "%s may hold only printable ASCII "
				     "without spaces (RFC 5424 APP-NAME), not '%s'",
				     k->name, value);
			return;
		}
	}
	key_name(p, k, value);
}

/* ---- [forward] and [aggregate] keys (struct config_nats) ---- */

/* servers: comma-separated nats:// or tls:// URLs, no spaces. */
static void key_servers(struct parse *p, const struct main_key *k, const char *value)
{
	const char *s = value;

	if (has_space_or_control(value) || strlen(value) >= k->size) {
		config_error(p, p->line, "%s must be one word of at most %zu bytes: "
			     "nats://HOST:PORT[,nats://HOST:PORT...]", k->name,
			     k->size - 1);
		return;
	}
	for (;;) {
		const char *comma = strchr(s, ',');
		size_t len = comma ? (size_t)(comma - s) : strlen(s);

		if (!((len > 7 && strncmp(s, "nats://", 7) == 0) ||
		      (len > 6 && strncmp(s, "tls://", 6) == 0))) {
			config_error(p, p->line, "%s: '%.*s' is not a nats://HOST:PORT "
				     "or tls://HOST:PORT URL", k->name, (int)len, s);
			return;
		}
		if (comma == NULL)
			break;
		s = comma + 1;
	}
	strlcpy(config_field(p, k), value, k->size);
}

/* A NATS name: letters, digits, '-', '_' (and '.' between tokens of a
 * subject when k is subject_prefix). */
static void key_nats_name(struct parse *p, const struct main_key *k, const char *value)
{
	int dots = strcmp(k->name, "subject_prefix") == 0;
	size_t i;

	for (i = 0; value[i] != '\0'; i++) {
		char c = value[i];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_')
			continue;
		if (dots && c == '.' && i > 0 && value[i + 1] != '\0' &&
		    value[i + 1] != '.')
			continue;
		config_error(p, p->line, "%s may hold only letters, digits, '-' and "
			     "'_'%s, not '%s'", k->name, dots ? " (and '.' between "
			     "words)" : "", value);
		return;
	}
	key_name(p, k, value);
}

#define SYSLOG_STRING_KEY(key, handler, field) \
	{ key, handler, offsetof(struct config_syslog, field), \
	  sizeof(((struct config_syslog *)0)->field), 0, 0 }
#define SYSLOG_NUMBER_KEY(key, field, min, max) \
	{ key, key_number, offsetof(struct config_syslog, field), 0, min, max }

static const struct main_key syslog_keys[] = {
	SYSLOG_STRING_KEY("server", key_host_port, server),
	SYSLOG_STRING_KEY("tls_ca", key_path, tls_ca),
	SYSLOG_STRING_KEY("tls_cert", key_path, tls_cert),
	SYSLOG_STRING_KEY("tls_key", key_path, tls_key),
	SYSLOG_STRING_KEY("tls_hostname", key_name, tls_hostname),
	SYSLOG_STRING_KEY("app_name", key_app_name, app_name),
	SYSLOG_NUMBER_KEY("facility", facility, 0, 23),
	SYSLOG_NUMBER_KEY("stall_time", stall_s, 1, 86400),
	SYSLOG_NUMBER_KEY("max_pending", max_pending, 1, 65536),
};

#define SYSLOG_KEY_COUNT (sizeof(syslog_keys) / sizeof(syslog_keys[0]))
_Static_assert(SYSLOG_KEY_COUNT <= SYSLOG_KEY_SLOTS, "syslog_key_line too small");

static void syslog_key(struct parse *p, const char *name, const char *value)
{
	p->key_base = (char *)&p->cfg->syslog;
	table_key(p, syslog_keys, SYSLOG_KEY_COUNT, p->syslog_key_line, "syslog",
		  "server, tls_ca, tls_cert, tls_key, tls_hostname, app_name, "
		  "facility, stall_time or max_pending", name, value);
}

#define NATS_STRING_KEY(key, handler, field) \
	{ key, handler, offsetof(struct config_nats, field), \
	  sizeof(((struct config_nats *)0)->field), 0, 0 }
#define NATS_NUMBER_KEY(key, field, min, max) \
	{ key, key_number, offsetof(struct config_nats, field), 0, min, max }

static const struct main_key nats_keys[] = {
	NATS_STRING_KEY("servers", key_servers, servers),
	NATS_STRING_KEY("stream", key_nats_name, stream),
	NATS_STRING_KEY("subject_prefix", key_nats_name, subject_prefix),
	NATS_STRING_KEY("host", key_nats_name, host),
	NATS_STRING_KEY("durable", key_nats_name, durable),
	NATS_STRING_KEY("user", key_name, user),
	NATS_STRING_KEY("password", key_name, password),
	NATS_STRING_KEY("credentials", key_path, credentials),
	NATS_STRING_KEY("tls_ca", key_path, tls_ca),
	NATS_STRING_KEY("tls_cert", key_path, tls_cert),
	NATS_STRING_KEY("tls_key", key_path, tls_key),
	NATS_STRING_KEY("tls_hostname", key_name, tls_hostname),
	CHOICE_KEY("tls"),
	NATS_NUMBER_KEY("stall_time", stall_s, 1, 86400),
	NATS_NUMBER_KEY("replicas", replicas, 1, 5),
	NATS_NUMBER_KEY("max_pending", max_pending, 1, 65536),
};

#define NATS_KEY_COUNT (sizeof(nats_keys) / sizeof(nats_keys[0]))
_Static_assert(NATS_KEY_COUNT <= NATS_KEY_SLOTS, "nats_key_line too small");

static void nats_key(struct parse *p, const char *name, const char *value)
{
	int aggregate = p->section == SECTION_AGGREGATE;

	p->key_base = (char *)(aggregate ? &p->cfg->aggregate : &p->cfg->forward);
	table_key(p, nats_keys, NATS_KEY_COUNT, p->nats_key_line[aggregate],
		  aggregate ? "aggregate" : "forward",
		  "servers, stream, subject_prefix, host, durable, user, password, "
		  "credentials, tls, tls_ca, tls_cert, tls_key, tls_hostname, "
		  "stall_time, replicas or max_pending", name, value);
}

/* ---- [rule NAME] keys ---- */

static void rule_files(struct parse *p, const char *name, char *value)
{
	struct config *cfg = p->cfg;
	char *glob, *save = NULL;
	const char *why;

	for (glob = strtok_r(value, " \t", &save); glob != NULL;
	     glob = strtok_r(NULL, " \t", &save)) {
		struct config_pattern *pat;

		if (cfg->pattern_count >= CONFIG_MAX_PATTERNS) {
			config_error(p, p->line, "too many file patterns (at most %d)",
				     CONFIG_MAX_PATTERNS);
			return;
		}
		pat = &cfg->patterns[cfg->pattern_count];
		if (pathglob_compile(&pat->glob, glob, &why) < 0) {
			config_error(p, p->line, "bad glob '%s': %s", glob, why);
			continue;
		}
		pat->rule = (unsigned)p->rule;
		cfg->pattern_count++;
	}
}

static void rule_address(struct parse *p, const char *name, char *value,
			 enum config_address_kind kind)
{
	struct config *cfg = p->cfg;
	char *item, *save = NULL;
	const char *why;

	for (item = strtok_r(value, " \t", &save); item != NULL;
	     item = strtok_r(NULL, " \t", &save)) {
		struct config_address *addr;

		if (cfg->address_count >= CONFIG_MAX_ADDRESSES) {
			config_error(p, p->line, "too many addresses (at most %d)",
				     CONFIG_MAX_ADDRESSES);
			return;
		}
		addr = &cfg->addresses[cfg->address_count];
		memset(addr, 0, sizeof(*addr));
		why = NULL;
		if (strlen(item) >= CONFIG_ADDRESS_MAX)
			why = "is longer than 255 bytes";
		else
			(void)netaddr_parse(&addr->compiled, item,
					    kind == CONFIG_ADDRESS_ACCEPT,
					    kind == CONFIG_ADDRESS_UNIX, &why);
		if (why != NULL) {
			config_error(p, p->line, "bad %s address '%s': %s", name, item, why);
			continue;
		}
		cfg->address_count++;
		addr->kind = kind;
		addr->rule = (unsigned)p->rule;
		strlcpy(addr->text, item, sizeof(addr->text));
	}
}

static void rule_connect(struct parse *p, const char *name, char *value)
{
	rule_address(p, name, value, CONFIG_ADDRESS_CONNECT);
}

static void rule_accept(struct parse *p, const char *name, char *value)
{
	rule_address(p, name, value, CONFIG_ADDRESS_ACCEPT);
}

static void rule_unix(struct parse *p, const char *name, char *value)
{
	rule_address(p, name, value, CONFIG_ADDRESS_UNIX);
}

static const char *const protocols[] = { "hl7", "fhir", "dicom" };

static void rule_protocol(struct parse *p, const char *name, char *value)
{
	struct config_rule *rule = &p->cfg->rules[p->rule];
	size_t i;

	if (p->rule_protocol_line != 0) {
		config_error(p, p->line, "protocol is set twice in [rule %s] (first on line %u)",
			     rule->name, p->rule_protocol_line);
		return;
	}
	p->rule_protocol_line = p->line;
	for (i = 0; i < sizeof(protocols) / sizeof(protocols[0]); i++) {
		if (strcmp(protocols[i], value) == 0) {
			strlcpy(rule->protocol, value, sizeof(rule->protocol));
			return;
		}
	}
	config_error(p, p->line, "protocol must be hl7, fhir or dicom, not '%s'", value);
}

struct rule_key {
	const char *name;
	void (*handler)(struct parse *p, const char *name, char *value);
	bool target;          /* says what the rule is about */
};

static const struct rule_key rule_keys[] = {
	{ "files", rule_files, true },
	{ "connect", rule_connect, true },
	{ "accept", rule_accept, true },
	{ "unix", rule_unix, true },
	{ "protocol", rule_protocol, false },
};

static void rule_key(struct parse *p, const char *name, const char *value)
{
	char copy[INI_MAX_LINE + 1];
	size_t i;

	for (i = 0; i < sizeof(rule_keys) / sizeof(rule_keys[0]); i++)
		if (strcmp(rule_keys[i].name, name) == 0)
			break;
	if (i == sizeof(rule_keys) / sizeof(rule_keys[0])) {
		config_error(p, p->line, "unknown key '%s' in [rule %s] (expected "
			     "files, connect, accept, unix or protocol)", name,
			     p->cfg->rules[p->rule].name);
		return;
	}
	if (value[0] == '\0') {
		config_error(p, p->line, "%s needs a value", name);
		return;
	}
	if (rule_keys[i].target)
		p->rule_has_target = true;
	strlcpy(copy, value, sizeof(copy));     /* lines are shorter (reader) */
	rule_keys[i].handler(p, name, copy);
}

/*
 * inih hands an indented line after a key over as more of that key's value,
 * but (unlike a key line) with its inline comment still on: cut it here.
 */
static const char *continuation_value(struct parse *p, const char *value,
				      char *buf, size_t size)
{
	char *end;

	strlcpy(buf, value, size);
	*(char *)find_chars_or_comment(buf, NULL) = '\0';
	end = buf + strlen(buf);
	while (end > buf && is_space(end[-1]))
		*--end = '\0';
	return buf;
}

static int config_handler(void *user, const char *section, const char *name,
			  const char *value)
{
	struct parse *p = user;
	char buf[INI_MAX_LINE + 1];

	(void)section;  /* the reader tracks sections itself, untruncated */
	if (p->continuation && p->section != SECTION_UNKNOWN) {
		value = continuation_value(p, value, buf, sizeof(buf));
		if (p->section != SECTION_RULE || strcmp(name, "protocol") == 0) {
			config_error(p, p->line, "%s takes one value, but this "
				     "indented line continues it", name);
			return 1;
		}
	}
	switch (p->section) {
	case SECTION_NONE:
		config_error(p, p->line, "'%s' is outside any section (expected "
			     "[phitrail] or [rule NAME] first)", name);
		break;
	case SECTION_MAIN:
		main_key(p, name, value);
		break;
	case SECTION_RULE:
		rule_key(p, name, value);
		break;
	case SECTION_SYSLOG:
		syslog_key(p, name, value);
		break;
	case SECTION_FORWARD:
	case SECTION_AGGREGATE:
		nats_key(p, name, value);
		break;
	case SECTION_UNKNOWN:
		break;
	}
	return 1;
}

/* ---- sections, seen by the reader ---- */

static void section_close(struct parse *p)
{
	if (p->section == SECTION_RULE && !p->rule_has_target) {
		const struct config_rule *rule = &p->cfg->rules[p->rule];

		config_error(p, rule->line, "rule '%s' says what it covers with "
			     "none of files, connect, accept or unix", rule->name);
	}
	if (p->section == SECTION_SYSLOG) {
		const struct config_syslog *sl = &p->cfg->syslog;

		if (sl->server[0] == '\0' || sl->tls_ca[0] == '\0')
			config_error(p, sl->line, "[syslog] needs server = HOST:PORT "
				     "and tls_ca = FILE (RFC 5425: TLS only)");
		else if ((sl->tls_cert[0] == '\0') != (sl->tls_key[0] == '\0'))
			config_error(p, sl->line, "[syslog] needs tls_cert and "
				     "tls_key together");
	}
	if ((p->section == SECTION_FORWARD || p->section == SECTION_AGGREGATE)) {
		const struct config_nats *n = p->section == SECTION_FORWARD ?
			&p->cfg->forward : &p->cfg->aggregate;

		if (n->servers[0] == '\0')
			config_error(p, n->line, "[%s] needs servers = "
				     "nats://HOST:PORT[,...]", p->section ==
				     SECTION_FORWARD ? "forward" : "aggregate");
	}
	p->section = SECTION_UNKNOWN;
	p->rule_has_target = false;
	p->rule_protocol_line = 0;
}

static bool rule_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
}

/* name: the text between '[' and ']', NUL-terminated, not trimmed. */
static void section_open(struct parse *p, char *name)
{
	struct config *cfg = p->cfg;
	struct config_rule *rule;
	char *end;
	size_t i;

	section_close(p);
	while (*name == ' ' || *name == '\t')
		name++;
	end = name + strlen(name);
	while (end > name && (end[-1] == ' ' || end[-1] == '\t'))
		*--end = '\0';
	if (strcmp(name, "phitrail") == 0) {
		p->section = SECTION_MAIN;
		return;
	}
	if (strcmp(name, "syslog") == 0) {
		if (cfg->syslog.enabled) {
			config_error(p, p->line, "[syslog] appears twice (first on "
				     "line %u)", cfg->syslog.line);
			return;
		}
		cfg->syslog.enabled = 1;
		cfg->syslog.line = p->line;
		p->section = SECTION_SYSLOG;
		return;
	}
	if (strcmp(name, "forward") == 0 || strcmp(name, "aggregate") == 0) {
		struct config_nats *n = name[0] == 'f' ? &cfg->forward :
			&cfg->aggregate;

		if (n->enabled) {
			config_error(p, p->line, "[%s] appears twice (first on line %u)",
				     name, n->line);
			return;
		}
		n->enabled = 1;
		n->line = p->line;
		p->section = name[0] == 'f' ? SECTION_FORWARD : SECTION_AGGREGATE;
		return;
	}
	if (strncmp(name, "rule", 4) != 0 || (name[4] != ' ' && name[4] != '\t' &&
	    name[4] != '\0')) {
		config_error(p, p->line, "unknown section [%s] (expected [phitrail], "
			     "[rule NAME], [syslog], [forward] or [aggregate])", name);
		return;
	}
	name += 4;
	while (*name == ' ' || *name == '\t')
		name++;
	if (*name == '\0') {
		config_error(p, p->line, "[rule] needs a name: [rule NAME]");
		return;
	}
	for (i = 0; name[i] != '\0'; i++) {
		if (!rule_name_char(name[i])) {
			config_error(p, p->line, "rule name '%s' may hold only letters, "
				     "digits, '-', '_' and '.'", name);
			return;
		}
	}
	if (i >= CONFIG_NAME_MAX) {
		config_error(p, p->line, "rule name '%s' is longer than %d bytes",
			     name, CONFIG_NAME_MAX - 1);
		return;
	}
	for (i = 0; i < cfg->rule_count; i++) {
		if (strcmp(cfg->rules[i].name, name) == 0) {
			config_error(p, p->line, "duplicate rule '%s' (first on line %u)",
				     name, cfg->rules[i].line);
			return;
		}
	}
	if (cfg->rule_count >= CONFIG_MAX_RULES) {
		config_error(p, p->line, "too many rules (at most %d)", CONFIG_MAX_RULES);
		return;
	}
	rule = &cfg->rules[cfg->rule_count];
	memset(rule, 0, sizeof(*rule));
	strlcpy(rule->name, name, sizeof(rule->name));
	rule->line = p->line;
	p->rule = (int)cfg->rule_count++;
	p->section = SECTION_RULE;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' ||
	    c == '\f';
}

/*
 * Where inih's find_chars_or_comment stops: at one of chars, or at an inline
 * ';' comment that follows whitespace, or at the end.
 */
static const char *find_chars_or_comment(const char *s, const char *chars)
{
	bool was_space = false;

	while (*s != '\0' && (chars == NULL || strchr(chars, *s) == NULL) &&
	       !(was_space && *s == ';')) {
		was_space = is_space(*s);
		s++;
	}
	return s;
}

/*
 * Looks at one line (NUL-terminated, without its '\n') the way inih will,
 * and does what inih does not tell us: sections and syntax errors.
 */
static void line_classify(struct parse *p, char *line)
{
	char *start = line, *end;

	if (p->line == 1 && (unsigned char)start[0] == 0xef &&
	    (unsigned char)start[1] == 0xbb && (unsigned char)start[2] == 0xbf)
		start += 3;
	end = start + strlen(start);
	while (end > start && is_space(end[-1]))
		*--end = '\0';
	while (is_space(*start))
		start++;
	if (*start == '\0' || *start == ';' || *start == '#')
		return;
	if (p->key_open && start > line) {
		p->continuation = true;   /* inih passes it as the key's value */
		return;
	}
	if (*start == '[') {
		end = (char *)find_chars_or_comment(start + 1, "]");
		if (*end != ']') {
			config_error(p, p->line, "'[' without ']' (expected "
				     "[phitrail] or [rule NAME])");
			return;
		}
		*end = '\0';
		p->key_open = false;
		section_open(p, start + 1);
		return;
	}
	end = (char *)find_chars_or_comment(start, "=:");
	if (*end != '=' && *end != ':') {
		config_error(p, p->line, "expected 'key = value', a [section] "
			     "or a comment");
		return;
	}
	p->key_open = end > start;
}

/* The ini_reader: hands inih one whole line per call, or NULL at the end. */
static char *config_reader(char *str, int num, void *stream)
{
	struct parse *p = stream;
	const char *line = p->text + p->pos, *nl;
	size_t avail = p->len - p->pos, n, copy;
	char classify[INI_MAX_LINE + 1];

	if (avail == 0 || num < 2)
		return NULL;
	p->line++;
	nl = memchr(line, '\n', avail);
	n = nl ? (size_t)(nl - line) : avail;
	p->pos += nl ? n + 1 : n;

	p->continuation = false;
	if (memchr(line, '\0', n) != NULL) {
		config_error(p, p->line, "NUL byte in the line");
		goto blank;
	}
	/* inih needs room for the '\n' and the NUL after the line. */
	if (n + 2 > (size_t)num || n + 1 > sizeof(classify)) {
		config_error(p, p->line, "line longer than %d bytes", num - 2);
		goto blank;
	}
	memcpy(classify, line, n);
	classify[n] = '\0';
	line_classify(p, classify);
	copy = n;
	memcpy(str, line, copy);
	str[copy++] = '\n';
	str[copy] = '\0';
	return str;
blank:
	str[0] = '\n';
	str[1] = '\0';
	return str;
}

/* ---- loading ---- */

/*
 * The tables (rules, patterns, addresses: nearly all of the struct) are not
 * cleared: an entry is written whole when it is added and nothing reads past
 * the counts. The shim's configuration lives in every host process; clearing
 * it all would make some 300 KiB of it resident there for nothing.
 */
static void config_nats_defaults(struct config_nats *n)
{
	strlcpy(n->stream, "PHITRAIL", sizeof(n->stream));
	strlcpy(n->subject_prefix, "phitrail", sizeof(n->subject_prefix));
	strlcpy(n->durable, "phitrail-aggregate", sizeof(n->durable));
	n->stall_s = 60;
	n->replicas = 1;
	n->max_pending = 16384;
}

void config_defaults(struct config *cfg)
{
	memset(cfg, 0, offsetof(struct config, rules));
	cfg->rule_count = 0;
	cfg->pattern_count = 0;
	cfg->address_count = 0;
	memset(cfg->error, 0, sizeof(cfg->error));
	cfg->error_count = 0;
	memset(&cfg->path_filter, 0, sizeof(cfg->path_filter));
	strlcpy(cfg->workspace_id, "default", sizeof(cfg->workspace_id));
	strlcpy(cfg->socket_path, "/run/phitrail/ingest.sock", sizeof(cfg->socket_path));
	strlcpy(cfg->query_socket_path, "/run/phitrail/query.sock",
		sizeof(cfg->query_socket_path));
	strlcpy(cfg->database, "/var/lib/phitrail/audit.db", sizeof(cfg->database));
	strlcpy(cfg->spool, "/var/spool/phitrail", sizeof(cfg->spool));
	strlcpy(cfg->key_file, "/var/lib/phitrail/signing.key", sizeof(cfg->key_file));
	cfg->auditors[0] = '\0';
	cfg->on_collector_down = CONFIG_ON_DOWN_SPOOL;
	cfg->flush = CONFIG_FLUSH_BATCH;
	cfg->batch_delay_ms = 50;
	cfg->checkpoint_interval_s = 60;
	cfg->retention_days = 2190;
	cfg->follow_exec = 1;
	strlcpy(cfg->syslog.app_name, "phitraild", sizeof(cfg->syslog.app_name));
	cfg->syslog.facility = 10;          /* authpriv, as IHE ATNA suggests */
	cfg->syslog.stall_s = 60;
	cfg->syslog.max_pending = 1024;
	cfg->kernel_safety_net = 1;
	cfg->follow_aliases = 1;
	config_nats_defaults(&cfg->forward);
	config_nats_defaults(&cfg->aggregate);
}

const char *config_choose_path(const char *explicit_path)
{
	const char *env;

	if (explicit_path != NULL && explicit_path[0] != '\0')
		return explicit_path;
	env = getenv(CONFIG_ENV);
	if (env != NULL && env[0] != '\0')
		return env;
	return CONFIG_DEFAULT_PATH;
}

static void config_path_filter_build(struct config *cfg);

int config_load_string(struct config *cfg, const char *name, const char *text,
		       size_t len)
{
	struct parse p;
	int rc;

	config_defaults(cfg);
	strlcpy(cfg->path, name ? name : "(string)", sizeof(cfg->path));
	memset(&p, 0, sizeof(p));
	p.cfg = cfg;
	p.text = text;
	p.len = len;
	p.section = SECTION_NONE;
	if (len > CONFIG_FILE_MAX) {
		error_set(cfg, "%s: larger than %u bytes", cfg->path, CONFIG_FILE_MAX);
		return -EINVAL;
	}
	rc = ini_parse_stream(config_reader, &p, config_handler, &p);
	section_close(&p);
	if (rc > 0 && cfg->error_count == 0)
		config_error(&p, (unsigned)rc, "not understood");
	if (rc < 0 && cfg->error_count == 0)
		config_error(&p, p.line, "could not be parsed (inih error %d)", rc);
	config_path_filter_build(cfg);
	return cfg->error_count > 0 ? -EINVAL : 0;
}

int config_load(struct config *cfg, const char *path)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0, cap;
	ssize_t n;
	int fd, rc;

	config_defaults(cfg);
	strlcpy(cfg->path, path, sizeof(cfg->path));
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		rc = -errno;
		error_set(cfg, "%s: cannot open: %s", path, strerror(-rc));
		return rc;
	}
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = -EINVAL;
		error_set(cfg, "%s: not a regular file", path);
		goto out;
	}
	/* Room for the file as it is now (a small malloc, not a mapping of
	 * CONFIG_FILE_MAX in every process the shim starts in); grown to the
	 * limit only if it grows while we read. */
	cap = st.st_size < CONFIG_FILE_MAX ? (size_t)st.st_size + 2 : CONFIG_FILE_MAX + 1;
	buf = malloc(cap);
	if (buf == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	for (;;) {
		if (len == cap && cap < CONFIG_FILE_MAX + 1) {
			char *bigger = realloc(buf, CONFIG_FILE_MAX + 1);

			if (bigger == NULL) {
				rc = -ENOMEM;
				goto fail;
			}
			buf = bigger;
			cap = CONFIG_FILE_MAX + 1;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			goto fail;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > CONFIG_FILE_MAX) {
			rc = -EFBIG;
			error_set(cfg, "%s: larger than %u bytes", path, CONFIG_FILE_MAX);
			goto out;
		}
	}
	rc = config_load_string(cfg, path, buf, len);
	goto out;
fail:
	error_set(cfg, "%s: cannot read: %s", path, strerror(-rc));
out:
	free(buf);
	close(fd);
	return rc;
}

/* ---- matching ---- */

/*
 * The quick test (config.h). Each pattern contributes the part of its literal
 * prefix up to and including the '/' that ends its first segment (or the
 * whole literal prefix when shorter, cut to CONFIG_FILTER_PREFIX_MAX - 1):
 * a path the pattern matches starts with its literal prefix, so with that
 * part. A part that starts with another is left out (the shorter one says
 * "maybe" for both). A pattern with less than "/x" as its literal prefix
 * (a wildcard right after the first '/'), or more distinct parts than
 * fit, leaves the filter unbuilt: every path "maybe".
 */
static void config_path_filter_build(struct config *cfg)
{
	struct config_path_filter *f = &cfg->path_filter;
	size_t i, k, len;

	memset(f, 0, sizeof(*f));
	for (i = 0; i < cfg->pattern_count; i++) {
		const struct pathglob *g = &cfg->patterns[i].glob;
		const char *slash;

		len = g->literal_prefix;
		slash = len > 1 ? memchr(g->pattern + 1, '/', len - 1) : NULL;
		if (slash != NULL)
			len = (size_t)(slash - g->pattern) + 1;
		if (len >= CONFIG_FILTER_PREFIX_MAX)
			len = CONFIG_FILTER_PREFIX_MAX - 1;
		if (len < 2)
			goto unbuilt;
		for (k = 0; k < f->count; k++) {
			size_t n = f->length[k] < len ? f->length[k] : len;

			if (memcmp(f->prefix[k], g->pattern, n) != 0)
				continue;
			if (len < f->length[k])
				f->length[k] = (unsigned short)len;  /* keep the shorter */
			break;
		}
		if (k < f->count)
			continue;
		if (f->count >= CONFIG_FILTER_PREFIXES)
			goto unbuilt;
		memcpy(f->prefix[f->count], g->pattern, len);
		f->length[f->count++] = (unsigned short)len;
	}
	for (k = 0; k < f->count; k++) {
		unsigned char c = (unsigned char)f->prefix[k][1];

		f->second_byte[c >> 3] |= (unsigned char)(1u << (c & 7));
	}
	f->built = 1;
	return;
unbuilt:
	memset(f, 0, sizeof(*f));
}

int config_could_match_path(const struct config *cfg, const char *path,
			    size_t len)
{
	const struct config_path_filter *f = &cfg->path_filter;
	unsigned char c;
	size_t k;

	if (!f->built)
		return 1;
	if (len < 2)
		return 0;           /* "/": every prefix is longer */
	c = (unsigned char)path[1];
	if (!(f->second_byte[c >> 3] & (1u << (c & 7))))
		return 0;
	for (k = 0; k < f->count; k++)
		if (f->length[k] <= len &&
		    memcmp(path, f->prefix[k], f->length[k]) == 0)
			return 1;
	return 0;
}

int config_could_match_under(const struct config *cfg, const char *dir,
			     size_t len)
{
	const struct config_path_filter *f = &cfg->path_filter;
	size_t k, n;

	if (!f->built)
		return 1;
	if (len <= 1)
		return f->count > 0;  /* "/": every absolute path is below it */
	for (k = 0; k < f->count; k++) {
		n = f->length[k];
		if (n <= len) {
			/* the prefix is a prefix of dir, so of all below it */
			if (memcmp(dir, f->prefix[k], n) == 0)
				return 1;
		} else if (memcmp(dir, f->prefix[k], len) == 0 &&
		    f->prefix[k][len] == '/') {
			return 1;   /* a path below dir can start with it */
		}
	}
	return 0;
}

/*
 * The quick test for a path as the program wrote it (config.h). For each
 * pattern, let k be the first byte where path and the pattern's literal
 * prefix differ (path matching the whole prefix: "maybe"). Normalising
 * only drops empty and "." segments and resolves ".." ones; so when path
 * has no ".." segment and the segments up to the one holding byte k are
 * kept as they are (the bytes before k are the prefix's, whose segments
 * are literal; that segment is non-empty and does not start with '.'),
 * the normal form has the same bytes up to k, or ends there, and misses
 * the prefix too. Anything else is "maybe".
 *
 * The ".." search need not look at the bytes before the segment holding
 * k, the same for every pattern: a ".." segment there would be whole
 * inside a literal prefix, and compiled patterns have none. So it starts
 * at the '/' before the earliest such segment, found with the prefixes.
 * One strlen, then 16 bytes per step where SSE2 is there; no load reaches
 * past the path's NUL.
 */
#ifdef __SSE2__
#include <emmintrin.h>

/* Bit i set when a[i] == b[i], for the 16 bytes at a and b. */
static inline unsigned config_equal16(const char *a, const char *b)
{
	__m128i x = _mm_loadu_si128((const __m128i *)(const void *)a);
	__m128i y = _mm_loadu_si128((const __m128i *)(const void *)b);

	return (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, y));
}

/* Bit i set when p[i] == '/' and p[i + 1] == '.' (p + 16 readable). */
static inline unsigned config_slash_dot16(const char *p)
{
	__m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
	__m128i y = _mm_loadu_si128((const __m128i *)(const void *)(p + 1));

	return (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, _mm_set1_epi8('/'))) &
		(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(y, _mm_set1_epi8('.')));
}
#endif

/* The first n bytes of a and b are readable: where they first differ, or n. */
static size_t config_first_difference(const char *a, const char *b, size_t n)
{
	size_t i = 0;

#ifdef __SSE2__
	unsigned same;

	for (; i + 16 <= n; i += 16)
		if ((same = config_equal16(a + i, b + i)) != 0xffff)
			return i + (size_t)__builtin_ctz(~same);
	if (i == n)
		return n;
	if (n >= 16) {                 /* the last 16 bytes, again in part */
		i = n - 16;
		same = config_equal16(a + i, b + i);
		return same == 0xffff ? n : i + (size_t)__builtin_ctz(~same);
	}
#endif
	for (; i + 8 <= n; i += 8) {
		uint64_t x, y;

		memcpy(&x, a + i, 8);
		memcpy(&y, b + i, 8);
		if (x != y) {
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
			return i + (size_t)__builtin_ctzll(x ^ y) / 8;
#else
			return i + (size_t)__builtin_clzll(x ^ y) / 8;
#endif
		}
	}
	while (i < n && a[i] == b[i])
		i++;
	return i;
}

/* 1 when p (a '/' followed by '.') starts a ".." segment. */
static inline int config_dot_dot_at(const char *p)
{
	return p[2] == '.' && (p[3] == '/' || p[3] == '\0');
}

/*
 * 1 when path (len bytes and its NUL) has a ".." segment whose '/' is at
 * from or after it.
 */
static int config_has_dot_dot(const char *path, size_t from, size_t len)
{
	size_t i = from;

#ifdef __SSE2__
	unsigned m;

	for (; i + 16 <= len; i += 16)     /* reads up to path[i + 16] */
		for (m = config_slash_dot16(path + i); m != 0; m &= m - 1)
			if (config_dot_dot_at(path + i + __builtin_ctz(m)))
				return 1;
	if (i == len)
		return 0;
	if (len >= 16 && len - 16 >= from) {   /* the tail, again in part */
		i = len - 16;
		for (m = config_slash_dot16(path + i); m != 0; m &= m - 1)
			if (config_dot_dot_at(path + i + __builtin_ctz(m)))
				return 1;
		return 0;
	}
#endif
	for (; i < len; i++)
		if (path[i] == '/' && path[i + 1] == '.' &&
		    config_dot_dot_at(path + i))
			return 1;
	return 0;
}

int config_could_match_raw(const struct config *cfg, const char *path)
{
	const struct config_path_filter *f = &cfg->path_filter;
	unsigned char c;
	size_t i, k, s, from, len;

	if (!f->built || path[0] != '/')
		return 1;
	c = (unsigned char)path[1];
	len = strlen(path);
	from = 0;
	if (f->second_byte[c >> 3] & (1u << (c & 7))) {
		from = len;
		for (i = 0; i < cfg->pattern_count; i++) {
			const struct pathglob *g = &cfg->patterns[i].glob;
			size_t n = g->literal_prefix;

			k = config_first_difference(path, g->pattern,
						    len < n ? len : n);
			if (k == n)
				return 1;
			for (s = k; g->pattern[s - 1] != '/'; s--)
				;
			if (path[s] == '.' || path[s] == '/')
				return 1;
			if (s - 1 < from)
				from = s - 1;
		}
	} else if (c == '.' || c == '/') {
		return 1;              /* byte 1 differs from every prefix's */
	}
	return config_has_dot_dot(path, from, len);
}

/* Whether capture name is "patient", without a call. */
static int config_capture_is_patient(const char *name)
{
	static const char patient[8] = "patient";   /* with its NUL */

	return memcmp(name, patient, sizeof(patient)) == 0;
}

int config_match_path(const struct config *cfg, const char *path,
		      char *patient, size_t patient_size)
{
	size_t len;

	if (patient != NULL && patient_size > 0)
		patient[0] = '\0';
	if (path == NULL)
		return -1;
	len = strlen(path);
	if (!config_could_match_path(cfg, path, len))
		return -1;
	return config_match_normal(cfg, path, len, patient, patient_size);
}

int config_match_normal(const struct config *cfg, const char *path,
			size_t len, char *patient, size_t patient_size)
{
	struct pathglob_capture captures[PATHGLOB_MAX_CAPTURES];
	size_t i;

	if (patient != NULL && patient_size > 0)
		patient[0] = '\0';
	for (i = 0; i < cfg->pattern_count; i++) {
		const struct config_pattern *pat = &cfg->patterns[i];
		const struct pathglob *g = &pat->glob;

		if (!pathglob_match(g, path, len, captures))
			continue;
		for (unsigned c = 0; c < g->capture_count &&
		     patient != NULL && patient_size > 0; c++) {
			size_t n = captures[c].length;

			if (!config_capture_is_patient(g->capture_names[c]))
				continue;
			if (n >= patient_size)
				n = patient_size - 1;
			memcpy(patient, path + captures[c].offset, n);
			patient[n] = '\0';
			break;
		}
		return (int)pat->rule;
	}
	return -1;
}
