/*
 * test_tools_timewords.c - times as people type them (timewords.c, through
 * cli_time_parse): each word at the boundaries of its period (a ns before
 * and at local midnight, Sunday night and Monday morning, both sides of a
 * daylight saving change), local times in a named zone and with offsets,
 * the skipped and the doubled hour, bad zones, and TZ left as it was.
 * Run in Europe/Berlin (TZ set here); expected values from Python's
 * zoneinfo over the same tz database.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "timefmt.h"
#include "timewords.h"
#include "unit.h"

#define NS CLI_NS_PER_SEC
/* Friday 2026-12-04 10:00 UTC = 11:00 in Berlin */
#define FRI_10Z (INT64_C(1796378400) * NS)

static int64_t parse_at(const char *text, int64_t now_ns)
{
	int64_t ns = -42;
	const char *why = NULL;
	int rc = cli_time_parse(text, now_ns, &ns, &why);

	if (rc != 0)
		fprintf(stderr, "parse of '%s' failed: %s\n", text,
			why ? why : "(no reason)");
	CHECK_INT(rc, 0);
	return ns;
}

static void parse_bad(const char *text, int expected_rc, const char *words)
{
	int64_t ns = -42;
	const char *why = NULL;

	CHECK_INT(cli_time_parse(text, FRI_10Z, &ns, &why), expected_rc);
	CHECK(why != NULL && strstr(why, words) != NULL);
	if (why != NULL && strstr(why, words) == NULL)
		fprintf(stderr, "'%s': '%s' lacks '%s'\n", text, why, words);
	CHECK_INT(ns, -42);
}

static void test_words_midday(void)
{
	CHECK_INT(parse_at("today", FRI_10Z), INT64_C(1796338800) * NS);
	CHECK_INT(parse_at("yesterday", FRI_10Z), INT64_C(1796252400) * NS);
	CHECK_INT(parse_at("this-week", FRI_10Z), INT64_C(1795993200) * NS);
	CHECK_INT(parse_at("this-month", FRI_10Z), INT64_C(1796079600) * NS);
	CHECK_INT(parse_at("this-year", FRI_10Z), INT64_C(1767222000) * NS);
	CHECK_INT(parse_at("recent", FRI_10Z), FRI_10Z - 600 * NS);
	CHECK_INT(parse_at("recent", FRI_10Z + 7), FRI_10Z + 7 - 600 * NS);
}

static void test_words_at_midnight(void)
{
	int64_t midnight = INT64_C(1796338800) * NS;    /* Fri 00:00 Berlin */

	CHECK_INT(parse_at("today", midnight), midnight);
	CHECK_INT(parse_at("today", midnight - 1), INT64_C(1796252400) * NS);
	CHECK_INT(parse_at("yesterday", midnight), INT64_C(1796252400) * NS);
}

static void test_week_starts_monday(void)
{
	int64_t monday = INT64_C(1795993200) * NS;      /* Mon 2026-11-30 00:00 */

	CHECK_INT(parse_at("this-week", monday), monday);
	CHECK_INT(parse_at("this-week", monday - 1), monday - 7 * 86400 * NS);
	/* the 1st of the month and of the year, at their first ns */
	CHECK_INT(parse_at("this-month", INT64_C(1796079600) * NS),
		  INT64_C(1796079600) * NS);
	CHECK_INT(parse_at("this-year", INT64_C(1767222000) * NS),
		  INT64_C(1767222000) * NS);
	CHECK_INT(parse_at("this-year", INT64_C(1767222000) * NS - 1),
		  (INT64_C(1767222000) - 365 * 86400) * NS);
}

static void test_words_across_dst(void)
{
	/* 2026-03-29: 02:00 CET becomes 03:00 CEST, the day is 23 hours */
	int64_t day_of = INT64_C(1774738800) * NS, day_after = INT64_C(1774821600) * NS;

	CHECK_INT(parse_at("today", day_of + 12 * 3600 * NS), day_of);
	CHECK_INT(parse_at("today", day_after + 3600 * NS), day_after);
	CHECK_INT(parse_at("yesterday", day_after + 3600 * NS), day_of);
	CHECK_INT(day_after - day_of, 23 * 3600 * NS);
}

static void test_zoned(void)
{
	CHECK_INT(parse_at("2026-12-04 09:00 Europe/Berlin", 0), INT64_C(1796371200) * NS);
	CHECK_INT(parse_at("2026-12-04T09:00 Europe/Berlin", 0), INT64_C(1796371200) * NS);
	CHECK_INT(parse_at("2026-07-04 09:00:00 Europe/Berlin", 0), INT64_C(1783148400) * NS);
	CHECK_INT(parse_at("2026-12-04 09:00 America/New_York", 0), INT64_C(1796392800) * NS);
	CHECK_INT(parse_at("2026-12-04 09:00 local", 0), INT64_C(1796371200) * NS);
	CHECK_INT(parse_at("2026-12-04 09:00:00.5 Europe/Berlin", 0),
		  INT64_C(1796371200) * NS + 500000000);
	/* offsets and UTC without seconds */
	CHECK_INT(parse_at("2026-12-04 09:00 +01:00", 0), INT64_C(1796371200) * NS);
	CHECK_INT(parse_at("2026-12-04 09:00 +0100", 0), INT64_C(1796371200) * NS);
	CHECK_INT(parse_at("2026-12-04 09:00+01", 0), INT64_C(1796371200) * NS);
	CHECK_INT(parse_at("2026-12-04 08:00 UTC", 0), INT64_C(1796371200) * NS);
	CHECK_INT(parse_at("2026-12-04 08:00Z", 0), INT64_C(1796371200) * NS);
	CHECK_INT(parse_at("2026-12-04 13:30 +05:30", 0), INT64_C(1796371200) * NS);
	CHECK_INT(parse_at("2026-12-04 08:00 -00:00", 0), INT64_C(1796371200) * NS);
	CHECK_INT(parse_at("2026-12-05 07:59 +23:59", 0), INT64_C(1796371200) * NS);
	parse_bad("2026-12-04 08:00 +24:00", -EINVAL, "offset");
	parse_bad("2026-12-04 08:00 +01:0", -EINVAL, "offset");
	/* RFC 3339 still wins where it fits */
	CHECK_INT(parse_at("2026-12-04T09:00:00+01:00", 0), INT64_C(1796371200) * NS);
}

static void test_zoned_dst_edges(void)
{
	/* the last second before the skipped hour, the first after it */
	CHECK_INT(parse_at("2026-03-29 01:59:59 Europe/Berlin", 0),
		  INT64_C(1774745999) * NS);
	CHECK_INT(parse_at("2026-03-29 03:00 Europe/Berlin", 0), INT64_C(1774746000) * NS);
	parse_bad("2026-03-29 02:00 Europe/Berlin", -EINVAL, "skipped");
	parse_bad("2026-03-29 02:59:59 Europe/Berlin", -EINVAL, "skipped");
	/* the doubled hour: the earlier of the two, then CET after it */
	CHECK_INT(parse_at("2026-10-25 02:30 Europe/Berlin", 0), INT64_C(1792888200) * NS);
	CHECK_INT(parse_at("2026-10-25 03:00 Europe/Berlin", 0), INT64_C(1792893600) * NS);
}

static void test_zoned_bad(void)
{
	parse_bad("2026-12-04 09:00 Mars/Base", -EINVAL, "unknown time zone");
	parse_bad("2026-12-04 09:00 ../../etc/passwd", -EINVAL, "unknown time zone");
	parse_bad("2026-12-04 09:00 /etc/localtime", -EINVAL, "unknown time zone");
	parse_bad("2026-12-04 09:00 Europe/Berlin ", -EINVAL, "unknown time zone");
	parse_bad("2026-12-04 09:00 Europe", -EINVAL, "unknown time zone");  /* a directory */
	parse_bad("2026-12-04 09:00 zone.tab", -EINVAL, "unknown time zone"); /* not TZif */
	parse_bad("2026-12-04 09:00", -EINVAL, "time zone");
	parse_bad("2026-02-29 10:00 UTC", -EINVAL, "no such day");
	parse_bad("2026-04-31 10:00 Europe/Berlin", -EINVAL, "no such");
	parse_bad("2026-12-04 24:00 UTC", -EINVAL, "out of range");
	parse_bad("2026-12-04 9:00 UTC", -EINVAL, "HH:MM:SS");
	parse_bad("Today", -EINVAL, "");
	CHECK_INT(parse_at("2024-02-29 10:00 UTC", 0), INT64_C(1709200800) * NS);
	CHECK_INT(parse_at("2026-12-31 23:59:59.999999999 UTC", 0),
		  INT64_C(1798761599) * NS + 999999999);
	parse_bad("2262-04-12 00:00 UTC", -ERANGE, "range");
}

static void test_tz_left_alone(void)
{
	const char *tz;

	parse_at("2026-12-04 09:00 America/New_York", 0);
	tz = getenv("TZ");
	CHECK_STR(tz, "Europe/Berlin");
	unsetenv("TZ");
	parse_at("2026-12-04 09:00 Asia/Tokyo", 0);
	CHECK(getenv("TZ") == NULL);
	setenv("TZ", "Europe/Berlin", 1);
	tzset();
	/* words 1 for anything else */
	{
		int64_t ns = -42;

		CHECK_INT(cli_time_parse_word("2h", 0, &ns, NULL), 1);
		CHECK_INT(cli_time_parse_zoned("2026-12-04", &ns, NULL), 1);
		CHECK_INT(ns, -42);
	}
}

int main(void)
{
	setenv("TZ", "Europe/Berlin", 1);
	tzset();
	RUN(test_words_midday);
	RUN(test_words_at_midnight);
	RUN(test_week_starts_monday);
	RUN(test_words_across_dst);
	RUN(test_zoned);
	RUN(test_zoned_dst_edges);
	RUN(test_zoned_bad);
	RUN(test_tz_left_alone);
	return unit_done();
}
