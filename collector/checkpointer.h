/*
 * checkpointer.h - signed checkpoints and retention cuts of the store
 * (checkpointer.c; formats in common/crypto/checkpoint.h; the key: signer.h).
 */
#ifndef PHITRAILD_CHECKPOINTER_H
#define PHITRAILD_CHECKPOINTER_H

#include <stdint.h>

#include "config.h"
#include "store.h"

/*
 * Rebuilds the store's Merkle tree and hands it to the store; applies
 * retention once. Call after signer_start and store_open, before anything
 * appends. 0, or a negative errno when the store cannot be opened again
 * (logged). A store whose tree cannot be rebuilt is logged and left
 * unsigned (returns 0).
 */
int checkpointer_start(const struct config *cfg, struct store *st);

/* Signs a checkpoint when one is due and retention when a day has passed;
 * does nothing while the store has a transaction open. Call every round. */
void checkpointer_tick(void);

/* Signs one checkpoint of the committed records now: 0, -EBUSY (a
 * transaction is open), -EPERM (no key or no tree), -EIO, -ENOSPC, or
 * what the signer said (signer.h). */
int checkpointer_sign(void);

/* Removes records received more than retention_days ago, behind a signed
 * cut: 0 (also when there is nothing to remove) or a negative errno. */
int checkpointer_retention(void);

/* The checkpoint of a clean stop (after the last commit). 0 or -errno. */
int checkpointer_stop(void);
/* Closes its connection and stops the signer. */
void checkpointer_fini(void);

/* The newest signed checkpoint (read at start or signed since): its time
 * and size, or -ENOENT when the store has none. */
int checkpointer_last(int64_t *time_ns, uint64_t *tree_size);

#endif
