/*
 * store.c - the SQLite audit store.
 *
 * Owns the schema (records, progress, meta), the group-commit transaction
 * and the read side of queries. Layout, version 1:
 *   records(id INTEGER PRIMARY KEY, timestamp_ns, received_ns, workspace_id,
 *           actor_user_id, event_type, end_user_id, host, pid, uid, auid,
 *           exe, target, target2, rule, result, seq, identity,
 *           bytes BLOB  -- the exact stored msgpack, what is hashed,
 *           leaf_hash BLOB -- SHA-256(0x00 || bytes), RFC 6962)
 *   progress(name PRIMARY KEY, offset, next_seq, pid, ppid, uid, gid, auid,
 *            session, start_time, exe, actor, identity, flags)
 *   meta(key PRIMARY KEY, value)  -- "schema_version" = 1
 *   checkpoints(...)  -- the signed chain, written by checkpointer.c
 * The SQL of records and checkpoints is in common/store_schema.h, shared
 * with the CLI's verifier. The store also keeps the Merkle tree of the
 * committed records (store_tree_committed) in step with every commit.
 * Records and the progress offsets they advance are written in ONE
 * transaction, so after any crash the stored records and the offsets agree.
 * Ids are max(id)+1, assigned in order; a rollback gives them back.
 * Must never build SQL from values (parameters only), and never commit
 * anything but whole groups handed to it by its caller.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bsd/string.h>

#include "merkle.h"
#include "loop.h"
#include "pathglob.h"
#include "store.h"
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
	SQL_COUNT
};

#define PROGRESS_COLUMNS "name, offset, next_seq, pid, ppid, uid, gid, auid, " \
	"session, start_time, exe, actor, identity, flags"

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
};

static const char schema_sql[] =
	"CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value);"
	STORE_SQL_CREATE_RECORDS
	STORE_SQL_CREATE_CHECKPOINTS
	"CREATE INDEX IF NOT EXISTS records_patient ON records (end_user_id, timestamp_ns);"
	"CREATE INDEX IF NOT EXISTS records_actor ON records (actor_user_id, timestamp_ns);"
	"CREATE INDEX IF NOT EXISTS records_event ON records (event_type, timestamp_ns);"
	"CREATE INDEX IF NOT EXISTS records_time ON records (timestamp_ns);"
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
	if (sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
			    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK)
		goto sqlite_error;
	sqlite3_busy_timeout(st->db, 5000);
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

/* Runs one reusable statement that returns no rows. */
static int run_statement(struct store *st, sqlite3_stmt *stmt)
{
	int rc = sqlite3_step(stmt);

	sqlite3_reset(stmt);
	sqlite3_clear_bindings(stmt);
	if (rc != SQLITE_DONE) {
		snprintf(st->message, sizeof(st->message), "%s", sqlite3_errmsg(st->db));
		return sqlite_to_errno(rc) ? sqlite_to_errno(rc) : -EIO;
	}
	return 0;
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
	sqlite3_bind_blob(stmt, 19, st->buffer, (int)len, SQLITE_STATIC);
	sqlite3_bind_blob(stmt, 20, leaf, sizeof(leaf), SQLITE_STATIC);
	rc = run_statement(st, stmt);
	if (rc < 0)
		return rc;
	(void)merkle_builder_append(&st->tree_pending, leaf);
	st->next_id++;
	if (st->pending++ == 0)
		st->first_pending_ms = loop_now_ms();
	return 0;
}

int store_progress_put(struct store *st, const struct store_progress *p)
{
	sqlite3_stmt *stmt = st->statements[SQL_PROGRESS_PUT];
	const struct writer_identity *w = &p->who;
	int rc;

	rc = begin_if_needed(st);
	if (rc < 0)
		return rc;
	sqlite3_bind_text(stmt, 1, p->name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 2, p->offset);
	sqlite3_bind_int64(stmt, 3, p->next_seq);
	bind_int_or_null(stmt, 4, w->pid);
	bind_int_or_null(stmt, 5, w->ppid);
	bind_int_or_null(stmt, 6, w->uid);
	bind_int_or_null(stmt, 7, w->gid);
	bind_int_or_null(stmt, 8, w->auid);
	bind_int_or_null(stmt, 9, w->session);
	sqlite3_bind_int64(stmt, 10, (int64_t)w->start_time_ticks);
	sqlite3_bind_text(stmt, 11, w->exe, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 12, w->actor, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 13, w->kind, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 14, p->flags);
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
	sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 2, offset);
	sqlite3_bind_int64(stmt, 3, next_seq);
	return run_statement(st, stmt);
}

int store_progress_delete(struct store *st, const char *name)
{
	sqlite3_stmt *stmt = st->statements[SQL_PROGRESS_DELETE];
	int rc;

	rc = begin_if_needed(st);
	if (rc < 0)
		return rc;
	sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
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
	column_text(stmt, 0, p->name, sizeof(p->name));
	p->offset = sqlite3_column_int64(stmt, 1);
	p->next_seq = sqlite3_column_int64(stmt, 2);
	w->pid = column_int_or_absent(stmt, 3);
	w->ppid = column_int_or_absent(stmt, 4);
	w->uid = column_int_or_absent(stmt, 5);
	w->gid = column_int_or_absent(stmt, 6);
	w->auid = column_int_or_absent(stmt, 7);
	w->session = column_int_or_absent(stmt, 8);
	w->start_time_ticks = (uint64_t)sqlite3_column_int64(stmt, 9);
	column_text(stmt, 10, w->exe, sizeof(w->exe));
	column_text(stmt, 11, w->actor, sizeof(w->actor));
	column_text(stmt, 12, w->kind, sizeof(w->kind));
	p->flags = (uint32_t)sqlite3_column_int64(stmt, 13);
}

int store_progress_get(struct store *st, const char *name,
		       struct store_progress *p)
{
	sqlite3_stmt *stmt = st->statements[SQL_PROGRESS_GET];
	int rc;

	sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
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

int store_commit(struct store *st)
{
	int rc;

	if (!st->in_transaction)
		return 0;
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

/* A growing SQL text; parameters are appended to params in order. */
struct query_builder {
	char sql[2048];
	size_t len;
	int overflow;
};

static void sql_append(struct query_builder *b, const char *text)
{
	size_t n = strlen(text);

	if (b->len + n + 1 > sizeof(b->sql)) {
		b->overflow = 1;
		return;
	}
	memcpy(b->sql + b->len, text, n + 1);
	b->len += n;
}

/* The string filters of a request: column and value ("" = no filter). */
struct text_filter {
	const char *column_clause;
	size_t offset;
};

static const struct text_filter text_filters[] = {
	{ " AND end_user_id = ?", offsetof(struct query_request, patient) },
	{ " AND actor_user_id = ?", offsetof(struct query_request, actor) },
	{ " AND host = ?", offsetof(struct query_request, host) },
	{ " AND exe = ?", offsetof(struct query_request, exe) },
	{ " AND rule = ?", offsetof(struct query_request, rule) },
	{ " AND result = ?", offsetof(struct query_request, result) },
};

static const char *request_text(const struct query_request *q, size_t offset)
{
	return (const char *)q + offset;
}

/* What a prepared query returns. */
enum query_shape {
	SHAPE_RECORDS,          /* bytes, target; ordered by id */
	SHAPE_COUNT,            /* count(*) */
	SHAPE_GROUPS,           /* group key, count(*); by key */
	SHAPE_GROUP_TARGETS,    /* group key, target; by key (glob filtered in C) */
};

/* The group key of each "by" of stats (query.h): a column or a UTC period. */
static const struct stats_key {
	const char *by;
	const char *expression;
} stats_keys[] = {
	{ "actor", "actor_user_id" },
	{ "patient", "end_user_id" },
	{ "event", "event_type" },
	{ "exe", "exe" },
	{ "hour", "strftime('%Y-%m-%dT%H', timestamp_ns / 1000000000, 'unixepoch')" },
	{ "day", "strftime('%Y-%m-%d', timestamp_ns / 1000000000, 'unixepoch')" },
};

static const char *stats_key_expression(const char *by)
{
	size_t i;

	if (by[0] == '\0')
		by = "event";
	for (i = 0; i < sizeof(stats_keys) / sizeof(stats_keys[0]); i++)
		if (strcmp(stats_keys[i].by, by) == 0)
			return stats_keys[i].expression;
	return NULL;
}

/* Builds the WHERE clause and binds it; returns the prepared statement. */
static int prepare_query(struct store *st, const struct query_request *q,
			 enum query_shape shape, int use_limit, int explain,
			 sqlite3_stmt **out)
{
	struct query_builder b = { .len = 0 };
	sqlite3_stmt *stmt = NULL;
	const char *key = NULL;
	size_t i;
	int index = 1, rc;

	if (shape == SHAPE_GROUPS || shape == SHAPE_GROUP_TARGETS) {
		key = stats_key_expression(q->by);
		if (key == NULL)
			return -EINVAL;
	}
	if (explain)
		sql_append(&b, "EXPLAIN QUERY PLAN ");
	switch (shape) {
	case SHAPE_RECORDS:
		sql_append(&b, "SELECT bytes, target FROM records");
		break;
	case SHAPE_COUNT:
		sql_append(&b, "SELECT count(*) FROM records");
		break;
	case SHAPE_GROUPS:
	case SHAPE_GROUP_TARGETS:
		sql_append(&b, "SELECT ");
		sql_append(&b, key);
		sql_append(&b, shape == SHAPE_GROUPS ? ", count(*)" : ", target");
		sql_append(&b, " FROM records");
		break;
	}
	/*
	 * A time range alone: SQLite, without statistics, may judge a scan of
	 * the table (or of another covering index, for count and stats)
	 * cheaper than the time index; a period is usually a small part of
	 * the store, so the time index is named.
	 */
	if ((q->since_ns != QUERY_ABSENT || q->until_ns != QUERY_ABSENT) &&
	    q->patient[0] == '\0' && q->actor[0] == '\0' && q->event_count == 0)
		sql_append(&b, " INDEXED BY records_time");
	sql_append(&b, " WHERE 1");
	for (i = 0; i < sizeof(text_filters) / sizeof(text_filters[0]); i++)
		if (request_text(q, text_filters[i].offset)[0] != '\0')
			sql_append(&b, text_filters[i].column_clause);
	if (q->event_count > 0) {
		sql_append(&b, " AND event_type IN (?");
		for (i = 1; i < q->event_count; i++)
			sql_append(&b, ", ?");
		sql_append(&b, ")");
	}
	if (q->since_ns != QUERY_ABSENT)
		sql_append(&b, " AND timestamp_ns >= ?");
	if (q->until_ns != QUERY_ABSENT)
		sql_append(&b, " AND timestamp_ns < ?");
	if (q->after_id != QUERY_ABSENT)
		sql_append(&b, q->descending ? " AND id < ?" : " AND id > ?");
	if (q->pid != QUERY_ABSENT)
		sql_append(&b, " AND pid = ?");
	if (q->failed_only)
		sql_append(&b, " AND result != 'ok'");
	if (shape == SHAPE_RECORDS)
		sql_append(&b, q->descending ? " ORDER BY id DESC" : " ORDER BY id ASC");
	if (shape == SHAPE_GROUPS)
		sql_append(&b, " GROUP BY 1 ORDER BY 1");
	if (shape == SHAPE_GROUP_TARGETS)
		sql_append(&b, " ORDER BY 1");
	if (use_limit && q->limit > 0)
		sql_append(&b, " LIMIT ?");
	if (b.overflow)
		return -EINVAL;

	rc = sqlite3_prepare_v2(st->reader, b.sql, -1, &stmt, NULL);
	if (rc != SQLITE_OK) {
		snprintf(st->message, sizeof(st->message), "%s", sqlite3_errmsg(st->reader));
		sqlite3_finalize(stmt);
		return -EIO;
	}
	for (i = 0; i < sizeof(text_filters) / sizeof(text_filters[0]); i++) {
		const char *value = request_text(q, text_filters[i].offset);

		if (value[0] != '\0')
			sqlite3_bind_text(stmt, index++, value, -1, SQLITE_STATIC);
	}
	for (i = 0; i < q->event_count; i++)
		sqlite3_bind_text(stmt, index++, q->events[i], -1, SQLITE_STATIC);
	if (q->since_ns != QUERY_ABSENT)
		sqlite3_bind_int64(stmt, index++, q->since_ns);
	if (q->until_ns != QUERY_ABSENT)
		sqlite3_bind_int64(stmt, index++, q->until_ns);
	if (q->after_id != QUERY_ABSENT)
		sqlite3_bind_int64(stmt, index++, q->after_id);
	if (q->pid != QUERY_ABSENT)
		sqlite3_bind_int64(stmt, index++, q->pid);
	if (use_limit && q->limit > 0)
		sqlite3_bind_int64(stmt, index++, q->limit);
	*out = stmt;
	return 0;
}

int store_query(struct store *st, const struct query_request *q,
		int (*emit)(void *context, const void *bytes, size_t len),
		void *context, int64_t *count, const char **why)
{
	struct pathglob glob;
	sqlite3_stmt *stmt = NULL;
	int has_glob = q->target[0] != '\0';
	int count_only = q->op == QUERY_OP_COUNT && !has_glob;
	int rc;

	*count = 0;
	*why = NULL;
	if (has_glob && pathglob_compile(&glob, q->target, why) < 0)
		return -EINVAL;
	if (q->op == QUERY_OP_STATS) {
		*why = "internal: stats requests go to store_stats";
		return -EINVAL;
	}
	rc = prepare_query(st, q, count_only ? SHAPE_COUNT : SHAPE_RECORDS,
			   !has_glob, 0, &stmt);
	if (rc < 0) {
		if (*why == NULL)
			*why = rc == -EINVAL ? "query too complex" : st->message;
		return rc;
	}
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (count_only) {
			*count = sqlite3_column_int64(stmt, 0);
			continue;
		}
		if (has_glob) {
			const char *target = (const char *)sqlite3_column_text(stmt, 1);

			if (target == NULL ||
			    !pathglob_match(&glob, target, strlen(target), NULL))
				continue;
		}
		if (q->op == QUERY_OP_QUERY) {
			int stop = emit(context, sqlite3_column_blob(stmt, 0),
					(size_t)sqlite3_column_bytes(stmt, 0));
			if (stop != 0) {
				sqlite3_finalize(stmt);
				return stop;
			}
		}
		(*count)++;
		if (has_glob && q->limit > 0 && *count >= q->limit)
			break;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		snprintf(st->message, sizeof(st->message), "%s", sqlite3_errmsg(st->reader));
		*why = st->message;
		sqlite3_finalize(stmt);
		return -EIO;
	}
	sqlite3_finalize(stmt);
	if (count_only && q->limit > 0 && *count > q->limit)
		*count = q->limit;
	return 0;
}

/* Calls row for one finished group; stops on a non-zero return. */
static int stats_emit(int (*row)(void *context, const char *key, int64_t count),
		      void *context, const unsigned char *key, int64_t count,
		      int64_t *groups)
{
	if (count == 0)
		return 0;
	(*groups)++;
	return row(context, (const char *)key, count);
}

int store_stats(struct store *st, const struct query_request *request,
		int (*row)(void *context, const char *key, int64_t count),
		void *context, int64_t *groups, const char **why)
{
	struct query_request q = *request;
	struct pathglob glob;
	sqlite3_stmt *stmt = NULL;
	int has_glob = q.target[0] != '\0';
	unsigned char *current = NULL;
	int current_nil = 0, stop = 0, rc;
	int64_t count = 0;

	*groups = 0;
	*why = NULL;
	/* Paging and order do not apply to groups. */
	q.after_id = QUERY_ABSENT;
	q.limit = 0;
	q.descending = 0;
	if (has_glob && pathglob_compile(&glob, q.target, why) < 0)
		return -EINVAL;
	rc = prepare_query(st, &q, has_glob ? SHAPE_GROUP_TARGETS : SHAPE_GROUPS,
			   0, 0, &stmt);
	if (rc < 0) {
		if (*why == NULL)
			*why = rc == -EINVAL ? "bad stats request" : st->message;
		return rc;
	}
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		const unsigned char *key = sqlite3_column_text(stmt, 0);
		int nil = key == NULL;

		if (!has_glob) {
			(*groups)++;
			stop = row(context, (const char *)key,
				   sqlite3_column_int64(stmt, 1));
			if (stop != 0)
				break;
			continue;
		}
		{
			const char *target = (const char *)sqlite3_column_text(stmt, 1);

			if (target == NULL ||
			    !pathglob_match(&glob, target, strlen(target), NULL))
				continue;
		}
		/* Rows arrive ordered by key: a new key closes the last group. */
		if (count > 0 && (nil != current_nil ||
				  (!nil && strcmp((const char *)key,
						  (const char *)current) != 0))) {
			stop = stats_emit(row, context, current, count, groups);
			count = 0;
			if (stop != 0)
				break;
		}
		if (count == 0) {
			free(current);
			current = nil ? NULL : (unsigned char *)strdup((const char *)key);
			current_nil = nil;
			if (!nil && current == NULL) {
				stop = -ENOMEM;
				break;
			}
		}
		count++;
	}
	if (stop == 0 && rc != SQLITE_ROW && rc != SQLITE_DONE) {
		snprintf(st->message, sizeof(st->message), "%s", sqlite3_errmsg(st->reader));
		*why = st->message;
		stop = -EIO;
	}
	if (stop == 0 && has_glob)
		stop = stats_emit(row, context, current, count, groups);
	free(current);
	sqlite3_finalize(stmt);
	return stop;
}

int store_explain(struct store *st, const struct query_request *q,
		  char *plan, size_t plan_size)
{
	sqlite3_stmt *stmt = NULL;
	enum query_shape shape;
	int rc;

	if (plan_size == 0)
		return -EINVAL;
	plan[0] = '\0';
	if (q->op == QUERY_OP_STATS)
		shape = q->target[0] ? SHAPE_GROUP_TARGETS : SHAPE_GROUPS;
	else if (q->op == QUERY_OP_COUNT && q->target[0] == '\0')
		shape = SHAPE_COUNT;
	else
		shape = SHAPE_RECORDS;
	rc = prepare_query(st, q, shape, q->target[0] == '\0', 1, &stmt);
	if (rc < 0)
		return rc;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		const char *detail = (const char *)sqlite3_column_text(stmt, 3);

		if (plan[0] != '\0')
			strlcat(plan, "\n", plan_size);
		strlcat(plan, detail ? detail : "?", plan_size);
	}
	sqlite3_finalize(stmt);
	return rc == SQLITE_DONE ? 0 : -EIO;
}

int store_limit_pages(struct store *st, long pages)
{
	char sql[64];

	snprintf(sql, sizeof(sql), "PRAGMA max_page_count = %ld", pages);
	return sqlite3_exec(st->db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -EIO;
}
