/*
 * aggregate_gaps.h - the aggregator's loss reports: a gap in a host
 * store's record ids is stored as "Audit Records Lost" once that host has
 * kept shipping past it for [aggregate] stall_time, measured on the
 * host's shipping clock (aggregate_gaps.c), never because time passed
 * while nothing of that host arrived. Before that, the host is asked to
 * ship what is missing again (a JetStream replica may have lost records
 * it acknowledged; the host still holds them).
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
	/* asking the host again for what is missing (aggregate_gaps.c) */
	char workspace[FLEET_NAME_MAX];   /* the token of its subjects */
	int64_t ask_top;      /* its highest id when the ask mark was set; 0: none */
	int64_t ask_ms;       /* loop time then */
};

/* Publishes a request to ship again (fleet_wire.h) to host of workspace. */
typedef void aggregate_ask_fn(const char *workspace, const char *host,
			      const struct fleet_again *a);

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

/* Looks for gaps that are now lost and stores them (commits), and asks
 * the host (ask) for the first gap still open 35 s after it was first
 * seen; called between batches, about once a second. */
void aggregate_gaps_check(aggregate_ask_fn *ask);

/* Record ids reported lost this run. */
uint64_t aggregate_gaps_lost(void);

#endif
