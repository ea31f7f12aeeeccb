/*
 * store.c - the SQLite audit store.
 *
 * Owns the database: its connections, tables, statements and the one
 * write transaction; the SQL of queries is store_query.c's, run on the read
 * connection here. The tables a verifier reads too (records, checkpoints,
 * forward_cursor) are defined once, in common/store/store_schema.h; the ones only
 * the collector reads (progress: how far each spool file is stored, and
 * who writes it; meta: schema_version = STORE_SCHEMA_VERSION; and
 * tree_frontier: the Merkle frontier of the committed records, written in
 * every commit's transaction so the collector starts without re-reading
 * the leaves) are in schema_sql below. The transaction is begun by the
 * first write and committed or rolled back by group_commit.c alone.
 * Indexes (store_schema.h, layout 2): patient and actor prefixed by the
 * id chunk, so ingest touches a bounded part of them at any store size
 * (measured at 10M records: 2.5 KB written and 17 us CPU per record,
 * against 23 KB and 65 us with the unchunked indexes of layout 1, which
 * are replaced once at open). The writer's page cache is 16 MiB; the WAL
 * is copied into the file every STORE_WAL_CHECKPOINT_PAGES pages (index
 * pages dirtied by several commits are written to the file once); SQLite's
 * allocation statistics are off (a mutex pair per allocation).
 * The store also keeps the Merkle tree of the committed records
 * (store_tree_committed) in step with every commit.
 * Records and the progress offsets they advance are written in ONE
 * transaction, so after any crash the stored records and the offsets agree.
 * Ids are max(id)+1, assigned in order; a rollback gives them back.
 * Must never build SQL from values (parameters only), and never commit
 * anything but whole groups handed to it by group_commit.c.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bsd/string.h>

#include "merkle.h"
#include "log.h"
#include "loop.h"
#include "pathglob.h"
#include "store.h"
#include "store_forward.h"
#include "store_query.h"
#include "store_schema.h"

enum statement_id {
	SQL_INSERT_RECORD,
	SQL_PROGRESS_PUT,
	SQL_PROGRESS_UPDATE,
	SQL_PROGRESS_DELETE,
	SQL_PROGRESS_GET,
	SQL_PROGRESS_ALL,
	SQL_BEGIN,
	SQL_COMMIT,
	SQL_ROLLBACK,
	SQL_FRONTIER_PUT,
	SQL_FRONTIER_GET,
	SQL_RECORD_SEEN,
	SQL_COUNT
};

#define PROGRESS_COLUMNS "name, offset, next_seq, pid, ppid, uid, gid, auid, " \
	"session, start_time, exe, actor, identity, flags"
/* The columns of PROGRESS_COLUMNS, in order: result column N is bound as
 * parameter N + 1 (BIND). */
enum progress_column {
	PROGRESS_NAME, PROGRESS_OFFSET, PROGRESS_NEXT_SEQ, PROGRESS_PID,
	PROGRESS_PPID, PROGRESS_UID, PROGRESS_GID, PROGRESS_AUID,
	PROGRESS_SESSION, PROGRESS_START_TIME, PROGRESS_EXE, PROGRESS_ACTOR,
	PROGRESS_IDENTITY, PROGRESS_FLAGS,
};
#define BIND(column) ((column) + 1)
/* STORE_SQL_INSERT_RECORD's parameters after the derived columns. */
enum {
	RECORD_BIND_BYTES = STORE_DERIVED_COLUMN_COUNT + 1,
	RECORD_BIND_LEAF_HASH,
};
/* SQL_FRONTIER_PUT's parameters and SQL_FRONTIER_GET's columns. */
enum { FRONTIER_SIZE, FRONTIER_HASHES };

static const char *const statement_sql[SQL_COUNT] = {
	[SQL_INSERT_RECORD] = STORE_SQL_INSERT_RECORD,
	[SQL_PROGRESS_PUT] = "INSERT OR REPLACE INTO progress (" PROGRESS_COLUMNS
		") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
	[SQL_PROGRESS_UPDATE] = "UPDATE progress SET offset = ?2, next_seq = ?3"
		" WHERE name = ?1",
	[SQL_PROGRESS_DELETE] = "DELETE FROM progress WHERE name = ?1",
	[SQL_PROGRESS_GET] = "SELECT " PROGRESS_COLUMNS " FROM progress WHERE name = ?1",
	[SQL_PROGRESS_ALL] = "SELECT " PROGRESS_COLUMNS " FROM progress ORDER BY name",
	[SQL_BEGIN] = "BEGIN IMMEDIATE",
	[SQL_COMMIT] = "COMMIT",
	[SQL_ROLLBACK] = "ROLLBACK",
	[SQL_FRONTIER_PUT] = "INSERT OR REPLACE INTO tree_frontier (one, size, hashes)"
		" VALUES (1, ?1, ?2)",
	[SQL_FRONTIER_GET] = "SELECT size, hashes FROM tree_frontier WHERE one = 1",
	/* By the time index; the columns are store_schema_values' order. */
	[SQL_RECORD_SEEN] = "SELECT 1 FROM records WHERE timestamp_ns = ?2"
		" AND uid IS ?10 AND seq IS ?17 AND event_type = ?6"
		" AND end_user_id IS ?7 AND target IS ?13 LIMIT 1",
};

static const char schema_sql[] =
	"CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value);"
	STORE_SQL_CREATE_RECORDS
	STORE_SQL_CREATE_CHECKPOINTS
	STORE_SQL_CREATE_FORWARD_CURSOR
	"CREATE TABLE IF NOT EXISTS tree_frontier (one INTEGER PRIMARY KEY"
	" CHECK (one = 1), size INTEGER NOT NULL, hashes BLOB NOT NULL);"
	"CREATE TABLE IF NOT EXISTS progress ("
	" name TEXT PRIMARY KEY, offset INTEGER NOT NULL, next_seq INTEGER NOT NULL,"
	" pid INTEGER, ppid INTEGER, uid INTEGER, gid INTEGER, auid INTEGER,"
	" session INTEGER, start_time INTEGER NOT NULL, exe TEXT, actor TEXT NOT NULL,"
	" identity TEXT NOT NULL, flags INTEGER NOT NULL);"
	"INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', 1);";

struct store {
	sqlite3 *db;                   /* the writer */
	sqlite3 *reader;               /* queries: committed data only */
	sqlite3_stmt *statements[SQL_COUNT];
	int in_transaction;
	size_t pending;
	int64_t first_pending_ms;
	int64_t next_id;
	/* The Merkle tree of every appended record (pending) and of the
	 * committed ones (what a checkpoint may sign); see store_tree_set. */
	struct merkle_builder tree_pending, tree_committed;
	char message[256];
	unsigned char buffer[RECORD_MAX_BYTES];
};

static int sqlite_to_errno(int rc)
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
	if (sqlite3_exec(st->db, schema_sql, NULL, NULL, NULL) != SQLITE_OK)
		goto sqlite_error;
	rc = check_schema_version(st);
	if (rc < 0) {
		if (rc == -EPROTO)
			goto fail;
		goto sqlite_error;
	}
	if (ensure_indexes(st) < 0)
		goto sqlite_error;
	for (i = 0; i < SQL_COUNT; i++)
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
	rc = sqlite_to_errno(st->db ? sqlite3_errcode(st->db) : SQLITE_ERROR);
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
	if (st->in_transaction)
		store_rollback(st);
	for (i = 0; i < SQL_COUNT; i++)
		sqlite3_finalize(st->statements[i]);
	sqlite3_close(st->reader);
	sqlite3_close(st->db);
	free(st);
}

int64_t store_next_id(const struct store *st)
{
	return st->next_id;
}

/* Runs one reusable statement that returns no rows; clear: forget its
 * bindings after (not needed by one whose every parameter is bound on
 * every run, like the record insert). */
static int step_statement(struct store *st, sqlite3_stmt *stmt, int clear)
{
	int rc = sqlite3_step(stmt);

	sqlite3_reset(stmt);
	if (clear)
		sqlite3_clear_bindings(stmt);
	if (rc != SQLITE_DONE) {
		snprintf(st->message, sizeof(st->message), "%s", sqlite3_errmsg(st->db));
		return sqlite_to_errno(rc) ? sqlite_to_errno(rc) : -EIO;
	}
	return 0;
}

static int run_statement(struct store *st, sqlite3_stmt *stmt)
{
	return step_statement(st, stmt, 1);
}

static int begin_if_needed(struct store *st)
{
	int rc;

	if (st->in_transaction)
		return 0;
	rc = run_statement(st, st->statements[SQL_BEGIN]);
	if (rc == 0)
		st->in_transaction = 1;
	return rc;
}

static void bind_int_or_null(sqlite3_stmt *stmt, int index, int64_t value)
{
	if (value != RECORD_ABSENT)
		sqlite3_bind_int64(stmt, index, value);
	else
		sqlite3_bind_null(stmt, index);
}

int store_append(struct store *st, struct record *r)
{
	merkle_hash leaf;
	sqlite3_stmt *stmt = st->statements[SQL_INSERT_RECORD];
	struct store_value values[STORE_DERIVED_COLUMN_COUNT];
	struct timespec now;
	long len;
	int rc, i;

	if (r->received_sec == RECORD_ABSENT) {
		clock_gettime(CLOCK_REALTIME, &now);
		r->received_sec = now.tv_sec;
		r->received_nsec = (uint32_t)now.tv_nsec;
	}
	r->id = st->next_id;
	len = record_encode(r, st->buffer, sizeof(st->buffer));
	if (len < 0) {
		snprintf(st->message, sizeof(st->message), "record does not encode");
		return len == -ENOSPC ? -EINVAL : (int)len;
	}
	rc = begin_if_needed(st);
	if (rc < 0)
		return rc;
	merkle_leaf_hash(st->buffer, (size_t)len, leaf);
	/* The columns are the ones a verifier reads back: store_schema.c. */
	store_schema_values(r, values);
	for (i = 0; i < STORE_DERIVED_COLUMN_COUNT; i++) {
		if (values[i].kind == STORE_VALUE_INT)
			sqlite3_bind_int64(stmt, i + 1, values[i].number);
		else if (values[i].kind == STORE_VALUE_TEXT)
			sqlite3_bind_text(stmt, i + 1, values[i].text, -1, SQLITE_STATIC);
		else
			sqlite3_bind_null(stmt, i + 1);
	}
	sqlite3_bind_blob(stmt, RECORD_BIND_BYTES, st->buffer, (int)len,
			  SQLITE_STATIC);
	sqlite3_bind_blob(stmt, RECORD_BIND_LEAF_HASH, leaf, sizeof(leaf),
			  SQLITE_STATIC);
	rc = step_statement(st, stmt, 0);
	if (rc < 0)
		return rc;
	(void)merkle_builder_append(&st->tree_pending, leaf);
	st->next_id++;
	if (st->pending++ == 0)
		st->first_pending_ms = loop_now_ms();
	return 0;
}

int store_record_seen(struct store *st, const struct record *r)
{
	sqlite3_stmt *stmt = st->statements[SQL_RECORD_SEEN];
	struct store_value values[STORE_DERIVED_COLUMN_COUNT];
	static const int columns[] = { 2, 6, 7, 10, 13, 17 };   /* ?N, from 1 */
	size_t i;
	int rc;

	store_schema_values(r, values);
	for (i = 0; i < sizeof(columns) / sizeof(columns[0]); i++) {
		const struct store_value *v = &values[columns[i] - 1];

		if (v->kind == STORE_VALUE_INT)
			sqlite3_bind_int64(stmt, columns[i], v->number);
		else if (v->kind == STORE_VALUE_TEXT)
			sqlite3_bind_text(stmt, columns[i], v->text, -1, SQLITE_STATIC);
		else
			sqlite3_bind_null(stmt, columns[i]);
	}
	rc = sqlite3_step(stmt);
	sqlite3_reset(stmt);
	sqlite3_clear_bindings(stmt);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : sqlite_to_errno(rc) ? sqlite_to_errno(rc) : -EIO;
}

int store_progress_put(struct store *st, const struct store_progress *p)
{
	sqlite3_stmt *stmt = st->statements[SQL_PROGRESS_PUT];
	const struct writer_identity *w = &p->who;
	int rc;

	rc = begin_if_needed(st);
	if (rc < 0)
		return rc;
	sqlite3_bind_text(stmt, BIND(PROGRESS_NAME), p->name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, BIND(PROGRESS_OFFSET), p->offset);
	sqlite3_bind_int64(stmt, BIND(PROGRESS_NEXT_SEQ), p->next_seq);
	bind_int_or_null(stmt, BIND(PROGRESS_PID), w->pid);
	bind_int_or_null(stmt, BIND(PROGRESS_PPID), w->ppid);
	bind_int_or_null(stmt, BIND(PROGRESS_UID), w->uid);
	bind_int_or_null(stmt, BIND(PROGRESS_GID), w->gid);
	bind_int_or_null(stmt, BIND(PROGRESS_AUID), w->auid);
	bind_int_or_null(stmt, BIND(PROGRESS_SESSION), w->session);
	sqlite3_bind_int64(stmt, BIND(PROGRESS_START_TIME),
			   (int64_t)w->start_time_ticks);
	sqlite3_bind_text(stmt, BIND(PROGRESS_EXE), w->exe, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, BIND(PROGRESS_ACTOR), w->actor, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, BIND(PROGRESS_IDENTITY), w->kind, -1,
			  SQLITE_STATIC);
	sqlite3_bind_int64(stmt, BIND(PROGRESS_FLAGS), p->flags);
	return run_statement(st, stmt);
}

int store_progress_update(struct store *st, const char *name, int64_t offset,
			  int64_t next_seq)
{
	sqlite3_stmt *stmt = st->statements[SQL_PROGRESS_UPDATE];
	int rc;

	rc = begin_if_needed(st);
	if (rc < 0)
		return rc;
	sqlite3_bind_text(stmt, BIND(PROGRESS_NAME), name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, BIND(PROGRESS_OFFSET), offset);
	sqlite3_bind_int64(stmt, BIND(PROGRESS_NEXT_SEQ), next_seq);
	return run_statement(st, stmt);
}

int store_progress_delete(struct store *st, const char *name)
{
	sqlite3_stmt *stmt = st->statements[SQL_PROGRESS_DELETE];
	int rc;

	rc = begin_if_needed(st);
	if (rc < 0)
		return rc;
	sqlite3_bind_text(stmt, BIND(PROGRESS_NAME), name, -1, SQLITE_STATIC);
	return run_statement(st, stmt);
}

static int64_t column_int_or_absent(sqlite3_stmt *stmt, int column)
{
	if (sqlite3_column_type(stmt, column) == SQLITE_NULL)
		return RECORD_ABSENT;
	return sqlite3_column_int64(stmt, column);
}

static void column_text(sqlite3_stmt *stmt, int column, char *out, size_t size)
{
	const unsigned char *text = sqlite3_column_text(stmt, column);

	strlcpy(out, text != NULL ? (const char *)text : "", size);
}

static void progress_from_row(sqlite3_stmt *stmt, struct store_progress *p)
{
	struct writer_identity *w = &p->who;

	memset(p, 0, sizeof(*p));
	identity_clear(w);
	column_text(stmt, PROGRESS_NAME, p->name, sizeof(p->name));
	p->offset = sqlite3_column_int64(stmt, PROGRESS_OFFSET);
	p->next_seq = sqlite3_column_int64(stmt, PROGRESS_NEXT_SEQ);
	w->pid = column_int_or_absent(stmt, PROGRESS_PID);
	w->ppid = column_int_or_absent(stmt, PROGRESS_PPID);
	w->uid = column_int_or_absent(stmt, PROGRESS_UID);
	w->gid = column_int_or_absent(stmt, PROGRESS_GID);
	w->auid = column_int_or_absent(stmt, PROGRESS_AUID);
	w->session = column_int_or_absent(stmt, PROGRESS_SESSION);
	w->start_time_ticks =
		(uint64_t)sqlite3_column_int64(stmt, PROGRESS_START_TIME);
	column_text(stmt, PROGRESS_EXE, w->exe, sizeof(w->exe));
	column_text(stmt, PROGRESS_ACTOR, w->actor, sizeof(w->actor));
	column_text(stmt, PROGRESS_IDENTITY, w->kind, sizeof(w->kind));
	p->flags = (uint32_t)sqlite3_column_int64(stmt, PROGRESS_FLAGS);
}

int store_progress_get(struct store *st, const char *name,
		       struct store_progress *p)
{
	sqlite3_stmt *stmt = st->statements[SQL_PROGRESS_GET];
	int rc;

	sqlite3_bind_text(stmt, BIND(PROGRESS_NAME), name, -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		progress_from_row(stmt, p);
	sqlite3_reset(stmt);
	sqlite3_clear_bindings(stmt);
	if (rc == SQLITE_ROW)
		return 0;
	return rc == SQLITE_DONE ? -ENOENT : -EIO;
}

int store_progress_each(struct store *st,
			int (*fn)(void *context, const struct store_progress *p),
			void *context)
{
	sqlite3_stmt *stmt = st->statements[SQL_PROGRESS_ALL];
	struct store_progress *rows = NULL, *grown;
	size_t count = 0, cap = 0, i;
	int rc;

	/* Collected first so fn may write to the progress table. */
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (count == cap) {
			cap = cap ? cap * 2 : 16;
			grown = reallocarray(rows, cap, sizeof(*rows));
			if (grown == NULL) {
				rc = SQLITE_NOMEM;
				break;
			}
			rows = grown;
		}
		progress_from_row(stmt, &rows[count++]);
	}
	sqlite3_reset(stmt);
	if (rc != SQLITE_DONE) {
		free(rows);
		return rc == SQLITE_NOMEM ? -ENOMEM : -EIO;
	}
	rc = 0;
	for (i = 0; i < count && rc == 0; i++)
		rc = fn(context, &rows[i]);
	free(rows);
	return rc;
}

/* The frontier of the pending tree, in the open transaction. */
static int frontier_put(struct store *st)
{
	sqlite3_stmt *stmt = st->statements[SQL_FRONTIER_PUT];
	merkle_hash frontier[MERKLE_MAX_DEPTH];
	size_t count = merkle_builder_frontier(&st->tree_pending, frontier);

	sqlite3_bind_int64(stmt, BIND(FRONTIER_SIZE), (int64_t)st->tree_pending.size);
	sqlite3_bind_blob(stmt, BIND(FRONTIER_HASHES), frontier, (int)(count * MERKLE_HASH_BYTES),
			  SQLITE_STATIC);
	return run_statement(st, stmt);
}

int store_frontier_load(struct store *st, struct merkle_builder *out)
{
	sqlite3_stmt *stmt = st->statements[SQL_FRONTIER_GET];
	int rc, len;
	int64_t size;

	rc = sqlite3_step(stmt);
	if (rc != SQLITE_ROW) {
		sqlite3_reset(stmt);
		return rc == SQLITE_DONE ? -ENOENT : -EIO;
	}
	size = sqlite3_column_int64(stmt, FRONTIER_SIZE);
	len = sqlite3_column_bytes(stmt, FRONTIER_HASHES);
	rc = -EBADMSG;
	if (size >= 0 && len >= 0 && len % MERKLE_HASH_BYTES == 0 &&
	    (size_t)len / MERKLE_HASH_BYTES ==
	    (size_t)__builtin_popcountll((unsigned long long)size))
		rc = merkle_builder_resume(out, (uint64_t)size,
					   sqlite3_column_blob(stmt, FRONTIER_HASHES),
					   (size_t)len / MERKLE_HASH_BYTES) < 0 ?
			-EBADMSG : 0;
	sqlite3_reset(stmt);
	return rc;
}

int store_frontier_save(struct store *st)
{
	int rc;

	if (st->in_transaction)
		return -EBUSY;
	rc = run_statement(st, st->statements[SQL_BEGIN]);
	if (rc < 0)
		return rc;
	rc = frontier_put(st);
	if (rc == 0)
		rc = run_statement(st, st->statements[SQL_COMMIT]);
	if (rc < 0 && !sqlite3_get_autocommit(st->db))
		(void)run_statement(st, st->statements[SQL_ROLLBACK]);
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
		rc = frontier_put(st);
		if (rc < 0)
			return rc;   /* still open: the caller rolls back or retries */
	}
	rc = run_statement(st, st->statements[SQL_COMMIT]);
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
		(void)run_statement(st, st->statements[SQL_ROLLBACK]);
	st->in_transaction = 0;
	st->pending = 0;
	st->first_pending_ms = -1;
	st->next_id = read_max_id(st->db);
	st->tree_pending = st->tree_committed;
}

void store_tree_set(struct store *st, const struct merkle_builder *tree)
{
	st->tree_committed = *tree;
	st->tree_pending = *tree;
}

const struct merkle_builder *store_tree_committed(const struct store *st)
{
	return &st->tree_committed;
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
