/*
 * verify_fleet.c - the host chains of a central store (verify_fleet.h;
 * tables in collector/aggregate.h). For each host store, in record id
 * order from 1: the leaf of the host's exact bytes (origin.bytes, hashed
 * here, the leaf_hash column is not trusted) appended to a tree that must
 * give the root of every signed checkpoint of that host at its size; each
 * checkpoint's signature under the key pinned for the store and its link
 * to the one before; and the central record that stands for it, which
 * must be those bytes decoded, with id and host set, encoded again.
 * Must never accept a checkpoint it did not verify, and never write.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "merkle.h"
#include "record.h"
#include "verify_fleet.h"

struct host_checkpoint {
	int64_t seq, tree_size;
	struct checkpoint cp;
};

static int has_fleet_tables(sqlite3 *db)
{
	sqlite3_stmt *s = NULL;
	int found = 0;

	if (sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_master WHERE type ="
			       " 'table' AND name IN ('origin', 'fleet_stores',"
			       " 'fleet_checkpoints')", -1, &s, NULL) == SQLITE_OK &&
	    sqlite3_step(s) == SQLITE_ROW)
		found = sqlite3_column_int(s, 0) == 3;
	sqlite3_finalize(s);
	return found;
}

/* The store's verified checkpoints, by tree size: count or -errno. */
static long load_checkpoints(sqlite3 *db, const char *store, const char *host,
			     const unsigned char *key, struct host_checkpoint **out,
			     long *cuts, char *problem, size_t size)
{
	sqlite3_stmt *s = NULL;
	struct host_checkpoint *list = NULL, *grown, *prev = NULL;
	long count = 0, cap = 0;
	int rc;

	*cuts = 0;
	if (sqlite3_prepare_v2(db, "SELECT seq, kind, tree_size, signed FROM"
			       " fleet_checkpoints WHERE store_id = ?1 ORDER BY seq",
			       -1, &s, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_text(s, 1, store, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *kind = (const char *)sqlite3_column_text(s, 1);
		struct host_checkpoint hc;

		if (kind == NULL || strcmp(kind, "checkpoint") != 0) {
			(*cuts)++;
			prev = NULL;
			continue;
		}
		hc.seq = sqlite3_column_int64(s, 0);
		hc.tree_size = sqlite3_column_int64(s, 2);
		if (key == NULL ||
		    checkpoint_decode(sqlite3_column_blob(s, 3),
				      (size_t)sqlite3_column_bytes(s, 3), &hc.cp) < 0 ||
		    checkpoint_verify(&hc.cp, key) < 0 ||
		    (int64_t)hc.cp.tree_size != hc.tree_size) {
			snprintf(problem, size, "host %s (store %s): checkpoint %" PRId64
				 " is not signed by the store's key", host, store, hc.seq);
			free(list);
			sqlite3_finalize(s);
			return -EBADMSG;
		}
		if (prev != NULL && prev->seq + 1 == hc.seq) {
			unsigned char h[MERKLE_HASH_BYTES];

			checkpoint_hash(&prev->cp, h);
			if (memcmp(h, hc.cp.prev_hash, sizeof(h)) != 0) {
				snprintf(problem, size, "host %s (store %s): checkpoint %"
					 PRId64 " does not follow checkpoint %" PRId64,
					 host, store, hc.seq, prev->seq);
				free(list);
				sqlite3_finalize(s);
				return -EBADMSG;
			}
		}
		if (count == cap) {
			cap = cap ? cap * 2 : 64;
			grown = reallocarray(list, (size_t)cap, sizeof(*list));
			if (grown == NULL) {
				free(list);
				sqlite3_finalize(s);
				return -ENOMEM;
			}
			list = grown;
		}
		list[count] = hc;
		prev = &list[count++];
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE) {
		free(list);
		return -EIO;
	}
	/* by size for the walk (seq order is size order for one store) */
	*out = list;
	return count;
}

/* The central record must be the host's bytes with id and host set. */
static int central_matches(const void *host_bytes, size_t host_len,
			   const void *central, size_t central_len, int64_t id,
			   const char *host)
{
	static char arena[RECORD_ARENA_BYTES];
	static unsigned char buf[RECORD_MAX_BYTES];
	struct record r;
	const char *why = NULL;
	long n;

	if (record_decode(host_bytes, host_len, &r, arena, sizeof(arena), &why) < 0)
		return 0;
	r.id = id;
	r.host = host;
	n = record_encode(&r, buf, sizeof(buf));
	return n > 0 && (size_t)n == central_len && memcmp(buf, central, central_len) == 0;
}

/* One host store's records walked in id order, and its checkpoints. */
struct host_walk {
	const char *store, *host;
	struct host_checkpoint *cps;       /* by size */
	long count, next, cuts;            /* checkpoints; next to check; cuts */
	struct merkle_builder tree;
	int64_t expected, records, gap_at; /* gap_at: first id not here, or 0 */
	char *problem;
	size_t size;
};

/* The host's checkpoints at the tree's size must have its root. */
static int check_roots_due(struct host_walk *w)
{
	merkle_hash root;

	while (w->next < w->count &&
	       w->cps[w->next].tree_size <= (int64_t)w->tree.size) {
		if (w->cps[w->next].tree_size == (int64_t)w->tree.size) {
			merkle_builder_root(&w->tree, root);
			if (memcmp(root, w->cps[w->next].cp.root, sizeof(root)) != 0) {
				snprintf(w->problem, w->size, "host %s: its records 1-%"
					 PRId64 " here do not give the root of its "
					 "signed checkpoint %" PRId64, w->host,
					 w->cps[w->next].tree_size, w->cps[w->next].seq);
				return -EBADMSG;
			}
		}
		w->next++;
	}
	return 0;
}

/* One row (host record id, host bytes, central id, central bytes). */
static int walk_row(struct host_walk *w, sqlite3_stmt *s)
{
	int64_t record_id = sqlite3_column_int64(s, 0);
	const void *bytes = sqlite3_column_blob(s, 1);
	size_t len = (size_t)sqlite3_column_bytes(s, 1);
	merkle_hash leaf;

	w->records++;
	if (!central_matches(bytes, len, sqlite3_column_blob(s, 3),
			     (size_t)sqlite3_column_bytes(s, 3),
			     sqlite3_column_int64(s, 2), w->host)) {
		snprintf(w->problem, w->size, "central record %" PRId64 " is not record %"
			 PRId64 " of host %s as stored there",
			 (int64_t)sqlite3_column_int64(s, 2), record_id, w->host);
		return -EBADMSG;
	}
	if (w->gap_at != 0)
		return 0;
	if (record_id != w->expected) {
		w->gap_at = w->expected;
		return 0;
	}
	merkle_leaf_hash(bytes, len, leaf);
	merkle_builder_append(&w->tree, leaf);
	w->expected++;
	return check_roots_due(w);
}

/* The "ok: host ..." lines of a host whose records held. */
static void print_host_ok(const struct host_walk *w)
{
	printf("ok: host %s (store %s): %" PRId64 " records, %ld signed "
	       "checkpoint(s) of the host hold", w->host, w->store, w->records,
	       w->next);
	if (w->count > 0)
		printf(" (the last covers %" PRId64 ")", w->next > 0 ?
		       w->cps[w->next - 1].tree_size : 0);
	printf("\n");
	if (w->gap_at != 0)
		printf("  records from %" PRId64 " on are not all here: %ld later "
		       "checkpoint(s) could not be checked\n", w->gap_at,
		       w->count - w->next);
	else if (w->next < w->count)
		printf("  %ld checkpoint(s) cover records not here yet\n",
		       w->count - w->next);
	if (w->cuts > 0)
		printf("  %ld retention cut(s) of the host not checked\n", w->cuts);
}

static int verify_host(sqlite3 *db, const char *store, const char *host,
		       const unsigned char *key, char *problem, size_t size)
{
	struct host_walk w = {
		.store = store, .host = host, .expected = 1,
		.problem = problem, .size = size,
	};
	sqlite3_stmt *s = NULL;
	int rc = 0, step;

	w.count = load_checkpoints(db, store, host, key, &w.cps, &w.cuts, problem,
				   size);
	if (w.count < 0)
		return (int)w.count;
	merkle_builder_init(&w.tree);
	if (sqlite3_prepare_v2(db, "SELECT o.record_id, o.bytes, r.id, r.bytes FROM"
			       " origin o JOIN records r ON r.id = o.id WHERE"
			       " o.store_id = ?1 ORDER BY o.record_id", -1, &s,
			       NULL) != SQLITE_OK) {
		free(w.cps);
		return -EIO;
	}
	sqlite3_bind_text(s, 1, store, -1, SQLITE_STATIC);
	while ((step = sqlite3_step(s)) == SQLITE_ROW)
		if ((rc = walk_row(&w, s)) < 0)
			break;
	sqlite3_finalize(s);
	if (rc == 0 && step != SQLITE_DONE && step != SQLITE_ROW)
		rc = -EIO;
	if (rc == 0)
		print_host_ok(&w);
	free(w.cps);
	return rc;
}

int verify_fleet(sqlite3 *db, char *problem, size_t size)
{
	sqlite3_stmt *s = NULL;
	int rc = 0, step;

	if (!has_fleet_tables(db))
		return 0;
	if (sqlite3_prepare_v2(db, "SELECT store_id, host, public_key FROM"
			       " fleet_stores ORDER BY host, store_id", -1, &s,
			       NULL) != SQLITE_OK)
		return -EIO;
	while (rc == 0 && (step = sqlite3_step(s)) == SQLITE_ROW) {
		const unsigned char *key = sqlite3_column_blob(s, 2);
		char store[64], host[128];

		snprintf(store, sizeof(store), "%s", (const char *)sqlite3_column_text(s, 0));
		snprintf(host, sizeof(host), "%s", (const char *)sqlite3_column_text(s, 1));
		if (key != NULL && sqlite3_column_bytes(s, 2) != CHECKPOINT_PUBLIC_KEY_BYTES)
			key = NULL;
		rc = verify_host(db, store, host, key, problem, size);
	}
	sqlite3_finalize(s);
	return rc;
}
