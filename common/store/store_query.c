/*
 * store_query.c - the read side of the audit store: a query_request
 * (query.h) turned into one SELECT over the records table, its filters as
 * bound parameters, run on a connection the caller opened (the
 * collector's read connection, or a store file the CLI opened read-only
 * with store_query_open); the target glob applied to the rows in C, stats
 * grouped by key in SQL (or here, when a glob filters the rows).
 *
 * Owns the SQL of queries, counts and stats and which index they use.
 * Must never build SQL from values (parameters only), write to the
 * database, or open a store file in any mode that could create or change
 * it (no -wal or -shm made beside a store closed cleanly).
 */
#include <errno.h>
#include <limits.h>
#include <sqlite3.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bsd/string.h>

#include "pathglob.h"
#include "store_query.h"
#include "store_schema.h"

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

/*
 * Whether the store has the chunked patient and actor indexes (layout 2,
 * store_schema.h); a store file of layout 1 is read with its own indexes.
 */
static int store_is_chunked(sqlite3 *db)
{
	sqlite3_stmt *stmt = NULL;
	int found = 0;

	if (sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_master WHERE type ="
			       " 'index' AND name IN ('" STORE_INDEX_PATIENT "', '"
			       STORE_INDEX_ACTOR "')", -1, &stmt, NULL) == SQLITE_OK &&
	    sqlite3_step(stmt) == SQLITE_ROW)
		found = sqlite3_column_int(stmt, 0) == 2;
	sqlite3_finalize(stmt);
	return found;
}

/* The select list and table of a query of this shape. */
static void sql_select(struct query_builder *b, enum query_shape shape,
		       const char *key)
{
	switch (shape) {
	case SHAPE_RECORDS:
		sql_append(b, "SELECT bytes, target FROM records");
		break;
	case SHAPE_COUNT:
		sql_append(b, "SELECT count(*) FROM records");
		break;
	case SHAPE_GROUPS:
	case SHAPE_GROUP_TARGETS:
		sql_append(b, "SELECT ");
		sql_append(b, key);
		sql_append(b, shape == SHAPE_GROUPS ? ", count(*)" : ", target");
		sql_append(b, " FROM records");
		break;
	}
}

/* Binds q's values in the order prepare_query wrote their '?'. */
static void query_bind(sqlite3_stmt *stmt, const struct query_request *q,
		       int use_limit)
{
	size_t i;
	int index = 1;

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
}

/* Builds the WHERE clause and binds it; returns the prepared statement. */
static int prepare_query(sqlite3 *db, const struct query_request *q,
			 enum query_shape shape, int use_limit, int explain,
			 sqlite3_stmt **out, char *message, size_t message_size)
{
	struct query_builder b = { .len = 0 };
	sqlite3_stmt *stmt = NULL;
	const char *key = NULL;
	size_t i;
	int rc;
	/* A patient or actor is looked up chunk by chunk (store_schema.h). */
	int by_chunk = (q->patient[0] != '\0' || q->actor[0] != '\0') &&
		store_is_chunked(db);

	if (shape == SHAPE_GROUPS || shape == SHAPE_GROUP_TARGETS) {
		key = stats_key_expression(q->by);
		if (key == NULL)
			return -EINVAL;
	}
	if (explain)
		sql_append(&b, "EXPLAIN QUERY PLAN ");
	if (by_chunk)
		sql_append(&b, STORE_SQL_CHUNKS);
	sql_select(&b, shape, key);
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
	if (by_chunk)
		sql_append(&b, " AND " STORE_CHUNK_EXPR " IN chunks");
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

	rc = sqlite3_prepare_v2(db, b.sql, -1, &stmt, NULL);
	if (rc != SQLITE_OK) {
		snprintf(message, message_size, "%s", sqlite3_errmsg(db));
		sqlite3_finalize(stmt);
		return -EIO;
	}
	query_bind(stmt, q, use_limit);
	*out = stmt;
	return 0;
}

int store_query_records(sqlite3 *db, const struct query_request *q,
			int (*emit)(void *context, const void *bytes, size_t len),
			void *context, int64_t *count, const char **why,
			char *message, size_t message_size)
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
	rc = prepare_query(db, q, count_only ? SHAPE_COUNT : SHAPE_RECORDS,
			   !has_glob, 0, &stmt, message, message_size);
	if (rc < 0) {
		if (*why == NULL)
			*why = rc == -EINVAL ? "query too complex" : message;
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
		snprintf(message, message_size, "%s", sqlite3_errmsg(db));
		*why = message;
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

int store_query_stats(sqlite3 *db, const struct query_request *request,
		      int (*row)(void *context, const char *key, int64_t count),
		      void *context, int64_t *groups, const char **why,
		      char *message, size_t message_size)
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
	rc = prepare_query(db, &q, has_glob ? SHAPE_GROUP_TARGETS : SHAPE_GROUPS,
			   0, 0, &stmt, message, message_size);
	if (rc < 0) {
		if (*why == NULL)
			*why = rc == -EINVAL ? "bad stats request" : message;
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
		snprintf(message, message_size, "%s", sqlite3_errmsg(db));
		*why = message;
		stop = -EIO;
	}
	if (stop == 0 && has_glob)
		stop = stats_emit(row, context, current, count, groups);
	free(current);
	sqlite3_finalize(stmt);
	return stop;
}

int store_query_explain(sqlite3 *db, const struct query_request *q,
			char *plan, size_t plan_size)
{
	char message[256];
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
	rc = prepare_query(db, q, shape, q->target[0] == '\0', 1, &stmt,
			   message, sizeof(message));
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

/* "file:" and path with the characters a URI gives meaning escaped. */
static int path_uri(const char *path, const char *parameters, char *uri,
		    size_t size)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = 0;
	const unsigned char *p;

	if (strlcpy(uri, "file:", size) >= size)
		return -ENAMETOOLONG;
	n = strlen(uri);
	for (p = (const unsigned char *)path; *p != '\0'; p++) {
		if (n + 4 >= size)
			return -ENAMETOOLONG;
		if (*p == '%' || *p == '?' || *p == '#') {
			uri[n++] = '%';
			uri[n++] = hex[*p >> 4];
			uri[n++] = hex[*p & 15];
		} else {
			uri[n++] = (char)*p;
		}
	}
	uri[n] = '\0';
	if (strlcat(uri, parameters, size) >= size)
		return -ENAMETOOLONG;
	return 0;
}

/* 1 when path-suffix exists. */
static int sibling_exists(const char *path, const char *suffix)
{
	char name[PATH_MAX + 8];
	struct stat sb;

	if ((size_t)snprintf(name, sizeof(name), "%s%s", path, suffix) >=
	    sizeof(name))
		return 0;
	return lstat(name, &sb) == 0;
}

/* A phitrail store: the meta table says which schema version, records exist. */
static int check_store(sqlite3 *db, const char *path, char *message,
		       size_t message_size)
{
	sqlite3_stmt *stmt = NULL;
	int rc = -ENOTSUP, step;

	if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = "
			       "'schema_version' AND EXISTS (SELECT 1 FROM "
			       "sqlite_master WHERE type = 'table' AND name = "
			       "'records')", -1, &stmt, NULL) != SQLITE_OK) {
		int code = sqlite3_errcode(db);

		if (code == SQLITE_ERROR)   /* no such table: meta */
			snprintf(message, message_size, "%s is not a phitrail "
				 "store (an SQLite database without its tables)",
				 path);
		else if (code == SQLITE_NOTADB)
			snprintf(message, message_size, "%s is not a phitrail "
				 "store (not an SQLite database)", path);
		else
			snprintf(message, message_size, "cannot read %s: %s",
				 path, sqlite3_errmsg(db));
		rc = code == SQLITE_ERROR || code == SQLITE_NOTADB ? -ENOTSUP : -EIO;
		goto out;
	}
	step = sqlite3_step(stmt);
	if (step == SQLITE_DONE) {
		snprintf(message, message_size, "%s is not a phitrail store "
			 "(no schema version, no records table)", path);
		goto out;
	}
	if (step != SQLITE_ROW) {
		snprintf(message, message_size, "cannot read %s: %s", path,
			 sqlite3_errmsg(db));
		rc = sqlite3_errcode(db) == SQLITE_NOTADB ? -ENOTSUP : -EIO;
		goto out;
	}
	if (sqlite3_column_int64(stmt, 0) != STORE_QUERY_SCHEMA_VERSION) {
		snprintf(message, message_size, "%s is a phitrail store of "
			 "schema version %lld; this phitrail reads version %d",
			 path, (long long)sqlite3_column_int64(stmt, 0),
			 STORE_QUERY_SCHEMA_VERSION);
		rc = -EPROTO;
		goto out;
	}
	rc = 0;
out:
	sqlite3_finalize(stmt);
	return rc;
}

int store_query_open(const char *path, sqlite3 **out, char *message,
		     size_t message_size)
{
	char uri[PATH_MAX * 3 + 64];
	struct stat sb;
	sqlite3 *db = NULL;
	int rc;

	*out = NULL;
	message[0] = '\0';
	if (stat(path, &sb) < 0 || access(path, R_OK) < 0) {
		rc = -errno;
		snprintf(message, message_size, "cannot read the store %s: %s",
			 path, strerror(-rc));
		return rc;
	}
	if (!S_ISREG(sb.st_mode)) {
		snprintf(message, message_size, "%s is not a file", path);
		return -ENOTSUP;
	}
	/*
	 * Without a -wal file nobody has the store open for writing: read it
	 * immutable, so SQLite makes no -wal or -shm file beside it. With
	 * one, read the WAL too (mode=ro; its -shm is used as it is).
	 */
	rc = path_uri(path, sibling_exists(path, "-wal") ? "?mode=ro" :
		      "?mode=ro&immutable=1", uri, sizeof(uri));
	if (rc < 0) {
		snprintf(message, message_size, "%s: path too long", path);
		return rc;
	}
	if (sqlite3_open_v2(uri, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI |
			    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		snprintf(message, message_size, "cannot open the store %s: %s",
			 path, db ? sqlite3_errmsg(db) : "out of memory");
		sqlite3_close(db);
		return -EIO;
	}
	sqlite3_busy_timeout(db, 5000);
	rc = check_store(db, path, message, message_size);
	if (rc < 0) {
		sqlite3_close(db);
		return rc;
	}
	*out = db;
	return 0;
}
