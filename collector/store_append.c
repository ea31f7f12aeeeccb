/*
 * store_append.c - the insert path of the store: a record gets the next
 * id and its received time, is encoded once, hashed into the pending
 * Merkle tree and inserted with the columns a verifier reads back
 * (store_schema.c) in the open transaction; and the check whether a
 * replayed record is stored already.
 * Must never build SQL from values, nor commit: store.c and
 * group_commit.c decide when a group ends.
 */
#include <errno.h>
#include <stdio.h>
#include <time.h>

#include "loop.h"
#include "merkle.h"
#include "store_impl.h"
#include "store_schema.h"

/* STORE_SQL_INSERT_RECORD's parameters after the derived columns. */
enum {
	RECORD_BIND_BYTES = STORE_BIND(STORE_DERIVED_COLUMN_COUNT),
	RECORD_BIND_LEAF_HASH,
};

/* The derived columns store_record_seen compares, in the order of its
 * parameters (store.c's STORE_STMT_RECORD_SEEN: ?1..?6). */
static const enum store_derived_column seen_columns[] = {
	STORE_COLUMN_TIMESTAMP_NS, STORE_COLUMN_UID, STORE_COLUMN_SEQ,
	STORE_COLUMN_EVENT_TYPE, STORE_COLUMN_END_USER_ID, STORE_COLUMN_TARGET,
};

static void bind_value(sqlite3_stmt *stmt, int parameter,
		       const struct store_value *v)
{
	if (v->kind == STORE_VALUE_INT)
		sqlite3_bind_int64(stmt, parameter, v->number);
	else if (v->kind == STORE_VALUE_TEXT)
		sqlite3_bind_text(stmt, parameter, v->text, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(stmt, parameter);
}

int store_append(struct store *st, struct record *r)
{
	merkle_hash leaf;
	sqlite3_stmt *stmt = st->statements[STORE_STMT_INSERT_RECORD];
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
	rc = store_begin_if_needed(st);
	if (rc < 0)
		return rc;
	merkle_leaf_hash(st->buffer, (size_t)len, leaf);
	/* The columns are the ones a verifier reads back: store_schema.c. */
	store_schema_values(r, values);
	for (i = 0; i < STORE_DERIVED_COLUMN_COUNT; i++)
		bind_value(stmt, STORE_BIND(i), &values[i]);
	sqlite3_bind_blob(stmt, RECORD_BIND_BYTES, st->buffer, (int)len,
			  SQLITE_STATIC);
	sqlite3_bind_blob(stmt, RECORD_BIND_LEAF_HASH, leaf, sizeof(leaf),
			  SQLITE_STATIC);
	rc = store_step_statement(st, STORE_STMT_INSERT_RECORD);
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
	sqlite3_stmt *stmt = st->statements[STORE_STMT_RECORD_SEEN];
	struct store_value values[STORE_DERIVED_COLUMN_COUNT];
	size_t i;
	int rc;

	store_schema_values(r, values);
	for (i = 0; i < sizeof(seen_columns) / sizeof(seen_columns[0]); i++)
		bind_value(stmt, (int)i + 1, &values[seen_columns[i]]);
	rc = sqlite3_step(stmt);
	sqlite3_reset(stmt);
	sqlite3_clear_bindings(stmt);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return store_sqlite_errno(rc) ? store_sqlite_errno(rc) : -EIO;
}
