/*
 * config_reader.c - the reading of phitrail.conf's lines: inih does the
 * tokenising; it is fed through our own line reader (ini_parse_stream,
 * which is what ini_parse_string is built on) so that we always know the
 * line the handler is looking at, can refuse lines longer than inih's buffer
 * instead of having them split, refuse NUL bytes, and see section headers
 * (inih reports neither). The reader hands inih exactly one line per call,
 * so inih's line count and ours never differ.
 *
 * Owns the sections ([phitrail], [rule NAME], [syslog], [forward],
 * [aggregate]: opening, the checks when one closes) and the
 * "FILE:LINE: what was expected" messages; each key line goes to its
 * section's table in config_keys.c. No allocation, no stdio, no output.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <bsd/string.h>
#include <ini.h>

#include "config_private.h"

static bool is_space(char c);
static const char *find_chars_or_comment(const char *s, const char *chars);

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
		config_main_key(p, name, value);
		break;
	case SECTION_RULE:
		config_rule_key(p, name, value);
		break;
	case SECTION_SYSLOG:
		config_syslog_key(p, name, value);
		break;
	case SECTION_FORWARD:
	case SECTION_AGGREGATE:
		config_nats_key(p, name, value);
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

/* [syslog], [forward] or [aggregate]: sections that appear once. */
static void section_open_single(struct parse *p, const char *name,
				int *enabled, unsigned *line,
				enum section_kind kind)
{
	if (*enabled) {
		config_error(p, p->line, "[%s] appears twice (first on line %u)",
			     name, *line);
		return;
	}
	*enabled = 1;
	*line = p->line;
	p->section = kind;
}

/* [rule NAME]: name is what follows "rule", not yet trimmed on the left. */
static void section_open_rule(struct parse *p, const char *name)
{
	struct config *cfg = p->cfg;
	struct config_rule *rule;
	size_t i;

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

/* name: the text between '[' and ']', NUL-terminated, not trimmed. */
static void section_open(struct parse *p, char *name)
{
	struct config *cfg = p->cfg;
	char *end;

	section_close(p);
	while (*name == ' ' || *name == '\t')
		name++;
	end = name + strlen(name);
	while (end > name && (end[-1] == ' ' || end[-1] == '\t'))
		*--end = '\0';
	if (strcmp(name, "phitrail") == 0)
		p->section = SECTION_MAIN;
	else if (strcmp(name, "syslog") == 0)
		section_open_single(p, name, &cfg->syslog.enabled,
				    &cfg->syslog.line, SECTION_SYSLOG);
	else if (strcmp(name, "forward") == 0)
		section_open_single(p, name, &cfg->forward.enabled,
				    &cfg->forward.line, SECTION_FORWARD);
	else if (strcmp(name, "aggregate") == 0)
		section_open_single(p, name, &cfg->aggregate.enabled,
				    &cfg->aggregate.line, SECTION_AGGREGATE);
	else if (strncmp(name, "rule", 4) == 0 && (name[4] == ' ' ||
		 name[4] == '\t' || name[4] == '\0'))
		section_open_rule(p, name + 4);
	else
		config_error(p, p->line, "unknown section [%s] (expected [phitrail], "
			     "[rule NAME], [syslog], [forward] or [aggregate])", name);
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


/* Sets cfg->error (cut to its size) and counts one error. */
void config_error_set(struct config *cfg, const char *fmt, ...)
{
	va_list ap;

	cfg->error_count++;
	if (cfg->error_count > 1)
		return;
	va_start(ap, fmt);
	vsnprintf(cfg->error, sizeof(cfg->error), fmt, ap);
	va_end(ap);
}

void config_error(struct parse *p, unsigned line, const char *fmt, ...)
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
	config_error_set(p->cfg, "%s:%u: %s", p->cfg->path, line, message);
}


void config_parse_text(struct parse *p)
{
	int rc = ini_parse_stream(config_reader, p, config_handler, p);

	section_close(p);
	if (rc > 0 && p->cfg->error_count == 0)
		config_error(p, (unsigned)rc, "not understood");
	if (rc < 0 && p->cfg->error_count == 0)
		config_error(p, p->line, "could not be parsed (inih error %d)", rc);
}
