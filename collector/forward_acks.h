/*
 * forward_acks.h - the thread-safe queue of the sinks' answers
 * (forward_acks.c), drained by forward.c on the loop thread.
 */
#ifndef PHITRAILD_FORWARD_ACKS_H
#define PHITRAILD_FORWARD_ACKS_H

#include <stddef.h>
#include <stdint.h>

struct forward_sink;

#define FORWARD_ACK_REWIND 2        /* forward_ack_entry.ok: forward_rewind */
#define FORWARD_ACK_AGAIN 3         /* forward_again: ids id..last */

/* One answer: ok 1 (forward_ack), 0 (forward_nack), FORWARD_ACK_REWIND or
 * FORWARD_ACK_AGAIN. */
struct forward_ack_entry {
	struct forward_sink *sink;
	int64_t id, last;
	unsigned char stream;
	unsigned char ok;
};

/* The eventfd the loop watches: a queued answer calls forward_pass().
 * 0 or -errno. */
int forward_acks_start(void);
/* Stops watching and frees the queue (after the sinks stopped). */
void forward_acks_stop(void);

/*
 * Takes every queued answer (loop thread): *entries holds them until the
 * next call; *lost is 1 when an answer could not be queued (out of
 * memory) since the last call. Returns how many.
 */
size_t forward_acks_take(const struct forward_ack_entry **entries, int *lost);

#endif
