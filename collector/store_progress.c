/*
 * store_progress.c - the progress rows of the store: how far each spool
 * file is stored (offset, next_seq) and who writes it, put, advanced and
 * deleted in the open transaction with the records they advance over
 * (store_schema.h, table progress), and read back at start.
 * Must never commit: store.c and group_commit.c decide when a group ends.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/string.h>

#include "store_impl.h"
#include "store_schema.h"

static void bind_int_or_null(sqlite3_stmt *stmt, int index, int64_t value)
{
	if (value != RECORD_ABSENT)
		sqlite3_bind_int64(stmt, index, value);
	else
		sqlite3_bind_null(stmt, index);
}

/* Begins the transaction when none is open and binds the row's name to
 * statement which: 0 or -errno. */
static int progress_of(struct store *st, enum store_statement which,
		       const char *name)
{
	int rc = store_begin_if_needed(st);

	if (rc == 0)
		sqlite3_bind_text(st->statements[which],
				  STORE_BIND(STORE_PROGRESS_NAME), name, -1,
				  SQLITE_STATIC);
	return rc;
}

int store_progress_put(struct store *st, const struct store_progress *p)
{
	sqlite3_stmt *stmt = st->statements[STORE_STMT_PROGRESS_PUT];
	const struct writer_identity *w = &p->who;
	int rc = progress_of(st, STORE_STMT_PROGRESS_PUT, p->name);

	if (rc < 0)
		return rc;
	sqlite3_bind_int64(stmt, STORE_BIND(STORE_PROGRESS_OFFSET), p->offset);
	sqlite3_bind_int64(stmt, STORE_BIND(STORE_PROGRESS_NEXT_SEQ), p->next_seq);
	bind_int_or_null(stmt, STORE_BIND(STORE_PROGRESS_PID), w->pid);
	bind_int_or_null(stmt, STORE_BIND(STORE_PROGRESS_PPID), w->ppid);
	bind_int_or_null(stmt, STORE_BIND(STORE_PROGRESS_UID), w->uid);
	bind_int_or_null(stmt, STORE_BIND(STORE_PROGRESS_GID), w->gid);
	bind_int_or_null(stmt, STORE_BIND(STORE_PROGRESS_AUID), w->auid);
	bind_int_or_null(stmt, STORE_BIND(STORE_PROGRESS_SESSION), w->session);
	sqlite3_bind_int64(stmt, STORE_BIND(STORE_PROGRESS_START_TIME),
			   (int64_t)w->start_time_ticks);
	sqlite3_bind_text(stmt, STORE_BIND(STORE_PROGRESS_EXE), w->exe, -1,
			  SQLITE_STATIC);
	sqlite3_bind_text(stmt, STORE_BIND(STORE_PROGRESS_ACTOR), w->actor, -1,
			  SQLITE_STATIC);
	sqlite3_bind_text(stmt, STORE_BIND(STORE_PROGRESS_IDENTITY), w->kind, -1,
			  SQLITE_STATIC);
	sqlite3_bind_int64(stmt, STORE_BIND(STORE_PROGRESS_FLAGS), p->flags);
	return store_run_statement(st, STORE_STMT_PROGRESS_PUT);
}

int store_progress_update(struct store *st, const char *name, int64_t offset,
			  int64_t next_seq)
{
	sqlite3_stmt *stmt = st->statements[STORE_STMT_PROGRESS_UPDATE];
	int rc = progress_of(st, STORE_STMT_PROGRESS_UPDATE, name);

	if (rc < 0)
		return rc;
	sqlite3_bind_int64(stmt, STORE_BIND(STORE_PROGRESS_OFFSET), offset);
	sqlite3_bind_int64(stmt, STORE_BIND(STORE_PROGRESS_NEXT_SEQ), next_seq);
	return store_run_statement(st, STORE_STMT_PROGRESS_UPDATE);
}

int store_progress_delete(struct store *st, const char *name)
{
	int rc = progress_of(st, STORE_STMT_PROGRESS_DELETE, name);

	if (rc < 0)
		return rc;
	return store_run_statement(st, STORE_STMT_PROGRESS_DELETE);
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
	column_text(stmt, STORE_PROGRESS_NAME, p->name, sizeof(p->name));
	p->offset = sqlite3_column_int64(stmt, STORE_PROGRESS_OFFSET);
	p->next_seq = sqlite3_column_int64(stmt, STORE_PROGRESS_NEXT_SEQ);
	w->pid = column_int_or_absent(stmt, STORE_PROGRESS_PID);
	w->ppid = column_int_or_absent(stmt, STORE_PROGRESS_PPID);
	w->uid = column_int_or_absent(stmt, STORE_PROGRESS_UID);
	w->gid = column_int_or_absent(stmt, STORE_PROGRESS_GID);
	w->auid = column_int_or_absent(stmt, STORE_PROGRESS_AUID);
	w->session = column_int_or_absent(stmt, STORE_PROGRESS_SESSION);
	w->start_time_ticks =
		(uint64_t)sqlite3_column_int64(stmt, STORE_PROGRESS_START_TIME);
	column_text(stmt, STORE_PROGRESS_EXE, w->exe, sizeof(w->exe));
	column_text(stmt, STORE_PROGRESS_ACTOR, w->actor, sizeof(w->actor));
	column_text(stmt, STORE_PROGRESS_IDENTITY, w->kind, sizeof(w->kind));
	p->flags = (uint32_t)sqlite3_column_int64(stmt, STORE_PROGRESS_FLAGS);
}

int store_progress_get(struct store *st, const char *name,
		       struct store_progress *p)
{
	sqlite3_stmt *stmt = st->statements[STORE_STMT_PROGRESS_GET];
	int rc;

	sqlite3_bind_text(stmt, STORE_BIND(STORE_PROGRESS_NAME), name, -1,
			  SQLITE_STATIC);
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
	sqlite3_stmt *stmt = st->statements[STORE_STMT_PROGRESS_ALL];
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
