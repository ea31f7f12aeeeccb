/*
 * nats_conn.h - what the NATS forwarder (forward_nats.c) and the
 * aggregator (aggregate.c) share: a connection made from a [forward] or
 * [aggregate] section (servers, user/password or a credentials file, TLS),
 * retried in the background while the servers are down, and the stream
 * both of them use, created when it does not exist yet.
 */
#ifndef PHITRAILD_NATS_CONN_H
#define PHITRAILD_NATS_CONN_H

#include <nats/nats.h>

#include "config.h"

/* A subject token from any text: letters, digits, '-' and '_' kept, every
 * other byte '_', at most size - 1 bytes ("" becomes "_"). */
void nats_conn_token(const char *text, char *out, size_t size);

/*
 * Connects (or keeps trying in the background: *nc is usable at once and
 * publishes are buffered until connected). Refuses a credentials file that
 * group or others may read (-EPERM). 0 or -errno (*why: a message).
 */
int nats_conn_open(const struct config_nats *n, natsConnection **nc,
		   const char **why);
/* True while connected. */
int nats_conn_up(natsConnection *nc);
/*
 * Makes sure the stream n->stream exists with subjects "<prefix>.>" and
 * n->replicas replicas, file storage (blocks at most wait_ms). 0, -EAGAIN
 * (not connected, or the cluster has no leader yet), -EIO (*why).
 */
int nats_conn_ensure_stream(jsCtx *js, const struct config_nats *n,
			    const char **why);
/* -errno for a natsStatus (NATS_OK: 0). */
int nats_conn_errno(natsStatus s);

#endif
