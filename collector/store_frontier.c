/*
 * store_frontier.c - the Merkle tree the store keeps of its records: the
 * pending tree (every appended record) and the committed one (what a
 * checkpoint may sign), and its frontier (size and the popcount(size)
 * subtree hashes, store_schema.h's tree_frontier) stored in every commit's
 * transaction so the collector starts without re-reading the leaves.
 * Must never read the tree back from the records itself: checkpointer.c
 * rebuilds it from the leaves when no frontier fits.
 */
#include <errno.h>

#include "merkle.h"
#include "store_impl.h"

/* STORE_STMT_FRONTIER_PUT's parameters and STORE_STMT_FRONTIER_GET's
 * columns (store.c). */
enum { FRONTIER_SIZE, FRONTIER_HASHES };

int store_frontier_put(struct store *st)
{
	sqlite3_stmt *stmt = st->statements[STORE_STMT_FRONTIER_PUT];
	merkle_hash frontier[MERKLE_MAX_DEPTH];
	size_t count = merkle_builder_frontier(&st->tree_pending, frontier);

	sqlite3_bind_int64(stmt, STORE_BIND(FRONTIER_SIZE),
			   (int64_t)st->tree_pending.size);
	sqlite3_bind_blob(stmt, STORE_BIND(FRONTIER_HASHES), frontier,
			  (int)(count * MERKLE_HASH_BYTES), SQLITE_STATIC);
	return store_run_statement(st, STORE_STMT_FRONTIER_PUT);
}

int store_frontier_load(struct store *st, struct merkle_builder *out)
{
	sqlite3_stmt *stmt = st->statements[STORE_STMT_FRONTIER_GET];
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
	rc = store_run_statement(st, STORE_STMT_BEGIN);
	if (rc < 0)
		return rc;
	rc = store_frontier_put(st);
	if (rc == 0)
		rc = store_run_statement(st, STORE_STMT_COMMIT);
	if (rc < 0 && !sqlite3_get_autocommit(st->db))
		(void)store_run_statement(st, STORE_STMT_ROLLBACK);
	return rc;
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
