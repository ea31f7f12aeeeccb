/*
 * config_keys.c - the meaning of every key of phitrail.conf: one table per
 * kind of section ([phitrail], [syslog], [forward]/[aggregate], [rule
 * NAME]), each row a key, the field it sets and the check on its value.
 * A value that fails says what was expected (config_error). Rules compile
 * their patterns here (pathglob_compile) and their addresses (netaddr.c).
 *
 * Runs inside host programs at start-up: no allocation, no stdio, no output.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <bsd/string.h>
#include <ini.h>

#include "config_private.h"

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

void config_main_key(struct parse *p, const char *name, const char *value)
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

void config_syslog_key(struct parse *p, const char *name, const char *value)
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

void config_nats_key(struct parse *p, const char *name, const char *value)
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

void config_rule_key(struct parse *p, const char *name, const char *value)
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

