/*
 * unit.h - the smallest test harness that serves: each test is a function,
 * each check that fails prints where and why, and main() prints one line per
 * test ("PASS name" / "FAIL name") that tests/run.sh counts.
 *
 *   static void test_something(void) { CHECK(x == 1); CHECK_STR(s, "a"); }
 *   int main(void) { RUN(test_something); return unit_done(); }
 */
#ifndef PHITRAIL_UNIT_H
#define PHITRAIL_UNIT_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int unit_failed_checks;
static int unit_tests_failed;

#define CHECK(cond) do { \
	if (!(cond)) { \
		unit_failed_checks++; \
		fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
	} \
} while (0)

#define CHECK_INT(got, want) do { \
	long long unit_g = (long long)(got), unit_w = (long long)(want); \
	if (unit_g != unit_w) { \
		unit_failed_checks++; \
		fprintf(stderr, "%s:%d: %s is %lld, expected %lld\n", __FILE__, __LINE__, #got, unit_g, unit_w); \
	} \
} while (0)

#define CHECK_STR(got, want) do { \
	const char *unit_g = (got), *unit_w = (want); \
	if (unit_g == NULL || unit_w == NULL ? unit_g != unit_w : strcmp(unit_g, unit_w) != 0) { \
		unit_failed_checks++; \
		fprintf(stderr, "%s:%d: %s is \"%s\", expected \"%s\"\n", __FILE__, __LINE__, #got, \
			unit_g ? unit_g : "(null)", unit_w ? unit_w : "(null)"); \
	} \
} while (0)

#define RUN(fn) do { \
	int unit_before = unit_failed_checks; \
	fn(); \
	if (unit_failed_checks != unit_before) { \
		unit_tests_failed++; \
		printf("FAIL %s\n", #fn); \
	} else { \
		printf("PASS %s\n", #fn); \
	} \
	fflush(stdout); \
} while (0)

static inline int unit_done(void)
{
	return unit_tests_failed ? 1 : 0;
}

#endif
