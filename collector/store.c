/*
 * store.c - the SQLite audit store: opening it and its one write
 * transaction.
 *
 * Owns the database: its two connections (the writer, and a reader for
 * queries over committed data), the tables (created from store_schema.h,
 * the one place the schema is defined), the index layout, the prepared
 * statements, and the one write transaction, begun by the first write and
 * committed or rolled back by group_commit.c alone. The other files of
 * the store share its state through store_impl.h: store_append.c (the
 * insert path), store_progress.c (progress rows), store_frontier.c (the
 * Merkle tree kept in step with every commit); the SQL of queries is
 * store_query.c's, run on the read connection here.
 * Indexes (store_schema.h, layout 2): patient and actor prefixed by the
 * id chunk, so ingest touches a bounded part of them at any store size
 * (measured at 10M records: 2.5 KB written and 17 us CPU per record,
 * against 23 KB and 65 us with the unchunked indexes of layout 1, which
 * are replaced once at open). The writer's page cache is 16 MiB; the WAL
 * is copied into the file every STORE_WAL_CHECKPOINT_PAGES pages (index
 * pages dirtied by several commits are written to the file once), by the
 * writer's commits until store_wal.c's thread takes that over; SQLite's
 * allocation statistics are off (a mutex pair per allocation).
 * Records and the progress offsets they advance are written in ONE
 * transaction, so after any crash the stored records and the offsets agree.
 * Ids are max(id)+1, assigned in order; a rollback gives them back.
 * Must never build SQL from values (parameters only), and never commit
 * anything but whole groups handed to it by group_commit.c.
 */
#include <errno.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <bsd/string.h>

#include "log.h"
#include "loop.h"
#include "merkle.h"
#include "store_forward.h"
#include "store_impl.h"
#include "store_query.h"
#include "store_schema.h"

/* Parameters and columns: store_schema.h's enums for records and
 * progress (STORE_BIND), store_append.c's seen_columns for RECORD_SEEN,
 * store_frontier.c's for the frontier. */
static const char *const statement_sql[STORE_STMT_COUNT] = {
	[STORE_STMT_INSERT_RECORD] = STORE_SQL_INSERT_RECORD,
	/* By the time index. */
	[STORE_STMT_RECORD_SEEN] = "SELECT 1 FROM records WHERE timestamp_ns = ?1"
		" AND uid IS ?2 AND seq IS ?3 AND event_type = ?4"
		" AND end_user_id IS ?5 AND target IS ?6 LIMIT 1",
	[STORE_STMT_PROGRESS_PUT] = "INSERT OR REPLACE INTO progress ("
		STORE_PROGRESS_COLUMNS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7,"
		" ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
	[STORE_STMT_PROGRESS_UPDATE] = "UPDATE progress SET offset = ?2,"
		" next_seq = ?3 WHERE name = ?1",
	[STORE_STMT_PROGRESS_DELETE] = "DELETE FROM progress WHERE name = ?1",
	[STORE_STMT_PROGRESS_GET] = "SELECT " STORE_PROGRESS_COLUMNS
		" FROM progress WHERE name = ?1",
	[STORE_STMT_PROGRESS_ALL] = "SELECT " STORE_PROGRESS_COLUMNS
		" FROM progress ORDER BY name",
	[STORE_STMT_BEGIN] = "BEGIN IMMEDIATE",
	[STORE_STMT_COMMIT] = "COMMIT",
	[STORE_STMT_ROLLBACK] = "ROLLBACK",
	[STORE_STMT_FRONTIER_PUT] = "INSERT OR REPLACE INTO tree_frontier"
		" (one, size, hashes) VALUES (1, ?1, ?2)",
	[STORE_STMT_FRONTIER_GET] = "SELECT size, hashes FROM tree_frontier"
		" WHERE one = 1",
};

int store_sqlite_errno(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_DONE:
	case SQLITE_ROW:
		return 0;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_READONLY:
	case SQLITE_PERM:
	case SQLITE_AUTH:
		return -EACCES;
	case SQLITE_CONSTRAINT:
		return -EEXIST;
	default:
		return -EIO;
	}
}

static int64_t read_max_id(sqlite3 *db)
{
	sqlite3_stmt *stmt = NULL;
	int64_t next = 1;

	/* max(id) + 1, and never below a retention cut (store_schema.h) */
	if (sqlite3_prepare_v2(db, STORE_SQL_NEXT_ID, -1, &stmt,
			       NULL) == SQLITE_OK &&
	    sqlite3_step(stmt) == SQLITE_ROW &&
	    sqlite3_column_type(stmt, 0) != SQLITE_NULL)
		next = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	return next;
}

static int check_schema_version(struct store *st)
{
	sqlite3_stmt *stmt = NULL;
	int rc = -EIO;

	if (sqlite3_prepare_v2(st->db, "SELECT value FROM meta WHERE key = 'schema_version'",
			       -1, &stmt, NULL) != SQLITE_OK)
		goto out;
	if (sqlite3_step(stmt) != SQLITE_ROW)
		goto out;
	if (sqlite3_column_int64(stmt, 0) != STORE_SCHEMA_VERSION) {
		snprintf(st->message, sizeof(st->message),
			 "database has schema version %lld, this collector writes %d",
			 (long long)sqlite3_column_int64(stmt, 0), STORE_SCHEMA_VERSION);
		rc = -EPROTO;
		goto out;
	}
	rc = 0;
out:
	sqlite3_finalize(stmt);
	return rc;
}

static int index_exists(sqlite3 *db, const char *name)
{
	sqlite3_stmt *stmt = NULL;
	int found = 0;

	if (sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_master WHERE type = 'index'"
			       " AND name = ?1", -1, &stmt, NULL) == SQLITE_OK) {
		sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
		found = sqlite3_step(stmt) == SQLITE_ROW;
	}
	sqlite3_finalize(stmt);
	return found;
}

/*
 * The indexes of the current layout (store_schema.h). A store of layout 1
 * gets its patient and actor indexes replaced by the chunked ones, once,
 * in one transaction (about a minute per 10M records on 2 cores; logged).
 * Missing indexes (a bulk load that stopped half way) are made again.
 */
static int ensure_indexes(struct store *st)
{
	int64_t started;
	int rc;

	if (!index_exists(st->db, STORE_INDEX_V1_PATIENT) &&
	    !index_exists(st->db, STORE_INDEX_V1_ACTOR))
		return sqlite3_exec(st->db, STORE_SQL_CREATE_INDEXES, NULL, NULL,
				    NULL) == SQLITE_OK ? 0 : -EIO;
	started = loop_now_ms();
	daemon_info("store: replacing the patient and actor indexes of %s by "
		    "chunked ones (once; ingest waits)", sqlite3_db_filename(st->db, "main"));
	rc = sqlite3_exec(st->db, "BEGIN IMMEDIATE;" STORE_SQL_DROP_V1_INDEXES
			  STORE_SQL_CREATE_INDEXES "COMMIT;", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		snprintf(st->message, sizeof(st->message), "%s", sqlite3_errmsg(st->db));
		(void)sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
		return -EIO;
	}
	daemon_info("store: indexes replaced in %" PRId64 " ms", loop_now_ms() - started);
	return 0;
}

int store_open(struct store **out, const char *path, enum config_flush flush,
	       const char **why)
{
	struct store *st;
	const char *pragmas;
	int rc = -EIO, i;

	*out = NULL;
	*why = "out of memory";
	st = calloc(1, sizeof(*st));
	if (st == NULL)
		return -ENOMEM;
	st->first_pending_ms = -1;
	merkle_builder_init(&st->tree_pending);
	merkle_builder_init(&st->tree_committed);
	/* Only possible before SQLite's first use in the process; no harm
	 * (SQLITE_MISUSE) after. Nothing here reads sqlite3_memory_used. */
	(void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	if (sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
			    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK)
		goto sqlite_error;
	sqlite3_busy_timeout(st->db, 5000);
	if (sqlite3_exec(st->db, "PRAGMA cache_size = -" STORE_SQL_TEXT(STORE_CACHE_KIB)
			 "; PRAGMA wal_autocheckpoint = "
			 STORE_SQL_TEXT(STORE_WAL_CHECKPOINT_PAGES),
			 NULL, NULL, NULL) != SQLITE_OK)
		goto sqlite_error;
	pragmas = flush == CONFIG_FLUSH_EVERY_RECORD ?
		"PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;" :
		"PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;";
	if (sqlite3_exec(st->db, pragmas, NULL, NULL, NULL) != SQLITE_OK)
		goto sqlite_error;
	if (sqlite3_exec(st->db, STORE_SQL_CREATE_TABLES, NULL, NULL, NULL) != SQLITE_OK)
		goto sqlite_error;
	rc = check_schema_version(st);
	if (rc < 0) {
		if (rc == -EPROTO)
			goto fail;
		goto sqlite_error;
	}
	if (ensure_indexes(st) < 0)
		goto sqlite_error;
	for (i = 0; i < STORE_STMT_COUNT; i++)
		if (sqlite3_prepare_v3(st->db, statement_sql[i], -1,
				       SQLITE_PREPARE_PERSISTENT,
				       &st->statements[i], NULL) != SQLITE_OK)
			goto sqlite_error;
	if (sqlite3_open_v2(path, &st->reader, SQLITE_OPEN_READONLY |
			    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		snprintf(st->message, sizeof(st->message), "%s",
			 sqlite3_errmsg(st->reader));
		rc = -EIO;
		goto fail;
	}
	sqlite3_busy_timeout(st->reader, 5000);
	st->next_id = read_max_id(st->db);
	*out = st;
	return 0;

sqlite_error:
	snprintf(st->message, sizeof(st->message), "%s",
		 st->db ? sqlite3_errmsg(st->db) : "cannot open");
	rc = store_sqlite_errno(st->db ? sqlite3_errcode(st->db) : SQLITE_ERROR);
	if (rc == 0)
		rc = -EIO;
fail:
	/* The message must outlive the store: keep a static copy. */
	{
		static char last_message[256];

		strlcpy(last_message, st->message, sizeof(last_message));
		*why = last_message;
	}
	store_close(st);
	return rc;
}

void store_close(struct store *st)
{
	int i;

	if (st == NULL)
		return;
	store_wal_stop(st);
	if (st->in_transaction)
		store_rollback(st);
	for (i = 0; i < STORE_STMT_COUNT; i++)
		sqlite3_finalize(st->statements[i]);
	sqlite3_close(st->reader);
	sqlite3_close(st->db);
	free(st);
}

int64_t store_next_id(const struct store *st)
{
	return st->next_id;
}

static int step_statement(struct store *st, sqlite3_stmt *stmt, int clear)
{
	int rc = sqlite3_step(stmt);

	sqlite3_reset(stmt);
	if (clear)
		sqlite3_clear_bindings(stmt);
	if (rc != SQLITE_DONE) {
		snprintf(st->message, sizeof(st->message), "%s", sqlite3_errmsg(st->db));
		return store_sqlite_errno(rc) ? store_sqlite_errno(rc) : -EIO;
	}
	return 0;
}

int store_run_statement(struct store *st, enum store_statement which)
{
	return step_statement(st, st->statements[which], 1);
}

int store_step_statement(struct store *st, enum store_statement which)
{
	return step_statement(st, st->statements[which], 0);
}

int store_begin_if_needed(struct store *st)
{
	int rc;

	if (st->in_transaction)
		return 0;
	rc = store_run_statement(st, STORE_STMT_BEGIN);
	if (rc == 0)
		st->in_transaction = 1;
	return rc;
}

#ifdef PHITRAILD_FAULTS
/*
 * Test builds only (make asan): when $PHITRAILD_FAULT_COMMIT names a file
 * that exists, the next commit removes it and fails with -EIO, leaving the
 * transaction open as a refused SQLite COMMIT does.
 */
static int fault_commit_due(void)
{
	const char *path = getenv("PHITRAILD_FAULT_COMMIT");

	return path != NULL && path[0] != '\0' && unlink(path) == 0;
}
#else
static int fault_commit_due(void)
{
	return 0;
}
#endif

int store_commit(struct store *st)
{
	int rc;

	if (!st->in_transaction)
		return 0;
	if (fault_commit_due()) {
		snprintf(st->message, sizeof(st->message), "injected commit fault");
		return -EIO;         /* still open: the caller rolls back */
	}
	if (st->tree_pending.size != st->tree_committed.size) {
		rc = store_frontier_put(st);
		if (rc < 0)
			return rc;   /* still open: the caller rolls back or retries */
	}
	rc = store_run_statement(st, STORE_STMT_COMMIT);
	if (rc < 0) {
		if (!sqlite3_get_autocommit(st->db))
			return rc;   /* still open: the caller rolls back or retries */
		/* SQLite rolled it back itself. */
		st->in_transaction = 0;
		st->pending = 0;
		st->first_pending_ms = -1;
		st->next_id = read_max_id(st->db);
		st->tree_pending = st->tree_committed;
		return rc;
	}
	st->in_transaction = 0;
	st->pending = 0;
	st->first_pending_ms = -1;
	st->tree_committed = st->tree_pending;
	return 0;
}

void store_rollback(struct store *st)
{
	if (!sqlite3_get_autocommit(st->db))
		(void)store_run_statement(st, STORE_STMT_ROLLBACK);
	st->in_transaction = 0;
	st->pending = 0;
	st->first_pending_ms = -1;
	st->next_id = read_max_id(st->db);
	st->tree_pending = st->tree_committed;
}

int store_reload_next_id(struct store *st)
{
	if (st->in_transaction)
		return -EBUSY;
	st->next_id = read_max_id(st->db);
	return 0;
}

size_t store_pending(const struct store *st)
{
	return st->pending;
}

int64_t store_first_pending_ms(const struct store *st)
{
	return st->first_pending_ms;
}

int store_in_transaction(const struct store *st)
{
	return st->in_transaction;
}

/* The SQL of queries and stats is shared with the CLI: store_query.c. */
int store_query(struct store *st, const struct query_request *q,
		int (*emit)(void *context, const void *bytes, size_t len),
		void *context, int64_t *count, const char **why)
{
	return store_query_records(st->reader, q, emit, context, count, why,
				   st->message, sizeof(st->message));
}

int store_stats(struct store *st, const struct query_request *q,
		int (*row)(void *context, const char *key, int64_t count),
		void *context, int64_t *groups, const char **why)
{
	return store_query_stats(st->reader, q, row, context, groups, why,
				 st->message, sizeof(st->message));
}

int store_explain(struct store *st, const struct query_request *q,
		  char *plan, size_t plan_size)
{
	return store_query_explain(st->reader, q, plan, plan_size);
}

int store_bulk_load(struct store *st, int on)
{
	const char *sql = on ? "PRAGMA synchronous = OFF;" STORE_SQL_DROP_INDEXES :
		STORE_SQL_CREATE_INDEXES "PRAGMA synchronous = NORMAL;";

	if (st->in_transaction)
		return -EBUSY;
	if (sqlite3_exec(st->db, sql, NULL, NULL, NULL) != SQLITE_OK) {
		snprintf(st->message, sizeof(st->message), "%s", sqlite3_errmsg(st->db));
		return -EIO;
	}
	return 0;
}

int store_limit_pages(struct store *st, long pages)
{
	char sql[64];

	snprintf(sql, sizeof(sql), "PRAGMA max_page_count = %ld", pages);
	return sqlite3_exec(st->db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -EIO;
}

/* The two connections, for store_forward.c only (store_forward.h). */
sqlite3 *store_writer_connection(struct store *st)
{
	return st->db;
}

sqlite3 *store_reader_connection(struct store *st)
{
	return st->reader;
}
