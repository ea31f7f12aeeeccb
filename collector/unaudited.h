/*
 * unaudited.h - programs whose shim audits nothing (unaudited.c): the
 * notices of the ingest socket (handoff.h), logged and kept for status.
 */
#ifndef PHITRAILD_UNAUDITED_H
#define PHITRAILD_UNAUDITED_H

#include <stddef.h>

#include "status.h"

/* Same exe, uid and reason within this long: counted, logged once. */
#define UNAUDITED_REPEAT_S 600

/*
 * A notice arrived on sock (bytes, len): the sender is taken from the
 * kernel (SO_PEERCRED), its program from /proc while it lives, else the
 * path it sent (marked "claimed"). Logs "program X (pid P, uid U) runs
 * unaudited: REASON" unless the same was logged within
 * UNAUDITED_REPEAT_S. 0, or -EBADMSG for a malformed notice (*why).
 */
int unaudited_receive(int sock, const unsigned char *bytes, size_t len,
		      const char **why);

/* The parent passes every notice taken on to the store process, which
 * answers status: relay is called with the entry as it now stands. */
typedef void unaudited_relay(const struct status_unaudited *e);
void unaudited_set_relay(unaudited_relay *relay);
/* In the store process: an entry relayed, kept as it came (not logged). */
void unaudited_note(const struct status_unaudited *e);

/* The programs noticed, newest first, into s->unaudited. */
void unaudited_fill(struct status_reply *s);

#endif
