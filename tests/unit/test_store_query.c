/*
 * test_store_query.c - store_query_open on a store file: a store the
 * collector wrote is read read-only (the same records store_query gives),
 * no -wal or -shm is made beside a store closed cleanly, and a missing
 * file, a foreign SQLite database, a text file and another schema version
 * are refused with their own errors.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "merkle.h"
#include "store.h"
#include "store_query.h"
#include "unit.h"

static char dir[64];
static char db_path[128];

static int exists(const char *suffix)
{
	char name[160];
	struct stat sb;

	snprintf(name, sizeof(name), "%s%s", db_path, suffix);
	return stat(name, &sb) == 0;
}

static int count_records(void *context, const void *bytes, size_t len)
{
	(void)bytes;
	(void)len;
	++*(int *)context;
	return 0;
}

static void test_read_closed_store(void)
{
	struct store *st = NULL;
	struct query_request q;
	struct record r;
	sqlite3 *db = NULL;
	const char *why = NULL;
	char message[512];
	int64_t count = -1;
	int emitted = 0, i;

	snprintf(db_path, sizeof(db_path), "%s/audit.db", dir);
	CHECK_INT(store_open(&st, db_path, CONFIG_FLUSH_BATCH, &why), 0);
	for (i = 0; i < 3; i++) {
		record_init(&r);
		r.workspace_id = "ws_unit";
		r.actor_user_id = "alice";
		r.event_type = EVENT_FILE_VIEWED;
		r.end_user_id = i == 1 ? "p2" : "p1";
		r.timestamp_sec = 1000 + i;
		r.timestamp_nsec = 0;
		CHECK_INT(store_append(st, &r), 0);
	}
	CHECK_INT(store_commit(st), 0);
	store_close(st);
	CHECK(!exists("-wal") && !exists("-shm"));

	CHECK_INT(store_query_open(db_path, &db, message, sizeof(message)), 0);
	query_request_init(&q);
	q.op = QUERY_OP_QUERY;
	strcpy(q.patient, "p1");
	CHECK_INT(store_query_records(db, &q, count_records, &emitted, &count,
				      &why, message, sizeof(message)), 0);
	CHECK_INT(count, 2);
	CHECK_INT(emitted, 2);
	sqlite3_close(db);
	CHECK(!exists("-wal") && !exists("-shm") && !exists("-journal"));
}

static void test_refusals(void)
{
	char path[160], message[512];
	sqlite3 *db = (sqlite3 *)1;
	FILE *f;

	snprintf(path, sizeof(path), "%s/none.db", dir);
	CHECK_INT(store_query_open(path, &db, message, sizeof(message)), -ENOENT);
	CHECK(db == NULL);
	CHECK(access(path, F_OK) < 0);

	snprintf(path, sizeof(path), "%s/foreign.db", dir);
	CHECK_INT(sqlite3_open(path, &db), SQLITE_OK);
	CHECK_INT(sqlite3_exec(db, "CREATE TABLE x (y)", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	CHECK_INT(store_query_open(path, &db, message, sizeof(message)), -ENOTSUP);
	CHECK(strstr(message, "not a phitrail store") != NULL);
	unlink(path);

	snprintf(path, sizeof(path), "%s/text.db", dir);
	f = fopen(path, "w");
	CHECK(f != NULL);
	if (f != NULL) {
		fputs("this is no database, only some text that is long enough "
		      "to be read as a header by SQLite......................\n", f);
		fclose(f);
	}
	CHECK_INT(store_query_open(path, &db, message, sizeof(message)), -ENOTSUP);
	CHECK(strstr(message, "not an SQLite database") != NULL);
	unlink(path);

	/* Another schema version: the collector's own store, version changed. */
	CHECK_INT(sqlite3_open(db_path, &db), SQLITE_OK);
	CHECK_INT(sqlite3_exec(db, "UPDATE meta SET value = 7 WHERE key = "
			       "'schema_version'", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	CHECK_INT(store_query_open(db_path, &db, message, sizeof(message)), -EPROTO);
	CHECK(strstr(message, "version 7") != NULL);
}

int main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/test_store_query.XXXXXX");
	if (mkdtemp(dir) == NULL || merkle_init() < 0)
		return 1;
	RUN(test_read_closed_store);
	RUN(test_refusals);
	unlink(db_path);
	rmdir(dir);
	return unit_done();
}
