/*
 * timewords.c - times as people type them, for --since and --until:
 * the words of ausearch (today, yesterday, this-week, this-month,
 * this-year, recent) and a date and time of day in a named time zone
 * ("2026-12-04 09:00 Europe/Berlin", "... local", "... +01:00").
 *
 * Owns: everything that needs the time zone database. The words count in
 * the local zone (TZ, else /etc/localtime): today is local midnight, a
 * week starts on Monday (ISO 8601; ausearch asks the locale, we do not),
 * recent is the last 10 minutes. A named zone is looked up under TZDIR
 * (default /usr/share/zoneinfo) and must exist there: glibc would take an
 * unknown name for UTC without a word. A local time the clocks skipped
 * (spring forward) is refused; one they passed twice (fall back) is the
 * earlier of the two.
 * Must never: leave TZ changed (it is set around mktime and restored), or
 * accept a zone name that leaves TZDIR ("..", a leading '/').
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "timefmt.h"
#include "timewords.h"

#define RECENT_SECONDS 600
#define ZONE_NAME_MAX 64

static int word_fail(const char **why, const char *message, int rc)
{
	if (why)
		*why = message;
	return rc;
}

/* ---- the local zone, or TZ set for a while ---- */

struct zone_switch {
	int switched;
	int had_tz;
	char old_tz[256];
};

/* Makes zone (a validated name, or NULL for the local zone) current. */
static int zone_enter(struct zone_switch *z, const char *zone)
{
	const char *old = getenv("TZ");

	z->switched = 0;
	if (zone == NULL) {
		tzset();
		return 0;
	}
	z->had_tz = old != NULL;
	if (old != NULL &&
	    snprintf(z->old_tz, sizeof(z->old_tz), "%s", old) >= (int)sizeof(z->old_tz))
		return -ENAMETOOLONG;
	if (setenv("TZ", zone, 1) < 0)
		return -errno;
	tzset();
	z->switched = 1;
	return 0;
}

static void zone_leave(struct zone_switch *z)
{
	if (!z->switched)
		return;
	if (z->had_tz)
		(void)setenv("TZ", z->old_tz, 1);
	else
		(void)unsetenv("TZ");
	tzset();
	z->switched = 0;
}

/*
 * The time_t of a local civil time in the current zone: -EINVAL when the
 * clocks skipped it, the earlier one when they passed it twice.
 */
static int local_to_time(const struct tm *want, time_t *out)
{
	static const int isdst_tries[] = { 1, 0 };
	struct tm tm, back;
	time_t t, best = 0;
	int found = 0;
	size_t i;

	for (i = 0; i < sizeof(isdst_tries) / sizeof(isdst_tries[0]); i++) {
		tm = *want;
		tm.tm_isdst = isdst_tries[i];
		t = mktime(&tm);
		if (t == (time_t)-1 && errno == EOVERFLOW)
			continue;
		if (localtime_r(&t, &back) == NULL)
			continue;
		if (back.tm_year != want->tm_year || back.tm_mon != want->tm_mon ||
		    back.tm_mday != want->tm_mday || back.tm_hour != want->tm_hour ||
		    back.tm_min != want->tm_min || back.tm_sec != want->tm_sec)
			continue;         /* not this one: mktime moved it */
		if (!found || t < best)
			best = t;
		found = 1;
	}
	if (!found)
		return -EINVAL;
	*out = best;
	return 0;
}

/* ---- the words ---- */

enum word_start { START_DAY, START_YESTERDAY, START_WEEK, START_MONTH, START_YEAR };

static int word_midnight(enum word_start start, int64_t now_ns, int64_t *out_ns,
			 const char **why)
{
	time_t now = (time_t)(now_ns / CLI_NS_PER_SEC), t;
	struct tm tm;

	tzset();
	if (localtime_r(&now, &tm) == NULL)
		return word_fail(why, "the local time of now is unknown", -ERANGE);
	tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
	switch (start) {
	case START_DAY: break;
	case START_YESTERDAY: tm.tm_mday -= 1; break;
	case START_WEEK: tm.tm_mday -= (tm.tm_wday + 6) % 7; break;
	case START_MONTH: tm.tm_mday = 1; break;
	case START_YEAR: tm.tm_mday = 1; tm.tm_mon = 0; break;
	}
	tm.tm_isdst = -1;
	t = mktime(&tm);             /* normalises a day before the 1st */
	if (t == (time_t)-1)
		return word_fail(why, "midnight is not representable", -ERANGE);
	/* A zone whose clocks skip midnight: mktime gave the first time after. */
	*out_ns = (int64_t)t * CLI_NS_PER_SEC;
	return 0;
}

static const struct time_word {
	const char *name;
	int start;                       /* enum word_start, or -1: recent */
} time_words[] = {
	{ "today", START_DAY },
	{ "yesterday", START_YESTERDAY },
	{ "this-week", START_WEEK },
	{ "this-month", START_MONTH },
	{ "this-year", START_YEAR },
	{ "recent", -1 },
};

int cli_time_parse_word(const char *text, int64_t now_ns, int64_t *out_ns,
			const char **why)
{
	size_t i;

	for (i = 0; i < sizeof(time_words) / sizeof(time_words[0]); i++) {
		if (strcmp(text, time_words[i].name) != 0)
			continue;
		if (time_words[i].start < 0) {
			if (now_ns < INT64_MIN + RECENT_SECONDS * CLI_NS_PER_SEC)
				return word_fail(why, "time out of range", -ERANGE);
			*out_ns = now_ns - RECENT_SECONDS * CLI_NS_PER_SEC;
			return 0;
		}
		return word_midnight((enum word_start)time_words[i].start, now_ns,
				     out_ns, why);
	}
	return 1;
}

/* ---- a date and time in a zone ---- */

static long digits(const char **p, unsigned count)
{
	long value = 0;
	unsigned i;

	for (i = 0; i < count; i++) {
		if ((*p)[i] < '0' || (*p)[i] > '9')
			return -1;
		value = value * 10 + ((*p)[i] - '0');
	}
	*p += count;
	return value;
}

static long month_days(long year, long month)
{
	return (long)(month == 12 ?
		      cli_days_from_civil(year + 1, 1, 1) - cli_days_from_civil(year, 12, 1) :
		      cli_days_from_civil(year, (unsigned)month + 1, 1) -
		      cli_days_from_civil(year, (unsigned)month, 1));
}

/* A zone name for TZ: the characters of tzdata names, inside TZDIR, a TZif file. */
static int zone_name_valid(const char *name)
{
	const char *dir = getenv("TZDIR"), *p;
	char path[PATH_MAX], magic[4];
	struct stat st;
	int fd, ok;

	if (name[0] == '\0' || name[0] == '/' || name[0] == '.' ||
	    strlen(name) >= ZONE_NAME_MAX || strstr(name, "..") != NULL)
		return 0;
	for (p = name; *p != '\0'; p++)
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		      (*p >= '0' && *p <= '9') || *p == '/' || *p == '_' ||
		      *p == '-' || *p == '+'))
			return 0;
	if (dir == NULL || dir[0] == '\0')
		dir = "/usr/share/zoneinfo";
	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
		return 0;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0 && errno == ELOOP)   /* tzdata links some names */
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return 0;
	ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	     read(fd, magic, sizeof(magic)) == (ssize_t)sizeof(magic) &&
	     memcmp(magic, "TZif", 4) == 0;
	close(fd);
	return ok;
}

/* A date and time of day as typed, before its zone says when it was. */
struct typed_time {
	long year, month, day, hour, minute, second;
	int64_t nsec;
};

/*
 * "YYYY-MM-DD HH:MM[:SS[.fraction]]" (or 'T' between) at *p, *p moved
 * past it: 0, or 1 when the text is not of this form.
 */
static int read_date_time(const char **text, struct typed_time *tt)
{
	const char *p = *text;

	memset(tt, 0, sizeof(*tt));
	if ((tt->year = digits(&p, 4)) < 0 || *p++ != '-' ||
	    (tt->month = digits(&p, 2)) < 0 || *p++ != '-' ||
	    (tt->day = digits(&p, 2)) < 0 || (*p != ' ' && *p != 'T' && *p != 't'))
		return 1;
	p++;
	if ((tt->hour = digits(&p, 2)) < 0 || *p++ != ':' ||
	    (tt->minute = digits(&p, 2)) < 0)
		return 1;
	if (*p == ':' && (p++, (tt->second = digits(&p, 2)) < 0))
		return 1;
	if (*p == '.') {
		unsigned n = 0;

		p++;
		if (*p < '0' || *p > '9')
			return 1;
		for (; *p >= '0' && *p <= '9'; p++)
			if (n < 9) {
				tt->nsec = tt->nsec * 10 + (*p - '0');
				n++;
			}
		for (; n < 9; n++)
			tt->nsec *= 10;
	}
	*text = p;
	return 0;
}

/*
 * A fixed offset from UTC: Z, UTC, GMT, +HH:MM, +HHMM or +HH, east
 * positive, into *offset_sec. 0; 1 when zone is not an offset (a name);
 * or a negative errno after word_fail.
 */
static int read_offset(const char *zone, long *offset_sec, const char **why)
{
	const char *p = zone;
	long hours, minutes = 0;
	int sign;

	if (strcmp(p, "Z") == 0 || strcmp(p, "z") == 0 || strcmp(p, "UTC") == 0 ||
	    strcmp(p, "GMT") == 0) {
		*offset_sec = 0;
		return 0;
	}
	if (*p != '+' && *p != '-')
		return 1;
	sign = *p++ == '-' ? -1 : 1;
	if ((hours = digits(&p, 2)) < 0)
		return word_fail(why, "an offset is +HH:MM, +HHMM or +HH", -EINVAL);
	if (*p == ':')
		p++;
	if (*p != '\0' && (minutes = digits(&p, 2)) < 0)
		return word_fail(why, "an offset is +HH:MM, +HHMM or +HH", -EINVAL);
	if (*p != '\0' || hours > 23 || minutes > 59)
		return word_fail(why, "an offset is +HH:MM, +HHMM or +HH", -EINVAL);
	*offset_sec = sign * (hours * 3600 + minutes * 60);
	return 0;
}

/* tt at a fixed offset from UTC, in ns since the epoch. */
static int time_at_offset(const struct typed_time *tt, long offset_sec,
			  int64_t *out_ns, const char **why)
{
	int64_t days, sec;

	days = cli_days_from_civil(tt->year, (unsigned)tt->month, (unsigned)tt->day);
	if (tt->day > month_days(tt->year, tt->month))
		return word_fail(why, "no such day in that month", -EINVAL);
	sec = days * 86400 + tt->hour * 3600 + tt->minute * 60 + tt->second -
	      offset_sec;
	if (sec > (INT64_MAX - tt->nsec) / CLI_NS_PER_SEC ||
	    sec < INT64_MIN / CLI_NS_PER_SEC + 1)
		return word_fail(why, "time out of range (years 1678 to 2262)", -ERANGE);
	*out_ns = sec * CLI_NS_PER_SEC + tt->nsec;
	return 0;
}

/* tt in the named zone (or the local one: zone "local"), by mktime. */
static int time_in_zone(const struct typed_time *tt, const char *zone,
			int64_t *out_ns, const char **why)
{
	struct zone_switch z;
	struct tm tm;
	time_t t;
	int rc;

	if (strcmp(zone, "local") != 0 && !zone_name_valid(zone))
		return word_fail(why, "unknown time zone (a name such as Europe/Berlin "
			    "from the tz database, 'local', 'UTC' or an offset "
			    "such as +01:00)", -EINVAL);
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = (int)(tt->year - 1900);
	tm.tm_mon = (int)(tt->month - 1);
	tm.tm_mday = (int)tt->day;
	tm.tm_hour = (int)tt->hour;
	tm.tm_min = (int)tt->minute;
	tm.tm_sec = (int)tt->second;
	rc = zone_enter(&z, strcmp(zone, "local") == 0 ? NULL : zone);
	if (rc < 0)
		return word_fail(why, "cannot switch the time zone", rc);
	rc = local_to_time(&tm, &t);
	zone_leave(&z);
	if (rc < 0)
		return word_fail(why, "no such local time there (a day that month "
			    "does not have, or an hour the clocks skipped)", -EINVAL);
	if ((int64_t)t > (INT64_MAX - tt->nsec) / CLI_NS_PER_SEC ||
	    (int64_t)t < INT64_MIN / CLI_NS_PER_SEC + 1)
		return word_fail(why, "time out of range (years 1678 to 2262)", -ERANGE);
	*out_ns = (int64_t)t * CLI_NS_PER_SEC + tt->nsec;
	return 0;
}

int cli_time_parse_zoned(const char *text, int64_t *out_ns, const char **why)
{
	struct typed_time tt;
	const char *p = text;
	long offset_sec;
	int rc;

	if (read_date_time(&p, &tt) != 0)
		return 1;
	if (tt.month < 1 || tt.month > 12 || tt.day < 1 || tt.day > 31 ||
	    tt.hour > 23 || tt.minute > 59 || tt.second > 59)
		return word_fail(why, "date or time of day out of range", -EINVAL);
	if (*p == ' ')
		p++;
	if (*p == '\0')
		return word_fail(why, "the time needs a time zone: Z, +HH:MM, a name "
			    "such as Europe/Berlin, or 'local'", -EINVAL);
	rc = read_offset(p, &offset_sec, why);
	if (rc == 0)
		return time_at_offset(&tt, offset_sec, out_ns, why);
	if (rc < 0)
		return rc;
	return time_in_zone(&tt, p, out_ns, why);
}
