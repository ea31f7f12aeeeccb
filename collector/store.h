/*
 * store.h - the audit store: records, spool progress and meta in one
 * SQLite database (WAL), written in group-commit transactions.
 */
#ifndef PHITRAILD_STORE_H
#define PHITRAILD_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "identity.h"
#include "merkle.h"
#include "query.h"
#include "record.h"

#define STORE_NAME_MAX 256             /* progress row name, with NUL */
/*
 * Commit when this many are pending (or batch_delay_ms passed). Measured on
 * 2 cores, 200k records from 4 spool files: 1000 -> 5000 is about 5% more
 * records/s; flush = batch bounds the wait by batch_delay_ms anyway.
 */
#define STORE_GROUP_RECORDS 5000
/* The writer's page cache (KiB), within the collector's 64 MiB: at 10M
 * records 16 MiB costs 20 us CPU per record, the default 2 MiB 32 us. */
#define STORE_CACHE_KIB 16384
/* WAL frames (pages) after which a commit copies the WAL into the file
 * (SQLite's default: 1000). Measured on 2 cores, 200k records into a new
 * store: 1000 -> 20000 writes 1697 bytes per record instead of 2307 and
 * takes about 10% less CPU; the WAL file grows to about 64 MiB on disk
 * (not in memory: its index is 32 KiB per 4096 frames). */
#define STORE_WAL_CHECKPOINT_PAGES 16384

struct store;

/* How far one spool file has been stored, and who writes it. */
struct store_progress {
	char name[STORE_NAME_MAX];     /* relative to the spool directory */
	int64_t offset;                /* just after the last stored frame */
	int64_t next_seq;              /* seq expected next, -1: none seen */
	uint32_t flags;                /* SPOOL_FLAG_* of the header */
	struct writer_identity who;
};

/*
 * Opens (creating when missing) the database at path. Errors: -EPROTO for a
 * database of another schema version, -EIO (message in *why, static or
 * owned by the store until the next call) for anything SQLite refuses.
 */
int store_open(struct store **out, const char *path, enum config_flush flush,
	       const char **why);
/* Rolls back anything uncommitted and closes (store_wal_stop first). */
void store_close(struct store *st);

/*
 * WAL checkpoints in a thread of their own (store_wal.c), so that commits
 * copy little of the WAL into the file: the thread copies every quarter of
 * wal_pages, and the commit that finds the WAL longer than wal_pages copies
 * the rest, so that it starts again (STORE_WAL_CHECKPOINT_PAGES; smaller
 * in tests). 0, or -errno with nothing started
 * (the commits then go on checkpointing). Call it where the thread may be
 * born: after the store process's confinement. store_wal_stop joins it and
 * gives the checkpoints back to the writer's commits.
 */
int store_wal_start(struct store *st, int wal_pages);
void store_wal_stop(struct store *st);

/* The id the next appended record gets (max(id) + 1 of the store). */
int64_t store_next_id(const struct store *st);

/*
 * Sets r->id (next id) and r->received_* (now, when absent), encodes r,
 * hashes it and inserts it in the open transaction (begun when none is).
 * Returns 0, -ENOSPC (disk full), -EINVAL (the record does not encode), -EIO.
 */
int store_append(struct store *st, struct record *r);

/*
 * 1 when a record with r's time (to the nanosecond), uid, seq, event,
 * patient and target is in the store or the open transaction (a replay of
 * a record already stored), 0 when none is, or -errno.
 */
int store_record_seen(struct store *st, const struct record *r);

int store_progress_put(struct store *st, const struct store_progress *p);
int store_progress_update(struct store *st, const char *name, int64_t offset,
			  int64_t next_seq);
int store_progress_delete(struct store *st, const char *name);
/* Reads one row: 0, -ENOENT, -EIO. */
int store_progress_get(struct store *st, const char *name,
		       struct store_progress *p);
/* Calls fn for every row (stops at the first non-zero return, returned). */
int store_progress_each(struct store *st,
			int (*fn)(void *context, const struct store_progress *p),
			void *context);

/* Commits the open transaction (no-op when none). 0, -ENOSPC, -EIO. */
int store_commit(struct store *st);
/* Abandons the open transaction; next_id goes back to the committed one. */
void store_rollback(struct store *st);
/* Records appended in the open transaction. */
size_t store_pending(const struct store *st);
/* Monotonic ms when the first pending record was appended, or -1. */
int64_t store_first_pending_ms(const struct store *st);
/* True when any write (record or progress) is uncommitted. */
int store_in_transaction(const struct store *st);

/*
 * Runs a query over committed records (a separate read connection). For
 * "query", emit is called with each record's stored bytes in order; a
 * non-zero return from emit stops and is returned. *count is the number of
 * matching records (emitted ones for "query").
 * Returns 0, -EINVAL (*why: a bad target glob), or -EIO.
 */
int store_query(struct store *st, const struct query_request *q,
		int (*emit)(void *context, const void *bytes, size_t len),
		void *context, int64_t *count, const char **why);

/*
 * Runs a "stats" request over committed records: row is called once per
 * group, in ascending key order, with the group's key (NULL: nil) and its
 * count; a non-zero return stops and is returned. *groups is the number
 * of groups. limit, after_id and order are ignored. Returns 0, -EINVAL
 * (*why: a bad target glob or "by"), -ENOMEM or -EIO.
 */
int store_stats(struct store *st, const struct query_request *q,
		int (*row)(void *context, const char *key, int64_t count),
		void *context, int64_t *groups, const char **why);

/*
 * SQLite's EXPLAIN QUERY PLAN for the statement q runs as (store_query or
 * store_stats), the detail lines joined by newlines into plan. For tests
 * that prove filters use an index. 0, -EINVAL, -EIO.
 */
int store_explain(struct store *st, const struct query_request *q,
		  char *plan, size_t plan_size);

/*
 * The Merkle tree (merkle.h) of the committed records, leaf id-1 for record
 * id: appended to by store_append, taken over by a commit, given back by a
 * rollback. store_tree_set starts it (checkpointer.c rebuilds it at start);
 * the store never reads it back from the database itself.
 */
void store_tree_set(struct store *st, const struct merkle_builder *tree);
const struct merkle_builder *store_tree_committed(const struct store *st);

/*
 * The tree as of the last commit, from the frontier every commit stores
 * with its records (tree_frontier: size and the popcount(size) subtree
 * hashes of merkle_builder_frontier, largest first): 0, -ENOENT (none
 * stored: a store written before, or empty), -EBADMSG (malformed), -EIO.
 */
int store_frontier_load(struct store *st, struct merkle_builder *out);
/* Stores the committed tree's frontier in a transaction of its own (after
 * the tree was rebuilt from the leaves): 0, -EBUSY, -EIO, -ENOSPC. */
int store_frontier_save(struct store *st);

/*
 * For filling a store in bulk (bench/fillstore.c), not for the collector:
 * on drops the secondary indexes and stops syncing; off builds the indexes
 * (sorting the whole table once) and syncs again. -EBUSY in a transaction.
 */
int store_bulk_load(struct store *st, int on);

/* Re-reads the next id after records were removed by retention (no
 * transaction may be open: -EBUSY). */
int store_reload_next_id(struct store *st);

/* Fault injection for tests: caps the database at pages pages. */
int store_limit_pages(struct store *st, long pages);

#endif
