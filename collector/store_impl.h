/*
 * store_impl.h - what the files of the store share and nothing else
 * includes: the store's state, its prepared statements, and the helpers
 * that run them. store.c opens and closes the database and owns the one
 * write transaction; store_append.c inserts records; store_progress.c
 * keeps the progress rows; store_frontier.c keeps the Merkle tree and its
 * stored frontier; store_wal.c copies the WAL into the file.
 */
#ifndef PHITRAILD_STORE_IMPL_H
#define PHITRAILD_STORE_IMPL_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "merkle.h"
#include "record.h"
#include "store.h"

/* The prepared statements (store.c's statement_sql holds their SQL). */
enum store_statement {
	STORE_STMT_INSERT_RECORD,
	STORE_STMT_RECORD_SEEN,
	STORE_STMT_PROGRESS_PUT,
	STORE_STMT_PROGRESS_UPDATE,
	STORE_STMT_PROGRESS_DELETE,
	STORE_STMT_PROGRESS_GET,
	STORE_STMT_PROGRESS_ALL,
	STORE_STMT_BEGIN,
	STORE_STMT_COMMIT,
	STORE_STMT_ROLLBACK,
	STORE_STMT_FRONTIER_PUT,
	STORE_STMT_FRONTIER_GET,
	STORE_STMT_COUNT
};

/* A column index N as its parameter number (?N+1). */
#define STORE_BIND(column) ((column) + 1)

struct store {
	sqlite3 *db;                   /* the writer */
	sqlite3 *reader;               /* queries: committed data only */
	sqlite3_stmt *statements[STORE_STMT_COUNT];
	struct store_wal *wal;         /* the checkpoint thread, or NULL */
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

/* An SQLite result code as 0 or a negative errno. */
int store_sqlite_errno(int rc);

/* Runs one of the statements that return no rows and forgets its
 * bindings: 0, or a negative errno with st->message set. */
int store_run_statement(struct store *st, enum store_statement which);

/* The same, keeping the bindings (for one whose every parameter is bound
 * on every run, like the record insert). */
int store_step_statement(struct store *st, enum store_statement which);

/* Begins the write transaction unless one is open: 0 or -errno. */
int store_begin_if_needed(struct store *st);

/* Writes the pending tree's frontier in the open transaction
 * (store_frontier.c; store_commit calls it). */
int store_frontier_put(struct store *st);

#endif
