/*
 * test_store_plan.c - the store answers filters from its indexes: for every
 * patient, actor, event and time filter (alone, combined, counted, grouped
 * by stats, newest first, paged) SQLite's EXPLAIN QUERY PLAN names an index
 * or the id key, never a scan of the whole records table. Also the stats
 * op's exact groups (store_stats) with and without a target glob.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "merkle.h"
#include "store.h"
#include "unit.h"

static char dir[64] = "/tmp/phitrail-plan.XXXXXX";
static char db_path[128];
static struct store *st;

/* A plan that reads records by an index or by id, and never "SCAN records". */
static int plan_uses_index(const struct query_request *q, char *plan, size_t size)
{
	if (store_explain(st, q, plan, size) < 0)
		return 0;
	if (strstr(plan, "SCAN records") != NULL &&
	    strstr(plan, "USING") == NULL)
		return 0;
	return strstr(plan, "records") != NULL &&
	       (strstr(plan, "USING INDEX") != NULL ||
		strstr(plan, "USING COVERING INDEX") != NULL ||
		strstr(plan, "USING INTEGER PRIMARY KEY") != NULL);
}

static void check_plan_ops(const char *name, struct query_request *q,
			   const char *want_index, size_t op_count)
{
	char plan[1024];
	enum query_op ops[] = { QUERY_OP_QUERY, QUERY_OP_COUNT, QUERY_OP_STATS };

	for (size_t i = 0; i < op_count; i++) {
		q->op = ops[i];
		q->by[0] = '\0';
		if (ops[i] == QUERY_OP_STATS)
			strcpy(q->by, "actor");
		if (!plan_uses_index(q, plan, sizeof(plan)) ||
		    (want_index && strstr(plan, want_index) == NULL)) {
			unit_failed_checks++;
			fprintf(stderr, "%s (op %d): plan is not on %s:\n%s\n", name,
				(int)ops[i], want_index ? want_index : "an index", plan);
		}
	}
}

static void check_plan(const char *name, struct query_request *q, const char *want_index)
{
	check_plan_ops(name, q, want_index, 3);
}

static void fill(void)
{
	static char patient[16], actor[16];
	const char *why = NULL;
	struct record r;

	CHECK_INT(store_open(&st, db_path, CONFIG_FLUSH_BATCH, &why), 0);
	for (int i = 0; i < 2000; i++) {
		record_init(&r);
		r.workspace_id = "ws";
		snprintf(actor, sizeof(actor), "user%d", i % 7);
		snprintf(patient, sizeof(patient), "p%d", i % 50);
		r.actor_user_id = actor;
		r.end_user_id = i % 9 ? patient : NULL;
		r.event_type = i % 3 ? EVENT_FILE_VIEWED : EVENT_FILE_MODIFIED;
		r.timestamp_sec = 1700000000 + i * 60;
		r.target = i % 2 ? "/srv/ehr/a/x" : "/srv/ehr/b/y";
		r.exe = i % 4 ? "/usr/bin/cat" : NULL;
		CHECK_INT(store_append(st, &r), 0);
	}
	CHECK_INT(store_commit(st), 0);
}

static void test_filters_use_indexes(void)
{
	struct query_request q;

	query_request_init(&q);
	strcpy(q.patient, "p3");
	check_plan("patient", &q, "records_patient_chunk");
	q.since_ns = 1700000000LL * 1000000000LL;
	q.until_ns = 1700003600LL * 1000000000LL;
	check_plan("patient+time", &q, "records_patient_chunk");
	q.descending = 1;
	q.limit = 10;
	q.after_id = 500;
	check_plan("patient+time, newest first, paged", &q, NULL);

	query_request_init(&q);
	strcpy(q.actor, "user3");
	check_plan("actor", &q, "records_actor_chunk");

	query_request_init(&q);
	strcpy(q.events[0], "PHI File Viewed");
	strcpy(q.events[1], "PHI File Deleted");
	q.event_count = 2;
	check_plan("event", &q, "records_event");

	query_request_init(&q);
	q.since_ns = 1700000000LL * 1000000000LL;
	check_plan("since", &q, "records_time");
	q.until_ns = 1700003600LL * 1000000000LL;
	check_plan("since+until", &q, "records_time");

	query_request_init(&q);
	strcpy(q.patient, "p3");
	strcpy(q.actor, "user3");
	strcpy(q.target, "/srv/ehr/a/**");
	check_plan("patient+actor+glob", &q, NULL);

	query_request_init(&q);
	q.after_id = 1990;
	/* stats ignores paging: with no filter it must read everything */
	check_plan_ops("paging alone", &q, "PRIMARY KEY", 2);
}

struct collected {
	char text[2048];
};

static int collect(void *context, const char *key, int64_t count)
{
	struct collected *c = context;
	char line[128];

	snprintf(line, sizeof(line), "%s=%lld;", key ? key : "(nil)", (long long)count);
	strcat(c->text, line);
	return 0;
}

static void test_stats_groups(void)
{
	struct query_request q;
	struct collected c;
	const char *why = NULL;
	int64_t groups = 0;

	query_request_init(&q);
	q.op = QUERY_OP_STATS;
	strcpy(q.by, "event");
	memset(&c, 0, sizeof(c));
	CHECK_INT(store_stats(st, &q, collect, &c, &groups, &why), 0);
	CHECK_STR(c.text, "PHI File Modified=667;PHI File Viewed=1333;");
	CHECK_INT(groups, 2);

	/* With a glob (filtered row by row): every other record. */
	strcpy(q.target, "/srv/ehr/a/*");
	memset(&c, 0, sizeof(c));
	CHECK_INT(store_stats(st, &q, collect, &c, &groups, &why), 0);
	CHECK_STR(c.text, "PHI File Modified=333;PHI File Viewed=667;");
	CHECK_INT(groups, 2);

	/* nil keys: records without a program. */
	query_request_init(&q);
	q.op = QUERY_OP_STATS;
	strcpy(q.by, "exe");
	strcpy(q.target, "/srv/ehr/b/*");
	memset(&c, 0, sizeof(c));
	CHECK_INT(store_stats(st, &q, collect, &c, &groups, &why), 0);
	CHECK_STR(c.text, "(nil)=500;/usr/bin/cat=500;");

	/* Days (UTC) of a patient: p1 is every 50th record from the second
	 * (those with i % 9 == 0 have none), 60 s apart from
	 * 2023-11-14T22:13:20Z: 3 + 25 + 8 = 36. */
	query_request_init(&q);
	q.op = QUERY_OP_STATS;
	strcpy(q.by, "day");
	strcpy(q.patient, "p1");
	memset(&c, 0, sizeof(c));
	CHECK_INT(store_stats(st, &q, collect, &c, &groups, &why), 0);
	CHECK_STR(c.text, "2023-11-14=3;2023-11-15=25;2023-11-16=8;");

	/* Paging fields are ignored by stats. */
	q.limit = 1;
	q.after_id = 1999;
	memset(&c, 0, sizeof(c));
	CHECK_INT(store_stats(st, &q, collect, &c, &groups, &why), 0);
	CHECK_STR(c.text, "2023-11-14=3;2023-11-15=25;2023-11-16=8;");
}

int main(void)
{
	if (mkdtemp(dir) == NULL || merkle_init() < 0)
		return 1;
	snprintf(db_path, sizeof(db_path), "%s/audit.db", dir);
	fill();
	RUN(test_filters_use_indexes);
	RUN(test_stats_groups);
	store_close(st);
	{
		char command[160];
		snprintf(command, sizeof(command), "rm -rf '%s'", dir);
		if (system(command) != 0)
			fprintf(stderr, "could not remove %s\n", dir);
	}
	return unit_done();
}
