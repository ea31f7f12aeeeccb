/*
 * test_group_commit.c - the one owner of the group commit over a real
 * store: a failed commit (the test build's PHITRAILD_FAULT_COMMIT hook)
 * rolls the whole group back and tells the listener; the collector's own
 * records are kept and stored once with the next group (same received
 * time, next id), spool records are not kept (they are read again).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "group_commit.h"
#include "merkle.h"
#include "store.h"
#include "unit.h"

static char dir[64];
static char db_path[128], fault_path[128];
static int committed, rolled_back;

static void on_committed(void)
{
	committed++;
}

static void on_rolled_back(void)
{
	rolled_back++;
}

static void make_record(struct record *r, enum event_type type, int i)
{
	record_init(r);
	r->workspace_id = "ws_unit";
	r->actor_user_id = "alice";
	r->event_type = type;
	r->timestamp_sec = 1000 + i;
	r->host = "h1";
	r->pid = 100;
	r->uid = 1000;
	r->identity = "verified";
}

struct seen {
	enum event_type types[16];
	int64_t ids[16], received[16];
	size_t count;
};

static int collect(void *context, const void *bytes, size_t len)
{
	static char arena[RECORD_ARENA_BYTES];
	struct seen *s = context;
	struct record r;

	if (record_decode(bytes, len, &r, arena, sizeof(arena), NULL) < 0 ||
	    s->count >= 16)
		return -EBADMSG;
	s->types[s->count] = r.event_type;
	s->ids[s->count] = r.id;
	s->received[s->count++] = r.received_sec;
	return 0;
}

static size_t stored(struct store *st, struct seen *s)
{
	struct query_request q;
	int64_t count = -1;
	const char *why = NULL;

	memset(&q, 0, sizeof(q));
	memset(s, 0, sizeof(*s));
	q.op = QUERY_OP_QUERY;
	q.since_ns = q.until_ns = q.after_id = q.pid = QUERY_ABSENT;
	if (store_query(st, &q, collect, s, &count, &why) < 0)
		return (size_t)-1;
	return s->count;
}

static void arm_fault(void)
{
	FILE *f = fopen(fault_path, "w");

	if (f != NULL)
		fclose(f);
}

static void test_failed_commit_keeps_own_records(void)
{
	static const struct group_listener listener = {
		.committed = on_committed, .rolled_back = on_rolled_back,
	};
	struct store *st = NULL;
	struct record r;
	struct seen s;
	const char *why = NULL;
	int64_t received;

	CHECK_INT(store_open(&st, db_path, CONFIG_FLUSH_BATCH, &why), 0);
	if (st == NULL)
		return;
	group_init(st);
	group_listen(&listener);

	/* Two spool records and a query's audit; the commit fails. */
	make_record(&r, EVENT_FILE_VIEWED, 0);
	CHECK_INT(group_append(&r, GROUP_FROM_SPOOL), 0);
	make_record(&r, EVENT_TRAIL_QUERIED, 1);
	r.received_sec = 4242;         /* as store_append would have set it */
	CHECK_INT(group_append(&r, GROUP_OWN), 0);
	received = r.received_sec;
	make_record(&r, EVENT_FILE_VIEWED, 2);
	CHECK_INT(group_append(&r, GROUP_FROM_SPOOL), 0);
	CHECK_INT((int)group_pending(), 3);
	arm_fault();
	CHECK_INT(group_commit(), -EIO);
	CHECK(access(fault_path, F_OK) != 0);   /* the fault was used once */
	CHECK_INT(rolled_back, 1);
	CHECK_INT(committed, 0);
	CHECK(!group_open());
	CHECK_INT((int)group_kept(), 1);
	CHECK_INT((int)stored(st, &s), 0);
	CHECK_INT((int)store_next_id(st), 1);

	/* The next group stores the kept audit record first, once. */
	make_record(&r, EVENT_FILE_VIEWED, 0);     /* the spool read again */
	CHECK_INT(group_append(&r, GROUP_FROM_SPOOL), 0);
	CHECK_INT((int)group_kept(), 0);
	CHECK_INT((int)group_pending(), 2);
	CHECK_INT(group_commit(), 0);
	CHECK_INT(committed, 1);
	CHECK_INT((int)stored(st, &s), 2);
	CHECK_INT(s.types[0], EVENT_TRAIL_QUERIED);
	CHECK_INT((int)s.ids[0], 1);
	CHECK_INT((int)s.received[0], (int)received);
	CHECK_INT(s.types[1], EVENT_FILE_VIEWED);

	/* An explicit rollback keeps it too; group_resume opens a group. */
	make_record(&r, EVENT_COLLECTOR_STOPPED, 3);
	CHECK_INT(group_append(&r, GROUP_OWN), 0);
	group_rollback();
	CHECK_INT(rolled_back, 2);
	CHECK_INT((int)group_kept(), 1);
	CHECK_INT(group_resume(), 0);
	CHECK(group_open());
	CHECK_INT((int)group_pending(), 1);
	CHECK_INT(group_commit(), 0);
	CHECK_INT((int)stored(st, &s), 3);
	CHECK_INT(s.types[2], EVENT_COLLECTOR_STOPPED);

	/* A commit with nothing open is a no-op that keeps nothing. */
	CHECK_INT(group_commit(), 0);
	CHECK_INT((int)stored(st, &s), 3);
	group_fini();
	store_close(st);
}

int main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/test_group_commit.XXXXXX");
	if (mkdtemp(dir) == NULL || merkle_init() < 0)
		return 1;
	snprintf(db_path, sizeof(db_path), "%s/audit.db", dir);
	snprintf(fault_path, sizeof(fault_path), "%s/fail-next-commit", dir);
	setenv("PHITRAILD_FAULT_COMMIT", fault_path, 1);
	RUN(test_failed_commit_keeps_own_records);
	{
		char path[160];

		snprintf(path, sizeof(path), "%s-wal", db_path);
		unlink(path);
		snprintf(path, sizeof(path), "%s-shm", db_path);
		unlink(path);
		unlink(db_path);
	}
	rmdir(dir);
	return unit_done();
}
