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

struct store;

/* Prepares its statements on db (the store's writer connection, with the
 * fleet tables made): 0 or -EIO (logged). */
int aggregate_gaps_prepare(const struct config *cfg, struct store *st,
			   sqlite3 *db);
void aggregate_gaps_finish(void);

/* A message of host store store_id arrived that JetStream stored at
 * stream_ns (its metadata's timestamp): the store's clock moves. */
void aggregate_gaps_shipped(const char *store_id, int64_t stream_ns);

/* Looks for gaps that are now lost and stores them (commits); called
 * between batches, about once a second. */
void aggregate_gaps_check(void);

/* Record ids reported lost this run. */
uint64_t aggregate_gaps_lost(void);

#endif
