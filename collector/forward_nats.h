/*
 * forward_nats.h - the NATS JetStream sink ([forward] in phitrail.conf).
 */
#ifndef PHITRAILD_FORWARD_NATS_H
#define PHITRAILD_FORWARD_NATS_H

#include "config.h"

struct store;

/* Adds the sink to the forwarding framework (after forward_init): 0 or
 * -errno (the reason is logged). */
int forward_nats_add(const struct config *cfg, struct store *st);

#endif
