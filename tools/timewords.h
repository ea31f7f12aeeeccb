/*
 * timewords.h - times as people type them (timewords.c): ausearch's words
 * and local times in a named zone. cli_time_parse (timefmt.h) tries these
 * where its own forms do not fit; call them directly only in tests.
 */
#ifndef PHITRAIL_TIMEWORDS_H
#define PHITRAIL_TIMEWORDS_H

#include <stdint.h>

/*
 * today, yesterday, this-week (Monday), this-month, this-year: local
 * midnight at their start; recent: 10 minutes before now_ns. Returns 0,
 * 1 when text is none of them, or -ERANGE with *why.
 */
int cli_time_parse_word(const char *text, int64_t now_ns, int64_t *out_ns,
			const char **why);

/*
 * "YYYY-MM-DD HH:MM[:SS[.frac]] ZONE" ('T' for the space; the space
 * before ZONE optional): ZONE a tz database name (Europe/Berlin), "local"
 * (TZ, else /etc/localtime), UTC, GMT, Z, or an offset +HH:MM, +HHMM or
 * +HH. Returns 0, 1 when text has not this shape (no time of day), or
 * -EINVAL/-ERANGE with *why (also for a time without a zone).
 */
int cli_time_parse_zoned(const char *text, int64_t *out_ns, const char **why);

#endif
