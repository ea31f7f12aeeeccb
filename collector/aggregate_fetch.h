/*
 * aggregate_fetch.h - the aggregator's fetcher thread: pulls of the
 * durable consumer fetched ahead of the store (aggregate_fetch.c).
 * Memory: at most AGGREGATE_FETCH_AHEAD lists of AGGREGATE_FETCH_BATCH
 * messages wait here.
 */
#ifndef PHITRAILD_AGGREGATE_FETCH_H
#define PHITRAILD_AGGREGATE_FETCH_H

#include <nats/nats.h>

#define AGGREGATE_FETCH_BATCH 256

/* Starts fetching from sub (a pull subscription): 0 or -errno. */
int aggregate_fetch_start(natsSubscription *sub);

/* The next fetched list into *out (the caller destroys it): its count, or
 * 0 when none came within wait_ms. */
int aggregate_fetch_take(natsMsgList *out, int wait_ms);

/* Stops the thread; lists not taken are given back (nak). */
void aggregate_fetch_stop(void);

#endif
