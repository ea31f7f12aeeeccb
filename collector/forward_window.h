/*
 * forward_window.h - the acknowledgement window of one forwarding stream:
 * which ids after the committed cursor were sent, which were acknowledged,
 * and how far the acknowledged ones are contiguous. Pure logic, no I/O:
 * forward.c drives it and writes the cursor it yields.
 *
 * Ids are sent in increasing order. cursor <= sent; an id in (cursor, sent]
 * is acknowledged or outstanding, tracked by one bit in a ring of
 * FORWARD_WINDOW_MAX bits (bit id % FORWARD_WINDOW_MAX), so at most
 * FORWARD_WINDOW_MAX ids are outstanding. The cursor moves to the highest
 * id with every id up to it acknowledged. Acks outside (cursor, sent] are
 * ignored (late, duplicate, or for a generation before a rewind).
 */
#ifndef PHITRAILD_FORWARD_WINDOW_H
#define PHITRAILD_FORWARD_WINDOW_H

#include <stdint.h>

#define FORWARD_WINDOW_MAX 65536

struct forward_window {
	int64_t cursor;                 /* acknowledged through, contiguously */
	int64_t sent;                   /* sent through */
	uint64_t acked[FORWARD_WINDOW_MAX / 64];
};

/* Starts at a cursor read from the store: nothing in flight. */
void forward_window_init(struct forward_window *w, int64_t cursor);
/* How many more ids may be sent now. */
int64_t forward_window_room(const struct forward_window *w);
/*
 * id (> w->sent) was sent; ids between w->sent and id do not exist and
 * count as acknowledged. 0, -ERANGE (id not after sent, or beyond the
 * window's room).
 */
int forward_window_sent(struct forward_window *w, int64_t id);
/* id was acknowledged: 1 when the cursor moved, 0 otherwise. */
int forward_window_ack(struct forward_window *w, int64_t id);
/* 1 when id was sent and is not acknowledged yet (a refusal of it means
 * sending it again), 0 otherwise. */
int forward_window_outstanding(const struct forward_window *w, int64_t id);
/* Everything after the cursor is to be sent again (after a refusal). */
void forward_window_rewind(struct forward_window *w);

#endif
