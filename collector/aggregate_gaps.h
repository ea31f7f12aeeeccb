/*
 * aggregate_gaps.h - the aggregator's loss reports: a gap in a host
 * store's record ids is stored as "Audit Records Lost" once that host has
 * kept shipping past it for [aggregate] stall_time, measured on the
 * host's shipping clock (aggregate_gaps.c), never because time passed
 * while nothing of that host arrived.
 */
#ifndef PHITRAILD_AGGREGATE_GAPS_H
#define PHITRAILD_AGGREGATE_GAPS_H

#include <sqlite3.h>
#include <stdint.h>

#include "config.h"
#include "fleet_wire.h"

struct store;

/* A host store whose messages arrived this run. */
struct aggregate_store {
	char store_id[FLEET_STORE_HEX + 1];
	/* what the central store said about it (aggregate_message.c): its
	 * pinned host and its highest record id, while known */
	char host[FLEET_NAME_MAX];
	int host_known, top_known;
	int64_t top;
	/* its gap clock (aggregate_gaps.c) */
	int64_t last_ns;      /* stream time of its latest message */
	int64_t clock_ns;     /* its shipping clock */
	int64_t mark_top;     /* its highest id when the mark was set; 0: none */
	int64_t mark_ns;      /* its clock then */
};

/* The entry of store_id, added if new; NULL once AGGREGATE_MAX_STORES
 * are known (then nothing is remembered about it and no gap reported). */
struct aggregate_store *aggregate_store(const char *store_id);

/* After a rollback: what the central store said is forgotten. */
void aggregate_stores_forget(void);

/* Prepares its statements on db (the store's writer connection, with the
 * fleet tables made): 0 or -EIO (logged). */
int aggregate_gaps_prepare(const struct config *cfg, struct store *st,
			   sqlite3 *db);
void aggregate_gaps_finish(void);

/* A message of host store as arrived that JetStream stored at stream_ns
 * (its metadata's timestamp): the store's clock moves. */
void aggregate_gaps_shipped(struct aggregate_store *as, int64_t stream_ns);

/* Looks for gaps that are now lost and stores them (commits); called
 * between batches, about once a second. */
void aggregate_gaps_check(void);

/* Record ids reported lost this run. */
uint64_t aggregate_gaps_lost(void);

#endif
