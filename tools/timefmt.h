/*
 * timefmt.h - times as the CLI reads and writes them (timefmt.c; pure
 * logic, no allocation; timewords.c, which it calls, reads the time zone
 * database).
 */
#ifndef PHITRAIL_TIMEFMT_H
#define PHITRAIL_TIMEFMT_H

#include <stddef.h>
#include <stdint.h>

#define CLI_NS_PER_SEC INT64_C(1000000000)
#define CLI_TIME_TEXT_MAX 40          /* room for any formatted time */

/*
 * Parses text into nanoseconds since the epoch (UTC):
 *   RFC 3339     2026-11-28T14:47:26Z, 2026-11-28T14:47:26.5+01:00
 *                ('t' or ' ' for 'T', 'z' for 'Z'; fraction up to 9 digits
 *                kept, more digits accepted and dropped)
 *   a date       2026-11-28 (midnight UTC)
 *   a duration   90s, 15m, 2h, 7d, 2w: that long before now_ns
 *   "now"        now_ns
 *   a word       today, yesterday, this-week, this-month, this-year (local
 *                midnight at their start), recent (10 minutes before now)
 *   a local time 2026-12-04 09:00 Europe/Berlin, ... local, ... +01:00
 *                (timewords.h)
 * Returns 0, or -EINVAL with *why (may be NULL) set to a static message
 * saying what was expected, or -ERANGE when the time is not representable.
 */
int cli_time_parse(const char *text, int64_t now_ns, int64_t *out_ns,
		   const char **why);

/* "2026-11-28T14:47:26.123456789Z". Returns the length or -ENOSPC/-EINVAL. */
int cli_time_format_rfc3339(int64_t sec, uint32_t nsec, char *buf,
			    size_t size);

/* "2026-11-28 14:47:26Z" (seconds, for people). Same returns. */
int cli_time_format_table(int64_t sec, char *buf, size_t size);

/* Days since 1970-01-01 of a proleptic Gregorian date (month 1..12). */
int64_t cli_days_from_civil(int64_t year, unsigned month, unsigned day);

#endif
