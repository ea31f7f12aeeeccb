/*
 * test_tools_timefmt.c - the CLI's time parsing and formatting: every
 * accepted form, the limits of the representable range at and one past
 * the limit, and bad input with a message that says what was expected.
 */
#include <errno.h>

#include "unit.h"
#include "timefmt.h"

#define NS CLI_NS_PER_SEC
#define T_2026 INT64_C(1795877246)     /* 2026-11-28T14:47:26Z */
#define NOW (T_2026 * NS + 123)

static int64_t
parse_ok(const char *text)
{
	int64_t ns = -42;
	const char *why = NULL;
	int rc = cli_time_parse(text, NOW, &ns, &why);

	if (rc != 0)
		fprintf(stderr, "parse of '%s' failed: %s\n", text,
			why ? why : "(no reason)");
	CHECK_INT(rc, 0);
	return ns;
}

static void
parse_bad(const char *text, int expected_rc)
{
	int64_t ns = -42;
	const char *why = NULL;

	CHECK_INT(cli_time_parse(text, NOW, &ns, &why), expected_rc);
	CHECK(why != NULL && why[0] != '\0');
	CHECK_INT(ns, -42);             /* untouched on failure */
}

static void
test_rfc3339_utc(void)
{
	CHECK_INT(parse_ok("2026-11-28T14:47:26Z"), T_2026 * NS);
	CHECK_INT(parse_ok("2026-11-28t14:47:26z"), T_2026 * NS);
	CHECK_INT(parse_ok("2026-11-28 14:47:26Z"), T_2026 * NS);
	CHECK_INT(parse_ok("1970-01-01T00:00:00Z"), 0);
	CHECK_INT(parse_ok("2024-02-29T00:00:00Z"), INT64_C(1709164800) * NS);
}

static void
test_rfc3339_fraction(void)
{
	CHECK_INT(parse_ok("2026-11-28T14:47:26.123456789Z"),
		  T_2026 * NS + 123456789);
	CHECK_INT(parse_ok("2026-11-28T14:47:26.5Z"), T_2026 * NS + 500000000);
	CHECK_INT(parse_ok("2026-11-28T14:47:26.000000001Z"), T_2026 * NS + 1);
	/* digits past the ninth are dropped, not rounded */
	CHECK_INT(parse_ok("2026-11-28T14:47:26.1234567899999Z"),
		  T_2026 * NS + 123456789);
	CHECK_INT(parse_ok("1969-12-31T23:59:59.5Z"), -500000000);
}

static void
test_rfc3339_offsets(void)
{
	CHECK_INT(parse_ok("2026-11-28T15:47:26+01:00"), T_2026 * NS);
	CHECK_INT(parse_ok("2026-11-28T09:47:26-05:00"), T_2026 * NS);
	CHECK_INT(parse_ok("2026-11-28T14:47:26+00:00"), T_2026 * NS);
	CHECK_INT(parse_ok("2026-11-28T20:17:26.25+05:30"),
		  T_2026 * NS + 250000000);
	/* crossing midnight and a year boundary */
	CHECK_INT(parse_ok("2026-12-31T23:30:00-01:00"),
		  parse_ok("2027-01-01T00:30:00Z"));
}

static void
test_leap_second(void)
{
	CHECK_INT(parse_ok("2016-12-31T23:59:60Z"),
		  parse_ok("2017-01-01T00:00:00Z"));
}

static void
test_plain_date(void)
{
	CHECK_INT(parse_ok("2026-11-28"), (T_2026 - (14 * 3600 + 47 * 60 + 26)) * NS);
	CHECK_INT(parse_ok("1970-01-01"), 0);
	CHECK_INT(parse_ok("2000-02-29"), INT64_C(951782400) * NS);
}

static void
test_relative(void)
{
	CHECK_INT(parse_ok("90s"), NOW - 90 * NS);
	CHECK_INT(parse_ok("15m"), NOW - 15 * 60 * NS);
	CHECK_INT(parse_ok("2h"), NOW - 2 * 3600 * NS);
	CHECK_INT(parse_ok("7d"), NOW - 7 * 86400 * NS);
	CHECK_INT(parse_ok("2w"), NOW - 14 * 86400 * NS);
	CHECK_INT(parse_ok("0s"), NOW);
	CHECK_INT(parse_ok("now"), NOW);
}

static void
test_bad_input(void)
{
	parse_bad("", -EINVAL);
	parse_bad("yesterdays", -EINVAL);     /* the words: test_tools_timewords */
	parse_bad("2026-13-01", -EINVAL);
	parse_bad("2026-00-10", -EINVAL);
	parse_bad("2026-02-29", -EINVAL);      /* not a leap year */
	parse_bad("2026-04-31", -EINVAL);
	parse_bad("2026-11-00", -EINVAL);
	parse_bad("2026-11-28T14:47:26", -EINVAL);    /* no zone */
	parse_bad("2026-11-28T24:00:00Z", -EINVAL);
	parse_bad("2026-11-28T14:60:00Z", -EINVAL);
	parse_bad("2026-11-28T14:47:61Z", -EINVAL);
	/* minutes alone and +HHMM are local-time forms (timewords.c) */
	CHECK_INT(parse_ok("2026-11-28T14:47Z"), (T_2026 - 26) * NS);
	CHECK_INT(parse_ok("2026-11-28T14:47:26+0100"), (T_2026 - 3600) * NS);
	parse_bad("2026-11-28T14:47:26.Z", -EINVAL);
	parse_bad("2026-11-28T14:47:26Zjunk", -EINVAL);
	parse_bad("2026-11-28T14:47:26+24:00", -EINVAL);
	parse_bad("2026-11-28X14:47:26Z", -EINVAL);
	parse_bad("2026-1-28", -EINVAL);
	parse_bad("26-11-28", -EINVAL);
	parse_bad("2026-11-28 ", -EINVAL);
	parse_bad("5x", -EINVAL);
	parse_bad("5", -EINVAL);
	parse_bad("s", -EINVAL);
	parse_bad("-5m", -EINVAL);
	parse_bad("5m ago", -EINVAL);
	parse_bad("1.5h", -EINVAL);
}

static void
test_range_limits(void)
{
	int64_t ns;

	/* the last representable second, and one past it */
	CHECK_INT(parse_ok("2262-04-11T23:47:16Z"), INT64_C(9223372036) * NS);
	CHECK_INT(parse_ok("2262-04-11T23:47:16.854775807Z"), INT64_MAX);
	parse_bad("2262-04-11T23:47:16.854775808Z", -ERANGE);
	parse_bad("2262-04-11T23:47:17Z", -ERANGE);
	parse_bad("9999-12-31", -ERANGE);
	parse_bad("1600-01-01", -ERANGE);
	parse_bad("99999999999999999999s", -ERANGE);
	parse_bad("9223372036854775807w", -ERANGE);
	/* the longest duration that still fits before now */
	CHECK_INT(cli_time_parse("106751d", 0, &ns, NULL), 0);
	CHECK_INT(ns, -INT64_C(106751) * 86400 * NS);
	CHECK_INT(cli_time_parse("106752d", INT64_MIN + 1, &ns, NULL), -ERANGE);
}

static void
test_format_rfc3339(void)
{
	char buf[CLI_TIME_TEXT_MAX];

	CHECK_INT(cli_time_format_rfc3339(T_2026, 123456789, buf, sizeof(buf)), 30);
	CHECK_STR(buf, "2026-11-28T14:47:26.123456789Z");
	CHECK_INT(cli_time_format_rfc3339(0, 0, buf, sizeof(buf)), 30);
	CHECK_STR(buf, "1970-01-01T00:00:00.000000000Z");
	CHECK_INT(cli_time_format_rfc3339(0, 1, buf, sizeof(buf)), 30);
	CHECK_STR(buf, "1970-01-01T00:00:00.000000001Z");
	CHECK_INT(cli_time_format_rfc3339(-1, 999999999, buf, sizeof(buf)), 30);
	CHECK_STR(buf, "1969-12-31T23:59:59.999999999Z");
	CHECK_INT(cli_time_format_rfc3339(951782400, 0, buf, sizeof(buf)), 30);
	CHECK_STR(buf, "2000-02-29T00:00:00.000000000Z");
	/* nanoseconds out of range, buffer one byte short, year past 9999 */
	CHECK_INT(cli_time_format_rfc3339(0, 1000000000, buf, sizeof(buf)), -EINVAL);
	CHECK_INT(cli_time_format_rfc3339(0, 0, buf, 30), -ENOSPC);
	CHECK_INT(cli_time_format_rfc3339(0, 0, buf, 31), 30);
	CHECK_INT(cli_time_format_rfc3339(INT64_C(253402300800), 0, buf,
					  sizeof(buf)), -EINVAL);
	CHECK_INT(cli_time_format_rfc3339(INT64_C(253402300799), 0, buf,
					  sizeof(buf)), 30);
	CHECK_STR(buf, "9999-12-31T23:59:59.000000000Z");
}

static void
test_format_table(void)
{
	char buf[CLI_TIME_TEXT_MAX];

	CHECK_INT(cli_time_format_table(T_2026, buf, sizeof(buf)), 20);
	CHECK_STR(buf, "2026-11-28 14:47:26Z");
	CHECK_INT(cli_time_format_table(T_2026, buf, 20), -ENOSPC);
}

static void
test_round_trip(void)
{
	static const int64_t samples[] = {
		0, 1, -1, T_2026 * NS + 123456789, INT64_C(951782400) * NS,
		INT64_C(4102444799) * NS + 999999999,    /* 2099-12-31 */
		-INT64_C(86400) * 365 * NS,
	};
	char buf[CLI_TIME_TEXT_MAX];

	for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
		int64_t sec = samples[i] / NS, nsec = samples[i] % NS;
		if (nsec < 0) {
			nsec += NS;
			sec--;
		}
		CHECK(cli_time_format_rfc3339(sec, (uint32_t)nsec, buf,
					      sizeof(buf)) > 0);
		CHECK_INT(parse_ok(buf), samples[i]);
	}
}

static void
test_days_from_civil(void)
{
	CHECK_INT(cli_days_from_civil(1970, 1, 1), 0);
	CHECK_INT(cli_days_from_civil(2000, 3, 1), 11017);
	CHECK_INT(cli_days_from_civil(1969, 12, 31), -1);
}

int
main(void)
{
	RUN(test_rfc3339_utc);
	RUN(test_rfc3339_fraction);
	RUN(test_rfc3339_offsets);
	RUN(test_leap_second);
	RUN(test_plain_date);
	RUN(test_relative);
	RUN(test_bad_input);
	RUN(test_range_limits);
	RUN(test_format_rfc3339);
	RUN(test_format_table);
	RUN(test_round_trip);
	RUN(test_days_from_civil);
	return unit_done();
}
