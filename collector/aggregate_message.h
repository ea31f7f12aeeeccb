/*
 * aggregate_message.h - one fleet message into the central store's open
 * transaction (aggregate_message.c), for the aggregator's batches
 * (aggregate.c).
 */
#ifndef PHITRAILD_AGGREGATE_MESSAGE_H
#define PHITRAILD_AGGREGATE_MESSAGE_H

#include <nats/nats.h>
#include <sqlite3.h>
#include <stdint.h>

#include "config.h"

struct store;

/* What a message gets once its transaction committed. */
enum aggregate_outcome { AGGREGATE_ACK, AGGREGATE_TERM };

/* This run's messages, by what became of them. */
struct aggregate_counts {
	uint64_t stored, duplicates, rejected, checkpoints;
};

/* Prepares the statements on db (the store's writer connection, with the
 * fleet tables made): 0 or -EIO (logged). */
int aggregate_message_prepare(const struct config *cfg, struct store *st,
			      sqlite3 *db);
void aggregate_message_finish(void);

/*
 * One message into the open transaction; *outcome says what to answer
 * after the commit (a refused message is counted in fleet_rejects and
 * terminated). -errno only for a failure of the store (the batch is
 * rolled back and delivered again).
 */
int aggregate_message_take(natsMsg *msg, enum aggregate_outcome *outcome);

const struct aggregate_counts *aggregate_message_counts(void);

#endif
