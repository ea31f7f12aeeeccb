/*
 * aggregate.h - phitraild in aggregator mode ([aggregate], --aggregate):
 * the fleet's records consumed from NATS JetStream into a central store.
 *
 * The central store has the schema of a host's store (its records are
 * queried, verified and reported on as on a host) plus (AGGREGATE_SQL_*):
 *   origin(id INTEGER PRIMARY KEY   -- the central record's id
 *          host, store_id, record_id -- where it was stored first
 *          bytes, leaf_hash          -- the host's exact stored bytes
 *          UNIQUE (store_id, record_id))
 *   fleet_stores(store_id PRIMARY KEY, host, public_key, first_ns,
 *          checked_through)          -- a host store: whose it is, the key
 *                                       its checkpoints are signed with
 *                                       (pinned at the first one), and up
 *                                       to which id gaps were looked for
 *   fleet_checkpoints(store_id, seq, kind, tree_size, signed,
 *          PRIMARY KEY (store_id, seq))  -- each host's signed chain
 *   fleet_rejects(reason PRIMARY KEY, count)  -- messages refused, by why
 * A central record is the host's record with id set to the central id
 * and host set to the origin host (the name that host forwards under);
 * every other field, and so the whole record apart from those two, is the
 * host's. Its leaf in the central Merkle tree is over the central bytes;
 * origin.bytes keep the host's, whose leaves the host's checkpoints sign.
 */
#ifndef PHITRAILD_AGGREGATE_H
#define PHITRAILD_AGGREGATE_H

#include <sqlite3.h>

#include "config.h"

struct store;

#define AGGREGATE_SQL_CREATE \
	"CREATE TABLE IF NOT EXISTS origin (id INTEGER PRIMARY KEY," \
	" host TEXT NOT NULL, store_id TEXT NOT NULL, record_id INTEGER NOT NULL," \
	" bytes BLOB NOT NULL, leaf_hash BLOB NOT NULL," \
	" UNIQUE (store_id, record_id));" \
	"CREATE INDEX IF NOT EXISTS origin_host ON origin (host, id);" \
	"CREATE TABLE IF NOT EXISTS fleet_stores (store_id TEXT PRIMARY KEY," \
	" host TEXT NOT NULL, public_key BLOB, first_ns INTEGER NOT NULL," \
	" checked_through INTEGER NOT NULL DEFAULT 0);" \
	"CREATE TABLE IF NOT EXISTS fleet_checkpoints (store_id TEXT NOT NULL," \
	" seq INTEGER NOT NULL, kind TEXT NOT NULL, tree_size INTEGER NOT NULL," \
	" signed BLOB NOT NULL, PRIMARY KEY (store_id, seq));" \
	"CREATE TABLE IF NOT EXISTS fleet_rejects (reason TEXT PRIMARY KEY," \
	" count INTEGER NOT NULL);"

/*
 * Runs the aggregator until *stopping: consumes, stores, commits, acks,
 * signs central checkpoints (checkpointer_tick) and serves queries
 * (query_server_start is the caller's). Returns 0, or 1 after an error
 * that stopped it (logged).
 */
int aggregate_run(const struct config *cfg, struct store *st,
		  volatile int *stopping);

/* For aggregate_message.c and aggregate_gaps.c: prepares count persistent
 * statements from sql on db into stmt (0, or -EIO logged), and finalizes
 * them (stmt[i] NULL after). */
int aggregate_prepare(sqlite3 *db, const char *const *sql,
		      sqlite3_stmt **stmt, int count);
void aggregate_finalize(sqlite3_stmt **stmt, int count);

#endif
