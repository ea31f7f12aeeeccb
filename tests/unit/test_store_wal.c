/*
 * test_store_wal.c - the store's WAL checkpoint thread (store_wal.c) with a
 * WAL of 256 pages (the thread copying every 64): the thread copies the
 * WAL into the file while commits leave it alone, and the WAL file stays
 * bounded under commits that never pause (the writer copies the tail past
 * 4 spans, and waits for the thread past 8; SQLite starts the WAL again),
 * with every record there after a reopen.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "merkle.h"
#include "store.h"
#include "unit.h"

#define SPAN_PAGES 64
#define PAGE_BYTES 4096
#define FRAME_BYTES (PAGE_BYTES + 24)       /* a WAL frame: header, page */
#define GROUP_RECORDS 8                      /* about a page each */
#define GROUP_PAGES 32               /* a group's pages, with its indexes' */

static char dir[64];
static char db_path[128], wal_path[160];

static void fresh_db(void)
{
	char shm[160];

	snprintf(db_path, sizeof(db_path), "%s/audit.db", dir);
	snprintf(wal_path, sizeof(wal_path), "%s-wal", db_path);
	snprintf(shm, sizeof(shm), "%s-shm", db_path);
	unlink(db_path);
	unlink(wal_path);
	unlink(shm);
}

static long long file_bytes(const char *path)
{
	struct stat s;

	return stat(path, &s) == 0 ? (long long)s.st_size : -1;
}

/* Appends one group of records of about 3 KB each and commits it. */
static int append_group(struct store *st, int64_t *next)
{
	static char target[3000];
	struct record r;
	int i, rc;

	for (i = 0; i < GROUP_RECORDS; i++, (*next)++) {
		record_init(&r);
		memset(target, 'a' + (int)(*next % 26), sizeof(target) - 1);
		r.workspace_id = "ws_unit";
		r.actor_user_id = "alice";
		r.event_type = EVENT_FILE_VIEWED;
		r.end_user_id = "p1";
		r.timestamp_sec = 1000 + *next;
		r.timestamp_nsec = 0;
		r.target = target;
		rc = store_append(st, &r);
		if (rc < 0)
			return rc;
	}
	return store_commit(st);
}

static int64_t stored_count(void)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *stmt = NULL;
	int64_t n = -1;

	if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, "SELECT count(*) FROM records", -1, &stmt,
			       NULL) == SQLITE_OK && sqlite3_step(stmt) == SQLITE_ROW)
		n = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	sqlite3_close(db);
	return n;
}

static struct store *open_with_thread(void)
{
	struct store *st = NULL;
	const char *why = NULL;

	if (store_open(&st, db_path, CONFIG_FLUSH_BATCH, &why) < 0) {
		fprintf(stderr, "store_open: %s\n", why);
		return NULL;
	}
	if (store_wal_start(st, 4 * SPAN_PAGES) < 0) {
		store_close(st);
		return NULL;
	}
	return st;
}

/* Below 4 spans the commits copy nothing (SQLite's own checkpoints are
 * off): the file grows only by the thread's copies. */
static void test_thread_copies(void)
{
	struct store *st;
	int64_t next = 0;
	long long before;
	int i, grown = 0;

	fresh_db();
	st = open_with_thread();
	CHECK(st != NULL);
	if (st == NULL)
		return;
	before = file_bytes(db_path);
	while (file_bytes(wal_path) < 2LL * SPAN_PAGES * FRAME_BYTES) {
		int rc = append_group(st, &next);

		CHECK_INT(rc, 0);
		if (rc < 0)
			break;
	}
	CHECK(file_bytes(wal_path) < 4LL * SPAN_PAGES * FRAME_BYTES);
	for (i = 0; i < 500 && !grown; i++) {
		struct timespec ms10 = { 0, 10 * 1000 * 1000 };

		grown = file_bytes(db_path) > before + SPAN_PAGES / 2 * PAGE_BYTES;
		if (!grown)
			nanosleep(&ms10, NULL);
	}
	CHECK(grown);
	store_close(st);
	CHECK_INT(stored_count(), next);
}

/* Commits without a pause for 32 spans: the WAL file never holds more
 * than 8 spans and a group (past 4 the commits copy the rest when the
 * thread is idle, past 8 they wait for it), and nothing is lost. */
static void test_wal_bounded(void)
{
	const long long limit = (8LL * SPAN_PAGES + GROUP_PAGES) * FRAME_BYTES + 32;
	struct store *st;
	int64_t next = 0;
	long long written = 0, wal, largest = 0;

	fresh_db();
	st = open_with_thread();
	CHECK(st != NULL);
	if (st == NULL)
		return;
	while (written < 32LL * SPAN_PAGES * PAGE_BYTES) {
		int rc = append_group(st, &next);

		CHECK_INT(rc, 0);
		if (rc < 0)
			break;
		written += GROUP_RECORDS * 3000;
		wal = file_bytes(wal_path);
		if (wal > largest)
			largest = wal;
	}
	if (largest > limit)
		fprintf(stderr, "WAL file reached %lld bytes (limit %lld)\n", largest,
			limit);
	CHECK(largest <= limit);
	store_close(st);
	CHECK_INT(stored_count(), next);
	CHECK(next >= 32 * SPAN_PAGES * PAGE_BYTES / 3000);
}

int main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/test_store_wal.XXXXXX");
	if (mkdtemp(dir) == NULL || merkle_init() < 0)
		return 1;
	RUN(test_thread_copies);
	RUN(test_wal_bounded);
	fresh_db();
	rmdir(dir);
	return unit_done();
}
