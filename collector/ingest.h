/*
 * ingest.h - the ingest socket: hello, peer credentials, a spool file per
 * writer handed back over SCM_RIGHTS (handoff.h).
 */
#ifndef PHITRAILD_INGEST_H
#define PHITRAILD_INGEST_H

#include <stdint.h>

#include "config.h"

#define INGEST_MAX_PENDING 64          /* connections waiting for their hello */
#define INGEST_MAX_PER_UID 16          /* of them, from one uid */
#define INGEST_HELLO_TIMEOUT_MS 1000
/* Connections the kernel queues before they are accepted (the kernel caps
 * it at net.core.somaxconn, 4096 by default): with 128, one user's 200
 * reconnecting sockets could fill the queue while the parent was busy, and
 * another user's first record went to the fallback spool as file-owner. */
#define INGEST_BACKLOG 4096

struct ingest_counters {
	uint64_t accepted, handed_out, claimed, bad_hello, timed_out, refused;
};

/* Listens on cfg->socket_path (a stale socket file is replaced). */
int ingest_start(const struct config *cfg);
/* Closes connections whose hello is overdue. */
/* Takes the connections already waiting, without epoll: between the
 * loop's long steps, so a claimant waiting at its exit is not kept. */
void ingest_poll(void);
void ingest_tick(void);
void ingest_stop(void);

#endif
