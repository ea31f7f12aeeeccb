/*
 * test_tools_unusual.c - the signals of "report unusual" on exact inputs:
 * many patients against a usual day (median of other days) and without
 * one, hours outside a user's usual ones, bulk reads at the limit and one
 * below, failed attempts; and that ordinary use gives no finding.
 */
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "unit.h"

#define DAY 86400
#define T0 1764028800            /* 2025-11-25T00:00:00Z */

static struct report_item items[4000];
static size_t n;
static char names[4000][16];

static void add(const char *actor, int patient, int64_t sec, const char *event,
		const char *result, int64_t pid)
{
	struct report_item *it = &items[n];

	memset(it, 0, sizeof(*it));
	snprintf(names[n], sizeof(names[n]), "p%d", patient);
	it->id = (int64_t)n + 1;
	it->actor = (char *)actor;
	it->patient = patient >= 0 ? names[n] : NULL;
	it->sec = sec;
	it->event = (char *)event;
	it->result = (char *)result;
	it->pid = pid;
	it->exe = (char *)"/usr/bin/cat";
	it->host = (char *)"h";
	it->target = (char *)"/srv/ehr/x";
	n++;
}

static size_t find(struct unusual_finding **f)
{
	struct unusual_limits lim;
	size_t count = 0;

	unusual_limits_default(&lim);
	CHECK_INT(unusual_find(items, n, &lim, f, &count), 0);
	return count;
}

static void test_many_patients(void)
{
	struct unusual_finding *f;
	size_t count;

	/* alice: 4 patients a day for 4 days (10:00), then 15 on day 5 */
	n = 0;
	for (int d = 0; d < 4; d++)
		for (int p = 0; p < 4; p++)
			add("alice", p, T0 + d * DAY + 10 * 3600 + p * 300,
			    "PHI File Viewed", "ok", 100 + d * 10 + p);
	for (int p = 0; p < 15; p++)
		add("alice", p, T0 + 4 * DAY + 10 * 3600 + p * 300,
		    "PHI File Viewed", "ok", 200 + p);
	count = find(&f);
	CHECK_INT(count, 1);
	if (count == 1) {
		CHECK_STR(f[0].signal, "many-patients");
		CHECK_INT(f[0].sec, T0 + 4 * DAY);
		CHECK(strstr(f[0].why, "alice touched 15 patients on 2025-11-29; "
			     "their usual day is 4 (median of 4 other active days)") != NULL);
	}
	free(f);
	/* 11 is under 3 x 4 = 12: not flagged */
	n -= 4;
	count = find(&f);
	CHECK_INT(count, 0);
	free(f);
}

static void test_no_baseline(void)
{
	struct unusual_finding *f;
	size_t count;

	n = 0;
	for (int p = 0; p < 19; p++)
		add("bob", p, T0 + 9 * 3600 + p * 120, "PHI File Viewed", "ok", 300 + p);
	count = find(&f);
	CHECK_INT(count, 0);          /* 19: one under the fixed count */
	free(f);
	add("bob", 19, T0 + 9 * 3600 + 19 * 120, "PHI File Viewed", "ok", 400);
	count = find(&f);
	CHECK_INT(count, 1);
	if (count == 1)
		CHECK(strstr(f[0].why, "bob touched 20 patients on 2025-11-25; with "
			     "fewer than 3 other active days") != NULL);
	free(f);
}

static void test_off_hours(void)
{
	struct unusual_finding *f;
	size_t count;

	/* carol: 40 accesses 09:00-10:59 over 10 days, one at 03:15 */
	n = 0;
	for (int i = 0; i < 40; i++)
		add("carol", 1, T0 + (i % 10) * DAY + (9 + i % 2) * 3600 + i,
		    "PHI File Viewed", "ok", 500 + i);
	add("carol", 1, T0 + 5 * DAY + 3 * 3600 + 900, "PHI File Viewed", "ok", 600);
	count = find(&f);
	CHECK_INT(count, 1);
	if (count == 1) {
		CHECK_STR(f[0].signal, "off-hours");
		CHECK_INT(f[0].sec, T0 + 5 * DAY + 3 * 3600);
		CHECK(strstr(f[0].why, "carol made 1 access at 03:00-03:59 UTC on "
			     "2025-11-30; 97% of their 41 accesses in the period "
			     "were at 09:00-10:59 UTC") != NULL);
	}
	free(f);
}

static void test_bulk_and_denied(void)
{
	struct unusual_finding *f;
	size_t count;

	/* one process, 10 patients in 59 s: flagged; 9: not */
	n = 0;
	for (int p = 0; p < 9; p++)
		add("dave", p, T0 + 14 * 3600 + p * 7, "PHI File Viewed", "ok", 777);
	count = find(&f);
	CHECK_INT(count, 0);
	free(f);
	add("dave", 9, T0 + 14 * 3600 + 59, "PHI File Viewed", "ok", 777);
	count = find(&f);
	CHECK_INT(count, 1);
	if (count == 1)
		CHECK(strstr(f[0].why, "process 777 (/usr/bin/cat) of dave read 10 "
			     "different patients' files within 60 s") != NULL);
	free(f);
	/* the 10th a minute later: a different window, not flagged */
	items[n - 1].sec = T0 + 14 * 3600 + 60;
	count = find(&f);
	CHECK_INT(count, 0);
	free(f);
	/* two refusals on one day: one finding, both counted */
	add("erin", 3, T0 + 15 * 3600, "PHI File Access Denied", "EACCES", 900);
	add("erin", 4, T0 + 15 * 3600 + 5, "PHI File Access Denied", "EACCES", 900);
	count = find(&f);
	CHECK_INT(count, 1);
	if (count == 1) {
		CHECK_STR(f[0].signal, "denied");
		CHECK_INT(f[0].records, 2);
		CHECK(strstr(f[0].why, "erin had 2 failed attempts on 2025-11-25; the "
			     "first: PHI File Access Denied for patient p3") != NULL);
	}
	free(f);
}

int main(void)
{
	RUN(test_many_patients);
	RUN(test_no_baseline);
	RUN(test_off_hours);
	RUN(test_bulk_and_denied);
	return unit_done();
}
