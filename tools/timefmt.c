/*
 * timefmt.c - reading and writing times for the CLI: RFC 3339 timestamps,
 * plain dates and relative durations ("2h" = two hours ago), and the two
 * ways records' times are printed (RFC 3339 with nanoseconds for machines,
 * seconds for people).
 *
 * Owns: the calendar arithmetic (days from a civil date and back, after
 * Howard Hinnant's public-domain algorithms), so results never depend on
 * the local time zone or the C library's tm handling.
 * Must never: read the clock (the caller passes "now"), touch the
 * environment, allocate, or accept input it cannot represent exactly: a
 * time that does not fit nanoseconds in 64 bits is -ERANGE, not wrapped.
 * The words (today, recent, ...) and local times in a named zone need the
 * time zone database: timewords.c has them, cli_time_parse asks it.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "timefmt.h"
#include "timewords.h"

#define SECONDS_PER_DAY INT64_C(86400)

/* Relative durations: the unit letter and its length. */
static const struct duration_unit {
	char letter;
	int64_t seconds;
} duration_units[] = {
	{ 's', 1 },
	{ 'm', 60 },
	{ 'h', 3600 },
	{ 'd', 86400 },
	{ 'w', INT64_C(7) * 86400 },
};

int64_t
cli_days_from_civil(int64_t year, unsigned month, unsigned day)
{
	int64_t y = year - (month <= 2);
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;                            /* 0..399 */
	int64_t mp = (month + 9) % 12;                           /* March = 0 */
	int64_t doy = (153 * mp + 2) / 5 + day - 1;              /* 0..365 */
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;    /* 0..146096 */

	return era * 146097 + doe - 719468;
}

static void
civil_from_days(int64_t days, int64_t *year, unsigned *month, unsigned *day)
{
	int64_t z = days + 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	unsigned d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
	unsigned m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);

	*year = yoe + era * 400 + (m <= 2);
	*month = m;
	*day = d;
}

static int
is_leap_year(int64_t year)
{
	return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

static unsigned
days_in_month(int64_t year, unsigned month)
{
	static const unsigned char days[12] = {
		31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
	};

	if (month == 2 && is_leap_year(year))
		return 29;
	return days[month - 1];
}

/* Reads exactly count decimal digits at *p; advances *p. -1 if not digits. */
static long
read_digits(const char **p, unsigned count)
{
	long value = 0;

	for (unsigned i = 0; i < count; i++) {
		char c = (*p)[i];
		if (c < '0' || c > '9')
			return -1;
		value = value * 10 + (c - '0');
	}
	*p += count;
	return value;
}

static int
fail(const char **why, const char *message, int rc)
{
	if (why)
		*why = message;
	return rc;
}

/* Seconds and nanoseconds to nanoseconds, or -ERANGE. */
static int
to_nanoseconds(int64_t sec, int64_t nsec, int64_t *out_ns, const char **why)
{
	if (sec > (INT64_MAX - nsec) / CLI_NS_PER_SEC ||
	    sec < INT64_MIN / CLI_NS_PER_SEC + 1)
		return fail(why, "time out of range (years 1678 to 2262)",
			    -ERANGE);
	*out_ns = sec * CLI_NS_PER_SEC + nsec;
	return 0;
}

static int
parse_duration(const char *text, int64_t now_ns, int64_t *out_ns,
	       const char **why)
{
	const char *p = text;
	int64_t count = 0;
	size_t i;

	while (*p >= '0' && *p <= '9') {
		if (count > (INT64_MAX - 9) / 10)
			return fail(why, "duration too large", -ERANGE);
		count = count * 10 + (*p++ - '0');
	}
	for (i = 0; i < sizeof(duration_units) / sizeof(duration_units[0]); i++)
		if (*p == duration_units[i].letter)
			break;
	if (i == sizeof(duration_units) / sizeof(duration_units[0]) ||
	    p[1] != '\0')
		return fail(why, "a duration is a number and one of s, m, h, "
			    "d, w (90s, 15m, 2h, 7d, 2w)", -EINVAL);

	int64_t unit_ns = duration_units[i].seconds * CLI_NS_PER_SEC;
	if (count > INT64_MAX / unit_ns)
		return fail(why, "duration too large", -ERANGE);
	int64_t back_ns = count * unit_ns;
	if (now_ns < INT64_MIN + back_ns)
		return fail(why, "duration too large", -ERANGE);
	*out_ns = now_ns - back_ns;
	return 0;
}

static int
parse_rfc3339(const char *text, int64_t *out_ns, const char **why)
{
	static const char expected[] = "expected an RFC 3339 time "
		"(2026-11-28T14:47:26Z), a date (2026-11-28) or a duration "
		"(90s, 15m, 2h, 7d, 2w)";
	const char *p = text;
	long year, month, day, hour, minute, second;
	int64_t nsec = 0, offset_s = 0;

	if ((year = read_digits(&p, 4)) < 0 || *p++ != '-' ||
	    (month = read_digits(&p, 2)) < 0 || *p++ != '-' ||
	    (day = read_digits(&p, 2)) < 0)
		return fail(why, expected, -EINVAL);
	if (month < 1 || month > 12)
		return fail(why, "month must be 01 to 12", -EINVAL);
	if (day < 1 || (unsigned)day > days_in_month(year, (unsigned)month))
		return fail(why, "no such day in that month", -EINVAL);

	int64_t days = cli_days_from_civil(year, (unsigned)month,
					   (unsigned)day);
	if (*p == '\0')
		return to_nanoseconds(days * SECONDS_PER_DAY, 0, out_ns, why);

	if (*p != 'T' && *p != 't' && *p != ' ')
		return fail(why, expected, -EINVAL);
	p++;
	if ((hour = read_digits(&p, 2)) < 0 || *p++ != ':' ||
	    (minute = read_digits(&p, 2)) < 0 || *p++ != ':' ||
	    (second = read_digits(&p, 2)) < 0)
		return fail(why, "the time of day is HH:MM:SS", -EINVAL);
	/* 60 is a leap second: it is counted as the next minute's first. */
	if (hour > 23 || minute > 59 || second > 60)
		return fail(why, "time of day out of range (00:00:00 to "
			    "23:59:60)", -EINVAL);

	if (*p == '.') {
		unsigned digits = 0;
		p++;
		if (*p < '0' || *p > '9')
			return fail(why, "a digit must follow the '.'", -EINVAL);
		while (*p >= '0' && *p <= '9') {
			if (digits < 9) {
				nsec = nsec * 10 + (*p - '0');
				digits++;
			}
			p++;
		}
		for (; digits < 9; digits++)
			nsec *= 10;
	}

	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int sign = *p++ == '-' ? -1 : 1;
		long offset_hours, offset_minutes;
		if ((offset_hours = read_digits(&p, 2)) < 0 || *p++ != ':' ||
		    (offset_minutes = read_digits(&p, 2)) < 0 ||
		    offset_hours > 23 || offset_minutes > 59)
			return fail(why, "a time zone offset is +HH:MM or "
				    "-HH:MM", -EINVAL);
		offset_s = sign * (offset_hours * 3600 + offset_minutes * 60);
	} else {
		return fail(why, "the time needs a time zone: Z or +HH:MM",
			    -EINVAL);
	}
	if (*p != '\0')
		return fail(why, "unexpected text after the time", -EINVAL);

	int64_t sec = days * SECONDS_PER_DAY + hour * 3600 + minute * 60 +
		second - offset_s;
	return to_nanoseconds(sec, nsec, out_ns, why);
}

int
cli_time_parse(const char *text, int64_t now_ns, int64_t *out_ns,
	       const char **why)
{
	const char *zoned_why = NULL;
	size_t len;
	int rc, zoned;

	if (text == NULL || (len = strlen(text)) == 0)
		return fail(why, "empty time", -EINVAL);
	if (strcmp(text, "now") == 0) {
		*out_ns = now_ns;
		return 0;
	}
	rc = cli_time_parse_word(text, now_ns, out_ns, why);
	if (rc <= 0)
		return rc;
	/* A date starts with four digits and a '-'; a duration never does. */
	if (len >= 5 && text[4] == '-') {
		rc = parse_rfc3339(text, out_ns, why);
		if (rc != -EINVAL)
			return rc;
		/* not RFC 3339: perhaps a local time in a named zone */
		zoned = cli_time_parse_zoned(text, out_ns, &zoned_why);
		if (zoned == 1)
			return rc;
		if (why)
			*why = zoned_why;
		return zoned;
	}
	if (text[0] >= '0' && text[0] <= '9')
		return parse_duration(text, now_ns, out_ns, why);
	return parse_rfc3339(text, out_ns, why);
}

static int
split_time(int64_t sec, int64_t *year, unsigned *month, unsigned *day,
	   unsigned *hour, unsigned *minute, unsigned *second)
{
	int64_t days = sec / SECONDS_PER_DAY;
	int64_t rest = sec % SECONDS_PER_DAY;

	if (rest < 0) {
		rest += SECONDS_PER_DAY;
		days--;
	}
	civil_from_days(days, year, month, day);
	if (*year < 0 || *year > 9999)
		return -EINVAL;
	*hour = (unsigned)(rest / 3600);
	*minute = (unsigned)(rest / 60 % 60);
	*second = (unsigned)(rest % 60);
	return 0;
}

int
cli_time_format_rfc3339(int64_t sec, uint32_t nsec, char *buf, size_t size)
{
	int64_t year;
	unsigned month, day, hour, minute, second;

	if (nsec >= CLI_NS_PER_SEC ||
	    split_time(sec, &year, &month, &day, &hour, &minute, &second) < 0)
		return -EINVAL;
	int n = snprintf(buf, size, "%04lld-%02u-%02uT%02u:%02u:%02u.%09uZ",
			 (long long)year, month, day, hour, minute, second,
			 (unsigned)nsec);
	if (n < 0 || (size_t)n >= size)
		return -ENOSPC;
	return n;
}

int
cli_time_format_table(int64_t sec, char *buf, size_t size)
{
	int64_t year;
	unsigned month, day, hour, minute, second;

	if (split_time(sec, &year, &month, &day, &hour, &minute, &second) < 0)
		return -EINVAL;
	int n = snprintf(buf, size, "%04lld-%02u-%02u %02u:%02u:%02uZ",
			 (long long)year, month, day, hour, minute, second);
	if (n < 0 || (size_t)n >= size)
		return -ENOSPC;
	return n;
}
