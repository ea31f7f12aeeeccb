/*
 * store_forward.c - the forwarders' side of the store (store_forward.h):
 * the forward_cursor table (store_schema.h), committed records and
 * checkpoints read in order after a cursor on the read connection, and
 * the store's random id in meta ("store_id"), and the one statement
 * that reads records to ship, prepared once (store_forward_release).
 * Must never write anything but cursor rows and the store id, and never
 * build SQL from values.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "forward.h"
#include "store.h"
#include "store_forward.h"
#include "store_schema.h"

static int sqlite_error(int rc)
{
	return (rc & 0xff) == SQLITE_FULL ? -ENOSPC : -EIO;
}

int store_forward_cursor_get(struct store *st, const char *sink, int64_t *through)
{
	sqlite3_stmt *stmt = NULL;
	int rc;

	*through = 0;
	if (sqlite3_prepare_v2(store_writer_connection(st),
			       "SELECT through_id FROM forward_cursor WHERE sink = ?1",
			       -1, &stmt, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_text(stmt, 1, sink, -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		*through = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -EIO;
}

int store_forward_cursor_put(struct store *st, const char *sink, int64_t through,
			     int64_t now_ns)
{
	sqlite3_stmt *stmt = NULL;
	int rc;

	rc = sqlite3_prepare_v2(store_writer_connection(st),
				"INSERT OR REPLACE INTO forward_cursor (sink, through_id,"
				" updated_ns) VALUES (?1, ?2, ?3)", -1, &stmt, NULL);
	if (rc != SQLITE_OK)
		return sqlite_error(rc);
	sqlite3_bind_text(stmt, 1, sink, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 2, through);
	sqlite3_bind_int64(stmt, 3, now_ns);
	rc = sqlite3_step(stmt);
	sqlite3_finalize(stmt);
	return rc == SQLITE_DONE ? 0 : sqlite_error(rc);
}

/* The statement reading records to ship: run on every forwarding pass,
 * so prepared once per reader connection (a prepare cost about as much
 * as reading a few records). */
static struct {
	sqlite3 *db;
	sqlite3_stmt *records;
} cached;

void store_forward_release(void)
{
	sqlite3_finalize(cached.records);
	cached.records = NULL;
	cached.db = NULL;
}

static sqlite3_stmt *records_statement(struct store *st)
{
	sqlite3 *db = store_reader_connection(st);

	if (cached.db != db)
		store_forward_release();
	if (cached.records == NULL &&
	    sqlite3_prepare_v3(db, "SELECT id, received_ns, bytes, leaf_hash FROM"
			       " records WHERE id > ?1 ORDER BY id LIMIT ?2", -1,
			       SQLITE_PREPARE_PERSISTENT, &cached.records,
			       NULL) != SQLITE_OK)
		return NULL;
	cached.db = db;
	return cached.records;
}

int store_forward_records(struct store *st, int64_t after_id, int limit,
			  int (*fn)(void *context, const struct forward_record *r),
			  void *context)
{
	sqlite3_stmt *stmt = records_statement(st);
	struct forward_record r;
	int rc, stop = 0;

	if (stmt == NULL)
		return -EIO;
	r.again = 0;
	sqlite3_bind_int64(stmt, 1, after_id);
	sqlite3_bind_int(stmt, 2, limit);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		r.id = sqlite3_column_int64(stmt, 0);
		r.received_ns = sqlite3_column_int64(stmt, 1);
		r.bytes = sqlite3_column_blob(stmt, 2);
		r.len = (size_t)sqlite3_column_bytes(stmt, 2);
		r.leaf_hash = sqlite3_column_blob(stmt, 3);
		if (r.leaf_hash == NULL || sqlite3_column_bytes(stmt, 3) != 32 ||
		    r.bytes == NULL) {
			rc = SQLITE_CORRUPT;
			break;
		}
		stop = fn(context, &r);
		if (stop != 0)
			break;
	}
	sqlite3_reset(stmt);     /* ends the read: the next sees new commits */
	if (stop != 0)
		return stop;
	return rc == SQLITE_DONE ? 0 : -EIO;
}

int store_forward_checkpoints(struct store *st, int64_t after_seq, int limit,
			      int (*fn)(void *context,
					const struct forward_checkpoint *c),
			      void *context)
{
	sqlite3_stmt *stmt = NULL;
	struct forward_checkpoint c;
	int rc, stop = 0;

	if (sqlite3_prepare_v2(store_reader_connection(st),
			       "SELECT seq, kind, tree_size, signed FROM checkpoints"
			       " WHERE seq > ?1 ORDER BY seq LIMIT ?2", -1, &stmt,
			       NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_int64(stmt, 1, after_seq);
	sqlite3_bind_int(stmt, 2, limit);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		c.seq = sqlite3_column_int64(stmt, 0);
		c.kind = (const char *)sqlite3_column_text(stmt, 1);
		c.tree_size = sqlite3_column_int64(stmt, 2);
		c.signed_bytes = sqlite3_column_blob(stmt, 3);
		c.len = (size_t)sqlite3_column_bytes(stmt, 3);
		if (c.kind == NULL || c.signed_bytes == NULL) {
			rc = SQLITE_CORRUPT;
			break;
		}
		stop = fn(context, &c);
		if (stop != 0)
			break;
	}
	sqlite3_finalize(stmt);
	if (stop != 0)
		return stop;
	return rc == SQLITE_DONE ? 0 : -EIO;
}

static int one_integer(sqlite3 *db, const char *sql, int64_t bind, int64_t *out,
		       int64_t when_null)
{
	sqlite3_stmt *stmt = NULL;
	int rc;

	*out = when_null;
	if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) != SQLITE_OK)
		return -EIO;
	if (sqlite3_bind_parameter_count(stmt) > 0)
		sqlite3_bind_int64(stmt, 1, bind);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW && sqlite3_column_type(stmt, 0) != SQLITE_NULL)
		*out = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -EIO;
}

int store_forward_last_id(struct store *st, int64_t *last)
{
	return one_integer(store_reader_connection(st), "SELECT max(id) FROM records",
			   0, last, 0);
}

int store_forward_first_after(struct store *st, int64_t after_id,
			      int64_t *received_ns)
{
	return one_integer(store_reader_connection(st),
			   "SELECT received_ns FROM records WHERE id > ?1"
			   " ORDER BY id LIMIT 1", after_id, received_ns, -1);
}

int store_forward_store_id(struct store *st, char out[STORE_ID_HEX + 1])
{
	sqlite3 *db = store_writer_connection(st);
	sqlite3_stmt *stmt = NULL;
	const unsigned char *text;
	int rc = -EIO;

	if (sqlite3_exec(db, "INSERT OR IGNORE INTO meta (key, value) VALUES"
			 " ('store_id', lower(hex(randomblob(16))))", NULL, NULL,
			 NULL) != SQLITE_OK)
		return -EIO;
	if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = 'store_id'",
			       -1, &stmt, NULL) != SQLITE_OK)
		return -EIO;
	if (sqlite3_step(stmt) == SQLITE_ROW) {
		text = sqlite3_column_text(stmt, 0);
		if (text != NULL && strlen((const char *)text) == STORE_ID_HEX) {
			memcpy(out, text, STORE_ID_HEX + 1);
			rc = 0;
		}
	}
	sqlite3_finalize(stmt);
	return rc;
}
