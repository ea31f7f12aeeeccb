/*
 * config_private.h - what the files of phitrail.conf's parser share, and
 * nothing else includes: the parse context, the error helpers, the key
 * handlers of each section and the building of the quick path test.
 *
 *   config.c         defaults, reading the file, the public entry points
 *   config_reader.c  the line reader fed to inih, sections, errors
 *   config_keys.c    the key tables and their value checks
 *   config_match.c   the quick path tests and matching a path to a rule
 */
#ifndef PHITRAIL_CONFIG_PRIVATE_H
#define PHITRAIL_CONFIG_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>

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

/* Sets cfg->error (cut to its size) and counts one error. */
void config_error_set(struct config *cfg, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* "FILE:LINE: message" into cfg->error; only the first error is kept. */
void config_error(struct parse *p, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* One key = value line of each kind of section (config_keys.c). */
void config_main_key(struct parse *p, const char *name, const char *value);
void config_syslog_key(struct parse *p, const char *name, const char *value);
void config_nats_key(struct parse *p, const char *name, const char *value);
void config_rule_key(struct parse *p, const char *name, const char *value);

/* Runs text through inih and the reader; errors land in p->cfg (config_reader.c). */
void config_parse_text(struct parse *p);

/* Builds cfg->path_filter from cfg->patterns (config_match.c). */
void config_path_filter_build(struct config *cfg);

#endif
