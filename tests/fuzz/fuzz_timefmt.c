/*
 * fuzz_timefmt.c - cli_time_parse (tools/timefmt.c with timewords.c: the
 * words, local times in named zones, RFC 3339, dates, durations) on
 * arbitrary text, in Europe/Berlin. A time that parses parses again to the
 * same value, its RFC 3339 form parses back to it, and TZ is left as it was.
 */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../tools/timefmt.c"
#include "../../tools/timewords.c"

#define NOW_NS (INT64_C(1796378400) * CLI_NS_PER_SEC + 123)

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	setenv("TZ", "Europe/Berlin", 1);
	tzset();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char text[160], again[CLI_TIME_TEXT_MAX];
	const char *why = NULL, *tz;
	int64_t ns = 0, ns2 = 0, back = 0;
	int rc;

	if (size >= sizeof(text))
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	rc = cli_time_parse(text, NOW_NS, &ns, &why);
	tz = getenv("TZ");
	assert(tz != NULL && strcmp(tz, "Europe/Berlin") == 0);
	if (rc != 0) {
		assert(rc == -EINVAL || rc == -ERANGE);
		assert(why != NULL && why[0] != '\0');
		return 0;
	}
	assert(cli_time_parse(text, NOW_NS, &ns2, &why) == 0 && ns2 == ns);
	if (cli_time_format_rfc3339(ns / CLI_NS_PER_SEC - (ns % CLI_NS_PER_SEC < 0),
				    (uint32_t)((ns % CLI_NS_PER_SEC + CLI_NS_PER_SEC) %
					       CLI_NS_PER_SEC), again, sizeof(again)) > 0) {
		assert(cli_time_parse(again, NOW_NS, &back, &why) == 0);
		assert(back == ns);
	}
	return 0;
}
