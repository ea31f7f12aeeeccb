/*
 * test_store.c - the SQLite store on its own: ids, group commit and
 * rollback, progress rows, restart continuity, every query filter with an
 * exact answer, disk full (max_page_count) and a foreign schema version.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "merkle.h"
#include "store.h"
#include "unit.h"

static char dir[64];
static char db_path[128];

static void fresh_db(void)
{
	char wal[160], shm[160];

	snprintf(db_path, sizeof(db_path), "%s/audit.db", dir);
	snprintf(wal, sizeof(wal), "%s-wal", db_path);
	snprintf(shm, sizeof(shm), "%s-shm", db_path);
	unlink(db_path);
	unlink(wal);
	unlink(shm);
}

static struct store *open_store(void)
{
	struct store *st = NULL;
	const char *why = NULL;
	int rc = store_open(&st, db_path, CONFIG_FLUSH_BATCH, &why);

	if (rc < 0)
		fprintf(stderr, "store_open: %d %s\n", rc, why);
	return st;
}

/* A record: i-th of a fixed set used by the query tests. */
static void make_record(struct record *r, int i)
{
	static char targets[64][64], patients[64][16];
	static const char *const actors[] = { "alice", "bob", "carol" };
	static const char *const results[] = { "ok", "ok", "EACCES" };

	record_init(r);
	r->workspace_id = "ws_unit";
	r->actor_user_id = actors[i % 3];
	r->event_type = i % 4 == 0 ? EVENT_FILE_MODIFIED : EVENT_FILE_VIEWED;
	snprintf(patients[i % 64], sizeof(patients[0]), "p%d", i % 5);
	r->end_user_id = i % 10 == 9 ? NULL : patients[i % 64];
	r->timestamp_sec = 1000 + i;
	r->timestamp_nsec = 5;
	r->host = i < 15 ? "h1" : "h2";
	r->pid = 100 + i % 4;
	r->uid = 1000;
	r->exe = i % 5 == 0 ? "/usr/bin/cat" : "/usr/bin/vi";
	snprintf(targets[i % 64], sizeof(targets[0]), "/srv/ehr/%s/%d.txt",
		 i % 2 ? "a" : "b", i);
	r->target = targets[i % 64];
	r->rule = i % 3 ? "charts" : "labs";
	r->result = results[i % 3];
	r->seq = i;
	r->identity = "verified";
}

struct collected {
	int64_t ids[64];
	size_t count;
};

static int collect(void *context, const void *bytes, size_t len)
{
	struct collected *c = context;
	static char arena[RECORD_ARENA_BYTES];
	struct record r;
	const char *why;

	if (record_decode(bytes, len, &r, arena, sizeof(arena), &why) < 0 ||
	    c->count >= 64)
		return -EBADMSG;
	c->ids[c->count++] = r.id;
	return 0;
}

static int64_t run_query(struct store *st, const struct query_request *q,
			 struct collected *c)
{
	int64_t count = -1;
	const char *why = NULL;

	memset(c, 0, sizeof(*c));
	if (store_query(st, q, collect, c, &count, &why) < 0)
		return -1;
	return count;
}

/* A record already stored, in the open group or committed, is seen; one
 * differing in time by 1 ns, uid, seq, event, patient or target is not. */
static void test_record_seen(void)
{
	struct store *st;
	struct record r;

	fresh_db();
	st = open_store();
	CHECK(st != NULL);
	if (st == NULL)
		return;
	make_record(&r, 1);
	CHECK_INT(store_record_seen(st, &r), 0);
	CHECK_INT(store_append(st, &r), 0);
	make_record(&r, 1);
	CHECK_INT(store_record_seen(st, &r), 1);     /* in the open group */
	CHECK_INT(store_commit(st), 0);
	CHECK_INT(store_record_seen(st, &r), 1);     /* committed */
	r.pid = 999;                                 /* the pid is not a key */
	CHECK_INT(store_record_seen(st, &r), 1);
	make_record(&r, 1);
	r.timestamp_nsec++;
	CHECK_INT(store_record_seen(st, &r), 0);
	make_record(&r, 1);
	r.uid = 1001;
	CHECK_INT(store_record_seen(st, &r), 0);
	make_record(&r, 1);
	r.seq = 2;
	CHECK_INT(store_record_seen(st, &r), 0);
	make_record(&r, 1);
	r.event_type = EVENT_FILE_MODIFIED;
	CHECK_INT(store_record_seen(st, &r), 0);
	make_record(&r, 1);
	r.end_user_id = NULL;
	CHECK_INT(store_record_seen(st, &r), 0);
	make_record(&r, 1);
	r.target = "/srv/ehr/a/other.txt";
	CHECK_INT(store_record_seen(st, &r), 0);
	store_close(st);
}

static void test_ids_commit_restart(void)
{
	struct store *st;
	struct record r;
	int i;

	fresh_db();
	st = open_store();
	CHECK(st != NULL);
	if (st == NULL)
		return;
	CHECK_INT(store_next_id(st), 1);
	for (i = 0; i < 3; i++) {
		make_record(&r, i);
		CHECK_INT(store_append(st, &r), 0);
		CHECK_INT(r.id, i + 1);
		CHECK(r.received_sec != RECORD_ABSENT);
	}
	CHECK_INT(store_pending(st), 3);
	CHECK_INT(store_commit(st), 0);
	CHECK_INT(store_pending(st), 0);
	CHECK_INT(store_next_id(st), 4);
	/* a rolled back group gives its ids back */
	make_record(&r, 3);
	CHECK_INT(store_append(st, &r), 0);
	CHECK_INT(r.id, 4);
	store_rollback(st);
	CHECK_INT(store_next_id(st), 4);
	store_close(st);

	st = open_store();
	CHECK(st != NULL);
	if (st == NULL)
		return;
	CHECK_INT(store_next_id(st), 4);
	make_record(&r, 3);
	CHECK_INT(store_append(st, &r), 0);
	CHECK_INT(r.id, 4);
	store_close(st);            /* uncommitted: rolled back */

	st = open_store();
	CHECK_INT(store_next_id(st), 4);
	store_close(st);
}

static void test_stored_bytes_and_leaf_hash(void)
{
	struct store *st;
	struct record r, back;
	sqlite3 *db;
	sqlite3_stmt *stmt;
	merkle_hash leaf;
	static char arena[RECORD_ARENA_BYTES];
	const char *why;

	fresh_db();
	st = open_store();
	make_record(&r, 7);
	CHECK_INT(store_append(st, &r), 0);
	CHECK_INT(store_commit(st), 0);
	store_close(st);
	CHECK_INT(sqlite3_open(db_path, &db), SQLITE_OK);
	CHECK_INT(sqlite3_prepare_v2(db, "SELECT bytes, leaf_hash, end_user_id, "
				     "event_type, timestamp_ns FROM records", -1,
				     &stmt, NULL), SQLITE_OK);
	CHECK_INT(sqlite3_step(stmt), SQLITE_ROW);
	merkle_leaf_hash(sqlite3_column_blob(stmt, 0),
			 (size_t)sqlite3_column_bytes(stmt, 0), leaf);
	CHECK_INT(sqlite3_column_bytes(stmt, 1), 32);
	CHECK(memcmp(leaf, sqlite3_column_blob(stmt, 1), 32) == 0);
	CHECK_STR((const char *)sqlite3_column_text(stmt, 2), "p2");
	CHECK_STR((const char *)sqlite3_column_text(stmt, 3), "PHI File Viewed");
	CHECK_INT(sqlite3_column_int64(stmt, 4), 1007000000005LL);
	CHECK_INT(record_decode(sqlite3_column_blob(stmt, 0),
				(size_t)sqlite3_column_bytes(stmt, 0), &back, arena,
				sizeof(arena), &why), 0);
	CHECK_INT(back.id, 1);
	CHECK_STR(back.identity, "verified");
	CHECK(back.received_sec != RECORD_ABSENT);
	sqlite3_finalize(stmt);
	sqlite3_close(db);
}

static int count_rows(void *context, const struct store_progress *p)
{
	(void)p;
	(*(int *)context)++;
	return 0;
}

static void test_progress_rows(void)
{
	struct store *st;
	struct store_progress p, got;
	struct record r;
	int rows = 0;

	fresh_db();
	st = open_store();
	memset(&p, 0, sizeof(p));
	identity_clear(&p.who);
	strcpy(p.name, "active/1-2-x.spool");
	p.offset = 64;
	p.next_seq = -1;
	p.flags = 1;
	p.who.pid = 1234;
	p.who.uid = 1000;
	p.who.gid = 1000;
	p.who.auid = 1001;
	p.who.start_time_ticks = 987654321;
	strcpy(p.who.exe, "/usr/bin/cat");
	strcpy(p.who.actor, "alice");
	strcpy(p.who.kind, "verified");
	CHECK_INT(store_progress_put(st, &p), 0);
	CHECK_INT(store_commit(st), 0);
	/* offset and records in one group: rolled back together */
	make_record(&r, 1);
	CHECK_INT(store_append(st, &r), 0);
	CHECK_INT(store_progress_update(st, p.name, 500, 7), 0);
	store_rollback(st);
	CHECK_INT(store_progress_get(st, p.name, &got), 0);
	CHECK_INT(got.offset, 64);
	CHECK_INT(got.next_seq, -1);
	CHECK_INT(store_next_id(st), 1);
	/* committed together */
	CHECK_INT(store_append(st, &r), 0);
	CHECK_INT(store_progress_update(st, p.name, 500, 7), 0);
	CHECK_INT(store_commit(st), 0);
	store_close(st);
	st = open_store();
	CHECK_INT(store_progress_get(st, p.name, &got), 0);
	CHECK_INT(got.offset, 500);
	CHECK_INT(got.next_seq, 7);
	CHECK_INT(got.who.pid, 1234);
	CHECK_INT(got.who.auid, 1001);
	CHECK_INT(got.who.session, RECORD_ABSENT);
	CHECK_INT(got.who.start_time_ticks, 987654321);
	CHECK_STR(got.who.exe, "/usr/bin/cat");
	CHECK_STR(got.who.actor, "alice");
	CHECK_STR(got.who.kind, "verified");
	CHECK_INT(got.flags, 1);
	CHECK_INT(store_progress_each(st, count_rows, &rows), 0);
	CHECK_INT(rows, 1);
	CHECK_INT(store_progress_delete(st, p.name), 0);
	CHECK_INT(store_commit(st), 0);
	CHECK_INT(store_progress_get(st, p.name, &got), -ENOENT);
	store_close(st);
}

static void test_query_filters(void)
{
	struct query_request q;
	struct collected c;
	struct store *st;
	struct record r;
	int i;

	fresh_db();
	st = open_store();
	for (i = 0; i < 40; i++) {
		make_record(&r, i);
		CHECK_INT(store_append(st, &r), 0);
	}
	/* uncommitted records are not seen */
	query_request_init(&q);
	q.op = QUERY_OP_COUNT;
	CHECK_INT(run_query(st, &q, &c), 0);
	CHECK_INT(store_commit(st), 0);
	CHECK_INT(run_query(st, &q, &c), 40);

	q.op = QUERY_OP_QUERY;
	CHECK_INT(run_query(st, &q, &c), 40);
	CHECK_INT(c.ids[0], 1);
	CHECK_INT(c.ids[39], 40);

	/* patient p2: i % 5 == 2 and i % 10 != 9: 2,7,12,...,37 */
	strcpy(q.patient, "p2");
	CHECK_INT(run_query(st, &q, &c), 8);
	CHECK_INT(c.ids[0], 3);
	q.patient[0] = '\0';
	strcpy(q.actor, "bob");            /* i % 3 == 1: 13 of 40 */
	CHECK_INT(run_query(st, &q, &c), 13);
	q.actor[0] = '\0';
	strcpy(q.events[0], "PHI File Modified");
	q.event_count = 1;                 /* i % 4 == 0: 10 */
	CHECK_INT(run_query(st, &q, &c), 10);
	strcpy(q.events[1], "PHI File Viewed");
	q.event_count = 2;
	CHECK_INT(run_query(st, &q, &c), 40);
	q.event_count = 0;
	q.since_ns = 1010 * 1000000000LL + 5;   /* i >= 10 */
	q.until_ns = 1020 * 1000000000LL;       /* i < 20 */
	CHECK_INT(run_query(st, &q, &c), 10);
	CHECK_INT(c.ids[0], 11);
	q.since_ns = q.until_ns = QUERY_ABSENT;
	q.after_id = 35;
	CHECK_INT(run_query(st, &q, &c), 5);
	CHECK_INT(c.ids[0], 36);
	q.descending = 1;
	q.limit = 3;
	CHECK_INT(run_query(st, &q, &c), 3);
	CHECK_INT(c.ids[0], 34);
	CHECK_INT(c.ids[2], 32);
	q.after_id = QUERY_ABSENT;
	q.limit = 2;
	CHECK_INT(run_query(st, &q, &c), 2);
	CHECK_INT(c.ids[0], 40);
	q.descending = 0;
	q.limit = 0;
	q.pid = 101;                       /* i % 4 == 1: 10 */
	CHECK_INT(run_query(st, &q, &c), 10);
	q.pid = QUERY_ABSENT;
	strcpy(q.host, "h1");              /* i < 15 */
	CHECK_INT(run_query(st, &q, &c), 15);
	q.host[0] = '\0';
	strcpy(q.exe, "/usr/bin/cat");     /* i % 5 == 0: 8 */
	CHECK_INT(run_query(st, &q, &c), 8);
	q.exe[0] = '\0';
	strcpy(q.rule, "labs");            /* i % 3 == 0: 14 */
	CHECK_INT(run_query(st, &q, &c), 14);
	q.rule[0] = '\0';
	strcpy(q.result, "EACCES");        /* i % 3 == 2: 13 */
	CHECK_INT(run_query(st, &q, &c), 13);
	q.result[0] = '\0';
	q.failed_only = 1;
	CHECK_INT(run_query(st, &q, &c), 13);
	q.failed_only = 0;
	strcpy(q.target, "/srv/ehr/a/**"); /* odd i: 20 */
	CHECK_INT(run_query(st, &q, &c), 20);
	CHECK_INT(c.ids[0], 2);
	strcpy(q.target, "/srv/ehr/*/1?.txt");  /* 10..19 */
	CHECK_INT(run_query(st, &q, &c), 10);
	q.limit = 4;                       /* limit applies after the glob */
	CHECK_INT(run_query(st, &q, &c), 4);
	CHECK_INT(c.ids[3], 14);
	q.op = QUERY_OP_COUNT;
	q.limit = 0;
	CHECK_INT(run_query(st, &q, &c), 10);
	CHECK_INT(c.count, 0);             /* count emits nothing */
	strcpy(q.target, "relative/*");
	CHECK_INT(run_query(st, &q, &c), -1);  /* bad glob */
	q.target[0] = '\0';
	/* everything at once */
	q.op = QUERY_OP_QUERY;
	strcpy(q.patient, "p1");
	strcpy(q.actor, "bob");
	q.pid = 101;            /* i%5==1, i%3==1, i%4==1: only i = 1 */
	CHECK_INT(run_query(st, &q, &c), 1);
	CHECK_INT(c.ids[0], 2);
	store_close(st);
}

static void test_disk_full(void)
{
	struct store *st;
	struct record r;
	struct query_request q;
	struct collected c;
	int i, rc = 0;

	fresh_db();
	st = open_store();
	for (i = 0; i < 10; i++) {
		make_record(&r, i);
		CHECK_INT(store_append(st, &r), 0);
	}
	CHECK_INT(store_commit(st), 0);
	CHECK_INT(store_limit_pages(st, 12), 0);
	for (i = 0; i < 100000 && rc == 0; i++) {
		make_record(&r, i % 64);
		rc = store_append(st, &r);
	}
	if (rc == 0)
		rc = store_commit(st);
	CHECK_INT(rc, -ENOSPC);
	store_rollback(st);
	CHECK_INT(store_next_id(st), 11);
	query_request_init(&q);
	q.op = QUERY_OP_COUNT;
	CHECK_INT(run_query(st, &q, &c), 10);
	/* space again: the store goes on */
	CHECK_INT(store_limit_pages(st, 1000000), 0);
	make_record(&r, 1);
	CHECK_INT(store_append(st, &r), 0);
	CHECK_INT(r.id, 11);
	CHECK_INT(store_commit(st), 0);
	CHECK_INT(run_query(st, &q, &c), 11);
	store_close(st);
}

static void test_foreign_schema_version(void)
{
	struct store *st = NULL;
	const char *why = NULL;
	sqlite3 *db;

	fresh_db();
	st = open_store();
	store_close(st);
	CHECK_INT(sqlite3_open(db_path, &db), SQLITE_OK);
	CHECK_INT(sqlite3_exec(db, "UPDATE meta SET value = 99 WHERE key = 'schema_version'",
			       NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	st = NULL;
	CHECK_INT(store_open(&st, db_path, CONFIG_FLUSH_BATCH, &why), -EPROTO);
	CHECK(st == NULL);
	CHECK(why != NULL && strstr(why, "99") != NULL);
}

/* Every commit stores the frontier of its tree; a rolled back group does
 * not; a reopened store resumes the exact tree from it. */
static void test_frontier_per_commit(void)
{
	struct merkle_builder want, got;
	merkle_hash leaf, root_want, root_got;
	struct store *st;
	struct record r;
	unsigned char bytes[RECORD_MAX_BYTES];
	long len;
	int i;

	fresh_db();
	st = open_store();
	CHECK(st != NULL);
	if (st == NULL)
		return;
	merkle_builder_init(&got);
	CHECK_INT(store_frontier_load(st, &got), -ENOENT);
	merkle_builder_init(&want);
	for (i = 0; i < 11; i++) {
		make_record(&r, i);
		CHECK_INT(store_append(st, &r), 0);
		len = record_encode(&r, bytes, sizeof(bytes));
		CHECK(len > 0);
		merkle_leaf_hash(bytes, (size_t)len, leaf);
		merkle_builder_append(&want, leaf);
		if (i == 6)
			CHECK_INT(store_commit(st), 0);
	}
	CHECK_INT(store_commit(st), 0);
	make_record(&r, 11);
	CHECK_INT(store_append(st, &r), 0);
	store_rollback(st);
	store_close(st);

	st = open_store();
	CHECK(st != NULL);
	if (st == NULL)
		return;
	CHECK_INT(store_frontier_load(st, &got), 0);
	CHECK_INT((int)got.size, 11);
	merkle_builder_root(&want, root_want);
	merkle_builder_root(&got, root_got);
	CHECK(memcmp(root_want, root_got, sizeof(root_want)) == 0);
	/* A damaged frontier (wrong number of hashes) is refused. */
	store_close(st);
	{
		sqlite3 *db;

		CHECK_INT(sqlite3_open(db_path, &db), SQLITE_OK);
		CHECK_INT(sqlite3_exec(db, "UPDATE tree_frontier SET size = 12", NULL,
				       NULL, NULL), SQLITE_OK);
		sqlite3_close(db);
	}
	st = open_store();
	CHECK_INT(store_frontier_load(st, &got), -EBADMSG);
	store_close(st);
}

/* A store of layout 1 (unchunked patient and actor indexes) gets the
 * chunked ones at open, and answers patient queries across chunks. */
static void test_layout1_migrated_and_chunks(void)
{
	struct query_request q;
	struct store *st;
	struct record r;
	sqlite3 *db;
	sqlite3_stmt *stmt;
	int64_t count = 0;
	const char *why = NULL;
	char plan[1024];
	int i, v1 = -1;

	fresh_db();
	st = open_store();
	CHECK(st != NULL);
	if (st == NULL)
		return;
	for (i = 0; i < 10; i++) {
		make_record(&r, i);
		CHECK_INT(store_append(st, &r), 0);
	}
	CHECK_INT(store_commit(st), 0);
	store_close(st);
	CHECK_INT(sqlite3_open(db_path, &db), SQLITE_OK);
	CHECK_INT(sqlite3_exec(db, "DROP INDEX records_patient_chunk;"
			       "DROP INDEX records_actor_chunk;"
			       "CREATE INDEX records_patient ON records (end_user_id, timestamp_ns);"
			       "CREATE INDEX records_actor ON records (actor_user_id, timestamp_ns);"
			       /* ids from two chunks apart, as in a big store */
			       "INSERT INTO checkpoints (kind, tree_size, root, time_ns,"
			       " prev_hash, signed) VALUES ('cut', 200000, x'00', 0, x'00', x'00');",
			       NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	st = open_store();
	CHECK(st != NULL);
	if (st == NULL)
		return;
	CHECK_INT(sqlite3_open(db_path, &db), SQLITE_OK);
	CHECK_INT(sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_master WHERE name"
				     " IN ('records_patient', 'records_actor')", -1, &stmt,
				     NULL), SQLITE_OK);
	if (sqlite3_step(stmt) == SQLITE_ROW)
		v1 = sqlite3_column_int(stmt, 0);
	sqlite3_finalize(stmt);
	sqlite3_close(db);
	CHECK_INT(v1, 0);
	CHECK_INT(store_next_id(st), 200001);
	/* p1's records: 2 in chunk 0, 2 in chunk 200001 >> STORE_CHUNK_SHIFT */
	for (i = 0; i < 10; i++) {
		make_record(&r, i);
		CHECK_INT(store_append(st, &r), 0);
	}
	CHECK_INT(store_commit(st), 0);
	memset(&q, 0, sizeof(q));
	q.op = QUERY_OP_COUNT;
	q.since_ns = q.until_ns = q.after_id = q.pid = QUERY_ABSENT;
	strcpy(q.patient, "p1");
	CHECK_INT(store_query(st, &q, NULL, NULL, &count, &why), 0);
	CHECK_INT((int)count, 4);
	CHECK_INT(store_explain(st, &q, plan, sizeof(plan)), 0);
	CHECK(strstr(plan, "records_patient_chunk") != NULL);
	store_close(st);
}

int main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/test_store.XXXXXX");
	if (mkdtemp(dir) == NULL || merkle_init() < 0)
		return 1;
	RUN(test_ids_commit_restart);
	RUN(test_record_seen);
	RUN(test_stored_bytes_and_leaf_hash);
	RUN(test_progress_rows);
	RUN(test_query_filters);
	RUN(test_disk_full);
	RUN(test_foreign_schema_version);
	RUN(test_frontier_per_commit);
	RUN(test_layout1_migrated_and_chunks);
	fresh_db();
	rmdir(dir);
	return unit_done();
}
