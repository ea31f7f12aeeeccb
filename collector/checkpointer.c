/*
 * checkpointer.c - tamper evidence in the collector: the signed chain of
 * checkpoints (checkpoint.h) in the store's checkpoints table
 * (store_schema.h), and retention behind signed cuts. The key itself is
 * the signer process's (signer.c): this file sends it bodies to sign.
 *
 * Owns: rebuilding the Merkle tree of the stored records at start from the
 * newest cut's frontier and the stored leaf hashes, handing it to the store
 * (store_tree_set), which keeps it in step with every commit; signing
 * {size, root, time, previous hash} every checkpoint_interval seconds even
 * when nothing changed, and at clean stop; removing records older than
 * retention_days (by received_at, the collector's own clock) at start and
 * daily, only as a prefix of ids and only after signing a cut whose
 * frontier lets verify go on.
 * Must never write while the store has a transaction open (a checkpoint
 * signs committed records only, and follow.c owns the group commit), never
 * sign a tree it could not rebuild, and never remove a record that is not
 * covered by the cut it signs in the same transaction.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <bsd/string.h>

#include "checkpoint.h"
#include "checkpointer.h"
#include "log.h"
#include "loop.h"
#include "signer.h"
#include "store_schema.h"

#define DAY_NS ((int64_t)86400 * 1000000000)

static struct {
	const struct config *cfg;
	struct store *store;
	sqlite3 *db;                       /* our own connection, read-write */
	int have_key;                      /* a signer answered at start */
	int disabled;                      /* the tree could not be rebuilt */
	unsigned char last_hash[MERKLE_HASH_BYTES];   /* chain head, zeros: none */
	uint64_t cut_size;                 /* records 1..cut_size were removed */
	int64_t next_checkpoint_ms;
	int64_t next_retention_ms;
	int64_t last_time_ns;              /* newest checkpoint; 0: none yet */
	uint64_t last_size;
} C;

/* ---- the chain ---- */

/* The newest row of sql (chain columns): 0, -ENOENT, -EIO, -EBADMSG. */
static int read_chain_row(const char *sql, int *is_cut, struct checkpoint *cp,
			  struct checkpoint_cut *cut)
{
	sqlite3_stmt *stmt = NULL;
	const void *bytes;
	int rc, len;

	if (sqlite3_prepare_v2(C.db, sql, -1, &stmt, NULL) != SQLITE_OK)
		return -EIO;
	rc = sqlite3_step(stmt);
	if (rc != SQLITE_ROW) {
		sqlite3_finalize(stmt);
		return rc == SQLITE_DONE ? -ENOENT : -EIO;
	}
	*is_cut = sqlite3_column_text(stmt, 1) != NULL &&
		strcmp((const char *)sqlite3_column_text(stmt, 1), STORE_KIND_CUT) == 0;
	bytes = sqlite3_column_blob(stmt, 6);
	len = sqlite3_column_bytes(stmt, 6);
	rc = *is_cut ? checkpoint_cut_decode(bytes, (size_t)len, cut) :
		checkpoint_decode(bytes, (size_t)len, cp);
	sqlite3_finalize(stmt);
	return rc < 0 ? -EBADMSG : 0;
}

static int insert_chain_row(const char *kind, uint64_t size, const merkle_hash root,
			    uint64_t time_ns, const unsigned char *prev,
			    const unsigned char *bytes, size_t len)
{
	sqlite3_stmt *stmt = NULL;
	int rc;

	if (sqlite3_prepare_v2(C.db, STORE_SQL_INSERT_CHECKPOINT, -1, &stmt, NULL) !=
	    SQLITE_OK)
		return -EIO;
	sqlite3_bind_text(stmt, 1, kind, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 2, (int64_t)size);
	sqlite3_bind_blob(stmt, 3, root, MERKLE_HASH_BYTES, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 4, (int64_t)time_ns);
	sqlite3_bind_blob(stmt, 5, prev, MERKLE_HASH_BYTES, SQLITE_STATIC);
	sqlite3_bind_blob(stmt, 6, bytes, (int)len, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	sqlite3_finalize(stmt);
	if (rc == SQLITE_DONE)
		return 0;
	return (rc & 0xff) == SQLITE_FULL ? -ENOSPC : -EIO;
}

/* Appends stored leaf hashes of ids first..last (inclusive) to b, checking
 * that every id is there: 0, -EIO, -EBADMSG (a missing id or a bad hash;
 * *bad_id names it). */
static int append_stored_leaves(struct merkle_builder *b, int64_t first, int64_t last,
				int64_t *bad_id)
{
	sqlite3_stmt *stmt = NULL;
	int64_t want = first;
	int rc;

	if (sqlite3_prepare_v2(C.db, STORE_SQL_LEAVES, -1, &stmt, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_int64(stmt, 1, first);
	sqlite3_bind_int64(stmt, 2, last);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(stmt, 0);

		if (id != want ||
		    sqlite3_column_bytes(stmt, 1) != MERKLE_HASH_BYTES) {
			*bad_id = want;
			sqlite3_finalize(stmt);
			return -EBADMSG;
		}
		(void)merkle_builder_append(b, sqlite3_column_blob(stmt, 1));
		want++;
	}
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE)
		return -EIO;
	if (last != INT64_MAX && want != last + 1) {
		*bad_id = want;
		return -EBADMSG;
	}
	return 0;
}

/*
 * The tree at start from the frontier the last commit stored with its
 * records (store_frontier_load): O(log n), whatever the size. Taken only
 * when it covers exactly the stored ids and, when the newest checkpoint
 * is of the same size, gives its root (a newer frontier than the newest
 * checkpoint, after a crash, is taken as it is: verify recomputes every
 * leaf anyway). Otherwise logged, and the caller reads the leaves.
 */
static int resume_from_frontier(const struct checkpoint *last, int64_t started)
{
	struct merkle_builder b;
	merkle_hash root;
	uint64_t stored = (uint64_t)(store_next_id(C.store) - 1);
	const char *why = NULL;
	int rc;

	merkle_builder_init(&b);
	rc = store_frontier_load(C.store, &b);
	if (rc == -ENOENT)
		why = stored > 0 ? "none stored" : NULL;
	else if (rc < 0)
		why = "unreadable";
	else if (b.size != stored)
		why = "its size is not the number of records";
	else if (last != NULL && last->tree_size > b.size)
		why = "older than the last signed checkpoint";
	else if (last != NULL && last->tree_size == b.size) {
		merkle_builder_root(&b, root);
		if (memcmp(root, last->root, sizeof(root)) != 0)
			why = "it does not give the last signed checkpoint's root";
	}
	if (why != NULL) {
		daemon_warn("integrity: the stored frontier of the tree is not used "
			    "(%s): reading the %" PRIu64 " leaves", why, stored);
		return -EBADMSG;
	}
	if (rc == -ENOENT)
		return -ENOENT;   /* an empty store: nothing to read */
	store_tree_set(C.store, &b);
	daemon_info("integrity: tree of %" PRIu64 " record(s) resumed from its "
		    "stored frontier in %" PRId64 " ms%s", b.size,
		    loop_now_ms() - started,
		    C.cut_size ? " (after a retention cut)" : "");
	return 0;
}

/*
 * The tree at start: the stored frontier, or else the newest cut's
 * frontier, then every stored leaf in
 * id order. Checked against the newest checkpoint; a mismatch is logged
 * (verify names the record), a tree that cannot be rebuilt disables signing.
 */
static int rebuild_tree(void)
{
	struct checkpoint cp, last_cp;
	struct checkpoint_cut cut;
	struct merkle_builder b;
	merkle_hash root;
	int64_t bad_id = 0, started = loop_now_ms();
	int is_cut = 0, have_last = 0, rc;

	merkle_builder_init(&b);
	memset(C.last_hash, 0, sizeof(C.last_hash));
	rc = read_chain_row(STORE_SQL_LAST_CUT, &is_cut, &cp, &cut);
	if (rc == 0) {
		if (checkpoint_cut_resume(&cut, &b) < 0)
			rc = -EBADMSG;
		C.cut_size = cut.cut_size;
	}
	if (rc < 0 && rc != -ENOENT) {
		daemon_error("the store's newest retention cut is unreadable: tree not "
			     "rebuilt, no checkpoints will be signed (run phitrail verify)");
		return rc;
	}
	rc = read_chain_row(STORE_SQL_CHAIN_LAST, &is_cut, &last_cp, &cut);
	if (rc == 0) {
		if (is_cut) {
			(void)checkpoint_cut_hash(&cut, C.last_hash);
		} else {
			checkpoint_hash(&last_cp, C.last_hash);
			have_last = 1;
			C.last_time_ns = (int64_t)last_cp.time_ns;
			C.last_size = last_cp.tree_size;
		}
	} else if (rc != -ENOENT) {
		daemon_error("the store's newest checkpoint is unreadable (run phitrail "
			     "verify); no checkpoints will be signed");
		return rc;
	}
	if (resume_from_frontier(have_last ? &last_cp : NULL, started) == 0)
		return 0;
	rc = 0;
	if (have_last && last_cp.tree_size > b.size) {
		rc = append_stored_leaves(&b, (int64_t)b.size + 1,
					  (int64_t)last_cp.tree_size, &bad_id);
		if (rc == 0) {
			merkle_builder_root(&b, root);
			if (memcmp(root, last_cp.root, sizeof(root)) != 0)
				daemon_error("the stored records 1-%" PRIu64 " no longer match "
					     "the last signed checkpoint: the store was "
					     "changed; run phitrail verify",
					     last_cp.tree_size);
		}
	}
	if (rc == 0)
		rc = append_stored_leaves(&b, (int64_t)b.size + 1, INT64_MAX, &bad_id);
	if (rc == -EBADMSG) {
		daemon_error("record %" PRId64 " is missing from the store or damaged: "
			     "the tree cannot be rebuilt and no checkpoints will be "
			     "signed (run phitrail verify)", bad_id);
		return rc;
	}
	if (rc < 0) {
		daemon_error("cannot read the store's leaf hashes: %s",
			     sqlite3_errmsg(C.db));
		return rc;
	}
	store_tree_set(C.store, &b);
	daemon_info("integrity: tree of %" PRIu64 " record(s) rebuilt from the "
		    "leaves in %" PRId64 " ms%s", b.size, loop_now_ms() - started,
		    C.cut_size ? " (after a retention cut)" : "");
	if (store_frontier_save(C.store) < 0)
		daemon_warn("integrity: cannot store the tree's frontier: the next "
			    "start reads the leaves again");
	return 0;
}

static int exec_sql(const char *sql)
{
	return sqlite3_exec(C.db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -EIO;
}

int checkpointer_sign(void)
{
	const struct merkle_builder *tree;
	struct checkpoint cp = { 0 };
	unsigned char bytes[CHECKPOINT_BYTES];
	int rc;

	if (!C.have_key || C.disabled)
		return -EPERM;
	if (store_in_transaction(C.store))
		return -EBUSY;
	tree = store_tree_committed(C.store);
	cp.tree_size = tree->size;
	merkle_builder_root(tree, cp.root);
	cp.time_ns = (uint64_t)loop_realtime_ns();
	memcpy(cp.prev_hash, C.last_hash, sizeof(cp.prev_hash));
	rc = signer_sign_checkpoint(&cp);
	if (rc < 0)
		return rc;
	checkpoint_encode(&cp, bytes);
	if (exec_sql("BEGIN IMMEDIATE") < 0)
		return -EIO;
	rc = insert_chain_row(STORE_KIND_CHECKPOINT, cp.tree_size, cp.root, cp.time_ns,
			      cp.prev_hash, bytes, sizeof(bytes));
	if (rc == 0 && exec_sql("COMMIT") < 0)
		rc = -EIO;
	if (rc < 0) {
		(void)exec_sql("ROLLBACK");
		return rc;
	}
	checkpoint_hash(&cp, C.last_hash);
	C.last_time_ns = (int64_t)cp.time_ns;
	C.last_size = cp.tree_size;
	daemon_debug("checkpoint signed: %" PRIu64 " record(s)", cp.tree_size);
	return 0;
}

/* ---- retention ---- */

/* "now" for retention: the clock, or PHITRAIL_TEST_RETENTION_NOW_NS (tests). */
static int64_t retention_now_ns(void)
{
	const char *text = getenv("PHITRAIL_TEST_RETENTION_NOW_NS");
	char *end;
	long long v;

	if (text != NULL && text[0] != '\0') {
		errno = 0;
		v = strtoll(text, &end, 10);
		if (errno == 0 && *end == '\0' && v > 0)
			return v;
	}
	return loop_realtime_ns();
}

/* How many leading records (ids cut+1 on) were received before threshold:
 * returns the new cut size (>= the old one). */
static int find_cut(int64_t threshold_ns, uint64_t limit, uint64_t *out)
{
	sqlite3_stmt *stmt = NULL;
	uint64_t c = C.cut_size;
	int rc;

	if (sqlite3_prepare_v2(C.db, "SELECT id, received_ns FROM records WHERE id > ?1"
			       " AND id <= ?2 ORDER BY id", -1, &stmt, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_int64(stmt, 1, (int64_t)C.cut_size);
	sqlite3_bind_int64(stmt, 2, (int64_t)limit);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if ((uint64_t)sqlite3_column_int64(stmt, 0) != c + 1 ||
		    sqlite3_column_int64(stmt, 1) >= threshold_ns)
			break;
		c++;
	}
	sqlite3_finalize(stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return -EIO;
	*out = c;
	return 0;
}

/* b (at the old cut) extended by the leaves of ids old+1..c recomputed from
 * their bytes: 0, -EIO, -EBADMSG (*bad_id). */
static int append_leaves_from_bytes(struct merkle_builder *b, uint64_t c, int64_t *bad_id)
{
	sqlite3_stmt *stmt = NULL;
	uint64_t want = b->size + 1;
	merkle_hash leaf;
	int rc;

	if (sqlite3_prepare_v2(C.db, "SELECT id, bytes FROM records WHERE id >= ?1"
			       " AND id <= ?2 ORDER BY id", -1, &stmt, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_int64(stmt, 1, (int64_t)want);
	sqlite3_bind_int64(stmt, 2, (int64_t)c);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if ((uint64_t)sqlite3_column_int64(stmt, 0) != want)
			break;
		merkle_leaf_hash(sqlite3_column_blob(stmt, 1),
				 (size_t)sqlite3_column_bytes(stmt, 1), leaf);
		(void)merkle_builder_append(b, leaf);
		want++;
	}
	sqlite3_finalize(stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return -EIO;
	if (want != c + 1) {
		*bad_id = (int64_t)want;
		return -EBADMSG;
	}
	return 0;
}

/*
 * The tree at cut c (records 1..c) into *at_cut, built from the old cut's
 * frontier and the removed records' own bytes; the stored leaves after c
 * must then give tree, the one being signed. 0, -EBADMSG (logged: nothing
 * may be removed), -EIO.
 */
static int retention_tree_at_cut(uint64_t c, const struct merkle_builder *tree,
				 struct merkle_builder *at_cut)
{
	struct merkle_builder check;
	struct checkpoint_cut old_cut;
	struct checkpoint unused;
	merkle_hash root_now, root_check;
	int64_t bad_id = 0;
	int rc, is_cut = 0;

	merkle_builder_init(at_cut);
	if (C.cut_size > 0) {
		rc = read_chain_row(STORE_SQL_LAST_CUT, &is_cut, &unused, &old_cut);
		if (rc < 0 || checkpoint_cut_resume(&old_cut, at_cut) < 0)
			return -EBADMSG;
	}
	rc = append_leaves_from_bytes(at_cut, c, &bad_id);
	check = *at_cut;
	if (rc == 0 && c < tree->size)
		rc = append_stored_leaves(&check, (int64_t)c + 1, (int64_t)tree->size,
					  &bad_id);
	if (rc == 0) {
		merkle_builder_root(&check, root_check);
		merkle_builder_root(tree, root_now);
		if (check.size != tree->size || memcmp(root_check, root_now,
						       sizeof(root_now)) != 0)
			rc = -EBADMSG;
	}
	if (rc < 0)
		daemon_error("retention: the records to remove no longer match the "
			     "tree (%s); nothing removed: run phitrail verify",
			     bad_id ? "a record is missing" : "their bytes changed");
	return rc;
}

/* Deletes records 1..c in the open transaction: 0 or -EIO. */
static int retention_delete_through(uint64_t c)
{
	sqlite3_stmt *del = NULL;
	int rc = 0;

	if (sqlite3_prepare_v2(C.db, "DELETE FROM records WHERE id <= ?1", -1,
			       &del, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_int64(del, 1, (int64_t)c);
	if (sqlite3_step(del) != SQLITE_DONE)
		rc = -EIO;
	sqlite3_finalize(del);
	return rc;
}

int checkpointer_retention(void)
{
	const struct merkle_builder *tree;
	struct merkle_builder at_cut;
	struct checkpoint_cut cut;
	unsigned char bytes[CHECKPOINT_CUT_MAX_BYTES];
	int64_t now = retention_now_ns(), threshold;
	uint64_t c = 0;
	size_t len = 0;
	int rc;

	if (!C.have_key || C.disabled)
		return -EPERM;
	if (store_in_transaction(C.store))
		return -EBUSY;
	threshold = now - (int64_t)C.cfg->retention_days * DAY_NS;
	tree = store_tree_committed(C.store);
	rc = find_cut(threshold, tree->size, &c);
	if (rc < 0 || c <= C.cut_size)
		return rc;
	rc = retention_tree_at_cut(c, tree, &at_cut);
	if (rc < 0)
		return rc;
	rc = checkpoint_cut_make(&cut, &at_cut, (uint64_t)loop_realtime_ns(), C.last_hash,
				 NULL);
	if (rc == 0)
		rc = signer_sign_cut(&cut);
	if (rc == 0)
		rc = checkpoint_cut_encode(&cut, bytes, sizeof(bytes), &len);
	if (rc < 0)
		return rc;
	if (exec_sql("BEGIN IMMEDIATE") < 0)
		return -EIO;
	rc = insert_chain_row(STORE_KIND_CUT, cut.cut_size, cut.root, cut.time_ns,
			      cut.prev_hash, bytes, len);
	if (rc == 0)
		rc = retention_delete_through(c);
	if (rc == 0 && exec_sql("COMMIT") < 0)
		rc = -EIO;
	if (rc < 0) {
		daemon_error("retention: cannot remove records 1-%" PRIu64 ": %s",
			     c, sqlite3_errmsg(C.db));
		(void)exec_sql("ROLLBACK");
		return rc;
	}
	(void)checkpoint_cut_hash(&cut, C.last_hash);
	daemon_info("retention: removed records %" PRIu64 "-%" PRIu64 " (received more "
		    "than %u day(s) ago), behind a signed cut", C.cut_size + 1, c,
		    C.cfg->retention_days);
	C.cut_size = c;
	(void)store_reload_next_id(C.store);
	return 0;
}

/* ---- life ---- */

int checkpointer_start(const struct config *cfg, struct store *st)
{
	int rc;

	memset(&C, 0, sizeof(C));
	C.cfg = cfg;
	C.store = st;
	rc = checkpoint_init();
	if (rc < 0)
		return rc;
	if (sqlite3_open_v2(cfg->database, &C.db, SQLITE_OPEN_READWRITE |
			    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		daemon_error("integrity: cannot open %s: %s", cfg->database,
			     sqlite3_errmsg(C.db));
		return -EIO;
	}
	sqlite3_busy_timeout(C.db, 5000);
	/* Its commits (a checkpoint a minute) never copy the WAL into the
	 * file: the store's commits and its WAL thread do (store_wal.c); the
	 * WAL is longer than STORE_WAL_CHECKPOINT_PAGES most of the time, so
	 * SQLite's autocheckpoint here would copy it in the store's thread. */
	(void)sqlite3_exec(C.db, "PRAGMA wal_autocheckpoint = 0", NULL, NULL, NULL);
	C.have_key = 1;
	if (rebuild_tree() < 0)
		C.disabled = 1;
	(void)checkpointer_retention();
	C.next_checkpoint_ms = loop_now_ms() + (int64_t)cfg->checkpoint_interval_s * 1000;
	C.next_retention_ms = loop_now_ms() + (int64_t)86400 * 1000;
	return 0;
}

void checkpointer_tick(void)
{
	int64_t now = loop_now_ms();
	int rc;

	signer_tick();
	if (C.db == NULL || C.disabled || store_in_transaction(C.store))
		return;
	if (now >= C.next_checkpoint_ms) {
		rc = checkpointer_sign();
		if (rc < 0 && rc != -EBUSY) {
			daemon_error("cannot sign a checkpoint: %s (retrying in %u s)",
				     rc == -EIO ? sqlite3_errmsg(C.db) : strerror(-rc),
				     C.cfg->checkpoint_interval_s);
		}
		if (rc != -EBUSY)
			C.next_checkpoint_ms = now + (int64_t)C.cfg->checkpoint_interval_s * 1000;
	}
	if (now >= C.next_retention_ms) {
		if (checkpointer_retention() != -EBUSY)
			C.next_retention_ms = now + (int64_t)86400 * 1000;
	}
}

int checkpointer_stop(void)
{
	int rc;

	if (C.db == NULL || C.disabled || !C.have_key)
		return 0;
	rc = checkpointer_sign();
	if (rc < 0)
		daemon_error("cannot sign the last checkpoint: %s",
			     rc == -EBUSY ? "records are still uncommitted" : strerror(-rc));
	return rc;
}

void checkpointer_fini(void)
{
	if (C.db != NULL)
		sqlite3_close(C.db);
	C.db = NULL;
	signer_stop();
	C.have_key = 0;
}

int checkpointer_last(int64_t *time_ns, uint64_t *tree_size)
{
	if (C.last_time_ns == 0)
		return -ENOENT;
	*time_ns = C.last_time_ns;
	*tree_size = C.last_size;
	return 0;
}
